package reconcile

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gvswitch/control/unixctl"
)

// The rest of ovs-vswitchd's unixctl commands (reference/ovs-dpdk/15), so
// that every command ovs-appctl knows for ovs-vswitchd answers as it would
// on a userspace switch with the same configuration: from the datapath
// where gvswitch has the data, as Open vSwitch does when the feature is
// not configured where gvswitch does not have the feature (BFD, CFM, STP,
// RSTP, multicast snooping, Auto Attach, tunnels, conntrack), and with a
// clear error for changes gvswitch cannot make.

const unixctlUnbounded = unixctl.Unbounded

// appctlState is what the informational commands remember between calls.
type appctlState struct {
	mu           sync.Mutex
	flowLimit    int
	ufid         bool
	tnlARPAging  int
	tnlPortRange [2]int
	tnlNeigh     []string // "IP|MAC|bridge" in insertion order
	routes       []userRoute
	started      time.Time // bridge/dump-flows durations count from here
}

func newAppctlState() *appctlState {
	return &appctlState{flowLimit: 10000, ufid: true, tnlARPAging: 900, tnlPortRange: [2]int{32768, 61000}, started: time.Now()}
}

// registerAppctl registers the commands of this file and its siblings.
func (d *Daemon) registerAppctl(s *unixctl.Server) error {
	st := newAppctlState()
	ok := func(text string) func([]string) (string, error) {
		return func([]string) (string, error) { return text, nil }
	}
	cmds := []unixctlCommand{
		{"memory/show", "", 0, 0, d.memoryShow},
		{"dpif/dump-flows", "[-m] [--names | --no-names] bridge", 1, unixctlUnbounded, d.dpifDumpFlows},
		{"dpif/show-dp-features", "bridge", 1, 1, d.withBridgeName(func(string) (string, error) { return dpFeaturesText(), nil })},
		{"dpif/set-dp-features", "bridge", 1, 3, d.setDPFeatures},
		{"dpif-netlink/dispatch-mode", "", 0, 0, ok("")},
		{"ofproto/trace", "{[dp_name] odp_flow | bridge br_flow} [OPTIONS...] [-generate|packet]", 1, unixctlUnbounded, d.ofprotoTrace},
		{"ofproto/trace-packet-out", "[-consistent] {[dp_name] odp_flow | bridge br_flow} [OPTIONS...] [-generate|packet] actions", 2, unixctlUnbounded,
			func([]string) (string, error) {
				return "", unixctlError("gvswitch: ofproto/trace-packet-out: gvswitch bridges have no OpenFlow tables; use ofproto/trace")
			}},
		{"ofproto/list-tunnels", "", 0, 0, ok("")},
		{"bridge/dump-flows", "[--offload-stats] bridge", 1, 2, d.bridgeDumpFlows(st)},
		{"bridge/reconnect", "[bridge]", 0, 1, d.optionalBridge("Unknown bridge", func(string) (string, error) { return "", nil })},
		{"mdb/show", "bridge", 1, 1, d.withBridgeName(func(string) (string, error) {
			return "", unixctlError("multicast snooping is disabled")
		})},
		{"mdb/flush", "[bridge]", 0, 1, func(args []string) (string, error) {
			if len(args) == 0 {
				return "table successfully flushed\n", nil
			}
			return d.withBridgeName(func(string) (string, error) { return "", unixctlError("multicast snooping is disabled") })(args)
		}},
		// gvswitch runs no spanning tree: no bridge has an STP or RSTP
		// object, as in Open vSwitch with stp_enable/rstp_enable false.
		{"stp/show", "[bridge]", 0, 1, noObject("no such stp object", "")},
		{"stp/tcn", "[bridge]", 0, 1, noObject("no such stp object", "OK\n")},
		{"rstp/show", "[bridge]", 0, 1, noObject("No such RSTP object", "")},
		{"rstp/tcn", "[bridge]", 0, 1, noObject("No such RSTP object", "OK\n")},
		{"autoattach/status", "[bridge]", 0, 1, ok("")},
		{"autoattach/show-isid", "[bridge]", 0, 1, ok("")},
		{"autoattach/statistics", "[bridge]", 0, 1, ok("")},
		{"bfd/show", "[interface]", 0, 1, noObject("no such bfd object", "")},
		{"bfd/set-forwarding", "[interface] normal|false|true", 1, 2, setFault("no such BFD object")},
		{"cfm/show", "[interface]", 0, 1, noObject("no such CFM object", "")},
		{"cfm/set-fault", "[interface] normal|false|true", 1, 2, setFault("no such CFM object")},
		{"qos/show", "interface", 1, 1, d.withIface(func(name string) (string, error) {
			return fmt.Sprintf("QoS not configured on %s\n", name), nil
		})},
		// gvswitch implements no QoS type on any port.
		{"qos/show-types", "interface", 1, 1, d.withIface(func(string) (string, error) { return "", nil })},
		{"upcall/show", "", 0, 0, d.upcallShow(st)},
		// The derived flows match only what NORMAL looks at, with or
		// without megaflows: nothing changes.
		{"upcall/disable-megaflows", "", 0, 0, ok("megaflows disabled\n")},
		{"upcall/enable-megaflows", "", 0, 0, ok("megaflows enabled\n")},
		{"upcall/disable-ufid", "", 0, 0, st.set(func() { st.ufid = false }, "Datapath dumping tersely using UFID disabled\n")},
		{"upcall/enable-ufid", "", 0, 0, st.set(func() { st.ufid = true }, "Datapath dumping tersely using UFID enabled for supported datapaths\n")},
		{"upcall/set-flow-limit", "flow-limit-number", 1, 1, func(args []string) (string, error) {
			n, _ := strconv.Atoi(args[0]) // as atoi: garbage is 0
			st.mu.Lock()
			st.flowLimit = int(uint32(n))
			st.mu.Unlock()
			return fmt.Sprintf("set flow_limit to %d\n", uint32(n)), nil
		}},
		// No revalidator threads: there is nothing to wait for or purge
		// (the FDB-backed caches revalidate on every table change).
		{"revalidator/wait", "", 0, 0, ok("")},
		{"revalidator/purge", "", 0, 0, ok("")},
		{"dpif-netdev/bond-show", "[dp]", 0, 1, func(args []string) (string, error) {
			if len(args) == 1 && args[0] != "ovs-netdev" {
				return "", unixctlError("please specify an existing datapath")
			}
			return "", nil // no balance-tcp bond uses lb-output-action
		}},
		{"dpif-netdev/dpif-impl-get", "", 0, 0, d.implGet("Available DPIF implementations:\n  dpif_scalar (pmds: %s)\n")},
		{"dpif-netdev/dpif-impl-set", "dpif_implementation_name", 1, 1, func(args []string) (string, error) {
			if args[0] != "dpif_scalar" {
				return "", unixctlError(fmt.Sprintf("DPIF implementation not available: Unknown DPIF implementation %s.", args[0]))
			}
			return "DPIF implementation set to dpif_scalar.\n", nil
		}},
		{"dpif-netdev/miniflow-parser-get", "", 0, 0, d.implGet("Available MFEX implementations:\n  scalar (available: True pmds: %s)\n")},
		{"dpif-netdev/miniflow-parser-set", "[-pmd core] miniflow_implementation_name [study_pkt_cnt]", 1, 5, d.miniflowSet},
		{"dpif-netdev/subtable-lookup-info-get", "", 0, 0, ok("Available dpcls implementations:\n  generic (Use count: 0, Priority: 1)\n")},
		{"dpif-netdev/subtable-lookup-prio-set", "[lookup_func] [prio]", 2, 2, func(args []string) (string, error) {
			if args[0] != "generic" {
				return "", unixctlError("error, subtable lookup function not found")
			}
			return "Lookup priority change affected 0 dpcls ports and 0 subtables.\n", nil
		}},
		{"dpif-netdev/pmd-perf-log-set", "on|off [-b before] [-a after] [-e|-ne] [-us usec] [-q qlen]", 0, 10, pmdPerfLogSet},
		{"odp-execute/action-impl-show", "", 0, 0, ok("Available Actions implementations:\n  scalar (available: Yes, active: Yes)\n")},
		{"odp-execute/action-impl-set", "name", 1, 1, func(args []string) (string, error) {
			if args[0] != "scalar" {
				return "", unixctlError(fmt.Sprintf("Error: unknown action implementation, %s, specified!", args[0]))
			}
			return "Action implementation set to scalar.\n", nil
		}},
	}
	cmds = append(cmds, d.dpctlCommands()...)
	cmds = append(cmds, st.tunnelCommands(d)...)
	cmds = append(cmds, st.routeCommands(d)...)
	cmds = append(cmds, d.dpdkCommands()...)
	return registerAll(s, cmds)
}

