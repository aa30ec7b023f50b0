package ixgbe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gvswitch/dataplane"
)

const (
	devX540  = 0x1528
	dev82599 = 0x10fb
)

func smallOpts() Options {
	return Options{Name: "dpdk0", RxDesc: 512, TxDesc: 512, PoolSize: 4096,
		ResetTimeout: 300 * time.Millisecond, QueueTimeout: 300 * time.Millisecond,
		LinkTimeout: 300 * time.Millisecond, TxHangTimeout: 200 * time.Millisecond}
}

func openFake(t testing.TB, id uint16, v fakeVariant, o Options) (*Port, *fakeDevice) {
	t.Helper()
	dev := newFakeDevice(id, v)
	p, err := New(fakeBus{dev}, BusInfo{Addr: "0000:08:00.0", VendorID: VendorIntel, DeviceID: id, Driver: "vfio-pci"}, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	dev.mu.Lock()
	dev.traceOn = false // the data path is not traced
	dev.mu.Unlock()
	return p, dev
}

type flow struct {
	src, dst     [4]byte
	sport, dport uint16
	proto        byte
}

// frame builds an Ethernet/IPv4/UDP-or-TCP frame of size bytes carrying
// seq in its payload.
func (fl flow) frame(dstMAC [6]byte, seq uint32, size int) []byte {
	b := make([]byte, size)
	copy(b, dstMAC[:])
	copy(b[6:], []byte{0x02, 0, 0, 0, 0, 0x99})
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(size-14))
	ip[8] = 64
	ip[9] = fl.proto
	copy(ip[12:], fl.src[:])
	copy(ip[16:], fl.dst[:])
	binary.BigEndian.PutUint16(ip[20:], fl.sport)
	binary.BigEndian.PutUint16(ip[22:], fl.dport)
	binary.BigEndian.PutUint32(b[size-4:], seq)
	return b
}

// tuple is the RSS hash input of the flow, built from the flow itself
// (not from a frame) so the test does not share the model's parser.
func (fl flow) tuple() []byte {
	b := append(append([]byte{}, fl.src[:]...), fl.dst[:]...)
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(b, fl.sport), fl.dport)
}

// The Toeplitz hash with the driver's default key gives the published
// values of Microsoft's RSS verification suite; this anchors every RSS
// expectation below to an independent source.
func TestRSSKnownVectors(t *testing.T) {
	for _, tc := range []struct {
		fl       flow
		ipv4, l4 uint32
	}{
		{flow{[4]byte{66, 9, 149, 187}, [4]byte{161, 142, 100, 80}, 2794, 1766, 6}, 0x323e8fc2, 0x51ccc178},
		{flow{[4]byte{199, 92, 111, 2}, [4]byte{65, 69, 140, 83}, 14230, 4739, 6}, 0xd718262a, 0xc626b0ea},
		{flow{[4]byte{24, 19, 198, 95}, [4]byte{12, 22, 207, 184}, 12898, 38024, 6}, 0xd2d0a5de, 0x5c2b394a},
		{flow{[4]byte{38, 27, 205, 30}, [4]byte{209, 142, 163, 6}, 48228, 2217, 6}, 0x82989176, 0xafc7327f},
		{flow{[4]byte{153, 39, 163, 191}, [4]byte{202, 188, 127, 2}, 44251, 1303, 6}, 0x5d1809c5, 0x10e828a2},
	} {
		if h := rssHash(defaultRSSKey[:], tc.fl.tuple()[:8]); h != tc.ipv4 {
			t.Errorf("%v: IPv4 hash %#08x, want %#08x", tc.fl, h, tc.ipv4)
		}
		if h := rssHash(defaultRSSKey[:], tc.fl.tuple()); h != tc.l4 {
			t.Errorf("%v: TCP/IPv4 hash %#08x, want %#08x", tc.fl, h, tc.l4)
		}
	}
}

