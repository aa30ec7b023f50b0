package main

import (
	"strings"
	"testing"
)

func FuzzParsePCIIDs(f *testing.F) {
	f.Add("8086  Intel Corporation\n\t1528  Ethernet Controller 10-Gigabit X540-AT2\n\t\t8086 0001  Ethernet Converged Network Adapter X540-T2\n")
	f.Add("\t1528  orphan device\nzzzz  bad vendor\n\tzz\n")
	f.Add("C 02  Network controller\n\t00  Ethernet controller\n")
	f.Fuzz(func(t *testing.T, s string) {
		n := parsePCIIDs(strings.NewReader(s))
		for _, devs := range n {
			for _, name := range devs {
				if strings.Contains(name, "\n") {
					t.Fatalf("name %q", name)
				}
			}
		}
	})
}

func TestParsePCIIDsSkipsSubsystemsAndClasses(t *testing.T) {
	n := parsePCIIDs(strings.NewReader("8086  Intel Corporation\n\t1528  Ethernet Controller 10-Gigabit X540-AT2\n\t\t8086 0001  Subsystem name\n\t10fb  82599ES\nC 02  Network controller\n\t00  Ethernet controller\n"))
	if n.device(0x8086, 0x1528) != "Ethernet Controller 10-Gigabit X540-AT2" || n.device(0x8086, 0x10fb) != "82599ES" {
		t.Errorf("names %v", n)
	}
	if len(n) != 1 || len(n[0x8086]) != 2 {
		t.Errorf("class section or subsystems parsed as devices: %v", n)
	}
	var none pciNames
	if none.device(0x8086, 0x1528) != "Ethernet Controller 10-Gigabit X540-AT2" || none.device(0x1234, 0x1) != "Device" {
		t.Errorf("built-in names: %q %q", none.device(0x8086, 0x1528), none.device(0x1234, 1))
	}
}
