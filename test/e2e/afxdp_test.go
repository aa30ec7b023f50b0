package e2e

// End-to-end tests of type=afxdp Interfaces (dataplane/afxdp) through the
// real gvswitchd and ovs-vsctl: traffic between namespaces, the XDP mode
// in the status column, no XDP program left on a veth after del-port or
// kill -9, and UDP 64-byte packet rates of afxdp against system
// (AF_PACKET) ports on the same veths.

import (
	"encoding/json"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"gvswitch/internal/netns"
	"gvswitch/internal/testenv"
)

// xdpOnLink is what `ip link show` says about XDP on dev in ns: "" when no
// program is attached, else the mode keyword (xdp, xdpgeneric, ...).
func xdpOnLink(t *testing.T, ns, dev string) string {
	t.Helper()
	out := Run(t, nil, "ip", "-n", ns, "link", "show", "dev", dev).Stdout
	if !strings.Contains(out, "prog/xdp") {
		return ""
	}
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "xdp") {
			return f
		}
	}
	return "?"
}

// waitXDP waits up to 5 s for `ip link show` to report want on dev.
func waitXDP(t *testing.T, ns, dev, want string) bool {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if xdpOnLink(t, ns, dev) == want {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// afxdpHost is addHost with the host's checksum offloads off: an XDP
// frame carries no checksum metadata, so a partial checksum would reach
// the other host unfinished (Open vSwitch's afxdp documentation asks for
// the same).
func afxdpHost(t *testing.T, sw, name, port, cidr string) host {
	h := addHost(t, sw, name, port, cidr)
	Run(t, nil, "ip", "netns", "exec", h.ns, "ethtool", "-K", "eth0", "tx", "off", "tso", "off", "gso", "off")
	return h
}

func pingUntil(t *testing.T, ns, ip string, d time.Duration) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		if Run(t, nil, "ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", ip).Code == 0 {
			return true
		}
	}
	return false
}

var xdpModeRE = regexp.MustCompile(`xdp-mode="?([a-z-]+)"?`)