// The init sequence follows 82599 datasheet 4.6.3 in order.
func TestInitSequenceDatasheetOrder(t *testing.T) {
	for _, id := range []uint16{dev82599, devX540} {
		o := smallOpts()
		o.RxQueues, o.TxQueues = 4, 2
		dev := newFakeDevice(id, fakeVariant{})
		p, err := New(fakeBus{dev}, BusInfo{Addr: "0000:08:00.0", VendorID: VendorIntel, DeviceID: id}, o)
		if err != nil {
			t.Fatalf("%#x: New: %v", id, err)
		}
		ops := dev.ops()
		p.Close()
		find := func(from int, what string, match func(fakeOp) bool) int {
			t.Helper()
			for i := from; i < len(ops); i++ {
				if match(ops[i]) {
					return i
				}
			}
			t.Fatalf("%#x: %s not found after op %d", id, what, from)
			return -1
		}
		w := func(off, mask, want uint32) func(fakeOp) bool {
			return func(op fakeOp) bool { return op.write && op.off == off && op.val&mask == want }
		}
		r := func(off, mask, want uint32) func(fakeOp) bool {
			return func(op fakeOp) bool { return !op.write && op.off == off && op.val&mask == want }
		}
		if op := ops[0]; !op.write || op.off != regEIMC || op.val != eimcAll {
			t.Errorf("%#x: first access %+v, want EIMC=0x7fffffff (4.6.3.1)", id, op)
		}
		i := find(0, "CTRL.RST", w(regCTRL, ctrlRstMask, ctrlRstMask))
		i = find(i, "reset done", r(regCTRL, ctrlRstMask, 0))
		i = find(i, "EIMC after reset", w(regEIMC, eimcAll, eimcAll))
		i = find(i, "EEC.ARD", r(regEEC, eecAutoRdDone, eecAutoRdDone))
		i = find(i, "DMAIDONE", r(regRDRXCTL, rdrxctlDMAIDone, rdrxctlDMAIDone))
		if id == dev82599 {
			i = find(i, "AUTOC restart", w(regAUTOC, autocANRestart|autocLMSMask, autocANRestart|autocLMS10GSerial))
		} else {
			for _, op := range ops {
				if op.write && op.off == regAUTOC {
					t.Errorf("X540: AUTOC written, the copper PHY negotiates itself")
				}
			}
		}
		i = find(i, "statistics cleared", r(regGPRC, 0, 0))
		rxOff := find(i, "RXCTRL.RXEN off", w(regRXCTRL, rxctrlRXEN, 0))
		pb := uint32(512 << 10) // the whole packet buffer to TC 0
		if id == devX540 {
			pb = 384 << 10
		}
		find(rxOff, "RXPBSIZE(0)", w(regRXPBSIZE0, 0xFFFFFFFF, pb))
		// 8.2.3.8.8: CRC strip, RSCFRSTSIZE written 0, RSCACKC and
		// FCOE_WRFIX written 1.
		find(rxOff, "RDRXCTL", w(regRDRXCTL, rdrxctlCRCStrip|rdrxctlRSCFrstSize|rdrxctlRSCACKC|rdrxctlFCoEWrFix, rdrxctlCRCStrip|rdrxctlRSCACKC|rdrxctlFCoEWrFix))
		for q := 0; q < 4; q++ {
			j := find(rxOff, "SRRCTL with DROP_EN", w(rxq(regSRRCTL, q), srrctlDrop|srrctlAdv1, srrctlDrop|srrctlAdv1))
			find(j, "RDLEN", w(rxq(regRDLEN, q), 0xFFFFFFFF, 512*16))
		}
		mrqc := find(rxOff, "MRQC", w(regMRQC, mrqcRSSEn, mrqcRSSEn))
		te := find(rxOff, "DMATXCTL.TE", w(regDMATXCTL, dmatxctlTE, dmatxctlTE))
		for q := 0; q < 2; q++ {
			if j := find(rxOff, "TDBAL", w(txq(regTDLEN, q), 0xFFFFFFFF, 512*16)); j > te {
				t.Errorf("%#x: TDLEN(%d) written after DMATXCTL.TE", id, q)
			}
		}
		last := 0
		for q := 0; q < 4; q++ {
			j := find(te, "RXDCTL.ENABLE", w(rxq(regRXDCTL, q), rxdctlEn, rxdctlEn))
			j = find(j, "RDT", w(rxq(regRDT, q), 0xFFFFFFFF, 511))
			last = max(last, j)
		}
		for q := 0; q < 2; q++ {
			last = max(last, find(te, "TXDCTL.ENABLE", w(txq(regTXDCTL, q), txdctlEn, txdctlEn)))
		}
		j := find(last, "SECRXCTRL.RX_DIS", w(regSECRXCTRL, secrxRxDis, secrxRxDis))
		j = find(j, "SECRXSTAT.SECRX_RDY", r(regSECRXSTAT, secrxRdy, secrxRdy))
		j = find(j, "RXCTRL.RXEN on after every queue", w(regRXCTRL, rxctrlRXEN, rxctrlRXEN))
		find(j, "SECRXCTRL.RX_DIS cleared", w(regSECRXCTRL, secrxRxDis, 0))
		if mrqc > te {
			t.Errorf("%#x: RSS programmed after transmit enable", id)
		}
	}
}

