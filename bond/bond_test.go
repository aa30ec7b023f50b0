package bond

import (
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gvswitch/lacp"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func mac(s string) [6]byte {
	m, ok := parseMAC(s)
	if !ok {
		panic(s)
	}
	return m
}

// wire connects member ma of x to member mb of y; bonds exchange LACP
// frames over these wires in pair.step.
type wire struct {
	x, y   *Bond
	mx, my int
	cut    bool // drop frames in both directions (and carrier stays as set)
}

type rig struct {
	t     *testing.T
	now   time.Time
	bonds []*Bond
	wires []*wire
}

type sent struct {
	from *Bond
	f    Frame
}

// deliver hands each frame to the other end of its wire; what the
// receivers send in response waits for the next tick, as on a network.
func (r *rig) deliver(frames []sent) []sent {
	var next []sent
	for _, s := range frames {
		for _, w := range r.wires {
			if w.cut {
				continue
			}
			var to *Bond
			var m int
			switch {
			case w.x == s.from && w.mx == s.f.Member:
				to, m = w.y, w.my
			case w.y == s.from && w.my == s.f.Member:
				to, m = w.x, w.mx
			default:
				continue
			}
			out, err := to.HandleLACP(m, s.f.Frame, r.now)
			if err != nil {
				r.t.Fatalf("HandleLACP: %v", err)
			}
			for _, f := range out {
				next = append(next, sent{to, f})
			}
		}
	}
	return next
}

// run ticks every 100 ms for d: every bond runs, then the frames of the
// tick are delivered.
func (r *rig) run(d time.Duration) {
	end := r.now.Add(d)
	var pending []sent
	for {
		for _, b := range r.bonds {
			for _, f := range b.Run(r.now) {
				pending = append(pending, sent{b, f})
			}
		}
		pending = r.deliver(pending)
		if !r.now.Before(end) {
			return
		}
		r.now = r.now.Add(100 * time.Millisecond)
	}
}