func TestAFXDPPorts(t *testing.T) {
	testenv.NeedCommand(t, "ip", "ping", "iperf3", "ethtool")
	sw := NewNetns(t, "xdpsw")
	dir := t.TempDir()
	d := StartDaemon(t, DaemonOptions{Dir: dir, Netns: sw})
	mustVsctl(t, d, "add-br", "br0")
	h1 := afxdpHost(t, sw, "xh1", "xp1", "10.33.0.1/24")
	h2 := afxdpHost(t, sw, "xh2", "xp2", "10.33.0.2/24")
	mustVsctl(t, d, "add-port", "br0", "xp1", "--", "set", "Interface", "xp1", "type=afxdp")
	mustVsctl(t, d, "add-port", "br0", "xp2", "--", "set", "Interface", "xp2", "type=afxdp", "options:xdp-mode=best-effort")

	if !pingUntil(t, h1.ns, h2.ip, 10*time.Second) {
		t.Fatalf("no ping over afxdp ports\n%s\nlog:\n%s", mustVsctl(t, d, "list", "Interface", "xp1"), d.Log())
	}
	if r := ping(t, h1.ns, h2.ip, 5); r.Code != 0 {
		t.Errorf("ping: %v", r)
	}
	// veths have native XDP and no zero-copy: best-effort lands on native.
	list := mustVsctl(t, d, "list", "Interface", "xp1")
	if m := xdpModeRE.FindStringSubmatch(list); m == nil || m[1] != "native" {
		t.Errorf("ovs-vsctl list interface xp1 shows no xdp-mode=native:\n%s", list)
	}
	if !strings.Contains(list, "driver_name=veth") {
		t.Errorf("status lacks driver_name=veth:\n%s", list)
	}
	if dpif := d.Appctl(t, "dpif/show").Stdout; !regexp.MustCompile(`\n +xp1 \d+/\d+: \(afxdp\)`).MatchString(dpif) {
		t.Errorf("dpif/show lacks xp1 as afxdp:\n%s", dpif)
	}
	if !strings.Contains(list, "xsk_queue_0_rx_dropped") {
		t.Errorf("statistics lack the XSK counters:\n%s", list)
	}
	for _, p := range []string{"xp1", "xp2"} {
		if m := xdpOnLink(t, sw, p); m != "xdp" {
			t.Errorf("%s: ip link shows %q, want a native XDP program", p, m)
		}
	}

	(&netns.NS{Name: h2.ns}).Start(t, "iperf3", "-s", "-B", h2.ip)
	bps := iperfBps(t, h1.ns, h2.ip, 3)
	t.Logf("iperf3 TCP over afxdp ports: %.0f Mbit/s", bps/1e6)
	if bps < 10e6 {
		t.Errorf("TCP over afxdp ports: %.1f Mbit/s", bps/1e6)
	}

	// Generic mode on request.
	mustVsctl(t, d, "set", "Interface", "xp1", "options:xdp-mode=generic")
	if !waitXDP(t, sw, "xp1", "xdpgeneric") {
		t.Errorf("xp1 after xdp-mode=generic: ip link shows %q", xdpOnLink(t, sw, "xp1"))
	}
	if !pingUntil(t, h1.ns, h2.ip, 5*time.Second) {
		t.Errorf("no ping in generic mode")
	}
	if st := mustVsctl(t, d, "get", "Interface", "xp1", "status"); !strings.Contains(st, "generic") {
		t.Errorf("xp1 status in generic mode: %s", st)
	}
	// Zero-copy on a veth: a clear error in the Interface row.
	mustVsctl(t, d, "set", "Interface", "xp1", "options:xdp-mode=native-with-zerocopy")
	var errCol string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if errCol = mustVsctl(t, d, "get", "Interface", "xp1", "error"); strings.Contains(errCol, "zerocopy") {
			break
		}
	}
	if !strings.Contains(errCol, "native-with-zerocopy") || !strings.Contains(errCol, "not supported") {
		t.Errorf("xp1 error with zero-copy on a veth: %s", errCol)
	}
	// (The daemon retries a failed interface every second; each try
	// attaches for a moment.)
	if !waitXDP(t, sw, "xp1", "") {
		t.Errorf("failed zero-copy port left %q on xp1", xdpOnLink(t, sw, "xp1"))
	}
	mustVsctl(t, d, "remove", "Interface", "xp1", "options", "xdp-mode")
	if !pingUntil(t, h1.ns, h2.ip, 5*time.Second) {
		t.Fatalf("no ping back in best-effort mode\nlog:\n%s", d.Log())
	}

	// del-port detaches the program.
	mustVsctl(t, d, "del-port", "br0", "xp2")
	if !waitXDP(t, sw, "xp2", "") {
		t.Errorf("xp2 after del-port: ip link shows %q", xdpOnLink(t, sw, "xp2"))
	}
	mustVsctl(t, d, "add-port", "br0", "xp2", "--", "set", "Interface", "xp2", "type=afxdp")

	// kill -9 leaves nothing behind; a restart on the same database
	// attaches again and traffic resumes.
	d.Kill()
	for _, p := range []string{"xp1", "xp2"} {
		if !waitXDP(t, sw, p, "") {
			t.Errorf("%s after kill -9: ip link shows %q", p, xdpOnLink(t, sw, p))
		}
	}
	d = StartDaemon(t, DaemonOptions{Dir: dir, Netns: sw})
	start := time.Now()
	if !pingUntil(t, h1.ns, h2.ip, 15*time.Second) {
		t.Fatalf("no ping after restart\nlog:\n%s", d.Log())
	}
	t.Logf("pings back %v after the restart", time.Since(start).Round(time.Millisecond))
	for _, p := range []string{"xp1", "xp2"} {
		if m := xdpOnLink(t, sw, p); m != "xdp" {
			t.Errorf("%s after restart: ip link shows %q", p, m)
		}
	}
	d.Stop(t)
	for _, p := range []string{"xp1", "xp2"} {
		if !waitXDP(t, sw, p, "") {
			t.Errorf("%s after SIGTERM: ip link shows %q", p, xdpOnLink(t, sw, p))
		}
	}
}

