package e2e

// ovs-appctl against gvswitchd and against a real ovs-vswitchd (userspace
// datapath) with the same configuration: the same commands must give the
// same text, errors and exit status, apart from counters.

import (
	"regexp"
	"strings"
	"testing"

	"gvswitch/internal/testenv"
)

// appctlCase is one ovs-appctl command line and whether its numbers are
// values (counters, sizes) to normalise before comparing.
type appctlCase struct {
	args    []string
	numbers bool
}

var (
	digits    = regexp.MustCompile(`[0-9]+`)
	appctlErr = regexp.MustCompile(`(?m)^ovs-appctl: [^ ]+: `)
)

// appctlCompatCases are answered from the same configuration by both
// switches: br0 (netdev) with v0 (tag 300), v1 (trunk) and p2 (internal),
// and static MACs 02:00:00:00:00:01 on v0 and 02:00:00:00:00:02 on v1 in
// VLAN 300.
var appctlCompatCases = []appctlCase{
	{[]string{"dpif/show"}, true},
	{[]string{"dpctl/show"}, true},
	{[]string{"dpctl/show", "nosuch"}, false},
	{[]string{"dpctl/dump-dps"}, false},
	{[]string{"dpif/dump-dps"}, false},
	{[]string{"ofproto/list"}, false},
	{[]string{"dpif/dump-flows", "nosuch"}, false},
	{[]string{"dpif/show-dp-features", "nosuch"}, false},
	{[]string{"bridge/dump-flows", "nosuch"}, false},
	{[]string{"bridge/reconnect", "nosuch"}, false},
	{[]string{"mdb/show", "br0"}, false},
	{[]string{"mdb/show", "nosuch"}, false},
	{[]string{"mdb/flush"}, false},
	{[]string{"stp/show"}, false},
	{[]string{"stp/show", "br0"}, false},
	{[]string{"stp/tcn", "br0"}, false},
	{[]string{"rstp/show", "br0"}, false},
	{[]string{"autoattach/status", "br0"}, false},
	{[]string{"bfd/show", "v0"}, false},
	{[]string{"bfd/set-forwarding", "v0", "bogus"}, false},
	{[]string{"bfd/set-forwarding", "v0", "true"}, false},
	{[]string{"cfm/show", "v0"}, false},
	{[]string{"cfm/set-fault", "true"}, false},
	{[]string{"qos/show", "v0"}, false},
	{[]string{"qos/show", "nosuch"}, false},
	{[]string{"qos/show-types", "nosuch"}, false},
	{[]string{"upcall/enable-megaflows"}, false},
	{[]string{"upcall/disable-ufid"}, false},
	{[]string{"upcall/enable-ufid"}, false},
	{[]string{"upcall/set-flow-limit", "5000"}, false},
	{[]string{"revalidator/wait"}, false},
	{[]string{"revalidator/purge"}, false},
	{[]string{"vlog/disable-rate-limit", "nosuch"}, false},
	{[]string{"vlog/enable-rate-limit"}, false},
	{[]string{"coverage/read-counter", "nosuch"}, false},
	{[]string{"dpif-netdev/bond-show", "nosuch"}, false},
	{[]string{"dpif-netdev/dpif-impl-set", "bogus"}, false},
	{[]string{"dpif-netdev/miniflow-parser-set", "bogus"}, false},
	{[]string{"dpif-netdev/subtable-lookup-prio-set", "bogus", "1"}, false},
	{[]string{"dpif-netdev/subtable-lookup-prio-set", "generic", "1"}, false},
	{[]string{"dpif-netdev/pmd-perf-log-set", "bogus"}, false},
	{[]string{"odp-execute/action-impl-set", "bogus"}, false},
	{[]string{"dpctl/offload-stats-show"}, false},
	{[]string{"dpctl/list-commands"}, false},
	{[]string{"dpctl/parse-actions", "2"}, false},
	{[]string{"dpctl/normalize-actions", "in_port(1)", "2"}, false},
	{[]string{"dpctl/ct-stats-show"}, false},
	{[]string{"dpctl/cache-set-size", "netdev@ovs-netdev", "emc", "100"}, false},
	{[]string{"ovs/route/lookup", "bogus"}, false},
	{[]string{"ovs/route/del", "10.9.0.0/24"}, false},
	{[]string{"tnl/arp/show"}, false},
	{[]string{"tnl/egress_port_range"}, false},
	{[]string{"tnl/ports/show"}, false},
	{[]string{"tnl/neigh/aging"}, false},
	{[]string{"tnl/arp/aging", "bogus"}, false},
	{[]string{"fdb/show", "nosuch"}, false},
	{[]string{"ofproto/trace", "nosuch", "in_port=1"}, false},
	{[]string{"ofproto/trace", "br0", "bogus=1"}, false},
	{[]string{"ofproto/trace", "br0", "in_port=nosuch"}, false},
	{[]string{"ofproto/trace", "br0", "in_port=v0,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02"}, false},
	{[]string{"ofproto/trace", "br0", "in_port=v1,dl_src=02:00:00:00:00:02,dl_dst=02:00:00:00:00:01,dl_vlan=300"}, false},
	{[]string{"ofproto/trace", "br0", "in_port=v1,dl_src=02:00:00:00:00:02,dl_dst=02:00:00:00:00:09,dl_vlan=300"}, false},
	{[]string{"ofproto/trace", "br0", "in_port=v1,dl_src=02:00:00:00:00:02,dl_dst=02:00:00:00:00:01,dl_vlan=301"}, false},
	{[]string{"ofproto/trace", "br0", "in_port=v0,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,dl_vlan=5"}, false},
	{[]string{"ofproto/trace", "br0", "in_port=v0,dl_src=02:00:00:00:00:03,dl_dst=02:00:00:00:00:01"}, false},
	{[]string{"ofproto/trace", "br0", "in_port=LOCAL,dl_dst=ff:ff:ff:ff:ff:ff"}, false},
	{[]string{"ofproto/trace", "br0", "dl_src=02:00:00:00:00:07"}, false},
	{[]string{"ofproto/trace", "br0", "in_port=v0,tcp,nw_src=10.0.0.1,tp_dst=80,dl_dst=02:00:00:00:00:02"}, false},
	{[]string{"ofproto/trace", "br0", "in_port=v1,dl_vlan=300,arp,arp_tpa=10.0.0.9"}, false},
	{[]string{"ofproto/trace", "br0", "in_port=v0,ipv6"}, false},
	{[]string{"ofproto/trace", "br0", "in_port=v0,nw_src=10.0.0.1"}, false},
	{[]string{"ofproto/trace", "in_port(1)"}, false},
	{[]string{"ofproto/trace", "in_port(2),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02)"}, false},
	{[]string{"ofproto/trace", "ovs-netdev", "in_port(3),eth(src=02:00:00:00:00:02,dst=02:00:00:00:00:01),eth_type(0x8100),vlan(vid=300,pcp=0)"}, false},
	{[]string{"ofproto/trace", "in_port(9)"}, false},
	{[]string{"ofproto/trace", "nosuch", "in_port(3)"}, false},
}