func mustBond(t *testing.T, cfg Config, now time.Time) *Bond {
	t.Helper()
	b, err := New(cfg, now)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func addMember(t *testing.T, b *Bond, name, m string, port uint16, now time.Time) int {
	t.Helper()
	i, err := b.SetMember(MemberConfig{Name: name, MAC: mac(m), LACP: lacp.MemberConfig{PortID: port}}, true, now)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// goldenRig rebuilds the reference capture's two bonds: balance-tcp,
// lacp=active, lacp-time=fast, a0—b0 and a1—b1.
func goldenRig(t *testing.T, mode Mode, lacpB *lacp.Config) (*rig, *Registry, *Bond, *Bond) {
	r := &rig{t: t, now: t0}
	reg := &Registry{}
	la := &lacp.Config{Active: true, Fast: true, SystemID: mac("ba:0d:b6:e9:2c:4c")}
	// Which member becomes active first depends on the order LACP
	// settles in; pin the capture's choice through bond_active_slave, as a
	// restarted OVS would.
	a := mustBond(t, Config{Name: "bond0", Mode: mode, RebalanceInterval: DefaultRebalanceInterval, LACP: la,
		ActiveMemberMAC: mac("12:a9:72:98:8c:a2")}, r.now)
	b := mustBond(t, Config{Name: "bond1", Mode: mode, RebalanceInterval: DefaultRebalanceInterval, LACP: lacpB,
		ActiveMemberMAC: mac("1e:97:5d:53:c5:77")}, r.now)
	if err := reg.Add(a); err != nil {
		t.Fatal(err)
	}
	if err := reg.Add(b); err != nil {
		t.Fatal(err)
	}
	// Added in the order bond/list shows them in the capture.
	a1 := addMember(t, a, "a1", "12:a9:72:98:8c:a2", 2, r.now)
	a0 := addMember(t, a, "a0", "12:a9:72:98:8c:a0", 1, r.now)
	b0 := addMember(t, b, "b0", "1e:97:5d:53:c5:77", 2, r.now)
	b1 := addMember(t, b, "b1", "1e:97:5d:53:c5:78", 1, r.now)
	r.bonds = []*Bond{a, b}
	r.wires = []*wire{{x: a, mx: a0, y: b, my: b0}, {x: a, mx: a1, y: b, my: b1}}
	return r, reg, a, b
}

var nextRebalance = regexp.MustCompile(`next rebalance: -?[0-9]+ ms`)

func TestBondShowMatchesGolden(t *testing.T) {
	r, reg, a, b := goldenRig(t, BalanceTCP, &lacp.Config{Active: true, Fast: true, SystemID: mac("e2:fe:74:f9:00:4b")})
	r.run(3 * time.Second)
	if a.LACPStatus() != lacp.StatusNegotiated || b.LACPStatus() != lacp.StatusNegotiated {
		t.Fatalf("not negotiated: %v %v", a.LACPStatus(), b.LACPStatus())
	}
	for _, tc := range []struct{ name, file string }{{"bond0", "bond-show-bond0.golden"}, {"bond1", "bond-show-bond1.golden"}} {
		want, err := os.ReadFile("testdata/" + tc.file)
		if err != nil {
			t.Fatal(err)
		}
		got, err := reg.Show([]string{tc.name}, r.now)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := nextRebalance.ReplaceAllString(got, "next rebalance: N ms"), nextRebalance.ReplaceAllString(string(want), "next rebalance: N ms"); g != w {
			t.Errorf("bond/show %s differs from OVS's:\n--- got\n%s--- want\n%s", tc.name, got, want)
		}
		if !strings.Contains(got, "next rebalance: 7000 ms") {
			t.Errorf("next rebalance should be 10 s after creation minus 3 s:\n%s", got)
		}
	}
	if got, want := reg.List(), "bond\ttype\trecircID\tmembers\nbond0\tbalance-tcp\t1\ta1, a0\nbond1\tbalance-tcp\t2\tb0, b1\n"; got != want {
		t.Errorf("bond/list:\n%q\nwant\n%q", got, want)
	}
	if _, err := reg.Show([]string{"nosuch"}, r.now); !errors.Is(err, ErrNoSuchBond) || err.Error() != "no such bond" {
		t.Errorf("bond/show nosuch: %v", err)
	}
	all, _ := reg.Show(nil, r.now)
	if strings.Count(all, "---- bond") != 2 {
		t.Errorf("bond/show without argument:\n%s", all)
	}
	ls, err := reg.LACPShow([]string{"bond0"})
	if err != nil || !strings.HasPrefix(ls, "---- bond0 ----\n  status: active negotiated\n") {
		t.Errorf("lacp/show bond0: %v\n%s", err, ls)
	}
	if _, err := reg.LACPShow([]string{"nosuch"}); err == nil || err.Error() != "no such lacp object" {
		t.Errorf("lacp/show nosuch: %v", err)
	}
	st, err := reg.LACPShowStats(nil)
	if err != nil || !strings.Contains(st, "---- bond0 statistics ----") || !strings.Contains(st, "---- bond1 statistics ----") {
		t.Errorf("lacp/show-stats: %v\n%s", err, st)
	}
	for i := 0; i < 2; i++ {
		if cur, ok := a.LACPCurrent(i); !cur || !ok {
			t.Errorf("member %d lacp_current = %v,%v", i, cur, ok)
		}
	}
}

// balance-tcp spreads buckets over both members once negotiated, and
// accepts traffic (multicast too) on both.
func TestBalanceTCPNegotiated(t *testing.T) {
	r, _, a, b := goldenRig(t, BalanceTCP, &lacp.Config{Active: true, Fast: true, SystemID: mac("e2:fe:74:f9:00:4b")})
	if a.TxMember(7) != -1 || a.RxAccept(0, false) {
		t.Error("balance-tcp must carry nothing before LACP negotiates")
	}
	r.run(2 * time.Second)
	count := map[int]int{}
	for h := uint32(0); h < Buckets; h++ {
		count[a.TxMember(h)]++
	}
	if len(count) != 2 || count[0] < 100 || count[1] < 100 {
		t.Errorf("bucket spread: %v", count)
	}
	for m := 0; m < 2; m++ {
		if !a.RxAccept(m, false) || !a.RxAccept(m, true) || a.RxVerdict(m, true) != Accept {
			t.Errorf("member %d must accept everything on a negotiated bond", m)
		}
	}
	// A member whose partner goes silent leaves the bond: its buckets move.
	r.wires[0].cut = true // a0 — b0
	r.run(7 * time.Second)
	a0, b0 := 1, 0 // a1 was added first, index 0
	for h := uint32(0); h < Buckets; h++ {
		if a.TxMember(h) != 0 {
			t.Fatalf("bucket %d still on %d after a0's partner went away", h, a.TxMember(h))
		}
	}
	if a.RxAccept(a0, false) || a.MemberEnabled(a0) {
		t.Error("expired member still accepts")
	}
	if a.LACPStatus() != lacp.StatusNegotiated {
		t.Error("bond must stay up on the other member")
	}
	// Silence without a carrier change: both ends are DEFAULTED and send
	// a PDU every 30 s, so the member rejoins within one slow period.
	r.wires[0].cut = false
	r.run(31 * time.Second)
	if !a.MemberEnabled(a0) {
		t.Error("member did not rejoin after the silence")
	}
	// Link down and up on the partner side: the carrier change makes the
	// member expire at once and ask for fast PDUs, so it rejoins quickly.
	r.wires[0].cut = true
	b.SetCarrier(b0, false, r.now)
	a.SetCarrier(a0, false, r.now)
	r.run(100 * time.Millisecond)
	if a.MemberEnabled(a0) || a.RxAccept(a0, false) {
		t.Error("member with carrier down still enabled")
	}
	r.wires[0].cut = false
	b.SetCarrier(b0, true, r.now)
	a.SetCarrier(a0, true, r.now)
	r.run(2 * time.Second)
	if !a.MemberEnabled(a0) || !a.RxAccept(a0, true) {
		t.Error("member did not rejoin 2 s after its carrier came back")
	}
}

func TestBalanceTCPWithPassivePartner(t *testing.T) {
	r, _, a, b := goldenRig(t, BalanceTCP, &lacp.Config{Active: false, Fast: true, SystemID: mac("e2:fe:74:f9:00:4b")})
	r.run(2 * time.Second)
	if a.LACPStatus() != lacp.StatusNegotiated || b.LACPStatus() != lacp.StatusNegotiated {
		t.Fatalf("status %v %v", a.LACPStatus(), b.LACPStatus())
	}
}

// Partner gone: without lacp-fallback-ab the bond carries nothing; with it
// the bond is active-backup (OVS bond.c choose_output_member and
// bond_check_admissibility).
func TestPartnerGoneFallback(t *testing.T) {
	for _, fallback := range []bool{false, true} {
		now := t0
		b := mustBond(t, Config{Name: "bond0", Mode: BalanceTCP, FallbackAB: fallback, RebalanceInterval: DefaultRebalanceInterval,
			Primary: "p1", LACP: &lacp.Config{Active: true, Fast: true, SystemID: mac("02:00:00:00:00:01")}}, now)
		p0 := addMember(t, b, "p0", "02:00:00:00:00:10", 1, now)
		p1 := addMember(t, b, "p1", "02:00:00:00:00:11", 2, now)
		for i := 0; i < 70; i++ {
			b.Run(now)
			now = now.Add(100 * time.Millisecond)
		}
		if b.LACPStatus() != lacp.StatusConfigured {
			t.Fatalf("status %v", b.LACPStatus())
		}
		show := string(b.AppendShow(nil, now))
		if !fallback {
			for h := uint32(0); h < Buckets; h += 17 {
				if b.TxMember(h) != -1 {
					t.Fatalf("no fallback: bucket %d -> %d", h, b.TxMember(h))
				}
			}
			if b.RxAccept(p0, false) || b.RxAccept(p1, true) {
				t.Error("no fallback: must drop all input")
			}
			if !strings.Contains(show, "lacp_status: configured\n") || !strings.Contains(show, "member p0: disabled\n  may_enable: false\n") {
				t.Errorf("show:\n%s", show)
			}
			continue
		}
		// Active-backup on the primary p1.
		for h := uint32(0); h < Buckets; h += 17 {
			if b.TxMember(h) != p1 {
				t.Fatalf("fallback: bucket %d -> %d, want primary %d", h, b.TxMember(h), p1)
			}
		}
		if !b.RxAccept(p1, true) || b.RxAccept(p0, false) || b.RxAccept(p0, true) {
			t.Error("fallback: only the active member may receive")
		}
		if strings.Contains(show, "next rebalance") || !strings.Contains(show, "bond may use recirculation: no, Recirc-ID : -1") ||
			!strings.Contains(show, "active-backup primary: p1\n") || !strings.Contains(show, "lacp_fallback_ab: true\n") {
			t.Errorf("show:\n%s", show)
		}
		if !b.ShouldSendLearningPackets() {
			t.Error("fallback to active-backup must send learning packets")
		}
	}
}

// balance-tcp with lacp=off drops everything, exactly as OVS 3.1 does.
func TestBalanceTCPWithoutLACP(t *testing.T) {
	b := mustBond(t, Config{Name: "bond0", Mode: BalanceTCP, RebalanceInterval: DefaultRebalanceInterval}, t0)
	addMember(t, b, "p0", "02:00:00:00:00:10", 1, t0)
	addMember(t, b, "p1", "02:00:00:00:00:11", 2, t0)
	b.Run(t0)
	if b.TxMember(3) != -1 || b.RxAccept(0, false) || b.RxAccept(1, false) {
		t.Error("balance-tcp without LACP must not carry traffic")
	}
	if s := string(b.AppendShow(nil, t0)); !strings.Contains(s, "lacp_status: off\n") || !strings.Contains(s, "member p0: enabled\n") {
		t.Errorf("show:\n%s", s)
	}
}

func TestActiveBackupFailover(t *testing.T) {
	now := t0
	b := mustBond(t, Config{Name: "bond0", Mode: ActiveBackup, Primary: "p0", DownDelay: 200 * time.Millisecond, UpDelay: 500 * time.Millisecond}, now)
	p0 := addMember(t, b, "p0", "02:00:00:00:00:10", 1, now)
	p1 := addMember(t, b, "p1", "02:00:00:00:00:11", 2, now)
	if b.TxMember(1) != p0 || b.TxMember(200) != p0 {
		t.Fatalf("active-backup must send on the primary: %d", b.TxMember(1))
	}
	if mac, ok := b.ActiveMemberChanged(false); !ok || mac != "02:00:00:00:00:10" {
		t.Errorf("bond_active_slave = %q %v", mac, ok)
	}
	if _, ok := b.ActiveMemberChanged(false); ok {
		t.Error("change reported twice")
	}
	b.ShouldSendLearningPackets()
	if v := b.RxVerdict(p1, false); v != Drop {
		t.Errorf("backup member accepts unicast: %v", v)
	}
	if v := b.RxVerdict(p0, true); v != Accept {
		t.Errorf("active member verdict %v", v)
	}
	// Carrier loss on p0: downdelay 200 ms first.
	b.SetCarrier(p0, false, now)
	now = now.Add(100 * time.Millisecond)
	b.Run(now)
	if b.TxMember(1) != p0 {
		t.Error("failed over before downdelay")
	}
	if s := string(b.AppendShow(nil, now)); !strings.Contains(s, "  downdelay expires in 100 ms\n") {
		t.Errorf("show during downdelay:\n%s", s)
	}
	now = now.Add(100 * time.Millisecond)
	b.Run(now)
	if b.TxMember(1) != p1 || !b.RxAccept(p1, true) || b.RxAccept(p0, false) {
		t.Fatalf("no failover after downdelay: tx %d", b.TxMember(1))
	}
	if mac, ok := b.ActiveMemberChanged(false); !ok || mac != "02:00:00:00:00:11" {
		t.Errorf("bond_active_slave after failover = %q", mac)
	}
	if !b.ShouldSendLearningPackets() {
		t.Fatal("failover must ask for learning packets")
	}
	f, ok := b.LearningPacket(mac("52:54:00:d4:25:2e"), 300)
	if !ok || f.Member != p1 || len(f.Frame) != 60 {
		t.Fatalf("learning packet: %+v %v", f, ok)
	}
	want := "ffffffffffff525400d4252e8100012c80350001080006040003525400d4252e00000000525400d4252e00000000"
	if got := hexs(f.Frame[:46]); got != want {
		t.Errorf("RARP frame\n got %s\nwant %s", got, want)
	}
	// The primary comes back: after updelay it is active again.
	b.SetCarrier(p0, true, now)
	now = now.Add(400 * time.Millisecond)
	b.Run(now)
	if b.TxMember(1) != p1 {
		t.Error("primary preempted before updelay")
	}
	now = now.Add(100 * time.Millisecond)
	b.Run(now)
	if b.TxMember(1) != p0 {
		t.Error("primary not active again after updelay")
	}
}

func hexs(b []byte) string {
	const d = "0123456789abcdef"
	s := make([]byte, 0, 2*len(b))
	for _, x := range b {
		s = append(s, d[x>>4], d[x&15])
	}
	return string(s)
}

// All members down with updelay: the first to come back is enabled at once
// (vswitch.xml bond_updelay: "honored only when at least one bonded
// interface is already enabled").
func TestUpdelaySkippedWhenAllDown(t *testing.T) {
	now := t0
	b := mustBond(t, Config{Name: "bond0", UpDelay: 5 * time.Second}, now)
	p0, _ := b.SetMember(MemberConfig{Name: "p0", MAC: mac("02:00:00:00:00:10")}, false, now)
	b.SetMember(MemberConfig{Name: "p1", MAC: mac("02:00:00:00:00:11")}, false, now)
	if b.TxMember(0) != -1 {
		t.Fatal("no member up, yet a member is chosen")
	}
	b.SetCarrier(p0, true, now.Add(time.Second))
	if b.TxMember(0) != p0 || !b.MemberEnabled(p0) {
		t.Error("first member up must be used at once")
	}
}

func TestBalanceSLB(t *testing.T) {
	now := t0
	b := mustBond(t, Config{Name: "bond0", Mode: BalanceSLB, RebalanceInterval: DefaultRebalanceInterval}, now)
	p0 := addMember(t, b, "p0", "02:00:00:00:00:10", 1, now)
	p1 := addMember(t, b, "p1", "02:00:00:00:00:11", 2, now)
	used := map[int]int{}
	frame := make([]byte, 64)
	for i := 0; i < 64; i++ {
		copy(frame[6:12], []byte{0x52, 0x54, 0, 0, 0, byte(i)})
		h := b.TxHash(frame, 300)
		if h != HashSLB([6]byte(frame[6:12]), 300, 0) {
			t.Fatal("TxHash is not HashSLB in balance-slb")
		}
		used[b.TxMember(h)]++
	}
	if used[p0] == 0 || used[p1] == 0 {
		t.Errorf("balance-slb uses one member only: %v", used)
	}
	act := b.ActiveMember()
	other := p0 + p1 - act
	if v := b.RxVerdict(other, true); v != Drop {
		t.Errorf("multicast on the non-active member: %v", v)
	}
	if v := b.RxVerdict(other, false); v != AcceptIfNotMoved {
		t.Errorf("unicast on the non-active member: %v", v)
	}
	if v := b.RxVerdict(act, true); v != AcceptIfNotMoved {
		t.Errorf("multicast on the active member: %v", v)
	}
	if s := string(b.AppendShow(nil, now)); !strings.Contains(s, "all members active: false\n") || !strings.Contains(s, "lacp_status: off\n") {
		t.Errorf("show:\n%s", s)
	}
	// Link down moves the member's buckets; learning packets are due.
	b.ShouldSendLearningPackets()
	b.SetCarrier(p1, false, now)
	for h := uint32(0); h < Buckets; h++ {
		if b.TxMember(h) != p0 {
			t.Fatalf("bucket %d on a dead member", h)
		}
	}
	if !b.ShouldSendLearningPackets() {
		t.Error("member down must ask for learning packets")
	}
	if f, ok := b.LearningPacket(mac("52:54:00:00:00:01"), 0); !ok || f.Member != p0 || f.Frame[12] != 0x80 || f.Frame[13] != 0x35 {
		t.Errorf("learning packet %+v %v", f, ok)
	}
}

func TestRebalance(t *testing.T) {
	now := t0
	b := mustBond(t, Config{Name: "bond0", Mode: BalanceSLB, RebalanceInterval: DefaultRebalanceInterval}, now)
	p0 := addMember(t, b, "p0", "02:00:00:00:00:10", 1, now)
	addMember(t, b, "p1", "02:00:00:00:00:11", 2, now)
	// Put all traffic in buckets of p0.
	var mine []uint32
	for h := uint32(0); h < Buckets && len(mine) < 8; h++ {
		if b.TxMember(h) == p0 {
			mine = append(mine, h)
		}
	}
	for _, h := range mine {
		b.Account(h, 1<<20)
	}
	show := string(b.AppendShow(nil, now))
	if !strings.Contains(show, "kB load") {
		t.Errorf("loads not shown:\n%s", show)
	}
	b.Run(now.Add(9 * time.Second))
	if n := countOn(b, mine, p0); n != len(mine) {
		t.Fatal("rebalanced before the interval")
	}
	now = now.Add(10 * time.Second)
	b.Run(now)
	if n := countOn(b, mine, p0); n != len(mine)/2 {
		t.Errorf("after rebalance %d of %d loaded buckets still on p0, want half", n, len(mine))
	}
	// Loads decay by half at each rebalance.
	if got := b.load[mine[0]].Load(); got != 1<<19 {
		t.Errorf("load after rebalance %d, want %d", got, 1<<19)
	}
	if s := string(b.AppendShow(nil, now)); !strings.Contains(s, "next rebalance: 10000 ms\n") || !strings.Contains(s, "kB load") {
		t.Errorf("show:\n%s", s)
	}
}

func countOn(b *Bond, hs []uint32, m int) int {
	n := 0
	for _, h := range hs {
		if b.TxMember(h) == m {
			n++
		}
	}
	return n
}

func TestCommands(t *testing.T) {
	now := t0
	reg := &Registry{}
	b := mustBond(t, Config{Name: "bond0", Mode: ActiveBackup, Primary: "nosuch"}, now)
	if err := reg.Add(b); err != nil {
		t.Fatal(err)
	}
	if err := reg.Add(b); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate add: %v", err)
	}
	p0 := addMember(t, b, "p0", "02:00:00:00:00:10", 1, now)
	p1 := addMember(t, b, "p1", "02:00:00:00:00:11", 2, now)
	if s, _ := reg.Show([]string{"bond0"}, now); !strings.Contains(s, "active-backup primary: nosuch (no such member)\n") ||
		!strings.Contains(s, "active member mac: 02:00:00:00:00:10(p0)\n") || strings.Contains(s, "next rebalance") {
		t.Errorf("show:\n%s", s)
	}
	if got := reg.List(); got != "bond\ttype\trecircID\tmembers\nbond0\tactive-backup\t0\tp0, p1\n" {
		t.Errorf("list %q", got)
	}
	for _, tc := range []struct {
		args []string
		want string
		err  error
	}{
		{[]string{"bond0", "p1"}, "done", nil},
		{[]string{"bond0", "p1"}, "no change", nil},
		{[]string{"bond0", "px"}, "", ErrNoSuchMember},
		{[]string{"nope", "p1"}, "", ErrNoSuchBond},
	} {
		got, err := reg.SetActiveMember(tc.args, now)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("set-active-member %v = %q, %v", tc.args, got, err)
		}
	}
	if b.TxMember(0) != p1 {
		t.Error("set-active-member did not move traffic")
	}
	if got, err := reg.EnableMember([]string{"bond0", "p0"}, false, now); got != "disabled" || err != nil {
		t.Errorf("disable-member: %q %v", got, err)
	}
	if _, err := reg.SetActiveMember([]string{"bond0", "p0"}, now); !errors.Is(err, ErrDisabledActive) || err.Error() != "cannot make disabled member active" {
		t.Errorf("activate disabled: %v", err)
	}
	if got, err := reg.EnableMember([]string{"bond0", "p0"}, true, now); got != "enabled" || err != nil {
		t.Errorf("enable-member: %q %v", got, err)
	}
	if _, err := reg.Migrate([]string{"bond0", "3", "p0"}); !errors.Is(err, ErrNotSLB) {
		t.Errorf("migrate on active-backup: %v", err)
	}
	_ = p0
	for _, tc := range []struct {
		args []string
		err  error
	}{
		{[]string{"zz:00:00:00:00:01"}, ErrInvalidMAC},
		{[]string{"00:00:00:00:00:01", "x"}, ErrInvalidVLAN},
		{[]string{"00:00:00:00:00:01", "1", "-1"}, ErrInvalidBasis},
	} {
		if _, err := HashCommand(tc.args); !errors.Is(err, tc.err) {
			t.Errorf("bond/hash %v: %v", tc.args, err)
		}
	}
	h, err := HashCommand([]string{"52:54:00:d4:25:2e", "300", "7"})
	if err != nil || h != strconv.Itoa(int(HashSLB(mac("52:54:00:d4:25:2e"), 300, 7)&255)) {
		t.Errorf("bond/hash = %q %v", h, err)
	}
	reg.Remove("bond0")
	if reg.Lookup("bond0") != nil {
		t.Error("remove failed")
	}
}

