package reconcile

import (
	"fmt"
	"sort"
	"strings"
)

// dpctlShow is dpctl/show [-s] [dp...]: the datapath, its lookup
// counters, flow count and ports by datapath number, with port
// statistics under -s (reference/ovs-dpdk/15d).
func (d *Daemon) dpctlShow(args []string) (string, error) {
	stats := false
	for _, a := range args {
		if a == "-s" || a == "--statistics" {
			stats = true
			continue
		}
		if err := dpctlOpen(a); err != nil {
			return "", dpctlError(fmt.Sprintf("opening datapath %s failed", a), "No such file or directory")
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var b strings.Builder
	hit, missed := d.lookupStats()
	b.WriteString("netdev@ovs-netdev:\n")
	fmt.Fprintf(&b, "  lookups: hit:%d missed:%d lost:0\n", hit, missed)
	fmt.Fprintf(&b, "  flows: %d\n", len(d.flows("")))
	b.WriteString("  port 0: ovs-netdev (tap)\n")
	if stats {
		writeCounters(&b, counters{})
	}
	var fs []*iface
	for _, f := range d.ifaces {
		if f.dp != nil {
			fs = append(fs, f)
		}
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].odp < fs[j].odp })
	for _, f := range fs {
		typ := dpifType(f)
		if typ == "system" {
			fmt.Fprintf(&b, "  port %d: %s\n", f.odp, f.name)
		} else {
			fmt.Fprintf(&b, "  port %d: %s (%s)\n", f.odp, f.name, typ)
		}
		if !stats {
			continue
		}
		if strings.HasPrefix(f.typ, "dpdkvhostuser") && !f.dp.Link() {
			// No guest: the port has no device statistics to give.
			b.WriteString(", could not retrieve stats (Protocol error)\n")
			continue
		}
		s := f.dp.Stats()
		c := counters{rxPackets: s.RxPackets, rxBytes: s.RxBytes, rxDropped: s.RxDropped, rxErrors: s.RxErrors,
			txPackets: s.TxPackets, txBytes: s.TxBytes, txDropped: s.TxDropped, txErrors: s.TxErrors,
			// vhost-user devices count no errors, overruns, frame,
			// aborted, carrier or collisions (printed "?").
			unknown: strings.HasPrefix(f.typ, "dpdkvhostuser")}
		writeCounters(&b, c)
	}
	return b.String(), nil
}

type counters struct {
	rxPackets, rxBytes, rxDropped, rxErrors uint64
	txPackets, txBytes, txDropped, txErrors uint64
	unknown                                 bool
}

func writeCounters(b *strings.Builder, c counters) {
	q := func(v uint64) string {
		if c.unknown {
			return "?"
		}
		return fmt.Sprint(v)
	}
	fmt.Fprintf(b, "    RX packets:%d errors:%s dropped:%d overruns:%s frame:%s\n", c.rxPackets, q(c.rxErrors), c.rxDropped, q(0), q(0))
	fmt.Fprintf(b, "    TX packets:%d errors:%s dropped:%d aborted:%s carrier:%s\n", c.txPackets, q(c.txErrors), c.txDropped, q(0), q(0))
	fmt.Fprintf(b, "    collisions:%s\n", q(0))
	fmt.Fprintf(b, "    RX bytes:%d%s  TX bytes:%d%s\n", c.rxBytes, humanBytes(c.rxBytes), c.txBytes, humanBytes(c.txBytes))
}

// humanBytes is dpctl's " (840.3 MiB)" suffix for counts of 1 KiB and more.
func humanBytes(n uint64) string {
	const unit = 1024
	switch {
	case n >= unit*unit*unit*unit:
		return fmt.Sprintf(" (%.1f TiB)", float64(n)/(unit*unit*unit*unit))
	case n >= unit*unit*unit:
		return fmt.Sprintf(" (%.1f GiB)", float64(n)/(unit*unit*unit))
	case n >= unit*unit:
		return fmt.Sprintf(" (%.1f MiB)", float64(n)/(unit*unit))
	case n >= unit:
		return fmt.Sprintf(" (%.1f KiB)", float64(n)/unit)
	}
	return ""
}

