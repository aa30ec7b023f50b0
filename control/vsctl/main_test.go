package vsctl_test

import (
	"bytes"
	"strings"
	"testing"

	"gvswitch/control/vsctl"
	"gvswitch/control/vsctl/vsctltest"
	"gvswitch/internal/testenv"
)

// TestMainInProcess drives a real ovsdb-server through vsctl.MainEnv in
// this process (so that -race covers the client), including the default
// socket in the run directory and a relative unix: path.
func TestMainInProcess(t *testing.T) {
	testenv.NeedRoot(t)
	s := vsctltest.StartOVSDB(t)
	env := vsctl.Env{RunDir: s.Dir, LogDir: "/tmp"}
	run := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		st := vsctl.MainEnv("gvswitchctl", args, &out, &errb, env)
		return out.String(), errb.String(), st
	}
	steps := []struct {
		args         []string
		stdout, errs string
		status       int
	}{
		{[]string{"--db=unix:db.sock", "--no-wait", "init"}, "", "", 0},
		{[]string{"--no-wait", "add-br", "br0", "--", "add-port", "br0", "p1", "tag=7"}, "", "", 0},
		{[]string{"list-ports", "br0"}, "p1\n", "", 0},
		{[]string{"get", "port", "p1", "tag"}, "7\n", "", 0},
		{[]string{"--no-wait", "add-br", "br0"}, "", "gvswitchctl: cannot create a bridge named br0 because a bridge named br0 already exists\n", 1},
		{[]string{"br-to-vlan", "br9"}, "", "gvswitchctl: no bridge named br9\n", 1},
		{[]string{"br-exists", "br9"}, "", "", 2},
		{[]string{"--db=unix:/nonexistent/x.sock", "list-br"}, "", "gvswitchctl: unix:/nonexistent/x.sock: database connection failed (No such file or directory)\n", 1},
		{[]string{"--no-wait", "del-br", "br0"}, "", "", 0},
		{[]string{"list-br"}, "", "", 0},
	}
	for _, st := range steps {
		out, errs, status := run(st.args...)
		if out != st.stdout || errs != st.errs || status != st.status {
			t.Errorf("%q = %d, %q, %q; want %d, %q, %q", st.args, status, out, errs, st.status, st.stdout, st.errs)
		}
	}
	if out, _, _ := run("--no-wait", "--", "--id=@q", "create", "qos", "type=x", "--", "list-br"); !strings.Contains(out, "-") {
		t.Errorf("create printed %q, want a UUID", out)
	}
}
