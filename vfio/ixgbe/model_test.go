package ixgbe

// This file is the ixgbe device model (fake): a register-level imitation of
// an 82599/X540 port written from the datasheet's register and descriptor
// definitions (chapter 8 registers, 7.1.6 and 7.2.3 descriptors, 7.1.2.8
// RSS), so the driver runs against something that behaves like the silicon
// it programs. It is not the silicon: timing, the PHY, interrupts, DCB,
// virtualisation and offloads are not modelled; see README.md.

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"unsafe"

	"gvswitch/dataplane"
)

// fakeVariant makes the model misbehave in one way.
type fakeVariant struct {
	noResetDone   bool // CTRL.RST never clears
	noEEPROM      bool // EEC.ARD never set
	noDMAInit     bool // RDRXCTL.DMAIDONE never set
	noLink        bool // LINKS.LINK_UP never set
	noTxDD        bool // transmit descriptors consumed, never written back
	noQueueEnable bool // RXDCTL/TXDCTL.ENABLE never read back as set
}

type fakeOp struct {
	write bool
	off   uint32
	val   uint32
}

type fakeRange struct {
	iova uint64
	mem  []byte
}

// fakeDevice is the ixgbe device model (fake). It implements Registers
// and, through fakeBus, the driver's Bus.
type fakeDevice struct {
	mu         sync.Mutex
	regs       [bar0MinSize / 4]uint32
	deviceID   uint16
	v          fakeVariant
	mac        [6]byte
	resetReads int // CTRL reads until a started reset completes; 0: none
	cable      bool
	anRestart  bool
	busMaster  bool
	dma        []fakeRange
	trace      []fakeOp
	traceOn    bool
	txSink     func(q int, frame []byte)
	lazyTx     bool // TDT writes only store; runTx does the work later
	txFrame    [16384]byte
	txLen      int
	dmaFaults  int
	resets     int
	closed     bool
	unmapped   int
	txFrames   atomic.Uint64
	rxInjected atomic.Uint64
}

func newFakeDevice(deviceID uint16, v fakeVariant) *fakeDevice {
	f := &fakeDevice{deviceID: deviceID, v: v, cable: true, traceOn: true,
		mac: [6]byte{0x00, 0x1b, 0x21, 0xaa, 0xbb, 0x01}}
	f.powerOn()
	return f
}

// powerOn loads the register defaults we care about and what the EEPROM
// auto-read leaves (4.6.3: MAC address in RAL0/RAH0).
func (f *fakeDevice) powerOn() {
	f.regs = [bar0MinSize / 4]uint32{}
	f.regs[regEEC/4] = eecPresent
	if !f.v.noEEPROM {
		f.regs[regEEC/4] |= eecAutoRdDone
	}
	f.regs[regRDRXCTL/4] = rdrxctlRSCFrstSize // reads non-zero after reset
	if !f.v.noDMAInit {
		f.regs[regRDRXCTL/4] |= rdrxctlDMAIDone
	}
	m := f.mac
	f.regs[regRAL0/4] = uint32(m[0]) | uint32(m[1])<<8 | uint32(m[2])<<16 | uint32(m[3])<<24
	f.regs[regRAH0/4] = uint32(m[4]) | uint32(m[5])<<8 | rahAV
	f.regs[regAUTOC/4] = 1 << autocLMSShift // 1 GbE link, no autoneg
	f.anRestart = false
}

func isStatReg(off uint32) bool {
	switch {
	case off >= regCRCERRS && off <= 0x040F4:
		return true
	case off >= regMPC0 && off < regMPC0+32, off == regLXONTX, off == regLXOFFTX:
		return true
	case off >= regQPRC && off < regQPRC+64*0x40 && (off-regQPRC)%0x40 == 0:
		return true
	case off >= regQPRDC && off < regQPRDC+64*0x40 && (off-regQPRDC)%0x40 == 0:
		return true
	}
	return false
}

func (f *fakeDevice) Read32(off uint32) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	off &^= 3
	if int(off) >= bar0MinSize {
		return 0xFFFFFFFF // like a read of an unimplemented address
	}
	v := f.readLocked(off)
	if f.traceOn {
		f.trace = append(f.trace, fakeOp{false, off, v})
	}
	return v
}

func (f *fakeDevice) readLocked(off uint32) uint32 {
	switch {
	case off == regCTRL:
		if f.resetReads > 0 {
			f.resetReads--
			if f.resetReads == 0 {
				f.powerOn() // reset done: defaults and EEPROM contents
			}
		}
	case off == regLINKS:
		up := f.cable && !f.v.noLink && (f.anRestart || f.deviceID == 0x1528 || f.deviceID == 0x1560)
		if up {
			return linksUp | linksSpeed10G<<linksSpeedShift
		}
		return 0
	case off == regSECRXSTAT:
		if f.regs[regSECRXCTRL/4]&secrxRxDis != 0 {
			return secrxRdy
		}
		return 0
	case isStatReg(off):
		v := f.regs[off/4]
		f.regs[off/4] = 0 // 8.2.3.23: clear on read
		return v
	}
	return f.regs[off/4]
}

