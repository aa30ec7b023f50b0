package lacp

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Timer values of 802.1AX-2014 6.4.4 (Fast_Periodic_Time 1 s,
// Slow_Periodic_Time 30 s, Short/Long_Timeout_Time = 3 × those).
const (
	FastPeriod     = time.Second
	SlowPeriod     = 30 * time.Second
	TimeoutFactor  = 3
	expiredTimeout = TimeoutFactor * FastPeriod // EXPIRED lasts a short timeout
)

// ErrNoMember is returned for a member id that was never added (or was removed).
var ErrNoMember = errors.New("lacp: no such member")

// ErrZeroSystemID is returned by New and Configure for an all-zero system ID,
// which 802.1AX-2014 6.3.2 does not allow (and OVS refuses).
var ErrZeroSystemID = errors.New("lacp: system ID must be a nonzero MAC address")

// Status is the aggregate's negotiation state, as bond/show prints it.
type Status uint8

const (
	StatusOff        Status = iota // LACP not configured on the port
	StatusConfigured               // configured, no partner agreed yet
	StatusNegotiated               // at least one member attached to a partner
)

func (s Status) String() string {
	switch s {
	case StatusNegotiated:
		return "negotiated"
	case StatusConfigured:
		return "configured"
	case StatusOff:
		return "off"
	}
	return "<unknown>"
}

// Config is the port-level LACP configuration (the Port row's `lacp` column
// and `other_config:lacp-*` keys).
type Config struct {
	Name     string  // port name, used in show output
	Active   bool    // lacp=active (true) or lacp=passive
	Fast     bool    // other_config:lacp-time=fast
	SystemID [6]byte // other_config:lacp-system-id, default the bridge MAC; nonzero
	// SystemPriority is other_config:lacp-system-priority; 0 selects OVS's
	// default, 65534 for a port with several members and 65535 otherwise
	// ("prefer bondable links").
	SystemPriority uint16
	FallbackAB     bool // other_config:lacp-fallback-ab
}

// MemberConfig configures one member (an Interface of the port).
type MemberConfig struct {
	Name string
	// PortID is other_config:lacp-port-id, else the interface's OpenFlow
	// port number. 0 becomes id+1.
	PortID uint16
	// PortPriority is other_config:lacp-port-priority; 0 means 65535.
	PortPriority uint16
	// Key is other_config:lacp-aggregation-key; 0 means "the port ID of the
	// first member", as OVS does.
	Key uint16
	// MAC is the member's Ethernet address, the source of its PDUs. Zero
	// uses the system ID.
	MAC [6]byte
}

// Stats are a member's counters, as `lacp/show-stats` prints them.
type Stats struct {
	TxPDUs, RxPDUs, RxBad, RxMarkers  uint32
	LinkExpired, LinkDefaulted        uint32
	CarrierChanged, TxMarkerResponses uint32
}

type rxState uint8

const (
	current rxState = iota
	expired
	defaulted
)

type member struct {
	id       int
	cfg      MemberConfig
	status   rxState
	attached bool
	carrier  bool
	known    bool // carrier reported at least once
	partner  Info
	nttActor Info      // the partner's view of us; if it differs from our actor info we must transmit
	txAt     time.Time // next periodic transmission; zero = now
	rxAt     time.Time // receive timeout; zero = already expired
	stats    Stats
}

// Frame is a frame to send on a member.
type Frame struct {
	Member int
	Frame  []byte
}

// Aggregator is the LACP state of one bond port and its members.
type Aggregator struct {
	mu         sync.Mutex
	cfg        Config
	members    []*member // in registration order
	keyMember  *member   // whose port ID is the default key
	negotiated bool
	update     bool // selection must be recomputed
}

// New returns an Aggregator with no members.
func New(cfg Config) (*Aggregator, error) {
	a := &Aggregator{}
	if err := a.Configure(cfg); err != nil {
		return nil, err
	}
	return a, nil
}

// Configure changes the port-level settings. A new system ID, priority or
// fallback setting re-runs selection.
func (a *Aggregator) Configure(cfg Config) error {
	if cfg.SystemID == ([6]byte{}) {
		return fmt.Errorf("lacp: port %s: %w", cfg.Name, ErrZeroSystemID)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if cfg.SystemID != a.cfg.SystemID || cfg.SystemPriority != a.cfg.SystemPriority || cfg.FallbackAB != a.cfg.FallbackAB {
		a.update = true
	}
	a.cfg = cfg
	return nil
}

// Name returns the port name.
func (a *Aggregator) Name() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg.Name
}

func (a *Aggregator) lookup(id int) *member {
	for _, m := range a.members {
		if m.id == id {
			return m
		}
	}
	return nil
}

func (a *Aggregator) sysPriority() uint16 {
	if a.cfg.SystemPriority != 0 {
		return a.cfg.SystemPriority
	}
	if len(a.members) > 1 {
		return 65534
	}
	return 65535
}

// SetMember adds member id, or reconfigures it. A new member starts
// DEFAULTED with carrier down; changing its port ID, priority or key (which
// a new member always does) makes it EXPIRED when the port is active or
// negotiated, so it asks its partner for fast PDUs at once.
func (a *Aggregator) SetMember(id int, mc MemberConfig, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if mc.PortID == 0 {
		mc.PortID = uint16(id + 1)
	}
	if mc.PortPriority == 0 {
		mc.PortPriority = 65535
	}
	m := a.lookup(id)
	if m == nil {
		m = &member{id: id}
		a.members = append(a.members, m)
		a.setDefaulted(m)
		if a.keyMember == nil {
			a.keyMember = m
		}
	}
	old := m.cfg
	m.cfg = mc
	if old.PortID != mc.PortID || old.PortPriority != mc.PortPriority || old.Key != mc.Key {
		a.update = true
		if a.cfg.Active || a.negotiated {
			a.setExpired(m, now)
		}
	}
}

// RemoveMember forgets member id.
func (a *Aggregator) RemoveMember(id int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, m := range a.members {
		if m.id != id {
			continue
		}
		a.members = append(a.members[:i], a.members[i+1:]...)
		if a.keyMember == m {
			a.keyMember = nil
			if len(a.members) > 0 {
				a.keyMember = a.members[0]
			}
		}
		a.update = true
		return
	}
}

// SetCarrier reports member id's link state; the first report for a member
// is its initial state. Any later change expires a
// CURRENT member (and any member of an active port), so the partner is
// asked for fresh information; PDUs received while the carrier is down are
// dropped.
func (a *Aggregator) SetCarrier(id int, up bool, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.lookup(id)
	if m == nil {
		return
	}
	if !m.known {
		// The first report is the initial state, not a change.
		m.known, m.carrier = true, up
		return
	}
	if m.carrier == up {
		return
	}
	if m.status == current || a.cfg.Active {
		a.setExpired(m, now)
	}
	m.carrier = up
	m.stats.CarrierChanged++
}

// setDefaulted enters DEFAULTED: 802.1AX-2014 6.4.12 recordDefault, the
// partner info becomes the (all-zero) administrative default.
func (a *Aggregator) setDefaulted(m *member) {
	m.partner = Info{}
	m.status = defaulted
	a.update = true
}

// setExpired enters EXPIRED: 802.1AX-2014 6.4.12, the partner is no longer
// in sync and is asked for short timeouts (Partner_Oper_Port_State.
// LACP_Timeout = Short), and the current-while timer restarts short.
func (a *Aggregator) setExpired(m *member, now time.Time) {
	m.status = expired
	m.partner.State |= StateTimeout
	m.partner.State &^= StateSynchronization
	m.rxAt = now.Add(expiredTimeout)
}

// Receive processes one slow-protocols frame (EtherType 0x8809, the whole
// Ethernet frame) that arrived on member id. For a Marker Information PDU
// it returns the Marker Response frame to send back on that member
// (802.1AX-2014 6.5.4.2); otherwise reply is nil. A frame that is not a
// valid LACPDU or Marker PDU is counted as bad and its error returned.
func (a *Aggregator) Receive(id int, frame []byte, now time.Time) (reply []byte, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.lookup(id)
	if m == nil {
		return nil, fmt.Errorf("lacp: port %s: member %d: %w", a.cfg.Name, id, ErrNoMember)
	}
	m.stats.RxPDUs++
	payload, err := SlowPayload(frame)
	if err == nil && len(payload) > 0 && payload[0] == SubtypeMark {
		mk, err := ParseMarker(payload)
		if err != nil {
			m.stats.RxBad++
			return nil, fmt.Errorf("lacp: port %s: member %s: %w", a.cfg.Name, m.cfg.Name, err)
		}
		m.stats.RxMarkers++
		if mk.Response {
			return nil, nil
		}
		mk.Response = true
		var pdu [PDULen]byte
		_ = mk.Marshal(pdu[:])
		m.stats.TxMarkerResponses++
		return AppendFrame(make([]byte, 0, FrameLen), a.srcMAC(m), pdu[:]), nil
	}
	var pdu PDU
	if err == nil {
		pdu, err = ParsePDU(payload)
	}
	if err != nil {
		m.stats.RxBad++
		return nil, fmt.Errorf("lacp: port %s: member %s: %w", a.cfg.Name, m.cfg.Name, err)
	}
	if !m.carrier {
		// The link may report carrier late; a PDU on a down link is not
		// trusted until it comes up (as OVS does).
		return nil, nil
	}
	// 802.1AX-2014 6.4.12 CURRENT: recordPDU, start current_while_timer
	// with the timeout we asked for.
	m.status = current
	m.rxAt = now.Add(TimeoutFactor * a.period())
	m.nttActor = pdu.Partner
	if m.partner != pdu.Actor {
		m.partner = pdu.Actor
		a.update = true
	}
	return nil, nil
}

func (a *Aggregator) period() time.Duration {
	if a.cfg.Fast {
		return FastPeriod
	}
	return SlowPeriod
}

func (a *Aggregator) srcMAC(m *member) [6]byte {
	if m.cfg.MAC != ([6]byte{}) {
		return m.cfg.MAC
	}
	return a.cfg.SystemID
}

// Run advances the timers to now: partners whose information timed out go
// CURRENT → EXPIRED → DEFAULTED, selection is recomputed if anything
// changed, and a LACPDU is composed for every member that may transmit and
// whose periodic timer expired or whose partner has a stale view of it
// (Need To Transmit, 802.1AX-2014 6.4.16).
func (a *Aggregator) Run(now time.Time) []Frame {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range a.members {
		if now.Before(m.rxAt) {
			continue
		}
		switch m.status {
		case current:
			a.setExpired(m, now)
			m.stats.LinkExpired++
		case expired:
			a.setDefaulted(m)
			m.stats.LinkDefaulted++
		}
	}
	if a.update {
		a.updateAttached()
	}
	var out []Frame
	for _, m := range a.members {
		if !a.mayTx(m) {
			continue
		}
		actor := a.actorInfo(m)
		if now.Before(m.txAt) && txEqual(&actor, &m.nttActor) {
			continue
		}
		m.nttActor = actor
		pdu := PDU{Version: 1, Actor: actor, Partner: m.partner}
		var b [PDULen]byte
		_ = pdu.Marshal(b[:])
		out = append(out, Frame{Member: m.id, Frame: AppendFrame(make([]byte, 0, FrameLen), a.srcMAC(m), b[:])})
		m.stats.TxPDUs++
		// 802.1AX-2014 6.4.13: the periodic rate is the one the partner asked
		// for with its LACP_Timeout bit.
		if m.partner.State&StateTimeout != 0 {
			m.txAt = now.Add(FastPeriod)
		} else {
			m.txAt = now.Add(SlowPeriod)
		}
	}
	return out
}

// NextRun returns when Run must be called next at the latest (a transmit
// or receive timer). The zero time means "now"; with no member it returns
// the zero time too, which callers may treat as "no deadline".
func (a *Aggregator) NextRun() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	var next time.Time
	first := true
	consider := func(t time.Time) {
		if first || t.Before(next) {
			next, first = t, false
		}
	}
	for _, m := range a.members {
		if a.mayTx(m) {
			consider(m.txAt)
		}
		if m.status != defaulted {
			consider(m.rxAt)
		}
	}
	return next
}

