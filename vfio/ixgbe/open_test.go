package ixgbe

import (
	"errors"
	"strings"
	"testing"

	"gvswitch/vfio"
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
