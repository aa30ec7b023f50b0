package e2e

// Issue 2's control-plane benchmark: add-port/del-port transactions per
// second through gvswitchctl and through the real ovs-vsctl, against
// gvswitchd (embedded database) and against a real ovsdb-server, all
// interleaved in one run (TESTING.md: only ratios measured in the same run
// mean anything on this machine).

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gvswitch/control/vsctl/vsctltest"
	"gvswitch/internal/testenv"
)

// startOVSVswitchd runs the real ovs-vswitchd (userspace datapath) in
// namespace ns on a fresh private ovsdb-server with bridge br0, stopped
// with exit --cleanup (by its control socket) at cleanup.
func startOVSVswitchd(tb testing.TB, ns string) *OVSDB {
	tb.Helper()
	bin := testenv.NeedCommand(tb, "ovs-vswitchd")[0]
	db := StartOVSDBServer(tb)
	env := []string{"OVS_RUNDIR=" + db.Dir, "OVS_DBDIR=" + db.Dir, "OVS_LOGDIR=" + db.Dir}
	if r := Vsctl(tb, db.Sock, "--no-wait", "init"); r.Code != 0 {
		tb.Fatalf("ovs-vsctl init: %v", r)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, bin, "unix:"+db.Sock,
		"--pidfile="+filepath.Join(db.Dir, "ovs-vswitchd.pid"),
		"--log-file="+filepath.Join(db.Dir, "ovs-vswitchd.log"), "-vconsole:off")
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	ctl := filepath.Join(db.Dir, fmt.Sprintf("ovs-vswitchd.%d.ctl", cmd.Process.Pid))
	tb.Cleanup(func() {
		Run(tb, env, "ovs-appctl", "--timeout=5", "-t", ctl, "exit", "--cleanup")
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	if err := waitForSocket(ctl, 10*time.Second); err != nil {
		tb.Fatalf("ovs-vswitchd: %v", err)
	}
	if r := Vsctl(tb, db.Sock, "--timeout=10", "add-br", "br0", "--", "set", "Bridge", "br0", "datapath_type=netdev"); r.Code != 0 {
		tb.Fatalf("ovs-vswitchd add-br: %v", r)
	}
	return db
}

// txnTarget is one client/server combination of the benchmark.
type txnTarget struct {
	name  string
	c     vsctltest.Client
	took  []time.Duration // one per transaction
	extra []string        // before the command: --no-wait or --timeout
}

func (x *txnTarget) run(b *testing.B, args ...string) {
	start := time.Now()
	r := x.c(append(slices.Clone(x.extra), args...)...)
	x.took = append(x.took, time.Since(start))
	if r.Status != 0 {
		b.Fatalf("%s %q: %v", x.name, args, r)
	}
}

// median is the median transaction time.
func (x *txnTarget) median() time.Duration {
	s := slices.Clone(x.took)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkVsctlTransactions measures add-port/del-port of an existing
// kernel interface (what libvirt does when a guest starts and stops)
// through gvswitchctl and the real ovs-vsctl, each against
// gvswitchd (embedded database) and against a real ovsdb-server: with
// --no-wait (the database alone), and waiting for the switch (gvswitchd
// applying the change vs the real ovs-vswitchd beside ovsdb-server, and
// vs vsctltest.FakeSwitch, which only bumps cur_cfg every 50 ms). Rounds
// interleave the combinations in rotating order; each reports the median
// time per transaction as txn/s, with ratios:
//
//	gvsd/ovsdb-<client>   our daemon's rate over ovsdb-server's, same client
//	ctl/ovs-<server>      gvswitchctl's rate over ovs-vsctl's, same server
//
// 25 rounds of 2 transactions per combination (-benchtime=1x is enough).
func BenchmarkVsctlTransactions(b *testing.B) {
	testenv.NeedRoot(b)
	ovs := testenv.NeedCommand(b, "ovs-vsctl")[0]
	ctl := buildCtl(b)
	const rounds = 25
	for _, noWait := range []bool{true, false} {
		name := map[bool]string{true: "no-wait", false: "wait"}[noWait]
		b.Run(name, func(b *testing.B) {
			extra := []string{"--timeout=20"}
			if noWait {
				extra = []string{"--no-wait"}
			}
			// gvswitchd in its own namespace, with the interface to add.
			ns := NewNetns(b, "vb"+name[:2]+"g")
			Veth(b, "bp0", ns, "bp0p", ns)
			d := StartDaemon(b, DaemonOptions{Netns: ns})
			if r := d.Vsctl(b, "--timeout=10", "add-br", "br0"); r.Code != 0 {
				b.Fatalf("add-br: %v", r)
			}
			type server struct{ name, db string }
			servers := []server{{"gvsd", "unix:" + d.DB}}
			if noWait {
				o := vsctltest.StartOVSDB(b)
				if r := vsctltest.Exec(ovs, o.DB())("--no-wait", "add-br", "br0"); r.Status != 0 {
					b.Fatalf("ovsdb-server add-br: %v", r)
				}
				servers = append(servers, server{"ovsdb", o.DB()})
			} else {
				ons := NewNetns(b, "vbwao")
				Veth(b, "bp0", ons, "bp0p", ons)
				o := startOVSVswitchd(b, ons)
				servers = append(servers, server{"ovsdb", "unix:" + o.Sock})
				f := vsctltest.StartOVSDB(b)
				vsctltest.FakeSwitch(b, ovs, f)
				if r := vsctltest.Exec(ovs, f.DB())("--timeout=10", "add-br", "br0"); r.Status != 0 {
					b.Fatalf("fake switch add-br: %v", r)
				}
				servers = append(servers, server{"fake", f.DB()})
			}
			var targets []*txnTarget
			for _, s := range servers {
				targets = append(targets,
					&txnTarget{name: "ctl-" + s.name, c: vsctltest.Exec(ctl, s.db), extra: extra},
					&txnTarget{name: "ovs-" + s.name, c: vsctltest.Exec(ovs, s.db), extra: extra})
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for r := 0; r < rounds; r++ {
					for k := range targets {
						x := targets[(r+k)%len(targets)]
						x.run(b, "add-port", "br0", "bp0")
						x.run(b, "del-port", "br0", "bp0")
					}
				}
			}
			b.StopTimer()
			rate := map[string]float64{}
			var table strings.Builder
			for _, x := range targets {
				m := x.median()
				rate[x.name] = float64(time.Second) / float64(m)
				b.ReportMetric(rate[x.name], x.name+"-txn/s")
				fmt.Fprintf(&table, "  %-10s median %7.1f ms  %6.1f txn/s  (%d transactions)\n", x.name, float64(m)/1e6, rate[x.name], len(x.took))
			}
			for _, c := range []string{"ctl", "ovs"} {
				b.ReportMetric(rate[c+"-gvsd"]/rate[c+"-ovsdb"], "gvsd/ovsdb-"+c)
			}
			for _, s := range []string{"gvsd", "ovsdb"} {
				b.ReportMetric(rate["ctl-"+s]/rate["ovs-"+s], "ctl/ovs-"+s)
			}
			b.Logf("%s (ovsdb = real ovsdb-server%s):\n%s", name,
				map[bool]string{true: "", false: " + ovs-vswitchd; fake = ovsdb-server + FakeSwitch"}[noWait], table.String())
		})
	}
}
