package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"gvswitch/vfio"
	"gvswitch/vfio/ixgbe"
)

// userspaceDrivers are the drivers dpdk-devbind.py calls DPDK-compatible,
// in its order; the loaded ones are offered in "unused=".
var userspaceDrivers = []string{"igb_uio", vfio.DriverVFIO, vfio.DriverUIO}

// showStatus prints the network devices in dpdk-devbind.py's --status
// layout: a section per kind of binding, sorted lines of
// "<addr> '<name> <device id>' [if=<ifaces> ]drv=<driver> unused=<modules> [*Active*]".
func showStatus(w io.Writer, c config) error {
	devs, err := c.host.Devices()
	if err != nil {
		return err
	}
	routed, err := c.host.RoutedInterfaces()
	if err != nil {
		return err
	}
	names := loadNames(c.pciIDs)
	aliases := loadAliases(c.modAlias)
	var loaded []string
	for _, d := range userspaceDrivers {
		if c.host.ModuleLoaded(d) {
			loaded = append(loaded, d)
		}
	}
	var dpdk, kernel, none []string
	for _, d := range devs {
		if !d.IsNetwork() {
			continue
		}
		// lspci -k prints a Module: line per match and dpdk-devbind.py
		// keeps the last one.
		var modules []string
		if m := aliases.modules(d); len(m) > 0 {
			modules = m[len(m)-1:]
		}
		for _, l := range loaded {
			if !contains(modules, l) {
				modules = append(modules, l)
			}
		}
		modules = remove(modules, d.Driver)
		head := fmt.Sprintf("%s '%s %04x'", d.Addr, names.device(d.Vendor, d.DeviceID), d.DeviceID)
		unused := strings.Join(modules, ",")
		switch {
		case d.Driver == "":
			none = append(none, fmt.Sprintf("%s unused=%s", head, unused))
		case contains(userspaceDrivers, d.Driver):
			dpdk = append(dpdk, fmt.Sprintf("%s drv=%s unused=%s", head, d.Driver, unused))
		default:
			active := ""
			if d.Active(routed) {
				active = "*Active*"
			}
			kernel = append(kernel, fmt.Sprintf("%s if=%s drv=%s unused=%s %s", head, strings.Join(d.Interfaces, ","), d.Driver, unused, active))
		}
	}
	bw := bufio.NewWriter(w)
	if len(dpdk)+len(kernel)+len(none) == 0 {
		msg := "No 'Network' devices detected"
		fmt.Fprintf(bw, "\n%s\n%s\n", msg, strings.Repeat("=", len(msg)))
		return bw.Flush()
	}
	section := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		sort.Strings(lines)
		fmt.Fprintf(bw, "\n%s\n%s\n%s\n", title, strings.Repeat("=", len(title)), strings.Join(lines, "\n"))
	}
	section("Network devices using DPDK-compatible driver", dpdk)
	section("Network devices using kernel driver", kernel)
	section("Other Network devices", none)
	return bw.Flush()
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func remove(list []string, s string) []string {
	out := list[:0]
	for _, l := range list {
		if l != s {
			out = append(out, l)
		}
	}
	return out
}

// pciNames is the part of pci.ids we need: vendor → device → name.
type pciNames map[uint16]map[uint16]string

// loadNames reads pci.ids (the given file, or pciutils' or hwdata's);
// without one, the built-in names of the devices gvswitch drives.
func loadNames(file string) pciNames {
	files := []string{"/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids", "/usr/share/pci.ids"}
	if file != "" {
		files = []string{file}
	}
	for _, f := range files {
		if fh, err := os.Open(f); err == nil {
			n := parsePCIIDs(fh)
			fh.Close()
			return n
		}
	}
	return nil
}

// parsePCIIDs reads the pci.ids format: "vvvv  Vendor" lines, then
// "\tdddd  Device" lines; subsystem and class sections are skipped.
func parsePCIIDs(r io.Reader) pciNames {
	n := pciNames{}
	var cur map[uint16]string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case l == "" || l[0] == '#':
			continue
		case strings.HasPrefix(l, "C "):
			return n // device classes follow the vendors
		case strings.HasPrefix(l, "\t\t"):
			continue
		case l[0] == '\t':
			if cur == nil || len(l) < 7 {
				continue
			}
			if id, err := strconv.ParseUint(l[1:5], 16, 16); err == nil {
				cur[uint16(id)] = strings.TrimSpace(l[5:])
			}
		default:
			cur = nil
			if len(l) < 6 {
				continue
			}
			if id, err := strconv.ParseUint(l[:4], 16, 16); err == nil {
				cur = map[uint16]string{}
				n[uint16(id)] = cur
			}
		}
	}
	return n
}

// device is the device's name as lspci prints it: from pci.ids, else our
// built-in table, else "Device".
func (n pciNames) device(vendor, device uint16) string {
	if s, ok := n[vendor][device]; ok {
		return s
	}
	if vendor == ixgbe.VendorIntel {
		if s := ixgbe.DeviceName(device); s != "" {
			return s
		}
	}
	if vendor == 0x1af4 && (device == 0x1000 || device == 0x1041) {
		return map[uint16]string{0x1000: "Virtio network device", 0x1041: "Virtio 1.0 network device"}[device]
	}
	return "Device"
}

type alias struct{ pattern, module string }

// aliases are the pci: lines of modules.alias, which lspci -k uses to
// name the kernel modules that can drive a device.
type aliases []alias

func loadAliases(file string) aliases {
	if file == "" {
		var u unix.Utsname
		if unix.Uname(&u) != nil {
			return nil
		}
		file = "/lib/modules/" + unix.ByteSliceToString(u.Release[:]) + "/modules.alias"
	}
	f, err := os.Open(file)
	if err != nil {
		return nil // like lspci without kmod resources: no modules known
	}
	defer f.Close()
	var out aliases
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 3 && fs[0] == "alias" && strings.HasPrefix(fs[1], "pci:") {
			out = append(out, alias{fs[1], fs[2]})
		}
	}
	return out
}

// modules are the kernel modules whose alias matches the device's
// modalias (pci:vVVVVVVVVdDDDDDDDDsvSSSSSSSSsdTTTTTTTTbcCCscSSiII).
func (a aliases) modules(d vfio.Device) []string {
	ma := fmt.Sprintf("pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X",
		d.Vendor, d.DeviceID, d.SubVendor, d.SubDevice, d.Class>>16, d.Class>>8&0xFF, d.Class&0xFF)
	var out []string
	for _, x := range a {
		if ok, _ := path.Match(x.pattern, ma); ok && !contains(out, x.module) {
			out = append(out, x.module)
		}
	}
	return out
}
