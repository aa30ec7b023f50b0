package reconcile

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gvswitch/control/unixctl"
	"gvswitch/dataplane"
	"gvswitch/test/e2e"
)

// fakePort is a port that carries nothing; it records being closed.
type fakePort struct {
	name   string
	mac    [6]byte
	closed bool
	mu     *sync.Mutex
}

func (p *fakePort) Name() string                             { return p.name }
func (p *fakePort) RxBurst(int, []*dataplane.Packet) int     { return 0 }
func (p *fakePort) TxBurst(_ int, b []*dataplane.Packet) int { return 0 }
func (p *fakePort) NumRxQueues() int                         { return 1 }
func (p *fakePort) NumTxQueues() int                         { return 1 }
func (p *fakePort) Link() bool                               { return true }
func (p *fakePort) MTU() int                                 { return 1500 }
func (p *fakePort) MAC() [6]byte                             { return p.mac }
func (p *fakePort) Stats() dataplane.PortStats               { return dataplane.PortStats{RxPackets: 7} }
func (p *fakePort) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	return nil
}

type fakeTypes struct {
	mu    sync.Mutex
	opens map[string]int
	ports map[string]*fakePort
}

func registerFakes(t *testing.T) *fakeTypes {
	ft := &fakeTypes{opens: map[string]int{}, ports: map[string]*fakePort{}}
	open := func(c IfaceConfig) (dataplane.Port, error) {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		ft.opens[c.Name]++
		p := &fakePort{name: c.Name, mac: [6]byte{2, 0, 0, 0, 0, byte(len(ft.opens))}, mu: &ft.mu}
		ft.ports[c.Name] = p
		return p, nil
	}
	RegisterType("internal", open)
	RegisterType("system", func(c IfaceConfig) (dataplane.Port, error) {
		if err := CheckNetDevice(c.Name); err != nil {
			return nil, err
		}
		return open(c)
	})
	t.Cleanup(func() {
		RegisterType("internal", nil)
		RegisterType("system", nil)
	})
	return ft
}

