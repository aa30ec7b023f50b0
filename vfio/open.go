package vfio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrPagemap: physical addresses could not be read (not root).
var ErrPagemap = errors.New("physical addresses unavailable")

// PCIDevice is a device opened for a userspace driver through vfio-pci or
// uio_pci_generic: BARs, config space, bus mastering and DMA mapping.
type PCIDevice struct {
	Info Device

	host      Host
	container *Container  // vfio-pci
	vdev      *vfioDevice // vfio-pci
	cfgFile   *os.File    // uio_pci_generic: sysfs config
	uioDev    *os.File    // uio_pci_generic: /dev/uioN, held while in use
	cfg       pciConfig
	bars      [pciNumBARs][]byte
}

// Open opens the device for a userspace driver. The error says what is
// wrong in words fit for the Interface error column: not found, not
// bound to vfio-pci, no IOMMU group, group not viable, VFIO missing.
func (h Host) Open(addr string) (*PCIDevice, error) {
	d, err := h.Device(addr)
	if err != nil {
		return nil, err
	}
	switch d.Driver {
	case DriverVFIO:
		return h.openVFIO(d)
	case DriverUIO:
		return h.openUIO(d)
	case "":
		return nil, fmt.Errorf("device %s %w to vfio-pci (no driver): run gvs-devbind --bind=vfio-pci %s", d.Addr, ErrNotBound, d.Addr)
	default:
		return nil, fmt.Errorf("device %s %w to vfio-pci (driver %s): run gvs-devbind --bind=vfio-pci %s", d.Addr, ErrNotBound, d.Driver, d.Addr)
	}
}

func (h Host) openVFIO(d Device) (*PCIDevice, error) {
	if d.IOMMUGroup < 0 {
		return nil, fmt.Errorf("device %s: %w (boot with intel_iommu=on iommu=pt)", d.Addr, ErrNoIOMMU)
	}
	if err := h.CheckGroupViable(d.IOMMUGroup); err != nil {
		return nil, fmt.Errorf("device %s: %w", d.Addr, err)
	}
	c, err := h.OpenContainer()
	if err != nil {
		return nil, fmt.Errorf("device %s: %w", d.Addr, err)
	}
	g, err := c.AddGroup(h, d.IOMMUGroup)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("device %s: %w", d.Addr, err)
	}
	vd, err := g.device(d.Addr)
	if err != nil {
		c.Close()
		return nil, err
	}
	f, off := vd.configFile()
	return &PCIDevice{Info: d, host: h, container: c, vdev: vd, cfg: pciConfig{f, off}}, nil
}

func (h Host) openUIO(d Device) (*PCIDevice, error) {
	dir := h.sys("bus/pci/devices", d.Addr)
	ents, err := os.ReadDir(filepath.Join(dir, "uio"))
	if err != nil || len(ents) == 0 {
		return nil, fmt.Errorf("device %s: bound to %s but has no uio node: %v", d.Addr, DriverUIO, err)
	}
	uio, err := os.OpenFile(h.dev(ents[0].Name()), os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("device %s: %w", d.Addr, err)
	}
	cfg, err := os.OpenFile(filepath.Join(dir, "config"), os.O_RDWR, 0)
	if err != nil {
		uio.Close()
		return nil, fmt.Errorf("device %s: config space: %w (needs root)", d.Addr, err)
	}
	return &PCIDevice{Info: d, host: h, cfgFile: cfg, uioDev: uio, cfg: pciConfig{cfg, 0}}, nil
}

// BAR maps memory BAR i (once; later calls return the same mapping).
func (p *PCIDevice) BAR(i int) ([]byte, error) {
	if i < 0 || i >= pciNumBARs {
		return nil, fmt.Errorf("device %s: BAR %d: no such BAR", p.Info.Addr, i)
	}
	if p.bars[i] != nil {
		return p.bars[i], nil
	}
	var mem []byte
	var err error
	if p.vdev != nil {
		mem, err = p.vdev.mapBAR(i)
	} else {
		mem, err = p.mapResource(i)
	}
	if err != nil {
		return nil, fmt.Errorf("device %s: %w", p.Info.Addr, err)
	}
	p.bars[i] = mem
	return mem, nil
}

// mapResource maps sysfs's resource<i> file (uio has no BAR regions).
func (p *PCIDevice) mapResource(i int) ([]byte, error) {
	path := p.host.sys("bus/pci/devices", p.Info.Addr, "resource"+strconv.Itoa(i))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("BAR %d: %w", i, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("BAR %d: %w", i, err)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("BAR %d: mmap %s: %w", i, path, err)
	}
	return mem, nil
}

// ReadConfig16 and WriteConfig16 access config space.
func (p *PCIDevice) ReadConfig16(off int64) (uint16, error) { return p.cfg.read16(off) }
func (p *PCIDevice) WriteConfig16(off int64, v uint16) error {
	return p.cfg.write16(off, v)
}

// SetBusMaster lets the device master the bus (DMA) or stops it.
func (p *PCIDevice) SetBusMaster(on bool) error {
	if err := p.cfg.setBusMaster(on); err != nil {
		return fmt.Errorf("device %s: %w", p.Info.Addr, err)
	}
	return nil
}

