package bondtest

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"gvswitch/bond"
	"gvswitch/internal/testenv"
	"gvswitch/lacp"
)

// driver runs a bond over AF_PACKET sockets: the control loop the daemon
// will have, reduced to LACP frames and carrier polling.
type driver struct {
	b      *bond.Bond
	fds    []int
	names  []string
	rx     chan rxFrame
	stop   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
	txPDUs int
}

type rxFrame struct {
	member int
	data   []byte
}

func startDriver(t *testing.T, ns string, ifnames []string, cfg bond.Config) *driver {
	now := time.Now()
	b, err := bond.New(cfg, now)
	if err != nil {
		t.Fatal(err)
	}
	d := &driver{b: b, names: ifnames, rx: make(chan rxFrame, 64), stop: make(chan struct{})}
	for i, n := range ifnames {
		fd, mac, err := packetSocket(ns, n, lacp.EtherType)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		d.fds = append(d.fds, fd)
		fl, err := ifFlags(fd, n)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := b.SetMember(bond.MemberConfig{Name: n, MAC: mac, LACP: lacp.MemberConfig{PortID: uint16(i + 1)}},
			fl&unix.IFF_RUNNING != 0, now)
		if err != nil || idx != i {
			t.Fatalf("SetMember %s: %d %v", n, idx, err)
		}
	}
	for i, fd := range d.fds {
		d.wg.Add(1)
		go d.reader(i, fd)
	}
	d.wg.Add(1)
	go d.loop()
	t.Cleanup(func() {
		close(d.stop)
		d.wg.Wait()
		for _, fd := range d.fds {
			unix.Close(fd)
		}
	})
	return d
}

func (d *driver) reader(member, fd int) {
	defer d.wg.Done()
	buf := make([]byte, 2048)
	for {
		select {
		case <-d.stop:
			return
		default:
		}
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			continue // timeout (EAGAIN) or EINTR: check stop
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		select {
		case d.rx <- rxFrame{member, append([]byte(nil), buf[:n]...)}:
		case <-d.stop:
			return
		}
	}
}

func (d *driver) send(frames []bond.Frame) {
	for _, f := range frames {
		if _, err := unix.Write(d.fds[f.Member], f.Frame); err != nil {
			d.fail(fmt.Errorf("send on %s: %w", d.names[f.Member], err))
		}
		d.mu.Lock()
		d.txPDUs++
		d.mu.Unlock()
	}
}

func (d *driver) fail(err error) {
	d.mu.Lock()
	d.errs = append(d.errs, err)
	d.mu.Unlock()
}

func (d *driver) loop() {
	defer d.wg.Done()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	carrier := make([]bool, len(d.fds))
	for i := range carrier {
		carrier[i] = true
	}
	for {
		select {
		case <-d.stop:
			return
		case f := <-d.rx:
			out, err := d.b.HandleLACP(f.member, f.data, time.Now())
			if err != nil {
				d.fail(err)
			}
			d.send(out)
		case <-tick.C:
			now := time.Now()
			for i, fd := range d.fds {
				fl, err := ifFlags(fd, d.names[i])
				if err != nil {
					d.fail(err)
					continue
				}
				if up := fl&unix.IFF_RUNNING != 0; up != carrier[i] {
					carrier[i] = up
					d.b.SetCarrier(i, up, now)
				}
			}
			d.send(d.b.Run(now))
		}
	}
}

func (d *driver) errors() []error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]error(nil), d.errs...)
}

// ourState reports whether our bond is negotiated with every member in
// `want` current, attached and enabled.
func (d *driver) ourOK(want ...int) bool {
	if d.b.LACPStatus() != lacp.StatusNegotiated {
		return false
	}
	a := d.b.LACP()
	for _, i := range want {
		ms, _ := a.Member(i)
		if ms.Status != "current" || !ms.Attached || !d.b.MemberEnabled(i) {
			return false
		}
	}
	return true
}

var memberLine = regexp.MustCompile(`(?m)^member: (\S+): (\S+) (\S+)$`)

// partnerOK reports whether OVS's lacp/show says negotiated with each
// named member current and attached (TESTING.md: "negotiated" alone is
// not proof, OVS prints it as soon as a member expires).
func partnerOK(show, mode string, members ...string) bool {
	if !strings.Contains(show, "  status: "+mode+" negotiated\n") {
		return false
	}
	st := map[string]string{}
	for _, m := range memberLine.FindAllStringSubmatch(show, -1) {
		st[m[1]] = m[2] + " " + m[3]
	}
	for _, m := range members {
		if st[m] != "current attached" {
			return false
		}
	}
	return true
}

