package vfio

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Errors callers test with errors.Is.
var (
	// ErrNotFound: no PCI device (or interface) by that name.
	ErrNotFound = errors.New("not found")
	// ErrBadAddress: a string that is not a PCI address.
	ErrBadAddress = errors.New("bad PCI address")
	// ErrNotBound: the device is not bound to the driver that was needed.
	ErrNotBound = errors.New("not bound")
	// ErrActive: the device carries a route of the host (*Active*).
	ErrActive = errors.New("*Active*")
	// ErrGroupNotViable: another device of the IOMMU group is bound to a
	// kernel driver, so VFIO refuses the group.
	ErrGroupNotViable = errors.New("IOMMU group not viable")
	// ErrNoIOMMU: the device has no IOMMU group (IOMMU off).
	ErrNoIOMMU = errors.New("no IOMMU group")
	// ErrNoVFIO: /dev/vfio/vfio is missing or unusable.
	ErrNoVFIO = errors.New("VFIO not available")
)

// Host says where the kernel's interfaces are; the zero value is the
// running system (/sys, /proc, /dev). Tests point it at a fake tree.
type Host struct {
	SysRoot  string // "/sys" when empty
	ProcRoot string // "/proc" when empty
	DevRoot  string // "/dev" when empty
	// WriteFile writes a sysfs attribute; nil is os.WriteFile. A fake
	// kernel (vfio/pcitest) replaces it to act on bind/unbind writes.
	WriteFile func(path string, data []byte) error
}

func (h Host) sys(p ...string) string {
	r := h.SysRoot
	if r == "" {
		r = "/sys"
	}
	return filepath.Join(append([]string{r}, p...)...)
}

func (h Host) proc(p ...string) string {
	r := h.ProcRoot
	if r == "" {
		r = "/proc"
	}
	return filepath.Join(append([]string{r}, p...)...)
}

func (h Host) dev(p ...string) string {
	r := h.DevRoot
	if r == "" {
		r = "/dev"
	}
	return filepath.Join(append([]string{r}, p...)...)
}

func (h Host) write(path, s string) error {
	if h.WriteFile != nil {
		return h.WriteFile(path, []byte(s))
	}
	return os.WriteFile(path, []byte(s), 0o200)
}

// Device is one PCI function as sysfs describes it.
type Device struct {
	Addr       string // domain:bus:slot.function, 0000:08:00.0
	Vendor     uint16
	DeviceID   uint16
	SubVendor  uint16
	SubDevice  uint16
	Class      uint32 // 0x020000 for Ethernet
	Driver     string // bound driver, "" when none
	NUMANode   int    // -1 when unknown
	IOMMUGroup int    // -1 when there is none
	Interfaces []string
}

// IsNetwork reports whether the device's class is "network controller".
func (d Device) IsNetwork() bool { return d.Class>>16 == 0x02 }

// ParseAddr normalises a PCI address: "08:00.0" and "0000:08:00.0" both
// give "0000:08:00.0".
func ParseAddr(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	parts := strings.Split(s, ":")
	if len(parts) == 2 {
		parts = append([]string{"0000"}, parts...)
	}
	if len(parts) != 3 {
		return "", fmt.Errorf("%w %q (want domain:bus:slot.function)", ErrBadAddress, s)
	}
	sf := strings.Split(parts[2], ".")
	if len(sf) != 2 {
		return "", fmt.Errorf("%w %q (want domain:bus:slot.function)", ErrBadAddress, s)
	}
	var v [4]uint64
	for i, f := range []struct {
		s    string
		bits int
		max  uint64
	}{{parts[0], 16, 0xFFFF}, {parts[1], 8, 0xFF}, {sf[0], 8, 0x1F}, {sf[1], 4, 7}} {
		if f.s == "" || len(f.s) > f.bits/4 {
			return "", fmt.Errorf("%w %q", ErrBadAddress, s)
		}
		n, err := strconv.ParseUint(f.s, 16, f.bits)
		if err != nil || n > f.max {
			return "", fmt.Errorf("%w %q", ErrBadAddress, s)
		}
		v[i] = n
	}
	return fmt.Sprintf("%04x:%02x:%02x.%x", v[0], v[1], v[2], v[3]), nil
}

func readHex(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimPrefix(strings.TrimSpace(string(b)), "0x")
	return strconv.ParseUint(s, 16, 32)
}

