package lacp

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	sysA = [6]byte{0xba, 0x0d, 0xb6, 0xe9, 0x2c, 0x4c}
	sysB = [6]byte{0xe2, 0xfe, 0x74, 0xf9, 0x00, 0x4b}
	sysC = [6]byte{0x02, 0xcc, 0, 0, 0, 1}
)

// end is one side of a link: an aggregator and one of its member ids.
type end struct {
	a  *Aggregator
	id int
}

// lab wires aggregators' members together and runs them on a fake clock
// with a 100 ms tick, delivering each frame to the other end of its link.
type lab struct {
	t     *testing.T
	now   time.Time
	aggs  []*Aggregator
	peer  map[end]end
	cut   map[end]bool // frames sent from this end are lost
	sent  map[end]int
	marks int
}

func newLab(t *testing.T, aggs ...*Aggregator) *lab {
	return &lab{t: t, now: t0, aggs: aggs, peer: map[end]end{}, cut: map[end]bool{}, sent: map[end]int{}}
}

func (l *lab) link(x, y end) {
	l.peer[x], l.peer[y] = y, x
	x.a.SetCarrier(x.id, true, l.now)
	y.a.SetCarrier(y.id, true, l.now)
}

func (l *lab) step() {
	for _, a := range l.aggs {
		for _, f := range a.Run(l.now) {
			from := end{a, f.Member}
			l.sent[from]++
			to, ok := l.peer[from]
			if !ok || l.cut[from] {
				continue
			}
			if _, err := to.a.Receive(to.id, f.Frame, l.now); err != nil {
				l.t.Fatalf("receive: %v", err)
			}
		}
	}
}

// run advances the clock by d in 100 ms steps.
func (l *lab) run(d time.Duration) {
	for end := l.now.Add(d); l.now.Before(end); l.now = l.now.Add(100 * time.Millisecond) {
		l.step()
	}
	l.step()
}