func TestMigrateSLB(t *testing.T) {
	reg := &Registry{}
	b := mustBond(t, Config{Name: "bond0", Mode: BalanceSLB, RebalanceInterval: DefaultRebalanceInterval}, t0)
	reg.Add(b)
	addMember(t, b, "p0", "02:00:00:00:00:10", 1, t0)
	p1 := addMember(t, b, "p1", "02:00:00:00:00:11", 2, t0)
	if got, err := reg.Migrate([]string{"bond0", "260", "p1"}); got != "migrated" || err != nil {
		t.Fatalf("migrate: %q %v", got, err)
	}
	if b.TxMember(4) != p1 {
		t.Error("bucket 260&255 not on p1")
	}
	if _, err := reg.Migrate([]string{"bond0", "4x", "p1"}); !errors.Is(err, ErrBadHash) {
		t.Errorf("bad hash: %v", err)
	}
	if got := reg.List(); got != "bond\ttype\trecircID\tmembers\nbond0\tbalance-slb\t1\tp0, p1\n" {
		t.Errorf("list %q", got)
	}
}

func TestRemoveMember(t *testing.T) {
	b := mustBond(t, Config{Name: "bond0", Mode: BalanceSLB, RebalanceInterval: DefaultRebalanceInterval}, t0)
	p0 := addMember(t, b, "p0", "02:00:00:00:00:10", 1, t0)
	p1 := addMember(t, b, "p1", "02:00:00:00:00:11", 2, t0)
	b.RemoveMember(p0, t0)
	for h := uint32(0); h < Buckets; h++ {
		if b.TxMember(h) != p1 {
			t.Fatalf("bucket %d -> %d after removing p0", h, b.TxMember(h))
		}
	}
	if b.ActiveMember() != p1 || b.RxAccept(p0, false) {
		t.Error("removed member still in use")
	}
	p2 := addMember(t, b, "p2", "02:00:00:00:00:12", 3, t0)
	if p2 != p0 {
		t.Errorf("slot not reused: %d", p2)
	}
	if _, err := ParseMode("balance-xyz"); !errors.Is(err, ErrUnknownMode) {
		t.Errorf("ParseMode: %v", err)
	}
	for _, m := range []Mode{ActiveBackup, BalanceSLB, BalanceTCP} {
		if got, err := ParseMode(m.String()); got != m || err != nil {
			t.Errorf("ParseMode(%s) = %v %v", m, got, err)
		}
	}
}