// udpFrame is a 64-byte Ethernet frame (60 without the FCS) carrying an
// IPv4/UDP datagram from src to dst (port 9, discard) with 18 bytes of
// payload.
func udpFrame(dstMAC, srcMAC net.HardwareAddr, src, dst string) []byte {
	f := make([]byte, 60)
	copy(f[0:], dstMAC)
	copy(f[6:], srcMAC)
	put16(f[12:], 0x0800)
	ip := f[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 17 // version/IHL, TTL, UDP
	put16(ip[2:], 46)
	copy(ip[12:], net.ParseIP(src).To4())
	copy(ip[16:], net.ParseIP(dst).To4())
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(ip[i])<<8 | uint32(ip[i+1])
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	put16(ip[10:], ^uint16(sum)) // RFC 791 header checksum
	udp := f[34:]
	put16(udp[0:], 40000)
	put16(udp[2:], 9)
	put16(udp[4:], 26) // checksum 0: none (RFC 768)
	return f
}

func put16(b []byte, v uint16) { b[0], b[1] = byte(v>>8), byte(v) }

// blast sends frame out of dev in namespace ns as fast as one thread can
// (AF_PACKET, sendmmsg of 64 frames) for d, and returns how many it sent.
func blast(t *testing.T, ns, dev string, frame []byte, d time.Duration) uint64 {
	t.Helper()
	var sent uint64
	err := (&netns.NS{Name: ns}).Do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifi.Index}); err != nil {
			return err
		}
		// The frames do not need the qdisc: straight to the driver.
		unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1)
		const batch = 64
		iov := unix.Iovec{Base: &frame[0]}
		iov.SetLen(len(frame))
		msgs := make([]unix.Mmsghdr, batch)
		for i := range msgs {
			msgs[i].Hdr.Iov = &iov
			msgs[i].Hdr.SetIovlen(1)
		}
		for end := time.Now().Add(d); time.Now().Before(end); {
			n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), batch, 0, 0, 0)
			if e == 0 {
				sent += uint64(n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("blast from %s/%s: %v", ns, dev, err)
	}
	return sent
}

// rxPackets is dev's received packet counter in namespace ns.
func rxPackets(t *testing.T, ns, dev string) uint64 {
	t.Helper()
	var links []struct {
		Stats64 struct {
			Rx struct {
				Packets uint64 `json:"packets"`
			} `json:"rx"`
		} `json:"stats64"`
	}
	out := Run(t, nil, "ip", "-n", ns, "-s", "-j", "link", "show", "dev", dev).Stdout
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		t.Fatalf("ip -s -j link show %s: %v\n%s", dev, err, out)
	}
	return links[0].Stats64.Rx.Packets
}

// TestAFXDPvsAFPacketUDP measures UDP 64-byte packet rates across the
// switch with the same two veths as system (AF_PACKET) ports and as afxdp
// ports, interleaved (TESTING.md: vCPU speed drifts): one host blasts
// frames to the other from a raw socket, the other's interface counts what
// the switch delivered. It logs the ratio of medians.
func TestAFXDPvsAFPacketUDP(t *testing.T) {
	testenv.NeedCommand(t, "ip", "ping", "ethtool")
	testenv.Short(t)
	d, sw := startSwitch(t, "xdpbench")
	mustVsctl(t, d, "add-br", "br0")
	h1 := afxdpHost(t, sw, "xb1", "xq1", "10.34.0.1/24")
	h2 := afxdpHost(t, sw, "xb2", "xq2", "10.34.0.2/24")
	mustVsctl(t, d, "add-port", "br0", "xq1")
	mustVsctl(t, d, "add-port", "br0", "xq2")
	frame := udpFrame(h2.mac, h1.mac, h1.ip, h2.ip)

	setType := func(typ string) {
		for _, p := range []string{"xq1", "xq2"} {
			// Not mustVsctl: how fast the reply comes is not what this
			// test measures, and the machine is shared.
			if r := d.Vsctl(t, "--timeout=10", "set", "Interface", p, "type="+typ); r.Code != 0 {
				t.Fatalf("set %s type=%s: %v", p, typ, r)
			}
		}
		// Both hosts' MACs learned: the blast is unicast.
		if !pingUntil(t, h1.ns, h2.ip, 10*time.Second) || !pingUntil(t, h2.ns, h1.ip, 10*time.Second) {
			t.Fatalf("no ping with %s ports\nlog:\n%s", typ, d.Log())
		}
		want := map[string]string{"afxdp": "xdp", "system": ""}[typ]
		if m := xdpOnLink(t, sw, "xq1"); m != want {
			t.Fatalf("%s ports: ip link shows %q on xq1", typ, m)
		}
	}
	const secs = 1
	measure := func() (pps, sentPPS float64) {
		before := rxPackets(t, h2.ns, "eth0")
		sent := blast(t, h1.ns, "eth0", frame, secs*time.Second)
		time.Sleep(200 * time.Millisecond) // what is in flight lands
		return float64(rxPackets(t, h2.ns, "eth0")-before) / secs, float64(sent) / secs
	}
	var xdp, afp, offered []float64
	for range 5 {
		setType("system")
		r, s := measure()
		afp, offered = append(afp, r), append(offered, s)
		setType("afxdp")
		r, s = measure()
		xdp, offered = append(xdp, r), append(offered, s)
	}
	median := func(v []float64) float64 { s := slices.Clone(v); slices.Sort(s); return s[len(s)/2] }
	round := func(v []float64) []int {
		r := make([]int, len(v))
		for i, x := range v {
			r[i] = int(x)
		}
		return r
	}
	t.Logf("UDP 64-byte frames delivered/s across gvswitchd (offered %.0f/s median): afxdp %v, "+
		"system (AF_PACKET) %v; ratio of medians afxdp/system %.2f",
		median(offered), round(xdp), round(afp), median(xdp)/median(afp))
	if median(xdp) < 1000 {
		t.Errorf("afxdp ports carried %.0f pps", median(xdp))
	}
}