// mayTx: a member transmits when its carrier is up and the port is active
// or the partner has spoken (a passive port never starts, 802.1AX-2014
// 6.4.13 "LACP_Activity").
func (a *Aggregator) mayTx(m *member) bool {
	return m.carrier && (a.cfg.Active || m.status != defaulted)
}

func (a *Aggregator) key() uint16 {
	km := a.keyMember
	if km == nil {
		return 0
	}
	if km.cfg.Key != 0 {
		return km.cfg.Key
	}
	return km.cfg.PortID
}

// actorInfo is our Actor Information for member m (802.1AX-2014 6.4.2.3).
func (a *Aggregator) actorInfo(m *member) Info {
	var s State
	if a.cfg.Active {
		s |= StateActivity
	}
	if a.cfg.Fast {
		s |= StateTimeout
	}
	if m.attached {
		s |= StateSynchronization
	}
	switch m.status {
	case defaulted:
		s |= StateDefaulted
	case expired:
		s |= StateExpired
	}
	if len(a.members) > 1 {
		s |= StateAggregation
	}
	if m.attached || !a.negotiated {
		s |= StateCollecting | StateDistributing
	}
	return Info{
		SystemPriority: a.sysPriority(),
		SystemID:       a.cfg.SystemID,
		Key:            a.key(),
		PortPriority:   m.cfg.PortPriority,
		Port:           m.cfg.PortID,
		State:          s,
	}
}

