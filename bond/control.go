package bond

import (
	"encoding/binary"
	"fmt"
	"time"

	"gvswitch/lacp"
)

// LACPStatus is the bond's LACP state: off, configured or negotiated.
func (b *Bond) LACPStatus() lacp.Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lacpStatus
}

// LACPCurrent is the Interface row's lacp_current for member idx: ok is
// false when the bond has no LACP (the column is then empty).
func (b *Bond) LACPCurrent(idx int) (current, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lacp == nil || uint(idx) >= MaxMembers || b.members[idx] == nil {
		return false, false
	}
	return b.lacp.Current(idx), true
}

// LACP returns the bond's LACP state machine, nil for lacp=off.
func (b *Bond) LACP() *lacp.Aggregator {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lacp
}

// ActiveMemberChanged returns the active member's MAC in the
// "xx:xx:xx:xx:xx:xx" form of the Port row's bond_active_slave column when
// it changed since the last call (or force is set), as OVS's
// bond_get_changed_active_member. With no active member it is all zeros.
func (b *Bond) ActiveMemberChanged(force bool) (mac string, changed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.activeChanged && !force {
		return "", false
	}
	b.activeChanged = false
	return macString(b.activeMAC), true
}

// ActiveMember returns the active member's index, -1 if none.
func (b *Bond) ActiveMember() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.active
}

// MemberEnabled reports whether member idx may carry traffic.
func (b *Bond) MemberEnabled(idx int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return uint(idx) < MaxMembers && b.members[idx] != nil && b.members[idx].enabled
}

func (b *Bond) maySendLearningPackets() bool {
	return ((b.lacpStatus == lacp.StatusOff && b.cfg.Mode != BalanceTCP) ||
		(b.cfg.FallbackAB && b.lacpStatus == lacp.StatusConfigured)) && b.active >= 0
}

// ShouldSendLearningPackets reports (and clears) whether the active member
// changed or a member went down in a bond whose upstream does not know it
// is a bond (no LACP, or LACP fallen back to active-backup). If so, the
// control plane sends LearningPacket(mac, vlan) for every MAC the bridge
// has learned on a port other than this bond, so the upstream switch
// relearns where they are.
func (b *Bond) ShouldSendLearningPackets() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	send := b.sendLearning && b.maySendLearningPackets()
	b.sendLearning = false
	return send
}

// LearningPacket composes the gratuitous learning frame for mac on vlan
// (0: untagged): a broadcast RARP request (RFC 903) from mac, padded to the
// 60-byte Ethernet minimum, and the member to send it on (the one the
// bond would use for that source). ok is false when the bond sends none.
func (b *Bond) LearningPacket(mac [6]byte, vlan uint16) (f Frame, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.maySendLearningPackets() {
		return Frame{}, false
	}
	member := b.active
	if b.cfg.Mode == BalanceSLB && !b.fallingBackToAB() {
		member = int(b.tab.Load().bucket[uint8(HashSLB(mac, vlan, b.cfg.HashBasis))])
	}
	if member < 0 {
		return Frame{}, false
	}
	return Frame{Member: member, Frame: rarp(mac, vlan)}, true
}

func rarp(mac [6]byte, vlan uint16) []byte {
	p := make([]byte, 0, 64)
	p = append(p, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	p = append(p, mac[:]...)
	if vlan != 0 {
		p = binary.BigEndian.AppendUint16(p, 0x8100)
		p = binary.BigEndian.AppendUint16(p, vlan&0x0fff)
	}
	p = binary.BigEndian.AppendUint16(p, 0x8035) // RARP
	p = binary.BigEndian.AppendUint16(p, 1)      // hardware: Ethernet
	p = binary.BigEndian.AppendUint16(p, 0x0800) // protocol: IPv4
	p = append(p, 6, 4)
	p = binary.BigEndian.AppendUint16(p, 3) // RARP request
	p = append(p, mac[:]...)
	p = append(p, 0, 0, 0, 0)
	p = append(p, mac[:]...)
	p = append(p, 0, 0, 0, 0)
	for len(p) < 60 {
		p = append(p, 0)
	}
	return p
}

// SetActiveMember is bond/set-active-member: it returns "done" or
// "no change".
func (b *Bond) SetActiveMember(name string, now time.Time) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := b.lookupMember(name)
	if i < 0 {
		return "", ErrNoSuchMember
	}
	if !b.members[i].enabled {
		return "", ErrDisabledActive
	}
	if b.active == i {
		return "no change", nil
	}
	b.active = i
	b.sendLearning = true
	b.activeMemberChanged()
	b.publish()
	return "done", nil
}

// EnableMember is bond/enable-member and bond/disable-member: it forces the
// member's state until the next link or LACP change, and returns "enabled"
// or "disabled".
func (b *Bond) EnableMember(name string, enable bool, now time.Time) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := b.lookupMember(name)
	if i < 0 {
		return "", ErrNoSuchMember
	}
	b.enableMember(b.members[i], enable)
	// As in OVS the next run re-evaluates the link: a member disabled by
	// hand whose link is up comes back after updelay.
	if b.active < 0 || !b.members[b.active].enabled {
		b.chooseActive(now)
	}
	b.publish()
	if enable {
		return "enabled", nil
	}
	return "disabled", nil
}

// Migrate is bond/migrate: move one bucket of a balance-slb bond.
func (b *Bond) Migrate(hash int, name string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cfg.Mode != BalanceSLB {
		return "", ErrNotSLB
	}
	i := b.lookupMember(name)
	if i < 0 {
		return "", ErrNoSuchMember
	}
	if !b.members[i].enabled {
		return "", ErrMigrateDisabled
	}
	b.bucket[hash&(Buckets-1)] = int8(i)
	b.publish()
	return "migrated", nil
}

func macString(m [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}
