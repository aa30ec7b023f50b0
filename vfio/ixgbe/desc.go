package ixgbe

import (
	"sync/atomic"
	"unsafe"
)

// desc is one 16-byte advanced descriptor, two 64-bit little-endian
// words. Loads are atomic because the device writes the memory by DMA at
// any time (a plain load could be hoisted out of a polling loop).
type desc struct {
	lo, hi uint64
}

// Advanced receive descriptor (82599 datasheet 7.1.6).
//
// Read format (7.1.6.1), written by the driver:
//
//	lo: packet buffer address   hi: header buffer address (0: no split)
//
// Write-back format (7.1.6.2), written by the device:
//
//	lo bits 3:0   RSS type        lo bits 63:32  RSS hash
//	hi bits 19:0  extended status hi bits 31:20  extended errors
//	hi bits 47:32 packet length   hi bits 63:48  VLAN tag
const (
	rxStatDD   = 1 << 0 // descriptor done
	rxStatEOP  = 1 << 1 // end of packet
	rxErrRXE   = 1 << 29
	rxErrMask  = rxErrRXE // errors that make the frame unusable
	rxRSSMask  = 0xF
	rxLenShift = 32
)

// Advanced transmit data descriptor (82599 datasheet 7.2.3.2.4).
//
// Read format: lo = buffer address; hi bits 15:0 DTALEN, 23:20 DTYP,
// 31:24 DCMD, and in the upper word PAYLEN at bits 63:46.
// Write-back (7.2.3.2.4, "STA"): hi bit 32 is DD.
const (
	txDTypData  = 3 << 20
	txCmdEOP    = 1 << 24
	txCmdIFCS   = 1 << 25
	txCmdRS     = 1 << 27
	txCmdDEXT   = 1 << 29
	txPayShift  = 46
	txStatDD    = 1 << 32
	txCmdStatic = txDTypData | txCmdEOP | txCmdIFCS | txCmdRS | txCmdDEXT
)

// descRing views n descriptors at mem[0:] (DMA memory of an Arena).
func descRing(mem []byte, n int) []desc {
	if len(mem) < n*descSize {
		return nil
	}
	return unsafe.Slice((*desc)(unsafe.Pointer(&mem[0])), n)
}

func (d *desc) loadLo() uint64 { return atomic.LoadUint64(&d.lo) }
func (d *desc) loadHi() uint64 { return atomic.LoadUint64(&d.hi) }

// Stores are plain: the device reads a descriptor only after the tail
// doorbell (Registers.Write32, an atomic store with release semantics on
// every architecture Go supports), which orders them before it; an atomic
// store here would be a full barrier (XCHG on amd64) per descriptor.
func (d *desc) storeLo(v uint64) { d.lo = v }
func (d *desc) storeHi(v uint64) { d.hi = v }
