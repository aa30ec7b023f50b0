package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"gvswitch/control/unixctl"
)

func TestAppctl(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "d.ctl")
	s := unixctl.NewServer("gvswitchd (gvswitch) 9.9\n")
	if err := s.Register("echo/args", "ARG...", 0, 5, func(a []string) (string, error) {
		return strings.Join(a, "|") + "\n", nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(sock); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cases := []struct {
		args           []string
		status         int
		stdout, stderr string
	}{
		{[]string{"-t", sock, "version"}, 0, "gvswitchd (gvswitch) 9.9\n", ""},
		{[]string{"--target=" + sock, "echo/args", "a", "b c"}, 0, "a|b c\n", ""},
		{[]string{"-t", sock, "nosuch"}, 2, "", "\"nosuch\" is not a valid command"},
		{[]string{"-t", sock, "echo/args", "1", "2", "3", "4", "5", "6"}, 2, "", "command takes at most 5 arguments"},
		{[]string{"-t", sock}, 1, "", "at least one non-option argument"},
		{[]string{"-t", filepath.Join(t.TempDir(), "none.ctl"), "version"}, 1, "", "cannot connect"},
		{[]string{"--bogus", "version"}, 1, "", "unrecognized option '--bogus'"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		st := appctl(c.args, &out, &errb)
		if st != c.status || out.String() != c.stdout || !strings.Contains(errb.String(), c.stderr) {
			t.Errorf("appctl %q = %d, stdout %q, stderr %q; want %d, %q, stderr containing %q",
				c.args, st, out.String(), errb.String(), c.status, c.stdout, c.stderr)
		}
	}
}
