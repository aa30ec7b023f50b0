package e2e

import (
	"strings"
	"testing"

	"gvswitch/internal/testenv"
)

// Issue 6 on a machine without VFIO: a type=dpdk Interface whose device
// cannot be opened gets ofport -1 and a clear error column, and the rest of
// the bridge keeps forwarding — before, while and after it is added,
// retried and removed.
func TestDPDKPortMissingBridgeForwards(t *testing.T) {
	testenv.NeedCommand(t, "ping", "ip")
	d, sw := startSwitch(t, "nodpdk")
	mustVsctl(t, d, "add-br", "br0", "--", "set", "Bridge", "br0", "datapath_type=netdev")
	var hosts []string
	for i := 1; i <= 2; i++ {
		h := NewNetns(t, "nodpdkh"+string(rune('0'+i)))
		port := "q" + string(rune('0'+i))
		Veth(t, port, sw, "eth0", h)
		Run(t, nil, "ip", "-n", h, "addr", "add", "10.31.0."+string(rune('0'+i))+"/24", "dev", "eth0")
		mustVsctl(t, d, "add-port", "br0", port, "tag=300")
		hosts = append(hosts, h)
	}
	ping := func(when string) {
		t.Helper()
		if r := Run(t, nil, "ip", "netns", "exec", hosts[0], "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.31.0.2"); r.Code != 0 {
			t.Fatalf("ping %s: %v\nlog:\n%s", when, r, d.Log())
		}
	}
	ping("before the dpdk port")

	// ovs-vsctl reports the failed interface on stderr (exit status 0), as
	// with Open vSwitch.
	r := d.Vsctl(t, "--timeout=5", "add-port", "br0", "dpdk0", "tag=300", "--",
		"set", "Interface", "dpdk0", "type=dpdk", "options:dpdk-devargs=0000:08:00.0")
	if r.Code != 0 || !strings.Contains(r.Stderr, "Error detected while setting up 'dpdk0': ") {
		t.Fatalf("add-port dpdk0: %v", r)
	}
	got := mustVsctl(t, d, "get", "Interface", "dpdk0", "ofport", "error")
	if !strings.HasPrefix(got, "-1\n\"Error attaching device '0000:08:00.0' to DPDK: ") {
		t.Errorf("dpdk0 ofport/error: %q", got)
	}
	ping("with the failed dpdk port on the bridge")
	// The daemon keeps retrying the failed interface; that must not
	// disturb the others either.
	ping("after retries of the failed port")
	mustVsctl(t, d, "del-port", "br0", "dpdk0")
	ping("after the dpdk port was removed")
}