// priority returns m's link priority key: the port identity of whichever
// system has the better system identifier (802.1AX-2014 6.4.14.2: the
// system with the numerically lower System Priority, then MAC, decides).
// Lower compares better.
func (a *Aggregator) priority(m *member) [12]byte {
	var info Info
	sp, pp := a.sysPriority(), m.partner.SystemPriority
	if sp < pp || (sp == pp && bytes.Compare(a.cfg.SystemID[:], m.partner.SystemID[:]) < 0) {
		info = a.actorInfo(m)
	} else {
		info = m.partner
	}
	var k [12]byte
	k[0], k[1] = byte(info.SystemPriority>>8), byte(info.SystemPriority)
	copy(k[2:8], info.SystemID[:])
	k[8], k[9] = byte(info.PortPriority>>8), byte(info.PortPriority)
	k[10], k[11] = byte(info.Port>>8), byte(info.Port)
	return k
}

func less(x, y [12]byte) bool { return bytes.Compare(x[:], y[:]) < 0 }

// mayEnable: a member may carry traffic when it is attached and its partner
// is in sync, or (with lacp-fallback-ab) when it has no partner at all.
func (a *Aggregator) mayEnable(m *member) bool {
	return m.attached && (m.partner.State&StateSynchronization != 0 ||
		(a.cfg.FallbackAB && m.status == defaulted))
}

