// Package vsctltest runs ovs-vsctl-style command histories against real
// OVSDB servers and compares what two clients print: it starts private
// ovsdb-server instances, runs commands through the real ovs-vsctl or
// through gvswitchctl, and normalises outputs (UUIDs, program names, log
// time stamps, row order) so that two databases with the same history
// compare equal. Engineer-facing: tests of gvswitchctl and of gvswitchd's
// database use it.
package vsctltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"gvswitch/internal/testenv"
)

// SchemaPath is the Open vSwitch schema installed by openvswitch-common.
const SchemaPath = "/usr/share/openvswitch/vswitch.ovsschema"

// Server is a private ovsdb-server with its own directory.
type Server struct {
	Dir   string
	Sock  string
	cmd   *exec.Cmd
	bin   string
	file  string
	extra []string
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	os.Remove(s.Sock)
	args := append([]string{"--remote=punix:" + s.Sock, "--unixctl=" + filepath.Join(s.Dir, "ovsdb.ctl"),
		"--no-chdir", "--log-file=" + filepath.Join(s.Dir, "ovsdb.log")}, s.extra...)
	s.cmd = exec.Command(s.bin, append(args, s.file)...)
	s.cmd.Dir = s.Dir
	// Relative unix paths (a punix: manager target) are in its directory.
	s.cmd.Env = append(os.Environ(), "OVS_RUNDIR="+s.Dir, "OVS_DBDIR="+s.Dir, "OVS_LOGDIR="+s.Dir)
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("ovsdb-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(s.Sock); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ovsdb-server did not create %s", s.Sock)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the server process (by its PID) and waits for it.
func (s *Server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		_, _ = s.cmd.Process.Wait()
		s.cmd = nil
	}
}

// Restart stops the server and starts it again on the same database file
// and socket, as a crash and restart of the database would look to clients.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.stop()
	s.start(t)
}

// DB returns the --db argument that reaches s.
func (s *Server) DB() string { return "unix:" + s.Sock }

// StartOVSDB creates an empty Open_vSwitch database and serves it from a
// new ovsdb-server child process, stopped (by PID) at test cleanup. extra
// are more ovsdb-server arguments (e.g. the manager_options remote that
// ovs-ctl adds).
func StartOVSDB(t testing.TB, extra ...string) *Server {
	t.Helper()
	paths := testenv.NeedCommand(t, "ovsdb-tool", "ovsdb-server")
	if _, err := os.Stat(SchemaPath); err != nil {
		testenv.Skip(t, "needs %s (openvswitch-common)", SchemaPath)
	}
	dir, err := os.MkdirTemp("", "vsctltest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	db := filepath.Join(dir, "conf.db")
	if out, err := exec.Command(paths[0], "create", db, SchemaPath).CombinedOutput(); err != nil {
		t.Fatalf("ovsdb-tool create: %v: %s", err, out)
	}
	s := &Server{Dir: dir, Sock: filepath.Join(dir, "db.sock"), bin: paths[1], file: db, extra: extra}
	s.start(t)
	t.Cleanup(s.stop)
	return s
}

// Result is what one command run printed and its exit status (128+N for
// death by signal N, as a shell reports it).
type Result struct {
	Stdout string
	Stderr string
	Status int
}

func (r Result) String() string {
	return fmt.Sprintf("status %d\n--- stdout ---\n%s--- stderr ---\n%s", r.Status, r.Stdout, r.Stderr)
}

// Client runs one command line (without program name and --db).
type Client func(args ...string) Result

// Exec returns a Client that runs program with --db=db first (no --db
// when db is empty: the program's default socket, e.g. from GVS_RUNDIR in
// env) and extra environment variables "NAME=value", killing it after
// 30 s.
func Exec(program, db string, env ...string) Client {
	return func(args ...string) Result {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if db != "" {
			args = append([]string{"--db=" + db}, args...)
		}
		cmd := exec.CommandContext(ctx, program, args...)
		cmd.Env = append(os.Environ(), env...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		status := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				status = 128 + int(ws.Signal())
			} else {
				status = ee.ExitCode()
			}
		} else if err != nil {
			status = -1
			errb.WriteString(err.Error())
		}
		return Result{Stdout: out.String(), Stderr: errb.String(), Status: status}
	}
}

// Sort says how to put rows that come out in UUID order into a canonical
// order before comparing.
type Sort int

const (
	// NoSort compares outputs as they are.
	NoSort Sort = iota
	// Lines sorts lines.
	Lines
	// Blocks sorts blank-line-separated blocks (list/find records).
	Blocks
	// Tree sorts sibling blocks of an indented tree (show).
	Tree
	// TableRows sorts the rows under a two-line table heading.
	TableRows
)

