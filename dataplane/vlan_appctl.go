package dataplane

// VLAN decisions of a port, for the control plane's explanations
// (ovs-appctl ofproto/trace, dpctl/dump-flows): the same policy the
// pipeline applies per packet, compiled from the PortInfo fields.

// InputVLAN maps the VID of a frame received on the port (0 when
// untagged) to its VLAN, or reports false when the port drops it.
func (pi PortInfo) InputVLAN(vid uint16) (uint16, bool) {
	p, err := compileVLAN(pi.VLANMode, pi.Tag, pi.HasTag, pi.Trunks)
	if err != nil {
		return 0, false
	}
	return p.input(vid)
}

// OutputVLAN reports whether the port floods frames of vlan, and whether
// they leave it tagged.
func (pi PortInfo) OutputVLAN(vlan uint16) (member, tagged bool) {
	p, err := compileVLAN(pi.VLANMode, pi.Tag, pi.HasTag, pi.Trunks)
	if err != nil {
		return false, false
	}
	return p.carries(vlan), p.outputTagged(vlan)
}
