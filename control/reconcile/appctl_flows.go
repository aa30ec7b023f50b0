package reconcile

import (
	"crypto/sha1"
	"fmt"
	"sort"
	"strings"
	"time"

	"gvswitch/dataplane"
)

// Datapath flows. gvswitch's datapath has no flow table: each PMD looks
// the destination up in the FDB (through its exact-match cache). The
// flows it in effect runs are one per pair of addresses in a VLAN on
// different ports: match in_port, source, destination and VLAN, actions
// the NORMAL decision. dpctl/dump-flows and dpif/dump-flows show those
// whose source sent within the last flowIdle (Open vSwitch's default
// max-idle: its datapath flows live as long), in Open vSwitch's datapath
// flow syntax. There are no per-flow counters: packets and bytes are 0,
// and used is when the source was last seen.

// flowIdle is how long after its source was last seen a flow is shown.
const flowIdle = 10 * time.Second

// dpFlow is one derived datapath flow.
type dpFlow struct {
	bridge   string
	core     int // PMD core polling the input port, -1: main thread
	inODP    int
	inName   string
	src, dst [6]byte
	tagged   bool
	vid      uint16
	used     time.Duration // since the source was last seen
	actions  string
	namedAct string
}

// flows derives the datapath flows of one bridge (all when name is "");
// d.mu is held.
func (d *Daemon) flows(name string) []dpFlow {
	bdp, ok := d.dp.(*bridgeDatapath)
	if !ok {
		return nil
	}
	names := make([]string, 0, len(bdp.bridges))
	for n := range bdp.bridges {
		if name == "" || n == name {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	odpName := map[int]string{}
	for _, f := range d.ifaces {
		if f.dp != nil {
			odpName[f.odp] = f.name
		}
	}
	var out []dpFlow
	for _, bn := range names {
		br := bdp.bridges[bn]
		ports, odpOf := d.bridgePorts(br)
		byNo := map[uint32]dataplane.PortInfo{}
		for _, pi := range ports {
			byNo[pi.No] = pi
		}
		entries := br.FDB().Entries()
		now := br.Now()
		for _, a := range entries {
			in, ok := byNo[a.Port]
			used := time.Duration(now - a.Used)
			if !ok || a.Static || used > flowIdle {
				continue
			}
			_, tagged := in.OutputVLAN(a.VLAN)
			vid := uint16(0)
			if tagged {
				vid = a.VLAN
			}
			for _, b := range entries {
				if b.VLAN != a.VLAN || b.Port == a.Port {
					continue
				}
				var src, dst [6]byte
				copy(src[:], a.MAC)
				copy(dst[:], b.MAC)
				dec := d.decideL2(br, &in, vid, src, dst)
				act := dec.actions(tagged)
				named := act
				if len(dec.outs) > 0 {
					named = renameOutputs(act, odpName)
				}
				out = append(out, dpFlow{bridge: bn, core: bdp.pmdCoreOf(d, bn, in.No), inODP: odpOf(in), inName: odpName[odpOf(in)],
					src: src, dst: dst, tagged: tagged, vid: vid, used: max(used, 0), actions: act, namedAct: named})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.inODP != b.inODP {
			return a.inODP < b.inODP
		}
		if a.src != b.src {
			return macString(a.src) < macString(b.src)
		}
		return macString(a.dst) < macString(b.dst)
	})
	return out
}

// renameOutputs replaces the port numbers of an action list by names.
func renameOutputs(act string, names map[int]string) string {
	parts := strings.Split(act, ",")
	for i, p := range parts {
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err == nil && fmt.Sprint(n) == p && names[n] != "" {
			parts[i] = names[n]
		}
	}
	return strings.Join(parts, ",")
}

// pmdCoreOf is the core of the PMD polling bridge port no's first rx
// queue, -1 when none does.
func (b *bridgeDatapath) pmdCoreOf(d *Daemon, bridge string, no uint32) int {
	if b.pmds == nil {
		return -1
	}
	for _, p := range d.ports {
		if p.bridge != bridge || p.no != no || !p.attached {
			continue
		}
		st, ok := p.dpState.(*portState)
		if !ok {
			continue
		}
		for _, m := range st.rxqs {
			for _, q := range m.qs {
				if t := b.pmds.PMDOf(q); t != nil {
					return t.Core()
				}
			}
		}
	}
	return -1
}

// format renders the flow as dpctl/dump-flows does; verbose adds the
// UFID and names ports (-m), names names them (--names).
func (f dpFlow) format(verbose, names bool) string {
	var b strings.Builder
	if verbose {
		fmt.Fprintf(&b, "ufid:%s, ", f.ufid())
	}
	in := fmt.Sprint(f.inODP)
	act := f.actions
	if (verbose || names) && f.inName != "" {
		in, act = f.inName, f.namedAct
	}
	fmt.Fprintf(&b, "recirc_id(0),in_port(%s),packet_type(ns=0,id=0),eth(src=%s,dst=%s)", in, macString(f.src), macString(f.dst))
	if f.tagged {
		fmt.Fprintf(&b, ",eth_type(0x8100),vlan(vid=%d,pcp=0)", f.vid)
	}
	fmt.Fprintf(&b, ", packets:0, bytes:0, used:%.3fs, actions:%s\n", f.used.Seconds(), act)
	return b.String()
}

// ufid is a stable identifier of the flow's match, in UUID form.
func (f dpFlow) ufid() string {
	h := sha1.Sum([]byte(fmt.Sprintf("%s|%d|%x|%x|%d", f.bridge, f.inODP, f.src, f.dst, f.vid)))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// dpctlDumpFlows is dpctl/dump-flows [-m] [--names] [dp] [filter=..]
// [type=..] [pmd=..]: the flows grouped under the PMD that runs them.
func (d *Daemon) dpctlDumpFlows(args []string) (string, error) {
	verbose, names := false, false
	pmdFilter := -2
	var filter string
	for _, a := range args {
		switch {
		case a == "-m" || a == "--more":
			verbose = true
		case a == "--names":
			names = true
		case a == "--no-names":
			names = false
		case strings.HasPrefix(a, "filter="):
			filter = strings.TrimPrefix(a, "filter=")
		case strings.HasPrefix(a, "type="):
			t := strings.TrimPrefix(a, "type=")
			for _, x := range strings.Split(t, ",") {
				switch x {
				case "all", "ovs", "dpdk", "offloaded", "non-offloaded", "partially-offloaded", "tc", "":
				default:
					return "", dpctlError(fmt.Sprintf("Failed to parse type (%s)", t), "Invalid argument")
				}
			}
		case strings.HasPrefix(a, "pmd="):
			var n int
			if _, err := fmt.Sscanf(strings.TrimPrefix(a, "pmd="), "%d", &n); err != nil {
				return "", unixctlError("") // ovs-vswitchd replies an empty error
			}
			pmdFilter = n
		default:
			if err := dpctlOpen(a); err != nil {
				return "", dpctlError("datapath not found", "Invalid argument")
			}
		}
	}
	d.mu.Lock()
	fs := d.flows("")
	d.mu.Unlock()
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].core < fs[j].core })
	var b strings.Builder
	last := -3
	for _, f := range fs {
		if pmdFilter != -2 && f.core != pmdFilter {
			continue
		}
		line := f.format(verbose, names)
		if filter != "" && !strings.Contains(line, filter) {
			continue
		}
		if f.core != last {
			if f.core < 0 {
				b.WriteString("flow-dump from the main thread:\n")
			} else {
				fmt.Fprintf(&b, "flow-dump from pmd on cpu core: %d\n", f.core)
			}
			last = f.core
		}
		b.WriteString(line)
	}
	return b.String(), nil
}

// dpifDumpFlows is dpif/dump-flows [-m] [--names | --no-names] bridge.
func (d *Daemon) dpifDumpFlows(args []string) (string, error) {
	verbose, names := false, false
	bridge := ""
	for _, a := range args {
		switch a {
		case "-m":
			verbose = true
		case "--names":
			names = true
		case "--no-names":
			names = false
		default:
			bridge = a
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.bridges[bridge] == nil {
		return "", errNoSuchBridge
	}
	var b strings.Builder
	for _, f := range d.flows(bridge) {
		s := f.format(verbose, names)
		if verbose {
			s = strings.Replace(s, ", ", " ", 1) // dpif/dump-flows -m: "ufid:... recirc_id(0)..."
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// dpctlOpen checks a datapath name as dpctl opens it: only ours exists.
func dpctlOpen(name string) error {
	if name == "netdev@ovs-netdev" {
		return nil
	}
	return fmt.Errorf("no datapath %s", name)
}

// dpctlError is a dpctl failure as ovs-vswitchd words it:
// "ovs-vswitchd: MSG (STRERROR)".
func dpctlError(msg, errno string) error {
	if errno == "" {
		return unixctlError("ovs-vswitchd: " + msg)
	}
	return unixctlError(fmt.Sprintf("ovs-vswitchd: %s (%s)", msg, errno))
}
