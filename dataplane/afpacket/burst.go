package afpacket

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"gvswitch/dataplane"
	"gvswitch/internal/offload"
)

const (
	etherTypeVLAN = 0x8100
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd
)

// RxBurst receives up to len(pkts) frames from the receive ring. It makes
// no system call; a GSO frame yields several packets and may continue in
// the next call.
func (p *Port) RxBurst(q int, pkts []*dataplane.Packet) int {
	n := 0
	var bytes, drops, errs uint64
	for n < len(pkts) {
		if p.segActive {
			n += p.emitSegments(pkts[n:], &bytes, &drops)
			if p.segActive {
				break
			}
			p.releaseRx()
			continue
		}
		off := p.rxOff[p.rxHead]
		st := p.status(off)
		if st&unix.TP_STATUS_USER == 0 {
			break
		}
		if p.mem[off+sllPkttype] == unix.PACKET_OUTGOING {
			p.releaseRx()
			continue
		}
		flen := int(p.u32(off + hdrLen))
		snap := int(p.u32(off + hdrSnaplen))
		mac := int(p.u16(off + hdrMac))
		if snap < flen || mac < offload.VnetHdrLen || off+mac+snap > len(p.mem) {
			errs++ // truncated: larger than a ring slot
			p.releaseRx()
			continue
		}
		vh, _ := offload.DecodeVnetHdr(p.mem[off+mac-offload.VnetHdrLen:])
		frame := p.mem[off+mac : off+mac+snap]
		var meta segMeta
		if st&unix.TP_STATUS_VLAN_VALID != 0 {
			meta.vlan = true
			meta.tci = p.u16(off + hdrVlanTCI)
			meta.tpid = etherTypeVLAN
			if st&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
				meta.tpid = p.u16(off + hdrVlanTPID)
			}
		}
		meta.partial = vh.Flags&offload.FlagNeedsCsum != 0
		if vh.GSOType&^offload.GSOECN != offload.GSONone && vh.GSOSize > 0 {
			gt := vh.GSOType &^ offload.GSOECN
			if (gt != offload.GSOTCPv4 && gt != offload.GSOTCPv6) || p.seg.Init(frame, int(vh.GSOSize)) != nil {
				errs++ // UDP fragmentation offload is not produced by veths
				p.releaseRx()
				continue
			}
			p.segActive, p.segMeta = true, meta
			p.gsoSegmented.Add(1)
			continue
		}
		pk := p.rxCache.Get()
		if pk == nil {
			drops++
			p.releaseRx()
			continue
		}
		extra := 0
		if meta.vlan {
			extra = 4
		}
		room := pk.Room()
		if len(frame)+extra > len(room) || len(frame) < 14 {
			pk.Free()
			errs++
			p.releaseRx()
			continue
		}
		if meta.vlan {
			copy(room, frame[:12])
			binary.BigEndian.PutUint16(room[12:], meta.tpid)
			binary.BigEndian.PutUint16(room[14:], meta.tci)
			copy(room[16:], frame[12:])
		} else {
			copy(room, frame)
		}
		pk.SetLen(len(frame) + extra)
		if meta.partial {
			pk.Offload = dataplane.OffloadCsumPartial
			pk.CsumStart = vh.CsumStart + uint16(extra)
			pk.CsumOffset = vh.CsumOffset
		} else if vh.Flags&offload.FlagDataValid != 0 {
			pk.Offload = dataplane.OffloadCsumValid
		}
		bytes += uint64(pk.Len())
		pkts[n] = pk
		n++
		p.releaseRx()
	}
	if n > 0 {
		p.rxPackets.Add(uint64(n))
		p.rxBytes.Add(bytes)
	}
	if drops > 0 {
		p.rxDropped.Add(drops)
	}
	if errs > 0 {
		p.rxErrors.Add(errs)
	}
	return n
}

