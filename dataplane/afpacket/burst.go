package afpacket

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"

	"gvswitch/dataplane"
	"gvswitch/dataplane/internal/kport"
	"gvswitch/internal/offload"
)

const etherTypeVLAN = 0x8100

// RxBurst receives up to len(pkts) frames from the receive ring. It makes
// no system call; a GSO frame yields several packets and may continue in
// the next call.
func (p *Port) RxBurst(q int, pkts []*dataplane.Packet) int {
	p.offl.Adopt()
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
			if (gt == offload.GSOTCPv4 || gt == offload.GSOTCPv6) && p.offl.GSO != nil {
				if pk := p.rxGSO(frame, meta, vh); pk != nil {
					bytes += uint64(pk.Len())
					pkts[n] = pk
					n++
					p.releaseRx()
					continue
				}
			}
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
		extra := copyFrame(pk.Room(), frame, meta)
		if extra < 0 {
			p.rxCache.Put(pk)
			errs++
			p.releaseRx()
			continue
		}
		pk.SetLen(len(frame) + extra)
		if meta.partial && !p.offl.Keep {
			// virtio 1.1 5.1.6.2: complete what the sender left
			// partial, so that any egress port can forward it.
			if offload.CompletePartial(pk.Data(), int(vh.CsumStart)+extra, int(vh.CsumOffset)) != nil {
				p.rxCache.Put(pk)
				errs++
				p.releaseRx()
				continue
			}
			pk.Offload = dataplane.OffloadCsumValid
		} else if meta.partial {
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

// rxGSO copies a whole GSO frame into a GSO pool buffer; nil when none is
// free (the frame is then segmented into ordinary buffers).
func (p *Port) rxGSO(frame []byte, meta segMeta, vh offload.VnetHdr) *dataplane.Packet {
	pk := p.offl.GSO.Get()
	if pk == nil {
		return nil
	}
	room := pk.Room()
	extra := copyFrame(room, frame, meta)
	if extra < 0 {
		p.offl.GSO.Put(pk)
		return nil
	}
	pk.SetLen(len(frame) + extra)
	if meta.partial {
		pk.Offload = dataplane.OffloadCsumPartial
		pk.CsumStart = vh.CsumStart + uint16(extra)
		pk.CsumOffset = vh.CsumOffset
	}
	pk.GSOSize = vh.GSOSize
	return pk
}

// copyFrame copies frame into room, putting a VLAN tag the kernel took
// out back in; it returns the bytes added (0 or 4), -1 if room is short.
func copyFrame(room, frame []byte, meta segMeta) int {
	extra := 0
	if meta.vlan {
		extra = 4
	}
	if len(frame)+extra > len(room) || len(frame) < 14 {
		return -1
	}
	if meta.vlan {
		copy(room, frame[:12])
		binary.BigEndian.PutUint16(room[12:], meta.tpid)
		binary.BigEndian.PutUint16(room[14:], meta.tci)
		copy(room[16:], frame[12:])
	} else {
		copy(room, frame)
	}
	return extra
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
		if p.offl.Keep {
			pk.Offload = dataplane.OffloadCsumPartial
			pk.CsumStart = uint16(p.seg.L4Offset() + extra)
			pk.CsumOffset = 16
		} else {
			// The length fits: Next wrote the whole TCP header.
			_ = offload.CompletePartial(pk.Data(), p.seg.L4Offset()+extra, 16)
			pk.Offload = dataplane.OffloadCsumValid
		}
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
	sent, pending := 0, 0
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
		if len(data) < 14 {
			drops++
			continue
		}
		if txDataOff+offload.VnetHdrLen+len(data) > p.txFrame {
			// Too big for a slot: send what is queued in the ring
			// first (keeping the order), then this one directly.
			if pending > 0 {
				p.kick()
				pending = 0
			}
			if p.sendBig(pk) {
				bytes += uint64(len(data))
				sent++
			} else {
				drops++
			}
			continue
		}
		var vh offload.VnetHdr
		if pk.Offload&dataplane.OffloadCsumPartial != 0 {
			vh.Flags = offload.FlagNeedsCsum
			vh.CsumStart, vh.CsumOffset = pk.CsumStart, pk.CsumOffset
		}
		if pk.GSOSize > 0 {
			vh.GSOType = kport.GSOType(data)
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
		pending++
	}
	if pending > 0 {
		p.kick()
	}
	if sent > 0 {
		p.txPackets.Add(uint64(sent))
		p.txBytes.Add(bytes)
	}
	if drops > 0 {
		p.txDropped.Add(drops)
	}
	p.txCache.PutBurst(pkts)
	return sent
}

// kick asks the kernel to send every frame marked SEND_REQUEST. ENOBUFS or
// EAGAIN leave frames in the ring; the next kick sends them.
func (p *Port) kick() {
	_, _, _ = unix.Syscall6(unix.SYS_SENDTO, uintptr(p.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
}

// sendBig writes one frame larger than a ring slot, behind a virtio-net
// header built in its headroom.
func (p *Port) sendBig(pk *dataplane.Packet) bool {
	var vh offload.VnetHdr
	if pk.Offload&dataplane.OffloadCsumPartial != 0 {
		vh.Flags = offload.FlagNeedsCsum
		vh.CsumStart, vh.CsumOffset = pk.CsumStart, pk.CsumOffset
	}
	if pk.GSOSize > 0 {
		vh.GSOType, vh.GSOSize = kport.GSOType(pk.Data()), pk.GSOSize
	}
	hdr := pk.Prepend(offload.VnetHdrLen)
	if hdr == nil {
		return false
	}
	vh.Encode(hdr)
	b := pk.Data()
	_, _, e := unix.Syscall(unix.SYS_WRITE, uintptr(p.bigFd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return e == 0
}
