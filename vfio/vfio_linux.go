package vfio

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctl numbers of include/uapi/linux/vfio.h: _IO(VFIO_TYPE, VFIO_BASE+n)
// with VFIO_TYPE ';' and VFIO_BASE 100; the argument structs are given
// by pointer and start with their own size (argsz).
const (
	vfioType               = ';'
	vfioBase               = 100
	ioctlGetAPIVersion     = vfioType<<8 | (vfioBase + 0)
	ioctlCheckExtension    = vfioType<<8 | (vfioBase + 1)
	ioctlSetIOMMU          = vfioType<<8 | (vfioBase + 2)
	ioctlGroupGetStatus    = vfioType<<8 | (vfioBase + 3)
	ioctlGroupSetContainer = vfioType<<8 | (vfioBase + 4)
	ioctlGroupUnsetCont    = vfioType<<8 | (vfioBase + 5)
	ioctlGroupGetDeviceFD  = vfioType<<8 | (vfioBase + 6)
	ioctlDeviceGetInfo     = vfioType<<8 | (vfioBase + 7)
	ioctlDeviceGetRegion   = vfioType<<8 | (vfioBase + 8)
	ioctlDeviceReset       = vfioType<<8 | (vfioBase + 11)
	ioctlIOMMUMapDMA       = vfioType<<8 | (vfioBase + 13)
	ioctlIOMMUUnmapDMA     = vfioType<<8 | (vfioBase + 14)

	vfioAPIVersion     = 0
	vfioType1IOMMU     = 1
	vfioType1v2IOMMU   = 3
	groupFlagsViable   = 1 << 0
	deviceFlagsReset   = 1 << 0
	deviceFlagsPCI     = 1 << 1
	regionFlagRead     = 1 << 0
	regionFlagWrite    = 1 << 1
	regionFlagMmap     = 1 << 2
	dmaMapFlagRead     = 1 << 0
	dmaMapFlagWrite    = 1 << 1
	pciConfigRegion    = 7 // VFIO_PCI_CONFIG_REGION_INDEX
	pciNumBARs         = 6
	pciCommand         = 0x04 // PCI Local Bus 3.0, 6.2.2 Command register
	pciCommandMemory   = 1 << 1
	pciCommandMaster   = 1 << 2
	pciCommandIntxDisa = 1 << 10
)

type groupStatus struct{ argsz, flags uint32 }

type deviceInfo struct{ argsz, flags, numRegions, numIRQs uint32 }

type regionInfo struct {
	argsz, flags, index, capOffset uint32
	size, offset                   uint64
}

type dmaMap struct {
	argsz, flags      uint32
	vaddr, iova, size uint64
}

type dmaUnmap struct {
	argsz, flags uint32
	iova, size   uint64
}

func ioctl(fd uintptr, req uintptr, arg unsafe.Pointer) (uintptr, error) {
	r, _, e := unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(arg))
	if e != 0 {
		return r, e
	}
	return r, nil
}

func ioctlInt(fd uintptr, req uintptr, arg uintptr) (uintptr, error) {
	r, _, e := unix.Syscall(unix.SYS_IOCTL, fd, req, arg)
	if e != 0 {
		return r, e
	}
	return r, nil
}

// Container is a VFIO container (/dev/vfio/vfio): one IOMMU address space
// shared by the groups added to it. vfio.rst "VFIO Usage Example".
type Container struct {
	f      *os.File
	mu     sync.Mutex
	groups map[int]*Group
	iommu  bool // SET_IOMMU done (needs a group first)
	maps   map[uint64]uint64
}

// OpenContainer opens /dev/vfio/vfio and checks the API version and the
// type-1 IOMMU extension.
func (h Host) OpenContainer() (*Container, error) {
	path := h.dev("vfio/vfio")
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v (load the vfio-pci module; boot with intel_iommu=on iommu=pt)", ErrNoVFIO, path, err)
	}
	if v, err := ioctlInt(f.Fd(), ioctlGetAPIVersion, 0); err != nil || v != vfioAPIVersion {
		f.Close()
		return nil, fmt.Errorf("%w: %s: API version %d (%v), want %d", ErrNoVFIO, path, v, err, vfioAPIVersion)
	}
	if ok, err := ioctlInt(f.Fd(), ioctlCheckExtension, vfioType1IOMMU); err != nil || ok == 0 {
		f.Close()
		return nil, fmt.Errorf("%w: %s: no type-1 IOMMU support", ErrNoVFIO, path)
	}
	return &Container{f: f, groups: map[int]*Group{}, maps: map[uint64]uint64{}}, nil
}

// Group is an IOMMU group (/dev/vfio/<n>) attached to a container.
type Group struct {
	f  *os.File
	id int
}