// drain polls every queue until nothing more arrives; fn sees each packet
// with its queue and must not keep it.
func drain(p *Port, fn func(q int, pkt *dataplane.Packet)) int {
	var burst [32]*dataplane.Packet
	total := 0
	for {
		got := 0
		for q := 0; q < p.NumRxQueues(); q++ {
			n := p.RxBurst(q, burst[:])
			for _, pkt := range burst[:n] {
				fn(q, pkt)
				pkt.Free()
			}
			got += n
		}
		if got == 0 {
			return total
		}
		total += got
	}
}

func TestRx10000FramesOver4RSSQueues(t *testing.T) {
	o := smallOpts()
	o.RxQueues = 4
	p, dev := openFake(t, devX540, fakeVariant{}, o)
	var flows []flow
	for i := 0; i < 64; i++ {
		proto := byte(17)
		if i%2 == 0 {
			proto = 6
		}
		flows = append(flows, flow{[4]byte{10, 0, byte(i), 1}, [4]byte{192, 168, 7, byte(200 - i)}, uint16(1024 + 7*i), uint16(80 + i), proto})
	}
	const total = 10000
	perQueue := make([]int, 4)
	seen := make([]bool, total)
	received := 0
	check := func(q int, pkt *dataplane.Packet) {
		d := pkt.Data()
		if len(d) != 64 {
			t.Fatalf("frame of %d bytes, want 64", len(d))
		}
		seq := binary.BigEndian.Uint32(d[60:])
		if seq >= total || seen[seq] {
			t.Fatalf("bad or duplicate sequence %d", seq)
		}
		seen[seq] = true
		fl := flows[seq%uint32(len(flows))]
		want := rssHash(defaultRSSKey[:], fl.tuple())
		if pkt.Hash != want {
			t.Fatalf("flow %d: packet hash %#08x, want %#08x", seq%64, pkt.Hash, want)
		}
		// RETA entry i holds queue i mod 4 (the driver's table).
		if wantQ := int(want&127) % 4; q != wantQ {
			t.Fatalf("flow %d (hash %#08x) on queue %d, want %d", seq%64, want, q, wantQ)
		}
		perQueue[q]++
		received++
	}
	for seq := 0; seq < total; seq++ {
		fl := flows[seq%len(flows)]
		if !dev.inject(fl.frame(p.MAC(), uint32(seq), 64)) {
			t.Fatalf("frame %d not delivered", seq)
		}
		if seq%256 == 255 {
			drain(p, check)
		}
	}
	drain(p, check)
	if received != total {
		t.Fatalf("received %d frames, want %d", received, total)
	}
	for q, n := range perQueue {
		if n == 0 {
			t.Errorf("queue %d received nothing: RSS not spreading (%v)", q, perQueue)
		}
	}
	s := p.Stats()
	if s.RxPackets != total || s.RxBytes != total*64 || s.RxDropped != 0 {
		t.Errorf("stats %+v, want %d packets of 64 bytes, no drops", s, total)
	}
	x := p.ExtraStats()
	if x["rx_good_packets"] != total {
		t.Errorf("rx_good_packets %d, want %d", x["rx_good_packets"], total)
	}
	for q, n := range perQueue {
		if k := fmt.Sprintf("rx_q%d_packets", q); x[k] != uint64(n) {
			t.Errorf("%s = %d, want %d", k, x[k], n)
		}
	}
	t.Logf("per-queue: %v", perQueue)
}

