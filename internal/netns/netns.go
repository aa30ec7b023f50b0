package netns

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	vns "github.com/vishvananda/netns"

	"gvswitch/internal/testenv"
)

var seq atomic.Uint32

// Name returns a name unique to this process, at most 14 bytes (IFNAMSIZ
// is 16 with the NUL): prefix (cut to 6 bytes) + pid + a base-36 counter.
func Name(prefix string) string {
	if len(prefix) > 6 {
		prefix = prefix[:6]
	}
	// 6 + 5 + 3 bytes: unique for 46656 names per process.
	return fmt.Sprintf("%s%d%03s", prefix, os.Getpid()%100000, strconv.FormatUint(uint64(seq.Add(1)%46656), 36))
}

// NS is a named network namespace (ip netns add).
type NS struct {
	Name string
}

// New creates a namespace named Name(prefix) with its loopback up; it is
// deleted when the test ends. It skips (or fails under GVS_REQUIRE_ALL)
// without root or iproute2.
func New(t testing.TB, prefix string) *NS {
	t.Helper()
	testenv.NeedRoot(t)
	testenv.NeedCommand(t, "ip")
	ns := &NS{Name: Name(prefix)}
	run(t, "ip", "netns", "add", ns.Name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns.Name).Run() })
	ns.Run(t, "ip", "link", "set", "lo", "up")
	return ns
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Run runs a command in the namespace (nil NS: the current one) and
// returns its combined output; the test fails if it fails.
func (ns *NS) Run(t testing.TB, args ...string) string {
	t.Helper()
	if ns == nil {
		return run(t, args[0], args[1:]...)
	}
	return run(t, "ip", append([]string{"netns", "exec", ns.Name}, args...)...)
}

// Try runs a command in the namespace and returns its output and error.
func (ns *NS) Try(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var cmd *exec.Cmd
	if ns == nil {
		cmd = exec.CommandContext(ctx, args[0], args[1:]...)
	} else {
		cmd = exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name}, args...)...)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Start starts a command in the namespace in the background; it is
// killed (by PID) and waited for when the test ends. Its output is
// collected in the returned buffer, to read after Wait.
func (ns *NS) Start(t testing.TB, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	var cmd *exec.Cmd
	if ns == nil {
		cmd = exec.Command(args[0], args[1:]...)
	} else {
		cmd = exec.Command("ip", append([]string{"netns", "exec", ns.Name}, args...)...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", args, err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, &out
}

// Do runs fn on an OS thread switched into the namespace (nil NS: the
// current one), for sockets, taps and netlink handles that must be created
// there. They stay in that namespace when used from other threads.
func (ns *NS) Do(fn func() error) error {
	if ns == nil {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := vns.Get()
		if err != nil {
			errc <- fmt.Errorf("netns: current namespace: %w", err)
			return
		}
		defer orig.Close()
		target, err := vns.GetFromName(ns.Name)
		if err != nil {
			errc <- fmt.Errorf("netns %s: %w", ns.Name, err)
			return
		}
		defer target.Close()
		if err := vns.Set(target); err != nil {
			errc <- fmt.Errorf("netns %s: setns: %w", ns.Name, err)
			return
		}
		ferr := fn()
		if err := vns.Set(orig); err != nil {
			// Leave the thread locked: the runtime ends it with the
			// goroutine instead of reusing a thread in the wrong
			// namespace.
			errc <- fmt.Errorf("netns: back to the original namespace: %w", err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Veth creates a veth pair a <-> b with a in nsA and b in nsB (nil: the
// current namespace), both up. Deleting a namespace deletes its end, and
// the pair with it; Cleanup also deletes a left in the current namespace.
func Veth(t testing.TB, a string, nsA *NS, b string, nsB *NS) {
	t.Helper()
	run(t, "ip", "link", "add", a, "type", "veth", "peer", "name", b)
	if nsA == nil {
		t.Cleanup(func() { _ = exec.Command("ip", "link", "del", a).Run() })
	} else {
		run(t, "ip", "link", "set", a, "netns", nsA.Name)
	}
	if nsB == nil {
		t.Cleanup(func() { _ = exec.Command("ip", "link", "del", b).Run() })
	} else {
		run(t, "ip", "link", "set", b, "netns", nsB.Name)
	}
	nsA.Run(t, "ip", "link", "set", a, "up")
	nsB.Run(t, "ip", "link", "set", b, "up")
}

// Addr assigns an address (CIDR) to dev in the namespace.
func (ns *NS) Addr(t testing.TB, dev, cidr string) {
	t.Helper()
	ns.Run(t, "ip", "addr", "add", cidr, "dev", dev)
}
