package unixctl

import (
	"strconv"
	"strings"

	"gvswitch/control/unixctl/coverage"
	"gvswitch/control/unixctl/vlog"
)

// AddStandardCommands registers the commands every Open vSwitch daemon has
// besides the built-ins: vlog/list, vlog/list-pattern, vlog/set,
// vlog/reopen, vlog/close, vlog/disable-rate-limit, vlog/enable-rate-limit,
// coverage/show and coverage/read-counter, backed by packages vlog and
// coverage.
func (s *Server) AddStandardCommands() error {
	cmds := []struct {
		name, usage string
		min, max    int
		fn          Handler
	}{
		{"vlog/list", "", 0, 0, func([]string) (string, error) { return vlog.List(), nil }},
		{"vlog/set", "{spec | PATTERN:destination:pattern}", 0, Unbounded, vlogSet},
		{"vlog/list-pattern", "", 0, 0, func([]string) (string, error) { return vlog.ListPattern(), nil }},
		{"vlog/disable-rate-limit", "[module]...", 0, Unbounded, rateLimit},
		{"vlog/enable-rate-limit", "[module]...", 0, Unbounded, rateLimit},
		{"vlog/reopen", "", 0, 0, func([]string) (string, error) { return "", vlog.Reopen() }},
		{"vlog/close", "", 0, 0, func([]string) (string, error) { vlog.CloseFile(); return "", nil }},
		{"coverage/show", "", 0, 0, func([]string) (string, error) { return coverage.Show(), nil }},
		{"coverage/read-counter", "COUNTER", 1, 1, readCounter},
	}
	for _, c := range cmds {
		if err := s.Register(c.name, c.usage, c.min, c.max, c.fn); err != nil {
			return err
		}
	}
	return nil
}

func vlogSet(args []string) (string, error) {
	for _, a := range args {
		if err := vlog.Set(a); err != nil {
			return "", errorText(strings.TrimPrefix(err.Error(), vlog.ErrSpec.Error()+": "))
		}
	}
	return "", nil
}

// rateLimit is vlog/disable-rate-limit and vlog/enable-rate-limit:
// gvswitchd's modules log every message (no rate limiting to switch), so
// only the module names are checked.
func rateLimit(args []string) (string, error) {
	known := map[string]bool{}
	for _, m := range vlog.Modules() {
		known[m] = true
	}
	for _, a := range args {
		if a != "any" && !known[a] {
			return "", errorText("unknown module")
		}
	}
	return "", nil
}

func readCounter(args []string) (string, error) {
	c, ok := coverage.Lookup(args[0])
	if !ok {
		return "", errorText("No such counter")
	}
	return strconv.FormatUint(c.Total(), 10) + "\n", nil
}

// errorText is a command error whose text is shown as is.
type errorText string

func (e errorText) Error() string { return string(e) }
