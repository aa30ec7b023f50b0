package dataplane

import "fmt"

// Statistics returns the Interface statistics column of a device: the
// standard keys from Stats (rx_packets, rx_bytes, rx_dropped, rx_errors,
// tx_packets, tx_bytes, tx_dropped, tx_errors) plus the port's ExtraStats.
func Statistics(p Port) map[string]uint64 {
	s := p.Stats()
	m := map[string]uint64{
		"rx_packets": s.RxPackets, "rx_bytes": s.RxBytes, "rx_dropped": s.RxDropped, "rx_errors": s.RxErrors,
		"tx_packets": s.TxPackets, "tx_bytes": s.TxBytes, "tx_dropped": s.TxDropped, "tx_errors": s.TxErrors,
	}
	if x, ok := p.(ExtraStats); ok {
		for k, v := range x.ExtraStats() {
			m[k] = v
		}
	}
	return m
}

// InterfaceStatistics is Statistics of port no's device (member: bond
// member index, -1 for a plain port) with the bridge's own drops added as
// OVS-DPDK names them: ovs_tx_mtu_exceeded_drops (frames over the MTU),
// ovs_tx_failure_drops (flood copies without a buffer), and the drops of
// frames the port received but the bridge refused counted in rx_dropped.
// A bond's bridge-level counters are reported on its member 0.
func (b *Bridge) InterfaceStatistics(no uint32, member int) (map[string]uint64, error) {
	s := b.snap.Load()
	i := s.index(no)
	if i < 0 {
		return nil, fmt.Errorf("bridge %s: statistics of port %d: %w", b.name, no, ErrNoPort)
	}
	pv := &s.ports[i]
	if member < 0 {
		member = 0
	}
	if member >= len(pv.targets) || pv.targets[member] == nil {
		return nil, fmt.Errorf("bridge %s: statistics of port %d member %d: %w", b.name, no, member, ErrNoPort)
	}
	m := Statistics(pv.targets[member].port)
	if member == 0 {
		c := &pv.bp.cnt
		m["ovs_tx_mtu_exceeded_drops"] += c.mtu.Load()
		m["ovs_tx_failure_drops"] += c.nobuf.Load()
		m["rx_dropped"] += c.vlan.Load() + c.reserved.Load() + c.bond.Load()
		m["rx_errors"] += c.errors.Load()
	}
	return m, nil
}
