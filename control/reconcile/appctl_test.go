package reconcile

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"gvswitch/control/unixctl"
	"gvswitch/dataplane"
	"gvswitch/test/e2e"
)

// vhostFake is a vhost-user port: with a guest (link up, counters) or
// without.
type vhostFake struct {
	fakePort
	guest bool
}

func (p *vhostFake) Link() bool { return p.guest }
func (p *vhostFake) Stats() dataplane.PortStats {
	return dataplane.PortStats{RxPackets: 13768160, RxBytes: 881162240, TxPackets: 13765280, TxBytes: 880977920}
}

// reference reads a capture of the real OVS-DPDK (testdata/README.md).
func reference(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	refNumbers = regexp.MustCompile(`0x[0-9a-f]+|[0-9]+(\.[0-9]+)?`)
	refHuman   = regexp.MustCompile(` \([0-9.]+ [KMGT]iB\)`)
	refNames   = regexp.MustCompile(`<[^>]*>`)
)

// shape keeps what must match a capture: values become N.
func shape(s string) string {
	s = refHuman.ReplaceAllString(s, "")
	s = refNames.ReplaceAllString(s, "<NAME>")
	return refNumbers.ReplaceAllString(s, "N")
}

// The configuration of reference/ovs-dpdk (br0; vhu0 and vhu1 client ports
// with a guest; vhs0, a server port without one; dpdk0 without a NIC),
// then the commands captured there.
func TestAppctlMatchesReferenceCaptures(t *testing.T) {
	db := e2e.StartOVSDBServer(t)
	registerFakes(t)
	for _, typ := range []string{"dpdkvhostuserclient", "dpdkvhostuser"} {
		guest := typ == "dpdkvhostuserclient"
		RegisterType(typ, func(c IfaceConfig) (dataplane.Port, error) {
			return &vhostFake{fakePort: fakePort{name: c.Name, mu: new(sync.Mutex)}, guest: guest}, nil
		})
	}
	RegisterType("dpdk", func(c IfaceConfig) (dataplane.Port, error) {
		return nil, errors.New("Error attaching device '0000:08:00.0' to DPDK")
	})
	t.Cleanup(func() {
		for _, typ := range []string{"dpdkvhostuserclient", "dpdkvhostuser", "dpdk"} {
			RegisterType(typ, nil)
		}
	})
	_, uc, stop := startDaemon(t, db.Sock)
	defer stop()
	if err := uc.AddStandardCommands(); err != nil { // as gvswitchd does
		t.Fatal(err)
	}
	vsctlOK(t, db.Sock, "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev")
	vsctlOK(t, db.Sock, "add-port", "br0", "vhu0", "tag=300", "--", "set", "Interface", "vhu0", "type=dpdkvhostuserclient")
	vsctlOK(t, db.Sock, "add-port", "br0", "vhu1", "tag=300", "--", "set", "Interface", "vhu1", "type=dpdkvhostuserclient")
	vsctlOK(t, db.Sock, "add-port", "br0", "vhs0", "--", "set", "Interface", "vhs0", "type=dpdkvhostuser")
	r := e2e.Vsctl(t, db.Sock, "--timeout=5", "add-port", "br0", "dpdk0", "--", "set", "Interface", "dpdk0", "type=dpdk")
	if r.Code != 0 {
		t.Fatalf("add-port dpdk0: %v", r)
	}

	run := func(args ...string) (string, error) { return uc.Run(args[0], args[1:]) }
	for _, c := range []struct {
		args []string
		ref  string
	}{
		{[]string{"dpif/show"}, "09-appctl-dpif-show.txt"},
		{[]string{"dpctl/show", "-s"}, "15d-appctl-dpctl-show-s.txt"},
		{[]string{"netdev-dpdk/get-mempool-info", "vhu0"}, "14-appctl-netdev-dpdk-get-mempool-info-vhu0.txt"},
		{[]string{"netdev-dpdk/get-mempool-info"}, "14b-appctl-netdev-dpdk-get-mempool-info.txt"},
		{[]string{"dpdk/get-malloc-stats"}, "15e-appctl-dpdk-get-malloc-stats.txt"},
	} {
		out, err := run(c.args...)
		if err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		if got, want := shape(out), shape(reference(t, c.ref)); got != want {
			t.Errorf("%v differs from %s in layout:\n%s\nwant:\n%s", c.args, c.ref, out, want)
		}
	}

	// Errors: the words of reference/ovs-dpdk/14c-14e (and "Not
	// allocated" where OVS 3.1.0 crashed).
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"netdev-dpdk/get-mempool-info", "dpdk0"}, "Not a DPDK Interface"},
		{[]string{"netdev-dpdk/get-mempool-info", "nosuchport"}, "Not a DPDK Interface"},
		{[]string{"netdev-dpdk/get-mempool-info", "br0"}, "Not a DPDK Interface"},
		{[]string{"netdev-dpdk/get-mempool-info", "vhs0"}, "Not allocated"},
		{[]string{"netdev-dpdk/set-admin-state", "vhu0", "sideways"}, "Invalid Admin State"},
		{[]string{"netdev-dpdk/set-admin-state", "nosuch", "up"}, "Not a DPDK Interface"},
		{[]string{"netdev-dpdk/detach", "0000:09:00.0"}, "Device '0000:09:00.0' not found"},
		{[]string{"dpctl/show", "system@ovs-system"}, "ovs-vswitchd: opening datapath system@ovs-system failed (No such file or directory)"},
		{[]string{"dpctl/dump-flows", "nosuch"}, "ovs-vswitchd: datapath not found (Invalid argument)"},
		{[]string{"dpif/dump-flows", "nosuch"}, "no such bridge"},
		{[]string{"dpdk/log-set", "loud"}, "invalid log level: 'loud'"},
	} {
		if _, err := run(c.args...); err == nil || err.Error() != c.want {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}

	// dpdk/log-list: reference/ovs-dpdk/15f's lines.
	out, _ := run("dpdk/log-list")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	logLine := regexp.MustCompile(`^id \d+: [a-z_.0-9]+, level is (emergency|error|warning|info|debug)$`)
	if !strings.HasPrefix(lines[0], "global log level is ") || len(lines) < 2 {
		t.Errorf("dpdk/log-list:\n%s", out)
	}
	for _, l := range lines[1:] {
		if !logLine.MatchString(l) {
			t.Errorf("dpdk/log-list line %q", l)
		}
	}
	if _, err := run("dpdk/log-set", "bridge:debug"); err != nil {
		t.Errorf("dpdk/log-set bridge:debug: %v", err)
	}
	if out, _ := run("dpdk/log-list"); !regexp.MustCompile(`(?m)^id \d+: bridge, level is debug$`).MatchString(out) {
		t.Errorf("dpdk/log-set bridge:debug did not take:\n%s", out)
	}
	run("dpdk/log-set", "bridge:info")

	// Every command of reference/ovs-dpdk/15 is there with its usage.
	want := listed(reference(t, "15-appctl-list-commands.txt"))
	got := listed(uc.Commands(), uc)
	for name, usage := range want {
		if g, ok := got[name]; !ok || g != usage {
			t.Errorf("list-commands: %s %q, want %q", name, g, usage)
		}
	}
}

// listed maps command name to usage, from list-commands text or (with a
// server) from its table.
func listed(v any, s ...*unixctl.Server) map[string]string {
	m := map[string]string{}
	switch v := v.(type) {
	case string:
		for _, line := range strings.Split(v, "\n")[1:] {
			if f := strings.Fields(line); len(f) > 0 {
				m[f[0]] = strings.Join(f[1:], " ")
			}
		}
	case []string:
		for _, n := range v {
			m[n] = strings.Join(strings.Fields(s[0].Usage(n)), " ")
		}
	}
	return m
}
