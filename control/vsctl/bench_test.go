package vsctl_test

import (
	"fmt"
	"testing"

	"gvswitch/control/vsctl/vsctltest"
	"gvswitch/internal/testenv"
)

// BenchmarkAddDelPort measures one add-port plus one del-port transaction
// (two process runs) through gvswitchctl and through the real ovs-vsctl,
// both against a real ovsdb-server, in the same run.
func BenchmarkAddDelPort(b *testing.B) {
	testenv.NeedRoot(b)
	ovs := testenv.NeedCommand(b, "ovs-vsctl")[0]
	bin := buildCtl(b)
	for _, prog := range []struct{ name, path string }{{"gvswitchctl", bin}, {"ovs-vsctl", ovs}} {
		b.Run(prog.name, func(b *testing.B) {
			s := vsctltest.StartOVSDB(b)
			run := vsctltest.Exec(prog.path, s.DB())
			if r := run("--no-wait", "add-br", "br0"); r.Status != 0 {
				b.Fatal(r)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p := fmt.Sprintf("p%d", i)
				if r := run("--no-wait", "add-port", "br0", p); r.Status != 0 {
					b.Fatal(r)
				}
				if r := run("--no-wait", "del-port", "br0", p); r.Status != 0 {
					b.Fatal(r)
				}
			}
			b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "txn/s")
		})
	}
}
