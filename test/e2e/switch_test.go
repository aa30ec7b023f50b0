package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"gvswitch/internal/testenv"
)

// startSwitch runs gvswitchd in its own namespace, attached to a private
// real ovsdb-server, and returns it with the namespace.
func startSwitch(t *testing.T, name string) (*Daemon, string) {
	t.Helper()
	db := StartOVSDBServer(t)
	ns := NewNetns(t, name)
	d := StartDaemon(t, DaemonOptions{
		Netns:     ns,
		ExtraArgs: []string{"--db=unix:" + db.Sock},
		Env:       []string{"OVS_RUNDIR=" + db.Dir},
	})
	d.DB = db.Sock
	d.dropInDB = db
	return d, ns
}

// mustVsctl runs the real ovs-vsctl with --timeout=5 and without
// --no-wait: a daemon that never bumps cur_cfg makes it fail (exit 142).
// How quickly it returns is checked only where the issue asks for it (the
// drop-in scenario and the libvirt line, with checkPrompt): opening some
// port types (afxdp attaches an XDP program) legitimately takes longer.
func mustVsctl(t *testing.T, d *Daemon, args ...string) string {
	t.Helper()
	r := d.Vsctl(t, append([]string{"--timeout=5"}, args...)...)
	if r.Code != 0 || r.Stderr != "" {
		t.Fatalf("ovs-vsctl %v: %v\nlog:\n%s", args, r, d.Log())
	}
	return r.Stdout
}

// checkPrompt fails the test when an ovs-vsctl command took more than a
// second beyond what a read-only ovs-vsctl takes right now: on a loaded
// machine the tool itself can take that long to start, which says
// nothing about the switch.
func checkPrompt(t *testing.T, d *Daemon, args []string, took time.Duration) {
	t.Helper()
	if took <= time.Second {
		return
	}
	base := d.Vsctl(t, "--no-wait", "get", "Open_vSwitch", ".", "cur_cfg").Elapsed
	if took > time.Second+2*base {
		t.Errorf("ovs-vsctl %v took %v (a read-only ovs-vsctl takes %v now): cur_cfg not bumped promptly?", args, took, base)
	}
}

