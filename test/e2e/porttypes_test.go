package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The Interface types of an OVS-DPDK host as the database sees them with
// no guest and no NIC (reference/ovs-dpdk/03 and 07d): a vhost-user
// server port listens in the run directory and is down, a client port
// waits for its socket, a dpdk port without a usable device gets ofport
// -1 and an error; none of them disturbs the others.
func TestDPDKPortTypesWithoutPeers(t *testing.T) {
	ns := NewNetns(t, "types")
	d := StartDaemon(t, DaemonOptions{Netns: ns})
	mustVsctl(t, d, "add-br", "br0", "--", "set", "Bridge", "br0", "datapath_type=netdev")
	mustVsctl(t, d, "add-port", "br0", "vhs0", "--", "set", "Interface", "vhs0", "type=dpdkvhostuser")
	sock := filepath.Join(t.TempDir(), "vhu0.sock")
	mustVsctl(t, d, "add-port", "br0", "vhu0", "tag=300", "--", "set", "Interface", "vhu0", "type=dpdkvhostuserclient", "options:vhost-server-path="+sock)

	if fi, err := os.Stat(filepath.Join(d.Rundir, "vhs0")); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("vhs0 socket in the run directory: %v", err)
	}
	if got := mustVsctl(t, d, "get", "Interface", "vhs0", "ofport", "link_state"); got != "1\ndown\n" {
		t.Errorf("vhs0 ofport/link_state: %q", got)
	}
	if got := mustVsctl(t, d, "get", "Interface", "vhu0", "ofport", "link_state"); got != "2\ndown\n" {
		t.Errorf("vhu0 ofport/link_state: %q", got)
	}

	// dpdk without devargs, and with the address of a device that is
	// not there: Open vSwitch's first words, ofport -1.
	r := d.Vsctl(t, "--timeout=5", "add-port", "br0", "dpdk0", "--", "set", "Interface", "dpdk0", "type=dpdk")
	if r.Code != 0 || !strings.Contains(r.Stderr, "Error detected while setting up 'dpdk0': 'dpdk0' is missing 'options:dpdk-devargs'.") {
		t.Errorf("dpdk0 without devargs: %v", r)
	}
	r = d.Vsctl(t, "--timeout=5", "set", "Interface", "dpdk0", "options:dpdk-devargs=0000:08:00.0")
	if r.Code != 0 {
		t.Errorf("set devargs: %v", r)
	}
	got := mustVsctl(t, d, "get", "Interface", "dpdk0", "ofport", "error")
	if !strings.HasPrefix(got, "-1\n\"Error attaching device '0000:08:00.0' to DPDK") {
		t.Errorf("dpdk0: %q", got)
	}
	// The vhost ports kept their numbers through all this.
	if got := mustVsctl(t, d, "get", "Interface", "vhs0", "ofport"); got != "1\n" {
		t.Errorf("vhs0 ofport after dpdk0 changes: %q", got)
	}
	dpif := d.Appctl(t, "dpif/show").Stdout
	for _, want := range []string{"    vhs0 1/", ": (dpdkvhostuser: configured_rx_queues=1, configured_tx_queues=1, mtu=", "    vhu0 2/"} {
		if !strings.Contains(dpif, want) {
			t.Errorf("dpif/show lacks %q:\n%s", want, dpif)
		}
	}
	if strings.Contains(dpif, "dpdk0") {
		t.Errorf("dpif/show lists the failed dpdk0:\n%s", dpif)
	}
	// A new vhost-server-path applies in place: same port (same
	// datapath number), new socket.
	odp := regexp.MustCompile(`    vhu0 2/\d+:`).FindString(dpif)
	sock2 := filepath.Join(filepath.Dir(sock), "vhu0-new.sock")
	mustVsctl(t, d, "set", "Interface", "vhu0", "options:vhost-server-path="+sock2)
	dpif = d.Appctl(t, "dpif/show").Stdout
	if odp == "" || !strings.Contains(dpif, odp) {
		t.Errorf("vhu0 recreated by a vhost-server-path change (was %q):\n%s", odp, dpif)
	}
	if !strings.Contains(d.Log(), "socket changed from '"+sock+"' to '"+sock2+"'") {
		t.Errorf("no socket change in the log:\n%s", d.Log())
	}
	// So does options:tx-retries-max (OVS-DPDK applies it without a
	// reconnect).
	mustVsctl(t, d, "set", "Interface", "vhu0", "options:tx-retries-max=0")
	if dpif = d.Appctl(t, "dpif/show").Stdout; !strings.Contains(dpif, odp) {
		t.Errorf("vhu0 recreated by a tx-retries-max change (was %q):\n%s", odp, dpif)
	}
	// Deleting the server port removes its socket.
	mustVsctl(t, d, "del-port", "vhs0")
	if _, err := os.Stat(filepath.Join(d.Rundir, "vhs0")); !os.IsNotExist(err) {
		t.Errorf("vhs0 socket left after del-port: %v", err)
	}
}