// dpctlCommands are the dpctl/* commands: reads answer from the datapath;
// changes gvswitch cannot make (it has one datapath, no flow table, no
// connection tracker, no fragment reassembly) are refused with the errno
// Open vSwitch gives for an unsupported operation.
func (d *Daemon) dpctlCommands() []unixctlCommand {
	var cmds []unixctlCommand // list-commands shows them in this order
	unsupported := func(what string) func([]string) (string, error) {
		return func([]string) (string, error) {
			return "", dpctlError("gvswitch: "+what, "Operation not supported")
		}
	}
	// withDP skips a leading datapath argument, refusing one that is
	// not ours; n is how many arguments remain without it.
	withDP := func(args []string, n int) ([]string, error) {
		if len(args) > n {
			if err := dpctlOpen(args[0]); err != nil {
				return nil, dpctlError(fmt.Sprintf("opening datapath %s failed", args[0]), "No such file or directory")
			}
			return args[1:], nil
		}
		return args, nil
	}
	readOnly := func(n int, text string) func([]string) (string, error) {
		return func(args []string) (string, error) {
			if _, err := withDP(args, n); err != nil {
				return "", err
			}
			return text, nil
		}
	}
	noConntrack := unsupported("no connection tracker in this datapath")
	noIPF := unsupported("no IP fragment reassembly in this datapath")
	cmds = []unixctlCommand{
		{"dpctl/add-dp", "dp [iface...]", 1, unixctlUnbounded, unsupported("one datapath, netdev@ovs-netdev, managed by the bridges")},
		{"dpctl/del-dp", "dp", 1, 1, unsupported("one datapath, netdev@ovs-netdev, managed by the bridges")},
		{"dpctl/add-if", "dp iface...", 2, unixctlUnbounded, unsupported("datapath ports follow the database; use ovs-vsctl add-port")},
		{"dpctl/del-if", "dp iface...", 2, unixctlUnbounded, unsupported("datapath ports follow the database; use ovs-vsctl del-port")},
		{"dpctl/set-if", "dp iface...", 2, unixctlUnbounded, unsupported("datapath ports follow the database; use ovs-vsctl set Interface")},
		{"dpctl/dump-dps", "", 0, 0, func([]string) (string, error) { return "netdev@ovs-netdev\n", nil }},
		{"dpctl/show", "[-s] [dp...]", 0, unixctlUnbounded, d.dpctlShow},
		{"dpctl/dump-flows", "[-m] [--names] [dp] [filter=..] [type=..] [pmd=..]", 0, 6, d.dpctlDumpFlows},
		{"dpctl/add-flow", "[dp] flow actions", 2, 3, unsupported("updating flow table: no flow table in this datapath")},
		{"dpctl/mod-flow", "[dp] flow actions", 2, 3, unsupported("updating flow table: no flow table in this datapath")},
		{"dpctl/get-flow", "[dp] ufid", 1, 2, d.dpctlGetFlow},
		{"dpctl/del-flow", "[dp] flow", 1, 2, unsupported("deleting flow: no flow table in this datapath")},
		{"dpctl/add-flows", "[dp] file", 1, 2, unsupported("updating flow table: no flow table in this datapath")},
		{"dpctl/mod-flows", "[dp] file", 1, 2, unsupported("updating flow table: no flow table in this datapath")},
		{"dpctl/del-flows", "[dp] [file]", 0, 2, func(args []string) (string, error) {
			// Flushing the flows drops caches that refill on their own:
			// gvswitch's flows are the FDB's, which this leaves alone.
			if len(args) == 0 || (len(args) == 1 && dpctlOpen(args[0]) == nil) {
				return "", nil
			}
			return "", dpctlError("gvswitch: deleting flows from a file: no flow table in this datapath", "Operation not supported")
		}},
		{"dpctl/offload-stats-show", "[dp]", 0, 1, func(args []string) (string, error) {
			if _, err := withDP(args, 0); err != nil {
				return "", err
			}
			return "", dpctlError("retrieving offload statistics", "Invalid argument")
		}},
		{"dpctl/dump-conntrack", "[-m] [-s] [dp] [zone=N]", 0, 4, func([]string) (string, error) { return "", nil }},
		{"dpctl/flush-conntrack", "[dp] [zone=N] [ct-orig-tuple] [ct-reply-tuple]", 0, 4, func([]string) (string, error) { return "", nil }},
		{"dpctl/cache-get-size", "[dp]", 0, 1, func(args []string) (string, error) {
			if len(args) == 1 && dpctlOpen(args[0]) != nil {
				return "", dpctlError(fmt.Sprintf("Opening datapath %s failed", args[0]), "No such file or directory")
			}
			return "netdev@ovs-netdev:\n", nil
		}},
		{"dpctl/cache-set-size", "dp cache <size>", 3, 3, func([]string) (string, error) {
			return "", dpctlError("Setting caches not supported", "Operation not supported")
		}},
		{"dpctl/ct-stats-show", "[dp] [zone=N]", 0, 3, func([]string) (string, error) {
			return "Connections Stats:\n    Total: 0\n", nil
		}},
		// Reads answer for an empty connection table with no limits.
		{"dpctl/ct-bkts", "[dp] [gt=N]", 0, 2, readOnlyArgs(withDP, 1, func([]string) string {
			return "Total Buckets: 0\nCurrent Connections: 0\n\n"
		})},
		{"dpctl/ct-set-maxconns", "[dp] maxconns", 1, 2, noConntrack},
		{"dpctl/ct-get-maxconns", "[dp]", 0, 1, readOnly(0, "0\n")},
		{"dpctl/ct-get-nconns", "[dp]", 0, 1, readOnly(0, "0\n")},
		{"dpctl/ct-enable-tcp-seq-chk", "[dp]", 0, 1, noConntrack},
		{"dpctl/ct-disable-tcp-seq-chk", "[dp]", 0, 1, noConntrack},
		{"dpctl/ct-get-tcp-seq-chk", "[dp]", 0, 1, readOnly(0, "TCP sequence checking: disabled\n")},
		{"dpctl/ct-set-limits", "[dp] [default=L] [zone=N,limit=L]...", 1, unixctlUnbounded, noConntrack},
		{"dpctl/ct-del-limits", "[dp] zone=N1[,N2]...", 1, 2, noConntrack},
		{"dpctl/ct-get-limits", "[dp] [zone=N1[,N2]...]", 0, 2, readOnlyArgs(withDP, 1, ctGetLimits)},
		{"dpctl/ipf-set-enabled", "[dp] v4|v6", 1, 2, noIPF},
		{"dpctl/ipf-set-disabled", "[dp] v4|v6", 1, 2, noIPF},
		{"dpctl/ipf-set-min-frag", "[dp] v4|v6 minfragment", 2, 3, noIPF},
		{"dpctl/ipf-set-max-nfrags", "[dp] maxfrags", 1, 2, noIPF},
		{"dpctl/ipf-get-status", "[dp]", 0, 1, readOnly(0, ipfStatus)},
		{"dpctl/list-commands", "", 0, unixctlUnbounded, dpctlListCommands(&cmds)},
		{"dpctl/parse-actions", "actions", 1, unixctlUnbounded, func(args []string) (string, error) {
			var b strings.Builder
			for _, a := range args {
				n, err := normalizeActions(a)
				if err != nil {
					return "", err
				}
				b.WriteString(n + "\n")
			}
			return b.String(), nil
		}},
		{"dpctl/normalize-actions", "actions", 2, unixctlUnbounded, d.dpctlNormalizeActions},
	}
	return cmds
}