// emitSegments cuts the GSO frame being segmented into pkts; it clears
// segActive when the frame is done.
func (p *Port) emitSegments(pkts []*dataplane.Packet, bytes, drops *uint64) int {
	n := 0
	extra := 0
	if p.segMeta.vlan {
		extra = 4
	}
	for n < len(pkts) && !p.seg.Done() {
		pk := p.rxCache.Get()
		if pk == nil {
			// Out of buffers: drop the rest of the frame.
			*drops++
			p.segActive = false
			return n
		}
		room := pk.Room()
		if len(room) < extra {
			pk.Free()
			*drops++
			p.segActive = false
			return n
		}
		l, err := p.seg.Next(room[extra:])
		if err != nil {
			pk.Free()
			*drops++
			p.segActive = false
			return n
		}
		if extra > 0 {
			copy(room, room[4:16])
			binary.BigEndian.PutUint16(room[12:], p.segMeta.tpid)
			binary.BigEndian.PutUint16(room[14:], p.segMeta.tci)
		}
		pk.SetLen(l + extra)
		pk.Offload = dataplane.OffloadCsumPartial
		pk.CsumStart = uint16(p.seg.L4Offset() + extra)
		pk.CsumOffset = 16
		*bytes += uint64(pk.Len())
		pkts[n] = pk
		n++
	}
	if p.seg.Done() {
		p.segActive = false
	}
	return n
}

// TxBurst copies pkts into the transmit ring, each behind a virtio-net
// header carrying its offload metadata, kicks the kernel once, and frees
// the packets. Packets that find the ring full are dropped and counted.
func (p *Port) TxBurst(q int, pkts []*dataplane.Packet) int {
	sent := 0
	var bytes, drops uint64
	for _, pk := range pkts {
		off := p.txOff[p.txHead]
		if st := p.status(off); st&(unix.TP_STATUS_SEND_REQUEST|unix.TP_STATUS_SENDING) != 0 {
			drops++ // ring full
			continue
		} else if st&unix.TP_STATUS_WRONG_FORMAT != 0 {
			p.txErrors.Add(1)
		}
		data := pk.Data()
		if txDataOff+offload.VnetHdrLen+len(data) > p.txFrame || len(data) < 14 {
			drops++
			continue
		}
		var vh offload.VnetHdr
		if pk.Offload&dataplane.OffloadCsumPartial != 0 {
			vh.Flags = offload.FlagNeedsCsum
			vh.CsumStart, vh.CsumOffset = pk.CsumStart, pk.CsumOffset
		}
		if pk.GSOSize > 0 {
			vh.GSOType = gsoType(data)
			vh.GSOSize = pk.GSOSize
		}
		slot := p.mem[off+txDataOff : off+p.txFrame]
		vh.Encode(slot)
		copy(slot[offload.VnetHdrLen:], data)
		binary.NativeEndian.PutUint32(p.mem[off+hdrLen:], uint32(offload.VnetHdrLen+len(data)))
		p.setStatus(off, unix.TP_STATUS_SEND_REQUEST)
		p.txHead++
		if p.txHead == len(p.txOff) {
			p.txHead = 0
		}
		bytes += uint64(len(data))
		sent++
	}
	if sent > 0 {
		// One kick sends every frame marked SEND_REQUEST. ENOBUFS/EAGAIN
		// leave frames in the ring; the next kick sends them.
		_, _, _ = unix.Syscall6(unix.SYS_SENDTO, uintptr(p.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
		p.txPackets.Add(uint64(sent))
		p.txBytes.Add(bytes)
	}
	if drops > 0 {
		p.txDropped.Add(drops)
	}
	p.txCache.PutBurst(pkts)
	return sent
}

// gsoType is the virtio GSO type of a TCP frame by its IP version.
func gsoType(frame []byte) uint8 {
	et := binary.BigEndian.Uint16(frame[12:])
	for i := 16; (et == etherTypeVLAN || et == 0x88a8) && i+2 <= len(frame); i += 4 {
		et = binary.BigEndian.Uint16(frame[i:])
	}
	if et == etherTypeIPv6 {
		return offload.GSOTCPv6
	}
	return offload.GSOTCPv4
}
