package reconcile

import (
	"fmt"
	"net"
	"sort"
	"strings"

	"gvswitch/dataplane"
)

// This file explains the NORMAL pipeline's decision for one frame without
// sending it: what ofproto/trace prints and what dpctl/dump-flows shows
// as datapath flows. The VLAN rules are the dataplane's own
// (PortInfo.InputVLAN/OutputVLAN); the destination comes from the FDB.

// l2Verdict is why a frame goes where it goes.
type l2Verdict int

const (
	l2Flood      l2Verdict = iota // unknown, broadcast or multicast destination
	l2Learned                     // unicast to the learned port
	l2Hairpin                     // learned on the input port: dropped
	l2VLANReject                  // the input port does not admit the VID
)

// l2Output is one output of a decision, in datapath terms.
type l2Output struct {
	odp    int
	tagged bool
}

// l2Decision is the NORMAL pipeline's answer for one frame.
type l2Decision struct {
	verdict l2Verdict
	vlan    uint16 // the frame's VLAN after admission
	in      *dataplane.PortInfo
	outs    []l2Output
}

// bridgePorts returns the bridge's ports and a function giving the
// datapath port number of a bridge port (its first open device).
func (d *Daemon) bridgePorts(br *dataplane.Bridge) ([]dataplane.PortInfo, func(dataplane.PortInfo) int) {
	ports := br.Ports()
	odpOf := func(pi dataplane.PortInfo) int {
		dev := pi.Port
		if dev == nil {
			for _, m := range pi.Members {
				if m != nil {
					dev = m
					break
				}
			}
		}
		for _, f := range d.ifaces {
			if f.dp != nil && f.dp == dev {
				return f.odp
			}
		}
		return 0
	}
	return ports, odpOf
}

// decideL2 runs the NORMAL decision for a frame received on bridge port
// in (nil: from nowhere, OpenFlow's in_port=ANY) carrying VID vid (0:
// untagged). d.mu is held.
func (d *Daemon) decideL2(br *dataplane.Bridge, in *dataplane.PortInfo, vid uint16, src, dst [6]byte) l2Decision {
	ports, odpOf := d.bridgePorts(br)
	dec := l2Decision{in: in, vlan: vid}
	if in != nil {
		v, ok := in.InputVLAN(vid)
		if !ok {
			dec.verdict = l2VLANReject
			return dec
		}
		dec.vlan = v
	}
	out := func(pi dataplane.PortInfo) {
		member, tagged := pi.OutputVLAN(dec.vlan)
		if !member {
			return
		}
		odp := odpOf(pi)
		if bs := d.bondAt(br.Name(), pi.No); bs != nil {
			// The member the bond's hash picks, as the pipeline does.
			frame := make([]byte, 14)
			copy(frame, dst[:])
			copy(frame[6:], src[:])
			idx := bs.bond.TxMember(bs.bond.TxHash(frame, dec.vlan))
			if idx < 0 || idx >= len(bs.members) || bs.members[idx] == nil {
				return // no member can send
			}
			odp = bs.members[idx].odp
		}
		dec.outs = append(dec.outs, l2Output{odp: odp, tagged: tagged})
	}
	if dst[0]&1 == 0 {
		if no, ok := br.FDB().Lookup(dec.vlan, dst); ok {
			if in != nil && no == in.No {
				dec.verdict = l2Hairpin
				return dec
			}
			for _, pi := range ports {
				if pi.No == no {
					dec.verdict = l2Learned
					out(pi)
				}
			}
			return dec
		}
	}
	dec.verdict = l2Flood
	for _, pi := range ports {
		if in == nil || pi.No != in.No {
			out(pi)
		}
	}
	sort.Slice(dec.outs, func(i, j int) bool { return dec.outs[i].odp < dec.outs[j].odp })
	return dec
}

// bondAt returns the bond attached as bridge port no, nil for a plain
// port. d.mu is held.
func (d *Daemon) bondAt(bridge string, no uint32) *bondState {
	bdp, ok := d.dp.(*bridgeDatapath)
	if !ok {
		return nil
	}
	for _, p := range d.ports {
		if p.bridge == bridge && p.no == no && p.attached {
			if bs, ok := bdp.bondOf(p); ok {
				return bs
			}
		}
	}
	return nil
}

// actions renders the decision as datapath actions, pushing or popping
// the tag only where the state changes between outputs, as Open vSwitch
// commits them: "push_vlan(vid=300,pcp=0),1,3", "pop_vlan,2", "drop".
func (dec l2Decision) actions(inTagged bool) string {
	if len(dec.outs) == 0 {
		return "drop"
	}
	var parts []string
	tagged := inTagged
	for _, o := range dec.outs {
		switch {
		case o.tagged && !tagged:
			parts = append(parts, fmt.Sprintf("push_vlan(vid=%d,pcp=0)", dec.vlan))
		case !o.tagged && tagged:
			parts = append(parts, "pop_vlan")
		}
		tagged = o.tagged
		parts = append(parts, fmt.Sprint(o.odp))
	}
	return strings.Join(parts, ",")
}

func macString(m [6]byte) string { return net.HardwareAddr(m[:]).String() }
