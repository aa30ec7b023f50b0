package reconcile

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"gvswitch/control/ovsdb"
	"gvswitch/control/unixctl"
	"gvswitch/control/unixctl/coverage"
	"gvswitch/control/unixctl/vlog"
	"gvswitch/dataplane"
)

var (
	log              = vlog.Module("bridge")
	covReconfigure   = coverage.New("bridge_reconfigure")
	covUpdatePort    = coverage.New("ofproto_update_port")
	covTxnSuccess    = coverage.New("txn_success")
	covTxnError      = coverage.New("txn_error")
	covStatsWritten  = coverage.New("netdev_get_stats")
	covUnchangedTxns = coverage.New("txn_unchanged")
)

// DBName is the database the daemon drives.
const DBName = "Open_vSwitch"

// Ofport numbers (OpenFlow 1.0 5.2.1 / Open vSwitch): the bridge's own
// (local) port is 65534; others are 1..65279.
const (
	OfportLocal = 65534
	ofportMax   = 65279
)

// Options configure a Daemon.
type Options struct {
	// Dial connects to the database; it is called again after the
	// connection is lost.
	Dial func() (net.Conn, error)
	// Unixctl is where the daemon registers its commands.
	Unixctl *unixctl.Server
	// SystemID is "random" (make one if external_ids:system-id is
	// unset), an explicit ID, or "" (leave the column alone).
	SystemID string
	// OVSVersion is written to Open_vSwitch ovs_version.
	OVSVersion string
	// Rundir is where dpdkvhostuser server sockets are created.
	Rundir string
	// StatsInterval is how often statistics are written (5 s if zero).
	StatsInterval time.Duration
	// OnReady, if set, is called once, after the first configuration
	// was applied and the Open_vSwitch row initialised (--detach waits
	// for it, as ovs-vswitchd's does).
	OnReady func()
	// NoDataplane runs without packet memory, bridges or PMDs: ports
	// are opened and reported but nothing forwards (for tests of the
	// database side).
	NoDataplane bool
}

// Daemon applies the database configuration and reports status back.
type Daemon struct {
	opts Options
	sess *session

	// mu guards the state below against unixctl handlers; the run loop
	// is the only writer.
	mu      sync.Mutex
	db      replica
	ovsUUID ovsdb.UUID
	bridges map[string]*bridge
	ports   map[ovsdb.UUID]*port
	ifaces  map[ovsdb.UUID]*iface
	nextODP int
	dp      datapath
	// requeue is signalled when a port's queue count changed.
	requeue   chan struct{}
	kick      chan struct{} // asks the run loop for a reconfiguration
	panics    map[ovsdb.UUID][]time.Time
	disabled  map[ovsdb.UUID]disabledIface
	readyOnce sync.Once
}

type bridge struct {
	name    string
	uuid    ovsdb.UUID
	dpType  string
	ofports map[int]ovsdb.UUID // ofport -> interface
	odp     int
}

// iface is one Interface row as the dataplane has it.
type iface struct {
	uuid        ovsdb.UUID
	otherConfig map[string]string // Interface other_config (lacp-*, pmd-rxq-affinity)
	affinity    string            // other_config:pmd-rxq-affinity
	name        string
	typ         string
	bridge      string
	port        string // Port row name
	cfgKey      string // what, if changed, reopens the port
	ofport      int    // -1 on error
	odp         int
	err         string
	dp          dataplane.Port
	retry       bool   // the open failed and is worth trying again
	broken      bool   // a PMD panicked polling it: reopen it
	mtuRequest  int    // Interface mtu_request as opened or last applied
	serverPath  string // options:vhost-server-path as opened or last applied
	txRetries   string // options:tx-retries-max likewise
}

// New returns a Daemon; Run starts it.
func New(opts Options) *Daemon {
	if opts.StatsInterval == 0 {
		opts.StatsInterval = 5 * time.Second
	}
	d := &Daemon{opts: opts, bridges: map[string]*bridge{}, ports: map[ovsdb.UUID]*port{},
		ifaces: map[ovsdb.UUID]*iface{}, nextODP: 1, requeue: make(chan struct{}, 1),
		kick: make(chan struct{}, 1), panics: map[ovsdb.UUID][]time.Time{}, disabled: map[ovsdb.UUID]disabledIface{}}
	var bdp *bridgeDatapath
	if opts.NoDataplane {
		d.dp = nullDatapath{}
	} else {
		bdp = newBridgeDatapath(d)
		d.dp = bdp
	}
	if opts.Unixctl != nil {
		d.registerCommands(opts.Unixctl)
		if bdp != nil {
			if err := bdp.registerCommands(opts.Unixctl); err != nil {
				log.Err("registering datapath commands: %v", err)
			}
		}
	}
	return d
}

