package unixctl

import (
	"testing"

	"gvswitch/control/unixctl/vlog"
)

func TestRateLimitCommands(t *testing.T) {
	s := NewServer("test\n")
	if err := s.AddStandardCommands(); err != nil {
		t.Fatal(err)
	}
	vlog.Module("ratelimittest")
	for _, c := range []struct {
		cmd  string
		args []string
		err  string
	}{
		{"vlog/disable-rate-limit", nil, ""},
		{"vlog/disable-rate-limit", []string{"ratelimittest", "any"}, ""},
		{"vlog/enable-rate-limit", []string{"ratelimittest"}, ""},
		{"vlog/disable-rate-limit", []string{"ratelimittest", "nosuch"}, "unknown module"},
		{"vlog/enable-rate-limit", []string{"nosuch"}, "unknown module"},
	} {
		out, err := s.Run(c.cmd, c.args)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.err || out != "" {
			t.Errorf("%s %v: %q, error %q; want error %q", c.cmd, c.args, out, got, c.err)
		}
	}
}
