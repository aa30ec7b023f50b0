package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gvswitch/internal/testenv"
	"gvswitch/vfio/pcitest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// devbind runs the command against a fresh copy of the fake host.
type devbind struct {
	t    *testing.T
	k    *pcitest.Kernel
	base []string
}

func newDevbind(t *testing.T) *devbind {
	k, h := pcitest.New(t, "../../vfio/testdata/host")
	return &devbind{t, k, []string{"--sysfs-root=" + h.SysRoot, "--proc-root=" + h.ProcRoot,
		"--pci-ids=testdata/pci.ids", "--modules-alias=testdata/modules.alias"}}
}

func (d *devbind) run(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	rc := run(append(append([]string{}, d.base...), args...), &out, &errb, d.k.Write)
	return out.String(), errb.String(), rc
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.WriteFile(path, []byte(got), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestStatusGolden(t *testing.T) {
	d := newDevbind(t)
	out, errs, rc := d.run("--status")
	if rc != 0 || errs != "" {
		t.Fatalf("rc %d, stderr %q", rc, errs)
	}
	golden(t, "status.golden", out)
	// The line SCENARIOS.md §1 shows.
	if !strings.Contains(out, "\n0000:08:00.0 'Ethernet Controller 10-Gigabit X540-AT2 1528' drv=vfio-pci unused=ixgbe,uio_pci_generic\n") {
		t.Errorf("X540 line missing from:\n%s", out)
	}
}

func TestBindByInterfaceAndAddress(t *testing.T) {
	d := newDevbind(t)
	out, errs, rc := d.run("--bind=vfio-pci", "ens2f1", "08:00.1", "--status")
	if rc != 0 || errs != "" {
		t.Fatalf("rc %d, stderr %q", rc, errs)
	}
	golden(t, "status-after-bind.golden", out)
	out, errs, rc = d.run("-u", "0000:08:00.0", "0000:05:00.1", "-s")
	if rc != 0 || errs != "" {
		t.Fatalf("unbind: rc %d, stderr %q", rc, errs)
	}
	golden(t, "status-after-unbind.golden", out)
	if _, errs, rc = d.run("-b", "ixgbe", "0000:05:00.1"); rc != 0 {
		t.Fatalf("bind back to ixgbe: rc %d %s", rc, errs)
	}
	if out, _, _ = d.run("--status"); !strings.Contains(out, "if=ens2f1 drv=ixgbe") {
		t.Errorf("ens2f1 not back on ixgbe:\n%s", out)
	}
}

func TestBindActiveRefused(t *testing.T) {
	d := newDevbind(t)
	before, _, _ := d.run("--status")
	_, errs, rc := d.run("--bind=vfio-pci", "ens3")
	if rc != 1 || !strings.Contains(errs, "0000:00:03.0 is *Active*: interface ens3 carries a route of this host") || !strings.Contains(errs, "--force") {
		t.Errorf("binding the active NIC: rc %d, stderr %q", rc, errs)
	}
	if len(d.k.Writes) != 0 {
		t.Errorf("refused bind wrote %q", d.k.Writes)
	}
	if after, _, _ := d.run("--status"); after != before {
		t.Errorf("status changed by a refused bind")
	}
	if _, errs, rc := d.run("--bind=vfio-pci", "--force", "ens3"); rc != 0 {
		t.Errorf("forced bind: rc %d %s", rc, errs)
	}
}

func TestUsageErrors(t *testing.T) {
	d := newDevbind(t)
	for _, args := range [][]string{{}, {"--bind=vfio-pci"}, {"--bind"}, {"ens3"}, {"-b", "vfio-pci", "-u", "ens3"}, {"--frobnicate"}} {
		if _, errs, rc := d.run(args...); rc != 2 || !strings.Contains(errs, "Usage") {
			t.Errorf("%q: rc %d, stderr %q", args, rc, errs)
		}
	}
	if out, _, rc := d.run("--status-dev", "net"); rc != 0 || !strings.Contains(out, "Network devices using DPDK-compatible driver") {
		t.Errorf("--status-dev net: rc %d\n%s", rc, out)
	}
	if _, errs, rc := d.run("--status-dev=crypto"); rc != 2 || !strings.Contains(errs, "only net") {
		t.Errorf("--status-dev=crypto: rc %d, stderr %q", rc, errs)
	}
	if _, errs, rc := d.run("-b", "vfio-pci", "eth9"); rc != 1 || !strings.Contains(errs, `"eth9": no PCI device or network interface`) {
		t.Errorf("unknown device: rc %d, stderr %q", rc, errs)
	}
}

// On the real host our --status must equal dpdk-devbind.py's network
// section (same sysfs, same pci.ids, same routing table).
func TestStatusMatchesDpdkDevbind(t *testing.T) {
	paths := testenv.NeedCommand(t, "dpdk-devbind.py", "lspci")
	if paths == nil {
		return
	}
	want, err := exec.Command(paths[0], "--status-dev", "net").Output()
	if err != nil {
		t.Fatalf("dpdk-devbind.py: %v", err)
	}
	var out, errb bytes.Buffer
	if rc := run([]string{"--status"}, &out, &errb, nil); rc != 0 {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
	if out.String() != string(want) {
		t.Errorf("gvs-devbind --status:\n%q\ndpdk-devbind.py --status-dev net:\n%q", out.String(), want)
	}
}