func (f *fakeDevice) Write32(off uint32, v uint32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	off &^= 3
	if int(off) >= bar0MinSize {
		return
	}
	if f.traceOn {
		f.trace = append(f.trace, fakeOp{true, off, v})
	}
	if f.resetReads > 0 && off != regCTRL {
		return // the device ignores writes while in reset
	}
	switch {
	case off == regCTRL:
		f.regs[off/4] = v
		if v&ctrlRstMask != 0 {
			f.resets++
			f.regs = [bar0MinSize / 4]uint32{}
			f.regs[regCTRL/4] = v
			f.anRestart = false
			f.resetReads = 3
			if f.v.noResetDone {
				f.resetReads = 1 << 62
			}
		}
	case off == regEIMC:
		f.regs[regEIMS/4] &^= v
	case off == regEIMS:
		f.regs[regEIMS/4] |= v
	case off == regAUTOC:
		if v&autocANRestart != 0 {
			f.anRestart = true
		}
		f.regs[off/4] = v &^ autocANRestart // self-clearing
	case isStatReg(off):
		// read-only
	case off >= regRDBAL && off < regRDBAL+64*0x40 && (off-regRDBAL)%0x40 == regRXDCTL-regRDBAL:
		if f.v.noQueueEnable {
			v &^= rxdctlEn
		}
		f.regs[off/4] = v
	case off >= regTDBAL && off < regTDBAL+128*0x40 && (off-regTDBAL)%0x40 == regTXDCTL-regTDBAL:
		if f.v.noQueueEnable {
			v &^= txdctlEn
		}
		f.regs[off/4] = v
	case off >= regTDBAL && off < regTDBAL+128*0x40 && (off-regTDBAL)%0x40 == regTDT-regTDBAL:
		f.regs[off/4] = v
		if !f.lazyTx {
			f.transmit(int(off-regTDT) / 0x40)
		}
	default:
		f.regs[off/4] = v
	}
}

// dmaSlice resolves an IOVA range through the mapped arenas (the IOMMU);
// nil is a DMA fault.
func (f *fakeDevice) dmaSlice(iova uint64, n int) []byte {
	if !f.busMaster {
		f.dmaFaults++
		return nil
	}
	for _, r := range f.dma {
		if iova >= r.iova && iova+uint64(n) <= r.iova+uint64(len(r.mem)) {
			o := iova - r.iova
			return r.mem[o : o+uint64(n)]
		}
	}
	f.dmaFaults++
	return nil
}

func (f *fakeDevice) descAt(base uint64, i int) *desc {
	b := f.dmaSlice(base+uint64(i)*descSize, descSize)
	if b == nil {
		return nil
	}
	return (*desc)(unsafe.Pointer(&b[0]))
}

func (f *fakeDevice) addStat(off uint32, n uint64) { f.regs[off/4] += uint32(n) }

func sizeBucket(n int) uint32 {
	switch {
	case n <= 64:
		return 0
	case n <= 127:
		return 1
	case n <= 255:
		return 2
	case n <= 511:
		return 3
	case n <= 1023:
		return 4
	}
	return 5
}

// transmit consumes descriptors from TDH to TDT of queue q (7.2.3): it
// gathers each frame up to EOP and writes DD back on RS descriptors.
func (f *fakeDevice) transmit(q int) {
	if f.regs[regDMATXCTL/4]&dmatxctlTE == 0 || f.regs[txq(regTXDCTL, q)/4]&txdctlEn == 0 {
		return
	}
	base := uint64(f.regs[txq(regTDBAL, q)/4]) | uint64(f.regs[txq(regTDBAH, q)/4])<<32
	n := int(f.regs[txq(regTDLEN, q)/4]) / descSize
	if n == 0 {
		return
	}
	head, tail := int(f.regs[txq(regTDH, q)/4]), int(f.regs[txq(regTDT, q)/4])
	for head != tail && head < n {
		d := f.descAt(base, head)
		if d == nil {
			return
		}
		addr, hi := d.loadLo(), d.loadHi()
		l := int(hi & 0xFFFF)
		data := f.dmaSlice(addr, l)
		if data == nil || f.txLen+l > len(f.txFrame) {
			return // a real device would stop the queue with an error
		}
		copy(f.txFrame[f.txLen:], data)
		f.txLen += l
		if hi&txCmdEOP != 0 {
			frame := f.txFrame[:f.txLen]
			f.addStat(regGPTC, 1)
			f.addStat(regGOTCL, uint64(f.txLen+4))
			f.addStat(regPTC64+4*sizeBucket(f.txLen+4), 1)
			if frame[0] == 0xFF && frame[1] == 0xFF {
				f.addStat(regBPTC, 1)
			} else if frame[0]&1 != 0 {
				f.addStat(regMPTC, 1)
			}
			f.txFrames.Add(1)
			if f.txSink != nil {
				f.txSink(q, frame)
			}
			f.txLen = 0
		}
		if hi&txCmdRS != 0 && !f.v.noTxDD {
			d.storeHi(txStatDD)
		}
		head = (head + 1) % n
	}
	f.regs[txq(regTDH, q)/4] = uint32(head)
}

