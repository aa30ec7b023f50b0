package bond

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"gvswitch/lacp"
)

const (
	// Buckets is the number of hash buckets (OVS BOND_BUCKETS).
	Buckets = 256
	// MaxMembers bounds member indexes.
	MaxMembers = 64
	// DefaultRebalanceInterval is other_config:bond-rebalance-interval's default.
	DefaultRebalanceInterval = 10 * time.Second
	minRebalanceInterval     = time.Second
)

// Errors. The texts of the first ones are OVS's unixctl error replies.
var (
	ErrNoSuchBond      = errors.New("no such bond")
	ErrNoSuchMember    = errors.New("no such member")
	ErrNoSuchLACP      = errors.New("no such lacp object")
	ErrDisabledActive  = errors.New("cannot make disabled member active")
	ErrMigrateDisabled = errors.New("cannot migrate to disabled member")
	ErrNotSLB          = errors.New("not an SLB bond")
	ErrBadHash         = errors.New("bad hash")
	ErrInvalidMAC      = errors.New("invalid mac")
	ErrInvalidVLAN     = errors.New("invalid vlan")
	ErrInvalidBasis    = errors.New("invalid basis")

	// ErrUnknownMode is returned by ParseMode.
	ErrUnknownMode = errors.New("bond: unknown bond_mode")
	// ErrTooManyMembers: more than MaxMembers members.
	ErrTooManyMembers = errors.New("bond: too many members")
	// ErrDuplicate: a bond with that name is already registered.
	ErrDuplicate = errors.New("bond: duplicate bond name")
)

// Mode is the Port's bond_mode.
type Mode uint8

const (
	ActiveBackup Mode = iota // default when bond_mode is unset
	BalanceSLB
	BalanceTCP
)

func (m Mode) String() string {
	switch m {
	case BalanceTCP:
		return "balance-tcp"
	case BalanceSLB:
		return "balance-slb"
	}
	return "active-backup"
}

// ParseMode parses a bond_mode value; "" is active-backup (the schema's
// default). An unknown value returns ErrUnknownMode; OVS then warns and
// uses active-backup.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "", "active-backup":
		return ActiveBackup, nil
	case "balance-slb":
		return BalanceSLB, nil
	case "balance-tcp":
		return BalanceTCP, nil
	}
	return ActiveBackup, fmt.Errorf("%w %q", ErrUnknownMode, s)
}

// Config is a bond's configuration from its Port row.
type Config struct {
	Name string
	Mode Mode
	// UpDelay and DownDelay are bond_updelay and bond_downdelay.
	UpDelay, DownDelay time.Duration
	HashBasis          uint32 // other_config:bond-hash-basis
	// RebalanceInterval is other_config:bond-rebalance-interval (pass
	// DefaultRebalanceInterval when unset); 0 disables rebalancing and
	// values below 1 s become 1 s.
	RebalanceInterval time.Duration
	// Primary is other_config:bond-primary, honoured in active-backup mode
	// and when falling back to it (FallbackAB), as OVS does.
	Primary          string
	AllMembersActive bool // other_config:all-members-active (balance-slb only)
	FallbackAB       bool // other_config:lacp-fallback-ab
	// LACP is nil for lacp=off (or unset). Its FallbackAB is taken from
	// the field above.
	LACP *lacp.Config
	// ActiveMemberMAC is the stored bond_active_slave: the member with
	// this MAC is preferred as the first active member.
	ActiveMemberMAC [6]byte
}

// MemberConfig configures one member (Interface) of the bond.
type MemberConfig struct {
	Name string
	MAC  [6]byte // the interface's Ethernet address
	// LACP holds lacp-port-id (else the OpenFlow port number),
	// lacp-port-priority and lacp-aggregation-key; Name and MAC are filled
	// in from above.
	LACP lacp.MemberConfig
}

// Frame is a frame the control plane must send on a member.
type Frame = lacp.Frame