// GroupMembers lists the devices of IOMMU group id with their drivers.
func (h Host) GroupMembers(id int) ([]Device, error) {
	ents, err := os.ReadDir(h.sys("kernel/iommu_groups", strconv.Itoa(id), "devices"))
	if err != nil {
		return nil, fmt.Errorf("IOMMU group %d: %w", id, err)
	}
	var out []Device
	for _, e := range ents {
		d, err := h.Device(e.Name())
		if err != nil {
			return nil, fmt.Errorf("IOMMU group %d: %w", id, err)
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out, nil
}

// CheckGroupViable is the sysfs side of VFIO's viability rule (vfio.rst
// "Groups, Devices, and IOMMUs"): every device of the group must be bound
// to vfio-pci, or to no driver (pci-stub and PCIe port drivers are
// tolerated by the kernel). The error names every offending device.
func (h Host) CheckGroupViable(id int) error {
	members, err := h.GroupMembers(id)
	if err != nil {
		return err
	}
	var bad []string
	for _, d := range members {
		switch d.Driver {
		case "", DriverVFIO, "pci-stub", "pcieport":
		default:
			bad = append(bad, fmt.Sprintf("%s is bound to %s", d.Addr, d.Driver))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: IOMMU group %d: %s (bind every device of the group to vfio-pci or unbind it)", ErrGroupNotViable, id, strings.Join(bad, ", "))
	}
	return nil
}

// AddGroup opens group id, checks it is viable and attaches it to the
// container; the first group also selects the type-1 IOMMU.
func (c *Container) AddGroup(h Host, id int) (*Group, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g, ok := c.groups[id]; ok {
		return g, nil
	}
	path := h.dev("vfio", strconv.Itoa(id))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, unix.EBUSY) {
			return nil, fmt.Errorf("IOMMU group %d: %s busy: another process (a DPDK application?) holds it", id, path)
		}
		return nil, fmt.Errorf("IOMMU group %d: %w", id, err)
	}
	st := groupStatus{argsz: uint32(unsafe.Sizeof(groupStatus{}))}
	if _, err := ioctl(f.Fd(), ioctlGroupGetStatus, unsafe.Pointer(&st)); err != nil {
		f.Close()
		return nil, fmt.Errorf("IOMMU group %d: GET_STATUS: %w", id, err)
	}
	if st.flags&groupFlagsViable == 0 {
		f.Close()
		if err := h.CheckGroupViable(id); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: IOMMU group %d (the kernel says so; check every device of the group)", ErrGroupNotViable, id)
	}
	cfd := int32(c.f.Fd())
	if _, err := ioctl(f.Fd(), ioctlGroupSetContainer, unsafe.Pointer(&cfd)); err != nil {
		f.Close()
		return nil, fmt.Errorf("IOMMU group %d: SET_CONTAINER: %w", id, err)
	}
	if !c.iommu {
		typ := uintptr(vfioType1v2IOMMU)
		if ok, _ := ioctlInt(c.f.Fd(), ioctlCheckExtension, typ); ok == 0 {
			typ = vfioType1IOMMU
		}
		if _, err := ioctlInt(c.f.Fd(), ioctlSetIOMMU, typ); err != nil {
			ioctlInt(f.Fd(), ioctlGroupUnsetCont, 0)
			f.Close()
			return nil, fmt.Errorf("IOMMU group %d: SET_IOMMU type %d: %w", id, typ, err)
		}
		c.iommu = true
	}
	g := &Group{f: f, id: id}
	c.groups[id] = g
	return g, nil
}

// MapDMA maps mem for device reads and writes at iova (IOMMU type-1
// MAP_DMA). gvswitch maps its arenas with iova = their virtual address.
func (c *Container) MapDMA(mem []byte, iova uint64) error {
	if len(mem) == 0 {
		return fmt.Errorf("DMA map: empty region")
	}
	m := dmaMap{argsz: uint32(unsafe.Sizeof(dmaMap{})), flags: dmaMapFlagRead | dmaMapFlagWrite,
		vaddr: uint64(uintptr(unsafe.Pointer(&mem[0]))), iova: iova, size: uint64(len(mem))}
	if _, err := ioctl(c.f.Fd(), ioctlIOMMUMapDMA, unsafe.Pointer(&m)); err != nil {
		if errors.Is(err, unix.ENOMEM) {
			// Type-1 pins the pages and charges them to RLIMIT_MEMLOCK
			// unless the process has CAP_IPC_LOCK.
			return fmt.Errorf("DMA map %d bytes at IOVA %#x: %w (raise the locked-memory limit, ulimit -l, or run with CAP_IPC_LOCK)", len(mem), iova, err)
		}
		return fmt.Errorf("DMA map %d bytes at IOVA %#x: %w", len(mem), iova, err)
	}
	c.mu.Lock()
	c.maps[iova] = uint64(len(mem))
	c.mu.Unlock()
	return nil
}

// UnmapDMA removes a mapping made by MapDMA.
func (c *Container) UnmapDMA(iova uint64) error {
	c.mu.Lock()
	size, ok := c.maps[iova]
	delete(c.maps, iova)
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("DMA unmap: nothing mapped at IOVA %#x", iova)
	}
	u := dmaUnmap{argsz: uint32(unsafe.Sizeof(dmaUnmap{})), iova: iova, size: size}
	if _, err := ioctl(c.f.Fd(), ioctlIOMMUUnmapDMA, unsafe.Pointer(&u)); err != nil {
		return fmt.Errorf("DMA unmap %d bytes at IOVA %#x: %w", size, iova, err)
	}
	return nil
}

