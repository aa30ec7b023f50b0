// Package e2e holds end-to-end tests that run the real gvswitchd binary
// and drive it with the real Open vSwitch tools (ovs-vsctl, ovs-appctl,
// ovsdb-server), and the helpers to write more of them:
//
//	StartOVSDBServer   a private real ovsdb-server (drop-in mode peer)
//	StartDaemon        gvswitchd in a temp run directory, optionally in its own netns
//	(*Daemon).Vsctl    the real ovs-vsctl against it
//	(*Daemon).Appctl   the real ovs-appctl against its control socket
//	NewNetns, Veth     network namespaces and veth pairs, removed at cleanup
//
// The binary is built once per test binary by TestMain (see main_test.go)
// into a temp dir; Binary returns its path.
package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gvswitch/internal/testenv"
)

// binary is the gvswitchd built by TestMain.
var binary string

// Binary returns the path of the gvswitchd built for this test run.
func Binary() string { return binary }

// Build compiles ./cmd/gvswitchd into dir and returns its path.
func Build(dir string) (string, error) { return BuildCommand(dir, "gvswitchd") }

// BuildCommand compiles ./cmd/<name> into dir and returns its path.
func BuildCommand(dir, name string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/"+name)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/%s: %v\n%s", name, err, out)
	}
	return filepath.Join(dir, name), nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found")
		}
		dir = parent
	}
}

// Result is what a command printed and its exit status.
type Result struct {
	Stdout, Stderr string
	Code           int
	Elapsed        time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
}

// Run runs a program with extra environment variables and returns what it
// printed. A program that cannot start fails the test.
func Run(t testing.TB, env []string, name string, args ...string) Result {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String(), Elapsed: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.Code = 128 + int(ws.Signal())
		}
	case err != nil:
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

// OVSDB is a private real ovsdb-server.
type OVSDB struct {
	Dir  string // its run/db directory
	Sock string // unix socket path
	cmd  *exec.Cmd
	bin  string
	file string
}

// StartOVSDBServer starts a real ovsdb-server with a fresh database of
// the installed vswitch.ovsschema, stopped (by PID) at cleanup.
func StartOVSDBServer(t testing.TB) *OVSDB {
	t.Helper()
	testenv.NeedRoot(t)
	bins := testenv.NeedCommand(t, "ovsdb-server", "ovsdb-tool")
	schema := "/usr/share/openvswitch/vswitch.ovsschema"
	if _, err := os.Stat(schema); err != nil {
		testenv.Skip(t, "needs %s (openvswitch-common)", schema)
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "conf.db")
	if r := Run(t, nil, bins[1], "create", db, schema); r.Code != 0 {
		t.Fatalf("ovsdb-tool create: %v", r)
	}
	o := &OVSDB{Dir: dir, Sock: filepath.Join(dir, "db.sock"), bin: bins[0], file: db}
	o.start(t)
	t.Cleanup(o.stop)
	return o
}

func (o *OVSDB) start(t testing.TB) {
	t.Helper()
	o.cmd = exec.Command(o.bin, o.file, "--remote=punix:"+o.Sock,
		"--unixctl="+filepath.Join(o.Dir, "ovsdb-server.ctl"), "--log-file="+filepath.Join(o.Dir, "ovsdb-server.log"),
		"-vconsole:off")
	o.cmd.Env = append(os.Environ(), "OVS_RUNDIR="+o.Dir, "OVS_DBDIR="+o.Dir, "OVS_LOGDIR="+o.Dir)
	if err := o.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("unix", o.Sock); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ovsdb-server did not listen on %s within 10 s", o.Sock)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (o *OVSDB) stop() {
	if o.cmd != nil {
		o.cmd.Process.Kill()
		o.cmd.Wait()
		o.cmd = nil
	}
}

// Restart kills ovsdb-server and starts it again on the same file.
func (o *OVSDB) Restart(t testing.TB) {
	t.Helper()
	o.stop()
	o.start(t)
}

// Vsctl runs the real ovs-vsctl against the database socket sock.
func Vsctl(t testing.TB, sock string, args ...string) Result {
	t.Helper()
	bin := testenv.NeedCommand(t, "ovs-vsctl")[0]
	return Run(t, nil, bin, append([]string{"--db=unix:" + sock}, args...)...)
}

// Daemon is a running gvswitchd.
type Daemon struct {
	Rundir, DBdir, Logdir string
	// DB is the database socket ovs-vsctl should use.
	DB string
	// Netns is the namespace it runs in ("" = the test's own).
	Netns string
	Args  []string
	// dropInDB is the ovsdb-server of a drop-in daemon (startSwitch).
	dropInDB *OVSDB
	cmd      *exec.Cmd
	done     chan struct{}
	t        testing.TB
}

// DaemonOptions choose how StartDaemon runs gvswitchd.
type DaemonOptions struct {
	// Dir holds rundir/dbdir/logdir; a temp dir when empty. Reuse one to
	// restart a daemon on the same database.
	Dir string
	// Netns runs the daemon inside this namespace (see NewNetns).
	Netns string
	// ExtraArgs are appended to the command line (e.g. --db=unix:...).
	ExtraArgs []string
	// Env is added to the environment (e.g. OVS_RUNDIR=...).
	Env []string
}

