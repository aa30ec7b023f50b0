package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gvswitch/internal/testenv"
	"gvswitch/test/guest"
)

// Two QEMU guests on two vhost-user ports of a VLAN 300 access bridge in
// gvswitchd (issue 4's acceptance): they ping each other and run iperf3;
// ovs-vsctl shows the ports and their status; gvswitchd is killed and
// restarted on the same database while the guests run, and pings resume
// within 5 s; one guest is restarted and pings again. Once with
// dpdkvhostuserclient ports (QEMU server=on, as libvirt mode='server'),
// once with dpdkvhostuser ports (QEMU connecting to <rundir>/<port>).
func TestVhostUserGuests(t *testing.T) {
	testenv.Short(t)
	guest.Image(t)
	for _, mode := range []string{"dpdkvhostuserclient", "dpdkvhostuser"} {
		t.Run(mode, func(t *testing.T) { testVhostGuests(t, mode) })
	}
}

func testVhostGuests(t *testing.T, typ string) {
	dir := t.TempDir()
	ns := NewNetns(t, "vhq")
	d := StartDaemon(t, DaemonOptions{Dir: dir, Netns: ns})
	mustVsctl(t, d, "add-br", "br0", "--", "set", "Bridge", "br0", "datapath_type=netdev")
	client := typ == "dpdkvhostuserclient"
	var socks [2]string
	for i := range socks {
		name := fmt.Sprintf("vhu%d", i)
		if client {
			socks[i] = filepath.Join(dir, name+".sock")
			mustVsctl(t, d, "add-port", "br0", name, "tag=300", "--", "set", "Interface", name,
				"type=dpdkvhostuserclient", "options:vhost-server-path="+socks[i])
		} else {
			socks[i] = filepath.Join(d.Rundir, name)
			mustVsctl(t, d, "add-port", "br0", name, "tag=300", "--", "set", "Interface", name, "type=dpdkvhostuser")
		}
	}
	opts := func(i int) guest.Options {
		return guest.Options{Name: fmt.Sprintf("vm%d", i), Dir: dir, Socket: socks[i], Client: !client,
			MAC: fmt.Sprintf("52:54:00:00:03:%02x", i+1), IP: fmt.Sprintf("10.30.0.%d/24", i+1)}
	}
	vms := [2]*guest.VM{guest.Start(t, opts(0)), guest.Start(t, opts(1))}
	for _, vm := range vms {
		if err := vm.WaitReady(120 * time.Second); err != nil {
			t.Fatalf("%v\nqemu: %s\ngvswitchd log:\n%s", err, vm.Log(), d.Log())
		}
	}
	ping := func(vm *guest.VM, to string, within time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			out, rc, err := vm.Run("ping -c 1 -W 1 "+to, 10*time.Second)
			if err == nil && rc == 0 {
				return time.Since(start)
			}
			if time.Since(start) > within {
				t.Fatalf("ping %s: rc %d, %v: %s\ngvswitchd log:\n%s", to, rc, err, out, d.Log())
			}
		}
	}
	ping(vms[0], "10.30.0.2", 30*time.Second)
	out, rc, err := vms[1].Run("ping -c 5 -i 0.2 10.30.0.1", 20*time.Second)
	if err != nil || rc != 0 || !strings.Contains(out, "5 packets received") {
		t.Fatalf("ping: rc %d %v: %s", rc, err, out)
	}

	show := mustVsctl(t, d, "show")
	for _, want := range []string{`Port vhu0`, `tag: 300`, `type: ` + typ} {
		if !strings.Contains(show, want) {
			t.Errorf("ovs-vsctl show lacks %q:\n%s", want, show)
		}
	}
	waitStatus := func(name, want string) string {
		t.Helper()
		var got string
		deadline := time.Now().Add(15 * time.Second) // the status column is refreshed every few seconds
		for time.Now().Before(deadline) {
			got = mustVsctl(t, d, "get", "Interface", name, "status", "link_state")
			if strings.Contains(got, want) && strings.HasSuffix(got, "up\n") {
				return got
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Fatalf("Interface %s status/link_state: %q, want %q and up", name, got, want)
		return ""
	}
	mode := "mode=server"
	if client {
		mode = "mode=client"
	}
	st := waitStatus("vhu0", "status=connected")
	for _, want := range []string{mode, `num_of_vrings="2"`, `numa="0"`, `vring_0_size="256"`, `socket="` + socks[0] + `"`, `features="0x`} {
		if !strings.Contains(st, want) {
			t.Errorf("vhu0 status lacks %s: %s", want, st)
		}
	}
	// vhu1's row is refreshed on the switch's own period too: its
	// per-queue counters appear once it was seen connected (waiting for
	// vhu0 said nothing about vhu1's row).
	waitStatus("vhu1", "status=connected")
	deadline := time.Now().Add(15 * time.Second)
	for {
		list := mustVsctl(t, d, "list", "Interface", "vhu1")
		var missing []string
		for _, want := range []string{"type                : " + typ, "rx_packets=", "tx_packets=", "rx_q0_good_packets="} {
			if !strings.Contains(list, want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("list interface vhu1 lacks %q after 15 s:\n%s", missing, list)
			break
		}
		time.Sleep(250 * time.Millisecond)
	}

	out, rc, err = vms[0].Run("iperf3 -s -D -1", 10*time.Second)
	if err != nil || rc != 0 {
		t.Fatalf("iperf3 -s: %d %v %s", rc, err, out)
	}
	// -D returns before the server listens: retry while it refuses.
	for i := 0; ; i++ {
		out, rc, err = vms[1].Run("iperf3 -c 10.30.0.1 -t 3", 60*time.Second)
		if err == nil && rc == 0 && strings.Contains(out, "receiver") {
			break
		}
		if err != nil || !strings.Contains(out, "unable to connect") || i == 50 {
			t.Fatalf("iperf3: rc %d %v: %s", rc, err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("iperf3 guest to guest: %s", receiverLine(out))

	// Kill gvswitchd with the guests running and start it again on the
	// same database: the ports come back from their rows, the guests
	// reconnect, pings resume within 5 s.
	d.Kill()
	d = StartDaemon(t, DaemonOptions{Dir: dir, Netns: ns})
	took := ping(vms[0], "10.30.0.2", 5*time.Second)
	t.Logf("pings resumed %v after gvswitchd restarted", took.Round(time.Millisecond))

	// Stop and start guest 1: it connects again and pings.
	vms[1].Stop()
	vms[1] = guest.Start(t, opts(1))
	if err := vms[1].WaitReady(120 * time.Second); err != nil {
		t.Fatalf("%v\nqemu: %s", err, vms[1].Log())
	}
	ping(vms[1], "10.30.0.1", 30*time.Second)
}

func receiverLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "receiver") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}
