package vsctl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"gvswitch/control/internal/ovsjson"
	"gvswitch/internal/ovshash"
)

// Log levels, most severe first, as ovs-vsctl's -v/--verbose names them.
var logLevels = []string{"off", "emer", "err", "warn", "info", "dbg"}

// levelRank returns a level's rank in logLevels (a higher rank is more
// verbose), or -1.
func levelRank(name string) int {
	for i, l := range logLevels {
		if strings.EqualFold(l, name) {
			return i
		}
	}
	return -1
}

// vlog is the console part of ovs-vsctl's logging configuration: which
// modules print at which level on stderr (other destinations are ignored:
// gvswitchctl logs to the console only).
type vlog struct {
	def     int            // every module's console level unless set
	modules map[string]int // per-module console levels
	// syslog is the vsctl module's syslog level: ovs-vsctl logs "Called
	// as ..." there at INFO, which numbers that message even when the
	// console does not show it.
	syslog int
}

func newVlog() *vlog {
	return &vlog{def: levelRank("warn"), modules: map[string]int{}, syslog: levelRank("info")}
}

// set applies one -v/--verbose argument: words separated by ':', ' ' or
// ',' naming destinations, a level and modules; "PATTERN:..." and
// "FACILITY:..." set formats ovs-vsctl's console does not use here. An
// empty spec makes every module print everything.
func (v *vlog) set(spec string) error {
	if spec == "" {
		v.def, v.syslog = levelRank("dbg"), levelRank("dbg")
		v.modules = map[string]int{}
		return nil
	}
	if strings.HasPrefix(strings.ToUpper(spec), "PATTERN:") || strings.HasPrefix(strings.ToUpper(spec), "FACILITY:") {
		return nil
	}
	level, console, syslog := levelRank("dbg"), true, true
	var modules []string
	for _, w := range strings.FieldsFunc(spec, func(r rune) bool { return r == ':' || r == ' ' || r == ',' || r == '\t' }) {
		switch lw := strings.ToLower(w); {
		case lw == "any":
		case lw == "console":
			console, syslog = true, false
		case lw == "syslog":
			console, syslog = false, true
		case lw == "file":
			console, syslog = false, false
		case levelRank(lw) >= 0:
			level = levelRank(lw)
		case vlogModules[lw]:
			modules = append(modules, lw)
		default:
			return fmt.Errorf("processing \"%s\": no destination, level, or module \"%s\"", spec, w)
		}
	}
	if syslog && (len(modules) == 0 || slices.Contains(modules, "vsctl")) {
		v.syslog = level
	}
	if !console {
		return nil
	}
	if len(modules) == 0 {
		v.def = level
		v.modules = map[string]int{}
		return nil
	}
	for _, m := range modules {
		v.modules[m] = level
	}
	return nil
}

// vlogModules are the log modules linked into ovs-vsctl 3.1 (what
// -v/--verbose accepts as module names).
var vlogModules = map[string]bool{}

func init() {
	for _, m := range []string{"backtrace", "bundle", "command_line", "conntrack", "conntrack_tp", "coverage", "ct_dpif", "db_ctl_base", "dns_resolve", "dpdk", "dpif", "dpif_lookup_autovalidator", "dpif_lookup_generic", "dpif_mfex_extract_study", "dpif_netdev", "dpif_netdev_extract", "dpif_netdev_impl", "dpif_netdev_lookup", "dpif_netlink", "dpif_netlink_rtnl", "entropy", "fatal_signal", "flow", "hmap", "ipf", "jsonrpc", "meta_flow", "native_tnl", "netdev", "netdev_afxdp", "netdev_linux", "netdev_offload", "netdev_offload_tc", "netdev_vport", "netlink", "netlink_conntrack", "netlink_notifier", "netlink_socket", "nx_match", "odp_execute", "odp_execute_impl", "odp_util", "ofp_actions", "ofp_bundle", "ofp_connection", "ofp_errors", "ofp_flow", "ofp_group", "ofp_match", "ofp_meter", "ofp_monitor", "ofp_msgs", "ofp_packet", "ofp_port", "ofp_protocol", "ofp_queue", "ofp_table", "ofp_util", "ovs_numa", "ovs_rcu", "ovs_replay", "ovs_router", "ovs_thread", "ovsdb_cs", "ovsdb_error", "ovsdb_idl", "ox_stat", "pmd_perf", "poll_loop", "process", "reconnect", "route_table", "sha1", "signals", "socket_util", "socket_util_unix", "stream", "stream_fd", "stream_replay", "stream_ssl", "stream_tcp", "stream_unix", "svec", "tc", "timeval", "unixctl", "userspace_tso", "util", "uuid", "vconn", "vconn_stream", "vlog", "vsctl"} {
		vlogModules[m] = true
	}
}

// enabled reports whether module logs at level (a name in logLevels) on
// the console.
func (v *vlog) enabled(module, level string) bool {
	l, ok := v.modules[module]
	if !ok {
		l = v.def
	}
	return levelRank(level) <= l && levelRank(level) > 0
}

// ovsJSON re-renders a JSON text the way the Open vSwitch JSON library
// prints what it parsed: compact, object members in the iteration order
// of its hash table (see objectOrder), strings escaped by its rules.
func ovsJSON(raw []byte) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := decodeOrdered(dec, &v); err != nil {
		return string(raw)
	}
	return string(appendOVSJSON(nil, v))
}

// orderedObject keeps a JSON object's members in the order they came.
type orderedObject struct {
	names  []string
	values []any
}

func decodeOrdered(dec *json.Decoder, out *any) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	switch x := t.(type) {
	case json.Delim:
		switch x {
		case '{':
			o := &orderedObject{}
			for dec.More() {
				nt, err := dec.Token()
				if err != nil {
					return err
				}
				var v any
				if err := decodeOrdered(dec, &v); err != nil {
					return err
				}
				o.names = append(o.names, nt.(string))
				o.values = append(o.values, v)
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			*out = o
		case '[':
			a := []any{}
			for dec.More() {
				var v any
				if err := decodeOrdered(dec, &v); err != nil {
					return err
				}
				a = append(a, v)
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			*out = a
		}
	default:
		*out = t
	}
	return nil
}

func appendOVSJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case *orderedObject:
		h := newRowOrder()
		index := map[string]int{}
		for i, n := range x.names {
			index[n] = i
			h.insert(n, ovshash.Bytes([]byte(n), 0))
		}
		b = append(b, '{')
		for i, n := range h.keys() {
			if i > 0 {
				b = append(b, ',')
			}
			b = ovsjson.AppendString(b, n)
			b = append(b, ':')
			b = appendOVSJSON(b, x.values[index[n]])
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendOVSJSON(b, e)
		}
		return append(b, ']')
	case string:
		return ovsjson.AppendString(b, x)
	case json.Number:
		return append(b, x.String()...)
	case bool:
		if x {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case nil:
		return append(b, "null"...)
	}
	return b
}