// updateAttached is selection (802.1AX-2014 6.4.14): every member whose
// partner is the same system, with the same key, as the lead member's
// partner is attached; the lead is the working (current, attached) member
// with the best priority, or the best-priority candidate when none works.
// Members looped back to ourselves are never attached; DEFAULTED members
// are attached only with lacp-fallback-ab, and only while nothing is
// negotiated.
func (a *Aggregator) updateAttached() {
	a.update = false
	var lead, leadCurrent *member
	var leadPri [12]byte
	for _, m := range a.members {
		if m.status == current && m.attached {
			pri := a.priority(m)
			if leadCurrent == nil || less(pri, leadPri) {
				leadCurrent, lead, leadPri = m, m, pri
			}
		}
	}
	for _, m := range a.members {
		m.attached = false
		if m.partner.SystemID == a.cfg.SystemID {
			continue // loopback: connected to our own bond
		}
		if m.status == defaulted {
			m.attached = a.cfg.FallbackAB
			continue
		}
		if leadCurrent == nil || m.partner.SystemID == leadCurrent.partner.SystemID {
			m.attached = true
		}
		if m.attached && leadCurrent == nil {
			if pri := a.priority(m); lead == nil || less(pri, leadPri) {
				lead, leadPri = m, pri
			}
		}
	}
	a.negotiated = lead != nil
	if lead == nil {
		return
	}
	for _, m := range a.members {
		if (a.cfg.FallbackAB && m.status == defaulted) ||
			m.partner.Key != lead.partner.Key || m.partner.SystemID != lead.partner.SystemID {
			m.attached = false
		}
	}
}

// txEqual reports whether two actor infos differ in nothing that requires
// a transmission (802.1AX-2014 6.4.9 "Need To Transmit": port, priorities,
// system, key, and the Activity, Timeout, Synchronization and Aggregation
// bits).
func txEqual(x, y *Info) bool {
	const mask = StateActivity | StateTimeout | StateSynchronization | StateAggregation
	return (x.State^y.State)&mask == 0 && x.Port == y.Port && x.PortPriority == y.PortPriority &&
		x.Key == y.Key && x.SystemPriority == y.SystemPriority && x.SystemID == y.SystemID
}

// Status reports whether negotiation succeeded (as of the last Run).
func (a *Aggregator) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.negotiated {
		return StatusNegotiated
	}
	return StatusConfigured
}

// MayEnable reports whether member id may carry traffic as far as LACP is
// concerned (attached, and partner in sync or fallback-ab with no partner).
// An unknown member may not.
func (a *Aggregator) MayEnable(id int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.lookup(id)
	return m != nil && a.mayEnable(m)
}

// Current reports whether member id has partner information, i.e. is not
// DEFAULTED: the Interface row's lacp_current column.
func (a *Aggregator) Current(id int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.lookup(id)
	return m != nil && m.status != defaulted
}

// MemberStats returns member id's counters.
func (a *Aggregator) MemberStats(id int) (Stats, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.lookup(id)
	if m == nil {
		return Stats{}, false
	}
	return m.stats, true
}

// MemberState is a snapshot of one member for callers and tests.
type MemberState struct {
	Name      string
	Status    string // "current", "expired" or "defaulted"
	Attached  bool
	MayEnable bool
	Actor     Info
	Partner   Info
}

