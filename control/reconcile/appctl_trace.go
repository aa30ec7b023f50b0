package reconcile

import (
	"fmt"
	"strconv"
	"strings"

	"gvswitch/dataplane"
)

// traceFlow is the part of an OpenFlow flow that the NORMAL pipeline
// looks at.
type traceFlow struct {
	inPort     string // as given; "" = ANY
	src, dst   [6]byte
	vid, pcp   uint16
	tagged     bool
	ethType    uint16
	inPortInfo *dataplane.PortInfo
	inOfport   string // as printed: number, LOCAL or ANY
}

// l3Fields are OpenFlow match fields gvswitch's pipeline ignores; a flow
// naming them is refused rather than traced as if they did not matter.
var l3Fields = map[string]bool{
	"ip": true, "ipv6": true, "arp": true, "tcp": true, "udp": true, "icmp": true, "sctp": true, "icmp6": true,
	"nw_src": true, "nw_dst": true, "nw_proto": true, "nw_tos": true, "nw_ttl": true, "tp_src": true,
	"tp_dst": true, "ipv6_src": true, "ipv6_dst": true, "arp_spa": true, "arp_tpa": true, "arp_op": true,
	"ct_state": true, "metadata": true, "reg0": true, "tun_id": true, "mpls_label": true, "pkt_mark": true,
}

// parseTraceFlow reads "in_port=1,dl_src=..,dl_dst=..,dl_vlan=..".
func parseTraceFlow(s string) (traceFlow, error) {
	var f traceFlow
	bad := func(msg string) error { return unixctlError("Bad openflow flow syntax: " + s + ": " + msg) }
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "in_port":
			f.inPort = v
		case "dl_src", "eth_src", "dl_dst", "eth_dst":
			m, ok := parseMAC(v)
			if !ok {
				return f, bad(fmt.Sprintf("%s: invalid Ethernet address", v))
			}
			if k == "dl_src" || k == "eth_src" {
				f.src = m
			} else {
				f.dst = m
			}
		case "dl_vlan", "vlan_vid":
			n, err := strconv.ParseUint(v, 0, 16)
			if err != nil || n > 4095 {
				return f, bad(fmt.Sprintf("%s: invalid VLAN", v))
			}
			f.vid, f.tagged = uint16(n), true
		case "dl_vlan_pcp", "vlan_pcp":
			n, err := strconv.ParseUint(v, 0, 8)
			if err != nil || n > 7 {
				return f, bad(fmt.Sprintf("%s: invalid priority", v))
			}
			f.pcp, f.tagged = uint16(n), true
		case "dl_type", "eth_type":
			n, err := strconv.ParseUint(v, 0, 16)
			if err != nil {
				return f, bad(fmt.Sprintf("%s: invalid Ethernet type", v))
			}
			f.ethType = uint16(n)
		default:
			if l3Fields[k] {
				return f, unixctlError(fmt.Sprintf("gvswitch: ofproto/trace: %s: gvswitch bridges switch on in_port, dl_src, dl_dst and dl_vlan only", k))
			}
			return f, bad("unknown field " + k)
		}
	}
	return f, nil
}