func startDaemon(t *testing.T, sock string) (*Daemon, *unixctl.Server, func()) {
	uc := unixctl.NewServer("test\n")
	d := New(Options{
		Dial:          func() (net.Conn, error) { return net.Dial("unix", sock) },
		Unixctl:       uc,
		SystemID:      "random",
		OVSVersion:    "3.1.0",
		StatsInterval: 200 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	return d, uc, func() { cancel(); <-done }
}

func vsctlOK(t *testing.T, sock string, args ...string) string {
	t.Helper()
	r := e2e.Vsctl(t, sock, append([]string{"--timeout=5"}, args...)...)
	if r.Code != 0 || r.Stderr != "" {
		t.Fatalf("ovs-vsctl %v: %v", args, r)
	}
	if r.Elapsed > time.Second {
		// Compare with a read-only command: on a loaded machine the
		// tool alone can take that long.
		base := e2e.Vsctl(t, sock, "--no-wait", "get", "Open_vSwitch", ".", "cur_cfg").Elapsed
		if r.Elapsed > time.Second+2*base {
			t.Errorf("ovs-vsctl %v took %v (a read-only one %v)", args, r.Elapsed, base)
		}
	}
	return strings.TrimSpace(r.Stdout)
}

func TestDropInWithRealOVSDBServer(t *testing.T) {
	db := e2e.StartOVSDBServer(t)
	ft := registerFakes(t)
	_, uc, stop := startDaemon(t, db.Sock)
	defer func() { stop() }()

	// Without --no-wait: returns only once cur_cfg caught up.
	vsctlOK(t, db.Sock, "add-br", "br0")
	if got := vsctlOK(t, db.Sock, "get", "Interface", "br0", "ofport"); got != "65534" {
		t.Errorf("br0 ofport %s, want 65534", got)
	}
	vsctlOK(t, db.Sock, "add-port", "br0", "p1", "--", "set", "Interface", "p1", "type=internal")
	vsctlOK(t, db.Sock, "add-port", "br0", "p2", "--", "set", "Interface", "p2", "type=internal", "ofport_request=10")
	if got := vsctlOK(t, db.Sock, "get", "Interface", "p1", "ofport"); got != "1" {
		t.Errorf("p1 ofport %s, want 1", got)
	}
	if got := vsctlOK(t, db.Sock, "get", "Interface", "p2", "ofport"); got != "10" {
		t.Errorf("p2 ofport %s, want 10 (ofport_request)", got)
	}
	if got := vsctlOK(t, db.Sock, "get", "Interface", "p1", "mac_in_use", "link_state", "mtu"); got != "\"02:00:00:00:00:02\"\nup\n1500" {
		t.Errorf("p1 status columns %q", got)
	}

	if got := vsctlOK(t, db.Sock, "get", "Bridge", "br0", "datapath_id", "datapath_version"); got != "\"0000020000000001\"\n\"<built-in>\"" {
		t.Errorf("br0 datapath_id/version: %q", got)
	}

	// Unsupported type: ofport -1, error, ovs-vsctl reports it.
	r := e2e.Vsctl(t, db.Sock, "--timeout=5", "add-port", "br0", "vx0", "--", "set", "Interface", "vx0", "type=vxlan")
	if r.Code != 0 || !strings.Contains(r.Stderr, `ovs-vsctl: Error detected while setting up 'vx0': gvswitch does not support Interface type "vxlan".`) {
		t.Errorf("vxlan port: %v", r)
	}
	if got := vsctlOK(t, db.Sock, "get", "Interface", "vx0", "ofport"); got != "-1" {
		t.Errorf("vx0 ofport %s", got)
	}
	// A system port whose device does not exist, like libvirt's vnet0
	// before the tap exists: Open vSwitch's text.
	r = e2e.Vsctl(t, db.Sock, "--timeout=5", "add-port", "br0", "gvsnodev0")
	if r.Code != 0 || !strings.Contains(r.Stderr, "Error detected while setting up 'gvsnodev0': could not open network device gvsnodev0 (No such device).") {
		t.Errorf("missing device: %v", r)
	}

	// Features we do not have are refused in Bridge status.
	vsctlOK(t, db.Sock, "set", "Bridge", "br0", "stp_enable=true")
	deadline := time.Now().Add(3 * time.Second)
	for vsctlOK(t, db.Sock, "get", "Bridge", "br0", "status") != `{gvswitch-unsupported=stp_enable}` {
		if time.Now().After(deadline) {
			t.Fatalf("stp_enable not refused: %s", vsctlOK(t, db.Sock, "get", "Bridge", "br0", "status"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	vsctlOK(t, db.Sock, "set", "Bridge", "br0", "stp_enable=false")

	// A datapath type we do not have: the bridge's interfaces say so;
	// switching to netdev recreates the bridge.
	r = e2e.Vsctl(t, db.Sock, "--timeout=5", "add-br", "br9", "--", "set", "Bridge", "br9", "datapath_type=dummy")
	if r.Code != 0 || !strings.Contains(r.Stderr, `Error detected while setting up 'br9': bridge br9: datapath_type "dummy": not supported by gvswitch.`) {
		t.Errorf("datapath_type=dummy: %v", r)
	}
	vsctlOK(t, db.Sock, "set", "Bridge", "br9", "datapath_type=netdev")
	if got := vsctlOK(t, db.Sock, "get", "Interface", "br9", "ofport", "error"); got != "65534\n[]" {
		t.Errorf("br9 after datapath_type=netdev: %q", got)
	}
	vsctlOK(t, db.Sock, "del-br", "br9")

	// Changing p1 reopens p1 only.
	vsctlOK(t, db.Sock, "set", "Interface", "p1", "options:foo=bar")
	ft.mu.Lock()
	if ft.opens["p1"] != 2 || ft.opens["p2"] != 1 || ft.ports["p2"].closed {
		t.Errorf("opens after changing p1: %v, p2 closed %v", ft.opens, ft.ports["p2"].closed)
	}
	ft.mu.Unlock()

	// Open_vSwitch columns the daemon owns.
	if got := vsctlOK(t, db.Sock, "get", "Open_vSwitch", ".", "datapath_types", "ovs_version"); got != "[netdev, system]\n\"3.1.0\"" {
		t.Errorf("Open_vSwitch: %q", got)
	}
	if got := vsctlOK(t, db.Sock, "get", "Open_vSwitch", ".", "iface_types"); got != "[internal, system]" {
		t.Errorf("iface_types: %q", got)
	}
	sysid := vsctlOK(t, db.Sock, "get", "Open_vSwitch", ".", "external_ids:system-id")
	if len(sysid) != 38 {
		t.Errorf("system-id %q", sysid)
	}

	// Statistics appear within a few intervals.
	deadline = time.Now().Add(3 * time.Second)
	for {
		s := vsctlOK(t, db.Sock, "get", "Interface", "p2", "statistics")
		if strings.Contains(s, "rx_packets=7,") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("statistics not written: %q", s)
		}
		time.Sleep(100 * time.Millisecond)
	}

	out, err := uc.Run("ofproto/list", nil)
	if err != nil || out != "br0\n" {
		t.Errorf("ofproto/list: %q %v", out, err)
	}
	out, _ = uc.Run("dpif/show", nil)
	if !strings.Contains(out, "  br0:\n    br0 65534/") || !strings.Contains(out, "    p2 10/") || !strings.Contains(out, "(tap)") {
		t.Errorf("dpif/show:\n%s", out)
	}

	// Restart: ofports are stable, the system-id is kept.
	stop()
	vsctlOK(t, db.Sock, "--no-wait", "del-port", "p1")
	_, _, stop = startDaemon(t, db.Sock)
	vsctlOK(t, db.Sock, "add-port", "br0", "p3", "--", "set", "Interface", "p3", "type=internal")
	if got := vsctlOK(t, db.Sock, "get", "Interface", "p3", "ofport"); got != "1" {
		t.Errorf("p3 ofport %s, want the freed 1", got)
	}
	if got := vsctlOK(t, db.Sock, "get", "Interface", "p2", "ofport"); got != "10" {
		t.Errorf("p2 ofport after restart %s", got)
	}
	if got := vsctlOK(t, db.Sock, "get", "Open_vSwitch", ".", "external_ids:system-id"); got != sysid {
		t.Errorf("system-id changed: %s -> %s", sysid, got)
	}
	vsctlOK(t, db.Sock, "del-br", "br0")
}

func TestControllerRefused(t *testing.T) {
	db := e2e.StartOVSDBServer(t)
	registerFakes(t)
	_, _, stop := startDaemon(t, db.Sock)
	defer stop()
	vsctlOK(t, db.Sock, "add-br", "br0")
	vsctlOK(t, db.Sock, "set-controller", "br0", "tcp:127.0.0.1:6653")
	deadline := time.Now().Add(3 * time.Second)
	for {
		got := vsctlOK(t, db.Sock, "get", "Controller", "br0", "status:last_error")
		if strings.Contains(got, "does not support OpenFlow controllers") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("controller status %q", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A member that fails to open is retried; when it opens it joins its bond
// without the other member being reopened, and while it fails the bond
// runs on the member it has.
func TestRetryFailedBondMember(t *testing.T) {
	db := e2e.StartOVSDBServer(t)
	ft := registerFakes(t)
	var mu sync.Mutex
	failing := map[string]bool{"m2": true}
	RegisterType("flaky", func(c IfaceConfig) (dataplane.Port, error) {
		mu.Lock()
		bad := failing[c.Name]
		mu.Unlock()
		if bad {
			return nil, fmt.Errorf("could not open network device %s (No such device)", c.Name)
		}
		ft.mu.Lock()
		defer ft.mu.Unlock()
		ft.opens[c.Name]++
		p := &fakePort{name: c.Name, mac: [6]byte{2, 0, 0, 0, 1, byte(len(ft.opens))}, mu: &ft.mu}
		ft.ports[c.Name] = p
		return p, nil
	})
	t.Cleanup(func() { RegisterType("flaky", nil) })
	_, uc, stop := startDaemon(t, db.Sock)
	defer stop()
	vsctlOK(t, db.Sock, "add-br", "br0")
	r := e2e.Vsctl(t, db.Sock, "--timeout=5", "add-bond", "br0", "bond0", "m1", "m2", "bond_mode=active-backup",
		"--", "set", "Interface", "m1", "type=flaky", "--", "set", "Interface", "m2", "type=flaky")
	if r.Code != 0 || !strings.Contains(r.Stderr, "Error detected while setting up 'm2'") {
		t.Fatalf("add-bond with a failing member: %v", r)
	}
	out, err := uc.Run("bond/show", []string{"bond0"})
	if err != nil || !strings.Contains(out, "member m1:") || strings.Contains(out, "member m2:") {
		t.Errorf("bond/show with m2 failing: %q %v", out, err)
	}
	mu.Lock()
	failing["m2"] = false
	mu.Unlock()
	deadline := time.Now().Add(3 * time.Second)
	for vsctlOK(t, db.Sock, "get", "Interface", "m2", "ofport") == "-1" {
		if time.Now().After(deadline) {
			t.Fatal("m2 not retried within 3 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := vsctlOK(t, db.Sock, "get", "Interface", "m2", "error"); got != "[]" {
		t.Errorf("m2 error after it opened: %s", got)
	}
	out, _ = uc.Run("bond/show", []string{"bond0"})
	if !strings.Contains(out, "member m1:") || !strings.Contains(out, "member m2:") {
		t.Errorf("bond/show after m2 opened:\n%s", out)
	}
	ft.mu.Lock()
	if ft.opens["m1"] != 1 || ft.ports["m1"].closed {
		t.Errorf("m1 reopened (%d opens, closed %v) when m2 joined", ft.opens["m1"], ft.ports["m1"].closed)
	}
	ft.mu.Unlock()
}

// busyPort's counters move at every read, like a port carrying traffic.
type busyPort struct {
	fakePort
	n atomic.Uint64
}

func (p *busyPort) Stats() dataplane.PortStats {
	return dataplane.PortStats{RxPackets: p.n.Add(1)}
}

// Statistics that move with traffic are written periodically, never in a
// loop of reconfigurations (each write comes back as a monitor update).
func TestMovingStatisticsDoNotLoop(t *testing.T) {
	db := e2e.StartOVSDBServer(t)
	ft := registerFakes(t)
	RegisterType("busy", func(c IfaceConfig) (dataplane.Port, error) {
		return &busyPort{fakePort: fakePort{name: c.Name, mac: [6]byte{2, 0, 0, 0, 2, 1}, mu: &ft.mu}}, nil
	})
	t.Cleanup(func() { RegisterType("busy", nil) })
	_, _, stop := startDaemon(t, db.Sock)
	defer stop()
	vsctlOK(t, db.Sock, "add-br", "br0", "--", "add-port", "br0", "b0", "--", "set", "Interface", "b0", "type=busy")
	time.Sleep(300 * time.Millisecond)
	before := covTxnSuccess.Total()
	time.Sleep(time.Second)
	if n := covTxnSuccess.Total() - before; n > 3 {
		t.Errorf("%d reconfiguration transactions in 1 s with nothing configured", n)
	}
	// The periodic writer (every 200 ms here) still updates them; the
	// bound is generous because a loaded machine delays ticks.
	first := vsctlOK(t, db.Sock, "get", "Interface", "b0", "statistics:rx_packets")
	deadline := time.Now().Add(10 * time.Second)
	for again := first; again == first; again = vsctlOK(t, db.Sock, "get", "Interface", "b0", "statistics:rx_packets") {
		if time.Now().After(deadline) {
			t.Fatalf("statistics not refreshed in 10 s: still %s", first)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// panickyPort's RxBurst panics while *crashes > 0, like a device whose
// memory vanished under the PMD.
type panickyPort struct {
	fakePort
	crashes *atomic.Int64
	polled  atomic.Int64
}

func (p *panickyPort) RxBurst(int, []*dataplane.Packet) int {
	p.polled.Add(1)
	if p.crashes.Add(-1) >= 0 {
		panic("device memory gone")
	}
	return 0
}

// A PMD that panics polling a port survives it, and the port is reopened
// and polled again; the other ports are not touched.
func TestPanickingPortIsReopened(t *testing.T) {
	db := e2e.StartOVSDBServer(t)
	ft := registerFakes(t)
	var mu sync.Mutex
	var opened []*panickyPort
	var crashes atomic.Int64
	crashes.Store(1)
	RegisterType("panicky", func(c IfaceConfig) (dataplane.Port, error) {
		p := &panickyPort{fakePort: fakePort{name: c.Name, mac: [6]byte{2, 0, 0, 0, 3, 1}, mu: &ft.mu}, crashes: &crashes}
		mu.Lock()
		opened = append(opened, p)
		mu.Unlock()
		return p, nil
	})
	t.Cleanup(func() { RegisterType("panicky", nil) })
	_, _, stop := startDaemon(t, db.Sock)
	defer stop()
	vsctlOK(t, db.Sock, "add-br", "br0", "--", "add-port", "br0", "x0", "--", "set", "Interface", "x0", "type=panicky")
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(opened)
		var polledAgain bool
		if n >= 2 {
			polledAgain = opened[n-1].polled.Load() > 1
		}
		mu.Unlock()
		if polledAgain {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("x0 opened %d times; not reopened and polled after the panic", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ft.mu.Lock()
	if ft.opens["br0"] != 1 || ft.ports["br0"].closed {
		t.Errorf("br0 reopened (%d) or closed (%v) because x0 panicked", ft.opens["br0"], ft.ports["br0"].closed)
	}
	ft.mu.Unlock()

	// A device that keeps crashing is given up on, with an error, until
	// its configuration changes.
	crashes.Store(1 << 30)
	vsctlOK(t, db.Sock, "add-port", "br0", "x1", "--", "set", "Interface", "x1", "type=panicky")
	deadline = time.Now().Add(5 * time.Second)
	for !strings.Contains(vsctlOK(t, db.Sock, "get", "Interface", "x1", "error"), "device disabled: polling it crashed 3 times") {
		if time.Now().After(deadline) {
			t.Fatalf("x1 not disabled: error %s", vsctlOK(t, db.Sock, "get", "Interface", "x1", "error"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	n := len(opened)
	mu.Unlock()
	time.Sleep(1500 * time.Millisecond)
	mu.Lock()
	if len(opened) != n {
		t.Errorf("disabled x1 reopened (%d -> %d opens)", n, len(opened))
	}
	mu.Unlock()
	crashes.Store(0)
	vsctlOK(t, db.Sock, "set", "Interface", "x1", "options:fixed=yes")
	if got := vsctlOK(t, db.Sock, "get", "Interface", "x1", "error"); got != "[]" {
		t.Errorf("x1 after a configuration change: error %s", got)
	}
}