// Reset is a function-level reset through VFIO when the device has one.
func (p *PCIDevice) Reset() error {
	if p.vdev == nil {
		return fmt.Errorf("device %s: reset needs vfio-pci", p.Info.Addr)
	}
	return p.vdev.reset()
}

// MapDMA makes mem reachable by the device and returns the IOVA of its
// first byte. With vfio-pci that is its virtual address, mapped into the
// IOMMU. With uio_pci_generic there is no IOMMU: the IOVA is the
// physical address, and mem must be physically contiguous (one hugepage,
// or hugepages that happen to be adjacent) and locked.
func (p *PCIDevice) MapDMA(mem []byte) (uint64, error) {
	if len(mem) == 0 {
		return 0, fmt.Errorf("device %s: DMA map of nothing", p.Info.Addr)
	}
	if p.container != nil {
		iova := uint64(uintptr(unsafe.Pointer(&mem[0])))
		if err := p.container.MapDMA(mem, iova); err != nil {
			return 0, fmt.Errorf("device %s: %w", p.Info.Addr, err)
		}
		return iova, nil
	}
	phys, err := p.host.ContiguousPhysAddr(mem)
	if err != nil {
		return 0, fmt.Errorf("device %s: %s DMA: %w", p.Info.Addr, DriverUIO, err)
	}
	return phys, nil
}

// UnmapDMA undoes MapDMA for the mapping at iova.
func (p *PCIDevice) UnmapDMA(iova uint64) error {
	if p.container == nil {
		return nil
	}
	return p.container.UnmapDMA(iova)
}

// Close unmaps the BARs and closes the device, its group and container.
func (p *PCIDevice) Close() error {
	for i, b := range p.bars {
		if b != nil {
			unix.Munmap(b)
			p.bars[i] = nil
		}
	}
	var err error
	if p.vdev != nil {
		err = p.vdev.f.Close()
		p.vdev = nil
	}
	if p.container != nil {
		if e := p.container.Close(); err == nil {
			err = e
		}
		p.container = nil
	}
	if p.cfgFile != nil {
		p.cfgFile.Close()
		p.uioDev.Close()
		p.cfgFile = nil
	}
	return err
}

// PhysAddr is the physical address of virtual address va, from
// /proc/self/pagemap (Documentation/admin-guide/mm/pagemap.rst: bits
// 0-54 PFN, bit 63 present). Since Linux 4.2 the PFN reads as 0 without
// CAP_SYS_ADMIN, so this needs root. The page must be resident (touch
// it first) and must not move (hugepages, or mlock).
func (h Host) PhysAddr(va uintptr) (uint64, error) {
	f, err := os.Open(h.proc("self/pagemap"))
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrPagemap, err)
	}
	defer f.Close()
	ps := uintptr(os.Getpagesize())
	var b [8]byte
	if _, err := f.ReadAt(b[:], int64(va/ps)*8); err != nil {
		return 0, fmt.Errorf("%w: pagemap: %v", ErrPagemap, err)
	}
	return entryPhys(binary.LittleEndian.Uint64(b[:]), va, ps)
}

func entryPhys(e uint64, va, ps uintptr) (uint64, error) {
	if e&(1<<63) == 0 {
		return 0, fmt.Errorf("%w: page at %#x not present (touch it first)", ErrPagemap, va)
	}
	pfn := e & (1<<55 - 1)
	if pfn == 0 {
		return 0, fmt.Errorf("%w: /proc/self/pagemap hides page frame numbers: needs root (CAP_SYS_ADMIN)", ErrPagemap)
	}
	return uint64(pfn)*uint64(ps) + uint64(va%ps), nil
}

// ContiguousPhysAddr is the physical address of mem[0] when all of mem
// is resident and physically contiguous; otherwise an error.
func (h Host) ContiguousPhysAddr(mem []byte) (uint64, error) {
	if len(mem) == 0 {
		return 0, fmt.Errorf("%w: empty region", ErrPagemap)
	}
	ps := uintptr(os.Getpagesize())
	va := uintptr(unsafe.Pointer(&mem[0]))
	first := va / ps
	last := (va + uintptr(len(mem)) - 1) / ps
	f, err := os.Open(h.proc("self/pagemap"))
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrPagemap, err)
	}
	defer f.Close()
	buf := make([]byte, (last-first+1)*8)
	if _, err := f.ReadAt(buf, int64(first)*8); err != nil {
		return 0, fmt.Errorf("%w: pagemap: %v", ErrPagemap, err)
	}
	base, err := entryPhys(binary.LittleEndian.Uint64(buf), va, ps)
	if err != nil {
		return 0, err
	}
	for i := uintptr(1); i <= last-first; i++ {
		pa, err := entryPhys(binary.LittleEndian.Uint64(buf[i*8:]), (first+i)*ps, ps)
		if err != nil {
			return 0, err
		}
		if want := base - uint64(va%ps) + uint64(i*ps); pa != want {
			return 0, fmt.Errorf("%w: %d bytes at %#x are not physically contiguous (page %d at %#x, want %#x); use vfio-pci or a region within one hugepage",
				ErrPagemap, len(mem), va, i, pa, want)
		}
	}
	return base, nil
}