func TestReconfigureModeRecirc(t *testing.T) {
	reg := &Registry{}
	b := mustBond(t, Config{Name: "bond0"}, t0)
	reg.Add(b)
	addMember(t, b, "p0", "02:00:00:00:00:10", 1, t0)
	if got := reg.List(); !strings.Contains(got, "bond0\tactive-backup\t0\t") {
		t.Errorf("list %q", got)
	}
	if err := b.Reconfigure(Config{Name: "bond0", Mode: BalanceSLB, RebalanceInterval: DefaultRebalanceInterval}, t0); err != nil {
		t.Fatal(err)
	}
	if got := reg.List(); !strings.Contains(got, "bond0\tbalance-slb\t1\t") {
		t.Errorf("after mode change: %q", got)
	}
	if b.TxMember(9) != 0 {
		t.Error("balance-slb with one member must use it")
	}
	if err := b.Reconfigure(Config{Name: "bond0", LACP: &lacp.Config{}}, t0); err == nil {
		t.Error("zero LACP system ID accepted")
	}
}

// The hot path runs in PMD goroutines while the control goroutine changes
// the bond; run with -race.
func TestConcurrentHotPath(t *testing.T) {
	b := mustBond(t, Config{Name: "bond0", Mode: BalanceSLB, RebalanceInterval: DefaultRebalanceInterval}, t0)
	p0 := addMember(t, b, "p0", "02:00:00:00:00:10", 1, t0)
	addMember(t, b, "p1", "02:00:00:00:00:11", 2, t0)
	stop := make(chan struct{})
	done := make(chan int)
	for g := 0; g < 2; g++ {
		go func() {
			n := 0
			f := make([]byte, 64)
			for {
				select {
				case <-stop:
					done <- n
					return
				default:
				}
				f[11] = byte(n)
				h := b.TxHash(f, 1)
				if m := b.TxMember(h); m >= 0 {
					b.Account(h, 64)
				}
				if b.RxAccept(n&1, n&2 != 0) {
					n++
				}
				n++
			}
		}()
	}
	now := t0
	for i := 0; i < 200; i++ {
		now = now.Add(100 * time.Millisecond)
		b.SetCarrier(p0, i%2 == 0, now)
		b.Run(now.Add(time.Duration(i) * time.Second))
		_ = b.AppendShow(nil, now)
	}
	close(stop)
	<-done
	<-done
}

