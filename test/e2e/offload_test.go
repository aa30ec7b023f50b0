package e2e

// End-to-end tests of offload metadata through gvswitchd: kernel ports
// keep partial checksums and whole TCP GSO frames (userspace-tso-enable,
// on by default), and the bridge completes or segments them for an
// egress port that cannot carry them.

import (
	"encoding/json"
	"regexp"
	"strconv"
	"testing"
	"time"

	"gvswitch/internal/netns"
	"gvswitch/internal/testenv"
)

// iperf runs an iperf3 client in ns against server with extra arguments
// (e.g. -R) and returns the received bit rate, retrying while the server
// is not listening yet.
func iperf(t *testing.T, ns, server string, secs int, extra ...string) float64 {
	t.Helper()
	args := append([]string{"netns", "exec", ns, "iperf3", "-J", "-c", server, "-t", strconv.Itoa(secs)}, extra...)
	var last Result
	for range 30 {
		last = Run(t, nil, "ip", args...)
		var res struct {
			End struct {
				SumReceived struct {
					BitsPerSecond float64 `json:"bits_per_second"`
				} `json:"sum_received"`
			} `json:"end"`
		}
		if last.Code == 0 && json.Unmarshal([]byte(last.Stdout), &res) == nil && res.End.SumReceived.BitsPerSecond > 0 {
			return res.End.SumReceived.BitsPerSecond
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("iperf3 %v to %s failed: %v", extra, server, last)
	return 0
}

// ifaceStats waits until Interface name's statistics column satisfies ok
// (the column is refreshed every few seconds) and returns it; nil when it
// never does.
func ifaceStats(t *testing.T, d *Daemon, name string, ok func(map[string]int64) bool) map[string]int64 {
	t.Helper()
	re := regexp.MustCompile(`([a-z0-9_]+)=(\d+)`)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		st := map[string]int64{}
		for _, m := range re.FindAllStringSubmatch(mustVsctl(t, d, "get", "Interface", name, "statistics"), -1) {
			st[m[1]], _ = strconv.ParseInt(m[2], 10, 64)
		}
		if ok(st) {
			return st
		}
	}
	return nil
}

// TestTCPToInternalPort: TCP both ways between a namespace behind a
// system port (its veth's offloads on) and the IP of the bridge's
// internal port (a tap, whose host stack hands over 64 KiB TSO frames).
func TestTCPToInternalPort(t *testing.T) {
	testenv.NeedCommand(t, "ip", "iperf3")
	testenv.Short(t)
	d, sw := startSwitch(t, "tsotap")
	mustVsctl(t, d, "add-br", "br0")
	h1 := addHost(t, sw, "th1", "tp1", "10.36.0.1/24")
	mustVsctl(t, d, "add-port", "br0", "tp1")
	Run(t, nil, "ip", "-n", sw, "addr", "add", "10.36.0.254/24", "dev", "br0")
	Run(t, nil, "ip", "-n", sw, "link", "set", "br0", "up")
	if !pingUntil(t, h1.ns, "10.36.0.254", 10*time.Second) {
		t.Fatalf("no ping to br0's IP\nlog:\n%s", d.Log())
	}
	(&netns.NS{Name: sw}).Start(t, "iperf3", "-s", "-B", "10.36.0.254")
	up := iperf(t, h1.ns, "10.36.0.254", 2)
	down := iperf(t, h1.ns, "10.36.0.254", 2, "-R")
	t.Logf("iperf3 TCP host -> internal port %.0f Mbit/s, internal port -> host %.0f Mbit/s", up/1e6, down/1e6)
	for _, bps := range []float64{up, down} {
		if bps < 10e6 {
			t.Errorf("TCP with the internal port: %.1f Mbit/s", bps/1e6)
		}
	}
	// The host stack handed the tap whole TSO frames.
	if ifaceStats(t, d, "br0", func(s map[string]int64) bool { return s["rx_gso_frames"] > 0 }) == nil {
		t.Errorf("br0 received no GSO frame whole: %s", mustVsctl(t, d, "get", "Interface", "br0", "statistics"))
	}
}

// TestTCPMixedOffloads: TCP between a host behind a system port, whose
// veth hands over partial checksums and 64 KiB GSO frames, and a host
// behind an afxdp port, which carries no offload metadata: the bridge
// completes and segments for the afxdp port, both ways.
func TestTCPMixedOffloads(t *testing.T) {
	testenv.NeedCommand(t, "ip", "iperf3", "ethtool")
	testenv.Short(t)
	d, sw := startSwitch(t, "tsomix")
	mustVsctl(t, d, "add-br", "br0")
	h1 := addHost(t, sw, "mh1", "mp1", "10.37.0.1/24")
	h2 := afxdpHost(t, sw, "mh2", "mp2", "10.37.0.2/24")
	mustVsctl(t, d, "add-port", "br0", "mp1")
	mustVsctl(t, d, "add-port", "br0", "mp2", "--", "set", "Interface", "mp2", "type=afxdp", "options:xdp-mode=best-effort")
	if !pingUntil(t, h1.ns, h2.ip, 20*time.Second) {
		t.Fatalf("no ping between system and afxdp ports\n%s\nlog:\n%s", mustVsctl(t, d, "list", "Interface", "mp2"), d.Log())
	}
	(&netns.NS{Name: h2.ns}).Start(t, "iperf3", "-s", "-B", h2.ip)
	to := iperf(t, h1.ns, h2.ip, 2)
	from := iperf(t, h1.ns, h2.ip, 2, "-R")
	t.Logf("iperf3 TCP system -> afxdp %.0f Mbit/s, afxdp -> system %.0f Mbit/s", to/1e6, from/1e6)
	for _, bps := range []float64{to, from} {
		if bps < 10e6 {
			t.Errorf("TCP between a system and an afxdp port: %.1f Mbit/s", bps/1e6)
		}
	}
	// The system port kept GSO frames whole (the bridge cut them): once
	// the statistics show the upload's bytes, none was segmented on
	// receive.
	st := ifaceStats(t, d, "mp1", func(s map[string]int64) bool { return s["rx_bytes"] > int64(to/8) })
	if st == nil || st["rx_gso_segmented"] != 0 {
		t.Errorf("mp1 statistics after the upload (want rx_gso_segmented=0): %s", mustVsctl(t, d, "get", "Interface", "mp1", "statistics"))
	}
}

// TestUserspaceTSODisabled: other_config:userspace-tso-enable=false makes
// system ports complete and segment what they receive (Open vSwitch's
// default behaviour); TCP keeps working.
func TestUserspaceTSODisabled(t *testing.T) {
	testenv.NeedCommand(t, "ip", "iperf3")
	testenv.Short(t)
	d, sw := startSwitch(t, "tsooff")
	mustVsctl(t, d, "set", "Open_vSwitch", ".", "other_config:userspace-tso-enable=false")
	mustVsctl(t, d, "add-br", "br0")
	h1 := addHost(t, sw, "oh1", "op1", "10.38.0.1/24")
	h2 := addHost(t, sw, "oh2", "op2", "10.38.0.2/24")
	mustVsctl(t, d, "add-port", "br0", "op1")
	mustVsctl(t, d, "add-port", "br0", "op2")
	if !pingUntil(t, h1.ns, h2.ip, 10*time.Second) {
		t.Fatalf("no ping\nlog:\n%s", d.Log())
	}
	(&netns.NS{Name: h2.ns}).Start(t, "iperf3", "-s", "-B", h2.ip)
	bps := iperf(t, h1.ns, h2.ip, 2)
	t.Logf("iperf3 TCP with userspace-tso-enable=false: %.0f Mbit/s", bps/1e6)
	if bps < 10e6 {
		t.Errorf("TCP: %.1f Mbit/s", bps/1e6)
	}
	if ifaceStats(t, d, "op1", func(s map[string]int64) bool { return s["rx_gso_segmented"] > 0 }) == nil {
		t.Errorf("op1 did not segment GSO frames on receive with userspace-tso-enable=false: %s",
			mustVsctl(t, d, "get", "Interface", "op1", "statistics"))
	}
}