// Run connects to the database and keeps the dataplane in step with it
// until ctx is done, reconnecting (with back-off) when the connection is
// lost. It closes every port before returning.
func (d *Daemon) Run(ctx context.Context) error {
	defer d.closeAll()
	backoff := 100 * time.Millisecond
	for {
		err := d.runSession(ctx)
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("database connection lost: %v; reconnecting in %v", err, backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		if backoff < 8*time.Second {
			backoff *= 2
		}
	}
}

func (d *Daemon) runSession(ctx context.Context) error {
	conn, err := d.opts.Dial()
	if err != nil {
		return err
	}
	s, err := startSession(ctx, conn, DBName)
	if err != nil {
		conn.Close()
		return err
	}
	defer s.close()
	d.mu.Lock()
	d.sess = s
	changes := s.changes()
	d.db = s.snapshot()
	d.mu.Unlock()
	if err := d.initOpenVSwitch(); err != nil {
		return err
	}
	log.Info("connected to the database; %d bridge(s) configured", len(d.db["Bridge"]))
	if err := d.reconfigure(); err != nil {
		return err
	}
	if d.opts.OnReady != nil {
		d.readyOnce.Do(d.opts.OnReady)
	}
	stats := time.NewTicker(d.opts.StatsInterval)
	defer stats.Stop()
	// The slow path of bonds (LACP runs every second with lacp-time=fast)
	// and MAC ageing.
	fast := time.NewTicker(100 * time.Millisecond)
	defer fast.Stop()
	ticks := 0
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done():
			return s.err()
		case <-changes:
			// Take the channel for the next update before reading, so
			// that no update slips between the two. An update of
			// status columns only (mostly the echo of the switch's own
			// writes) refreshes the copy; one of the configuration
			// also comes on configUpdates, which reconfigures.
			changes = s.changes()
			snap := s.snapshot()
			d.mu.Lock()
			d.db = snap
			d.mu.Unlock()
		case <-s.configUpdates():
			snap := s.snapshot()
			d.mu.Lock()
			d.db = snap
			d.mu.Unlock()
			if err := d.reconfigure(); err != nil {
				return err
			}
		case <-d.kick:
			if err := d.reconfigure(); err != nil {
				return err
			}
		case <-d.requeue:
			d.mu.Lock()
			for _, p := range d.ports {
				if p.attached {
					d.dp.requeue(p)
				}
			}
			d.mu.Unlock()
		case <-fast.C:
			if err := d.runSlowPath(); err != nil {
				return err
			}
			// Once a second, retry interfaces that failed to open.
			if ticks++; ticks%10 == 0 && d.hasRetries() {
				if err := d.reconfigure(); err != nil {
					return err
				}
			}
		case <-stats.C:
			coverage.Sample()
			if err := d.writeStats(); err != nil {
				return err
			}
		}
	}
}

// ovsRow returns the (single) Open_vSwitch row.
func (d *Daemon) ovsRow() (ovsdb.UUID, ovsdb.Row) {
	for u, r := range d.db["Open_vSwitch"] {
		return u, r
	}
	return ovsdb.UUID{}, nil
}

// initOpenVSwitch creates the Open_vSwitch row if missing and writes what
// the switch knows about itself (the columns ovs-ctl and ovs-vswitchd
// fill at start: see reference/ovs-dpdk/08-list-open_vswitch.txt).
func (d *Daemon) initOpenVSwitch() error {
	u, row := d.ovsRow()
	if row == nil {
		err := d.sess.transact(DBName, []op{{"op": "insert", "table": "Open_vSwitch", "row": map[string]any{}}})
		if err != nil {
			return fmt.Errorf("creating the Open_vSwitch row: %w", err)
		}
		if err := d.waitFor(func() bool { _, r := d.ovsRow(); return r != nil }); err != nil {
			return err
		}
		u, row = d.ovsRow()
	}
	d.ovsUUID = u
	set := map[string]any{
		"datapath_types": setOf([]string{"netdev", "system"}),
		"iface_types":    setOf(SupportedTypes()),
		"db_version":     d.sess.schema.Version,
	}
	if v := d.opts.OVSVersion; v != "" {
		set["ovs_version"] = v
	}
	if typ, ver := systemInfo(); typ != "" {
		set["system_type"] = typ
		set["system_version"] = ver
	}
	for k, v := range dpdkColumns(row) {
		set[k] = v
	}
	ext := row["external_ids"].StringMap()
	switch id := d.opts.SystemID; {
	case id == "random" && ext["system-id"] == "":
		ext["system-id"] = randomUUID()
	case id != "" && id != "random":
		ext["system-id"] = id
	}
	set["external_ids"] = mapOf(ext)
	return d.sess.transact(DBName, []op{updateOp("Open_vSwitch", u, set)})
}

// dpdkColumns are Open_vSwitch dpdk_initialized and dpdk_version as
// other_config:dpdk-init asks. There is no DPDK in gvswitch: its own
// drivers serve the dpdk* types, so with dpdk-init=true|try "DPDK" is
// reported initialised, for the tools that check before adding dpdk ports.
func dpdkColumns(row ovsdb.Row) map[string]any {
	switch row["other_config"].StringMap()["dpdk-init"] {
	case "true", "try":
		return map[string]any{"dpdk_initialized": true, "dpdk_version": "gvswitch (no DPDK)"}
	}
	return map[string]any{"dpdk_initialized": false, "dpdk_version": "none"}
}