// runTx processes every queue's posted transmit descriptors, as the
// device does on its own time.
func (f *fakeDevice) runTx() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for q := 0; q < 128; q++ {
		if f.regs[txq(regTDT, q)/4] != f.regs[txq(regTDH, q)/4] {
			f.transmit(q)
		}
	}
}

// rssHash is the Toeplitz hash (7.1.2.8.1) of input under the key in
// RSSRK, computed bit by bit as the datasheet describes it.
func rssHash(key []byte, input []byte) uint32 {
	var h uint32
	// window holds the 32 key bits aligned with the current input bit.
	window := binary.BigEndian.Uint32(key)
	next := 4
	for _, b := range input {
		for bit := 7; bit >= 0; bit-- {
			if b&(1<<bit) != 0 {
				h ^= window
			}
			window <<= 1
			if next < len(key) && key[next]&(1<<bit) != 0 {
				window |= 1
			}
		}
		next++
	}
	return h
}

// rssInput builds the hash input of an IPv4 frame per MRQC (7.1.2.8.1):
// src IP, dst IP, then src and dst port for TCP/UDP when enabled.
func rssInput(frame []byte, mrqc uint32, buf *[12]byte) ([]byte, uint32) {
	if len(frame) < 34 || binary.BigEndian.Uint16(frame[12:]) != 0x0800 {
		return nil, 0
	}
	ip := frame[14:]
	ihl := int(ip[0]&0xF) * 4
	if ihl < 20 || len(ip) < ihl {
		return nil, 0
	}
	copy(buf[:8], ip[12:20])
	frag := binary.BigEndian.Uint16(ip[6:])&0x3FFF != 0
	proto := ip[9]
	if !frag && len(ip) >= ihl+4 {
		if (proto == 6 && mrqc&mrqcTCPIPv4 != 0) || (proto == 17 && mrqc&mrqcUDPIPv4 != 0) {
			copy(buf[8:12], ip[ihl:ihl+4])
			if proto == 6 {
				return buf[:12], 4 // RSS type TCP/IPv4
			}
			return buf[:12], 7 // UDP/IPv4
		}
	}
	if mrqc&mrqcIPv4 != 0 {
		return buf[:8], 2 // IPv4
	}
	return nil, 0
}

// inject receives one frame from the wire: filtering (7.1.1), RSS queue
// choice through RETA (7.1.2.8), descriptor fetch and write-back (7.1.6),
// statistics. It reports whether the frame was delivered to memory.
func (f *fakeDevice) inject(frame []byte) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rxInjected.Add(1)
	if f.regs[regRXCTRL/4]&rxctrlRXEN == 0 || len(frame) < 14 {
		return false
	}
	wire := len(frame) + 4 // with CRC
	if mfs := int(f.regs[regMAXFRS/4] >> maxfrsShift); mfs != 0 && wire > mfs {
		f.addStat(regROC, 1)
		return false
	}
	fctrl := f.regs[regFCTRL/4]
	switch {
	case frame[0] == 0xFF && frame[1] == 0xFF && frame[2] == 0xFF && frame[3] == 0xFF && frame[4] == 0xFF && frame[5] == 0xFF:
		if fctrl&fctrlBAM == 0 {
			return false
		}
		f.addStat(regBPRC, 1)
	case frame[0]&1 != 0:
		vec := uint32(frame[4])>>4 | uint32(frame[5])<<4
		if fctrl&fctrlMPE == 0 && f.regs[(regMTA0+(vec>>5&0x7F)*4)/4]&(1<<(vec&0x1F)) == 0 {
			return false
		}
		f.addStat(regMPRC, 1)
	default:
		if fctrl&fctrlUPE == 0 && [6]byte(frame[:6]) != f.mac {
			return false
		}
	}
	q, hash, rssType := 0, uint32(0), uint32(0)
	if mrqc := f.regs[regMRQC/4]; mrqc&mrqcRSSEn != 0 {
		var buf [12]byte
		if in, t := rssInput(frame, mrqc, &buf); in != nil {
			var key [40]byte
			for i := 0; i < 10; i++ {
				binary.LittleEndian.PutUint32(key[i*4:], f.regs[(regRSSRK0+uint32(i)*4)/4])
			}
			hash, rssType = rssHash(key[:], in), t
			e := hash & (retaEntries - 1)
			q = int(f.regs[(regRETA0+e&^3)/4]>>(8*(e&3))) & 0xF
		}
	}
	return f.deliver(q, frame, hash, rssType)
}