func (st *appctlState) set(fn func(), reply string) func([]string) (string, error) {
	return func([]string) (string, error) {
		st.mu.Lock()
		fn()
		st.mu.Unlock()
		return reply, nil
	}
}

// noObject answers a per-object command of a feature gvswitch does not
// run: with no argument the (empty) list, or done; with one, errText.
func noObject(errText, none string) func([]string) (string, error) {
	return func(args []string) (string, error) {
		if len(args) == 0 {
			return none, nil
		}
		return "", unixctlError(errText)
	}
}

// setFault is bfd/set-forwarding and cfm/set-fault: the value is checked
// first, then the interface (none has BFD or CFM).
func setFault(noSuch string) func([]string) (string, error) {
	return func(args []string) (string, error) {
		switch args[len(args)-1] {
		case "normal", "false", "true":
		default:
			return "", unixctlError("unknown fault string")
		}
		if len(args) == 2 {
			return "", unixctlError(noSuch)
		}
		return "OK\n", nil
	}
}

// withBridgeName runs fn when args[0] names a bridge, else "no such bridge".
func (d *Daemon) withBridgeName(fn func(string) (string, error)) func([]string) (string, error) {
	return func(args []string) (string, error) {
		d.mu.Lock()
		_, ok := d.bridges[args[0]]
		d.mu.Unlock()
		if !ok {
			return "", errNoSuchBridge
		}
		return fn(args[0])
	}
}

