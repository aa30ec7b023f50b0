package server

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gvswitch/control/ovsdb"
	"gvswitch/internal/testenv"
)

// startSocketServer serves a fresh file-backed database on a unix socket
// in a private directory and returns the socket path.
func startSocketServer(t testing.TB) (sock string, db *ovsdb.Database) {
	t.Helper()
	dir := t.TempDir()
	s, _ := ovsdb.ParseSchema(ovsdb.VSwitchSchema())
	db, fj, err := ovsdb.OpenFile(filepath.Join(dir, "conf.db"), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := New(db)
	srv.Log = t.Logf
	sock = filepath.Join(dir, "db.sock")
	l, err := ListenUnix(sock, 0o750)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close(); fj.Close() })
	return sock, db
}

// vsctl runs the real ovs-vsctl against sock.
func vsctl(t testing.TB, sock string, args ...string) (string, error) {
	t.Helper()
	bin := testenv.NeedCommand(t, "ovs-vsctl")[0]
	cmd := exec.Command(bin, append([]string{"--db=unix:" + sock, "--timeout=10"}, args...)...)
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+filepath.Dir(sock), "OVS_LOGDIR="+filepath.Dir(sock))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestRealOvsVsctlSmoke(t *testing.T) {
	sock, _ := startSocketServer(t)
	steps := [][]string{
		{"--no-wait", "init"},
		{"--no-wait", "set", "Open_vSwitch", ".", "other_config:dpdk-init=true"},
		{"--no-wait", "add-br", "ovsbr0", "--", "set", "bridge", "ovsbr0", "datapath_type=netdev"},
		{"--no-wait", "add-port", "ovsbr0", "vhuc0", "tag=300"},
	}
	for _, s := range steps {
		start := time.Now()
		if out, err := vsctl(t, sock, s...); err != nil {
			t.Fatalf("ovs-vsctl %s: %v\n%s", strings.Join(s, " "), err, out)
		}
		t.Logf("%s: %v", strings.Join(s, " "), time.Since(start))
	}
	out, err := vsctl(t, sock, "show")
	if err != nil || !strings.Contains(out, `Port vhuc0`) && !strings.Contains(out, `Port "vhuc0"`) {
		t.Fatalf("show: %v\n%s", err, out)
	}
	t.Logf("show:\n%s", out)
	out, err = vsctl(t, sock, "--no-wait", "add-br", "ovsbr0")
	if err == nil || !strings.Contains(out, "already exists") {
		t.Errorf("duplicate add-br: %v %s", err, out)
	}
}
