package vlog

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
)

// vlog/list-pattern has ovs-vswitchd's layout, and the console pattern it
// shows is the one lines are written with.
func TestListPattern(t *testing.T) {
	out := ListPattern()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 5 || lines[0] != "         prefix                            format" || lines[1] != "         ------                            ------" {
		t.Fatalf("vlog/list-pattern:\n%s", out)
	}
	for i, dest := range []string{"SYSLOG", "CONSOLE", "FILE"} {
		if !strings.HasPrefix(lines[2+i], dest+strings.Repeat(" ", 9-len(dest))+"none") || len(lines[2+i]) < 44 || lines[2+i][42] != ' ' || lines[2+i][43] == ' ' {
			t.Errorf("line %q: want DEST padded to 9, prefix padded to 34", lines[2+i])
		}
	}
	if !strings.Contains(lines[3], "%D{%Y-%m-%dT%H:%M:%SZ}|%05N|%c%T|%p|%m") {
		t.Errorf("console pattern %q", lines[3])
	}
	var buf bytes.Buffer
	SetConsole(&buf)
	defer SetConsole(os.Stderr)
	Set("vlogtest_pattern:console:info")
	Module("vlogtest_pattern").Info("x")
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|\d{5}\|vlogtest_pattern\|INFO\|x\n$`).MatchString(buf.String()) {
		t.Errorf("console line %q does not follow its pattern", buf.String())
	}
}