// Verdict says what to do with a frame received on a member.
type Verdict uint8

const (
	Drop             Verdict = iota
	Accept                   // forward and learn
	AcceptIfNotMoved         // drop if the source MAC is learned on another port
)

// rx verdict bits, per member in the published table.
const (
	rxUnicast   = 1 << iota // accept frames to a unicast destination
	rxMulticast             // accept broadcast/multicast
	rxIfMoved               // balance-slb: drop if learned elsewhere
)

type hashKind uint8

const (
	hashNone hashKind = iota
	hashL4
	hashSLB
)

// table is the immutable snapshot the hot path reads.
type table struct {
	kind     hashKind
	balanced bool
	basis    uint32
	bucket   [Buckets]int8
	rx       [MaxMembers]uint8
}

type memberState struct {
	cfg          MemberConfig
	carrier      bool
	mayEnable    bool // LACP agrees (always true without LACP)
	enabled      bool
	delayPending bool
	delayExpires time.Time
	isPrimary    bool
}

// Bond is one bonded port.
type Bond struct {
	tab  atomic.Pointer[table]
	load [Buckets]atomic.Uint64 // bytes sent per bucket since the last halving

	mu            sync.Mutex
	cfg           Config
	members       [MaxMembers]*memberState
	order         []int // member indexes in the order they were added
	lacp          *lacp.Aggregator
	lacpStatus    lacp.Status
	active        int
	activeMAC     [6]byte
	activeChanged bool
	sendLearning  bool
	hashValid     bool // buckets in use (OVS: bond->hash != NULL)
	bucket        [Buckets]int8
	nextRebalance time.Time
	rr            int    // round-robin cursor for unassigned buckets
	enabledMask   uint64 // enabled members at the last publish
	recircID      uint32
	reg           *Registry // the registry holding the bond, if any
}

// New creates a bond with no members.
func New(cfg Config, now time.Time) (*Bond, error) {
	b := &Bond{active: -1}
	for i := range b.bucket {
		b.bucket[i] = -1
	}
	b.tab.Store(&table{})
	if err := b.Reconfigure(cfg, now); err != nil {
		return nil, err
	}
	return b, nil
}

// Name returns the bond (port) name.
func (b *Bond) Name() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cfg.Name
}

// Reconfigure applies a new configuration. Changing the mode, hash basis,
// rebalance interval or fallback resets the bucket assignment, as OVS does.
func (b *Bond) Reconfigure(cfg Config, now time.Time) error {
	if cfg.UpDelay < 0 {
		cfg.UpDelay = 0
	}
	if cfg.DownDelay < 0 {
		cfg.DownDelay = 0
	}
	if cfg.RebalanceInterval < 0 {
		cfg.RebalanceInterval = 0
	}
	if cfg.RebalanceInterval > 0 && cfg.RebalanceInterval < minRebalanceInterval {
		cfg.RebalanceInterval = minRebalanceInterval
	}
	if cfg.Mode != ActiveBackup && !cfg.FallbackAB {
		cfg.Primary = "" // bridge.c reads bond-primary only for these
	}
	if cfg.Mode != BalanceSLB {
		cfg.AllMembersActive = false
	}
	b.mu.Lock()
	reg := b.reg
	err := b.reconfigure(cfg, now)
	b.mu.Unlock()
	if reg != nil && err == nil {
		// A mode change gives or takes the recirculation ID.
		reg.Reassign(b)
	}
	return err
}

