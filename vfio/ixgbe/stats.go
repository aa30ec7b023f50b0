package ixgbe

import (
	"fmt"
	"strconv"

	"gvswitch/dataplane"
)

// hwStats accumulates the clear-on-read statistics registers (8.2.3.23).
type hwStats struct {
	crcErrs, illErrs, errBytes, lenErrs      uint64
	localFaults, remoteFaults                uint64
	undersize, fragment, oversize, jabber    uint64
	missed, queueDrops                       uint64
	goodRx, goodTx, goodRxBytes, goodTxBytes uint64
	bcastRx, mcastRx, bcastTx, mcastTx       uint64
	xonRx, xoffRx, xonTx, xoffTx             uint64
	rxSize, txSize                           [6]uint64 // 64,65-127,...,1024-1522
}

// readStats adds the statistics registers to s; reading clears them.
func (p *Port) readStats(s *hwStats) {
	r := p.regs.Read32
	s.crcErrs += uint64(r(regCRCERRS))
	s.illErrs += uint64(r(regILLERRC))
	s.errBytes += uint64(r(regERRBC))
	s.localFaults += uint64(r(regMLFC))
	s.remoteFaults += uint64(r(regMRFC))
	s.lenErrs += uint64(r(regRLEC))
	s.undersize += uint64(r(regRUC))
	s.fragment += uint64(r(regRFC))
	s.oversize += uint64(r(regROC))
	s.jabber += uint64(r(regRJC))
	for i := uint32(0); i < 8; i++ {
		s.missed += uint64(r(regMPC0 + 4*i))
	}
	for i := range p.rx {
		s.queueDrops += uint64(r(rxq(regQPRDC, i)))
	}
	s.goodRx += uint64(r(regGPRC))
	s.goodTx += uint64(r(regGPTC))
	// 8.2.3.23.18: read the low half first, the high half latches.
	s.goodRxBytes += uint64(r(regGORCL)) | uint64(r(regGORCH)&0xF)<<32
	s.goodTxBytes += uint64(r(regGOTCL)) | uint64(r(regGOTCH)&0xF)<<32
	s.bcastRx += uint64(r(regBPRC))
	s.mcastRx += uint64(r(regMPRC))
	s.bcastTx += uint64(r(regBPTC))
	s.mcastTx += uint64(r(regMPTC))
	s.xonRx += uint64(r(regLXONRX))
	s.xoffRx += uint64(r(regLXOFFRX))
	s.xonTx += uint64(r(regLXONTX))
	s.xoffTx += uint64(r(regLXOFFTX))
	for i := uint32(0); i < 6; i++ {
		s.rxSize[i] += uint64(r(regPRC64 + 4*i))
		s.txSize[i] += uint64(r(regPTC64 + 4*i))
	}
}

func (p *Port) refreshStats() hwStats {
	if !p.closed.Load() {
		p.readStats(&p.hw)
	}
	return p.hw
}

// Stats are the port's counters since it was opened: packets and bytes
// as handed to and taken from the bridge, drops and errors from the
// device's statistics registers (like DPDK's imissed and ierrors).
func (p *Port) Stats() dataplane.PortStats {
	p.mu.Lock()
	hw := p.refreshStats()
	p.mu.Unlock()
	var s dataplane.PortStats
	var nombuf, rxBad uint64
	for i := range p.rx {
		r := &p.rx[i]
		s.RxPackets += r.packets.Load()
		s.RxBytes += r.bytes.Load()
		nombuf += r.nombuf.Load()
		rxBad += r.errs.Load()
	}
	for i := range p.tx {
		t := &p.tx[i]
		s.TxPackets += t.packets.Load()
		s.TxBytes += t.bytes.Load()
		s.TxDropped += t.dropped.Load()
	}
	s.RxDropped = hw.missed + hw.queueDrops + nombuf
	s.RxErrors = hw.crcErrs + hw.illErrs + hw.errBytes + hw.lenErrs + hw.undersize + hw.oversize + hw.fragment + hw.jabber + rxBad
	return s
}