// Turning LACP off on a bond whose partner never answered brings the
// members back (only the carrier counts), and on again takes them out.
func TestLACPToggle(t *testing.T) {
	now := t0
	lc := &lacp.Config{Active: true, Fast: true, SystemID: mac("02:00:00:00:00:01")}
	cfg := Config{Name: "bond0", Mode: BalanceSLB, RebalanceInterval: DefaultRebalanceInterval, LACP: lc}
	b := mustBond(t, cfg, now)
	p0 := addMember(t, b, "p0", "02:00:00:00:00:10", 1, now)
	now = now.Add(7 * time.Second)
	b.Run(now)
	if b.MemberEnabled(p0) || b.TxMember(0) != -1 {
		t.Fatal("LACP without partner must disable the member")
	}
	cfg.LACP = nil
	if err := b.Reconfigure(cfg, now); err != nil {
		t.Fatal(err)
	}
	if !b.MemberEnabled(p0) || b.TxMember(0) != p0 || b.LACPStatus() != lacp.StatusOff {
		t.Errorf("lacp=off: member not back: enabled %v, tx %d, status %v", b.MemberEnabled(p0), b.TxMember(0), b.LACPStatus())
	}
	if _, ok := b.LACPCurrent(p0); ok {
		t.Error("lacp_current must be empty without LACP")
	}
	cfg.LACP = lc
	if err := b.Reconfigure(cfg, now); err != nil {
		t.Fatal(err)
	}
	// Like OVS, an EXPIRED member with no partner counts as negotiated
	// (TESTING.md), but it may not be enabled.
	if b.MemberEnabled(p0) || b.TxMember(0) != -1 || b.RxAccept(p0, false) {
		t.Errorf("lacp back on: status %v, enabled %v", b.LACPStatus(), b.MemberEnabled(p0))
	}
	b.Run(now.Add(4 * time.Second))
	if b.LACPStatus() != lacp.StatusConfigured {
		t.Errorf("no partner after 4 s: status %v", b.LACPStatus())
	}
}