// waitFor waits (up to 5 s) until cond holds on the replica.
func (d *Daemon) waitFor(cond func() bool) error {
	deadline := time.After(5 * time.Second)
	for {
		ch := d.sess.changes()
		snap := d.sess.snapshot()
		d.mu.Lock()
		d.db = snap
		ok := cond()
		d.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-d.sess.done():
			return d.sess.err()
		case <-deadline:
			return errors.New("timed out waiting for the database")
		}
	}
}

func randomUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// systemInfo is what ovs-ctl writes to system_type/system_version: the
// os-release ID and VERSION_ID.
func systemInfo() (string, string) {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "", ""
	}
	var id, ver string
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"`)
		switch k {
		case "ID":
			id = v
		case "VERSION_ID":
			ver = v
		}
	}
	return id, ver
}

// desiredIface is one Interface the configuration asks for.
type desiredIface struct {
	uuid   ovsdb.UUID
	row    ovsdb.Row
	bridge string
	port   string
	dpType string // the bridge's datapath_type: a change recreates the bridge
}

// desiredPort is one Port the configuration asks for.
type desiredPort struct {
	uuid   ovsdb.UUID
	row    ovsdb.Row
	bridge string
	ifaces []ovsdb.UUID
}

// config is the configuration reachable from the root row, walked
// Open_vSwitch → Bridge → Port → Interface as ovs-vswitchd does; rows not
// reachable are ignored. A name used twice is taken once.
type config struct {
	bridges map[string]ovsdb.UUID
	ports   map[ovsdb.UUID]desiredPort
	ifaces  map[ovsdb.UUID]desiredIface
}

func (d *Daemon) desired() config {
	c := config{bridges: map[string]ovsdb.UUID{}, ports: map[ovsdb.UUID]desiredPort{}, ifaces: map[ovsdb.UUID]desiredIface{}}
	_, root := d.ovsRow()
	if root == nil {
		return c
	}
	portNames := map[string]bool{}
	ifNames := map[string]bool{}
	for _, bu := range root["bridges"].UUIDs() {
		br := d.db["Bridge"][bu]
		if br == nil {
			continue
		}
		bname := str(br["name"])
		if _, dup := c.bridges[bname]; dup {
			continue
		}
		c.bridges[bname] = bu
		for _, pu := range br["ports"].UUIDs() {
			p := d.db["Port"][pu]
			if p == nil || portNames[str(p["name"])] {
				continue
			}
			portNames[str(p["name"])] = true
			dp := desiredPort{uuid: pu, row: p, bridge: bname}
			for _, iu := range p["interfaces"].UUIDs() {
				r := d.db["Interface"][iu]
				if r == nil || ifNames[str(r["name"])] {
					continue
				}
				ifNames[str(r["name"])] = true
				c.ifaces[iu] = desiredIface{uuid: iu, row: r, bridge: bname, port: str(p["name"]), dpType: str(br["datapath_type"])}
				dp.ifaces = append(dp.ifaces, iu)
			}
			c.ports[pu] = dp
		}
	}
	return c
}

func ifaceConfig(di desiredIface, rundir string) (IfaceConfig, string) {
	c := IfaceConfig{
		Name:        str(di.row["name"]),
		Type:        str(di.row["type"]),
		Bridge:      di.bridge,
		Options:     di.row["options"].StringMap(),
		OtherConfig: di.row["other_config"].StringMap(),
		MTURequest:  int(integer(di.row["mtu_request"])),
		MAC:         str(di.row["mac"]),
		Rundir:      rundir,
	}
	if c.Type == "" {
		c.Type = "system"
	}
	// mtu_request, vhost-server-path and tx-retries-max are not part of
	// the key: they are applied in place (applyMTU, applySocketPath,
	// applyTxRetries), so that an internal port keeps its addresses and a
	// vhost port its guest connection and counters.
	opts := make(map[string]string, len(c.Options))
	for k, v := range c.Options {
		if k != "vhost-server-path" && k != "tx-retries-max" {
			opts[k] = v
		}
	}
	key := fmt.Sprintf("%s|%s|%s|%s|%v|%v|%s", c.Name, c.Bridge, di.dpType, c.Type, sortedMap(opts), sortedMap(c.OtherConfig), c.MAC)
	return c, key
}

func sortedMap(m map[string]string) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k+"="+m[k])
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

