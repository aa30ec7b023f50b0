package vfio

import (
	"golang.org/x/sys/unix"
	"strings"
	"testing"
	"unsafe"
)

// The ioctl argument structs must have vfio.h's sizes.
func TestVFIOStructLayout(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  uintptr
		want uintptr
	}{
		{"vfio_group_status", unsafe.Sizeof(groupStatus{}), 8},
		{"vfio_device_info (v1)", unsafe.Sizeof(deviceInfo{}), 16},
		{"vfio_region_info", unsafe.Sizeof(regionInfo{}), 32},
		{"vfio_iommu_type1_dma_map", unsafe.Sizeof(dmaMap{}), 32},
		{"vfio_iommu_type1_dma_unmap", unsafe.Sizeof(dmaUnmap{}), 24},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %d bytes, want %d", tc.name, tc.got, tc.want)
		}
	}
	if ioctlGetAPIVersion != 0x3b64 || ioctlIOMMUMapDMA != 0x3b71 || ioctlGroupGetDeviceFD != 0x3b6a {
		t.Errorf("ioctl numbers %#x %#x %#x", ioctlGetAPIVersion, ioctlIOMMUMapDMA, ioctlGroupGetDeviceFD)
	}
}

func TestEntryPhys(t *testing.T) {
	if pa, err := entryPhys(1<<63|0x1234, 0x7f0000000123, 4096); err != nil || pa != 0x1234123 {
		t.Errorf("present entry: %#x %v", pa, err)
	}
	if _, err := entryPhys(1<<63, 0x1000, 4096); err == nil || !strings.Contains(err.Error(), "needs root") {
		t.Errorf("zero PFN: %v", err)
	}
	if _, err := entryPhys(0x1234, 0x1000, 4096); err == nil || !strings.Contains(err.Error(), "not present") {
		t.Errorf("absent page: %v", err)
	}
}

func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"0000:08:00.0", "08:00.1", "ffff:ff:1f.7", "", "::.", "0000:08:00.0.0", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddr(s)
		if err != nil {
			return
		}
		// A normalised address is a fixed point.
		if b, err := ParseAddr(a); err != nil || b != a || len(a) != 12 {
			t.Fatalf("ParseAddr(%q) = %q, re-parsed %q %v", s, a, b, err)
		}
	})
}

func FuzzParseRoutes(f *testing.F) {
	f.Add("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\nens3\t00000000\t0202000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n")
	f.Add("eth0 0000FEA9 0 1 0 0 0 0000FFFF 0 0 0\n")
	f.Add("eth0 zz 0 1 0 0 0 0 0 0 0\n")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseRoutes(strings.NewReader(s))
		if err == nil {
			for k := range m {
				if k == "" || strings.ContainsAny(k, " \t\n") {
					t.Fatalf("interface name %q", k)
				}
			}
		}
	})
}

func FuzzParseHugeMounts(f *testing.F) {
	f.Add("hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n")
	f.Add("none /mnt/huge\\040x hugetlbfs rw,pagesize=1024M 0 0\nnone /a hugetlbfs pagesize=99999999999999G 0 0\n")
	f.Add("x /y hugetlbfs pagesize=\\ 0 0\n")
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := parseHugeMounts(strings.NewReader(s), 2<<20)
		if err == nil {
			for _, m := range ms {
				if m.PageSize <= 0 {
					t.Fatalf("mount %+v", m)
				}
			}
		}
	})
}

func TestBindToNode(t *testing.T) {
	mem, err := unix.Mmap(-1, 0, 1<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	// Node 0 exists on every Linux host.
	if err := BindToNode(mem, 0); err != nil {
		t.Errorf("node 0: %v", err)
	}
	if err := BindToNode(mem, 63); err == nil {
		t.Errorf("node 63 accepted on a host without it")
	}
}
