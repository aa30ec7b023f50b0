package bondtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"gvswitch/internal/testenv"
)

var seq atomic.Int32

// names returns a prefix unique to this process and call, short enough for
// interface names (15 bytes).
func uniq() string {
	return fmt.Sprintf("gE%d%c", os.Getpid()%100000, 'a'+rune(seq.Add(1)-1)%26)
}

func sh(t testing.TB, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// netnsAdd creates a network namespace removed at cleanup.
func netnsAdd(t *testing.T, name string) {
	sh(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", name).Run() })
	sh(t, "ip", "-n", name, "link", "set", "lo", "up")
}

// vethPair creates a veth pair with one end in each namespace, both up.
func vethPair(t *testing.T, a, nsA, b, nsB string) {
	sh(t, "ip", "link", "add", a, "type", "veth", "peer", "name", b)
	sh(t, "ip", "link", "set", a, "netns", nsA)
	sh(t, "ip", "link", "set", b, "netns", nsB)
	sh(t, "ip", "-n", nsA, "link", "set", a, "up")
	sh(t, "ip", "-n", nsB, "link", "set", b, "up")
}

// inNetns runs f on an OS thread switched into namespace ns. Sockets
// created by f stay in ns.
func inNetns(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is not unlocked: if switching back failed, it dies
		// with the goroutine instead of running others in ns.
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open(filepath.Join("/var/run/netns", ns))
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		ferr := f()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns back: %w", err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// ovs is an Open vSwitch instance (ovsdb-server + ovs-vswitchd) private to
// one test, its switch in namespace ns.
type ovs struct {
	t                  *testing.T
	ns, dir, run, db   string
	env                []string
	dbProc, switchProc *exec.Cmd
}

func startOVS(t *testing.T, ns string) *ovs {
	testenv.NeedCommand(t, "ovsdb-server", "ovs-vswitchd", "ovsdb-tool", "ovs-vsctl", "ovs-appctl")
	dir := t.TempDir()
	o := &ovs{t: t, ns: ns, dir: dir, run: filepath.Join(dir, "run"), db: filepath.Join(dir, "db")}
	logd := filepath.Join(dir, "log")
	for _, d := range []string{o.run, o.db, logd} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	o.env = append(os.Environ(), "OVS_RUNDIR="+o.run, "OVS_DBDIR="+o.db, "OVS_LOGDIR="+logd)
	schema := "/usr/share/openvswitch/vswitch.ovsschema"
	sh(t, "ovsdb-tool", "create", filepath.Join(o.db, "conf.db"), schema)

	o.dbProc = exec.Command("ovsdb-server", filepath.Join(o.db, "conf.db"),
		"--remote=punix:"+filepath.Join(o.run, "db.sock"),
		"--pidfile="+filepath.Join(o.run, "ovsdb-server.pid"),
		"--unixctl="+filepath.Join(o.run, "ovsdb-server.ctl"),
		"--log-file="+filepath.Join(logd, "ovsdb-server.log"), "-vconsole:off")
	o.dbProc.Env = o.env
	if err := o.dbProc.Start(); err != nil {
		t.Fatalf("ovsdb-server: %v", err)
	}
	t.Cleanup(func() { stop(o.dbProc) })
	waitFile(t, filepath.Join(o.run, "db.sock"))
	o.vsctl("--no-wait", "init")

	// `ip netns exec` execs the daemon, so this PID is ovs-vswitchd's.
	o.switchProc = exec.Command("ip", "netns", "exec", ns, "ovs-vswitchd",
		"unix:"+filepath.Join(o.run, "db.sock"),
		"--pidfile="+filepath.Join(o.run, "ovs-vswitchd.pid"),
		"--log-file="+filepath.Join(logd, "ovs-vswitchd.log"), "-vconsole:off")
	o.switchProc.Env = o.env
	if err := o.switchProc.Start(); err != nil {
		t.Fatalf("ovs-vswitchd: %v", err)
	}
	t.Cleanup(func() {
		// Ask it to exit and remove its datapath ports; then make sure.
		_ = o.appctlErr("exit", "--cleanup")
		done := make(chan struct{})
		go func() { _ = o.switchProc.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = o.switchProc.Process.Kill()
			<-done
		}
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(logd, "ovs-vswitchd.log")); err == nil {
				t.Logf("ovs-vswitchd.log:\n%s", tail(string(b), 40))
			}
		}
	})
	waitFile(t, filepath.Join(o.run, "ovs-vswitchd.pid"))
	return o
}

func tail(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

func stop(c *exec.Cmd) {
	if c.Process == nil {
		return
	}
	_ = c.Process.Signal(unix.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = c.Process.Kill()
		<-done
	}
}

func waitFile(t *testing.T, p string) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(p); err == nil {
			return
		}
	}
	t.Fatalf("%s did not appear", p)
}

func (o *ovs) vsctl(args ...string) string {
	o.t.Helper()
	c := exec.Command("ovs-vsctl", append([]string{"--db=unix:" + filepath.Join(o.run, "db.sock"), "--timeout=20"}, args...)...)
	c.Env = o.env
	out, err := c.CombinedOutput()
	if err != nil {
		o.t.Fatalf("ovs-vsctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (o *ovs) appctlErr(args ...string) error {
	c := exec.Command("ovs-appctl", append([]string{"--timeout=10"}, args...)...)
	c.Env = o.env // OVS_RUNDIR: the default target finds our pidfile
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Run(); err != nil {
		return fmt.Errorf("ovs-appctl %s: %v: %s", strings.Join(args, " "), err, out.String())
	}
	return nil
}

func (o *ovs) appctl(args ...string) string {
	o.t.Helper()
	c := exec.Command("ovs-appctl", append([]string{"--timeout=10"}, args...)...)
	c.Env = o.env
	out, err := c.CombinedOutput()
	if err != nil {
		o.t.Fatalf("ovs-appctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// link reads the interface's flags through a socket in its namespace.
func ifFlags(fd int, name string) (uint16, error) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return 0, err
	}
	return ifr.Uint16(), nil
}

// packetSocket opens an AF_PACKET socket in namespace ns bound to ifname
// for EtherType proto, and returns it with the interface's MAC.
func packetSocket(ns, ifname string, proto uint16) (fd int, mac [6]byte, err error) {
	err = inNetns(ns, func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		copy(mac[:], ifi.HardwareAddr)
		p := int(proto>>8 | proto<<8) // network byte order
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, p)
		if err != nil {
			return fmt.Errorf("socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: uint16(p), Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind %s: %w", ifname, err)
		}
		tv := unix.Timeval{Usec: 50000}
		return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	})
	return fd, mac, err
}
