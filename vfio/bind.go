package vfio

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Userspace drivers a device can be handed to.
const (
	DriverVFIO = "vfio-pci"
	DriverUIO  = "uio_pci_generic"
)

// BindOptions modify Bind.
type BindOptions struct {
	// Force binds a device that carries a route (*Active*).
	Force bool
}

// Unbind detaches the device from its driver (the device's
// driver/unbind file) and clears driver_override so that a later probe
// picks the kernel driver again. An unbound device is left alone.
func (h Host) Unbind(addr string, opt BindOptions) error {
	d, err := h.Device(addr)
	if err != nil {
		return err
	}
	if d.Driver == "" {
		return nil
	}
	if err := h.refuseActive(d, opt); err != nil {
		return err
	}
	dir := h.sys("bus/pci/devices", d.Addr)
	if err := h.write(filepath.Join(dir, "driver/unbind"), d.Addr); err != nil {
		return fmt.Errorf("unbind %s from %s: %w", d.Addr, d.Driver, err)
	}
	if err := h.clearOverride(dir); err != nil {
		return fmt.Errorf("unbind %s: %w", d.Addr, err)
	}
	return nil
}

func (h Host) clearOverride(dir string) error {
	p := filepath.Join(dir, "driver_override")
	if _, err := os.Stat(p); err != nil {
		return nil // kernel without driver_override
	}
	// Writing a newline (an empty string) clears the override.
	return h.write(p, "\n")
}

func (h Host) refuseActive(d Device, opt BindOptions) error {
	if opt.Force {
		return nil
	}
	routed, err := h.RoutedInterfaces()
	if err != nil {
		return err
	}
	if d.Active(routed) {
		return fmt.Errorf("%s is %w: interface %s carries a route of this host; not modifying it without --force", d.Addr, ErrActive, strings.Join(d.Interfaces, ","))
	}
	return nil
}

// Bind hands the device to driver (vfio-pci, uio_pci_generic or a kernel
// driver): unbind from the current one, set driver_override so that only
// that driver may claim it, ask the PCI core to probe (drivers_probe), and
// check the result. A device carrying a route is refused unless forced.
func (h Host) Bind(addr, driver string, opt BindOptions) error {
	d, err := h.Device(addr)
	if err != nil {
		return err
	}
	if d.Driver == driver {
		return nil
	}
	if err := h.refuseActive(d, opt); err != nil {
		return err
	}
	if !h.ModuleLoaded(driver) {
		return fmt.Errorf("bind %s to %s: driver not loaded (modprobe %s)", d.Addr, driver, driver)
	}
	if (driver == DriverVFIO) && d.IOMMUGroup < 0 {
		return fmt.Errorf("bind %s to %s: %w (enable the IOMMU: intel_iommu=on iommu=pt, or use %s)", d.Addr, driver, ErrNoIOMMU, DriverUIO)
	}
	dir := h.sys("bus/pci/devices", d.Addr)
	if d.Driver != "" {
		if err := h.write(filepath.Join(dir, "driver/unbind"), d.Addr); err != nil {
			return fmt.Errorf("unbind %s from %s: %w", d.Addr, d.Driver, err)
		}
	}
	if err := h.write(filepath.Join(dir, "driver_override"), driver); err != nil {
		return fmt.Errorf("bind %s: driver_override: %w", d.Addr, err)
	}
	if err := h.write(h.sys("bus/pci/drivers_probe"), d.Addr); err != nil {
		return fmt.Errorf("bind %s to %s: drivers_probe: %w", d.Addr, driver, err)
	}
	// The probe is synchronous, but give udev-triggered work a moment.
	for i := 0; ; i++ {
		nd, err := h.Device(d.Addr)
		if err == nil && nd.Driver == driver {
			return nil
		}
		if i == 10 {
			got := nd.Driver
			if got == "" {
				got = "no driver"
			}
			return fmt.Errorf("bind %s to %s: %w: device has %s after probing", d.Addr, driver, ErrNotBound, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