func (b *Bond) reconfigure(cfg Config, now time.Time) error {
	if cfg.LACP != nil {
		lc := *cfg.LACP
		lc.Name = cfg.Name
		lc.FallbackAB = cfg.FallbackAB
		if b.lacp == nil {
			a, err := lacp.New(lc)
			if err != nil {
				return fmt.Errorf("bond %s: %w", cfg.Name, err)
			}
			b.lacp = a
			for _, i := range b.order {
				b.lacpAdd(i, now)
			}
		} else if err := b.lacp.Configure(lc); err != nil {
			return fmt.Errorf("bond %s: %w", cfg.Name, err)
		}
	} else {
		b.lacp = nil
	}
	old := b.cfg
	first := old.Name == ""
	b.cfg = cfg
	if first {
		b.activeMAC = cfg.ActiveMemberMAC
	}
	for _, m := range b.members {
		if m != nil {
			m.isPrimary = cfg.Primary != "" && m.cfg.Name == cfg.Primary
		}
	}
	if first || old.Mode != cfg.Mode || old.HashBasis != cfg.HashBasis ||
		old.RebalanceInterval != cfg.RebalanceInterval || old.FallbackAB != cfg.FallbackAB ||
		cfg.Mode == ActiveBackup || !b.hashValid {
		b.entryReset(now)
	}
	b.run(now)
	return nil
}

func (b *Bond) lacpAdd(i int, now time.Time) {
	m := b.members[i]
	lc := m.cfg.LACP
	lc.Name, lc.MAC = m.cfg.Name, m.cfg.MAC
	b.lacp.SetMember(i, lc, now)
	b.lacp.SetCarrier(i, m.carrier, now)
}

// SetMember adds a member (or reconfigures the member of that name) with
// its current carrier state and returns its index.
func (b *Bond) SetMember(mc MemberConfig, carrier bool, now time.Time) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	idx := b.lookupMember(mc.Name)
	if idx < 0 {
		for i, m := range b.members {
			if m == nil {
				idx = i
				break
			}
		}
		if idx < 0 {
			return -1, fmt.Errorf("bond %s: member %s: %w (max %d)", b.cfg.Name, mc.Name, ErrTooManyMembers, MaxMembers)
		}
		m := &memberState{cfg: mc, carrier: carrier, mayEnable: b.lacp == nil}
		b.members[idx] = m
		b.order = append(b.order, idx)
		// OVS enables a new member at once if its carrier is up.
		b.enableMember(m, carrier)
	} else {
		b.members[idx].cfg = mc
	}
	m := b.members[idx]
	m.isPrimary = b.cfg.Primary != "" && mc.Name == b.cfg.Primary
	if b.lacp != nil {
		b.lacpAdd(idx, now)
	}
	b.run(now)
	return idx, nil
}

// RemoveMember removes member idx; its buckets move to other members.
func (b *Bond) RemoveMember(idx int, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if uint(idx) >= MaxMembers || b.members[idx] == nil {
		return
	}
	b.enableMember(b.members[idx], false)
	b.members[idx] = nil
	b.enabledMask &^= 1 << idx // a member reusing the slot is a newcomer
	for i, o := range b.order {
		if o == idx {
			b.order = append(b.order[:i], b.order[i+1:]...)
			break
		}
	}
	for i := range b.bucket {
		if int(b.bucket[i]) == idx {
			b.bucket[i] = -1
		}
	}
	if b.lacp != nil {
		b.lacp.RemoveMember(idx)
	}
	if b.active == idx {
		b.active = -1
		b.chooseActive(now)
		b.sendLearning = true
	}
	b.run(now)
}

// SetCarrier reports a member's link state (carrier). Its effect is
// delayed by updelay/downdelay.
func (b *Bond) SetCarrier(idx int, up bool, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if uint(idx) >= MaxMembers || b.members[idx] == nil {
		return
	}
	b.members[idx].carrier = up
	if b.lacp != nil {
		b.lacp.SetCarrier(idx, up, now)
	}
	b.run(now)
}