// appctlNorm makes two answers comparable: the control socket ovs-appctl
// names in errors, and numbers where they are values.
func appctlNorm(r Result, numbers bool) Result {
	for _, s := range []*string{&r.Stdout, &r.Stderr} {
		*s = appctlErr.ReplaceAllString(*s, "ovs-appctl: CTL: ")
		if numbers {
			*s = digits.ReplaceAllString(*s, "N")
		}
	}
	r.Elapsed = 0
	return r
}

func TestAppctlMatchesOVS(t *testing.T) {
	testenv.Short(t)
	testenv.NeedCommand(t, "ovs-vswitchd", "ovs-appctl", "ip")
	appctl := testenv.NeedCommand(t, "ovs-appctl")[0]

	// The same switch twice: real Open vSwitch in one namespace,
	// gvswitchd (drop-in) in another.
	pn := NewNetns(t, "acmpo")
	ovs := startPartnerOVS(t, pn)
	d, sw := startSwitch(t, "acmpg")
	for _, ns := range []string{pn, sw} {
		Veth(t, "v0", ns, "v0p", ns)
		Veth(t, "v1", ns, "v1p", ns)
	}
	config := [][]string{
		{"add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev"},
		{"add-port", "br0", "v0", "tag=300", "--", "set", "Interface", "v0", "ofport_request=1"},
		{"add-port", "br0", "v1", "--", "set", "Interface", "v1", "ofport_request=2"},
		{"add-port", "br0", "p2", "--", "set", "Interface", "p2", "type=internal", "ofport_request=3"},
	}
	for _, c := range config {
		ovs.vsctl(t, c...)
		bondVsctl(t, d, c...)
	}
	run := map[string]func(args ...string) Result{
		"ovs-vswitchd": func(args ...string) Result {
			r := Run(t, ovs.env, appctl, append([]string{"--timeout=10"}, args...)...)
			return appctlNorm(r, false)
		},
		"gvswitchd": func(args ...string) Result {
			return appctlNorm(d.Appctl(t, args...), false)
		},
	}
	for _, who := range []string{"ovs-vswitchd", "gvswitchd"} {
		for _, a := range [][]string{
			{"fdb/add", "br0", "v0", "300", "02:00:00:00:00:01"},
			{"fdb/add", "br0", "v1", "300", "02:00:00:00:00:02"},
		} {
			if r := run[who](a...); r.Code != 0 {
				t.Fatalf("%s: ovs-appctl %v: %v", who, a, r)
			}
		}
	}

	// Every command ovs-vswitchd has is registered.
	want := commandNames(run["ovs-vswitchd"]("list-commands").Stdout)
	got := commandNames(run["gvswitchd"]("list-commands").Stdout)
	for name, usage := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("list-commands: %s missing", name)
		} else if g != usage {
			t.Errorf("list-commands: %s usage %q, ovs-vswitchd's %q", name, g, usage)
		}
	}

	for _, c := range appctlCompatCases {
		o := run["ovs-vswitchd"](c.args...)
		g := run["gvswitchd"](c.args...)
		if c.numbers {
			o = appctlNorm(o, true)
			g = appctlNorm(g, true)
		}
		if o.Code != g.Code || o.Stdout != g.Stdout || o.Stderr != g.Stderr {
			t.Errorf("ovs-appctl %s:\novs-vswitchd: %v\ngvswitchd:    %v", strings.Join(c.args, " "), o, g)
		}
	}
}

// commandNames parses list-commands into name -> usage.
func commandNames(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		m[f[0]] = strings.Join(f[1:], " ")
	}
	return m
}