func (f *fakeDevice) deliver(q int, frame []byte, hash, rssType uint32) bool {
	if f.regs[rxq(regRXDCTL, q)/4]&rxdctlEn == 0 {
		f.addStat(regMPC0, 1)
		return false
	}
	n := int(f.regs[rxq(regRDLEN, q)/4]) / descSize
	head, tail := int(f.regs[rxq(regRDH, q)/4]), int(f.regs[rxq(regRDT, q)/4])
	if n == 0 || head == tail {
		// No descriptor: 8.2.3.8.7 DROP_EN drops and counts per queue,
		// otherwise the packet buffer fills and MPC counts.
		if f.regs[rxq(regSRRCTL, q)/4]&srrctlDrop != 0 {
			f.addStat(rxq(regQPRDC, q), 1)
		} else {
			f.addStat(regMPC0, 1)
		}
		return false
	}
	base := uint64(f.regs[rxq(regRDBAL, q)/4]) | uint64(f.regs[rxq(regRDBAH, q)/4])<<32
	bsize := int(f.regs[rxq(regSRRCTL, q)/4]&srrctlBSize) * 1024
	// Frames longer than one buffer span descriptors, EOP on the last.
	for rest := frame; ; {
		d := f.descAt(base, head)
		if d == nil {
			return false
		}
		chunk := rest[:min(len(rest), bsize)]
		buf := f.dmaSlice(d.loadLo(), len(chunk))
		if buf == nil {
			return false
		}
		copy(buf, chunk)
		rest = rest[len(chunk):]
		status := uint64(rxStatDD)
		if len(rest) == 0 {
			status |= rxStatEOP
		}
		d.storeLo(uint64(rssType) | uint64(hash)<<32)
		d.storeHi(status | uint64(len(chunk))<<rxLenShift)
		head = (head + 1) % n
		f.regs[rxq(regRDH, q)/4] = uint32(head)
		if len(rest) == 0 {
			break
		}
		if head == tail {
			f.addStat(rxq(regQPRDC, q), 1)
			return false
		}
	}
	f.addStat(regGPRC, 1)
	f.addStat(regGORCL, uint64(len(frame)+4))
	f.addStat(rxq(regQPRC, q), 1)
	f.addStat(regPRC64+4*sizeBucket(len(frame)+4), 1)
	return true
}

// injectCRCError is a frame that fails its FCS check: counted, dropped.
func (f *fakeDevice) injectCRCError() {
	f.mu.Lock()
	f.addStat(regCRCERRS, 1)
	f.mu.Unlock()
}

func (f *fakeDevice) setCable(up bool) {
	f.mu.Lock()
	f.cable = up
	f.mu.Unlock()
}

func (f *fakeDevice) ops() []fakeOp {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeOp(nil), f.trace...)
}

func (f *fakeDevice) reg(off uint32) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.regs[off/4]
}

// fakeBus is the driver's Bus onto the model: BAR0 is the model, DMA
// mapping registers arenas with the model's IOMMU.
type fakeBus struct{ dev *fakeDevice }

func (b fakeBus) Registers() Registers { return b.dev }

func (b fakeBus) MapDMA(a *dataplane.Arena) error {
	b.dev.mu.Lock()
	defer b.dev.mu.Unlock()
	b.dev.dma = append(b.dev.dma, fakeRange{a.IOVA(0), a.Bytes()})
	return nil
}

func (b fakeBus) UnmapDMA(a *dataplane.Arena) error {
	b.dev.mu.Lock()
	defer b.dev.mu.Unlock()
	for i, r := range b.dev.dma {
		if r.iova == a.IOVA(0) {
			b.dev.dma = append(b.dev.dma[:i], b.dev.dma[i+1:]...)
			b.dev.unmapped++
			break
		}
	}
	return nil
}

func (b fakeBus) SetBusMaster(on bool) error {
	b.dev.mu.Lock()
	b.dev.busMaster = on
	b.dev.mu.Unlock()
	return nil
}

func (b fakeBus) Close() error {
	b.dev.mu.Lock()
	b.dev.closed = true
	b.dev.mu.Unlock()
	return nil
}