// Member returns a snapshot of member id.
func (a *Aggregator) Member(id int) (MemberState, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.lookup(id)
	if m == nil {
		return MemberState{}, false
	}
	return a.snapshot(m), true
}

func (a *Aggregator) snapshot(m *member) MemberState {
	return MemberState{
		Name:      m.cfg.Name,
		Status:    [...]string{"current", "expired", "defaulted"}[m.status],
		Attached:  m.attached,
		MayEnable: a.mayEnable(m),
		Actor:     a.actorInfo(m),
		Partner:   m.partner,
	}
}

func (a *Aggregator) sorted() []*member {
	ms := append([]*member(nil), a.members...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].cfg.Name < ms[j].cfg.Name })
	return ms
}

func macString(m [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

func appendState(b []byte, s State) []byte {
	for i, n := range stateNames {
		if s&(1<<i) != 0 {
			b = append(b, ' ')
			b = append(b, n...)
		}
	}
	return b
}

// AppendShow appends the `lacp/show PORT` text for this port, in OVS's
// layout: a header, then each member sorted by name with its actor and
// partner information.
func (a *Aggregator) AppendShow(b []byte) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	b = fmt.Appendf(b, "---- %s ----\n", a.cfg.Name)
	b = append(b, "  status: "...)
	if a.cfg.Active {
		b = append(b, "active"...)
	} else {
		b = append(b, "passive"...)
	}
	if a.negotiated {
		b = append(b, " negotiated"...)
	}
	b = append(b, '\n')
	b = fmt.Appendf(b, "  sys_id: %s\n", macString(a.cfg.SystemID))
	b = fmt.Appendf(b, "  sys_priority: %d\n", a.sysPriority())
	if a.keyMember != nil {
		b = fmt.Appendf(b, "  aggregation key: %d\n", a.key())
	} else {
		b = append(b, "  aggregation key: none\n"...)
	}
	if a.cfg.Fast {
		b = append(b, "  lacp_time: fast\n"...)
	} else {
		b = append(b, "  lacp_time: slow\n"...)
	}
	for _, m := range a.sorted() {
		s := a.snapshot(m)
		att := "detached"
		if s.Attached {
			att = "attached"
		}
		b = fmt.Appendf(b, "\nmember: %s: %s %s\n", s.Name, s.Status, att)
		b = fmt.Appendf(b, "  port_id: %d\n", m.cfg.PortID)
		b = fmt.Appendf(b, "  port_priority: %d\n", m.cfg.PortPriority)
		b = fmt.Appendf(b, "  may_enable: %t\n", s.MayEnable)
		b = appendInfo(b, "actor", &s.Actor)
		b = append(b, '\n')
		b = appendInfo(b, "partner", &s.Partner)
	}
	return b
}

func appendInfo(b []byte, who string, in *Info) []byte {
	if who == "actor" {
		b = append(b, '\n')
	}
	b = fmt.Appendf(b, "  %s sys_id: %s\n", who, macString(in.SystemID))
	b = fmt.Appendf(b, "  %s sys_priority: %d\n", who, in.SystemPriority)
	b = fmt.Appendf(b, "  %s port_id: %d\n", who, in.Port)
	b = fmt.Appendf(b, "  %s port_priority: %d\n", who, in.PortPriority)
	b = fmt.Appendf(b, "  %s key: %d\n", who, in.Key)
	b = fmt.Appendf(b, "  %s state:", who)
	b = appendState(b, in.State)
	return append(b, '\n')
}

// AppendShowStats appends the `lacp/show-stats PORT` text in OVS's layout.
func (a *Aggregator) AppendShowStats(b []byte) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	b = fmt.Appendf(b, "---- %s statistics ----\n", a.cfg.Name)
	for _, m := range a.sorted() {
		s := &m.stats
		b = fmt.Appendf(b, "\nmember: %s:\n", m.cfg.Name)
		b = fmt.Appendf(b, "  TX PDUs: %d\n", s.TxPDUs)
		b = fmt.Appendf(b, "  RX PDUs: %d\n", s.RxPDUs)
		b = fmt.Appendf(b, "  RX Bad PDUs: %d\n", s.RxBad)
		b = fmt.Appendf(b, "  RX Marker Request PDUs: %d\n", s.RxMarkers)
		b = fmt.Appendf(b, "  Link Expired: %d\n", s.LinkExpired)
		b = fmt.Appendf(b, "  Link Defaulted: %d\n", s.LinkDefaulted)
		b = fmt.Appendf(b, "  Carrier Status Changed: %d\n", s.CarrierChanged)
	}
	return b
}