// reconfigure applies the difference between the replica and the running
// state, then writes ofports, errors and cur_cfg in one transaction. Only
// what changed is touched: other ports keep forwarding throughout.
func (d *Daemon) reconfigure() error {
	reopened := d.retryFailed()
	d.mu.Lock()
	c := d.desired()
	_, root := d.ovsRow()
	if err := d.dp.configure(root["other_config"].StringMap()); err != nil {
		log.Warn("%v", err)
	}
	changed := false
	// Interfaces that are gone or whose configuration changed are
	// closed; their ports leave the bridge first.
	closing := map[ovsdb.UUID]bool{}
	for u, f := range d.ifaces {
		if di, ok := c.ifaces[u]; ok {
			// A failed interface that opened on retry replaces its
			// placeholder (and its port is rebuilt with it).
			if cfg, key := ifaceConfig(di, d.opts.Rundir); key == f.cfgKey && reopened[u] == nil && !f.broken {
				f.port = di.port
				sp := cfg.Options["vhost-server-path"]
				if (cfg.MTURequest == f.mtuRequest || d.applyMTU(f, cfg.MTURequest)) &&
					(sp == f.serverPath || d.applySocketPath(f, sp)) {
					d.applyTxRetries(f, cfg.Options["tx-retries-max"])
					continue
				}
			}
		}
		closing[u] = true
	}
	for u, f := range reopened {
		if !closing[u] { // its configuration changed meanwhile
			if f.dp != nil {
				f.dp.Close()
			}
			delete(reopened, u)
		}
	}
	for u, p := range d.ports {
		dp, ok := c.ports[u]
		if ok && p.bridge == dp.bridge && p.memberKey == memberKey(dp) && !p.usesAny(closing) {
			continue
		}
		d.detach(p)
		delete(d.ports, u)
		changed = true
	}
	for u := range closing {
		d.closeIface(d.ifaces[u])
		delete(d.ifaces, u)
		changed = true
	}
	for name := range d.bridges {
		if _, ok := c.bridges[name]; !ok {
			d.dp.delBridge(name)
			log.Info("bridge %s: deleted", name)
			delete(d.bridges, name)
			changed = true
		}
	}
	brokenBridges := map[string]string{}
	for name, bu := range c.bridges {
		row := d.db["Bridge"][bu]
		if b := d.bridges[name]; b != nil && b.dpType != str(row["datapath_type"]) {
			// A new datapath_type recreates the bridge (its
			// interfaces were closed above: their keys changed).
			log.Info("bridge %s: datapath_type %q -> %q", name, b.dpType, str(row["datapath_type"]))
			d.dp.delBridge(name)
			delete(d.bridges, name)
		}
		if d.bridges[name] == nil {
			if err := d.dp.addBridge(name, row); err != nil {
				log.Err("bridge %s: %v", name, err)
				brokenBridges[name] = fmt.Sprintf("bridge %s: %v", name, err)
				continue
			}
			d.bridges[name] = &bridge{name: name, uuid: bu, ofports: map[int]ovsdb.UUID{}}
			log.Info("bridge %s: added", name)
			changed = true
		} else {
			d.dp.configureBridge(name, row)
		}
		d.bridges[name].uuid = bu
		d.bridges[name].dpType = str(row["datapath_type"])
	}
	// Open new interfaces, in name order so that ofports are assigned
	// deterministically.
	var adds []desiredIface
	for u, di := range c.ifaces {
		if d.ifaces[u] != nil {
			continue
		}
		if dis, ok := d.disabled[u]; ok {
			if _, key := ifaceConfig(di, d.opts.Rundir); key == dis.key {
				d.ifaces[u] = &iface{uuid: u, name: str(di.row["name"]), typ: str(di.row["type"]), bridge: di.bridge,
					port: di.port, cfgKey: key, ofport: -1, err: dis.msg}
				changed = true
				continue
			}
			delete(d.disabled, u) // new configuration: try again
			delete(d.panics, u)
		}
		if msg, broken := brokenBridges[di.bridge]; broken {
			// Report the bridge's failure on each of its interfaces,
			// where ovs-vsctl looks.
			_, key := ifaceConfig(di, d.opts.Rundir)
			d.ifaces[u] = &iface{uuid: u, name: str(di.row["name"]), typ: str(di.row["type"]), bridge: di.bridge,
				port: di.port, cfgKey: key, ofport: -1, err: msg}
			changed = true
			continue
		}
		if d.bridges[di.bridge] != nil {
			adds = append(adds, di)
		}
	}
	sort.Slice(adds, func(i, j int) bool { return str(adds[i].row["name"]) < str(adds[j].row["name"]) })
	pool, perr := d.dp.pool()
	d.mu.Unlock()

	// Opening a port may take time (sockets, netlink): do it unlocked.
	opened := make([]*iface, 0, len(adds))
	for _, di := range adds {
		if f := reopened[di.uuid]; f != nil {
			opened = append(opened, f)
			continue
		}
		opened = append(opened, d.openIface(di, pool, perr, ""))
	}

	d.mu.Lock()
	for _, f := range opened {
		d.ifaces[f.uuid] = f
		d.assignOfport(f, c.ifaces[f.uuid].row)
		changed = true
	}
	// Ports: attach new ones, update the VLAN settings of the others.
	for u, dp := range c.ports {
		if d.bridges[dp.bridge] == nil {
			continue
		}
		p := d.ports[u]
		if p == nil {
			p = &port{uuid: u, name: str(dp.row["name"]), bridge: dp.bridge, memberKey: memberKey(dp), ifaceIDs: dp.ifaces}
			for _, iu := range dp.ifaces {
				if f := d.ifaces[iu]; f != nil && f.dp != nil {
					p.members = append(p.members, f)
				}
			}
			sort.Slice(p.members, func(i, j int) bool { return p.members[i].name < p.members[j].name })
			d.ports[u] = p
			changed = true
			p.vlanKey = vlanKey(dp.row)
			if len(p.members) > 0 {
				if err := d.dp.attach(p, dp.row); err != nil {
					log.Err("port %s: %v", p.name, err)
				}
			}
			continue
		}
		p.name = str(dp.row["name"])
		if k := vlanKey(dp.row); k != p.vlanKey {
			p.vlanKey = k
			changed = true
			if p.attached {
				if err := d.dp.reconfigurePort(p, dp.row); err != nil {
					log.Err("port %s: %v", p.name, err)
				}
			}
		}
	}
	if changed {
		covReconfigure.Inc()
	}
	ops := d.statusOps(false)
	ovsSet := map[string]any{}
	for k, v := range dpdkColumns(root) {
		if fmt.Sprint(v) != datumText(root[k]) {
			ovsSet[k] = v
		}
	}
	next := integer(root["next_cfg"])
	if integer(root["cur_cfg"]) != next {
		ovsSet["cur_cfg"] = next
	}
	if len(ovsSet) > 0 {
		ops = append(ops, updateOp("Open_vSwitch", d.ovsUUID, ovsSet))
	}
	ops = append(ops, d.controllerOps()...)
	d.mu.Unlock()
	if len(ops) == 0 {
		covUnchangedTxns.Inc()
		return nil
	}
	if err := d.sess.transact(DBName, ops); err != nil {
		covTxnError.Inc()
		if errors.Is(err, ErrClosed) {
			return err
		}
		// A row deleted meanwhile makes the update fail; the next
		// update from the server triggers another pass.
		log.Warn("writing status: %v", err)
		return nil
	}
	covTxnSuccess.Inc()
	return nil
}