// dpctlListCommands is dpctl/list-commands: the dpctl commands with their
// usage, in dpctl's order.
func dpctlListCommands(cmds *[]unixctlCommand) func([]string) (string, error) {
	return func([]string) (string, error) {
		var b strings.Builder
		b.WriteString("The available commands are:\n")
		for _, c := range *cmds {
			fmt.Fprintf(&b, "  %-29s %s\n", c.name, c.usage)
		}
		return b.String(), nil
	}
}

// readOnlyArgs is a read-only dpctl command taking an optional datapath
// and up to n more arguments, answered by text.
func readOnlyArgs(withDP func([]string, int) ([]string, error), n int, text func([]string) string) func([]string) (string, error) {
	return func(args []string) (string, error) {
		rest, err := withDP(args, n)
		if err != nil {
			return "", err
		}
		return text(rest), nil
	}
}

// ctGetLimits is dpctl/ct-get-limits [zone=N1[,N2]...] with no limits set.
func ctGetLimits(args []string) string {
	var b strings.Builder
	b.WriteString("default limit=0\n")
	for _, a := range args {
		for _, z := range strings.Split(strings.TrimPrefix(a, "zone="), ",") {
			if z != "" {
				fmt.Fprintf(&b, "zone=%s,limit=0,count=0\n", z)
			}
		}
	}
	return b.String()
}

