package unixctl

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gvswitch/control/unixctl/vlog"
	"gvswitch/internal/testenv"
)

const testVersion = "ovs-vswitchd (Open vSwitch) 3.1.0\n"

// startServer serves a fresh Server in dir under the name "gvstest", with
// its pidfile, like the daemon does.
func startServer(t *testing.T) (*Server, string, string) {
	t.Helper()
	dir := t.TempDir()
	s := NewServer(testVersion)
	if err := s.AddStandardCommands(); err != nil {
		t.Fatal(err)
	}
	if err := s.Register("fdb/show", "bridge", 1, 1, func(args []string) (string, error) {
		if args[0] != "br0" {
			return "", errors.New("no such bridge")
		}
		return " port  VLAN  MAC                Age\n", nil
	}); err != nil {
		t.Fatal(err)
	}
	pf, err := CreatePidfile(filepath.Join(dir, "gvstest.pid"))
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, fmt.Sprintf("gvstest.%d.ctl", os.Getpid()))
	if err := s.Listen(sock); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		pf.Remove()
	})
	return s, dir, sock
}

type appctlResult struct {
	stdout, stderr string
	rc             int
}

func appctl(t *testing.T, rundir string, args ...string) appctlResult {
	t.Helper()
	bin := testenv.NeedCommand(t, "ovs-appctl")[0]
	cmd := exec.Command(bin, append([]string{"--timeout=5"}, args...)...)
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+rundir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	rc := 0
	if ee, ok := err.(*exec.ExitError); ok {
		rc = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return appctlResult{out.String(), errb.String(), rc}
}

func TestRealAppctl(t *testing.T) {
	s, dir, sock := startServer(t)
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o750 {
		t.Errorf("socket mode %v, want 0750", fi.Mode().Perm())
	}
	list, _ := s.Run("list-commands", nil)
	tests := []struct {
		name   string
		args   []string
		stdout string
		stderr string
		rc     int
	}{
		{"version by name", []string{"-t", "gvstest", "version"}, testVersion, "", 0},
		{"version by path", []string{"-t", sock, "version"}, testVersion, "", 0},
		{"list-commands", []string{"-t", sock, "list-commands"}, list, "", 0},
		{"command output", []string{"-t", sock, "fdb/show", "br0"}, " port  VLAN  MAC                Age\n", "", 0},
		{"unknown command", []string{"-t", sock, "no/such-command"}, "",
			"\"no/such-command\" is not a valid command (use \"list-commands\" to see a list of valid commands)\n" +
				"ovs-appctl: " + sock + ": server returned an error\n", 2},
		{"too many", []string{"-t", sock, "version", "extra"}, "",
			"\"version\" command takes at most 0 arguments\n" +
				"ovs-appctl: " + sock + ": server returned an error\n", 2},
		{"too few", []string{"-t", sock, "fdb/show"}, "",
			"\"fdb/show\" command requires at least 1 arguments\n" +
				"ovs-appctl: " + sock + ": server returned an error\n", 2},
		{"handler error", []string{"-t", sock, "fdb/show", "nosuch"}, "",
			"no such bridge\novs-appctl: " + sock + ": server returned an error\n", 2},
		{"vlog/set", []string{"-t", sock, "vlog/set", "unixctl:file:warn"}, "", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := appctl(t, dir, tc.args...)
			if r.rc != tc.rc || r.stdout != tc.stdout {
				t.Errorf("rc=%d stdout=%q stderr=%q; want rc=%d stdout=%q", r.rc, r.stdout, r.stderr, tc.rc, tc.stdout)
			}
			if tc.name == "vlog/set" && vlog.Module("unixctl").Level(vlog.File) != vlog.Warn {
				t.Error("vlog/set did not change the level")
			}
			if r.stderr != tc.stderr {
				t.Errorf("stderr=%q want %q", r.stderr, tc.stderr)
			}
		})
	}
}

func TestListCommandsLayout(t *testing.T) {
	s := NewServer("v\n")
	s.Register("bond/list", "", 0, 0, func([]string) (string, error) { return "", nil })
	s.Register("dpctl/ct-disable-tcp-seq-chk", "[dp]", 0, 1, func([]string) (string, error) { return "", nil })
	out, err := s.Run("list-commands", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Layout of ovs-vswitchd's list-commands (sessions/02): sorted, name
	// padded to 23, an empty usage leaves the padding.
	want := "The available commands are:\n" +
		"  bond/list               \n" +
		"  dpctl/ct-disable-tcp-seq-chk [dp]\n" +
		"  exit                    [--cleanup]\n" +
		"  list-commands           \n" +
		"  version                 \n"
	if out != want {
		t.Errorf("got\n%q\nwant\n%q", out, want)
	}
}

func TestRegisterErrors(t *testing.T) {
	s := NewServer("v\n")
	nop := func([]string) (string, error) { return "", nil }
	if err := s.Register("version", "", 0, 0, nop); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate: %v", err)
	}
	if err := s.Register("x", "", 2, 1, nop); !errors.Is(err, ErrBadBounds) {
		t.Errorf("bounds: %v", err)
	}
}

func TestClient(t *testing.T) {
	_, dir, sock := startServer(t)
	p, err := SocketPath(dir, "gvstest")
	if err != nil || p != sock {
		t.Fatalf("SocketPath = %q, %v; want %q", p, err, sock)
	}
	out, err := CallSocket(sock, "version", nil, time.Second)
	if err != nil || out != testVersion {
		t.Errorf("version: %q %v", out, err)
	}
	_, err = CallSocket(sock, "fdb/show", []string{"nosuch"}, time.Second)
	var se *ServerError
	if !errors.As(err, &se) || se.Msg != "no such bridge\n" {
		t.Errorf("want ServerError, got %v", err)
	}
	t.Setenv("OVS_RUNDIR", dir)
	if out, err := Call("gvstest", "fdb/show", []string{"br0"}); err != nil || !strings.Contains(out, "VLAN") {
		t.Errorf("Call: %q %v", out, err)
	}
}