// port is one Port row as the bridge has it.
type port struct {
	uuid      ovsdb.UUID
	name      string
	bridge    string
	memberKey string       // interfaces and bond settings; a change re-adds the port
	vlanKey   string       // vlan_mode, tag, trunks; a change reconfigures it
	members   []*iface     // open interfaces, by name
	ifaceIDs  []ovsdb.UUID // all its interfaces, open or failed
	no        uint32       // bridge port number while attached
	attached  bool
	// dpState is what the datapath keeps for the port (rx queues, bond).
	dpState any
}

// usesAny reports whether any of the port's interfaces (open or not) is
// in ifs.
func (p *port) usesAny(ifs map[ovsdb.UUID]bool) bool {
	for _, u := range p.ifaceIDs {
		if ifs[u] {
			return true
		}
	}
	return false
}

func (d *Daemon) detach(p *port) {
	if p.attached {
		d.dp.detach(p)
		p.attached = false
	}
}

// memberKey identifies a port's devices: its interfaces and bond settings.
func memberKey(dp desiredPort) string {
	ids := make([]string, 0, len(dp.ifaces))
	for _, u := range dp.ifaces {
		ids = append(ids, u.String())
	}
	sort.Strings(ids)
	r := dp.row
	return fmt.Sprintf("%v|%s|%s|%d|%d|%v|%v", ids, str(r["bond_mode"]), str(r["lacp"]),
		integer(r["bond_updelay"]), integer(r["bond_downdelay"]), sortedMap(r["other_config"].StringMap()), str(r["mac"]))
}

// vlanKey identifies a port's VLAN settings.
func vlanKey(r ovsdb.Row) string {
	return fmt.Sprintf("%s|%v|%v", str(r["vlan_mode"]), r["tag"].Keys, r["trunks"].Keys)
}

// openIface opens one interface's port, or records why it cannot be.
func (d *Daemon) openIface(di desiredIface, pool *dataplane.Pool, poolErr error, prevErr string) *iface {
	cfg, key := ifaceConfig(di, d.opts.Rundir)
	cfg.Pool = pool
	d.mu.Lock()
	cfg.Workers = d.dp.workers()
	_, root := d.ovsRow()
	cfg.Global = root["other_config"].StringMap()
	d.mu.Unlock()
	f := &iface{uuid: di.uuid, name: cfg.Name, typ: cfg.Type, bridge: di.bridge, port: di.port, cfgKey: key, mtuRequest: cfg.MTURequest,
		serverPath:  cfg.Options["vhost-server-path"],
		txRetries:   cfg.Options["tx-retries-max"],
		otherConfig: cfg.OtherConfig, affinity: cfg.OtherConfig["pmd-rxq-affinity"]}
	covUpdatePort.Inc()
	o, ok := opener(cfg.Type)
	if !ok {
		f.err = unsupportedError(cfg.Type)
		log.Warn("%s: %s", cfg.Name, f.err)
		return f
	}
	if poolErr != nil {
		f.err = fmt.Sprintf("no packet memory: %v", poolErr)
		log.Err("%s: %s", cfg.Name, f.err)
		return f
	}
	p, err := o(cfg)
	if err != nil {
		f.err = err.Error()
		f.retry = true
		if prevErr != f.err { // not again at every retry
			log.Warn("%s: %s", cfg.Name, f.err)
		}
		return f
	}
	f.dp = p
	log.Info("bridge %s: added interface %s (type %s)", di.bridge, cfg.Name, cfg.Type)
	return f
}

func (d *Daemon) closeIface(f *iface) {
	if b := d.bridges[f.bridge]; b != nil && f.ofport > 0 && b.ofports[f.ofport] == f.uuid {
		delete(b.ofports, f.ofport)
	}
	if f.dp != nil {
		if err := f.dp.Close(); err != nil {
			log.Warn("%s: close: %v", f.name, err)
		}
		f.dp = nil
		log.Info("bridge %s: deleted interface %s", f.bridge, f.name)
	}
}

