package reconcile

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ovs/route/*: Open vSwitch's routing table for tunnels, the kernel's
// unicast and local routes of the switch's network namespace ("Cached")
// plus routes added with ovs/route/add ("User"). gvswitch has no tunnel
// ports, so nothing uses the table, but it is shown and kept as
// ovs-vswitchd keeps it.

// userRoute is one route of the table.
type userRoute struct {
	prefix netip.Prefix
	dev    string
	gw     netip.Addr // zero: directly connected
	src    netip.Addr
	mark   uint32
	local  bool
	user   bool
}

// priority orders routes as the table matches them: longer prefixes
// first (IPv4 counted as IPv4-mapped IPv6), local routes before others.
func (r userRoute) priority() int {
	p := r.prefix.Bits()
	if r.prefix.Addr().Is4() {
		p += 96
	}
	if r.local {
		p += 64
	}
	return p
}

func (r userRoute) String() string {
	var b strings.Builder
	kind := "Cached"
	if r.user {
		kind = "User"
	}
	fmt.Fprintf(&b, "%s: %s", kind, r.prefix)
	if r.mark != 0 {
		fmt.Fprintf(&b, " MARK %d", r.mark)
	}
	fmt.Fprintf(&b, " dev %s", r.dev)
	if r.gw.IsValid() {
		fmt.Fprintf(&b, " GW %s", r.gw)
	}
	fmt.Fprintf(&b, " SRC %s", r.src)
	if r.local {
		b.WriteString(" local")
	}
	return b.String()
}

// kernelRoutes reads the namespace's unicast and local routes of the
// main, default and local tables.
func kernelRoutes() []userRoute {
	rs, err := netlink.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil
	}
	names := map[int]string{}
	if links, err := netlink.LinkList(); err == nil {
		for _, l := range links {
			names[l.Attrs().Index] = l.Attrs().Name
		}
	}
	var out []userRoute
	seen := map[netip.Prefix]int{}
	for _, r := range rs {
		switch r.Table {
		case unix.RT_TABLE_MAIN, unix.RT_TABLE_LOCAL, unix.RT_TABLE_DEFAULT:
		default:
			continue
		}
		if r.Type != unix.RTN_UNICAST && r.Type != unix.RTN_LOCAL {
			continue
		}
		if r.Dst == nil || names[r.LinkIndex] == "" {
			continue
		}
		addr, ok := netip.AddrFromSlice(r.Dst.IP)
		if !ok {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		ur := userRoute{prefix: netip.PrefixFrom(addr.Unmap(), ones).Masked(), dev: names[r.LinkIndex], local: r.Type == unix.RTN_LOCAL}
		if g, ok := netip.AddrFromSlice(r.Gw); ok && r.Gw != nil {
			ur.gw = g.Unmap()
		}
		if s, ok := netip.AddrFromSlice(r.Src); ok && r.Src != nil {
			ur.src = s.Unmap()
		} else if s, ok := devSource(ur.dev, ur.prefix.Addr()); ok {
			ur.src = s
		} else {
			continue
		}
		if i, dup := seen[ur.prefix]; dup {
			out[i] = ur // the table keeps one route per prefix: the last
			continue
		}
		seen[ur.prefix] = len(out)
		out = append(out, ur)
	}
	return out
}

// devSource is an address of device dev of addr's family, preferring one
// whose subnet holds addr.
func devSource(dev string, addr netip.Addr) (netip.Addr, bool) {
	ni, err := net.InterfaceByName(dev)
	if err != nil {
		return netip.Addr{}, false
	}
	addrs, err := ni.Addrs()
	if err != nil {
		return netip.Addr{}, false
	}
	var fallback netip.Addr
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok || ip.Unmap().Is4() != addr.Is4() {
			continue
		}
		ones, _ := ipn.Mask.Size()
		if netip.PrefixFrom(ip.Unmap(), ones).Contains(addr) {
			return ip.Unmap(), true
		}
		if !fallback.IsValid() {
			fallback = ip.Unmap()
		}
	}
	return fallback, fallback.IsValid()
}

// table is the whole table in match order.
func (st *appctlState) table() []userRoute {
	st.mu.Lock()
	rs := append(append([]userRoute(nil), st.routes...), kernelRoutes()...)
	st.mu.Unlock()
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].priority() > rs[j].priority() })
	return rs
}

// parseMark reads an optional trailing "pkt_mark=N" argument.
func parseMark(args []string) ([]string, uint32, bool) {
	if n := len(args); n > 0 && strings.HasPrefix(args[n-1], "pkt_mark=") {
		m, err := strconv.ParseUint(strings.TrimPrefix(args[n-1], "pkt_mark="), 10, 32)
		if err != nil {
			return nil, 0, false
		}
		return args[:n-1], uint32(m), true
	}
	return args, 0, true
}

// parseRoutePrefix reads "ADDR/PLEN" (or a bare address: a host route).
func parseRoutePrefix(s string) (netip.Prefix, bool) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return p.Masked(), true
}

func (st *appctlState) routeCommands(*Daemon) []unixctlCommand {
	return []unixctlCommand{
		{"ovs/route/show", "", 0, 0, func([]string) (string, error) {
			var b strings.Builder
			b.WriteString("Route Table:\n")
			for _, r := range st.table() {
				b.WriteString(r.String() + "\n")
			}
			return b.String(), nil
		}},
		{"ovs/route/add", "ip_addr/prefix_len out_br_name [gw] [pkt_mark=mark]", 2, 4, func(args []string) (string, error) {
			p, ok := parseRoutePrefix(args[0])
			if !ok {
				return "", unixctlError("Invalid parameters")
			}
			rest, mark, ok := parseMark(args[2:])
			r := userRoute{prefix: p, dev: args[1], mark: mark, user: true}
			if ok && len(rest) == 1 {
				g, err := netip.ParseAddr(rest[0])
				if err != nil || g.Is4() != p.Addr().Is4() {
					ok = false
				}
				r.gw = g
			} else if len(rest) > 1 {
				ok = false
			}
			if !ok {
				return "", unixctlError("Invalid pkt_mark or gateway")
			}
			via := p.Addr()
			if r.gw.IsValid() {
				via = r.gw
			}
			src, found := devSource(r.dev, via)
			if !found || !netipSubnetHolds(r.dev, via) {
				return "", unixctlError("Error while inserting route.")
			}
			r.src = src
			st.mu.Lock()
			defer st.mu.Unlock()
			for i, o := range st.routes {
				if o.prefix == r.prefix && o.mark == r.mark {
					st.routes[i] = r
					return "OK\n", nil
				}
			}
			st.routes = append(st.routes, r)
			return "OK\n", nil
		}},
		{"ovs/route/del", "ip_addr/prefix_len [pkt_mark=mark]", 1, 2, func(args []string) (string, error) {
			p, ok := parseRoutePrefix(args[0])
			if !ok {
				return "", unixctlError("Invalid parameters")
			}
			rest, mark, ok := parseMark(args[1:])
			if !ok || len(rest) > 0 {
				return "", unixctlError("Invalid pkt_mark")
			}
			st.mu.Lock()
			defer st.mu.Unlock()
			for i, o := range st.routes {
				if o.prefix == p && o.mark == mark {
					st.routes = append(st.routes[:i], st.routes[i+1:]...)
					return "OK\n", nil
				}
			}
			return "", unixctlError("Not found")
		}},
		{"ovs/route/lookup", "ip_addr [pkt_mark=mark]", 1, 2, func(args []string) (string, error) {
			a, err := netip.ParseAddr(args[0])
			if err != nil {
				return "", unixctlError("Invalid parameters")
			}
			rest, mark, ok := parseMark(args[1:])
			if !ok || len(rest) > 0 {
				return "", unixctlError("Invalid pkt_mark")
			}
			for _, r := range st.table() {
				if r.mark == mark && r.prefix.Contains(a) {
					gw := "::"
					if r.gw.IsValid() {
						gw = r.gw.String()
					}
					return fmt.Sprintf("src %s\ngateway %s\ndev %s\n", r.src, gw, r.dev), nil
				}
			}
			return "", unixctlError("Not found")
		}},
	}
}

// netipSubnetHolds reports whether one of dev's subnets holds addr (a
// route's gateway or destination must be reachable through its device).
func netipSubnetHolds(dev string, addr netip.Addr) bool {
	ni, err := net.InterfaceByName(dev)
	if err != nil {
		return false
	}
	addrs, _ := ni.Addrs()
	for _, x := range addrs {
		if ipn, ok := x.(*net.IPNet); ok && ipn.Contains(net.IP(addr.AsSlice())) {
			return true
		}
	}
	return false
}
