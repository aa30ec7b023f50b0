package e2e

// End-to-end tests of the kernel ports (system = AF_PACKET, internal =
// tap) and the PMDs, through the real gvswitchd configured with the real
// ovs-vsctl: VLANs and a trunk, the bridge's internal port carrying an IP,
// PMD pinning and statistics, TCP throughput against a Linux bridge.

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"gvswitch/dataplane"
	"gvswitch/dataplane/afpacket"
	"gvswitch/internal/netns"
	"gvswitch/internal/testenv"
	"gvswitch/pmd"
)

// host is a namespace with one veth (eth0) into the switch namespace.
type host struct {
	ns, port, ip string
	mac          net.HardwareAddr
}

func addHost(t *testing.T, sw, name, port, cidr string) host {
	t.Helper()
	ns := NewNetns(t, name)
	Veth(t, port, sw, "eth0", ns)
	if cidr != "" {
		Run(t, nil, "ip", "-n", ns, "addr", "add", cidr, "dev", "eth0")
	}
	// No IPv6 router solicitations in the way of the counts.
	Run(t, nil, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
	out := Run(t, nil, "ip", "-n", ns, "-o", "link", "show", "eth0").Stdout
	m := regexp.MustCompile(`link/ether ([0-9a-f:]{17})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no MAC for %s: %s", ns, out)
	}
	mac, _ := net.ParseMAC(m[1])
	ip, _, _ := strings.Cut(cidr, "/")
	return host{ns: ns, port: port, ip: ip, mac: mac}
}

func ping(t *testing.T, ns, ip string, count int) Result {
	t.Helper()
	return Run(t, nil, "ip", "netns", "exec", ns, "ping", "-c", strconv.Itoa(count), "-i", "0.2", "-W", "1", ip)
}

// trunkTap is the trunk host's view of its wire: an AF_PACKET port in its
// namespace (the kernel has no 8021q module), sending and receiving
// tagged frames.
type trunkTap struct {
	port *afpacket.Port
	pool *dataplane.Pool
}

func openTrunk(t *testing.T, ns string) *trunkTap {
	t.Helper()
	arena, err := dataplane.NewArena(512*(dataplane.Headroom+dataplane.DefaultDataRoom+64), dataplane.ArenaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { arena.Close() })
	pool, _, err := dataplane.NewPool("trunk", arena, 0, 512, dataplane.DefaultDataRoom)
	if err != nil {
		t.Fatal(err)
	}
	var p *afpacket.Port
	if err := (&netns.NS{Name: ns}).Do(func() (err error) { p, err = afpacket.Open("eth0", afpacket.Options{Pool: pool}); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return &trunkTap{port: p, pool: pool}
}

func (tt *trunkTap) send(t *testing.T, frame []byte) {
	t.Helper()
	pk := tt.pool.Get()
	copy(pk.Room(), frame)
	pk.SetLen(len(frame))
	if tt.port.TxBurst(0, []*dataplane.Packet{pk}) != 1 {
		t.Fatal("trunk host could not send")
	}
}

// waitFor reads frames until match accepts one (it gets the VLAN id and
// the decoded packet) or the timeout passes.
func (tt *trunkTap) waitFor(timeout time.Duration, match func(vid uint16, p gopacket.Packet) bool) bool {
	var pkts [32]*dataplane.Packet
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		n := tt.port.RxBurst(0, pkts[:])
		found := false
		for _, pk := range pkts[:n] {
			p := gopacket.NewPacket(pk.Data(), layers.LayerTypeEthernet, gopacket.Default)
			if q, ok := p.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q); ok && !found {
				found = match(q.VLANIdentifier, p)
			}
			pk.Free()
		}
		if found {
			return true
		}
		if n == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	return false
}

func arpRequest(t *testing.T, vid uint16, srcMAC net.HardwareAddr, srcIP, dstIP string) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true},
		&layers.Ethernet{SrcMAC: srcMAC, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: vid, Type: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: srcMAC, SourceProtAddress: net.ParseIP(srcIP).To4(),
			DstHwAddress: make([]byte, 6), DstProtAddress: net.ParseIP(dstIP).To4()})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func isARP(p gopacket.Packet, op uint16, from string) bool {
	a, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP)
	return ok && a.Operation == op && net.IP(a.SourceProtAddress).Equal(net.ParseIP(from))
}

// TestVLANsTrunkAndInternalPort is the kernel-port acceptance scenario:
// four namespaces on system ports of ovsbr0, two on access VLAN 300, one
// on VLAN 301, one on a trunk (trunks=300,301) whose side reads and writes
// 802.1Q tags with gopacket; the internal port ovsbr0, on VLAN 300,
// carries an IP; fdb/show lists every MAC on its port and VLAN until
// mac-aging-time passes.
func TestVLANsTrunkAndInternalPort(t *testing.T) {
	testenv.NeedCommand(t, "ping", "ip")
	d, sw := startSwitch(t, "vlan")
	// A short mac-aging-time, set with the bridge, so that the test can
	// watch entries expire.
	const aging = 10
	mustVsctl(t, d, "add-br", "ovsbr0", "--", "set", "Bridge", "ovsbr0", fmt.Sprintf("other_config:mac-aging-time=%d", aging))
	h1 := addHost(t, sw, "vh1", "p1", "10.30.0.1/24")
	h2 := addHost(t, sw, "vh2", "p2", "10.30.0.2/24")
	h3 := addHost(t, sw, "vh3", "p3", "10.30.0.3/24") // same subnet, other VLAN
	h4 := addHost(t, sw, "vh4", "p4", "")
	mustVsctl(t, d, "add-port", "ovsbr0", "p1", "tag=300")
	mustVsctl(t, d, "add-port", "ovsbr0", "p2", "tag=300")
	mustVsctl(t, d, "add-port", "ovsbr0", "p3", "tag=301")
	mustVsctl(t, d, "add-port", "ovsbr0", "p4", "trunks=300,301")
	mustVsctl(t, d, "set", "Port", "ovsbr0", "tag=300")
	trunk := openTrunk(t, h4.ns)

	if r := ping(t, h1.ns, h2.ip, 3); r.Code != 0 {
		t.Fatalf("ping within VLAN 300: %v\n%s", r, d.Log())
	}
	if r := ping(t, h1.ns, h3.ip, 2); r.Code == 0 {
		t.Errorf("ping from VLAN 300 reached VLAN 301")
	}
	// The trunk host sees h1's broadcast ARP tagged 300, h3's tagged 301.
	for _, c := range []struct {
		h   host
		vid uint16
	}{{h1, 300}, {h3, 301}} {
		ping(t, c.h.ns, "10.30.0.77", 1) // nobody: an ARP request flood
		if !trunk.waitFor(3*time.Second, func(vid uint16, p gopacket.Packet) bool {
			return vid == c.vid && isARP(p, layers.ARPRequest, c.h.ip)
		}) {
			t.Errorf("trunk host did not see %s's ARP request tagged %d", c.h.ip, c.vid)
		}
	}
	// The trunk host sends tagged frames into either VLAN and gets the
	// answers tagged the same way.
	trunkMAC := net.HardwareAddr{0x02, 0x54, 0, 0, 0, 0x04}
	for _, c := range []struct {
		h   host
		vid uint16
	}{{h1, 300}, {h3, 301}} {
		trunk.send(t, arpRequest(t, c.vid, trunkMAC, "10.30.0.44", c.h.ip))
		if !trunk.waitFor(3*time.Second, func(vid uint16, p gopacket.Packet) bool {
			return vid == c.vid && isARP(p, layers.ARPReply, c.h.ip)
		}) {
			t.Errorf("no ARP reply from %s tagged %d to the trunk host's tagged request", c.h.ip, c.vid)
		}
	}
	// A request tagged 301 for a VLAN 300 host gets no answer.
	trunk.send(t, arpRequest(t, 301, trunkMAC, "10.30.0.44", h2.ip))
	if trunk.waitFor(time.Second, func(vid uint16, p gopacket.Packet) bool { return isARP(p, layers.ARPReply, h2.ip) }) {
		t.Errorf("%s (VLAN 300) answered a request sent on VLAN 301", h2.ip)
	}

	// The bridge's internal port carries an IP on VLAN 300.
	Run(t, nil, "ip", "-n", sw, "addr", "add", "10.30.0.254/24", "dev", "ovsbr0")
	if r := ping(t, sw, h2.ip, 2); r.Code != 0 {
		t.Errorf("ping from ovsbr0's IP to a VLAN 300 host: %v", r)
	}
	if r := ping(t, h1.ns, "10.30.0.254", 2); r.Code != 0 {
		t.Errorf("ping from a VLAN 300 host to ovsbr0's IP: %v", r)
	}

	// fdb/show: each MAC on its port and VLAN, with an age. Refresh the
	// entries first: the steps above may have taken longer than aging.
	ping(t, h1.ns, h2.ip, 1)
	ping(t, h3.ns, "10.30.0.77", 1)
	trunk.send(t, arpRequest(t, 301, trunkMAC, "10.30.0.44", h3.ip))
	fdb := d.Appctl(t, "fdb/show", "ovsbr0").Stdout
	for _, c := range []struct {
		h   host
		vid int
	}{{h1, 300}, {h2, 300}, {h3, 301}} {
		ofport := strings.TrimSpace(mustVsctl(t, d, "get", "Interface", c.h.port, "ofport"))
		re := regexp.MustCompile(fmt.Sprintf(`(?m)^ +%s +%d  %s +\d+$`, ofport, c.vid, c.h.mac))
		if !re.MatchString(fdb) {
			t.Errorf("fdb/show lacks %s on port %s VLAN %d:\n%s", c.h.mac, ofport, c.vid, fdb)
		}
	}
	ofport4 := strings.TrimSpace(mustVsctl(t, d, "get", "Interface", "p4", "ofport"))
	if !regexp.MustCompile(fmt.Sprintf(`(?m)^ +%s +301  %s +\d+$`, ofport4, trunkMAC)).MatchString(fdb) {
		t.Errorf("fdb/show lacks the trunk host's MAC on VLAN 301:\n%s", fdb)
	}

	// After mac-aging-time without traffic the entries are gone.
	time.Sleep(aging * time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for {
		fdb = d.Appctl(t, "fdb/show", "ovsbr0").Stdout
		if !strings.Contains(fdb, h1.mac.String()) && !strings.Contains(fdb, h3.mac.String()) && !strings.Contains(fdb, trunkMAC.String()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("entries still there %d s after the last frame, mac-aging-time=%d:\n%s", aging+5, aging, fdb)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// threadsOn lists the threads of pid whose CPU affinity is exactly cpus,
// with the CPU each last ran on (/proc/PID/task/TID/stat field 39).
func threadsOn(t *testing.T, pid int, cpus []int) map[int]int {
	t.Helper()
	dirs, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no threads of %d: %v", pid, err)
	}
	out := map[int]int{}
	for _, dir := range dirs {
		tid, _ := strconv.Atoi(filepath.Base(dir))
		aff, err := pmd.ThreadAffinity(tid)
		if err != nil || !slices.Equal(aff, cpus) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) >= 37 {
			out[tid], _ = strconv.Atoi(f[36])
		}
	}
	return out
}

// TestPMDPinnedByMask: pmd-cpu-mask=0x2 puts the PMD on CPU 1 (its thread's
// affinity and /proc say so) and pmd-stats-show counts the packets it
// forwards.
func TestPMDPinnedByMask(t *testing.T) {
	testenv.NeedCommand(t, "ping", "ip")
	if allowed, _ := pmd.AllowedCPUs(); !slices.Contains(allowed, 1) {
		testenv.Skip(t, "needs CPU 1 (have %v)", allowed)
	}
	d, sw := startSwitch(t, "pmd")
	mustVsctl(t, d, "set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x2")
	mustVsctl(t, d, "add-br", "br0")
	h1 := addHost(t, sw, "ph1", "p1", "10.31.0.1/24")
	h2 := addHost(t, sw, "ph2", "p2", "10.31.0.2/24")
	mustVsctl(t, d, "add-port", "br0", "p1")
	mustVsctl(t, d, "add-port", "br0", "p2")
	if r := ping(t, h1.ns, h2.ip, 2); r.Code != 0 {
		t.Fatalf("ping: %v\n%s", r, d.Log())
	}
	pinned := threadsOn(t, d.Pid(), []int{1})
	if len(pinned) == 0 {
		t.Fatalf("no thread of gvswitchd is pinned to CPU 1")
	}
	for tid, cpu := range pinned {
		if cpu != 1 {
			t.Errorf("thread %d pinned to CPU 1 last ran on CPU %d", tid, cpu)
		}
	}
	if r := d.Appctl(t, "dpif-netdev/pmd-stats-clear"); r.Code != 0 || r.Stdout != "" {
		t.Fatalf("pmd-stats-clear: %v", r)
	}
	if r := ping(t, h1.ns, h2.ip, 5); r.Code != 0 {
		t.Fatalf("ping: %v", r)
	}
	out := d.Appctl(t, "dpif-netdev/pmd-stats-show").Stdout
	m := regexp.MustCompile(`(?m)^pmd thread numa_id \d+ core_id 1:\n  packets received: (\d+)\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("pmd-stats-show has no PMD on core 1:\n%s", out)
	}
	// 5 echo requests and 5 replies, at least; ARP may add a few.
	if n, _ := strconv.Atoi(m[1]); n < 10 || n > 40 {
		t.Errorf("PMD on core 1 received %d packets for 5 pings each way:\n%s", n, out)
	}
	if !strings.Contains(out, "main thread:\n") {
		t.Errorf("pmd-stats-show lacks the main thread:\n%s", out)
	}
	// As in OVS, every packet the PMD received was an exact-match cache
	// hit or a megaflow hit, and it sent them in batches.
	pmd1 := out[:strings.Index(out, "main thread:")]
	counter := func(name string) int {
		m := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(name) + `: (\d+)`).FindStringSubmatch(pmd1)
		if m == nil {
			t.Fatalf("pmd-stats-show lacks %q:\n%s", name, out)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	if rx, emc, mf := counter("packets received"), counter("emc hits"), counter("megaflow hits"); emc+mf != rx || emc == 0 {
		t.Errorf("emc hits %d + megaflow hits %d != packets received %d (or no emc hit):\n%s", emc, mf, rx, out)
	}
	if regexp.MustCompile(`avg\. packets per output batch: 0\.00\n`).MatchString(pmd1) {
		t.Errorf("the PMD sent packets but reports no output batch:\n%s", out)
	}
	rxq := d.Appctl(t, "dpif-netdev/pmd-rxq-show").Stdout
	for _, want := range []string{"Displaying last 60 seconds pmd usage %\n", "pmd thread numa_id 0 core_id 1:\n  isolated : false\n",
		"  port: p1                queue-id:  0 (enabled)   pmd usage: ", "  port: p2                queue-id:  0 (enabled)   pmd usage: "} {
		if !strings.Contains(rxq, want) {
			t.Errorf("pmd-rxq-show lacks %q:\n%s", want, rxq)
		}
	}
	// Moving the PMD to CPU 0 keeps traffic flowing.
	mustVsctl(t, d, "set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x1")
	if r := ping(t, h1.ns, h2.ip, 2); r.Code != 0 {
		t.Errorf("ping after moving the PMD to CPU 0: %v", r)
	}
	if out := d.Appctl(t, "dpif-netdev/pmd-rxq-show").Stdout; !strings.Contains(out, "core_id 0:") || strings.Contains(out, "core_id 1:") {
		t.Errorf("pmd-rxq-show after pmd-cpu-mask=0x1:\n%s", out)
	}
}

func iperfBps(t *testing.T, client, server string, secs int) float64 {
	t.Helper()
	for i := 0; i < 30; i++ {
		r := Run(t, nil, "ip", "netns", "exec", client, "iperf3", "-J", "-c", server, "-t", strconv.Itoa(secs))
		var res struct {
			End struct {
				SumReceived struct {
					BitsPerSecond float64 `json:"bits_per_second"`
				} `json:"sum_received"`
			} `json:"end"`
		}
		if r.Code == 0 && json.Unmarshal([]byte(r.Stdout), &res) == nil && res.End.SumReceived.BitsPerSecond > 0 {
			return res.End.SumReceived.BitsPerSecond
		}
		time.Sleep(200 * time.Millisecond) // server not listening yet
	}
	t.Fatalf("iperf3 to %s failed", server)
	return 0
}

// TestIperfThroughSwitch: TCP between two namespaces through gvswitchd,
// with the veths' offloads left on, and on the same veth layout in the
// same run through a Linux bridge and through Open vSwitch's userspace
// datapath (datapath_type=netdev), which carries TCP only once the hosts
// turn their offloads off (TESTING.md).
func TestIperfThroughSwitch(t *testing.T) {
	testenv.NeedCommand(t, "ip", "iperf3", "ethtool")
	testenv.Short(t)
	d, sw := startSwitch(t, "perf")
	mustVsctl(t, d, "add-br", "br0")
	h1 := addHost(t, sw, "ih1", "p1", "10.32.0.1/24")
	h2 := addHost(t, sw, "ih2", "p2", "10.32.0.2/24")
	mustVsctl(t, d, "add-port", "br0", "p1")
	mustVsctl(t, d, "add-port", "br0", "p2")

	lb := NewNetns(t, "lbr")
	h3 := addHost(t, lb, "ih3", "b1", "10.32.1.1/24")
	h4 := addHost(t, lb, "ih4", "b2", "10.32.1.2/24")
	Run(t, nil, "ip", "-n", lb, "link", "add", "br0", "type", "bridge")
	Run(t, nil, "ip", "-n", lb, "link", "set", "b1", "master", "br0")
	Run(t, nil, "ip", "-n", lb, "link", "set", "b2", "master", "br0")
	Run(t, nil, "ip", "-n", lb, "link", "set", "br0", "up")

	on := NewNetns(t, "ovsp")
	h5 := addHost(t, on, "ih5", "o1", "10.32.2.1/24")
	h6 := addHost(t, on, "ih6", "o2", "10.32.2.2/24")
	ovs := startPartnerOVS(t, on)
	ovs.vsctl(t, "add-br", "br1", "--", "set", "bridge", "br1", "datapath_type=netdev")
	ovs.vsctl(t, "add-port", "br1", "o1")
	ovs.vsctl(t, "add-port", "br1", "o2")

	for _, s := range []host{h2, h4, h6} {
		(&netns.NS{Name: s.ns}).Start(t, "iperf3", "-s", "-B", s.ip)
	}
	// Open vSwitch with the offloads on: the server never sees a valid
	// TCP segment.
	for i := 0; i < 20 && ping(t, h5.ns, h6.ip, 1).Code != 0; i++ {
	}
	ovsOn := Run(t, nil, "ip", "netns", "exec", h5.ns, "iperf3", "-c", h6.ip, "-t", "1", "--connect-timeout", "2000")
	for _, h := range []host{h5, h6} {
		Run(t, nil, "ip", "netns", "exec", h.ns, "ethtool", "-K", "eth0", "tx", "off", "tso", "off", "gso", "off")
	}
	var ours, linux, ovsOff []float64
	for range 2 { // interleaved: vCPU speed drifts
		ours = append(ours, iperfBps(t, h1.ns, h2.ip, 3))
		linux = append(linux, iperfBps(t, h3.ns, h4.ip, 3))
		ovsOff = append(ovsOff, iperfBps(t, h5.ns, h6.ip, 3))
	}
	if ours[0] < 10e6 {
		t.Errorf("TCP through gvswitchd: %.1f Mbit/s", ours[0]/1e6)
	}
	sum := func(v []float64) float64 { return v[0] + v[1] }
	t.Logf("iperf3 TCP: gvswitchd (offloads on) %.0f / %.0f Mbit/s; Linux bridge (offloads on) %.0f / %.0f Mbit/s; "+
		"Open vSwitch netdev (offloads off) %.0f / %.0f Mbit/s, with offloads on: %s; "+
		"ratio gvswitchd/Linux bridge %.2f, gvswitchd/Open vSwitch %.2f",
		ours[0]/1e6, ours[1]/1e6, linux[0]/1e6, linux[1]/1e6, ovsOff[0]/1e6, ovsOff[1]/1e6,
		map[bool]string{true: "TCP works", false: "no TCP"}[ovsOn.Code == 0],
		sum(ours)/sum(linux), sum(ours)/sum(ovsOff))
}

// TestFakeBridge: a fake bridge vlan302 (add-br vlan302 ovsbr0 302) with a
// port on it talks to a VLAN 302 access port of the parent, and its own
// internal port, with an IP, reaches both; a VLAN 300 host reaches none.
func TestFakeBridge(t *testing.T) {
	testenv.NeedCommand(t, "ping", "ip")
	d, sw := startSwitch(t, "fake")
	mustVsctl(t, d, "add-br", "ovsbr0")
	mustVsctl(t, d, "add-br", "vlan302", "ovsbr0", "302")
	h1 := addHost(t, sw, "fh1", "p1", "10.33.0.1/24")
	h2 := addHost(t, sw, "fh2", "p2", "10.33.0.2/24")
	h3 := addHost(t, sw, "fh3", "p3", "10.33.0.3/24")
	mustVsctl(t, d, "add-port", "vlan302", "p1")
	mustVsctl(t, d, "add-port", "ovsbr0", "p2", "tag=302")
	mustVsctl(t, d, "add-port", "ovsbr0", "p3", "tag=300")
	if got := mustVsctl(t, d, "br-to-vlan", "vlan302"); got != "302\n" {
		t.Errorf("br-to-vlan vlan302: %q", got)
	}
	if r := ping(t, h1.ns, h2.ip, 2); r.Code != 0 {
		t.Fatalf("fake bridge port to VLAN 302 access port: %v\n%s", r, d.Log())
	}
	Run(t, nil, "ip", "-n", sw, "addr", "add", "10.33.0.254/24", "dev", "vlan302")
	for _, h := range []host{h1, h2} {
		if r := ping(t, sw, h.ip, 2); r.Code != 0 {
			t.Errorf("vlan302's IP to %s: %v", h.ip, r)
		}
	}
	if r := ping(t, h3.ns, h1.ip, 2); r.Code == 0 {
		t.Errorf("a VLAN 300 host reached the fake bridge's VLAN 302")
	}
	ofport1 := strings.TrimSpace(mustVsctl(t, d, "get", "Interface", "p1", "ofport"))
	fdb := d.Appctl(t, "fdb/show", "ovsbr0").Stdout
	if !regexp.MustCompile(fmt.Sprintf(`(?m)^ +%s +302  %s +\d+$`, ofport1, h1.mac)).MatchString(fdb) {
		t.Errorf("fdb/show ovsbr0 lacks %s on port %s VLAN 302:\n%s", h1.mac, ofport1, fdb)
	}
}