func (d *Daemon) closeAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for u, p := range d.ports {
		d.detach(p)
		delete(d.ports, u)
	}
	for u, f := range d.ifaces {
		d.closeIface(f)
		delete(d.ifaces, u)
	}
	for name := range d.bridges {
		d.dp.delBridge(name)
		delete(d.bridges, name)
	}
	d.dp.close()
}

// assignOfport gives f its OpenFlow port number as Open vSwitch does: the
// bridge's own interface is 65534; otherwise ofport_request if free, else
// the number the row already had (stable across restarts), else the
// lowest free one. A failed interface gets -1.
func (d *Daemon) assignOfport(f *iface, row ovsdb.Row) {
	if f.err != "" {
		f.ofport = -1
		return
	}
	b := d.bridges[f.bridge]
	f.odp = d.nextODP
	d.nextODP++
	if f.name == f.bridge {
		f.ofport = OfportLocal
		b.ofports[OfportLocal] = f.uuid
		return
	}
	free := func(n int) bool {
		if n < 1 || n > ofportMax {
			return false
		}
		_, taken := b.ofports[n]
		return !taken
	}
	n := 0
	if r := int(integer(row["ofport_request"])); free(r) {
		n = r
	} else if r := int(integer(row["ofport"])); free(r) {
		n = r
	} else {
		for n = 1; !free(n) && n <= ofportMax; n++ {
		}
	}
	if n > ofportMax {
		f.err = "no free OpenFlow port number"
		f.ofport = -1
		return
	}
	f.ofport = n
	b.ofports[n] = f.uuid
}

// statusOps returns updates for the Interface columns that differ from the
// replica. withStats adds the statistics column of every interface;
// without it only interfaces that have never had statistics get theirs
// (reconfigure must not write counters that move with traffic: each write
// comes back as an update and would trigger another pass, forever).
func (d *Daemon) statusOps(withStats bool) []op {
	ids := make([]ovsdb.UUID, 0, len(d.ifaces))
	for u := range d.ifaces {
		ids = append(ids, u)
	}
	sort.Slice(ids, func(i, j int) bool { return d.ifaces[ids[i]].name < d.ifaces[ids[j]].name })
	var ops []op
	var links kernelLinks
	for _, u := range ids {
		f := d.ifaces[u]
		row := d.db["Interface"][u]
		if row == nil {
			continue
		}
		set := map[string]any{}
		if integer(row["ofport"]) != int64(f.ofport) || row["ofport"].Len() == 0 {
			set["ofport"] = f.ofport
		}
		if f.err != "" {
			if str(row["error"]) != f.err {
				set["error"] = f.err
			}
		} else if row["error"].Len() != 0 {
			set["error"] = emptySet
		}
		if f.dp != nil {
			d.portStatus(f, row, set, withStats || row["statistics"].Len() == 0, &links)
		}
		if len(set) > 0 {
			ops = append(ops, updateOp("Interface", u, set))
		}
	}
	for _, p := range d.ports {
		ops = append(ops, d.portStatusOps(p)...)
	}
	return append(ops, d.bridgeStatusOps()...)
}

// unsupportedKey is the Bridge status key that lists configured features
// gvswitch does not implement.
const unsupportedKey = "gvswitch-unsupported"

// unsupportedBridgeFeatures names what is configured on a bridge (or its
// ports) that gvswitch does not do, "" when nothing.
func unsupportedBridgeFeatures(row ovsdb.Row, db replica) string {
	var out []string
	for _, c := range []string{"stp_enable", "rstp_enable", "mcast_snooping_enable"} {
		if boolean(row[c]) {
			out = append(out, c)
		}
	}
	for _, c := range []string{"mirrors", "netflow", "sflow", "ipfix", "auto_attach"} {
		if row[c].Len() > 0 {
			out = append(out, c)
		}
	}
	for _, pu := range row["ports"].UUIDs() {
		if p := db["Port"][pu]; p != nil && p["qos"].Len() > 0 {
			out = append(out, "qos (port "+str(p["name"])+")")
		}
	}
	return strings.Join(out, ", ")
}

// bridgeStatusOps writes Bridge datapath_id (other_config:datapath-id, else
// "0000" and the local port's MAC) and datapath_version, as
// ovs-vswitchd does.
func (d *Daemon) bridgeStatusOps() []op {
	var ops []op
	for _, b := range d.sortedBridges() {
		row := d.db["Bridge"][b.uuid]
		if row == nil {
			continue
		}
		dpid := row["other_config"].StringMap()["datapath-id"]
		if dpid == "" {
			for _, f := range d.ifaces {
				if f.bridge == b.name && f.name == b.name && f.dp != nil {
					m := f.dp.MAC()
					dpid = fmt.Sprintf("0000%02x%02x%02x%02x%02x%02x", m[0], m[1], m[2], m[3], m[4], m[5])
				}
			}
		}
		set := map[string]any{}
		if dpid != "" && str(row["datapath_id"]) != dpid {
			set["datapath_id"] = dpid
		}
		// Features gvswitch does not have are refused where the user
		// looks (Bridge status) and in the log, never silently dropped.
		st := row["status"].StringMap()
		want := unsupportedBridgeFeatures(row, d.db)
		if st[unsupportedKey] != want {
			if want == "" {
				delete(st, unsupportedKey)
			} else {
				st[unsupportedKey] = want
				log.Err("bridge %s: gvswitch does not support %s; ignored", b.name, want)
			}
			set["status"] = mapOf(st)
		}
		if str(row["datapath_version"]) != "<built-in>" {
			set["datapath_version"] = "<built-in>"
		}
		if len(set) > 0 {
			ops = append(ops, updateOp("Bridge", b.uuid, set))
		}
	}
	return ops
}

