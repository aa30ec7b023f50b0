package vsctl_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gvswitch/control/vsctl/vsctltest"
	"gvswitch/internal/testenv"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// buildCtl builds cmd/gvswitchctl once per test binary (removed by
// TestMain).
func buildCtl(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "gvswitchctl-test-"); buildErr != nil {
			return
		}
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		if p, err := exec.LookPath("go"); err == nil {
			goTool = p
		}
		out, err := exec.Command(goTool, "build", "-o", filepath.Join(buildDir, "gvswitchctl"), "gvswitch/cmd/gvswitchctl").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "gvswitchctl")
}

// clients starts two fresh databases: one driven by the real ovs-vsctl,
// one by gvswitchctl.
func clients(t *testing.T) (want, got vsctltest.Client) {
	t.Helper()
	testenv.NeedRoot(t)
	ovs := testenv.NeedCommand(t, "ovs-vsctl")[0]
	a, b := vsctltest.StartOVSDB(t), vsctltest.StartOVSDB(t)
	bin := buildCtl(t)
	logdir := "GVS_LOGDIR=/var/log/openvswitch"
	return vsctltest.Exec(ovs, a.DB()), vsctltest.Exec(bin, b.DB(), logdir)
}

func s(args ...string) vsctltest.Step { return vsctltest.Step{Args: args} }

func sorted(mode vsctltest.Sort, args ...string) vsctltest.Step {
	return vsctltest.Step{Args: args, Sort: mode}
}

// TestScenariosMatchOVSVsctl runs SCENARIOS.md with --no-wait; with
// -short the waiting variant below is skipped.
func TestScenariosMatchOVSVsctl(t *testing.T) {
	t.Parallel()
	want, got := clients(t)
	vsctltest.Compare(t, want, got, vsctltest.Scenarios(true), "ovs-vsctl", "gvswitchctl")
}

// TestCommandsMatchOVSVsctl covers every command and option, and the error
// paths users hit.
func TestCommandsMatchOVSVsctl(t *testing.T) {
	t.Parallel()
	want, got := clients(t)
	vsctltest.Compare(t, want, got, commandSteps(), "ovs-vsctl", "gvswitchctl")
}