// A member added to a running bond gets a share of the idle buckets; busy
// buckets stay where their flows are.
func TestNewMemberGetsIdleBuckets(t *testing.T) {
	b := mustBond(t, Config{Name: "bond0", Mode: BalanceSLB, RebalanceInterval: DefaultRebalanceInterval}, t0)
	p0 := addMember(t, b, "p0", "02:00:00:00:00:10", 1, t0)
	b.Account(5, 1000)
	p1 := addMember(t, b, "p1", "02:00:00:00:00:11", 2, t0)
	if b.TxMember(5) != p0 {
		t.Error("busy bucket moved when a member joined")
	}
	n := 0
	for h := uint32(0); h < Buckets; h++ {
		if b.TxMember(h) == p1 {
			n++
		}
	}
	if n < 100 {
		t.Errorf("new member got %d buckets", n)
	}
	b.RemoveMember(p1, t0)
	p2 := addMember(t, b, "p2", "02:00:00:00:00:12", 3, t0)
	n = 0
	for h := uint32(0); h < Buckets; h++ {
		if b.TxMember(h) == p2 {
			n++
		}
	}
	if p2 != p1 || n < 100 {
		t.Errorf("member reusing slot %d got %d buckets", p2, n)
	}
}

// FuzzCommands feeds arbitrary arguments to the unixctl command bodies:
// they answer or return an error, never panic.
func FuzzCommands(f *testing.F) {
	f.Add("52:54:00:d4:25:2e", "300", "7")
	f.Add("zz", "-1", "4294967296")
	f.Add("bond0", "p0", "1")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		for n := 0; n <= 3; n++ {
			args := []string{a, b, c}[:n]
			if s, err := HashCommand(args); err == nil {
				if h, perr := strconv.Atoi(s); perr != nil || h < 0 || h >= Buckets {
					t.Fatalf("bond/hash %q = %q", args, s)
				}
			}
		}
		reg := &Registry{}
		bd, err := New(Config{Name: a, Mode: BalanceSLB, RebalanceInterval: DefaultRebalanceInterval}, t0)
		if err != nil {
			t.Fatal(err)
		}
		reg.Add(bd)
		bd.SetMember(MemberConfig{Name: b}, true, t0)
		_, _ = reg.Migrate([]string{a, c, b})
		_, _ = reg.SetActiveMember([]string{a, c}, t0)
		_, _ = reg.EnableMember([]string{a, b}, false, t0)
		_, _ = reg.Show([]string{c}, t0)
		_, _ = reg.LACPShow([]string{a})
		_ = reg.List()
	})
}
