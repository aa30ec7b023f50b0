package dataplane

import (
	"errors"
	"fmt"
)

// VLANMode is a bridge port's Port vlan_mode (vswitch.xml, "VLAN
// Configuration").
type VLANMode uint8

const (
	// VLANModeDefault is an empty vlan_mode: access when the port has a
	// tag, trunk otherwise.
	VLANModeDefault VLANMode = iota
	// VLANAccess: the port carries one VLAN (tag) untagged; tagged frames
	// with a nonzero VID are dropped on input.
	VLANAccess
	// VLANTrunk: the port carries the VLANs of trunks (all when empty),
	// tagged; untagged frames belong to VLAN 0.
	VLANTrunk
	// VLANNativeTagged: like trunk, plus untagged input frames belong to
	// the native VLAN (tag); output in the native VLAN stays tagged.
	VLANNativeTagged
	// VLANNativeUntagged: like native-tagged, but output in the native
	// VLAN is sent untagged.
	VLANNativeUntagged
)

// ErrUnsupported is wrapped for configuration gvswitch does not implement.
var ErrUnsupported = errors.New("not supported by gvswitch")

// ErrBadVLANConfig is wrapped for an invalid VLAN configuration.
var ErrBadVLANConfig = errors.New("bad VLAN configuration")

// ParseVLANMode parses a Port vlan_mode value ("" is VLANModeDefault).
func ParseVLANMode(s string) (VLANMode, error) {
	switch s {
	case "":
		return VLANModeDefault, nil
	case "access":
		return VLANAccess, nil
	case "trunk":
		return VLANTrunk, nil
	case "native-tagged":
		return VLANNativeTagged, nil
	case "native-untagged":
		return VLANNativeUntagged, nil
	case "dot1q-tunnel":
		return 0, fmt.Errorf("vlan_mode %q: %w", s, ErrUnsupported)
	}
	return 0, fmt.Errorf("vlan_mode %q: %w", s, ErrBadVLANConfig)
}

func (m VLANMode) String() string {
	switch m {
	case VLANAccess:
		return "access"
	case VLANTrunk:
		return "trunk"
	case VLANNativeTagged:
		return "native-tagged"
	case VLANNativeUntagged:
		return "native-untagged"
	}
	return ""
}

// vlanSet is a bitmap of the 4096 VLAN IDs.
type vlanSet [64]uint64

func (s *vlanSet) has(v uint16) bool { return s[(v>>6)&63]&(1<<(v&63)) != 0 }
func (s *vlanSet) set(v uint16)      { s[(v>>6)&63] |= 1 << (v & 63) }
func (s *vlanSet) clear(v uint16)    { s[(v>>6)&63] &^= 1 << (v & 63) }

// vlanPolicy is a port's compiled VLAN configuration, the semantics of
// Open vSwitch's NORMAL action: input_vid_is_valid and the input/output
// VLAN translation of ofproto-dpif-xlate.
type vlanPolicy struct {
	mode   VLANMode // never VLANModeDefault
	native uint16   // access VLAN, or native VLAN of the native modes
	trunks vlanSet  // VLANs a non-access port carries
}

func compileVLAN(mode VLANMode, tag uint16, hasTag bool, trunks []uint16) (vlanPolicy, error) {
	var p vlanPolicy
	if hasTag && tag > 4095 {
		return p, fmt.Errorf("tag %d: %w", tag, ErrBadVLANConfig)
	}
	for _, v := range trunks {
		if v > 4095 {
			return p, fmt.Errorf("trunks: VLAN %d: %w", v, ErrBadVLANConfig)
		}
	}
	if mode == VLANModeDefault {
		mode = VLANTrunk
		if hasTag {
			mode = VLANAccess
		}
	}
	p.mode = mode
	p.native = tag // an access port without a tag carries VLAN 0
	if mode == VLANAccess {
		return p, nil
	}
	if len(trunks) == 0 {
		for i := range p.trunks {
			p.trunks[i] = ^uint64(0)
		}
	} else {
		for _, v := range trunks {
			p.trunks.set(v)
		}
	}
	if (mode == VLANNativeTagged || mode == VLANNativeUntagged) && hasTag && tag != 0 {
		// vswitch.xml: the native VLAN is always trunked, and VLAN 0
		// (untagged) then means the native VLAN, so it is not trunked.
		p.trunks.set(tag)
		p.trunks.clear(0)
	}
	return p, nil
}

// input maps a received frame's VID (0 when untagged or priority-tagged)
// to its VLAN, or reports false when the port must drop it.
func (p *vlanPolicy) input(vid uint16) (uint16, bool) {
	switch p.mode {
	case VLANAccess:
		return p.native, vid == 0
	case VLANNativeTagged, VLANNativeUntagged:
		if vid == 0 {
			return p.native, true
		}
	}
	return vid, p.trunks.has(vid)
}

// carries reports whether the port is a member of vlan (flooding scope).
func (p *vlanPolicy) carries(vlan uint16) bool {
	if p.mode == VLANAccess {
		return vlan == p.native
	}
	return p.trunks.has(vlan)
}

// outputTagged reports whether a frame of vlan leaves the port tagged.
func (p *vlanPolicy) outputTagged(vlan uint16) bool {
	switch p.mode {
	case VLANAccess:
		return false
	case VLANNativeUntagged:
		return vlan != p.native && vlan != 0
	}
	return vlan != 0
}