// sendAll transmits count frames in bursts of 32 from the port's own pool.
func sendAll(t *testing.T, p *Port, q, count int) {
	t.Helper()
	var burst [32]*dataplane.Packet
	fl := flow{[4]byte{10, 1, 1, 1}, [4]byte{10, 1, 1, 2}, 1, 2, 17}
	dst := [6]byte{0x02, 0, 0, 0, 0, 0x42}
	for seq := 0; seq < count; {
		n := min(32, count-seq)
		if got := p.Pool().GetBurst(burst[:n]); got != n {
			t.Fatalf("pool empty after %d frames: transmit buffers not reclaimed", seq)
		}
		for i, pkt := range burst[:n] {
			f := fl.frame(dst, uint32(seq+i), 60+(seq+i)%64)
			copy(pkt.Room(), f)
			pkt.SetLen(len(f))
		}
		if sent := p.TxBurst(q, burst[:n]); sent != n {
			t.Fatalf("burst at %d: sent %d of %d", seq, sent, n)
		}
		seq += n
	}
}

func TestTx10000FramesAllBuffersReclaimed(t *testing.T) {
	o := smallOpts()
	o.TxQueues = 2
	p, dev := openFake(t, dev82599, fakeVariant{}, o)
	next := uint32(0)
	dev.txSink = func(q int, frame []byte) {
		seq := binary.BigEndian.Uint32(frame[len(frame)-4:])
		if q != 1 || seq != next || len(frame) != 60+int(seq)%64 {
			t.Errorf("frame %d (len %d) on queue %d, want frame %d on queue 1", seq, len(frame), q, next)
		}
		next++
	}
	free := p.free()
	const total = 10000
	sendAll(t, p, 1, total)
	p.TxBurst(1, nil) // reclaim what is left
	if got := dev.txFrames.Load(); got != total {
		t.Fatalf("device sent %d frames, want %d", got, total)
	}
	if got := p.free(); got != free {
		t.Errorf("pool has %d free buffers, want %d: transmit buffers not reclaimed", got, free)
	}
	s := p.Stats()
	if s.TxPackets != total || s.TxDropped != 0 {
		t.Errorf("stats %+v, want %d tx packets, no drops", s, total)
	}
	if x := p.ExtraStats(); x["tx_good_packets"] != total {
		t.Errorf("tx_good_packets %d, want %d", x["tx_good_packets"], total)
	}
}

// A packet from an arena the device cannot reach is copied, not sent from
// an address the IOMMU would fault on.
func TestTxBouncesUnmappedMemory(t *testing.T) {
	p, dev := openFake(t, dev82599, fakeVariant{}, smallOpts())
	a, err := dataplane.NewArena(1<<20, dataplane.ArenaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() }) // after the ports that map it
	other, _, err := dataplane.NewPool("other", a, 0, 64, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	dev.txSink = func(_ int, f []byte) { got = append([]byte(nil), f...) }
	pkt := other.Get()
	f := flow{[4]byte{1, 2, 3, 4}, [4]byte{5, 6, 7, 8}, 9, 10, 17}.frame([6]byte{2}, 77, 100)
	copy(pkt.Room(), f)
	pkt.SetLen(len(f))
	if n := p.TxBurst(0, []*dataplane.Packet{pkt}); n != 1 {
		t.Fatalf("sent %d", n)
	}
	if string(got) != string(f) || dev.dmaFaults != 0 {
		t.Errorf("sent %x (faults %d), want %x", got, dev.dmaFaults, f)
	}
	if other.Available() != 64 {
		t.Errorf("original packet not freed")
	}
	// Mapped at open (Options.DMAArenas), the same memory goes out
	// without a copy.
	o := smallOpts()
	o.DMAArenas = []*dataplane.Arena{a}
	p2, dev2 := openFake(t, dev82599, fakeVariant{}, o)
	var sentIOVA uint64
	dev2.txSink = func(int, []byte) { sentIOVA = p2.tx[0].ring[0].loadLo() }
	pkt = other.Get()
	copy(pkt.Room(), f)
	pkt.SetLen(len(f))
	want := pkt.IOVA()
	if n := p2.TxBurst(0, []*dataplane.Packet{pkt}); n != 1 || sentIOVA != want || dev2.dmaFaults != 0 {
		t.Errorf("sent %d from IOVA %#x, want zero-copy from %#x (faults %d)", n, sentIOVA, want, dev2.dmaFaults)
	}
}