// StartDaemon runs gvswitchd and waits until its database socket (or, in
// drop-in mode, its control socket) answers. It is killed at cleanup.
func StartDaemon(t testing.TB, o DaemonOptions) *Daemon {
	t.Helper()
	if binary == "" {
		t.Fatal("e2e: gvswitchd was not built (TestMain)")
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	d := &Daemon{
		Rundir: filepath.Join(o.Dir, "run"), DBdir: filepath.Join(o.Dir, "db"), Logdir: filepath.Join(o.Dir, "log"),
		Netns: o.Netns, done: make(chan struct{}), t: t,
	}
	for _, p := range []string{d.Rundir, d.DBdir, d.Logdir} {
		os.MkdirAll(p, 0o755)
	}
	d.DB = filepath.Join(d.Rundir, "db.sock")
	d.Args = append([]string{"--rundir=" + d.Rundir, "--dbdir=" + d.DBdir, "--logdir=" + d.Logdir,
		"--log-file", "-vconsole:off"}, o.ExtraArgs...)
	name, args := binary, d.Args
	if o.Netns != "" {
		name, args = "ip", append([]string{"netns", "exec", o.Netns, binary}, d.Args...)
	}
	d.cmd = exec.Command(name, args...)
	d.cmd.Env = append(os.Environ(), o.Env...)
	var stderr bytes.Buffer
	d.cmd.Stderr = &stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() { d.Kill() })
	dropIn := false
	for _, a := range o.ExtraArgs {
		dropIn = dropIn || strings.HasPrefix(a, "--db=")
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := d.ctlPath(); err == nil {
			if dropIn {
				break
			}
			if c, err := net.Dial("unix", d.DB); err == nil {
				c.Close()
				break
			}
		}
		select {
		case <-d.done:
			t.Fatalf("gvswitchd exited at start-up: %v\n%s\nlog:\n%s", d.cmd.ProcessState, stderr.String(), d.Log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("gvswitchd did not come up in 15 s\nlog:\n%s", d.Log())
		}
	}
	return d
}

// Pid is the daemon's process id (the ip-netns wrapper execs it, so it
// is the same process).
func (d *Daemon) Pid() int { return d.cmd.Process.Pid }

// ctlPath is <rundir>/gvswitchd.<pid>.ctl, from the pidfile.
func (d *Daemon) ctlPath() (string, error) {
	b, err := os.ReadFile(filepath.Join(d.Rundir, "gvswitchd.pid"))
	if err != nil {
		return "", err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return "", err
	}
	if d.cmd != nil && d.cmd.Process != nil && pid != d.cmd.Process.Pid {
		return "", fmt.Errorf("pidfile holds pid %d, not ours (%d)", pid, d.cmd.Process.Pid)
	}
	p := filepath.Join(d.Rundir, fmt.Sprintf("gvswitchd.%d.ctl", pid))
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

// Ctl is the daemon's unixctl socket path.
func (d *Daemon) Ctl() string {
	p, err := d.ctlPath()
	if err != nil {
		d.t.Fatalf("no control socket: %v", err)
	}
	return p
}

// Vsctl runs the real ovs-vsctl against the daemon's database.
func (d *Daemon) Vsctl(t testing.TB, args ...string) Result {
	t.Helper()
	return Vsctl(t, d.DB, args...)
}

// Appctl runs the real ovs-appctl -t <ctl socket> against the daemon.
func (d *Daemon) Appctl(t testing.TB, args ...string) Result {
	t.Helper()
	bin := testenv.NeedCommand(t, "ovs-appctl")[0]
	return Run(t, nil, bin, append([]string{"--timeout=10", "-t", d.Ctl()}, args...)...)
}

// Log returns the daemon's log file.
func (d *Daemon) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.Logdir, "gvswitchd.log"))
	return string(b)
}

// Kill stops the daemon with SIGKILL (no clean-up: a crash) and waits.
func (d *Daemon) Kill() {
	d.cmd.Process.Kill()
	<-d.done
}

// Stop sends SIGTERM and waits up to 10 s for a clean exit.
func (d *Daemon) Stop(t testing.TB) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		t.Errorf("gvswitchd did not exit 10 s after SIGTERM")
		d.Kill()
	}
}

// Wait waits up to timeout for the process to exit and reports whether it
// did.
func (d *Daemon) Wait(timeout time.Duration) bool {
	select {
	case <-d.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// NewNetns creates a network namespace named after the test and the pid
// (so parallel runs do not collide), with lo up, deleted at cleanup.
func NewNetns(t testing.TB, suffix string) string {
	t.Helper()
	testenv.NeedRoot(t)
	ip := testenv.NeedCommand(t, "ip")[0]
	name := fmt.Sprintf("gvs%d-%s", os.Getpid()%100000, suffix)
	if r := Run(t, nil, ip, "netns", "add", name); r.Code != 0 {
		t.Fatalf("ip netns add %s: %v", name, r)
	}
	t.Cleanup(func() { Run(t, nil, ip, "netns", "del", name) })
	Run(t, nil, ip, "-n", name, "link", "set", "lo", "up")
	return name
}

// Veth creates a veth pair a (in namespace nsA) – b (in nsB), both up;
// "" is the test's own namespace. Deleting a namespace deletes its ends.
func Veth(t testing.TB, a, nsA, b, nsB string) {
	t.Helper()
	ip := testenv.NeedCommand(t, "ip")[0]
	args := []string{"link", "add", a}
	if nsA != "" {
		args = append(args, "netns", nsA)
	}
	args = append(args, "type", "veth", "peer", "name", b)
	if nsB != "" {
		args = append(args, "netns", nsB)
	}
	if r := Run(t, nil, ip, args...); r.Code != 0 {
		t.Fatalf("ip %v: %v", args, r)
	}
	for _, e := range [][2]string{{a, nsA}, {b, nsB}} {
		up := []string{"link", "set", e[0], "up"}
		if e[1] != "" {
			up = append([]string{"-n", e[1]}, up...)
		}
		Run(t, nil, ip, up...)
	}
	if nsA == "" {
		t.Cleanup(func() { Run(t, nil, ip, "link", "del", a) })
	}
}

// waitForSocket waits until a socket file exists at path.
func waitForSocket(path string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("socket %s did not appear within %v", path, d)
}
