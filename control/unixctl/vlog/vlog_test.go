package vlog

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestSetAndList(t *testing.T) {
	a := Module("vlogtest_a")
	Module("vlogtest_b_with_a_long_name")
	if err := Set("vlogtest_a:file:warn"); err != nil {
		t.Fatal(err)
	}
	if a.Level(File) != Warn || a.Level(Console) != Info {
		t.Errorf("levels %v %v", a.Level(File), a.Level(Console))
	}
	if err := Set("console:off"); err != nil {
		t.Fatal(err)
	}
	if a.Level(Console) != Off || Module("vlogtest_b_with_a_long_name").Level(Console) != Off {
		t.Error("console:off not applied to all modules")
	}
	// A module created later takes the new default.
	if Module("vlogtest_c").Level(Console) != Off {
		t.Error("new module ignores the default set by vlog/set")
	}
	out := List()
	// Layout of ovs-vswitchd's vlog/list (sessions/11).
	for _, want := range []string{
		"                 console    syslog    file\n                 -------    ------    ------\n",
		"\nvlogtest_a         OFF        OFF       WARN\n",
		"\nvlogtest_b_with_a_long_name   OFF        OFF       INFO\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("vlog/list lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"nosuchmodule:file:dbg", "PATTERN:file:%m"} {
		if err := Set(bad); !errors.Is(err, ErrSpec) {
			t.Errorf("Set(%q) = %v", bad, err)
		}
	}
	Set("console:info")
}

func TestOutput(t *testing.T) {
	var buf bytes.Buffer
	SetConsole(&buf)
	defer SetConsole(os.Stderr)
	l := Module("vlogtest_out")
	Set("vlogtest_out:console:info")
	l.Info("hello %d", 1)
	l.Dbg("not shown")
	l.Slog().Warn("from slog", "port", "vhu0")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %q", buf.String())
	}
	re := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|\d{5}\|vlogtest_out\|INFO\|hello 1$`)
	if !re.MatchString(lines[0]) {
		t.Errorf("line %q", lines[0])
	}
	if !strings.HasSuffix(lines[1], "|vlogtest_out|WARN|from slog port=vhu0") {
		t.Errorf("slog line %q", lines[1])
	}
	path := filepath.Join(t.TempDir(), "x.log")
	if err := OpenFile(path); err != nil {
		t.Fatal(err)
	}
	l.Info("to file")
	os.Rename(path, path+".1")
	if err := Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Info("after reopen")
	CloseFile()
	b1, _ := os.ReadFile(path + ".1")
	b2, _ := os.ReadFile(path)
	if !strings.Contains(string(b1), "|INFO|to file") || !strings.Contains(string(b2), "|INFO|after reopen") {
		t.Errorf("file contents %q / %q", b1, b2)
	}
	if !regexp.MustCompile(`T\d\d:\d\d:\d\d\.\d{3}Z\|`).Match(b2) {
		t.Errorf("file lines carry no milliseconds: %q", b2)
	}
}

// FuzzSet: any vlog/set specification is applied or refused, never a panic.
func FuzzSet(f *testing.F) {
	for _, s := range []string{"bond:file:info", "console:off", "ANY:any:dbg", "PATTERN:file:%m", "x::y", ""} {
		f.Add(s)
	}
	Module("fuzz")
	f.Fuzz(func(t *testing.T, spec string) {
		Set(spec)
	})
}
