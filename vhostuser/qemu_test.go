package vhostuser_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gvswitch/internal/testenv"
	"gvswitch/test/guest"
	"gvswitch/vhostuser"
)

// TestQEMUGuestsPing boots two Linux guests whose virtio-net devices are
// two dpdkvhostuserclient ports joined by a forwarder, and checks that they
// ping each other, that traffic resumes after the switch side is closed and
// re-created (a switch restart) without touching the guests, and after one
// guest is restarted.
func TestQEMUGuestsPing(t *testing.T) {
	testenv.Short(t)
	dir := t.TempDir()
	pool := newPool(t)
	var logs logBuf
	socks := [2]string{filepath.Join(dir, "vm0.sock"), filepath.Join(dir, "vm1.sock")}
	opts := func(i int) guest.Options {
		return guest.Options{Name: fmt.Sprintf("vm%d", i), Dir: dir, Socket: socks[i],
			MAC: fmt.Sprintf("52:54:00:00:00:%02x", i+1), IP: fmt.Sprintf("10.99.0.%d/24", i+1)}
	}
	vms := [2]*guest.VM{guest.Start(t, opts(0)), guest.Start(t, opts(1))}
	var ports [2]*vhostuser.Port
	startSwitch := func() func() {
		for i := range ports {
			p, err := vhostuser.NewClient(fmt.Sprintf("vhu%d", i), socks[i], vhostuser.Options{Pool: pool, Logger: logs.logger()})
			if err != nil {
				t.Fatal(err)
			}
			ports[i] = p
		}
		stop := forward(ports[0], ports[1])
		return func() {
			stop()
			ports[0].Close()
			ports[1].Close()
		}
	}
	stopSwitch := startSwitch()
	defer func() { stopSwitch() }()
	for _, vm := range vms {
		if err := vm.WaitReady(90 * time.Second); err != nil {
			t.Fatalf("%v\nqemu: %s\nswitch: %s", err, vm.Log(), logs.String())
		}
	}
	ping := func(vm *guest.VM, to string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			out, rc, err := vm.Run("ping -c 1 -W 1 "+to, 10*time.Second)
			if err == nil && rc == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("ping %s: rc %d, %v: %s\nswitch log: %s", to, rc, err, out, logs.String())
			}
		}
	}
	ping(vms[0], "10.99.0.2", 30*time.Second)
	out, rc, err := vms[1].Run("ping -c 5 -i 0.2 10.99.0.1", 20*time.Second)
	if err != nil || rc != 0 || !strings.Contains(out, "5 packets received") {
		t.Fatalf("ping: rc %d %v: %s", rc, err, out)
	}
	t.Logf("guest ping: %s", lastLine(out))
	if ports[0].Stats().RxPackets == 0 || ports[1].Stats().TxPackets == 0 {
		t.Errorf("port counters did not move: %+v", ports[0].Stats())
	}
	if st := ports[0].Status(); st["status"] != "connected" || st["num_of_vrings"] != "2" {
		t.Errorf("status %v", st)
	}

	// Restart the switch side: the guests keep running, QEMU waits for
	// the reconnection, pings resume within 5 s.
	stopSwitch()
	stopSwitch = startSwitch()
	start := time.Now()
	ping(vms[0], "10.99.0.2", 5*time.Second)
	t.Logf("pings resumed %v after the switch restart", time.Since(start).Round(time.Millisecond))

	// Restart guest 1.
	vms[1].Stop()
	vms[1] = guest.Start(t, opts(1))
	if err := vms[1].WaitReady(90 * time.Second); err != nil {
		t.Fatal(err)
	}
	ping(vms[1], "10.99.0.1", 30*time.Second)

	if testenv.RequireAll() || testing.Verbose() {
		// iperf3 TCP between the guests.
		if _, _, err := vms[0].Run("iperf3 -s -D -1", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		// -D returns before the server listens: retry while it refuses.
		var out string
		for i := 0; ; i++ {
			o, rc, err := vms[1].Run("iperf3 -c 10.99.0.1 -t 3", 60*time.Second)
			if err == nil && rc == 0 {
				out = o
				break
			}
			if err != nil || !strings.Contains(o, "unable to connect") || i == 50 {
				t.Fatalf("iperf3: rc %d %v: %s", rc, err, o)
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("iperf3: %s", lastLines(out, 4))
	}
}

func lastLine(s string) string { return lastLines(s, 1) }

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// TestQEMUGuestsMultiQueue: guests with two queue pairs (Linux enables
// both) negotiate them with the ports, and ping.
func TestQEMUGuestsMultiQueue(t *testing.T) {
	testenv.Short(t)
	dir := t.TempDir()
	pool := newPool(t)
	var logs logBuf
	var vms [2]*guest.VM
	var ports [2]*vhostuser.Port
	for i := range vms {
		sock := filepath.Join(dir, fmt.Sprintf("mq%d.sock", i))
		vms[i] = guest.Start(t, guest.Options{Name: fmt.Sprintf("mq%d", i), Dir: dir, Socket: sock, Queues: 2,
			MAC: fmt.Sprintf("52:54:00:00:01:%02x", i+1), IP: fmt.Sprintf("10.98.0.%d/24", i+1)})
		p, err := vhostuser.NewClient(fmt.Sprintf("vhu%d", i), sock, vhostuser.Options{Pool: pool, Logger: logs.logger()})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		ports[i] = p
	}
	stop := forward(ports[0], ports[1])
	defer stop()
	for _, vm := range vms {
		if err := vm.WaitReady(90 * time.Second); err != nil {
			t.Fatalf("%v\nqemu: %s", err, vm.Log())
		}
	}
	waitFor(t, "two queue pairs", 10*time.Second, func() bool {
		return ports[0].NumRxQueues() == 2 && ports[1].NumRxQueues() == 2
	})

	deadline := time.Now().Add(30 * time.Second)
	for {
		out, rc, err := vms[0].Run("ping -c 3 -i 0.2 -W 1 10.98.0.2", 15*time.Second)
		if err == nil && rc == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ping: rc %d %v: %s\n%s", rc, err, out, logs.String())
		}
	}
	if st := ports[0].Status(); st["num_of_vrings"] != "4" {
		t.Errorf("status %v", st)
	}
}