// Close detaches the groups and closes the container; mappings go away
// with it.
func (c *Container) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, g := range c.groups {
		ioctlInt(g.f.Fd(), ioctlGroupUnsetCont, 0)
		g.f.Close()
		delete(c.groups, id)
	}
	return c.f.Close()
}

// vfioDevice is a device fd from GROUP_GET_DEVICE_FD.
type vfioDevice struct {
	f       *os.File
	regions [pciConfigRegion + 1]regionInfo
}

func (g *Group) device(addr string) (*vfioDevice, error) {
	name, err := unix.BytePtrFromString(addr)
	if err != nil {
		return nil, err
	}
	fd, err := ioctl(g.f.Fd(), ioctlGroupGetDeviceFD, unsafe.Pointer(name))
	if err != nil {
		return nil, fmt.Errorf("device %s: GROUP_GET_DEVICE_FD: %w", addr, err)
	}
	d := &vfioDevice{f: os.NewFile(fd, "vfio-device-"+addr)}
	info := deviceInfo{argsz: uint32(unsafe.Sizeof(deviceInfo{}))}
	if _, err := ioctl(d.f.Fd(), ioctlDeviceGetInfo, unsafe.Pointer(&info)); err != nil {
		d.f.Close()
		return nil, fmt.Errorf("device %s: DEVICE_GET_INFO: %w", addr, err)
	}
	if info.flags&deviceFlagsPCI == 0 || info.numRegions <= pciConfigRegion {
		d.f.Close()
		return nil, fmt.Errorf("device %s: not a PCI device to VFIO (flags %#x, %d regions)", addr, info.flags, info.numRegions)
	}
	for i := range d.regions {
		r := regionInfo{argsz: uint32(unsafe.Sizeof(regionInfo{})), index: uint32(i)}
		if _, err := ioctl(d.f.Fd(), ioctlDeviceGetRegion, unsafe.Pointer(&r)); err != nil {
			d.f.Close()
			return nil, fmt.Errorf("device %s: region %d info: %w", addr, i, err)
		}
		d.regions[i] = r
	}
	return d, nil
}

func (d *vfioDevice) mapBAR(i int) ([]byte, error) {
	if i < 0 || i >= pciNumBARs {
		return nil, fmt.Errorf("BAR %d: no such BAR", i)
	}
	r := d.regions[i]
	if r.size == 0 || r.flags&regionFlagMmap == 0 {
		return nil, fmt.Errorf("BAR %d: not mappable (size %d, flags %#x)", i, r.size, r.flags)
	}
	mem, err := unix.Mmap(int(d.f.Fd()), int64(r.offset), int(r.size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("BAR %d: mmap %d bytes: %w", i, r.size, err)
	}
	return mem, nil
}

func (d *vfioDevice) configFile() (*os.File, int64) {
	return d.f, int64(d.regions[pciConfigRegion].offset)
}

func (d *vfioDevice) reset() error {
	_, err := ioctlInt(d.f.Fd(), ioctlDeviceReset, 0)
	return err
}

// pciConfig reads and writes config space through a file at an offset:
// the VFIO config region, or sysfs's config file with uio.
type pciConfig struct {
	f    *os.File
	base int64
}

func (c pciConfig) read16(off int64) (uint16, error) {
	var b [2]byte
	if _, err := c.f.ReadAt(b[:], c.base+off); err != nil {
		return 0, err
	}
	return uint16(b[0]) | uint16(b[1])<<8, nil
}

func (c pciConfig) write16(off int64, v uint16) error {
	_, err := c.f.WriteAt([]byte{byte(v), byte(v >> 8)}, c.base+off)
	return err
}

// setBusMaster sets or clears the Command register's Bus Master and
// Memory Space bits (PCI Local Bus 3.0, 6.2.2); INTx stays disabled,
// the driver polls.
func (c pciConfig) setBusMaster(on bool) error {
	cmd, err := c.read16(pciCommand)
	if err != nil {
		return fmt.Errorf("config space: read command: %w", err)
	}
	if on {
		cmd |= pciCommandMaster | pciCommandMemory | pciCommandIntxDisa
	} else {
		cmd &^= pciCommandMaster
	}
	if err := c.write16(pciCommand, cmd); err != nil {
		return fmt.Errorf("config space: write command: %w", err)
	}
	return nil
}

// groupPath is where the group's character device lives, for messages.
func (h Host) groupPath(id int) string { return filepath.Join(h.dev("vfio"), strconv.Itoa(id)) }