// ipfStatus is dpctl/ipf-get-status of a datapath that does not reassemble
// fragments (it forwards them as they come).
const ipfStatus = `        Fragmentation Module Status
        ---------------------------
        v4 enabled: 0
        v6 enabled: 0
        max num frags (v4/v6): 0
        num frag: 0
        min v4 frag size: 0
        v4 frags accepted: 0
        v4 frags completed: 0
        v4 frags expired: 0
        v4 frags too small: 0
        v4 frags overlapped: 0
        v4 frags purged: 0
        min v6 frag size: 0
        v6 frags accepted: 0
        v6 frags completed: 0
        v6 frags expired: 0
        v6 frags too small: 0
        v6 frags overlapped: 0
        v6 frags purged: 0
`

// dpctlGetFlow is dpctl/get-flow [dp] ufid.
func (d *Daemon) dpctlGetFlow(args []string) (string, error) {
	ufid := args[len(args)-1]
	if len(args) == 2 && dpctlOpen(args[0]) != nil {
		return "", dpctlError(fmt.Sprintf("opening datapath %s failed", args[0]), "No such file or directory")
	}
	ufid = strings.TrimPrefix(ufid, "ufid:")
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, f := range d.flows("") {
		if f.ufid() == ufid {
			return f.format(true, true), nil
		}
	}
	return "", dpctlError("getting flow", "No such file or directory")
}

// normalizeActions checks a datapath action list of the kinds gvswitch
// produces (port numbers, push_vlan, pop_vlan, drop) and returns it
// in canonical form.
func normalizeActions(s string) (string, error) {
	bad := dpctlError("odp_actions_from_string", "Invalid argument")
	if s == "drop" || s == "" {
		return "drop", nil
	}
	var out []string
	for rest := s; rest != ""; {
		var a string
		if strings.HasPrefix(rest, "push_vlan(") {
			end := strings.Index(rest, ")")
			if end < 0 {
				return "", bad
			}
			var vid, pcp int
			body := rest[len("push_vlan(") : end+1]
			if n, _ := fmt.Sscanf(body, "vid=%d,pcp=%d)", &vid, &pcp); n != 2 || vid < 0 || vid > 4095 || pcp < 0 || pcp > 7 {
				return "", bad
			}
			a, rest = fmt.Sprintf("push_vlan(vid=%d,pcp=%d)", vid, pcp), rest[end+1:]
		} else {
			a, rest, _ = strings.Cut(rest, ",")
			var n uint32
			if a != "pop_vlan" {
				if _, err := fmt.Sscanf(a, "%d", &n); err != nil || fmt.Sprint(n) != a {
					return "", bad
				}
			}
			out = append(out, a)
			continue
		}
		out = append(out, a)
		rest = strings.TrimPrefix(rest, ",")
	}
	return strings.Join(out, ","), nil
}

// dpctlNormalizeActions is dpctl/normalize-actions FLOW ACTIONS.
func (d *Daemon) dpctlNormalizeActions(args []string) (string, error) {
	acts, err := normalizeActions(args[len(args)-1])
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("input flow: %s\nno vlan: no mpls: %s\n", args[len(args)-2], acts), nil
}