// HandleLACP processes a slow-protocols frame (EtherType 0x8809) received
// on member idx and returns the frames to send in response (LACPDUs whose
// content changed, Marker responses).
func (b *Bond) HandleLACP(idx int, frame []byte, now time.Time) ([]Frame, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lacp == nil {
		return nil, nil // lacp=off: OVS ignores LACPDUs
	}
	reply, err := b.lacp.Receive(idx, frame, now)
	if err != nil {
		return nil, fmt.Errorf("bond %s: %w", b.cfg.Name, err)
	}
	out := b.run(now)
	if reply != nil {
		out = append(out, Frame{Member: idx, Frame: reply})
	}
	return out, nil
}

// Run advances LACP and the delay and rebalance timers to now and returns
// the LACP frames to transmit.
func (b *Bond) Run(now time.Time) []Frame {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.run(now)
	b.rebalance(now)
	return out
}

// NextRun returns when Run must be called next at the latest.
func (b *Bond) NextRun(now time.Time) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	next := now.Add(time.Second)
	if b.lacp != nil {
		if t := b.lacp.NextRun(); t.Before(next) {
			next = t
		}
	}
	for _, m := range b.members {
		if m != nil && m.delayPending && m.delayExpires.Before(next) {
			next = m.delayExpires
		}
	}
	if b.isBalanced() && b.nextRebalance.Before(next) {
		next = b.nextRebalance
	}
	if next.Before(now) {
		next = now
	}
	return next
}

func (b *Bond) fallingBackToAB() bool {
	return b.cfg.FallbackAB && b.cfg.Mode != ActiveBackup && b.lacpStatus == lacp.StatusConfigured
}

func (b *Bond) isBalanced() bool {
	return b.cfg.RebalanceInterval != 0 && b.cfg.Mode != ActiveBackup &&
		!(b.cfg.FallbackAB && b.lacpStatus == lacp.StatusConfigured)
}

func (b *Bond) mayRecirc() bool {
	return b.cfg.Mode == BalanceTCP && b.recircID != 0 && !b.fallingBackToAB()
}

// entryReset clears the bucket assignment (and loads), or drops the
// buckets when the bond does not balance (OVS bond_entry_reset).
func (b *Bond) entryReset(now time.Time) {
	for i := range b.bucket {
		b.bucket[i] = -1
	}
	for i := range b.load {
		b.load[i].Store(0)
	}
	b.hashValid = b.cfg.Mode != ActiveBackup && !b.fallingBackToAB()
	if b.hashValid {
		b.nextRebalance = now.Add(b.cfg.RebalanceInterval)
	}
}

// run is OVS's bond_run: LACP first, then each member's link status, the
// active member, and the published tables.
func (b *Bond) run(now time.Time) []Frame {
	var out []Frame
	status := lacp.StatusOff
	for _, i := range b.order {
		b.members[i].mayEnable = true // without LACP only the carrier counts
	}
	if b.lacp != nil {
		out = b.lacp.Run(now)
		status = b.lacp.Status()
		for _, i := range b.order {
			b.members[i].mayEnable = b.lacp.MayEnable(i)
		}
	}
	if status != b.lacpStatus {
		b.lacpStatus = status
		if b.fallingBackToAB() || !b.hashValid {
			b.entryReset(now)
		}
	}
	primary := -1
	for _, i := range b.order {
		m := b.members[i]
		b.linkStatusUpdate(m, now)
		if b.cfg.Mode == ActiveBackup && m.isPrimary && m.enabled {
			primary = i
		}
	}
	if b.active < 0 || !b.members[b.active].enabled || (primary >= 0 && b.active != primary) {
		b.chooseActive(now)
	}
	b.publish()
	return out
}

// linkStatusUpdate applies updelay/downdelay (OVS bond_link_status_update):
// a change of "up" starts the delay; the member changes when it expires.
func (b *Bond) linkStatusUpdate(m *memberState, now time.Time) {
	up := m.carrier && m.mayEnable
	if (up == m.enabled) == m.delayPending {
		if up == m.enabled {
			m.delayPending = false
		} else {
			d := b.cfg.DownDelay
			if up {
				d = b.cfg.UpDelay
			}
			m.delayPending, m.delayExpires = true, now.Add(d)
		}
	}
	if m.delayPending && !now.Before(m.delayExpires) {
		b.enableMember(m, up)
	}
}

