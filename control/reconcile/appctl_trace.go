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
	switch {
	case bdp.bridges[args[0]] != nil && len(args) > 1:
		name, flowText, rest = args[0], args[1], args[2:]
	case strings.Contains(args[0], "("), len(args) > 1 && strings.Contains(args[1], "("):
		// [dp_name] odp_flow: the datapath port names the bridge.
		if !strings.Contains(args[0], "(") {
			if args[0] != "ovs-netdev" {
				return "", unixctlError("Cannot find the datapath")
			}
			rest = args[1:]
		}
		var err error
		name, flowText, err = d.odpToBridgeFlow(rest[0])
		if err != nil {
			return "", err
		}
		rest = rest[1:]
	default:
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

// odpToBridgeFlow turns a datapath flow ("in_port(2),eth(src=..,dst=..),
// eth_type(0x8100),vlan(vid=300)") into the bridge of its input port and
// the equivalent OpenFlow flow. d.mu is held.
func (d *Daemon) odpToBridgeFlow(odp string) (string, string, error) {
	fields := map[string]string{}
	for rest := odp; rest != ""; {
		open := strings.Index(rest, "(")
		if open < 0 {
			return "", "", unixctlError("odp_flow_from_string: syntax error at " + rest)
		}
		depth, end := 0, -1
		for i := open; i < len(rest) && end < 0; i++ {
			switch rest[i] {
			case '(':
				depth++
			case ')':
				if depth--; depth == 0 {
					end = i
				}
			}
		}
		if end < 0 {
			return "", "", unixctlError("odp_flow_from_string: syntax error at " + rest)
		}
		fields[strings.TrimSpace(rest[:open])] = rest[open+1 : end]
		rest = strings.TrimPrefix(rest[end+1:], ",")
	}
	in, ok := fields["in_port"]
	if !ok {
		in = "4294967295" // ODPP_NONE
	}
	var f *iface
	for _, x := range d.ifaces {
		if x.dp != nil && (strconv.Itoa(x.odp) == in || x.name == in) {
			f = x
		}
	}
	if f == nil {
		return "", "", unixctlError("no OpenFlow port for datapath port " + in)
	}
	of := []string{"in_port=" + strconv.Itoa(f.ofport)}
	if f.ofport == OfportLocal {
		of[0] = "in_port=LOCAL"
	}
	for _, kv := range strings.Split(fields["eth"], ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && (k == "src" || k == "dst") {
			of = append(of, "dl_"+k+"="+v)
		}
	}
	ethType := "0x05ff" // what an odp flow without eth_type() means
	if t, ok := fields["eth_type"]; ok {
		ethType = t
	}
	if v, ok := fields["vlan"]; ok {
		for _, kv := range strings.Split(v, ",") {
			if k, x, ok := strings.Cut(kv, "="); ok && (k == "vid" || k == "pcp") {
				of = append(of, map[string]string{"vid": "dl_vlan=", "pcp": "dl_vlan_pcp="}[k]+x)
			}
		}
		ethType = "0x0000"
		if e, ok := fields["encap"]; ok && strings.HasPrefix(e, "eth_type(") {
			ethType = strings.TrimSuffix(strings.TrimPrefix(e, "eth_type("), ")")
		}
	}
	of = append(of, "dl_type="+ethType)
	return f.bridge, strings.Join(of, ","), nil
}
