package vhostuser

import "testing"

func TestSetTxRetries(t *testing.T) {
	for _, c := range []struct {
		mode Mode
		opt  string
		want int32
	}{
		{ModeClient, "", 8}, {ModeClient, "0", 0}, {ModeClient, "32", 32}, {ModeClient, "5", 5},
		{ModeClient, "33", 8}, {ModeClient, "-1", 8}, {ModeClient, "abc", 8}, {ModeClient, "5x", 8},
		{ModeServer, "5", 8}, // OVS reads the option for client ports only
	} {
		p := &Port{mode: c.mode}
		p.SetTxRetries(c.opt)
		if got := p.txRetries.Load(); got != c.want {
			t.Errorf("%s port, tx-retries-max=%q: %d retries, want %d", c.mode, c.opt, got, c.want)
		}
	}
}
