package ixgbe

import (
	"fmt"

	"gvswitch/dataplane"
	"gvswitch/vfio"
)

// Open opens the 82599/X540 at PCI address pciAddr (options:dpdk-devargs)
// through vfio-pci (or uio_pci_generic) and starts it. The error text is
// meant for the Interface error column, e.g. "device 0000:08:00.0 not
// bound to vfio-pci (driver ixgbe): run gvs-devbind --bind=vfio-pci
// 0000:08:00.0" or "device 0000:05:00.0: IOMMU group not viable: IOMMU
// group 14: 0000:05:00.1 is bound to ixgbe (...)"; it wraps the vfio
// sentinels (vfio.ErrNotFound, vfio.ErrNotBound, vfio.ErrGroupNotViable,
// vfio.ErrNoVFIO, vfio.ErrNoIOMMU) and this package's.
func Open(pciAddr string, opts Options) (*Port, error) {
	return OpenHost(vfio.Host{}, pciAddr, opts)
}

// OpenHost is Open on the given host (a fake tree in tests).
func OpenHost(h vfio.Host, pciAddr string, opts Options) (*Port, error) {
	addr, err := vfio.ParseAddr(pciAddr)
	if err != nil {
		return nil, err
	}
	info, err := h.Device(addr)
	if err != nil {
		return nil, err
	}
	if _, ok := Supported(info.Vendor, info.DeviceID); !ok {
		return nil, fmt.Errorf("device %s: %w: vendor %#04x device %#04x is not an 82599/X540/X550", addr, ErrUnsupported, info.Vendor, info.DeviceID)
	}
	dev, err := h.Open(addr)
	if err != nil {
		return nil, err
	}
	bar, err := dev.BAR(0)
	if err != nil {
		dev.Close()
		return nil, err
	}
	regs, err := NewMMIO(bar)
	if err != nil {
		dev.Close()
		return nil, fmt.Errorf("device %s: %w", addr, err)
	}
	if info.Driver == vfio.DriverUIO {
		// Physical addresses need memory that neither moves nor is
		// scattered: hugepages.
		opts.HugePages, opts.RequireHuge = true, true
	}
	node := info.NUMANode
	return New(&pciBus{dev: dev, regs: regs}, BusInfo{Addr: addr, VendorID: info.Vendor, DeviceID: info.DeviceID, NUMANode: node, Driver: info.Driver}, opts)
}

// pciBus is Bus over a device opened by the vfio package.
type pciBus struct {
	dev  *vfio.PCIDevice
	regs MMIO
	iova map[*dataplane.Arena]uint64
}

func (b *pciBus) Registers() Registers { return b.regs }

func (b *pciBus) MapDMA(a *dataplane.Arena) error {
	iova, err := b.dev.MapDMA(a.Bytes())
	if err != nil {
		return err
	}
	if len(b.iova) > 0 && a.IOVA(0) != iova {
		// Another pool's packets already carry their IOVAs; with uio they
		// are virtual addresses the device cannot use.
		b.dev.UnmapDMA(iova)
		return fmt.Errorf("device %s: %s: packets of another pool are not at their physical addresses; TxBurst copies them (use vfio-pci for zero copy)", b.dev.Info.Addr, b.dev.Info.Driver)
	}
	if b.iova == nil {
		b.iova = map[*dataplane.Arena]uint64{}
	}
	b.iova[a] = iova
	a.SetIOVABase(iova)
	return nil
}

func (b *pciBus) UnmapDMA(a *dataplane.Arena) error {
	iova, ok := b.iova[a]
	if !ok {
		return nil
	}
	delete(b.iova, a)
	return b.dev.UnmapDMA(iova)
}

func (b *pciBus) SetBusMaster(on bool) error { return b.dev.SetBusMaster(on) }
func (b *pciBus) Close() error               { return b.dev.Close() }