// ExtraStats are the device counters under the names OVS-DPDK shows for
// an ixgbe port in the Interface statistics column (DPDK xstats names,
// plus OVS's own ovs_tx_failure_drops).
func (p *Port) ExtraStats() map[string]uint64 {
	p.mu.Lock()
	hw := p.refreshStats()
	p.mu.Unlock()
	var nombuf, txFull uint64
	for i := range p.rx {
		nombuf += p.rx[i].nombuf.Load()
	}
	for i := range p.tx {
		txFull += p.tx[i].dropped.Load()
	}
	m := map[string]uint64{
		"rx_crc_errors":             hw.crcErrs,
		"rx_missed_errors":          hw.missed + hw.queueDrops,
		"rx_illegal_byte_errors":    hw.illErrs,
		"rx_error_bytes":            hw.errBytes,
		"rx_length_errors":          hw.lenErrs,
		"rx_undersize_errors":       hw.undersize,
		"rx_fragment_errors":        hw.fragment,
		"rx_oversize_errors":        hw.oversize,
		"rx_jabber_errors":          hw.jabber,
		"mac_local_errors":          hw.localFaults,
		"mac_remote_errors":         hw.remoteFaults,
		"rx_good_packets":           hw.goodRx,
		"tx_good_packets":           hw.goodTx,
		"rx_good_bytes":             hw.goodRxBytes,
		"tx_good_bytes":             hw.goodTxBytes,
		"rx_broadcast_packets":      hw.bcastRx,
		"rx_multicast_packets":      hw.mcastRx,
		"tx_broadcast_packets":      hw.bcastTx,
		"tx_multicast_packets":      hw.mcastTx,
		"rx_xon_packets":            hw.xonRx,
		"rx_xoff_packets":           hw.xoffRx,
		"tx_xon_packets":            hw.xonTx,
		"tx_xoff_packets":           hw.xoffTx,
		"rx_mbuf_allocation_errors": nombuf,
		"ovs_tx_failure_drops":      txFull,
	}
	// Per-queue counters under DPDK's xstats names.
	for i := range p.rx {
		r := &p.rx[i]
		q := "rx_q" + strconv.Itoa(i) + "_"
		m[q+"packets"] = r.packets.Load()
		m[q+"bytes"] = r.bytes.Load()
		m[q+"errors"] = r.errs.Load()
	}
	for i := range p.tx {
		t := &p.tx[i]
		q := "tx_q" + strconv.Itoa(i) + "_"
		m[q+"packets"] = t.packets.Load()
		m[q+"bytes"] = t.bytes.Load()
	}
	sizes := [6]string{"64", "65_to_127", "128_to_255", "256_to_511", "512_to_1023", "1024_to_1522"}
	for i, sz := range sizes {
		m["rx_size_"+sz+"_packets"] = hw.rxSize[i]
		m["tx_size_"+sz+"_packets"] = hw.txSize[i]
	}
	return m
}

// Status is the Interface status column, with the keys OVS-DPDK writes for
// a dpdk port.
func (p *Port) Status() map[string]string {
	speed := p.Speed()
	link := "0Mbps"
	if speed >= 1000 {
		link = strconv.Itoa(speed/1000) + "Gbps"
	} else if speed > 0 {
		link = strconv.Itoa(speed) + "Mbps"
	}
	m := map[string]string{
		"driver_name":        "net_ixgbe",
		"if_descr":           "gvswitch net_ixgbe (" + p.family.String() + ", " + p.info.Driver + ")",
		"if_type":            "6",
		"bus_info":           fmt.Sprintf("bus_name=pci, vendor_id=%#04x, device_id=%#04x", p.info.VendorID, p.info.DeviceID),
		"pci-address":        p.info.Addr,
		"numa_id":            strconv.Itoa(p.info.NUMANode),
		"n_rxq":              strconv.Itoa(len(p.rx)),
		"n_txq":              strconv.Itoa(len(p.tx)),
		"n_rxq_desc":         strconv.Itoa(p.opts.RxDesc),
		"n_txq_desc":         strconv.Itoa(p.opts.TxDesc),
		"max_rx_queues":      strconv.Itoa(maxRxQueues),
		"max_tx_queues":      strconv.Itoa(maxTxQueues),
		"max_mac_addrs":      "127",
		"max_hash_mac_addrs": "4096",
		"max_vfs":            "0",
		"max_vmdq_pools":     "64",
		"min_rx_bufsize":     "1024",
		"max_rx_pktlen":      strconv.Itoa(p.dataRoom),
		"link_speed":         link,
		"rx-steering":        "rss",
	}
	if p.numaMem != "" {
		m["numa_mem"] = p.numaMem
	}
	if err := p.Health(); err != nil {
		m["error"] = err.Error()
	}
	return m
}

// compile-time checks that Port is a complete dataplane port.
var (
	_ dataplane.Port           = (*Port)(nil)
	_ dataplane.StatusReporter = (*Port)(nil)
	_ dataplane.ExtraStats     = (*Port)(nil)
)
