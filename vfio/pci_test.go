package vfio_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"gvswitch/dataplane"
	"gvswitch/internal/testenv"
	"gvswitch/vfio"
	"gvswitch/vfio/pcitest"
)

const tree = "testdata/host"

func TestDevicesFromSysfs(t *testing.T) {
	h := vfio.Host{SysRoot: tree + "/sys", ProcRoot: tree + "/proc"}
	devs, err := h.Devices()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range devs {
		got = append(got, d.Addr)
	}
	want := []string{"0000:00:00.0", "0000:00:03.0", "0000:05:00.0", "0000:05:00.1", "0000:08:00.0", "0000:08:00.1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("devices %v, want %v", got, want)
	}
	x540 := devs[4]
	if x540.Vendor != 0x8086 || x540.DeviceID != 0x1528 || x540.Class != 0x020000 || x540.Driver != "vfio-pci" ||
		x540.NUMANode != 1 || x540.IOMMUGroup != 12 || len(x540.Interfaces) != 0 || !x540.IsNetwork() {
		t.Errorf("X540: %+v", x540)
	}
	if d := devs[3]; d.Driver != "ixgbe" || !reflect.DeepEqual(d.Interfaces, []string{"ens2f1"}) || d.IOMMUGroup != 14 {
		t.Errorf("82599 port 1: %+v", d)
	}
	if d := devs[5]; d.Driver != "" {
		t.Errorf("unbound X540 port has driver %q", d.Driver)
	}
	if devs[0].IsNetwork() {
		t.Errorf("host bridge counted as a network device")
	}
	routed, err := h.RoutedInterfaces()
	if err != nil {
		t.Fatal(err)
	}
	if !devs[1].Active(routed) || devs[3].Active(routed) {
		t.Errorf("active: virtio %v (want true), ens2f1 with only a link-local route %v (want false)", devs[1].Active(routed), devs[3].Active(routed))
	}
	for _, tc := range []struct{ in, want string }{{"ens2f1", "0000:05:00.1"}, {"08:00.0", "0000:08:00.0"}, {"0000:00:03.0", "0000:00:03.0"}} {
		if a, err := h.Resolve(tc.in); a != tc.want || err != nil {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tc.in, a, err, tc.want)
		}
	}
	if _, err := h.Resolve("eth9"); !errors.Is(err, vfio.ErrNotFound) {
		t.Errorf("Resolve(eth9): %v", err)
	}
	if _, err := h.Resolve("0000:09:00.0"); !errors.Is(err, vfio.ErrNotFound) {
		t.Errorf("Resolve(0000:09:00.0): %v", err)
	}
}

