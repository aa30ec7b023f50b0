package bond

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AppendShow appends the `bond/show PORT` text in OVS's layout (ofproto
// bond.c bond_print_details): the settings, then each member sorted by
// name, with per-bucket loads for balancing bonds.
func (b *Bond) AppendShow(p []byte, now time.Time) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := &b.cfg
	p = fmt.Appendf(p, "---- %s ----\n", c.Name)
	p = fmt.Appendf(p, "bond_mode: %s\n", c.Mode)
	if b.mayRecirc() {
		p = fmt.Appendf(p, "bond may use recirculation: yes, Recirc-ID : %d\n", b.recircID)
	} else {
		p = append(p, "bond may use recirculation: no, Recirc-ID : -1\n"...)
	}
	p = fmt.Appendf(p, "bond-hash-basis: %d\n", c.HashBasis)
	p = append(p, "lb_output action: disabled, bond-id: -1\n"...)
	if c.Mode == BalanceSLB {
		p = fmt.Appendf(p, "all members active: %t\n", c.AllMembersActive)
	}
	p = fmt.Appendf(p, "updelay: %d ms\n", c.UpDelay.Milliseconds())
	p = fmt.Appendf(p, "downdelay: %d ms\n", c.DownDelay.Milliseconds())
	if b.isBalanced() {
		p = fmt.Appendf(p, "next rebalance: %d ms\n", b.nextRebalance.Sub(now).Milliseconds())
	}
	p = fmt.Appendf(p, "lacp_status: %s\n", b.lacpStatus)
	p = fmt.Appendf(p, "lacp_fallback_ab: %t\n", c.FallbackAB)
	primary, found := "<none>", false
	if c.Primary != "" {
		primary = c.Primary
		for _, i := range b.order {
			found = found || b.members[i].isPrimary
		}
		if !found {
			primary += " (no such member)"
		}
	}
	p = fmt.Appendf(p, "active-backup primary: %s\n", primary)
	owner := "none"
	if i := b.memberByMAC(b.activeMAC); i >= 0 {
		owner = b.members[i].cfg.Name
	}
	p = fmt.Appendf(p, "active member mac: %s(%s)\n", macString(b.activeMAC), owner)

	idx := append([]int(nil), b.order...)
	sort.SliceStable(idx, func(x, y int) bool { return b.members[idx[x]].cfg.Name < b.members[idx[y]].cfg.Name })
	balanced := b.isBalanced()
	for _, i := range idx {
		m := b.members[i]
		state := "disabled"
		if m.enabled {
			state = "enabled"
		}
		p = fmt.Appendf(p, "\nmember %s: %s\n", m.cfg.Name, state)
		if i == b.active {
			p = append(p, "  active member\n"...)
		}
		if m.delayPending {
			which := "updelay"
			if m.enabled {
				which = "downdelay"
			}
			p = fmt.Appendf(p, "  %s expires in %d ms\n", which, m.delayExpires.Sub(now).Milliseconds())
		}
		p = fmt.Appendf(p, "  may_enable: %t\n", m.carrier && m.mayEnable)
		if !balanced || !b.hashValid {
			continue
		}
		for h := range b.bucket {
			if int(b.bucket[h]) != i {
				continue
			}
			if k := b.load[h].Load() / 1024; k > 0 {
				p = fmt.Appendf(p, "  hash %d: %d kB load\n", h, k)
			}
		}
	}
	return append(p, '\n')
}

// Registry is the set of bonds of the switch, for the unixctl commands.
// Command methods take the arguments after the command name and return the
// reply text, or an error whose text is OVS's error reply (the unixctl
// layer adds the trailing newline to both, as OVS does).
type Registry struct {
	mu     sync.Mutex
	bonds  []*Bond
	recirc uint32 // last recirculation ID handed out
}

// Add registers b. Balancing bonds get a recirculation ID, shown by
// bond/show and bond/list as OVS numbers them (1, 2, ... in creation order).
func (r *Registry) Add(b *Bond) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := b.Name()
	for _, o := range r.bonds {
		if o.Name() == name {
			return fmt.Errorf("%w %q", ErrDuplicate, name)
		}
	}
	r.bonds = append(r.bonds, b)
	r.assignRecirc(b)
	b.mu.Lock()
	b.reg = r
	b.mu.Unlock()
	return nil
}

// Reassign gives b a recirculation ID after a mode change if it now
// balances, or takes it away if it became active-backup. Reconfigure calls
// it for a registered bond.
func (r *Registry) Reassign(b *Bond) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.assignRecirc(b)
}

func (r *Registry) assignRecirc(b *Bond) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cfg.Mode != ActiveBackup && b.recircID == 0 {
		r.recirc++
		b.recircID = r.recirc
	} else if b.cfg.Mode == ActiveBackup {
		b.recircID = 0
	}
}

// Remove unregisters the bond called name.
func (r *Registry) Remove(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, b := range r.bonds {
		if b.Name() == name {
			r.bonds = append(r.bonds[:i], r.bonds[i+1:]...)
			b.mu.Lock()
			b.reg = nil
			b.mu.Unlock()
			return
		}
	}
}