// commandSteps is a history that uses every command and option, and the
// error paths users hit.
func commandSteps() []vsctltest.Step {
	nw := func(args ...string) vsctltest.Step { return s(append([]string{"--no-wait"}, args...)...) }
	return []vsctltest.Step{
		// Empty database.
		s("list-br"),
		sorted(vsctltest.Tree, "show"),
		nw("init"),
		nw("init"),
		nw("add-br", "br0"),
		nw("add-br", "br0"),
		nw("--may-exist", "add-br", "br0"),
		nw("--may-exist", "add-br", "br0", "br0", "5"),
		nw("add-br", ""),
		nw("add-br", "br1", "br0"),
		nw("add-br", "fake5", "br0", "5"),
		nw("add-br", "fake6", "br0", "5"),
		nw("add-br", "fake7", "nosuch", "7"),
		nw("add-br", "fake8", "fake5", "8"),
		nw("add-br", "fake9", "br0", "4096"),
		nw("--may-exist", "add-br", "fake5", "br0", "6"),
		nw("--may-exist", "add-br", "fake5"),
		nw("--may-exist", "add-br", "br0", "fake5", "5"),
		s("list-br"),
		s("--real", "list-br"),
		s("--fake", "list-br"),
		s("br-exists", "br0"),
		s("br-exists", "nosuch"),
		s("br-to-vlan", "br0"),
		s("br-to-vlan", "fake5"),
		s("br-to-parent", "fake5"),
		s("br-to-vlan", "br9"),
		nw("br-set-external-id", "br0", "k1", "v1"),
		nw("br-set-external-id", "fake5", "k2", "v2"),
		s("br-get-external-id", "br0"),
		s("br-get-external-id", "br0", "k1"),
		s("br-get-external-id", "fake5"),
		s("br-get-external-id", "fake5", "k2"),
		nw("br-set-external-id", "br0", "k1"),
		s("br-get-external-id", "br0"),
		// Ports and bonds.
		nw("add-port", "br0", "p1"),
		nw("add-port", "br0", "p1"),
		nw("--may-exist", "add-port", "br0", "p1"),
		nw("--may-exist", "add-port", "fake5", "p1"),
		nw("add-port", "br0", "p2", "tag=10", "other_config:k=v", "trunks=1,2,5-7"),
		nw("add-port", "br0", "p3", "tag=5000"),
		nw("add-port", "br0", "p3", "vlan_mode=bogus"),
		nw("add-port", "br0", "p3", "nosuchcol=1"),
		nw("add-port", "br0", "p3", "tag"),
		nw("add-port", "fake5", "p4"),
		nw("add-port", "nosuch", "p5"),
		nw("add-port", "br0", ""),
		nw("add-bond", "br0", "b1", "e1"),
		nw("add-bond", "br0", "b1", "e1", "e2", "lacp=active"),
		nw("--fake-iface", "add-bond", "br0", "b2", "e3", "e4"),
		nw("--may-exist", "add-bond", "br0", "b1", "e2", "e1"),
		nw("--may-exist", "add-bond", "br0", "b1", "e1", "e9"),
		nw("add-bond-iface", "b1", "e5"),
		nw("--may-exist", "add-bond-iface", "b1", "e5"),
		nw("--may-exist", "add-bond-iface", "b2", "e5"),
		nw("del-bond-iface", "b1", "e5"),
		nw("del-bond-iface", "b2", "e1"),
		nw("--if-exists", "del-bond-iface", "nosuch"),
		nw("del-bond-iface", "e3"),
		nw("del-bond-iface", "e4"),
		s("list-ports", "br0"),
		s("list-ports", "fake5"),
		s("list-ifaces", "br0"),
		s("list-ifaces", "fake5"),
		s("port-to-br", "p4"),
		s("port-to-br", "p1"),
		s("port-to-br", "br0"),
		s("iface-to-br", "e1"),
		s("iface-to-br", "nosuch"),
		nw("del-port", "br0"),
		nw("del-port", "fake5", "p1"),
		nw("del-port", "br0", "p4"),
		nw("del-port", "nosuch"),
		nw("--with-iface", "del-port", "e1"),
		nw("--with-iface", "del-port", "nosuch"),
		nw("del-port", "br0", "p1"),
		s("list-ports", "br0"),
		sorted(vsctltest.Tree, "show"),
		// Generic database commands.
		s("get", "bridge", "br0", "name", "datapath_type", "ports", "external_ids:k1"),
		s("get", "bridge", "br0", "external_ids:nokey"),
		s("--if-exists", "get", "bridge", "br0", "external_ids:nokey"),
		s("get", "bridge", "nosuch", "name"),
		s("--if-exists", "get", "bridge", "nosuch", "name"),
		s("get", "br", "br0", "nam"),
		s("get", "bridge", "br0", "n"),
		s("get", "nosuchtable", "x"),
		s("get", "port", "p2", "tag", "trunks", "other_config"),
		s("get", "port", "p2", "tag:x"),
		s("get", "Open_vSwitch", ".", "bridges"),
		nw("set", "bridge", "br0", "stp_enable=true", "other_config:hwaddr=\"00:11:22:33:44:55\""),
		nw("set", "bridge", "br0", "fail_mode=bogus"),
		nw("set", "bridge", "br0", "fail_mode=secure", "--", "get", "bridge", "br0", "fail_mode"),
		nw("set", "port", "p2", "trunks=[]", "tag=[]"),
		nw("set", "port", "p2", "trunks=1-5000"),
		nw("set", "port", "p2", "trunks=5-1"),
		nw("set", "port", "p2", "tag=1,2"),
		nw("set", "bridge", "br0", "external_ids={a=1, b=2}"),
		nw("set", "bridge", "br0", "external_ids={a=1, a=2}"),
		nw("set", "bridge", "br0", "external_ids=a"),
		nw("set", "bridge", "br0", "external_ids:x=\"unterminated"),
		nw("set", "bridge", "br0", "flood_vlans=1,2,3", "other_config={}"),
		nw("set", "bridge", "br0", "name"),
		s("get", "bridge", "br0", "external_ids", "flood_vlans", "stp_enable", "other_config", "fail_mode"),
		nw("add", "bridge", "br0", "flood_vlans", "4", "5"),
		nw("add", "bridge", "br0", "external_ids", "c=3", "a=9"),
		nw("add", "bridge", "br0", "name", "x"),
		nw("remove", "bridge", "br0", "flood_vlans", "1", "9"),
		nw("remove", "bridge", "br0", "external_ids", "a"),
		nw("remove", "bridge", "br0", "external_ids", "b=9"),
		nw("remove", "bridge", "br0", "external_ids", "c=3"),
		nw("remove", "bridge", "br0", "name", "br0"),
		nw("remove", "bridge", "br0", "external_ids", "nosuchkey", "--", "clear", "bridge", "br0", "mirrors"),
		s("get", "bridge", "br0", "external_ids", "flood_vlans"),
		nw("clear", "bridge", "br0", "flood_vlans", "external_ids"),
		nw("clear", "bridge", "br0", "name"),
		s("get", "bridge", "br0", "external_ids", "flood_vlans"),
		s("list", "bridge", "br0"),
		s("--columns=name,stp_enable,fail_mode", "list", "bridge"),
		s("--columns=name,_uuid", "list", "bridge", "br0"),
		s("list", "bridge", "nosuch"),
		s("--if-exists", "list", "bridge", "nosuch", "br0"),
		s("--columns=nosuch", "list", "bridge"),
		sorted(vsctltest.Blocks, "list", "interface"),
		sorted(vsctltest.Blocks, "--columns=name,tag", "find", "port", "tag=10"),
		sorted(vsctltest.Blocks, "--columns=name", "find", "port", "tag!=10"),
		sorted(vsctltest.Blocks, "--columns=name", "find", "port", "tag<11"),
		sorted(vsctltest.Blocks, "--columns=name", "find", "port", "tag>=10"),
		sorted(vsctltest.Blocks, "--columns=name", "find", "port", "tag{=}10"),
		sorted(vsctltest.Blocks, "--columns=name", "find", "port", "tag{!=}10"),
		sorted(vsctltest.Blocks, "--columns=name", "find", "port", "tag{<}[5,10]"),
		sorted(vsctltest.Blocks, "--columns=name", "find", "port", "tag{>}[]"),
		sorted(vsctltest.Blocks, "--columns=name", "find", "port", "tag{<=}[5,10]"),
		sorted(vsctltest.Blocks, "--columns=name", "find", "port", "tag{>=}[]"),
		sorted(vsctltest.Blocks, "--columns=name", "find", "port", "other_config:k=v"),
		sorted(vsctltest.Blocks, "--columns=name", "find", "interface", "type=internal"),
		s("find", "port", "tag~10"),
		s("find", "port", "name"),
		sorted(vsctltest.Lines, "--bare", "--columns=name", "find", "port"),
		sorted(vsctltest.TableRows, "--format=table", "--columns=name,tag,trunks", "list", "port"),
		sorted(vsctltest.Lines, "--format=csv", "--columns=name,tag,trunks,other_config", "list", "port"),
		s("--format=csv", "--no-headings", "--columns=name,external_ids", "list", "bridge", "br0"),
		s("--format=json", "--columns=name,tag,trunks", "list", "port", "p2"),
		s("--format=json", "--pretty", "--columns=name,other_config", "list", "port", "p2"),
		s("--format=html", "--columns=_uuid,name,tag", "list", "port", "p2"),
		s("--data=json", "--columns=name,tag,other_config", "list", "port", "p2"),
		s("--data=bare", "--columns=name,trunks,other_config", "list", "port", "p2"),
		s("--format=bogus", "list", "port"),
		s("--data=bogus", "list", "port"),
		s("--oneline", "get", "bridge", "br0", "name", "--", "list-br"),
		// create / destroy / --id references.
		nw("create", "QoS", "type=linux-htb", "other_config:max-rate=1000000"),
		sorted(vsctltest.Blocks, "--columns=type,other_config", "list", "qos"),
		nw("--id=@q", "create", "qos", "type=linux-hfsc", "--", "set", "port", "p2", "qos=@q"),
		s("get", "qos", "p2", "type"),
		nw("create", "Queue", "other_config:min-rate=1"),
		nw("set", "port", "p2", "qos=@nosuch"),
		nw("--id=q", "create", "qos", "type=x"),
		nw("--id=@a", "create", "qos", "type=x", "--", "--id=@a", "create", "qos", "type=y"),
		nw("--id=@m", "create", "mirror", "name=m1"),
		nw("--", "--id=@b", "get", "bridge", "br0", "--", "set", "bridge", "@b", "stp_enable=false"),
		nw("destroy", "qos", "nosuch"),
		nw("--if-exists", "destroy", "qos", "nosuch"),
		nw("--all", "destroy", "qos", "x"),
		nw("--all", "--if-exists", "destroy", "qos"),
		nw("clear", "port", "p2", "qos", "--", "--all", "destroy", "qos"),
		s("list", "qos"),
		nw("--id=@b", "create", "Bridge", "name=br0", "--", "add", "Open_vSwitch", ".", "bridges", "@b"),
		s("wait-until", "bridge", "br0", "name=br0"),
		s("wait-until", "bridge", "br0", "name"),
		// Controllers, managers, fail mode, SSL.
		nw("set-controller", "br0", "tcp:1.2.3.4:6653", "ptcp:6633"),
		s("get-controller", "br0"),
		s("get-controller", "fake5"),
		nw("set-controller", "fake5", "tcp:1.2.3.4"),
		sorted(vsctltest.Tree, "show"),
		nw("del-controller", "br0"),
		s("get-controller", "br0"),
		nw("set-fail-mode", "br0", "secure"),
		nw("set-fail-mode", "br0", "bogus"),
		s("get-fail-mode", "br0"),
		s("get-fail-mode", "fake5"),
		nw("del-fail-mode", "br0"),
		s("get-fail-mode", "br0"),
		nw("--inactivity-probe=3000", "set-manager", "ptcp:6640", "tcp:1.1.1.1:6640"),
		s("get-manager"),
		s("--columns=target,inactivity_probe", "find", "manager", "target=ptcp\\:6640"),
		nw("del-manager"),
		s("get-manager"),
		s("get-ssl"),
		nw("del-ssl"),
		nw("emer-reset"),
		sorted(vsctltest.Tree, "show"),
		// Parse errors.
		s(),
		s("--"),
		s("nosuchcommand"),
		s("--bogus-option", "list-br"),
		s("--db"),
		s("--no-wait=x", "list-br"),
		s("--if-exists", "list-br"),
		s("--if-exists", "--if-exists", "del-br", "x"),
		s("list-br", "extra"),
		s("list-br", "--", "--if-exists"),
		s("add-br"),
		s("del-port", "a", "b", "c"),
		s("del-port", "a", "b", "--if-exists"),
		s("--timeout=0", "list-br"),
		s("--timeout=x", "list-br"),
		s("get", "bridge", "br0", "--id=@x"),
		s("--id", "get", "bridge", "br0"),
		s("--no-wait", "--dry-run", "add-br", "drybr"),
		s("list-br"),
		// More options and references.
		nw("--if-exists", "set", "bridge", "nosuch", "stp_enable=true"),
		nw("--if-exists", "add", "bridge", "nosuch", "flood_vlans", "1"),
		nw("--if-exists", "remove", "bridge", "nosuch", "flood_vlans", "1"),
		nw("--if-exists", "clear", "bridge", "nosuch", "flood_vlans"),
		nw("--id=@p", "get", "port", "p2", "--", "--id=@m", "create", "mirror", "name=m2", "select_src_port=@p", "--", "add", "bridge", "br0", "mirrors", "@m"),
		s("--columns=name,select_src_port", "list", "mirror"),
		nw("--id=@w", "create", "mirror", "name=m3", "output_port=@w"),
		nw("--id=11111111-2222-3333-4444-555555555555", "create", "qos", "type=persist"),
		nw("--id=@x", "create", "queue", "dscp=1", "--", "set", "qos", "persist", "queues:7=@x"),
		s("--columns=type,queues", "list", "qos"),
		s("get", "qos", "11111111", "type"),
		s("get", "qos", "1111", "type"),
		s("get", "qos", "111", "type"),
		s("--columns=name", "find", "interface", "name{in}[e2,e9]"),
		s("--columns=name", "find", "interface", "name{not-in}[e2,e9]"),
		s("--columns=name", "find", "bridge", "external_ids:k1=v1"),
		s("--columns=name", "find", "bridge", "external_ids:k1{=}[]"),
		s("--columns=name", "find", "bridge", "external_ids:nokey{!=}[]"),
		s("find", "bridge", "name:k=v"),
		s("get", "bridge", "br0", "name:x"),
		nw("set", "bridge", "br0", "name:x=y"),
		nw("set", "interface", "e2", "name=x"),
		nw("set", "bridge", "br0", "other-config:a=b"),
		s("get", "bridge", "br0", "other_config"),
		s("--max-column-width=5", "--format=table", "--columns=name,other_config", "list", "bridge", "br0"),
		s("--no-headings", "--format=table", "--columns=name", "list", "bridge", "br0"),
		s("--no-headings", "--columns=name,tag", "list", "port", "p2"),
		s("-f", "csv", "-d", "bare", "--columns=name,trunks", "list", "port", "p2"),
		// Deleting bridges.
		nw("del-br", "fake5"),
		nw("del-br", "nosuch"),
		nw("--if-exists", "del-br", "nosuch"),
		nw("del-br", "br0"),
		sorted(vsctltest.Tree, "show"),
		s("list", "port"),
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// TestWaitMatchesOVSVsctl runs modifying commands without --no-wait with a
// stand-in switch daemon: both clients must wait for cur_cfg and report
// interfaces the switch failed to set up the same way.
func TestWaitMatchesOVSVsctl(t *testing.T) {
	t.Parallel()
	testenv.NeedRoot(t)
	ovs := testenv.NeedCommand(t, "ovs-vsctl")[0]
	a, b := vsctltest.StartOVSDB(t), vsctltest.StartOVSDB(t)
	vsctltest.FakeSwitch(t, ovs, a)
	vsctltest.FakeSwitch(t, ovs, b)
	bin := buildCtl(t)
	want := vsctltest.Exec(ovs, a.DB())
	got := vsctltest.Exec(bin, b.DB(), "GVS_LOGDIR=/var/log/openvswitch")
	steps := []vsctltest.Step{
		s("--timeout=20", "init"),
		s("--timeout=20", "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev"),
		s("--timeout=20", "add-bond", "br0", "bond0", "a0", "a1", "trunks=11,300-304", "--", "add-port", "br0", "c0", "tag=300"),
		s("--timeout=20", "add-port", "br0", "bad0"),
		s("--timeout=20", "--", "--if-exists", "del-port", "vnet0", "--", "add-port", "br0", "vnet0", "tag=300",
			"--", "set", "Interface", "vnet0", `external-ids:attached-mac="52:54:00:d4:25:2e"`),
		s("--timeout=20", "--may-exist", "add-br", "br0"),
		s("--timeout=20", "del-port", "bad0"),
		s("--timeout=20", "set", "Open_vSwitch", ".", "ovs_version=3.1.0", "db_version=8.3.1"),
		sorted(vsctltest.Tree, "show"),
		s("get", "interface", "vnet0", "ofport"),
	}
	vsctltest.Compare(t, want, got, steps, "ovs-vsctl", "gvswitchctl")
}

// TestTimeoutMatchesOVSVsctl: with no switch daemon a waiting command
// commits, then dies of SIGALRM at --timeout like ovs-vsctl (status 142).
func TestTimeoutMatchesOVSVsctl(t *testing.T) {
	want, got := clients(t)
	steps := []vsctltest.Step{
		s("--no-wait", "init"),
		s("--timeout=3", "add-br", "br0"),
		s("list-br"),
		s("--timeout=10", "list-br"),
	}
	vsctltest.Compare(t, want, got, steps, "ovs-vsctl", "gvswitchctl")
}

// TestSameDatabaseByteIdentical runs read-only commands through both
// clients against one database: outputs must be identical byte for byte,
// row order included (no normalisation but the program name).
func TestSameDatabaseByteIdentical(t *testing.T) {
	t.Parallel()
	testenv.NeedRoot(t)
	ovs := testenv.NeedCommand(t, "ovs-vsctl")[0]
	srv := vsctltest.StartOVSDB(t)
	bin := buildCtl(t)
	want, got := vsctltest.Exec(ovs, srv.DB()), vsctltest.Exec(bin, srv.DB())
	for _, st := range vsctltest.Scenarios(true) {
		if st.Args[0] == "--no-wait" || st.Args[0] == "--timeout=5" {
			if r := want(st.Args...); r.Status != 0 {
				t.Fatalf("%q: %v", st.Args, r)
			}
		}
	}
	// Enough rows for the IDL's hash tables to grow and collide.
	for i := 0; i < 40; i++ {
		args := []string{"--no-wait", "add-port", "br2", fmt.Sprintf("v%d", i), fmt.Sprintf("tag=%d", i%5)}
		if i%3 == 0 {
			args = append(args, "--", "set", "interface", fmt.Sprintf("v%d", i), "type=internal")
		}
		if r := want(args...); r.Status != 0 {
			t.Fatalf("%q: %v", args, r)
		}
	}
	lines := [][]string{
		{"show"}, {"list", "port"}, {"list", "interface"}, {"list", "bridge"}, {"list", "Open_vSwitch"},
		{"--columns=name,tag", "find", "port", "tag=3"}, {"--columns=name", "find", "interface", "type=internal"},
		{"--format=table", "list", "port"}, {"--format=csv", "--columns=_uuid,name", "list", "interface"},
		{"--format=json", "list", "bridge"}, {"--format=json", "--pretty", "--columns=_uuid,name,ports", "list", "bridge"},
		{"--format=html", "list", "port", "bond0"}, {"--bare", "--columns=_uuid", "list", "port"},
		{"--data=json", "list", "interface"}, {"list-br"}, {"list-ports", "br2"}, {"list-ifaces", "br2"},
		{"get", "bridge", "br2", "ports"}, {"get", "Open_vSwitch", ".", "bridges", "other_config", "_uuid"},
		{"--oneline", "show", "--", "list-br"}, {"port-to-br", "v7"}, {"iface-to-br", "v8"},
	}
	for _, args := range lines {
		w, g := want(args...), got(args...)
		g.Stderr = strings.ReplaceAll(g.Stderr, "gvswitchctl", "ovs-vsctl")
		if w != g {
			t.Errorf("%q:\nwant %v\ngot  %v", args, w, g)
		}
	}
}

// TestWaitSurvivesServerRestart: a client waiting for cur_cfg keeps
// waiting across a database restart and returns once the switch catches
// up, as ovs-vsctl does.
func TestWaitSurvivesServerRestart(t *testing.T) {
	testenv.NeedRoot(t)
	ovs := testenv.NeedCommand(t, "ovs-vsctl")[0]
	bin := buildCtl(t)
	for _, prog := range []string{ovs, bin} {
		s := vsctltest.StartOVSDB(t)
		direct := vsctltest.Exec(ovs, s.DB())
		if r := direct("--no-wait", "init"); r.Status != 0 {
			t.Fatal(r)
		}
		done := make(chan vsctltest.Result, 1)
		go func() { done <- vsctltest.Exec(prog, s.DB())("--timeout=20", "add-br", "br0") }()
		deadline := time.Now().Add(10 * time.Second)
		for strings.TrimSpace(direct("get", "Open_vSwitch", ".", "next_cfg").Stdout) != "1" {
			if time.Now().After(deadline) {
				t.Fatalf("%s: never committed", prog)
			}
			time.Sleep(20 * time.Millisecond)
		}
		s.Restart(t)
		if r := direct("--no-wait", "set", "Open_vSwitch", ".", "cur_cfg=1", "--", "set", "Interface", "br0", "ofport=65534"); r.Status != 0 {
			t.Fatal(r)
		}
		select {
		case r := <-done:
			if r.Status != 0 || r.Stdout != "" || r.Stderr != "" {
				t.Errorf("%s: %v", prog, r)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("%s: still waiting after the switch caught up", prog)
			<-done
		}
	}
}

// TestScenariosWaitingMatchOVSVsctl runs SCENARIOS.md as users type it
// (waiting for the switch), with a stand-in switch on each database.
func TestScenariosWaitingMatchOVSVsctl(t *testing.T) {
	t.Parallel()
	testenv.NeedRoot(t)
	ovs := testenv.NeedCommand(t, "ovs-vsctl")[0]
	a, b := vsctltest.StartOVSDB(t), vsctltest.StartOVSDB(t)
	vsctltest.FakeSwitch(t, ovs, a)
	vsctltest.FakeSwitch(t, ovs, b)
	bin := buildCtl(t)
	want := vsctltest.Exec(ovs, a.DB())
	got := vsctltest.Exec(bin, b.DB(), "GVS_LOGDIR=/var/log/openvswitch")
	vsctltest.Compare(t, want, got, vsctltest.Scenarios(false), "ovs-vsctl", "gvswitchctl")
}

// TestSignalMatchesOVSVsctl: SIGTERM while waiting for the switch ends
// both programs the same way (a warning, death by the signal).
func TestSignalMatchesOVSVsctl(t *testing.T) {
	testenv.NeedRoot(t)
	ovs := testenv.NeedCommand(t, "ovs-vsctl")[0]
	bin := buildCtl(t)
	var results []vsctltest.Result
	for _, prog := range []string{ovs, bin} {
		s := vsctltest.StartOVSDB(t)
		direct := vsctltest.Exec(ovs, s.DB())
		if r := direct("--no-wait", "init"); r.Status != 0 {
			t.Fatal(r)
		}
		var stdout, stderr strings.Builder
		cmd := exec.Command(prog, "--db="+s.DB(), "add-br", "br0")
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for strings.TrimSpace(direct("get", "Open_vSwitch", ".", "next_cfg").Stdout) != "1" {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("%s: never committed", prog)
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		err := cmd.Wait()
		status := 0
		if ee, ok := err.(*exec.ExitError); ok {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				status = 128 + int(ws.Signal())
			} else {
				status = ee.ExitCode()
			}
		}
		results = append(results, vsctltest.Result{
			Stdout: stdout.String(),
			Stderr: vsctltest.Normalize(stderr.String(), vsctltest.NoSort),
			Status: status,
		})
	}
	if results[0] != results[1] || results[0].Status != 143 {
		t.Errorf("ovs-vsctl: %v\ngvswitchctl: %v", results[0], results[1])
	}
}