// kernelLinks are the kernel's interfaces by name, listed on first use
// (one netlink dump for a whole status pass, not one per interface).
type kernelLinks struct {
	byName map[string]net.Interface
	listed bool
}

func (k *kernelLinks) lookup(name string) (net.Interface, bool) {
	if !k.listed {
		k.listed = true
		if l, err := net.Interfaces(); err == nil {
			k.byName = make(map[string]net.Interface, len(l))
			for _, ni := range l {
				k.byName[ni.Name] = ni
			}
		}
	}
	ni, ok := k.byName[name]
	return ni, ok
}

// portStatus adds the columns that describe a running port.
func (d *Daemon) portStatus(f *iface, row ovsdb.Row, set map[string]any, withStats bool, links *kernelLinks) {
	p := f.dp
	mac := net.HardwareAddr(func() []byte { m := p.MAC(); return m[:] }()).String()
	if str(row["mac_in_use"]) != mac {
		set["mac_in_use"] = mac
	}
	if mtu := int64(p.MTU()); integer(row["mtu"]) != mtu || row["mtu"].Len() == 0 {
		set["mtu"] = mtu
	}
	link := "down"
	if p.Link() {
		link = "up"
	}
	if str(row["link_state"]) != link {
		set["link_state"] = link
	}
	// Kernel devices: ifindex, and admin_state from IFF_UP; other ports
	// are administratively up while open, as in OVS-DPDK.
	admin := "up"
	if f.typ == "system" || f.typ == "internal" {
		if ni, ok := links.lookup(f.name); ok {
			if integer(row["ifindex"]) != int64(ni.Index) || row["ifindex"].Len() == 0 {
				set["ifindex"] = ni.Index
			}
			if ni.Flags&net.FlagUp == 0 {
				admin = "down"
			}
		}
	}
	if str(row["admin_state"]) != admin {
		set["admin_state"] = admin
	}
	if sr, ok := p.(dataplane.StatusReporter); ok {
		st := sr.Status()
		if sortedMap(st) != sortedMap(row["status"].StringMap()) {
			set["status"] = mapOf(st)
		}
	}
	if withStats {
		if m := statsMap(p); !sameIntMap(m, row["statistics"]) {
			set["statistics"] = m
			covStatsWritten.Inc()
		}
	}
}

func statsMap(p dataplane.Port) ovsMap {
	s := p.Stats()
	m := map[string]uint64{
		"rx_packets": s.RxPackets, "rx_bytes": s.RxBytes, "rx_dropped": s.RxDropped, "rx_errors": s.RxErrors,
		"tx_packets": s.TxPackets, "tx_bytes": s.TxBytes, "tx_dropped": s.TxDropped, "tx_errors": s.TxErrors,
	}
	if es, ok := p.(dataplane.ExtraStats); ok {
		for k, v := range es.ExtraStats() {
			m[k] = v
		}
	}
	return mapOf(m)
}

// mtuSetter is implemented by ports that change their MTU in place.
type mtuSetter interface {
	SetMTU(int) error
}

// applyMTU applies a new mtu_request to an open port without reopening
// it; it reports false when the port cannot, and must be reopened.
func (d *Daemon) applyMTU(f *iface, mtu int) bool {
	ms, ok := f.dp.(mtuSetter)
	if f.dp == nil || !ok {
		return false
	}
	want := mtu
	if want == 0 {
		want = 1500 // mtu_request cleared: back to the default
	}
	if err := ms.SetMTU(want); err != nil {
		log.Warn("%s: mtu_request %d: %v", f.name, mtu, err)
		return false
	}
	f.mtuRequest = mtu
	log.Info("%s: MTU set to %d", f.name, want)
	return true
}

// socketPathSetter is implemented by vhost-user ports, which move to a
// new socket without being recreated.
type socketPathSetter interface {
	SetSocketPath(string) error
}

// applySocketPath applies a new options:vhost-server-path in place; false
// when the port must be reopened instead.
func (d *Daemon) applySocketPath(f *iface, path string) bool {
	ss, ok := f.dp.(socketPathSetter)
	if f.dp == nil || !ok || path == "" {
		return false
	}
	if err := ss.SetSocketPath(path); err != nil {
		log.Warn("%s: vhost-server-path %s: %v", f.name, path, err)
		return false
	}
	f.serverPath = path
	return true
}

// txRetriesSetter is implemented by vhost-user ports.
type txRetriesSetter interface {
	SetTxRetries(string)
}

// applyTxRetries applies a changed options:tx-retries-max in place (other
// port types ignore the option, as OVS does).
func (d *Daemon) applyTxRetries(f *iface, v string) {
	if v == f.txRetries {
		return
	}
	if ts, ok := f.dp.(txRetriesSetter); ok {
		ts.SetTxRetries(v)
	}
	f.txRetries = v
}

