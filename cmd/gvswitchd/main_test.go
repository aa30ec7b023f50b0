package main

import (
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	t.Setenv("GVS_RUNDIR", "/tmp/r")
	c, err := parseArgs([]string{"--dbdir=/tmp/d", "--pidfile", "--log-file=/tmp/x.log", "-vconsole:off", "--verbose=bond:dbg", "--system-id=random", "--detach"})
	if err != nil {
		t.Fatal(err)
	}
	if c.rundir != "/tmp/r" || c.dbdir != "/tmp/d" || c.logdir != "/var/log/gvswitch" {
		t.Errorf("dirs %q %q %q", c.rundir, c.dbdir, c.logdir)
	}
	if !c.pidfile.set || c.pidfile.value != "" || !c.logFile.set || c.logFile.value != "/tmp/x.log" {
		t.Errorf("pidfile %+v log-file %+v", c.pidfile, c.logFile)
	}
	if strings.Join(c.verbose, " ") != "console:off bond:dbg" || c.systemID != "random" || !c.detach {
		t.Errorf("verbose %q system-id %q detach %v", c.verbose, c.systemID, c.detach)
	}
	// ovs-vswitchd's positional database argument.
	c, err = parseArgs([]string{"unix:/var/run/openvswitch/db.sock"})
	if err != nil || c.db != "unix:/var/run/openvswitch/db.sock" {
		t.Errorf("positional db: %+v %v", c, err)
	}
	for _, bad := range [][]string{{"--db=tcp:127.0.0.1:6640"}, {"a", "b"}, {"--nosuch"}} {
		if _, err := parseArgs(bad); err == nil {
			t.Errorf("parseArgs(%q) accepted", bad)
		}
	}
}

func FuzzParseArgs(f *testing.F) {
	f.Add("--rundir=/x\x00--pidfile\x00-vconsole:off")
	f.Add("--db=unix:db.sock\x00--detach")
	f.Fuzz(func(t *testing.T, joined string) {
		parseArgs(strings.Split(joined, "\x00"))
	})
}
