package reconcile

import (
	"fmt"
	"sort"
	"strings"

	"gvswitch/control/unixctl"
)

// registerCommands adds the unixctl commands that show the daemon's
// bridges and ports.
func (d *Daemon) registerCommands(s *unixctl.Server) {
	must := func(err error) {
		if err != nil {
			log.Err("registering unixctl command: %v", err)
		}
	}
	must(s.Register("ofproto/list", "", 0, 0, d.ofprotoList))
	must(s.Register("dpif/show", "", 0, 0, d.dpifShow))
	must(s.Register("dpif/dump-dps", "", 0, 0, d.dpifDumpDPs))
	must(d.registerAppctl(s))
}

func (d *Daemon) sortedBridges() []*bridge {
	bs := make([]*bridge, 0, len(d.bridges))
	for _, b := range d.bridges {
		bs = append(bs, b)
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].name < bs[j].name })
	return bs
}

// ofprotoList prints one bridge name per line (sessions/18).
func (d *Daemon) ofprotoList([]string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var b strings.Builder
	for _, br := range d.sortedBridges() {
		b.WriteString(br.name + "\n")
	}
	return b.String(), nil
}

// dpifDumpDPs prints each bridge as "TYPE@NAME": every bridge runs in
// the userspace (netdev) datapath.
func (d *Daemon) dpifDumpDPs([]string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var b strings.Builder
	for _, br := range d.sortedBridges() {
		b.WriteString("netdev@" + br.name + "\n")
	}
	return b.String(), nil
}

// dpifShow prints the datapath and each bridge's ports with their OpenFlow
// and datapath port numbers and types, in the layout of sessions/08 and
// reference/ovs-dpdk/09: internal ports show as (tap), kernel ports as
// (system), dpdk* ports with their queue configuration.
func (d *Daemon) dpifShow([]string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var b strings.Builder
	hit, missed := d.lookupStats()
	fmt.Fprintf(&b, "netdev@ovs-netdev: hit:%d missed:%d\n", hit, missed)
	for _, br := range d.sortedBridges() {
		fmt.Fprintf(&b, "  %s:\n", br.name)
		var fs []*iface
		for _, f := range d.ifaces {
			if f.bridge == br.name && f.dp != nil {
				fs = append(fs, f)
			}
		}
		sort.Slice(fs, func(i, j int) bool { return fs[i].name < fs[j].name })
		for _, f := range fs {
			fmt.Fprintf(&b, "    %s %d/%d: (%s)\n", f.name, f.ofport, f.odp, dpifType(f))
		}
	}
	return b.String(), nil
}

func dpifType(f *iface) string {
	switch f.typ {
	case "internal":
		return "tap"
	case "system":
		return "system"
	}
	if strings.HasPrefix(f.typ, "dpdk") {
		p := f.dp
		mtu := p.MTU()
		return fmt.Sprintf("%s: configured_rx_queues=%d, configured_tx_queues=%d, mtu=%d, requested_rx_queues=%d, requested_tx_queues=%d",
			f.typ, p.NumRxQueues(), p.NumTxQueues(), mtu, p.NumRxQueues(), p.NumTxQueues())
	}
	return f.typ
}

// lookupStats are the datapath's hit/missed counters.
func (d *Daemon) lookupStats() (hit, missed uint64) {
	if b, ok := d.dp.(*bridgeDatapath); ok {
		return b.lookupStats()
	}
	return 0, 0
}