// retryFailed tries again to open the interfaces whose open failed (their
// device may exist now: libvirt creates its tap, a guest starts its
// socket), as OVS does; it returns the ones that opened. A failure again
// leaves the placeholder, and its port, alone.
func (d *Daemon) retryFailed() map[ovsdb.UUID]*iface {
	d.mu.Lock()
	c := d.desired()
	var cands []desiredIface
	prev := map[ovsdb.UUID]string{}
	for u, f := range d.ifaces {
		if !f.retry {
			continue
		}
		if di, ok := c.ifaces[u]; ok {
			if _, key := ifaceConfig(di, d.opts.Rundir); key == f.cfgKey {
				cands = append(cands, di)
				prev[u] = f.err
			}
		}
	}
	var pool *dataplane.Pool
	var perr error
	if len(cands) > 0 {
		pool, perr = d.dp.pool()
	}
	d.mu.Unlock()
	out := map[ovsdb.UUID]*iface{}
	for _, di := range cands {
		if f := d.openIface(di, pool, perr, prev[di.uuid]); f.dp != nil {
			out[di.uuid] = f
		}
	}
	return out
}

// hasRetries reports whether an interface failed to open and may work
// now (e.g. libvirt's tap appears after add-port).
func (d *Daemon) hasRetries() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, f := range d.ifaces {
		if f.retry {
			return true
		}
	}
	return false
}

// Crash limit: a device whose polling panics this many times within
// panicWindow is not reopened again until its configuration changes.
const (
	panicLimit  = 3
	panicWindow = time.Minute
)

// disabledIface is an interface given up on after repeated crashes.
type disabledIface struct {
	key string // the configuration it crashed with
	msg string // its Interface error
}

// markBroken marks the interface whose device is dp for reopening (a PMD
// panicked while polling it: its queue is quarantined until then), or,
// after panicLimit crashes in panicWindow, disables it with an error.
func (d *Daemon) markBroken(dp dataplane.Port, v any) {
	d.mu.Lock()
	now := time.Now()
	for _, f := range d.ifaces {
		if f.dp != dp {
			continue
		}
		f.broken = true
		times := append(d.panics[f.uuid], now)
		for len(times) > 0 && now.Sub(times[0]) > panicWindow {
			times = times[1:]
		}
		d.panics[f.uuid] = times
		if len(times) >= panicLimit {
			msg := fmt.Sprintf("device disabled: polling it crashed %d times within %v (last: %v); change its configuration to try again", len(times), panicWindow, v)
			d.disabled[f.uuid] = disabledIface{key: f.cfgKey, msg: msg}
			log.Err("%s: %s", f.name, msg)
		}
	}
	d.mu.Unlock()
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// queuesChanged is called by ports (from their own goroutines) when their
// queue count changed.
func (d *Daemon) queuesChanged() {
	select {
	case d.requeue <- struct{}{}:
	default:
	}
}

// runSlowPath runs the datapath's periodic work and writes bond status
// changes (bond_active_slave, lacp_current) as soon as they happen.
func (d *Daemon) runSlowPath() error {
	d.mu.Lock()
	d.dp.tick()
	var ops []op
	for _, p := range d.ports {
		ops = append(ops, d.portStatusOps(p)...)
	}
	d.mu.Unlock()
	if len(ops) == 0 {
		return nil
	}
	if err := d.sess.transact(DBName, ops); err != nil && errors.Is(err, ErrClosed) {
		return err
	}
	return nil
}

// portStatusOps returns the Port-level status updates of p.
func (d *Daemon) portStatusOps(p *port) []op {
	if bdp, ok := d.dp.(*bridgeDatapath); ok {
		return bdp.bondStatusOps(p)
	}
	return nil
}

// writeStats writes the periodic statistics and status (every ~5 s, as
// ovs-vswitchd does).
func (d *Daemon) writeStats() error {
	d.mu.Lock()
	ops := d.statusOps(true)
	d.mu.Unlock()
	if len(ops) == 0 {
		return nil
	}
	if err := d.sess.transact(DBName, ops); err != nil {
		if errors.Is(err, ErrClosed) {
			return err
		}
		log.Dbg("writing statistics: %v", err)
	}
	return nil
}

// controllerOps refuses OpenFlow controllers: gvswitch has no OpenFlow.
// The Controller row's status says so, and it is logged.
func (d *Daemon) controllerOps() []op {
	const msg = "gvswitch does not support OpenFlow controllers"
	var ops []op
	for _, b := range d.bridges {
		row := d.db["Bridge"][b.uuid]
		for _, cu := range row["controller"].UUIDs() {
			c := d.db["Controller"][cu]
			if c == nil || c["status"].StringMap()["last_error"] == msg {
				continue
			}
			log.Err("bridge %s: controller %s refused: %s", b.name, str(c["target"]), msg)
			ops = append(ops, updateOp("Controller", cu, map[string]any{
				"is_connected": false,
				"status":       mapOf(map[string]string{"last_error": msg, "state": "VOID"}),
			}))
		}
	}
	return ops
}
