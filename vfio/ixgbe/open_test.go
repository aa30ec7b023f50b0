package ixgbe

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gvswitch/dataplane"
	"gvswitch/vfio"
	"gvswitch/vfio/pcitest"
)

// Open on a host tree without VFIO (the development machines) fails with
// the message the Interface error column shows.
func TestOpenErrorsOnFakeHost(t *testing.T) {
	h := vfio.Host{SysRoot: "../testdata/host/sys", ProcRoot: "../testdata/host/proc", DevRoot: t.TempDir()}
	for _, tc := range []struct {
		addr string
		err  error
		text string
	}{
		{"0000:08:00.0", vfio.ErrNoVFIO, "device 0000:08:00.0: VFIO not available"},
		{"0000:05:00.1", vfio.ErrNotBound, "device 0000:05:00.1 not bound to vfio-pci (driver ixgbe)"},
		{"0000:05:00.0", vfio.ErrGroupNotViable, "0000:05:00.1 is bound to ixgbe"},
		{"0000:00:03.0", ErrUnsupported, "not an 82599/X540/X550"},
		{"0000:0a:00.0", vfio.ErrNotFound, "device 0000:0a:00.0 not found"},
		{"0000:08:00.0,n_rxq=2", vfio.ErrBadAddress, "bad PCI address"},
	} {
		p, err := OpenHost(h, tc.addr, Options{})
		if err == nil {
			p.Close()
		}
		if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("Open(%s): %v\nwant %v containing %q", tc.addr, err, tc.err, tc.text)
		}
	}
}

// The uio_pci_generic path on a fake host: the device node, the sysfs
// config file and resource0 (a plain file standing in for BAR0) are
// really opened and mapped. The BAR is inert memory, so the port cannot
// start; the test checks which clear error stops it and that bus
// mastering is off again afterwards.
func TestOpenUIOOnFakeHost(t *testing.T) {
	_, h := pcitest.New(t, "../testdata/host")
	const addr = "0000:08:00.1"
	if err := h.Bind(addr, vfio.DriverUIO, vfio.BindOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(h.SysRoot, "bus/pci/devices", addr)
	if err := os.WriteFile(filepath.Join(dir, "resource0"), make([]byte, bar0MinSize), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), make([]byte, 256), 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(h.DevRoot, 0o755)
	os.WriteFile(filepath.Join(h.DevRoot, "uio0"), nil, 0o644)
	start := time.Now()
	p, err := OpenHost(h, addr, Options{RxDesc: 64, TxDesc: 64, PoolSize: 256, ResetTimeout: 100 * time.Millisecond})
	if err == nil {
		p.Close()
		t.Fatal("a port started on inert memory")
	}
	switch {
	case errors.Is(err, dataplane.ErrNoHugepages):
		// No hugepages reserved (the development VMs): uio needs them.
	case errors.Is(err, vfio.ErrPagemap), errors.Is(err, ErrTimeout):
		// Hugepages exist: physical addresses or the reset stop it.
	default:
		t.Fatalf("OpenHost over uio: %v", err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name the device", err)
	}
	cfg, _ := os.ReadFile(filepath.Join(dir, "config"))
	if cfg[4]&4 != 0 {
		t.Errorf("bus mastering left on after a failed open (command %#x)", cfg[4])
	}
	if errors.Is(err, ErrTimeout) && !strings.Contains(err.Error(), "after 100ms") {
		t.Errorf("error %q does not come from the 100 ms reset timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a failed open took %v", d)
	}
	t.Logf("%v", err)
}