func waitFor(timeout time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < timeout {
		if cond() {
			return time.Since(start), true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start), cond()
}

type setup struct {
	ovs      *ovs
	d        *driver
	pns, sns string
	ours     []string // our veth ends
	theirs   []string // OVS's veth ends, in the same order
}

// newSetup builds: namespace P with OVS bridge br0 holding bond0 over two
// veths, namespace S with the peers, driven by our bond.
func newSetup(t *testing.T, partnerLACP string, ours bond.Config) *setup {
	testenv.NeedRoot(t)
	testenv.NeedCommand(t, "ip")
	p := uniq()
	s := &setup{pns: p + "p", sns: p + "s"}
	netnsAdd(t, s.pns)
	netnsAdd(t, s.sns)
	for i := 0; i < 2; i++ {
		o, th := fmt.Sprintf("%ss%d", p, i), fmt.Sprintf("%sp%d", p, i)
		vethPair(t, o, s.sns, th, s.pns)
		s.ours, s.theirs = append(s.ours, o), append(s.theirs, th)
	}
	s.ovs = startOVS(t, s.pns)
	s.ovs.vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev")
	s.ovs.vsctl("add-bond", "br0", "bond0", s.theirs[0], s.theirs[1], "bond_mode=balance-tcp",
		"lacp="+partnerLACP, "other_config:lacp-time=fast")
	s.d = startDriver(t, s.sns, s.ours, ours)
	return s
}

func activeFast() bond.Config {
	return bond.Config{Name: "bond0", Mode: bond.BalanceTCP, RebalanceInterval: bond.DefaultRebalanceInterval,
		LACP: &lacp.Config{Active: true, Fast: true, SystemID: [6]byte{0x02, 0x67, 0x76, 0x73, 0x00, 0x01}}}
}

// TestNegotiateWithOVS: both sides report negotiated with both members
// current and attached within 5 s, with OVS's lacp=active and passive
// (and ours passive against OVS active).
func TestNegotiateWithOVS(t *testing.T) {
	testenv.Short(t)
	for _, tc := range []struct{ partner, ours string }{{"active", "active"}, {"passive", "active"}, {"active", "passive"}} {
		t.Run("partner-"+tc.partner+"/ours-"+tc.ours, func(t *testing.T) {
			cfg := activeFast()
			cfg.LACP.Active = tc.ours == "active"
			s := newSetup(t, tc.partner, cfg)
			var show string
			took, ok := waitFor(5*time.Second, func() bool {
				show = s.ovs.appctl("lacp/show", "bond0")
				return s.d.ourOK(0, 1) && partnerOK(show, tc.partner, s.theirs...)
			})
			if !ok {
				t.Fatalf("not negotiated within 5 s\npartner:\n%s\nours:\n%s", show, s.d.b.LACP().AppendShow(nil))
			}
			t.Logf("negotiated in %v", took.Round(time.Millisecond))
			// The partner sees our system and ports.
			if !strings.Contains(show, "partner sys_id: 02:67:76:73:00:01") {
				t.Errorf("partner does not see our system ID:\n%s", show)
			}
			bs := s.ovs.appctl("bond/show", "bond0")
			for _, m := range s.theirs {
				if !strings.Contains(bs, "member "+m+": enabled\n") {
					t.Errorf("partner member %s not enabled:\n%s", m, bs)
				}
			}
			ours := string(s.d.b.AppendShow(nil, time.Now()))
			if !strings.Contains(ours, "lacp_status: negotiated\n") || strings.Count(ours, ": enabled\n") != 2 {
				t.Errorf("our bond/show:\n%s", ours)
			}
			if errs := s.d.errors(); len(errs) > 0 {
				t.Errorf("driver errors: %v", errs)
			}
		})
	}
}

// TestMemberDownAndBack: a member taken down on the partner side leaves
// the bond on both sides while the other keeps it up, and rejoins when it
// comes back.
func TestMemberDownAndBack(t *testing.T) {
	testenv.Short(t)
	s := newSetup(t, "active", activeFast())
	if _, ok := waitFor(5*time.Second, func() bool {
		return s.d.ourOK(0, 1) && partnerOK(s.ovs.appctl("lacp/show", "bond0"), "active", s.theirs...)
	}); !ok {
		t.Fatal("not negotiated")
	}
	sh(t, "ip", "-n", s.pns, "link", "set", s.theirs[0], "down")
	took, ok := waitFor(3*time.Second, func() bool {
		return !s.d.b.MemberEnabled(0) && !s.d.b.RxAccept(0, false)
	})
	if !ok {
		t.Fatalf("member 0 still enabled 3 s after the partner's link went down:\n%s", s.d.b.LACP().AppendShow(nil))
	}
	t.Logf("member out of the bond after %v", took.Round(time.Millisecond))
	if !s.d.ourOK(1) {
		t.Errorf("bond must stay up on the other member:\n%s", s.d.b.LACP().AppendShow(nil))
	}
	for h := uint32(0); h < bond.Buckets; h++ {
		if m := s.d.b.TxMember(h); m != 1 {
			t.Fatalf("bucket %d -> member %d while member 0 is down", h, m)
		}
	}
	if st := s.d.b.LACP(); st != nil {
		ms, _ := st.Member(0)
		if ms.Status == "current" {
			t.Errorf("member 0 still current: %+v", ms)
		}
	}
	sh(t, "ip", "-n", s.pns, "link", "set", s.theirs[0], "up")
	took, ok = waitFor(5*time.Second, func() bool {
		return s.d.ourOK(0, 1) && partnerOK(s.ovs.appctl("lacp/show", "bond0"), "active", s.theirs...)
	})
	if !ok {
		t.Fatalf("member did not rejoin within 5 s\npartner:\n%s\nours:\n%s",
			s.ovs.appctl("lacp/show", "bond0"), s.d.b.LACP().AppendShow(nil))
	}
	t.Logf("rejoined after %v", took.Round(time.Millisecond))
	st, _ := s.d.b.LACP().MemberStats(0)
	if st.CarrierChanged < 2 {
		t.Errorf("carrier changes not counted: %+v", st)
	}
}

// TestPartnerStopsLACP: the partner turns LACP off on its bond; our
// members expire, then default, and the bond goes down without
// lacp-fallback-ab (OVS's behaviour), or falls back to active-backup with it.
func TestPartnerStopsLACP(t *testing.T) {
	testenv.Short(t)
	for _, fallback := range []bool{false, true} {
		t.Run(fmt.Sprintf("fallback-ab=%v", fallback), func(t *testing.T) {
			cfg := activeFast()
			cfg.FallbackAB = fallback
			s := newSetup(t, "active", cfg)
			if _, ok := waitFor(5*time.Second, func() bool { return s.d.ourOK(0, 1) }); !ok {
				t.Fatal("not negotiated")
			}
			s.ovs.vsctl("set", "port", "bond0", "lacp=off")
			_, ok := waitFor(10*time.Second, func() bool { return s.d.b.LACPStatus() == lacp.StatusConfigured })
			if !ok {
				t.Fatalf("still negotiated 10 s after the partner stopped LACP:\n%s", s.d.b.LACP().AppendShow(nil))
			}
			got := s.d.b.TxMember(5)
			if fallback {
				if got < 0 || !s.d.b.RxAccept(got, true) || s.d.b.RxAccept(1-got, true) {
					t.Errorf("fallback-ab: tx member %d, rx not active-backup", got)
				}
			} else if got != -1 || s.d.b.RxAccept(0, false) || s.d.b.RxAccept(1, false) {
				t.Errorf("no fallback: the bond must carry nothing, tx member %d", got)
			}
			// LACP back on the partner: negotiated again.
			s.ovs.vsctl("set", "port", "bond0", "lacp=active")
			if _, ok := waitFor(10*time.Second, func() bool { return s.d.ourOK(0, 1) }); !ok {
				t.Errorf("did not renegotiate:\n%s", s.d.b.LACP().AppendShow(nil))
			}
		})
	}
}

// TestHashMatchesOVS: bond/hash gives the bucket ovs-vswitchd gives.
func TestHashMatchesOVS(t *testing.T) {
	testenv.Short(t)
	testenv.NeedRoot(t)
	p := uniq()
	netnsAdd(t, p+"p")
	o := startOVS(t, p+"p")
	for _, args := range [][]string{
		{"52:54:00:d4:25:2e"}, {"52:54:00:d4:25:2e", "300"}, {"52:54:00:d4:25:2e", "300", "7"},
		{"ff:ff:ff:ff:ff:ff", "4095", "4294967295"}, {"00:00:00:00:00:00", "0", "0"}, {"02:ab:cd:ef:01:23", "11", "12345"},
	} {
		want := strings.TrimSpace(o.appctl(append([]string{"bond/hash"}, args...)...))
		got, err := bond.HashCommand(args)
		if err != nil || got != want {
			t.Errorf("bond/hash %v: ours %q (%v), OVS %q", args, got, err, want)
		}
	}
}