func (b *Bond) enableMember(m *memberState, enable bool) {
	m.delayPending = false
	if enable != m.enabled {
		m.enabled = enable
		if !enable {
			b.sendLearning = true
		}
	}
}

func (b *Bond) lookupMember(name string) int {
	for _, i := range b.order {
		if b.members[i].cfg.Name == name {
			return i
		}
	}
	return -1
}

func (b *Bond) memberByMAC(mac [6]byte) int {
	for _, i := range b.order {
		if b.members[i].cfg.MAC == mac {
			return i
		}
	}
	return -1
}

// chooseMember picks the active member: the enabled primary, else the
// last active one (by MAC, so it survives restarts through
// bond_active_slave), else any enabled member, else the member whose
// updelay ends first.
func (b *Bond) chooseMember() int {
	for _, i := range b.order {
		if m := b.members[i]; m.isPrimary && m.enabled {
			return i
		}
	}
	if i := b.memberByMAC(b.activeMAC); i >= 0 && b.members[i].enabled {
		return i
	}
	for _, i := range b.order {
		if b.members[i].enabled {
			return i
		}
	}
	best := -1
	for _, i := range b.order {
		m := b.members[i]
		if m.delayPending && m.carrier && m.mayEnable &&
			(best < 0 || m.delayExpires.Before(b.members[best].delayExpires)) {
			best = i
		}
	}
	return best
}

func (b *Bond) chooseActive(now time.Time) {
	old := b.active
	b.active = b.chooseMember()
	if b.active >= 0 {
		if m := b.members[b.active]; !m.enabled {
			// No member is enabled: skip the rest of this one's updelay.
			b.enableMember(m, true)
		}
		b.sendLearning = true
		if b.active != old {
			b.activeMemberChanged()
		}
	} else if old >= 0 {
		b.activeMemberChanged()
	}
}

func (b *Bond) activeMemberChanged() {
	if b.active >= 0 {
		b.activeMAC = b.members[b.active].cfg.MAC
	} else {
		b.activeMAC = [6]byte{}
	}
	b.activeChanged = true
}

func (b *Bond) enabledList() []int {
	var en []int
	for _, i := range b.order {
		if b.members[i].enabled {
			en = append(en, i)
		}
	}
	return en
}

// publish computes the hot-path table from the slow-path state: the
// output member of each bucket (OVS choose_output_member) and the receive
// verdict of each member (OVS bond_check_admissibility).
func (b *Bond) publish() {
	t := &table{basis: b.cfg.HashBasis, balanced: b.isBalanced()}
	mode := b.cfg.Mode
	drop := false
	if b.lacpStatus == lacp.StatusConfigured {
		// LACP configured but not negotiated: active-backup with
		// lacp-fallback-ab, else the bond carries nothing.
		if b.cfg.FallbackAB {
			mode = ActiveBackup
		} else {
			drop = true
		}
	}
	if mode == BalanceTCP && b.lacpStatus != lacp.StatusNegotiated {
		drop = true // balance-tcp requires negotiated LACP
	}
	switch {
	case drop:
		for i := range t.bucket {
			t.bucket[i] = -1
		}
	case mode == ActiveBackup:
		for i := range t.bucket {
			t.bucket[i] = int8(b.active)
		}
	default:
		if mode == BalanceTCP {
			t.kind = hashL4
		} else {
			t.kind = hashSLB
		}
		en := b.enabledList()
		var mask uint64
		for _, i := range en {
			mask |= 1 << i
		}
		// OVS assigns a bucket on its first packet, so members enabled
		// before traffic starts share the buckets. We assign eagerly: when
		// a member joins, buckets that carried nothing yet (or since their
		// load decayed away) are dealt out again over all enabled members.
		// Buckets in use keep their member; rebalancing moves those.
		grew := mask&^b.enabledMask != 0
		b.enabledMask = mask
		for i := range b.bucket {
			m := b.bucket[i]
			idle := grew && b.load[i].Load() == 0
			if len(en) > 0 && (m < 0 || !b.members[m].enabled || idle) {
				b.bucket[i] = int8(en[b.rr%len(en)])
				b.rr++
			}
			t.bucket[i] = b.bucket[i]
			if len(en) == 0 {
				t.bucket[i] = -1
			}
		}
	}
	for _, i := range b.order {
		t.rx[i] = b.admissibility(i)
	}
	b.tab.Store(t)
}

