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
	proto      string            // ip, tcp, udp, sctp, icmp, ipv6, tcp6, udp6, arp, or ""
	l3         map[string]string // L3/L4 fields as given
	inPortInfo *dataplane.PortInfo
	inOfport   string // as printed: number, LOCAL or ANY
}

// protocols are the OpenFlow protocol shorthands: dl_type and nw_proto.
var protocols = map[string]struct {
	ethType uint16
	nwProto string
}{
	"ip": {0x0800, ""}, "icmp": {0x0800, "1"}, "tcp": {0x0800, "6"}, "udp": {0x0800, "17"}, "sctp": {0x0800, "132"},
	"ipv6": {0x86dd, ""}, "tcp6": {0x86dd, "6"}, "udp6": {0x86dd, "17"}, "arp": {0x0806, ""},
}

// l3Fields are the L3/L4 match fields a trace may give. gvswitch bridges
// switch on L2 only; these are shown in the flow, as Open vSwitch shows
// them, and change nothing.
var l3Fields = map[string]bool{
	"nw_src": true, "nw_dst": true, "nw_proto": true, "nw_tos": true, "nw_ecn": true, "nw_ttl": true,
	"tp_src": true, "tp_dst": true, "icmp_type": true, "icmp_code": true, "ipv6_src": true, "ipv6_dst": true,
	"ipv6_label": true, "arp_spa": true, "arp_tpa": true, "arp_op": true, "arp_sha": true, "arp_tha": true,
}

// parseTraceFlow reads "in_port=1,dl_src=..,dl_dst=..,dl_vlan=..", with
// protocol shorthands (ip, tcp, arp, ...) and their fields.
func parseTraceFlow(s string) (traceFlow, error) {
	f := traceFlow{l3: map[string]string{}}
	firstL3 := ""
	bad := func(msg string) error { return unixctlError("Bad openflow flow syntax: " + s + ": " + msg) }
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, hasValue := strings.Cut(kv, "=")
		if p, ok := protocols[k]; ok && !hasValue {
			f.proto, f.ethType = k, p.ethType
			if p.nwProto != "" {
				f.l3["nw_proto"] = p.nwProto
			}
			continue
		}
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
			if !l3Fields[k] {
				return f, bad("unknown field " + k)
			}
			f.l3[k] = v
			if firstL3 == "" {
				firstL3 = k
			}
		}
	}
	if f.proto == "" {
		switch f.ethType {
		case 0x0800:
			f.proto = "ip"
		case 0x86dd:
			f.proto = "ipv6"
		case 0x0806:
			f.proto = "arp"
		}
		if f.proto != "" {
			if p := map[string]string{"1": "icmp", "6": "tcp", "17": "udp", "132": "sctp"}[f.l3["nw_proto"]]; p != "" && f.proto == "ip" {
				f.proto = p
			}
		}
	}
	if f.proto == "" && firstL3 != "" {
		return f, bad("prerequisites not met for setting " + firstL3)
	}
	return f, nil
}

// l3Text renders the flow's L3/L4 part as Open vSwitch's flow printer
// does: the fields of its protocol, defaults 0, in its order.
func (f traceFlow) l3Text() string {
	get := func(k, def string) string {
		if v, ok := f.l3[k]; ok {
			return v
		}
		return def
	}
	var parts []string
	add := func(k, def string) { parts = append(parts, k+"="+get(k, def)) }
	switch f.proto {
	case "":
		return ""
	case "arp":
		add("arp_spa", "0.0.0.0")
		add("arp_tpa", "0.0.0.0")
		add("arp_op", "0")
		add("arp_sha", "00:00:00:00:00:00")
		add("arp_tha", "00:00:00:00:00:00")
		return "," + strings.Join(parts, ",")
	case "ipv6", "tcp6", "udp6":
		add("ipv6_src", "::")
		add("ipv6_dst", "::")
		add("ipv6_label", "0x00000")
	default:
		add("nw_src", "0.0.0.0")
		add("nw_dst", "0.0.0.0")
	}
	if f.proto == "ip" || f.proto == "ipv6" {
		add("nw_proto", "0")
	}
	add("nw_tos", "0")
	add("nw_ecn", "0")
	add("nw_ttl", "0")
	parts = append(parts, "nw_frag=no")
	switch f.proto {
	case "tcp", "tcp6":
		add("tp_src", "0")
		add("tp_dst", "0")
		parts = append(parts, "tcp_flags=0")
	case "udp", "udp6", "sctp":
		add("tp_src", "0")
		add("tp_dst", "0")
	case "icmp":
		add("icmp_type", "0")
		add("icmp_code", "0")
	}
	return "," + strings.Join(parts, ",")
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
	dec := d.decideL2(br, f.inPortInfo, f.vid, f.src, f.dst)

	var b strings.Builder
	vlanPart := "vlan_tci=0x0000,"
	if f.tagged {
		vlanPart = fmt.Sprintf("dl_vlan=%d,dl_vlan_pcp=%d,vlan_tci1=0x0000,", f.vid, f.pcp)
	}
	l2 := fmt.Sprintf("dl_src=%s,dl_dst=%s", macString(f.src), macString(f.dst))
	// The megaflow matches what NORMAL looked at: the L2 fields, and of
	// an IP frame whether it is a fragment.
	flowProto, megaProto, megaTail := "", "", fmt.Sprintf(",dl_type=0x%04x", f.ethType)
	if f.proto != "" {
		flowProto = f.proto + ","
		megaProto = map[uint16]string{0x0800: "ip,", 0x86dd: "ipv6,", 0x0806: "arp,"}[f.ethType]
		megaTail = ",nw_frag=no"
		if f.proto == "arp" {
			megaTail = ""
		}
	}
	fmt.Fprintf(&b, "Flow: %sin_port=%s,%s%s%s\n\n", flowProto, f.inOfport, vlanPart, l2, f.l3Text()+map[bool]string{true: "", false: megaTail}[f.proto != ""])
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
	fmt.Fprintf(&b, "\nFinal flow: unchanged\nMegaflow: recirc_id=0,eth,%sin_port=%s,%s%s%s\nDatapath actions: %s\n", megaProto, f.inOfport, mvlan, l2, megaTail, acts)
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