// optionalBridge is withBridgeName for commands whose bridge is optional,
// with their own error text.
func (d *Daemon) optionalBridge(errText string, fn func(string) (string, error)) func([]string) (string, error) {
	return func(args []string) (string, error) {
		if len(args) == 0 {
			return fn("")
		}
		d.mu.Lock()
		_, ok := d.bridges[args[0]]
		d.mu.Unlock()
		if !ok {
			return "", unixctlError(errText)
		}
		return fn(args[0])
	}
}

// withIface runs fn when args[0] names an open interface, else "no such
// interface".
func (d *Daemon) withIface(fn func(string) (string, error)) func([]string) (string, error) {
	return func(args []string) (string, error) {
		d.mu.Lock()
		f := d.ifaceByName(args[0])
		d.mu.Unlock()
		if f == nil || f.dp == nil {
			return "", unixctlError("no such interface")
		}
		return fn(args[0])
	}
}

// ifaceByName finds an interface by name; d.mu is held.
func (d *Daemon) ifaceByName(name string) *iface {
	for _, f := range d.ifaces {
		if f.name == name {
			return f
		}
	}
	return nil
}

// memoryShow is memory/show: what the switch holds, as "key:value" pairs
// in name order.
func (d *Daemon) memoryShow([]string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	kv := map[string]int{}
	cells := 0
	for _, rows := range d.db {
		for _, r := range rows {
			cells += len(r)
		}
	}
	kv["idl-cells-Open_vSwitch"] = cells
	n := 0
	for _, f := range d.ifaces {
		if f.dp != nil {
			n++
		}
	}
	kv["ports"] = n
	kv["rules"] = len(d.bridges) // each bridge's one rule, NORMAL
	if bdp, ok := d.dp.(*bridgeDatapath); ok {
		macs := 0
		for _, br := range bdp.bridges {
			macs += br.FDB().Len()
		}
		kv["mac-table-entries"] = macs
		if bdp.pkts != nil {
			kv["packet-buffers"] = bdp.pkts.Size()
		}
		if bdp.pmds != nil {
			kv["pmds"] = len(bdp.pmds.Threads())
		}
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, kv[k])
	}
	return strings.Join(parts, " ") + "\n", nil
}