// ofprotoTrace is ofproto/trace BRIDGE FLOW [-generate]: the NORMAL
// decision for the flow, in Open vSwitch's trace layout.
func (d *Daemon) ofprotoTrace(args []string) (string, error) {
	if _, ok := d.dp.(*bridgeDatapath); !ok {
		return "", unixctlError("gvswitch: ofproto/trace needs the datapath")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	bdp := d.dp.(*bridgeDatapath)
	name, flowText := "", ""
	rest := args
	if bdp.bridges[args[0]] != nil && len(args) > 1 {
		name, flowText, rest = args[0], args[1], args[2:]
	} else if strings.Contains(args[0], "(") {
		return "", unixctlError("gvswitch: ofproto/trace: datapath flow syntax is not supported; give a bridge and an OpenFlow flow (e.g. ofproto/trace br0 in_port=1,dl_src=..,dl_dst=..)")
	} else {
		return "", unixctlError(args[0] + ": unknown bridge")
	}
	for _, o := range rest {
		if o != "-generate" && o != "--generate" {
			return "", unixctlError("gvswitch: ofproto/trace: tracing a packet is not supported; give the flow only (-generate is accepted)")
		}
	}
	f, err := parseTraceFlow(flowText)
	if err != nil {
		return "", err
	}
	br := bdp.bridges[name]
	ports, _ := d.bridgePorts(br)
	f.inOfport = "ANY"
	if f.inPort != "" {
		var found *dataplane.PortInfo
		for i, pi := range ports {
			n := strconv.Itoa(int(pi.No))
			if pi.No == OfportLocal {
				n = "LOCAL"
			}
			if f.inPort == n || f.inPort == strconv.Itoa(int(pi.No)) || f.inPort == pi.Name || d.ifaceOnPort(name, pi.No, f.inPort) {
				found = &ports[i]
				f.inOfport = n
			}
		}
		if found == nil {
			return "", unixctlError(fmt.Sprintf("Bad openflow flow syntax: %s: bad value for in_port (%s: invalid or unknown port for in_port)", flowText, f.inPort))
		}
		f.inPortInfo = found
	}
	dec := d.decideL2(br, f.inPortInfo, f.vid, f.dst)

	var b strings.Builder
	vlanPart := "vlan_tci=0x0000,"
	if f.tagged {
		vlanPart = fmt.Sprintf("dl_vlan=%d,dl_vlan_pcp=%d,vlan_tci1=0x0000,", f.vid, f.pcp)
	}
	l2 := fmt.Sprintf("dl_src=%s,dl_dst=%s,dl_type=0x%04x", macString(f.src), macString(f.dst), f.ethType)
	fmt.Fprintf(&b, "Flow: in_port=%s,%s%s\n\n", f.inOfport, vlanPart, l2)
	fmt.Fprintf(&b, "bridge(\"%s\")\n%s\n", name, strings.Repeat("-", len(name)+10))
	b.WriteString(" 0. priority 0\n    NORMAL\n")
	switch dec.verdict {
	case l2Flood:
		b.WriteString("     -> no learned MAC for destination, flooding\n")
	case l2Learned:
		b.WriteString("     -> forwarding to learned port\n")
	case l2Hairpin:
		b.WriteString("     -> learned port is input port, dropping\n")
	case l2VLANReject:
		in := f.inPortInfo
		if in.VLANMode == dataplane.VLANAccess {
			fmt.Fprintf(&b, "     >>>> dropping VLAN %d tagged packet received on port %s configured as VLAN %d access port <<<<\n", f.vid, in.Name, in.Tag)
		} else {
			fmt.Fprintf(&b, "     >>>> dropping VLAN %d tagged packet received on port %s not configured for trunking VLAN %d <<<<\n", f.vid, in.Name, f.vid)
		}
		b.WriteString("     >> disallowed VLAN VID for this input port, dropping\n")
	}
	acts := "drop"
	if dec.verdict == l2Flood || dec.verdict == l2Learned {
		acts = dec.actions(f.tagged)
	}
	mvlan := ""
	if f.tagged {
		mvlan = fmt.Sprintf("dl_vlan=%d,", f.vid)
		if strings.Contains(acts, "_vlan") {
			mvlan += fmt.Sprintf("dl_vlan_pcp=%d,", f.pcp)
		}
	}
	fmt.Fprintf(&b, "\nFinal flow: unchanged\nMegaflow: recirc_id=0,eth,in_port=%s,%s%s\nDatapath actions: %s\n", f.inOfport, mvlan, l2, acts)
	return b.String(), nil
}

// ifaceOnPort reports whether the bridge port numbered no has an
// interface called name (a bond member). d.mu is held.
func (d *Daemon) ifaceOnPort(bridge string, no uint32, name string) bool {
	for _, p := range d.ports {
		if p.bridge != bridge || p.no != no || !p.attached {
			continue
		}
		for _, f := range p.members {
			if f.name == name {
				return true
			}
		}
	}
	return false
}