var (
	uuidRE = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	rowRE  = regexp.MustCompile(`row[0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12}`)
	htmlRE = regexp.MustCompile(`<a name="<uuid>">[0-9a-f]{8}</a>`)
	logRE  = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|\d{5}\|`)
)

// Normalize makes s comparable across databases and programs: UUIDs become
// <uuid>, program names become PROG, log prefixes lose their time and
// sequence, and rows are sorted as mode says.
func Normalize(s string, mode Sort, progs ...string) string {
	s = uuidRE.ReplaceAllString(s, "<uuid>")
	s = rowRE.ReplaceAllString(s, "<row>")
	s = logRE.ReplaceAllString(s, "TIME|N|")
	s = htmlRE.ReplaceAllString(s, `<a name="<uuid>">UUID8</a>`)
	for _, p := range progs {
		// getopt errors name the program by the path it was run as.
		s = regexp.MustCompile(`(?m)^\S*/`+regexp.QuoteMeta(p)+`\b`).ReplaceAllString(s, "PROG")
		s = strings.ReplaceAll(s, p, "PROG")
	}
	switch mode {
	case Lines:
		lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
		sort.Strings(lines)
		s = strings.Join(lines, "\n") + "\n"
	case Blocks:
		blocks := strings.Split(strings.TrimSuffix(s, "\n"), "\n\n")
		sort.Strings(blocks)
		s = strings.Join(blocks, "\n\n") + "\n"
	case Tree:
		s = sortTree(s)
	case TableRows:
		lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
		if len(lines) > 2 {
			body := lines[2:]
			sort.Strings(body)
		}
		s = strings.Join(lines, "\n") + "\n"
	}
	return s
}

type node struct {
	line     string
	children []*node
}

func (n *node) render(sb *strings.Builder) {
	if n.line != "" {
		sb.WriteString(n.line)
		sb.WriteByte('\n')
	}
	for _, c := range n.children {
		c.render(sb)
	}
}

func (n *node) sort() {
	for _, c := range n.children {
		c.sort()
	}
	sort.SliceStable(n.children, func(i, j int) bool {
		var a, b strings.Builder
		n.children[i].render(&a)
		n.children[j].render(&b)
		return a.String() < b.String()
	})
}

func indentOf(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }

// sortTree sorts siblings of an indented outline.
func sortTree(s string) string {
	root := &node{}
	stack := []*node{root}
	depth := []int{-1}
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		ind := indentOf(line)
		for len(depth) > 1 && depth[len(depth)-1] >= ind {
			stack, depth = stack[:len(stack)-1], depth[:len(depth)-1]
		}
		n := &node{line: line}
		parent := stack[len(stack)-1]
		parent.children = append(parent.children, n)
		stack, depth = append(stack, n), append(depth, ind)
	}
	root.sort()
	var sb strings.Builder
	root.render(&sb)
	return sb.String()
}

// Step is one command line of a history and how to compare its output.
type Step struct {
	Args []string
	Sort Sort
}

// Compare runs each step through want and got (each against its own
// database with the same history so far) and reports every difference
// in stdout, stderr and exit status after normalisation.
func Compare(t *testing.T, want, got Client, steps []Step, progs ...string) {
	t.Helper()
	for i, st := range steps {
		w, g := want(st.Args...), got(st.Args...)
		for _, r := range []*Result{&w, &g} {
			r.Stdout = Normalize(r.Stdout, st.Sort, progs...)
			r.Stderr = Normalize(r.Stderr, NoSort, progs...)
		}
		if w != g {
			t.Errorf("step %d %q:\nwant %v\ngot  %v", i, st.Args, w, g)
		}
	}
}

// FakeSwitch plays the part of the switch daemon for clients that wait
// for it (no --no-wait): every 50 ms it gives each new Interface an
// ofport (or ofport -1 and an error when its name starts with "bad") and
// then copies Open_vSwitch.next_cfg to cur_cfg, using the real ovs-vsctl
// at ovsVsctl. It stops at test cleanup.
func FakeSwitch(t testing.TB, ovsVsctl string, s *Server) {
	t.Helper()
	stop := make(chan struct{})
	done := make(chan struct{})
	run := func(args ...string) string {
		out, _ := exec.Command(ovsVsctl, append([]string{"--db=" + s.DB(), "--no-wait"}, args...)...).Output()
		return strings.TrimSpace(string(out))
	}
	// Reads use --dry-run: any ovs-vsctl run on an empty database would
	// otherwise create the Open_vSwitch row behind the test's back.
	read := func(args ...string) string { return run(append([]string{"--dry-run"}, args...)...) }
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			cfg := strings.Fields(read("--if-exists", "get", "Open_vSwitch", ".", "next_cfg", "cur_cfg"))
			if len(cfg) != 2 || cfg[0] == cfg[1] {
				continue
			}
			args := []string{}
			for _, line := range strings.Split(read("--bare", "--columns=_uuid,name", "find", "Interface", "ofport=[]"), "\n\n") {
				f := strings.Fields(line)
				if len(f) != 2 {
					continue
				}
				if strings.HasPrefix(f[1], "bad") {
					args = append(args, "--", "set", "Interface", f[0], "ofport=-1",
						fmt.Sprintf("error=\"could not open network device %s (No such device)\"", f[1]))
				} else {
					args = append(args, "--", "set", "Interface", f[0], "ofport=1")
				}
			}
			args = append(args, "--", "set", "Open_vSwitch", ".", "cur_cfg="+cfg[0])
			run(args...)
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}