func (b *Bond) admissibility(i int) uint8 {
	m := b.members[i]
	switch b.lacpStatus {
	case lacp.StatusNegotiated:
		// The partner knows it is a bond; only disabled members drop.
		if m.enabled || m.mayEnable {
			return rxUnicast | rxMulticast
		}
		return 0
	case lacp.StatusConfigured:
		if !b.cfg.FallbackAB {
			return 0
		}
	case lacp.StatusOff:
		if b.cfg.Mode == BalanceTCP {
			return 0
		}
	}
	var v uint8 = rxUnicast
	// Broadcast and multicast only on the active member, so a flood sent
	// by the partner on every link is taken in once.
	if b.active == i || b.cfg.AllMembersActive {
		v |= rxMulticast
	}
	switch b.cfg.Mode {
	case BalanceTCP:
		if !b.cfg.FallbackAB {
			return 0
		}
		fallthrough
	case ActiveBackup:
		if b.active != i {
			return 0
		}
		return v
	default: // balance-slb
		return v | rxIfMoved
	}
}

// TxHash returns the hash the bond balances frame on: HashL4 for
// balance-tcp, HashSLB of the source MAC and vlan (the frame's logical
// VLAN, VID only) for balance-slb, 0 when all buckets lead to one member.
func (b *Bond) TxHash(frame []byte, vlan uint16) uint32 {
	t := b.tab.Load()
	switch t.kind {
	case hashL4:
		return HashL4(frame, t.basis)
	case hashSLB:
		if len(frame) < 12 {
			return 0
		}
		return HashSLB([6]byte(frame[6:12]), vlan, t.basis)
	}
	return 0
}

// TxMember returns the index of the member a frame with this hash goes
// out on, or -1 when the bond can send nothing (drop the frame).
func (b *Bond) TxMember(hash uint32) int {
	return int(b.tab.Load().bucket[uint8(hash)])
}

// Account adds bytes to the load of hash's bucket; rebalancing uses it.
// It does nothing when the bond does not balance.
func (b *Bond) Account(hash uint32, bytes int) {
	if b.tab.Load().balanced {
		b.load[uint8(hash)].Add(uint64(bytes))
	}
}

// RxAccept reports whether a frame received on member may enter the
// bridge. For balance-slb the bridge must also drop accepted frames whose
// source MAC was learned on another port (see RxVerdict).
func (b *Bond) RxAccept(member int, multicast bool) bool {
	if uint(member) >= MaxMembers {
		return false
	}
	v := b.tab.Load().rx[member]
	if multicast {
		return v&rxMulticast != 0
	}
	return v&rxUnicast != 0
}

// RxVerdict is RxAccept with balance-slb's extra condition spelled out.
func (b *Bond) RxVerdict(member int, multicast bool) Verdict {
	if uint(member) >= MaxMembers {
		return Drop
	}
	v := b.tab.Load().rx[member]
	bit := uint8(rxUnicast)
	if multicast {
		bit = rxMulticast
	}
	switch {
	case v&bit == 0:
		return Drop
	case v&rxIfMoved != 0:
		return AcceptIfNotMoved
	}
	return Accept
}
