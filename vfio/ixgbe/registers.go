package ixgbe

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Registers is access to the device's BAR0. The real one is the BAR mapped
// from VFIO or uio (MMIO); tests use a device model. The driver calls it for
// configuration and once per burst (the tail doorbell), never per packet.
type Registers interface {
	Read32(off uint32) uint32
	Write32(off uint32, v uint32)
}

// MMIO is BAR0 mapped into our address space. Accesses are 32-bit aligned
// loads and stores that the compiler may neither merge nor elide.
type MMIO []byte

// NewMMIO checks that bar is large enough for the registers this driver
// uses and returns it as Registers.
func NewMMIO(bar []byte) (MMIO, error) {
	if len(bar) < bar0MinSize {
		return nil, fmt.Errorf("ixgbe: BAR0 is %d bytes, want at least %d", len(bar), bar0MinSize)
	}
	return MMIO(bar), nil
}

// Read32 loads the register at off.
func (m MMIO) Read32(off uint32) uint32 {
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&m[off&^3])))
}

// Write32 stores v to the register at off.
func (m MMIO) Write32(off uint32, v uint32) {
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&m[off&^3])), v)
}