func mustNew(t *testing.T, cfg Config) *Aggregator {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// goldenPair builds the topology of the reference capture: bond0 (a0 port
// 1, a1 port 2) and bond1 (b1 port 1, b0 port 2), a0—b0 and a1—b1.
func goldenPair(t *testing.T, activeB bool) (*lab, *Aggregator, *Aggregator) {
	a := mustNew(t, Config{Name: "bond0", Active: true, Fast: true, SystemID: sysA})
	b := mustNew(t, Config{Name: "bond1", Active: activeB, Fast: true, SystemID: sysB})
	l := newLab(t, a, b)
	a.SetMember(0, MemberConfig{Name: "a0", PortID: 1}, l.now)
	a.SetMember(1, MemberConfig{Name: "a1", PortID: 2}, l.now)
	b.SetMember(0, MemberConfig{Name: "b1", PortID: 1}, l.now)
	b.SetMember(1, MemberConfig{Name: "b0", PortID: 2}, l.now)
	l.link(end{a, 0}, end{b, 1})
	l.link(end{a, 1}, end{b, 0})
	return l, a, b
}

func TestNegotiateMatchesGolden(t *testing.T) {
	l, a, b := goldenPair(t, true)
	l.run(2 * time.Second)
	for _, ag := range []*Aggregator{a, b} {
		if ag.Status() != StatusNegotiated {
			t.Fatalf("%s: status %v", ag.Name(), ag.Status())
		}
		for id := 0; id < 2; id++ {
			ms, _ := ag.Member(id)
			if ms.Status != "current" || !ms.Attached || !ms.MayEnable {
				t.Errorf("%s member %s: %+v", ag.Name(), ms.Name, ms)
			}
			if !ag.Current(id) || !ag.MayEnable(id) {
				t.Errorf("%s/%d: Current/MayEnable false", ag.Name(), id)
			}
		}
	}
	want, err := os.ReadFile("testdata/lacp-show-bond0.golden")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(a.AppendShow(nil)); got != string(want) {
		t.Errorf("lacp/show bond0 differs from OVS's:\n--- got\n%s--- want\n%s", got, want)
	}
}

func TestShowStatsLayout(t *testing.T) {
	l, a, _ := goldenPair(t, true)
	l.run(2 * time.Second)
	want, err := os.ReadFile("testdata/lacp-show-stats-bond0.golden")
	if err != nil {
		t.Fatal(err)
	}
	num := regexp.MustCompile(`: [0-9]+\n`)
	got := string(a.AppendShowStats(nil))
	if num.ReplaceAllString(got, ": N\n") != num.ReplaceAllString(string(want), ": N\n") {
		t.Errorf("layout differs:\n%s\nwant like\n%s", got, want)
	}
	st, _ := a.MemberStats(0)
	if st.TxPDUs < 2 || st.RxPDUs < 2 || st.RxBad != 0 || st.CarrierChanged != 0 {
		t.Errorf("counters after 2 s of fast LACP: %+v", st)
	}
	if !strings.Contains(got, "  TX PDUs: ") {
		t.Error("missing TX PDUs line")
	}
}

func TestPassivePartnerNegotiates(t *testing.T) {
	l, a, b := goldenPair(t, false)
	l.run(2 * time.Second)
	if a.Status() != StatusNegotiated || b.Status() != StatusNegotiated {
		t.Fatalf("status %v / %v", a.Status(), b.Status())
	}
	ms, _ := b.Member(0)
	if ms.Actor.State&StateActivity != 0 || !ms.MayEnable {
		t.Errorf("passive member: %+v", ms)
	}
}

func TestPassivePassiveStaysSilent(t *testing.T) {
	a := mustNew(t, Config{Name: "p", SystemID: sysA})
	b := mustNew(t, Config{Name: "q", SystemID: sysB})
	l := newLab(t, a, b)
	a.SetMember(0, MemberConfig{Name: "a0"}, l.now)
	b.SetMember(0, MemberConfig{Name: "b0"}, l.now)
	l.link(end{a, 0}, end{b, 0})
	l.run(5 * time.Second)
	if len(l.sent) != 0 {
		t.Errorf("passive ends transmitted: %v", l.sent)
	}
	if a.Status() != StatusConfigured || a.MayEnable(0) {
		t.Errorf("passive/passive: %v, may_enable %v", a.Status(), a.MayEnable(0))
	}
}

func TestExpireDefaultRejoin(t *testing.T) {
	l, a, b := goldenPair(t, true)
	l.run(2 * time.Second)
	// Partner stops sending on b0 (linked to a0).
	l.cut[end{b, 1}] = true
	l.run(2900 * time.Millisecond)
	if ms, _ := a.Member(0); ms.Status != "current" {
		t.Fatalf("expired before 3 s: %+v", ms)
	}
	l.run(300 * time.Millisecond)
	ms, _ := a.Member(0)
	if ms.Status != "expired" || ms.MayEnable || ms.Partner.State&StateSynchronization != 0 || ms.Partner.State&StateTimeout == 0 {
		t.Fatalf("after 3.2 s silence: %+v", ms)
	}
	if ms.Actor.State&StateExpired == 0 {
		t.Errorf("actor state lacks expired: %v", ms.Actor.State)
	}
	if a.Status() != StatusNegotiated || !a.MayEnable(1) {
		t.Errorf("other member must keep the bond up: %v %v", a.Status(), a.MayEnable(1))
	}
	l.run(3 * time.Second)
	ms, _ = a.Member(0)
	if ms.Status != "defaulted" || ms.Attached || ms.MayEnable || a.Current(0) {
		t.Fatalf("after 6 s silence: %+v", ms)
	}
	if ms.Partner != (Info{}) {
		t.Errorf("defaulted partner not cleared: %+v", ms.Partner)
	}
	st, _ := a.MemberStats(0)
	if st.LinkExpired != 1 || st.LinkDefaulted != 1 {
		t.Errorf("counters: %+v", st)
	}
	// The partner comes back.
	delete(l.cut, end{b, 1})
	l.run(2 * time.Second)
	ms, _ = a.Member(0)
	if ms.Status != "current" || !ms.Attached || !ms.MayEnable {
		t.Fatalf("did not rejoin: %+v", ms)
	}
}

func TestAllPartnersGone(t *testing.T) {
	for _, fallback := range []bool{false, true} {
		a := mustNew(t, Config{Name: "bond0", Active: true, Fast: true, SystemID: sysA, FallbackAB: fallback})
		l := newLab(t, a)
		a.SetMember(0, MemberConfig{Name: "a0"}, l.now)
		a.SetMember(1, MemberConfig{Name: "a1"}, l.now)
		a.SetCarrier(0, true, l.now)
		a.SetCarrier(1, true, l.now)
		l.run(2 * time.Second)
		// EXPIRED asks for fast PDUs: one per second.
		if n := l.sent[end{a, 0}]; n < 3 {
			t.Errorf("fallback=%v: %d PDUs in the first 2 s", fallback, n)
		}
		l.run(5 * time.Second)
		if a.Status() != StatusConfigured {
			t.Errorf("fallback=%v: status %v", fallback, a.Status())
		}
		for id := 0; id < 2; id++ {
			ms, _ := a.Member(id)
			if ms.Status != "defaulted" || ms.Attached != fallback || ms.MayEnable != fallback {
				t.Errorf("fallback=%v member %d: %+v", fallback, id, ms)
			}
		}
		// DEFAULTED partner info has a long timeout: one PDU per 30 s.
		before := l.sent[end{a, 0}]
		l.run(31 * time.Second)
		if n := l.sent[end{a, 0}] - before; n != 1 {
			t.Errorf("fallback=%v: %d PDUs in 31 s while defaulted, want 1", fallback, n)
		}
		show := string(a.AppendShow(nil))
		if !strings.Contains(show, "  status: active\n") || !strings.Contains(show, "member: a0: defaulted") {
			t.Errorf("show:\n%s", show)
		}
	}
}

// A member whose partner is another system than the lead's partner is not
// attached; neither is one whose partner uses another key.
func TestDisagreeingPartnerNotAttached(t *testing.T) {
	for _, tc := range []struct {
		name string
		sys  [6]byte
		key  uint16
	}{{"other system", sysC, 0}, {"other key", sysB, 99}} {
		a := mustNew(t, Config{Name: "bond0", Active: true, Fast: true, SystemID: sysA})
		b := mustNew(t, Config{Name: "bond1", Active: true, Fast: true, SystemID: sysB})
		c := mustNew(t, Config{Name: "odd", Active: true, Fast: true, SystemID: tc.sys})
		l := newLab(t, a, b, c)
		a.SetMember(0, MemberConfig{Name: "a0", PortID: 1}, l.now)
		a.SetMember(1, MemberConfig{Name: "a1", PortID: 2}, l.now)
		b.SetMember(0, MemberConfig{Name: "b0", PortID: 1}, l.now)
		c.SetMember(0, MemberConfig{Name: "c0", PortID: 7, Key: tc.key}, l.now)
		l.link(end{a, 0}, end{b, 0})
		l.run(2 * time.Second) // a0 negotiates first and leads
		l.link(end{a, 1}, end{c, 0})
		l.run(2 * time.Second)
		m0, _ := a.Member(0)
		m1, _ := a.Member(1)
		if !m0.MayEnable || m1.Attached || m1.MayEnable || m1.Status != "current" {
			t.Errorf("%s: a0 %+v\na1 %+v", tc.name, m0, m1)
		}
		if m1.Actor.State&StateSynchronization != 0 {
			t.Errorf("%s: detached member advertises sync", tc.name)
		}
	}
}

func TestLoopbackNotAttached(t *testing.T) {
	a := mustNew(t, Config{Name: "bond0", Active: true, Fast: true, SystemID: sysA})
	l := newLab(t, a)
	a.SetMember(0, MemberConfig{Name: "a0"}, l.now)
	a.SetMember(1, MemberConfig{Name: "a1"}, l.now)
	l.link(end{a, 0}, end{a, 1})
	l.run(3 * time.Second)
	if ms, _ := a.Member(0); ms.Status != "current" || ms.Attached || a.Status() != StatusConfigured {
		t.Errorf("looped member: %+v status %v", ms, a.Status())
	}
}

// With slow timing on both sides PDUs go every 30 s and a partner stays
// current for 90 s.
func TestSlowTiming(t *testing.T) {
	a := mustNew(t, Config{Name: "bond0", Active: true, SystemID: sysA})
	b := mustNew(t, Config{Name: "bond1", Active: true, SystemID: sysB})
	l := newLab(t, a, b)
	a.SetMember(0, MemberConfig{Name: "a0"}, l.now)
	b.SetMember(0, MemberConfig{Name: "b0"}, l.now)
	l.link(end{a, 0}, end{b, 0})
	l.run(10 * time.Second) // let the initial fast exchange settle
	before := l.sent[end{a, 0}]
	l.run(60 * time.Second)
	if n := l.sent[end{a, 0}] - before; n < 1 || n > 3 {
		t.Errorf("slow: %d PDUs in 60 s, want ~2", n)
	}
	if !a.MayEnable(0) {
		t.Fatal("slow pair not negotiated")
	}
	// The last PDU came at most 30 s ago: the 90 s timeout ends 60-90 s
	// from now.
	l.cut[end{b, 0}] = true
	l.run(59 * time.Second)
	if ms, _ := a.Member(0); ms.Status != "current" {
		t.Errorf("slow partner expired before 60 s: %+v", ms)
	}
	l.run(36 * time.Second)
	if ms, _ := a.Member(0); ms.Status == "current" {
		t.Errorf("slow partner still current after 95 s: %+v", ms)
	}
}

func TestCarrier(t *testing.T) {
	l, a, b := goldenPair(t, true)
	l.run(2 * time.Second)
	a.SetCarrier(0, false, l.now)
	ms, _ := a.Member(0)
	if ms.Status != "expired" || ms.MayEnable {
		t.Errorf("carrier down: %+v", ms)
	}
	// PDUs arriving while the carrier is down are ignored.
	l.run(4 * time.Second)
	if ms, _ := a.Member(0); ms.Status != "defaulted" {
		t.Errorf("carrier down 4 s: %+v", ms)
	}
	if n := l.sent[end{a, 0}]; n > 0 {
		before := n
		l.run(time.Second)
		if l.sent[end{a, 0}] != before {
			t.Error("transmitted with carrier down")
		}
	}
	a.SetCarrier(0, true, l.now)
	l.run(2 * time.Second)
	if ms, _ := a.Member(0); ms.Status != "current" || !ms.MayEnable {
		t.Errorf("carrier back: %+v", ms)
	}
	st, _ := a.MemberStats(0)
	if st.CarrierChanged != 2 {
		t.Errorf("CarrierChanged = %d, want 2", st.CarrierChanged)
	}
	_ = b
}

func TestMarkerResponder(t *testing.T) {
	a := mustNew(t, Config{Name: "bond0", Active: true, SystemID: sysA})
	a.SetMember(0, MemberConfig{Name: "a0", MAC: [6]byte{2, 0, 0, 0, 0, 0xa0}}, t0)
	a.SetCarrier(0, true, t0)
	req := Marker{RequesterPort: 3, RequesterSystem: sysB, TransactionID: 42}
	var p [PDULen]byte
	_ = req.Marshal(p[:])
	reply, err := a.Receive(0, AppendFrame(nil, sysB, p[:]), t0)
	if err != nil || reply == nil {
		t.Fatalf("no marker response: %v", err)
	}
	if string(reply[:6]) != string(SlowProtocolsMAC[:]) || reply[11] != 0xa0 {
		t.Errorf("response addresses: % x", reply[:12])
	}
	pl, _ := SlowPayload(reply)
	got, err := ParseMarker(pl)
	if err != nil || !got.Response || got.RequesterPort != 3 || got.RequesterSystem != sysB || got.TransactionID != 42 {
		t.Errorf("response: %+v %v", got, err)
	}
	// A response is counted and not answered.
	_ = got.Marshal(p[:])
	if r, err := a.Receive(0, AppendFrame(nil, sysB, p[:]), t0); r != nil || err != nil {
		t.Errorf("answered a response: %v %v", r, err)
	}
	st, _ := a.MemberStats(0)
	if st.RxMarkers != 2 || st.RxPDUs != 2 || st.RxBad != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestBadPDUCounted(t *testing.T) {
	a := mustNew(t, Config{Name: "bond0", Active: true, SystemID: sysA})
	a.SetMember(0, MemberConfig{Name: "a0"}, t0)
	a.SetCarrier(0, true, t0)
	if _, err := a.Receive(0, []byte{1, 2, 3}, t0); err == nil {
		t.Error("garbage accepted")
	}
	if _, err := a.Receive(5, nil, t0); err == nil {
		t.Error("unknown member accepted")
	}
	st, _ := a.MemberStats(0)
	if st.RxBad != 1 || st.RxPDUs != 1 {
		t.Errorf("stats %+v", st)
	}
	if _, err := New(Config{Name: "x"}); err == nil {
		t.Error("zero system id accepted")
	}
}

func TestRemoveMemberMovesKey(t *testing.T) {
	a := mustNew(t, Config{Name: "bond0", Active: true, SystemID: sysA})
	a.SetMember(0, MemberConfig{Name: "a0", PortID: 5}, t0)
	a.SetMember(1, MemberConfig{Name: "a1", PortID: 6}, t0)
	if !strings.Contains(string(a.AppendShow(nil)), "aggregation key: 5\n") {
		t.Error("key is not the first member's port id")
	}
	a.RemoveMember(0)
	s := string(a.AppendShow(nil))
	if !strings.Contains(s, "aggregation key: 6\n") || strings.Contains(s, "a0") || !strings.Contains(s, "sys_priority: 65535\n") {
		t.Errorf("after remove:\n%s", s)
	}
	a.RemoveMember(1)
	if !strings.Contains(string(a.AppendShow(nil)), "aggregation key: none\n") {
		t.Error("no member: key must be none")
	}
}

func TestNextRun(t *testing.T) {
	l, a, _ := goldenPair(t, true)
	l.run(2 * time.Second)
	next := a.NextRun()
	if next.Before(l.now) || next.After(l.now.Add(FastPeriod)) {
		t.Errorf("next run %v, now %v", next, l.now)
	}
}