func TestParseAddr(t *testing.T) {
	for in, want := range map[string]string{"08:00.0": "0000:08:00.0", "0000:08:00.1": "0000:08:00.1", " 0001:AF:1F.7 ": "0001:af:1f.7"} {
		if got, err := vfio.ParseAddr(in); got != want || err != nil {
			t.Errorf("ParseAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ens3", "08:00", "08:00.8", "08:20.0", "0000:100:00.0", "g8:00.0", "0000:08:00.0,foo=1", "1:2:3:4.5"} {
		if got, err := vfio.ParseAddr(bad); !errors.Is(err, vfio.ErrBadAddress) {
			t.Errorf("ParseAddr(%q) = %q, %v; want ErrBadAddress", bad, got, err)
		}
	}
}

func TestBindUnbind(t *testing.T) {
	k, h := pcitest.New(t, tree)
	if err := h.Bind("ens2f1", vfio.DriverVFIO, vfio.BindOptions{}); err == nil {
		t.Fatal("Bind by interface name accepted by Bind; it takes addresses (Resolve first)")
	}
	addr, err := h.Resolve("ens2f1")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Bind(addr, vfio.DriverVFIO, vfio.BindOptions{}); err != nil {
		t.Fatal(err)
	}
	d, _ := h.Device(addr)
	if d.Driver != vfio.DriverVFIO || len(d.Interfaces) != 0 {
		t.Errorf("after bind: %+v", d)
	}
	want := []string{"bus/pci/devices/0000:05:00.1/driver/unbind=0000:05:00.1",
		"bus/pci/devices/0000:05:00.1/driver_override=vfio-pci", "bus/pci/drivers_probe=0000:05:00.1"}
	if !reflect.DeepEqual(k.Writes, want) {
		t.Errorf("writes %q, want %q", k.Writes, want)
	}
	// Now the whole group 14 is on vfio-pci: viable.
	if err := h.CheckGroupViable(14); err != nil {
		t.Errorf("group 14 after bind: %v", err)
	}
	if err := h.Unbind(addr, vfio.BindOptions{}); err != nil {
		t.Fatal(err)
	}
	if d, _ := h.Device(addr); d.Driver != "" {
		t.Errorf("after unbind: driver %q", d.Driver)
	}
	if err := h.Bind(addr, "ixgbe", vfio.BindOptions{}); err != nil {
		t.Fatal(err)
	}
	if d, _ := h.Device(addr); d.Driver != "ixgbe" || len(d.Interfaces) != 1 {
		t.Errorf("back on ixgbe: %+v", d)
	}
	if err := h.Bind("0000:08:00.1", vfio.DriverUIO, vfio.BindOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := h.Bind("0000:08:00.1", "igb_uio", vfio.BindOptions{}); err == nil || !strings.Contains(err.Error(), "not loaded") {
		t.Errorf("bind to a driver that is not loaded: %v", err)
	}
}

func TestBindActiveRefused(t *testing.T) {
	k, h := pcitest.New(t, tree)
	err := h.Bind("0000:00:03.0", vfio.DriverVFIO, vfio.BindOptions{})
	if !errors.Is(err, vfio.ErrActive) || !strings.Contains(err.Error(), "ens3") {
		t.Fatalf("binding the routed virtio NIC: %v, want ErrActive naming ens3", err)
	}
	if len(k.Writes) != 0 {
		t.Errorf("refused bind wrote %q", k.Writes)
	}
	if err := h.Unbind("0000:00:03.0", vfio.BindOptions{}); !errors.Is(err, vfio.ErrActive) {
		t.Errorf("unbind of the active NIC: %v", err)
	}
	if err := h.Bind("0000:00:03.0", vfio.DriverVFIO, vfio.BindOptions{Force: true}); err != nil {
		t.Errorf("forced bind: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	_, h := pcitest.New(t, tree)
	for _, tc := range []struct {
		addr string
		err  error
		text string
	}{
		{"0000:05:00.1", vfio.ErrNotBound, "device 0000:05:00.1 not bound to vfio-pci (driver ixgbe)"},
		{"0000:08:00.1", vfio.ErrNotBound, "device 0000:08:00.1 not bound to vfio-pci (no driver)"},
		{"0000:05:00.0", vfio.ErrGroupNotViable, "IOMMU group not viable: IOMMU group 14: 0000:05:00.1 is bound to ixgbe"},
		{"0000:08:00.0", vfio.ErrNoVFIO, "VFIO not available"},
		{"0000:09:00.0", vfio.ErrNotFound, "device 0000:09:00.0 not found"},
		{"nonsense", vfio.ErrBadAddress, "bad PCI address"},
	} {
		_, err := h.Open(tc.addr)
		if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("Open(%s): %v\nwant %v containing %q", tc.addr, err, tc.err, tc.text)
		}
	}
}

func TestHugepages(t *testing.T) {
	h := vfio.Host{SysRoot: tree + "/sys", ProcRoot: tree + "/proc"}
	mounts, err := h.HugeMounts()
	if err != nil {
		t.Fatal(err)
	}
	want := []vfio.HugeMount{{"/dev/hugepages", 2 << 20}, {"/mnt/huge_1GB", 1 << 30}, {"/mnt/huge default", 2 << 20}}
	if !reflect.DeepEqual(mounts, want) {
		t.Errorf("mounts %+v, want %+v", mounts, want)
	}
	pools, err := h.HugePools()
	if err != nil {
		t.Fatal(err)
	}
	wantPools := []vfio.HugePool{{0, 2 << 20, 512, 512}, {0, 1 << 30, 0, 0}, {1, 2 << 20, 0, 0}, {1, 1 << 30, 2, 1}}
	if !reflect.DeepEqual(pools, wantPools) {
		t.Errorf("pools %+v, want %+v", pools, wantPools)
	}
	mem, _ := dataplane.ParseSocketMem("1024,1024")
	plan, err := h.PlanSocketMem(mem)
	wantPlan := []vfio.SocketMemPlan{{0, 1 << 30, 2 << 20}, {1, 1 << 30, 1 << 30}}
	if err != nil || !reflect.DeepEqual(plan, wantPlan) {
		t.Errorf("plan %+v, %v; want %+v", plan, err, wantPlan)
	}
	mem, _ = dataplane.ParseSocketMem("512,2048")
	if _, err := h.PlanSocketMem(mem); !errors.Is(err, vfio.ErrNoHugepages) || !strings.Contains(err.Error(), "2048 MB on NUMA node 1") || !strings.Contains(err.Error(), "1048576kB: 1 free of 2") {
		t.Errorf("too much on node 1: %v", err)
	}
	// A host with nothing reserved.
	empty := t.TempDir()
	os.MkdirAll(filepath.Join(empty, "kernel/mm/hugepages/hugepages-2048kB"), 0o755)
	os.WriteFile(filepath.Join(empty, "kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"), []byte("0\n"), 0o644)
	os.WriteFile(filepath.Join(empty, "kernel/mm/hugepages/hugepages-2048kB/free_hugepages"), []byte("0\n"), 0o644)
	if _, err := (vfio.Host{SysRoot: empty}).PlanSocketMem([]int{1024}); !errors.Is(err, vfio.ErrNoHugepages) || !strings.Contains(err.Error(), "none reserved") {
		t.Errorf("no hugepages: %v", err)
	}
}

// On the real host: pagemap gives physical addresses to root.
func TestPhysAddrRealHost(t *testing.T) {
	testenv.NeedRoot(t)
	mem, err := unix.Mmap(-1, 0, 2*os.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE|unix.MAP_LOCKED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	mem[0], mem[os.Getpagesize()] = 1, 1
	var h vfio.Host
	pa, err := h.PhysAddr(uintptr(unsafe.Pointer(&mem[100])))
	if err != nil {
		t.Fatal(err)
	}
	if pa == 0 || pa%uint64(os.Getpagesize()) != 100 {
		t.Errorf("physical address %#x of byte 100 of a page", pa)
	}
	if pa2, err := h.ContiguousPhysAddr(mem[100:200]); err != nil || pa2 != pa {
		t.Errorf("ContiguousPhysAddr of 100 bytes in one page: %#x, %v; want %#x", pa2, err, pa)
	}
}

// On the real host (no VFIO on the development machines): the error says
// what is missing instead of failing obscurely.
func TestOpenRealHost(t *testing.T) {
	var h vfio.Host
	c, err := h.OpenContainer()
	if err == nil {
		c.Close()
		t.Log("this host has VFIO: container opened and closed")
	} else if !errors.Is(err, vfio.ErrNoVFIO) || !strings.Contains(err.Error(), "/dev/vfio/vfio") {
		t.Errorf("OpenContainer: %v, want ErrNoVFIO naming /dev/vfio/vfio", err)
	}
	devs, err := h.Devices()
	if err != nil {
		t.Logf("no PCI sysfs here: %v", err)
		return
	}
	for _, d := range devs {
		if d.IsNetwork() && d.Driver != "" && d.Driver != vfio.DriverVFIO && d.Driver != vfio.DriverUIO {
			_, err := h.Open(d.Addr)
			if !errors.Is(err, vfio.ErrNotBound) || !strings.Contains(err.Error(), d.Driver) {
				t.Errorf("Open(%s) of a %s device: %v", d.Addr, d.Driver, err)
			}
		}
	}
}