func TestLinkDownUp(t *testing.T) {
	for _, id := range []uint16{dev82599, devX540} {
		o := smallOpts()
		o.WaitLink = true
		p, dev := openFake(t, id, fakeVariant{}, o)
		if !p.Link() || p.Speed() != 10000 || p.Status()["link_speed"] != "10Gbps" {
			t.Fatalf("%#x: link %v speed %d after WaitLink", id, p.Link(), p.Speed())
		}
		dev.setCable(false)
		if p.Link() || p.Status()["link_speed"] != "0Mbps" {
			t.Errorf("%#x: link still up with the cable pulled", id)
		}
		if err := p.WaitLink(50 * time.Millisecond); !errors.Is(err, ErrTimeout) {
			t.Errorf("%#x: WaitLink on a dead link: %v", id, err)
		}
		dev.setCable(true)
		if err := p.WaitLink(time.Second); err != nil || !p.Link() {
			t.Errorf("%#x: link not back: %v", id, err)
		}
		// up (first poll), down, up again.
		if n := p.LinkResets(); n != 3 {
			t.Errorf("%#x: %d link changes seen, want 3", id, n)
		}
		p.Close()
		if p.Link() {
			t.Errorf("%#x: closed port reports link up", id)
		}
	}
}

func TestStatistics(t *testing.T) {
	o := smallOpts()
	o.NoPromisc = true
	p, dev := openFake(t, dev82599, fakeVariant{}, o)
	fl := flow{[4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 5, 6, 17}
	for i := 0; i < 100; i++ {
		dev.inject(fl.frame(p.MAC(), uint32(i), 64+i))
	}
	for i := 0; i < 7; i++ {
		dev.injectCRCError()
	}
	// Not ours with promiscuous off: filtered, not counted.
	dev.inject(fl.frame([6]byte{0x02, 9, 9, 9, 9, 9}, 0, 64))
	// Broadcast is always accepted.
	dev.inject(fl.frame([6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0, 64))
	// Longer than MAXFRS (1526): oversize.
	dev.inject(fl.frame(p.MAC(), 0, 1600))
	// Fill the ring without polling: 511 descriptors, then DROP_EN drops.
	for i := 0; i < 600; i++ {
		dev.inject(fl.frame(p.MAC(), 0, 64))
	}
	// The ring holds 511 frames: 100 + 1 broadcast + 410 of the 600.
	n := drain(p, func(int, *dataplane.Packet) {})
	if n != 511 {
		t.Errorf("received %d frames, want 511", n)
	}
	x := p.ExtraStats()
	// Sizes with CRC: 68..167 for the first 100 (60 up to 127, 40 above),
	// 68 for the broadcast and the 410.
	want := map[string]uint64{
		"rx_crc_errors": 7, "rx_oversize_errors": 1, "rx_broadcast_packets": 1,
		"rx_missed_errors": 190, "rx_good_packets": 511, "rx_size_64_packets": 0,
		"rx_size_65_to_127_packets": 60 + 1 + 410, "rx_size_128_to_255_packets": 40,
	}
	for k, v := range want {
		if x[k] != v {
			t.Errorf("%s = %d, want %d", k, x[k], v)
		}
	}
	s := p.Stats()
	if s.RxDropped != 190 || s.RxErrors != 8 || s.RxPackets != 511 {
		t.Errorf("Stats %+v: want 511 received, 190 dropped, 8 errors", s)
	}
	// Counters keep accumulating across reads of clear-on-read registers.
	dev.injectCRCError()
	if x := p.ExtraStats(); x["rx_crc_errors"] != 8 {
		t.Errorf("rx_crc_errors after one more: %d, want 8", x["rx_crc_errors"])
	}
}

func TestPromiscuousAndMulticast(t *testing.T) {
	o := smallOpts()
	o.NoPromisc = true
	p, dev := openFake(t, dev82599, fakeVariant{}, o)
	fl := flow{[4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 5, 6, 17}
	other := [6]byte{0x02, 1, 2, 3, 4, 5}
	mcast := [6]byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}
	if dev.inject(fl.frame(other, 0, 64)) || dev.inject(fl.frame(mcast, 0, 64)) {
		t.Fatal("frame to another MAC / unjoined group accepted without promiscuous mode")
	}
	p.AddMulticast(mcast)
	if !dev.inject(fl.frame(mcast, 0, 64)) {
		t.Error("joined multicast group filtered")
	}
	if dev.inject(fl.frame([6]byte{0x01, 0, 0x5e, 0, 1, 0x23}, 0, 64)) {
		t.Error("other multicast group accepted")
	}
	p.SetAllMulticast(true)
	if !dev.inject(fl.frame([6]byte{0x01, 0, 0x5e, 0, 1, 0x23}, 0, 64)) {
		t.Error("all-multicast did not accept a multicast frame")
	}
	p.SetPromiscuous(true)
	if !dev.inject(fl.frame(other, 0, 64)) {
		t.Error("promiscuous mode did not accept another unicast MAC")
	}
	drain(p, func(int, *dataplane.Packet) {})
}

func TestJumboMTU(t *testing.T) {
	o := smallOpts()
	o.MTU = 9000
	p, dev := openFake(t, dev82599, fakeVariant{}, o)
	if dev.reg(regHLREG0)&hlreg0JumboEn == 0 || dev.reg(regMAXFRS)>>16 != 9000+frameOverhead {
		t.Fatalf("HLREG0 %#x MAXFRS %#x: jumbo not enabled", dev.reg(regHLREG0), dev.reg(regMAXFRS))
	}
	fl := flow{[4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 5, 6, 17}
	dev.inject(fl.frame(p.MAC(), 1, 9014))
	var sizes []int
	drain(p, func(_ int, pkt *dataplane.Packet) { sizes = append(sizes, pkt.Len()) })
	if len(sizes) != 1 || sizes[0] != 9014 {
		t.Errorf("received %v, want one 9014-byte frame", sizes)
	}
	// 9000+26 rounds up to 9 KB buffers: 9190 still fits, 9191 does not.
	if err := p.SetMTU(9190); err != nil || p.MTU() != 9190 {
		t.Errorf("SetMTU(9190) with 9 KB buffers: %v", err)
	}
	if err := p.SetMTU(9191); !errors.Is(err, ErrMTU) {
		t.Errorf("SetMTU(9191) with 9 KB buffers: %v, want ErrMTU", err)
	}
	if err := p.SetMTU(MaxMTU + 1); !errors.Is(err, ErrMTU) {
		t.Errorf("SetMTU(%d): %v, want ErrMTU", MaxMTU+1, err)
	}
	small, _ := openFake(t, dev82599, fakeVariant{}, smallOpts())
	if err := small.SetMTU(9000); !errors.Is(err, ErrMTU) || !strings.Contains(err.Error(), "reopen") {
		t.Errorf("SetMTU(9000) on 2 KB buffers: %v, want ErrMTU asking to reopen", err)
	}
}

// A frame that spans descriptors (longer than one buffer) is dropped
// whole and the queue goes on with the next frame.
func TestRxMultiDescriptorFrameDropped(t *testing.T) {
	p, dev := openFake(t, dev82599, fakeVariant{}, smallOpts())
	dev.mu.Lock()
	dev.regs[regMAXFRS/4] = 16384 << 16 // let the model accept it
	dev.mu.Unlock()
	fl := flow{[4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 5, 6, 17}
	dev.inject(fl.frame(p.MAC(), 1, 5000))
	dev.inject(fl.frame(p.MAC(), 2, 100))
	var seqs []uint32
	drain(p, func(_ int, pkt *dataplane.Packet) {
		seqs = append(seqs, binary.BigEndian.Uint32(pkt.Data()[pkt.Len()-4:]))
	})
	if len(seqs) != 1 || seqs[0] != 2 {
		t.Errorf("received %v, want only frame 2", seqs)
	}
	if s := p.Stats(); s.RxErrors != 3 {
		t.Errorf("rx errors %d, want the 3 descriptors of the long frame", s.RxErrors)
	}
}

func TestMisbehavingDevice(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    fakeVariant
		want string
	}{
		{"reset never completes", fakeVariant{noResetDone: true}, "global reset did not complete"},
		{"EEPROM never read", fakeVariant{noEEPROM: true}, "EEPROM auto-read not done"},
		{"DMA init never done", fakeVariant{noDMAInit: true}, "DMA initialisation not done"},
		{"queue never enabled", fakeVariant{noQueueEnable: true}, "rx queue 0 not enabled"},
		{"link never up", fakeVariant{noLink: true}, "link did not come up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := smallOpts()
			o.WaitLink = true
			dev := newFakeDevice(dev82599, tc.v)
			start := time.Now()
			p, err := New(fakeBus{dev}, BusInfo{Addr: "0000:08:00.0", VendorID: VendorIntel, DeviceID: dev82599}, o)
			elapsed := time.Since(start)
			if err == nil {
				p.Close()
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "0000:08:00.0") {
				t.Errorf("error %q, want ErrTimeout naming the device and %q", err, tc.want)
			}
			// The configured timeout, not the default (1 s, 10 s for the
			// link), was waited for: the error names it, and the driver
			// did not give up early. (No upper bound on the wall time:
			// a loaded machine only makes it longer.)
			if !strings.Contains(err.Error(), "after 300ms") || elapsed < 300*time.Millisecond {
				t.Errorf("gave up after %v with %q, want the 300 ms timeout", elapsed, err)
			}
			if !dev.closed || dev.busMaster || len(dev.dma) != 0 {
				t.Errorf("failed New left the bus open %v, bus master %v, %d DMA mappings", !dev.closed, dev.busMaster, len(dev.dma))
			}
			t.Logf("%v after %v", err, elapsed.Truncate(time.Millisecond))
		})
	}
}

func TestTxHangDetected(t *testing.T) {
	p, _ := openFake(t, dev82599, fakeVariant{noTxDD: true}, smallOpts())
	var burst [32]*dataplane.Packet
	start := time.Now()
	sent := 0
	for p.Health() == nil {
		if time.Since(start) > 10*time.Second {
			t.Fatal("no hang reported after 10 s (timeout 200 ms)")
		}
		n := p.Pool().GetBurst(burst[:])
		for _, pkt := range burst[:n] {
			pkt.SetLen(64)
		}
		sent += p.TxBurst(0, burst[:n])
		time.Sleep(5 * time.Millisecond)
	}
	err := p.Health()
	if !errors.Is(err, ErrTxHang) || !strings.Contains(err.Error(), "tx queue 0") {
		t.Errorf("Health() = %v, want ErrTxHang naming the queue", err)
	}
	if sent != 511 {
		t.Errorf("sent %d before the ring filled, want 511", sent)
	}
	if p.Stats().TxDropped == 0 || p.Status()["error"] == "" {
		t.Errorf("drops %d, status error %q", p.Stats().TxDropped, p.Status()["error"])
	}
	t.Logf("%v after %v", err, time.Since(start).Truncate(time.Millisecond))
}

func TestCloseReturnsDeviceToKnownState(t *testing.T) {
	dev := newFakeDevice(dev82599, fakeVariant{})
	o := smallOpts()
	p, err := New(fakeBus{dev}, BusInfo{Addr: "0000:08:00.0", VendorID: VendorIntel, DeviceID: dev82599}, o)
	if err != nil {
		t.Fatal(err)
	}
	resets := dev.resets
	fl := flow{[4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 5, 6, 17}
	dev.inject(fl.frame(p.MAC(), 1, 64))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if dev.resets != resets+1 || dev.reg(regRXCTRL) != 0 || dev.busMaster || !dev.closed || len(dev.dma) != 0 {
		t.Errorf("after Close: resets %d→%d, RXCTRL %#x, bus master %v, closed %v, %d mappings",
			resets, dev.resets, dev.reg(regRXCTRL), dev.busMaster, dev.closed, len(dev.dma))
	}
	if dev.inject(fl.frame(p.MAC(), 2, 64)) {
		t.Error("closed port still receives")
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestOptions(t *testing.T) {
	var o Options
	if err := ParseOptions(&o, map[string]string{"n_rxq": "4", "n_rxq_desc": "1024", "n_txq_desc": "512"}); err != nil || o.RxQueues != 4 || o.RxDesc != 1024 || o.TxDesc != 512 {
		t.Errorf("ParseOptions: %+v %v", o, err)
	}
	if err := ParseOptions(&o, map[string]string{"n_rxq": "four"}); !errors.Is(err, ErrOptions) {
		t.Errorf("n_rxq=four: %v", err)
	}
	for _, bad := range []Options{{RxQueues: 17}, {RxDesc: 1000}, {TxDesc: 8192}, {MTU: 9711}, {MTU: 20}} {
		dev := newFakeDevice(dev82599, fakeVariant{})
		if _, err := New(fakeBus{dev}, BusInfo{VendorID: VendorIntel, DeviceID: dev82599}, bad); err == nil || !dev.closed {
			t.Errorf("%+v accepted (bus closed %v)", bad, dev.closed)
		}
	}
	dev := newFakeDevice(0x1572, fakeVariant{})
	if _, err := New(fakeBus{dev}, BusInfo{Addr: "0000:03:00.0", VendorID: VendorIntel, DeviceID: 0x1572}, Options{}); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "0x1572") {
		t.Errorf("i40e device: %v, want ErrUnsupported", err)
	}
}

func TestStatusKeys(t *testing.T) {
	o := smallOpts()
	o.RxQueues = 2
	p, _ := openFake(t, devX540, fakeVariant{}, o)
	st := p.Status()
	for k, v := range map[string]string{"driver_name": "net_ixgbe", "n_rxq": "2", "n_txq": "1", "max_rx_queues": "128", "numa_id": "0", "pci-address": "0000:08:00.0"} {
		if st[k] != v {
			t.Errorf("status %s=%q, want %q", k, st[k], v)
		}
	}
	if !strings.Contains(st["bus_info"], "device_id=0x1528") || !strings.Contains(st["if_descr"], "X540") {
		t.Errorf("status %v", st)
	}
}

// Stats, Link and Status may be called from any goroutine while a PMD
// polls (dataplane.Port's contract); run under -race.
func TestConcurrentStatsDuringTraffic(t *testing.T) {
	p, dev := openFake(t, dev82599, fakeVariant{}, smallOpts())
	frames := benchFrames(p)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var burst [32]*dataplane.Packet
		for i := 0; i < 300; i++ {
			for _, f := range frames {
				dev.inject(f)
			}
			n := p.RxBurst(0, burst[:])
			p.TxBurst(0, burst[:n])
		}
	}()
	for {
		select {
		case <-done:
			if s := p.Stats(); s.RxPackets != 300*32 || s.TxPackets != 300*32 {
				t.Errorf("stats %+v, want %d each way", s, 300*32)
			}
			return
		default:
			p.Stats()
			p.ExtraStats()
			p.Status()
			p.Link()
		}
	}
}

func FuzzParseOptions(f *testing.F) {
	f.Add("4", "1024", "512")
	f.Add("0", "-1", "x")
	f.Add("99999999999999999999", "4096", "")
	f.Fuzz(func(t *testing.T, rxq, rxd, txd string) {
		var o Options
		err := ParseOptions(&o, map[string]string{"n_rxq": rxq, "n_rxq_desc": rxd, "n_txq_desc": txd})
		if err != nil {
			if !errors.Is(err, ErrOptions) {
				t.Fatalf("error %v does not wrap ErrOptions", err)
			}
			return
		}
		if o.RxQueues <= 0 || o.RxDesc <= 0 || o.TxDesc <= 0 {
			t.Fatalf("accepted non-positive values: %+v", o)
		}
		// Whatever was parsed, validation decides without panicking.
		_ = o.setDefaults()
	})
}
