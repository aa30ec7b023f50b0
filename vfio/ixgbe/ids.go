package ixgbe

// VendorIntel is Intel's PCI vendor ID.
const VendorIntel = 0x8086

// Family is a generation of the controller; the families differ in link
// setup (82599: AUTOC serdes autonegotiation; X540/X550: internal copper
// PHY run by firmware) but share the queue, filter and statistics
// registers this driver programs.
type Family int

// The controller families this driver serves.
const (
	Family82599 Family = iota + 1
	FamilyX540
	FamilyX550
)

func (f Family) String() string {
	switch f {
	case Family82599:
		return "82599"
	case FamilyX540:
		return "X540"
	case FamilyX550:
		return "X550"
	}
	return "unknown"
}

// deviceIDs maps the PCI device IDs the driver accepts to their family and
// their name in the PCI ID database (pci.ids), for hosts without it.
var deviceIDs = map[uint16]struct {
	family Family
	name   string
}{
	0x10f7: {Family82599, "10 Gigabit BR KX4 Dual Port Network Connection"},
	0x10f8: {Family82599, "82599 10 Gigabit Dual Port Backplane Connection"},
	0x10f9: {Family82599, "82599 10 Gigabit Dual Port Network Connection"},
	0x10fb: {Family82599, "82599ES 10-Gigabit SFI/SFP+ Network Connection"},
	0x10fc: {Family82599, "82599 10 Gigabit Dual Port Network Connection"},
	0x1514: {Family82599, "Ethernet X520 10GbE Dual Port KX4 Mezz"},
	0x1517: {Family82599, "82599ES 10 Gigabit Network Connection"},
	0x151c: {Family82599, "82599 10 Gigabit TN Network Connection"},
	0x1529: {Family82599, "82599 10 Gigabit Dual Port Network Connection with FCoE"},
	0x152a: {Family82599, "82599 10 Gigabit Dual Port Backplane Connection with FCoE"},
	0x154d: {Family82599, "Ethernet 10G 2P X520 Adapter"},
	0x1557: {Family82599, "82599 10 Gigabit Network Connection"},
	0x1558: {Family82599, "Ethernet Converged Network Adapter X520-Q1"},
	0x1528: {FamilyX540, "Ethernet Controller 10-Gigabit X540-AT2"},
	0x1560: {FamilyX540, "Ethernet Controller X540"},
	0x1563: {FamilyX550, "Ethernet Controller X550"},
	0x15d1: {FamilyX550, "Ethernet Controller 10G X550T"},
}

// Supported reports whether the driver serves vendor:device, and its family.
func Supported(vendor, device uint16) (Family, bool) {
	if vendor != VendorIntel {
		return 0, false
	}
	d, ok := deviceIDs[device]
	return d.family, ok
}

// DeviceName is the marketing name of a supported device ID, or "".
func DeviceName(device uint16) string { return deviceIDs[device].name }