// Lookup returns the bond called name, or nil.
func (r *Registry) Lookup(name string) *Bond {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.bonds {
		if b.Name() == name {
			return b
		}
	}
	return nil
}

func (r *Registry) all() []*Bond {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Bond(nil), r.bonds...)
}

// Show is `bond/show [port]`; without a port it shows every bond in
// registration order.
func (r *Registry) Show(args []string, now time.Time) (string, error) {
	var p []byte
	if len(args) > 0 {
		b := r.Lookup(args[0])
		if b == nil {
			return "", ErrNoSuchBond
		}
		return string(b.AppendShow(p, now)), nil
	}
	for _, b := range r.all() {
		p = b.AppendShow(p, now)
	}
	return string(p), nil
}

// List is `bond/list`: one tab-separated line per bond.
func (r *Registry) List() string {
	p := []byte("bond\ttype\trecircID\tmembers\n")
	for _, b := range r.all() {
		b.mu.Lock()
		p = fmt.Appendf(p, "%s\t%s\t%d\t", b.cfg.Name, b.cfg.Mode, b.recircID)
		for k, i := range b.order {
			if k > 0 {
				p = append(p, ", "...)
			}
			p = append(p, b.members[i].cfg.Name...)
		}
		p = append(p, '\n')
		b.mu.Unlock()
	}
	return string(p)
}

func (r *Registry) bondArg(args []string, n int) (*Bond, error) {
	if len(args) < n {
		return nil, fmt.Errorf("bond: %d arguments required", n)
	}
	b := r.Lookup(args[0])
	if b == nil {
		return nil, ErrNoSuchBond
	}
	return b, nil
}

// SetActiveMember is `bond/set-active-member port member`.
func (r *Registry) SetActiveMember(args []string, now time.Time) (string, error) {
	b, err := r.bondArg(args, 2)
	if err != nil {
		return "", err
	}
	return b.SetActiveMember(args[1], now)
}

// EnableMember is `bond/enable-member port member` (enable) and
// `bond/disable-member port member`.
func (r *Registry) EnableMember(args []string, enable bool, now time.Time) (string, error) {
	b, err := r.bondArg(args, 2)
	if err != nil {
		return "", err
	}
	return b.EnableMember(args[1], enable, now)
}

// Migrate is `bond/migrate port hash member`.
func (r *Registry) Migrate(args []string) (string, error) {
	b, err := r.bondArg(args, 3)
	if err != nil {
		return "", err
	}
	if args[1] == "" || strings.Trim(args[1], "0123456789") != "" {
		return "", ErrBadHash
	}
	h, err := strconv.ParseUint(args[1], 10, 64)
	if err != nil {
		h = 0 // OVS's atoi saturates; only the low 8 bits matter
	}
	return b.Migrate(int(h&(Buckets-1)), args[2])
}

// HashCommand is `bond/hash mac [vlan] [basis]`: the balance-slb bucket
// of mac on vlan.
func HashCommand(args []string) (string, error) {
	if len(args) < 1 {
		return "", ErrInvalidMAC
	}
	var vlan, basis uint64
	var err error
	if len(args) > 1 {
		if vlan, err = strconv.ParseUint(args[1], 10, 32); err != nil {
			return "", ErrInvalidVLAN
		}
	}
	if len(args) > 2 {
		if basis, err = strconv.ParseUint(args[2], 10, 32); err != nil {
			return "", ErrInvalidBasis
		}
	}
	mac, ok := parseMAC(args[0])
	if !ok {
		return "", ErrInvalidMAC
	}
	return strconv.Itoa(int(HashSLB(mac, uint16(vlan), uint32(basis)) & (Buckets - 1))), nil
}

func parseMAC(s string) ([6]byte, bool) {
	var m [6]byte
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return m, false
	}
	for i, x := range parts {
		if len(x) < 1 || len(x) > 2 {
			return m, false
		}
		v, err := strconv.ParseUint(x, 16, 8)
		if err != nil {
			return m, false
		}
		m[i] = byte(v)
	}
	return m, true
}

// LACPShow is `lacp/show [port]` over the bonds that run LACP.
func (r *Registry) LACPShow(args []string) (string, error) {
	return r.lacpText(args, false)
}

// LACPShowStats is `lacp/show-stats [port]`.
func (r *Registry) LACPShowStats(args []string) (string, error) {
	return r.lacpText(args, true)
}

func (r *Registry) lacpText(args []string, stats bool) (string, error) {
	var p []byte
	found := false
	for _, b := range r.all() {
		a := b.LACP()
		if a == nil || (len(args) > 0 && b.Name() != args[0]) {
			continue
		}
		found = true
		if stats {
			p = a.AppendShowStats(p)
		} else {
			p = a.AppendShow(p)
		}
	}
	if len(args) > 0 && !found {
		return "", ErrNoSuchLACP
	}
	return string(p), nil
}