func TestExitRepliesFirst(t *testing.T) {
	s, _, sock := startServer(t)
	done := make(chan bool, 1)
	s.OnExit = func(cleanup bool) { done <- cleanup }
	out, err := CallSocket(sock, "exit", []string{"--cleanup"}, time.Second)
	if err != nil || out != "" {
		t.Fatalf("exit: %q %v", out, err)
	}
	select {
	case c := <-done:
		if !c {
			t.Error("cleanup not passed")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("OnExit not called")
	}
	if _, err := CallSocket(sock, "exit", []string{"--bogus"}, time.Second); err == nil {
		t.Error("exit --bogus accepted")
	}
}

func TestPidfile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.pid")
	pf, err := CreatePidfile(path)
	if err != nil {
		t.Fatal(err)
	}
	if pid, err := ReadPidfile(path); err != nil || pid != os.Getpid() {
		t.Errorf("ReadPidfile = %d, %v", pid, err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != fmt.Sprintf("%d\n", os.Getpid()) {
		t.Errorf("content %q", b)
	}
	pf.Remove()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("pidfile not removed")
	}
	// An unlocked pidfile is not trusted.
	os.WriteFile(path, []byte("1\n"), 0o644)
	if _, err := ReadPidfile(path); !errors.Is(err, ErrNotRunning) {
		t.Errorf("unlocked: %v", err)
	}
	// A live holder in another process makes CreatePidfile fail.
	py := testenv.NeedCommand(t, "python3")[0]
	cmd := exec.Command(py, "-c", `import fcntl,os,sys,time
f=open(sys.argv[1],"r+"); fcntl.lockf(f, fcntl.LOCK_EX|fcntl.LOCK_NB)
f.truncate(0); f.write(sys.argv[2]); f.flush(); print("ok", flush=True); time.sleep(30)`, path, "12345\n")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	buf := make([]byte, 3)
	stdout.Read(buf)
	if _, err := CreatePidfile(path); !errors.Is(err, ErrRunning) {
		t.Errorf("second CreatePidfile: %v", err)
	}
	if _, err := ReadPidfile(path); !errors.Is(err, ErrStale) {
		t.Errorf("stale: %v", err)
	}
}

func TestBadClients(t *testing.T) {
	s, _, sock := startServer(t)
	for _, in := range []string{
		`{"id":0,"method":"version","params":[1]}`,
		`not json at all`,
		`{"id":0,"method":"version","params":"x"}`,
		strings.Repeat("[", 1<<21),
	} {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(in))
		c.(*net.UnixConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		var b bytes.Buffer
		b.ReadFrom(c)
		c.Close()
		if strings.Contains(in, "[1]") && !strings.Contains(b.String(), "non-string argument") {
			t.Errorf("non-string param answered %q", b.String())
		}
	}
	// The server still answers.
	if out, err := s.Run("version", nil); err != nil || out != testVersion {
		t.Fatal("server broken")
	}
	if out, err := CallSocket(sock, "version", nil, time.Second); err != nil || out != testVersion {
		t.Fatalf("after bad clients: %q %v", out, err)
	}
}

func TestSeveralRequestsPerConnection(t *testing.T) {
	_, _, sock := startServer(t)
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(`{"id":1,"method":"version","params":[]} {"id":"x","method":"fdb/show","params":["nosuch"]}{"id":null,"method":"version","params":[]}`))
	c.(*net.UnixConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	var b bytes.Buffer
	b.ReadFrom(c)
	want := `{"id":1,"result":"ovs-vswitchd (Open vSwitch) 3.1.0\n","error":null}{"id":"x","error":"no such bridge\n"}`
	if b.String() != want {
		t.Errorf("got %s\nwant %s", b.String(), want)
	}
}

func FuzzServeConn(f *testing.F) {
	f.Add([]byte(`{"id":0,"method":"version","params":[]}`))
	f.Add([]byte(`{"id":0,"method":"fdb/show","params":["br0"]}`))
	f.Add([]byte(`{"id":0,"result":null,"error":null}`))
	f.Add([]byte(`{"id":0,"method":"exit","params":["a","b"]}{"id":1}`))
	s := NewServer("v\n")
	s.AddStandardCommands()
	f.Fuzz(func(t *testing.T, in []byte) {
		a, b := net.Pipe()
		done := make(chan struct{})
		go func() { s.ServeConn(a); close(done) }()
		go func() {
			var sink [4096]byte
			for {
				if _, err := b.Read(sink[:]); err != nil {
					return
				}
			}
		}()
		b.Write(in)
		b.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("ServeConn did not return")
		}
	})
}

// 200 clients at once, a third of them sending garbage or hanging up
// mid-request: every well-behaved one gets its answer.
func TestManyClients(t *testing.T) {
	_, _, sock := startServer(t)
	const n = 200
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			switch i % 3 {
			case 0:
				out, err := CallSocket(sock, "fdb/show", []string{"br0"}, 5*time.Second)
				if err == nil && !strings.Contains(out, "VLAN") {
					err = fmt.Errorf("wrong output %q", out)
				}
				errs <- err
			case 1:
				c, err := net.Dial("unix", sock)
				if err == nil {
					c.Write([]byte(`{"id":0,"method":"vers`)) // and hang up
					c.Close()
				}
				errs <- nil
			default:
				c, err := net.Dial("unix", sock)
				if err == nil {
					c.Write([]byte(`}}}garbage`))
					c.Close()
				}
				errs <- nil
			}
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
