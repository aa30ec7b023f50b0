package reconcile

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// tnl/*: the tunnel neighbour cache and settings. gvswitch has no tunnel
// ports, so the cache only holds what tnl/neigh/set (tnl/arp/set) puts
// in it, as ovs-vswitchd's does without tunnel traffic.

func (st *appctlState) tunnelCommands(*Daemon) []unixctlCommand {
	show := func([]string) (string, error) {
		var b strings.Builder
		fmt.Fprintf(&b, "%-45s %-19s %s\n", "IP", "MAC", "Bridge")
		b.WriteString(strings.Repeat("=", 74) + "\n")
		st.mu.Lock()
		defer st.mu.Unlock()
		for i := len(st.tnlNeigh) - 1; i >= 0; i-- {
			f := strings.SplitN(st.tnlNeigh[i], "|", 3)
			fmt.Fprintf(&b, "%-45s %-19s %s\n", f[0], f[1], f[2])
		}
		return b.String(), nil
	}
	set := func(args []string) (string, error) {
		ip, err := netip.ParseAddr(args[1])
		if err != nil {
			return "", unixctlError("bad IP address")
		}
		mac, err := net.ParseMAC(args[2])
		if err != nil || len(mac) != 6 {
			return "", unixctlError("bad MAC address")
		}
		key := ip.String() + "|" + mac.String() + "|" + args[0]
		st.mu.Lock()
		defer st.mu.Unlock()
		for i, e := range st.tnlNeigh {
			if strings.HasPrefix(e, ip.String()+"|") && strings.HasSuffix(e, "|"+args[0]) {
				st.tnlNeigh = append(st.tnlNeigh[:i], st.tnlNeigh[i+1:]...)
				break
			}
		}
		st.tnlNeigh = append(st.tnlNeigh, key)
		return "OK\n", nil
	}
	flush := func([]string) (string, error) {
		st.mu.Lock()
		st.tnlNeigh = nil
		st.mu.Unlock()
		return "OK\n", nil
	}
	aging := func(args []string) (string, error) {
		st.mu.Lock()
		defer st.mu.Unlock()
		if len(args) == 0 {
			return fmt.Sprintf("%d\n", st.tnlARPAging), nil
		}
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 1 || n > 3600 {
			return "", unixctlError("bad aging value")
		}
		st.tnlARPAging = n
		return "OK\n", nil
	}
	portRange := func(args []string) (string, error) {
		st.mu.Lock()
		defer st.mu.Unlock()
		if len(args) != 2 {
			return fmt.Sprintf("Tunnel UDP source port range: %d-%d\n", st.tnlPortRange[0], st.tnlPortRange[1]), nil
		}
		lo, err1 := strconv.Atoi(args[0])
		hi, err2 := strconv.Atoi(args[1])
		switch {
		case err1 != nil || lo <= 0 || lo > 65535:
			return "Invalid min.", nil
		case err2 != nil || hi <= 0 || hi > 65535:
			return "Invalid max.", nil
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		st.tnlPortRange = [2]int{lo, hi}
		return "OK\n", nil
	}
	return []unixctlCommand{
		{"tnl/neigh/show", "", 0, 0, show},
		{"tnl/arp/show", "", 0, 0, show},
		{"tnl/neigh/set", "BRIDGE IP MAC", 3, 3, set},
		{"tnl/arp/set", "BRIDGE IP MAC", 3, 3, set},
		{"tnl/neigh/flush", "", 0, 0, flush},
		{"tnl/arp/flush", "", 0, 0, flush},
		{"tnl/neigh/aging", "[SECS]", 0, 1, aging},
		{"tnl/arp/aging", "[SECS]", 0, 1, aging},
		{"tnl/egress_port_range", "min max", 0, 2, portRange},
		{"tnl/ports/show", "-v", 0, 1, func([]string) (string, error) { return "Listening ports:\n", nil }},
	}
}