// Two hosts on access ports of VLAN 300 ping each other through gvswitchd;
// a third on VLAN 301 cannot reach them; fdb/show and dpif/show say so.
func TestAccessPortsForward(t *testing.T) {
	testenv.NeedCommand(t, "ping", "ip")
	d, sw := startSwitch(t, "fwd")
	mustVsctl(t, d, "add-br", "br0")
	hosts := []struct{ ns, ip string }{}
	for i, tag := range []string{"300", "300", "301"} {
		h := NewNetns(t, "fwdh"+string(rune('1'+i)))
		port := "p" + string(rune('1'+i))
		Veth(t, port, sw, "eth0", h)
		ip := "10.30.0." + string(rune('1'+i))
		Run(t, nil, "ip", "-n", h, "addr", "add", ip+"/24", "dev", "eth0")
		mustVsctl(t, d, "add-port", "br0", port, "tag="+tag)
		hosts = append(hosts, struct{ ns, ip string }{h, ip})
	}
	if r := Run(t, nil, "ip", "netns", "exec", hosts[0].ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", hosts[1].ip); r.Code != 0 {
		out := d.Appctl(t, "dpif/show").Stdout
		t.Fatalf("ping within VLAN 300 failed: %v\ndpif/show:\n%s\nlog:\n%s", r, out, d.Log())
	}
	if r := Run(t, nil, "ip", "netns", "exec", hosts[0].ns, "ping", "-c", "2", "-i", "0.2", "-W", "1", hosts[2].ip); r.Code == 0 {
		t.Errorf("ping across VLANs 300→301 succeeded")
	}
	fdb := d.Appctl(t, "fdb/show", "br0")
	if fdb.Code != 0 || !regexp.MustCompile(`(?m)^ +[12] +300  ([0-9a-f]{2}:){5}[0-9a-f]{2} +\d+$`).MatchString(fdb.Stdout) {
		t.Errorf("fdb/show br0: %v", fdb)
	}
	dpif := d.Appctl(t, "dpif/show").Stdout
	for _, want := range []string{"netdev@ovs-netdev: hit:", "  br0:\n", "    br0 65534/", ": (tap)\n", "    p1 1/", ": (system)\n"} {
		if !strings.Contains(dpif, want) {
			t.Errorf("dpif/show lacks %q:\n%s", want, dpif)
		}
	}
	// A packet capture of p2 (capture/start, capture/stop) while p1
	// pings it: a pcap file the standard reader takes.
	pcapFile := filepath.Join(t.TempDir(), "p2.pcap")
	if r := d.Appctl(t, "capture/start", "p2", pcapFile); r.Code != 0 || r.Stdout != "capturing on p2 to "+pcapFile+"\n" {
		t.Errorf("capture/start: %v", r)
	}
	Run(t, nil, "ip", "netns", "exec", hosts[0].ns, "ping", "-c", "2", "-i", "0.2", "-W", "2", hosts[1].ip)
	if r := d.Appctl(t, "capture/stop", "p2"); r.Code != 0 || !strings.HasPrefix(r.Stdout, "p2: ") {
		t.Errorf("capture/stop: %v", r)
	}
	if n := pcapICMP(t, pcapFile); n < 4 {
		t.Errorf("capture of p2 holds %d ICMP frames, want the 2 requests and 2 replies", n)
	}
	if r := d.Appctl(t, "capture/start", "p2", "relative.pcap"); r.Code != 2 {
		t.Errorf("capture/start with a relative path: %v", r)
	}
	// Static entries (fdb/add, fdb/del).
	if r := d.Appctl(t, "fdb/add", "br0", "p3", "301", "02:00:00:00:33:33"); r.Code != 0 {
		t.Errorf("fdb/add: %v", r)
	}
	if got := d.Appctl(t, "fdb/show", "br0").Stdout; !strings.Contains(got, "    3   301  02:00:00:00:33:33  static\n") {
		t.Errorf("fdb/show after fdb/add:\n%s", got)
	}
	// ovs-vswitchd 3.1's answers: its words for a missing port, bridge
	// then MAC then port checked, the VLAN read with atoi (never refused).
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"br0", "nosuch", "301", "02:00:00:00:33:33"}, "software error, odp port is present but no ofp port\n"},
		{[]string{"br0", "nosuch", "301", "zz:zz"}, "bad MAC address\n"},
		{[]string{"nosuch", "p3", "301", "zz"}, "no such bridge\n"},
		{[]string{"br0", "p3", "12abc", "02:00:00:00:33:44"}, ""},
	} {
		r := d.Appctl(t, append([]string{"fdb/add"}, c.args...)...)
		if c.err == "" && r.Code != 0 || c.err != "" && (r.Code != 2 || !strings.HasPrefix(r.Stderr, c.err)) {
			t.Errorf("fdb/add %v: %v, want error %q", c.args, r, c.err)
		}
	}
	if got := d.Appctl(t, "fdb/show", "br0").Stdout; !strings.Contains(got, "    3    12  02:00:00:00:33:44  static\n") {
		t.Errorf("fdb/show after fdb/add with VLAN 12abc:\n%s", got)
	}
	if r := d.Appctl(t, "fdb/del", "br0", "12", "02:00:00:00:33:44"); r.Code != 0 {
		t.Errorf("fdb/del: %v", r)
	}
	if r := d.Appctl(t, "fdb/del", "br0", "12", "02:00:00:00:33:44"); r.Code != 2 || !strings.HasPrefix(r.Stderr, "could not find static mac entry\n") {
		t.Errorf("fdb/del of a missing entry: %v", r)
	}
	if r := d.Appctl(t, "fdb/del", "br0", "301", "02:00:00:00:33:33"); r.Code != 0 {
		t.Errorf("fdb/del: %v", r)
	}
	if got := d.Appctl(t, "fdb/show", "br0").Stdout; strings.Contains(got, "02:00:00:00:33:33") {
		t.Errorf("fdb/show after fdb/del:\n%s", got)
	}
	if r := d.Appctl(t, "fdb/show", "nosuch"); r.Code != 2 || !strings.HasPrefix(r.Stderr, "no such bridge\n") {
		t.Errorf("fdb/show nosuch: %v", r)
	}
	if r := d.Appctl(t, "dpif-netdev/pmd-stats-show"); r.Code != 0 || !strings.Contains(r.Stdout, "packets received:") {
		t.Errorf("pmd-stats-show: %v", r)
	}
	// Interface status written back.
	got := mustVsctl(t, d, "get", "Interface", "p1", "ofport", "link_state", "admin_state")
	if got != "1\nup\nup\n" {
		t.Errorf("p1 status: %q", got)
	}
	// mtu_request applies in place: the internal port keeps its address.
	Run(t, nil, "ip", "-n", sw, "addr", "add", "10.30.0.9/24", "dev", "br0")
	mustVsctl(t, d, "set", "Interface", "br0", "mtu_request=1400")
	link := Run(t, nil, "ip", "-n", sw, "addr", "show", "dev", "br0").Stdout
	if !strings.Contains(link, " mtu 1400 ") || !strings.Contains(link, "10.30.0.9/24") {
		t.Errorf("br0 after mtu_request=1400:\n%s", link)
	}
	deadline := time.Now().Add(7 * time.Second)
	for mustVsctl(t, d, "get", "Interface", "br0", "mtu") != "1400\n" {
		if time.Now().After(deadline) {
			t.Fatalf("Interface br0 mtu not updated")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Changing p3's VLAN does not disturb p1–p2 traffic, and moves it.
	mustVsctl(t, d, "set", "Port", "p3", "tag=300")
	if r := Run(t, nil, "ip", "netns", "exec", hosts[0].ns, "ping", "-c", "2", "-i", "0.2", "-W", "2", hosts[2].ip); r.Code != 0 {
		t.Errorf("after moving p3 to VLAN 300: %v", r)
	}
}

// The command libvirt runs when a guest on a vlan300 portgroup starts
// (SCENARIOS.md section 4), with the real ovs-vsctl, --timeout=5 and no
// --no-wait.
func TestLibvirtAddPort(t *testing.T) {
	d, sw := startSwitch(t, "virt")
	mustVsctl(t, d, "add-br", "ovsbr0")
	libvirt := func() Result {
		return d.Vsctl(t, "--timeout=5", "--", "--if-exists", "del-port", "vnet0", "--", "add-port", "ovsbr0", "vnet0", "tag=300",
			"--", "set", "Interface", "vnet0", `external-ids:attached-mac="52:54:00:d4:25:2e"`,
			"--", "set", "Interface", "vnet0", `external-ids:iface-id="2a7d1c3e-5b9f-4e21-9c1a-7f3d2e8b6a41"`,
			"--", "set", "Interface", "vnet0", `external-ids:vm-id="8c4f2b1a-3d6e-4f7a-9b2c-1e5d8a7f3c90"`,
			"--", "set", "Interface", "vnet0", "external-ids:iface-status=active")
	}
	// No vnet0 device yet: what Open vSwitch prints (with-vswitchd/W4),
	// exit status 0.
	r := libvirt()
	want := "ovs-vsctl: Error detected while setting up 'vnet0': could not open network device vnet0 (No such device).  See ovs-vswitchd log for details.\n" +
		"ovs-vsctl: The default log directory is "
	if r.Code != 0 || !strings.HasPrefix(r.Stderr, want) {
		t.Errorf("without a vnet0 device: %v", r)
	}
	checkPrompt(t, d, []string{"libvirt add-port"}, r.Elapsed)
	// The device appearing later is picked up without another command,
	// as Open vSwitch does.
	Veth(t, "vnet0", sw, "vnet0p", sw)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got := d.Vsctl(t, "get", "Interface", "vnet0", "ofport").Stdout; got == "1\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("vnet0 not opened within 5 s of appearing\nlog:\n%s", d.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// ... and forwards: a host behind vnet0's peer reaches one on another
	// VLAN 300 port.
	h := NewNetns(t, "virth")
	Run(t, nil, "ip", "-n", sw, "link", "set", "vnet0p", "netns", h)
	Run(t, nil, "ip", "-n", h, "link", "set", "vnet0p", "up")
	Run(t, nil, "ip", "-n", h, "addr", "add", "10.32.0.1/24", "dev", "vnet0p")
	h2 := NewNetns(t, "virth2")
	Veth(t, "vnet1", sw, "eth0", h2)
	Run(t, nil, "ip", "-n", h2, "addr", "add", "10.32.0.2/24", "dev", "eth0")
	mustVsctl(t, d, "add-port", "ovsbr0", "vnet1", "tag=300")
	if r := Run(t, nil, "ip", "netns", "exec", h, "ping", "-c", "2", "-i", "0.2", "-W", "2", "10.32.0.2"); r.Code != 0 {
		t.Errorf("ping through the late vnet0: %v\nlog:\n%s", r, d.Log())
	}
	// With the tap present (libvirt creates it first): silent success.
	r = libvirt()
	if r.Code != 0 || r.Stderr != "" || r.Stdout != "" {
		t.Errorf("with vnet0: %v\nlog:\n%s", r, d.Log())
	}
	checkPrompt(t, d, []string{"libvirt add-port"}, r.Elapsed)
	got := mustVsctl(t, d, "get", "Interface", "vnet0", "ofport", "external_ids:attached-mac", "error")
	if got != "1\n\"52:54:00:d4:25:2e\"\n[]\n" {
		t.Errorf("vnet0 row: %q", got)
	}
	if got := mustVsctl(t, d, "get", "Port", "vnet0", "tag"); got != "300\n" {
		t.Errorf("vnet0 tag: %q", got)
	}
}

// pcapICMP counts the ICMP frames in a pcap file, read with gopacket.
func pcapICMP(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	n := 0
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			return n
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		if p.Layer(layers.LayerTypeICMPv4) != nil {
			n++
		}
	}
}
