// Package pcitest is a fake kernel for tests of PCI binding: it copies a
// fake sysfs/proc tree (like vfio/testdata/host) to a temporary directory
// and acts on the writes that the kernel acts on (driver/unbind,
// driver_override, drivers_probe) the way the PCI core does, so that Bind
// and Unbind can be tested without a kernel.
package pcitest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gvswitch/vfio"
)

// Kernel is the fake kernel over one copied tree.
type Kernel struct {
	Root string
	sys  string
	// Writes records every sysfs write, "path=value", path relative to
	// the sysfs root.
	Writes []string
	// ifaces remembers the interfaces of devices unbound from their
	// kernel driver, to give them back on a rebind.
	ifaces map[string][]string
}

// New copies tree into a temporary directory and returns the kernel and
// the vfio.Host that uses it.
func New(t testing.TB, tree string) (*Kernel, vfio.Host) {
	t.Helper()
	root := t.TempDir()
	if err := copyTree(tree, root); err != nil {
		t.Fatalf("pcitest: copy %s: %v", tree, err)
	}
	k := &Kernel{Root: root, sys: filepath.Join(root, "sys"), ifaces: map[string][]string{}}
	return k, vfio.Host{SysRoot: k.sys, ProcRoot: filepath.Join(root, "proc"), DevRoot: filepath.Join(root, "dev"), WriteFile: k.Write}
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, out)
		case d.IsDir():
			return os.MkdirAll(out, 0o755)
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(out, b, 0o644)
		}
	})
}

// Write is vfio.Host.WriteFile for the fake tree.
func (k *Kernel) Write(path string, data []byte) error {
	rel, err := filepath.Rel(k.sys, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("pcitest: write outside sysfs: %s", path)
	}
	val := strings.TrimSpace(string(data))
	k.Writes = append(k.Writes, rel+"="+val)
	parts := strings.Split(rel, string(filepath.Separator))
	switch {
	case rel == "bus/pci/drivers_probe":
		return k.probe(val)
	case len(parts) == 6 && parts[0] == "bus" && parts[3] != "" && parts[4] == "driver" && parts[5] == "unbind":
		return k.unbind(parts[3], val)
	case len(parts) == 5 && parts[4] == "driver_override":
		return os.WriteFile(path, []byte(val), 0o644)
	}
	if _, err := os.Stat(path); err != nil {
		return err // sysfs does not create files
	}
	return os.WriteFile(path, data, 0o644)
}

func (k *Kernel) dev(addr string) string { return filepath.Join(k.sys, "bus/pci/devices", addr) }

func (k *Kernel) unbind(addr, val string) error {
	if val != addr {
		return fmt.Errorf("pcitest: unbind %s: wrote %q: no such device", addr, val)
	}
	dir := k.dev(addr)
	if _, err := os.Readlink(filepath.Join(dir, "driver")); err != nil {
		return fmt.Errorf("pcitest: unbind %s: not bound", addr)
	}
	os.Remove(filepath.Join(dir, "driver"))
	// The kernel driver's net devices go away with it.
	if ents, err := os.ReadDir(filepath.Join(dir, "net")); err == nil {
		for _, e := range ents {
			k.ifaces[addr] = append(k.ifaces[addr], e.Name())
		}
		os.RemoveAll(filepath.Join(dir, "net"))
	}
	os.RemoveAll(filepath.Join(dir, "uio"))
	return nil
}

// probe binds the device to its driver_override driver; without an
// override, to the kernel driver it had (ixgbe for Intel ports).
func (k *Kernel) probe(addr string) error {
	dir := k.dev(addr)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("pcitest: drivers_probe %s: no such device", addr)
	}
	if _, err := os.Readlink(filepath.Join(dir, "driver")); err == nil {
		return nil // already bound: probing does nothing
	}
	b, _ := os.ReadFile(filepath.Join(dir, "driver_override"))
	drv := strings.TrimSpace(string(b))
	if drv == "" {
		drv = "ixgbe"
	}
	if _, err := os.Stat(filepath.Join(k.sys, "bus/pci/drivers", drv)); err != nil {
		return nil // no such driver loaded: the device stays unbound
	}
	if err := os.Symlink("../../drivers/"+drv, filepath.Join(dir, "driver")); err != nil {
		return err
	}
	switch drv {
	case vfio.DriverUIO:
		return os.MkdirAll(filepath.Join(dir, "uio/uio0"), 0o755)
	case vfio.DriverVFIO:
	default:
		for _, i := range k.ifaces[addr] {
			os.MkdirAll(filepath.Join(dir, "net", i), 0o755)
		}
		delete(k.ifaces, addr)
	}
	return nil
}
