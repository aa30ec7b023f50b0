package vsctl_test

import (
	"path/filepath"
	"testing"

	"gvswitch/control/ovsdb"
	"gvswitch/control/ovsdb/server"
	"gvswitch/control/vsctl/vsctltest"
	"gvswitch/internal/testenv"
)

// startGvsDB serves a fresh gvswitch database (control/ovsdb) on a unix
// socket in this process and returns its --db argument.
func startGvsDB(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s, err := ovsdb.ParseSchema(ovsdb.VSwitchSchema())
	if err != nil {
		t.Fatal(err)
	}
	db, fj, err := ovsdb.OpenFile(filepath.Join(dir, "conf.db"), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(db)
	sock := filepath.Join(dir, "db.sock")
	l, err := server.ListenUnix(sock, 0o750)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close(); fj.Close() })
	return "unix:" + sock
}

// TestGvswitchDatabaseMatchesOVSDBServer: SCENARIOS.md through gvswitchctl
// and through the real ovs-vsctl against gvswitch's own database server
// prints what the real ovs-vsctl prints against ovsdb-server.
func TestGvswitchDatabaseMatchesOVSDBServer(t *testing.T) {
	t.Parallel()
	testenv.NeedRoot(t)
	ovs := testenv.NeedCommand(t, "ovs-vsctl")[0]
	bin := buildCtl(t)
	for _, c := range []struct {
		name string
		prog string
	}{{"gvswitchctl", bin}, {"ovs-vsctl", ovs}} {
		t.Run(c.name, func(t *testing.T) {
			ref := vsctltest.StartOVSDB(t)
			want := vsctltest.Exec(ovs, ref.DB())
			got := vsctltest.Exec(c.prog, startGvsDB(t))
			vsctltest.Compare(t, want, got, vsctltest.Scenarios(true), "ovs-vsctl", "gvswitchctl")
			// The long history once, through our client: the real
			// ovs-vsctl against this server is control/ovsdb's own test.
			if c.name == "gvswitchctl" && !testing.Short() {
				want := vsctltest.Exec(ovs, vsctltest.StartOVSDB(t).DB())
				got := vsctltest.Exec(c.prog, startGvsDB(t))
				vsctltest.Compare(t, want, got, commandSteps(), "ovs-vsctl", "gvswitchctl")
			}
		})
	}
}