// Device reads one device from sysfs.
func (h Host) Device(addr string) (Device, error) {
	a, err := ParseAddr(addr)
	if err != nil {
		return Device{}, err
	}
	dir := h.sys("bus/pci/devices", a)
	if _, err := os.Stat(dir); err != nil {
		return Device{}, fmt.Errorf("device %s %w in %s", a, ErrNotFound, h.sys("bus/pci/devices"))
	}
	d := Device{Addr: a, NUMANode: -1, IOMMUGroup: -1}
	for _, f := range []struct {
		name string
		dst  func(uint64)
	}{
		{"vendor", func(v uint64) { d.Vendor = uint16(v) }},
		{"device", func(v uint64) { d.DeviceID = uint16(v) }},
		{"subsystem_vendor", func(v uint64) { d.SubVendor = uint16(v) }},
		{"subsystem_device", func(v uint64) { d.SubDevice = uint16(v) }},
		{"class", func(v uint64) { d.Class = uint32(v) }},
	} {
		v, err := readHex(filepath.Join(dir, f.name))
		if err != nil {
			if f.name == "subsystem_vendor" || f.name == "subsystem_device" {
				continue
			}
			return Device{}, fmt.Errorf("device %s: %s: %w", a, f.name, err)
		}
		f.dst(v)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "numa_node")); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			d.NUMANode = n
		}
	}
	if l, err := os.Readlink(filepath.Join(dir, "driver")); err == nil {
		d.Driver = filepath.Base(l)
	}
	if l, err := os.Readlink(filepath.Join(dir, "iommu_group")); err == nil {
		if n, err := strconv.Atoi(filepath.Base(l)); err == nil {
			d.IOMMUGroup = n
		}
	}
	d.Interfaces = findInterfaces(dir)
	return d, nil
}

// findInterfaces lists the network interfaces of a device directory: the
// entries of the first "net" directory below it, at any depth, without
// following symlinks (virtio puts them under virtio<N>/net).
func findInterfaces(dir string) []string {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real // /sys/bus/pci/devices/* are links into /sys/devices
	}
	var out []string
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || out != nil {
			return filepath.SkipDir
		}
		if !e.IsDir() {
			return nil
		}
		if e.Name() == "net" && p != dir {
			ents, _ := os.ReadDir(p)
			out = []string{}
			for _, i := range ents {
				out = append(out, i.Name())
			}
			return filepath.SkipAll
		}
		if strings.Count(strings.TrimPrefix(p, dir), "/") > 3 {
			return filepath.SkipDir
		}
		return nil
	})
	if len(out) == 0 {
		return nil
	}
	return out
}

// Devices lists every PCI device, in address order.
func (h Host) Devices() ([]Device, error) {
	ents, err := os.ReadDir(h.sys("bus/pci/devices"))
	if err != nil {
		return nil, fmt.Errorf("PCI devices: %w", err)
	}
	var out []Device
	for _, e := range ents {
		d, err := h.Device(e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out, nil
}

// Resolve turns a PCI address or a kernel interface name into a PCI
// address.
func (h Host) Resolve(name string) (string, error) {
	if a, err := ParseAddr(name); err == nil {
		if _, err := os.Stat(h.sys("bus/pci/devices", a)); err != nil {
			return "", fmt.Errorf("device %s %w", a, ErrNotFound)
		}
		return a, nil
	}
	devs, err := h.Devices()
	if err != nil {
		return "", err
	}
	for _, d := range devs {
		for _, i := range d.Interfaces {
			if i == name {
				return d.Addr, nil
			}
		}
	}
	return "", fmt.Errorf("%q: no PCI device or network interface by that name: %w", name, ErrNotFound)
}

// RoutedInterfaces are the interfaces that carry an IPv4 route of the
// main table (/proc/net/route), except link-local 169.254/16 ones, like
// dpdk-devbind.py's *Active* rule (it reads `ip -o route`).
func (h Host) RoutedInterfaces() (map[string]bool, error) {
	f, err := os.Open(h.proc("net/route"))
	if err != nil {
		return nil, fmt.Errorf("routing table: %w", err)
	}
	defer f.Close()
	return parseRoutes(f)
}

func parseRoutes(f interface{ Read([]byte) (int, error) }) (map[string]bool, error) {
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	first := true
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if first {
			first = false
			if len(fields) > 0 && fields[0] == "Iface" {
				continue
			}
		}
		if len(fields) < 8 {
			continue
		}
		// Destination is little-endian hex; 169.254.0.0/16 is 0000FEA9.
		dst, err := strconv.ParseUint(fields[1], 16, 32)
		if err != nil {
			return nil, fmt.Errorf("routing table: bad destination %q", fields[1])
		}
		if dst&0xFFFF == 0xFEA9 {
			continue
		}
		out[fields[0]] = true
	}
	return out, sc.Err()
}

// Active reports whether one of the device's interfaces carries a route.
func (d Device) Active(routed map[string]bool) bool {
	for _, i := range d.Interfaces {
		if routed[i] {
			return true
		}
	}
	return false
}

// ModuleLoaded reports whether a kernel module (or built-in driver) is
// present: /sys/module/<name> or /sys/bus/pci/drivers/<name>.
func (h Host) ModuleLoaded(name string) bool {
	if _, err := os.Stat(h.sys("module", strings.ReplaceAll(name, "-", "_"))); err == nil {
		return true
	}
	_, err := os.Stat(h.sys("bus/pci/drivers", name))
	return err == nil
}