// upcallShow is upcall/show. gvswitch has no upcall handlers or
// revalidators; the flow count is that of dpctl/dump-flows.
func (d *Daemon) upcallShow(st *appctlState) func([]string) (string, error) {
	return func([]string) (string, error) {
		d.mu.Lock()
		n := len(d.flows(""))
		d.mu.Unlock()
		st.mu.Lock()
		defer st.mu.Unlock()
		return fmt.Sprintf("netdev@ovs-netdev:\n  flows         : (current %d) (avg %d) (max %d) (limit %d)\n  dump duration : 0ms\n  ufid enabled : %t\n\n",
			n, n, n, st.flowLimit, st.ufid), nil
	}
}

// bridgeDumpFlows is bridge/dump-flows: a gvswitch bridge's only rule is
// NORMAL; its counters are the bridge's lookups.
func (d *Daemon) bridgeDumpFlows(st *appctlState) func([]string) (string, error) {
	return func(args []string) (string, error) { return d.bridgeDumpFlowsOf(args, time.Since(st.started)) }
}

func (d *Daemon) bridgeDumpFlowsOf(args []string, age time.Duration) (string, error) {
	offload := false
	name := args[len(args)-1]
	if len(args) == 2 && args[0] == "--offload-stats" {
		offload = true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	bdp, _ := d.dp.(*bridgeDatapath)
	if d.bridges[name] == nil {
		return "", unixctlError("Unknown bridge")
	}
	var hit, missed uint64
	if bdp != nil && bdp.bridges[name] != nil {
		hit, missed = bdp.bridges[name].LookupStats()
	}
	off := ""
	if offload {
		off = "n_offload_packets=0, n_offload_bytes=0, "
	}
	return fmt.Sprintf("duration=%ds, n_packets=%d, n_bytes=0, %spriority=0,actions=NORMAL\n", int(age.Seconds()), hit+missed, off), nil
}

// setDPFeatures is dpif/set-dp-features bridge [feature [value]]: the
// datapath's features are fixed.
func (d *Daemon) setDPFeatures(args []string) (string, error) {
	return d.withBridgeName(func(string) (string, error) {
		if len(args) == 1 {
			return dpFeaturesList(), nil
		}
		for _, f := range dpFeatures {
			if f.key == args[1] {
				return "", unixctlError("gvswitch: the datapath's features are fixed")
			}
		}
		return "Unexpected support field\n", nil // a success reply, as ovs-vswitchd gives
	})(args)
}

// dpFeature is one datapath feature as dpif/show-dp-features prints it.
type dpFeature struct{ key, desc, value string }

// dpFeatures are the netdev datapath's capabilities as gvswitch has them:
// VLAN push/pop on one tag, flows named by UFID, and nothing of the rest.
var dpFeatures = []dpFeature{
	{"masked_set_action", "Masked set action", "No"},
	{"tnl_push_pop", "Tunnel push pop", "No"},
	{"ufid", "Ufid", "Yes"}, // dump-flows -m and get-flow name flows by UFID
	{"trunc", "Truncate action", "No"},
	{"clone", "Clone action", "No"},
	{"sample_nesting", "Sample nesting", "0"},
	{"ct_eventmask", "Conntrack eventmask", "No"},
	{"ct_clear", "Conntrack clear", "No"},
	{"max_hash_alg", "Max dp_hash algorithm", "0"},
	{"check_pkt_len", "Check pkt length action", "No"},
	{"ct_timeout", "Conntrack timeout policy", "No"},
	{"explicit_drop_action", "Explicit Drop action", "No"},
	{"lb_output_action", "Optimized Balance TCP mode", "No"},
	{"ct_zero_snat", "Conntrack all-zero IP SNAT", "No"},
	{"add_mpls", "MPLS Label add", "No"},
	{"max_vlan_headers", "Max VLAN headers", "1"},
	{"max_mpls_depth", "Max MPLS depth", "0"},
	{"recirc", "Recirc", "No"},
	{"ct_state", "CT state", "No"},
	{"ct_zone", "CT zone", "No"},
	{"ct_mark", "CT mark", "No"},
	{"ct_label", "CT label", "No"},
	{"ct_state_nat", "CT state NAT", "No"},
	{"ct_orig_tuple", "CT orig tuple", "No"},
	{"ct_orig_tuple6", "CT orig tuple for IPv6", "No"},
	{"nd_ext", "IPv6 ND Extension", "No"},
}

func dpFeaturesText() string {
	var b strings.Builder
	for _, f := range dpFeatures {
		fmt.Fprintf(&b, "%s: %s\n", f.desc, f.value)
	}
	return b.String()
}

func dpFeaturesList() string {
	var b strings.Builder
	for _, f := range dpFeatures {
		v := map[string]string{"Yes": "true", "No": "false"}[f.value]
		if v == "" {
			v = f.value
		}
		fmt.Fprintf(&b, "%s (%s) : [run time]:%s, [boot time]:%s\n", f.key, f.desc, v, v)
	}
	return b.String()
}

// implGet renders an "Available ... implementations" list whose one
// implementation every PMD uses (format has one %s: the PMD cores).
func (d *Daemon) implGet(format string) func([]string) (string, error) {
	return func([]string) (string, error) {
		cores := "none"
		if bdp, ok := d.dp.(*bridgeDatapath); ok {
			if m, err := bdp.pmdManager(); err == nil {
				var cs []string
				for _, t := range m.Threads() {
					cs = append(cs, strconv.Itoa(t.Core()))
				}
				if len(cs) > 0 {
					cores = strings.Join(cs, ",")
				}
			}
		}
		return fmt.Sprintf(format, cores), nil
	}
}

// miniflowSet is dpif-netdev/miniflow-parser-set: gvswitch has one
// parser, "scalar".
func (d *Daemon) miniflowSet(args []string) (string, error) {
	var name string
	for i := 0; i < len(args); i++ {
		if args[i] == "-pmd" && i+1 < len(args) {
			i++
			if core, err := strconv.Atoi(args[i]); err != nil || !d.pmdOnCore(core) {
				return "", unixctlError(fmt.Sprintf("Error: miniflow extract parser not changed, PMD thread %s not in use, pass a valid pmd thread ID.", args[i]))
			}
			continue
		}
		if name == "" {
			name = args[i]
		}
	}
	if name != "scalar" {
		return "", unixctlError(fmt.Sprintf("Error: unknown miniflow extract implementation %s.", name))
	}
	return "Miniflow extract implementation set to scalar.\n", nil
}

// pmdOnCore reports whether a PMD thread runs on core.
func (d *Daemon) pmdOnCore(core int) bool {
	bdp, ok := d.dp.(*bridgeDatapath)
	if !ok {
		return false
	}
	m, err := bdp.pmdManager()
	if err != nil {
		return false
	}
	for _, t := range m.Threads() {
		if t.Core() == core {
			return true
		}
	}
	return false
}

// pmdPerfLogSet is dpif-netdev/pmd-perf-log-set: gvswitch keeps no
// per-iteration history to log from, so only "off" is accepted.
func pmdPerfLogSet(args []string) (string, error) {
	usage := unixctlError("Usage: ovs-appctl dpif-netdev/pmd-perf-log-set [on|off] [-b before] [-a after] [-e|-ne] [-us usec] [-q qlen]")
	on := false
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "on":
			on = true
		case "off":
			on = false
		case "-e", "-ne":
		case "-b", "-a", "-us", "-q":
			i++
			if i == len(args) {
				return "", usage
			}
			if _, err := strconv.Atoi(args[i]); err != nil {
				return "", usage
			}
		default:
			return "", usage
		}
	}
	if on {
		return "", unixctlError("gvswitch: PMD performance logging is not supported")
	}
	return "", nil
}