// TestAFXDPQueues: options:n_rxq=2 on a two-queue veth gives the port two
// XSKs, both polled (pmd-rxq-show), and traffic flows; n_rxq beyond the
// interface's queues is an Interface error.
func TestAFXDPQueues(t *testing.T) {
	testenv.NeedCommand(t, "ip", "ping", "ethtool")
	sw := NewNetns(t, "xdpq")
	d := StartDaemon(t, DaemonOptions{Netns: sw})
	mustVsctl(t, d, "add-br", "br0")
	h1 := afxdpHost(t, sw, "xqh1", "xm1", "10.35.0.1/24")
	h2 := NewNetns(t, "xqh2")
	Run(t, nil, "ip", "-n", sw, "link", "add", "xm2", "numrxqueues", "2", "numtxqueues", "2",
		"type", "veth", "peer", "name", "eth0", "numrxqueues", "2", "numtxqueues", "2", "netns", h2)
	Run(t, nil, "ip", "-n", sw, "link", "set", "xm2", "up")
	Run(t, nil, "ip", "-n", h2, "link", "set", "eth0", "up")
	Run(t, nil, "ip", "-n", h2, "addr", "add", "10.35.0.2/24", "dev", "eth0")
	Run(t, nil, "ip", "netns", "exec", h2, "ethtool", "-K", "eth0", "tx", "off", "tso", "off", "gso", "off")
	mustVsctl(t, d, "add-port", "br0", "xm1", "--", "set", "Interface", "xm1", "type=afxdp")
	mustVsctl(t, d, "add-port", "br0", "xm2", "--", "set", "Interface", "xm2", "type=afxdp", "options:n_rxq=2")
	if !pingUntil(t, h1.ns, "10.35.0.2", 10*time.Second) {
		t.Fatalf("no ping over a two-queue afxdp port\nlog:\n%s", d.Log())
	}
	rxq := d.Appctl(t, "dpif-netdev/pmd-rxq-show").Stdout
	for _, q := range []string{"0", "1"} {
		if !regexp.MustCompile(`port: xm2 +queue-id: +` + q + ` \(enabled\)`).MatchString(rxq) {
			t.Errorf("pmd-rxq-show lacks xm2 queue %s:\n%s", q, rxq)
		}
	}
	mustVsctl(t, d, "set", "Interface", "xm1", "options:n_rxq=2")
	var errCol string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if errCol = mustVsctl(t, d, "get", "Interface", "xm1", "error"); strings.Contains(errCol, "rx queues") {
			break
		}
	}
	if !strings.Contains(errCol, "n_rxq 2: the interface has 1 rx queues") {
		t.Errorf("xm1 error with n_rxq=2 on a one-queue veth: %s", errCol)
	}
}
