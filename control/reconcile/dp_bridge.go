package reconcile

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gvswitch/bond"
	"gvswitch/control/ovsdb"
	"gvswitch/control/unixctl"
	"gvswitch/control/unixctl/vlog"
	"gvswitch/dataplane"
	"gvswitch/fdb"
	"gvswitch/pmd"
)

// Packet memory defaults: without other_config:dpdk-socket-mem the switch
// takes 64 MiB of ordinary pages (about 28k buffers), enough for a lab
// host's kernel and vhost ports.
const defaultArenaBytes = 64 << 20

var dpLog = vlog.Module("dpif_netdev")

// bridgeDatapath is the real datapath: one packet pool, dataplane.Bridge
// per bridge, pmd.Manager polling the ports' rx queues.
type bridgeDatapath struct {
	d        *Daemon
	other    map[string]string
	arena    *dataplane.Arena
	pkts     *dataplane.Pool
	poolErr  error
	pmds     *pmd.Manager
	pmdCfg   pmd.Config
	bridges  map[string]*dataplane.Bridge
	registry *bond.Registry
	lastAge  time.Time
	captures map[string]*captureJob // by port name
}

// portState is what bridgeDatapath keeps in port.dpState.
type portState struct {
	br   *dataplane.Bridge
	rxqs []memberRxqs
	bond *bondState // nil for a plain port
}

// memberRxqs are the rx queues of one device of a port, as handed to the
// PMDs.
type memberRxqs struct {
	f      *iface
	member int // bond member index, -1 for a plain port
	qs     []*pmd.Rxq
}

func newBridgeDatapath(d *Daemon) *bridgeDatapath {
	return &bridgeDatapath{d: d, bridges: map[string]*dataplane.Bridge{}, registry: &bond.Registry{},
		captures: map[string]*captureJob{}}
}

func (b *bridgeDatapath) configure(other map[string]string) error {
	b.other = other
	maxSleep, err := pmd.ParseMaxSleep(other["pmd-maxsleep"], other["pmd-maxsleep"] != "")
	if err != nil {
		return fmt.Errorf("pmd-maxsleep: %w", err)
	}
	cfg := pmd.Config{CPUMask: other["pmd-cpu-mask"], MaxSleep: maxSleep, Assign: other["pmd-rxq-assign"]}
	if b.pmds == nil {
		m, err := pmd.NewManager(cfg, pmd.Options{
			Logger: vlog.Module("pmd").Slog(),
			OnPanic: func(core int, q *pmd.Rxq, v any) {
				name := "?"
				if q != nil {
					name = q.Port.Name()
				}
				dpLog.Err("PMD on core %d recovered from a panic while polling %s: %v; reopening it", core, name, v)
				if q != nil {
					b.d.markBroken(q.Port, v)
				}
			},
		})
		if err != nil {
			return fmt.Errorf("starting PMD threads: %w", err)
		}
		b.pmds, b.pmdCfg = m, cfg
		return nil
	}
	if cfg != b.pmdCfg {
		if err := b.pmds.Configure(cfg); err != nil {
			return fmt.Errorf("PMD configuration: %w", err)
		}
		b.pmdCfg = cfg
		dpLog.Info("PMD configuration: pmd-cpu-mask=%q pmd-rxq-assign=%q pmd-maxsleep=%v", cfg.CPUMask, cfg.Assign, cfg.MaxSleep)
	}
	return nil
}

// pool creates the packet memory on first use, sized and placed by the
// Open_vSwitch other_config keys dpdk-socket-mem (MB per NUMA node) and
// dpdk-hugepage-dir, falling back to ordinary pages with a warning.
// Changing them later needs a restart, as with Open vSwitch.
func (b *bridgeDatapath) pool() (*dataplane.Pool, error) {
	if b.pkts != nil || b.poolErr != nil {
		return b.pkts, b.poolErr
	}
	size := defaultArenaBytes
	opt := dataplane.ArenaOptions{Logger: vlog.Module("dpdk").Slog()}
	if sm := b.other["dpdk-socket-mem"]; sm != "" {
		n, err := dataplane.SocketMemBytes(sm)
		if err != nil {
			b.poolErr = err
			return nil, err
		}
		if n > 0 {
			size = n
		}
		opt.HugePages = true
		opt.HugetlbfsDir = b.other["dpdk-hugepage-dir"]
	}
	count := size / dataplane.BufferSize(dataplane.DefaultDataRoom)
	p, a, err := dataplane.NewArenaPool("packets", count, dataplane.DefaultDataRoom, opt)
	if err != nil {
		b.poolErr = fmt.Errorf("packet memory of %d MB: %w", size>>20, err)
		return nil, b.poolErr
	}
	b.arena, b.pkts = a, p
	dpLog.Info("packet memory: %d MB (%s pages), %d buffers", size>>20, map[bool]string{true: "huge", false: "ordinary"}[a.Huge()], count)
	return p, nil
}

func bridgeConfig(name string, row ovsdb.Row, other map[string]string, p *dataplane.Pool) dataplane.BridgeConfig {
	oc := row["other_config"].StringMap()
	cfg := dataplane.BridgeConfig{Name: name, Pool: p, VLANLimit: 1}
	if n, err := strconv.Atoi(oc["mac-table-size"]); err == nil && n > 0 {
		cfg.MACTableSize = n
	}
	if n, err := strconv.Atoi(oc["mac-aging-time"]); err == nil && n > 0 {
		cfg.MACAgingTime = time.Duration(n) * time.Second
	}
	if n, err := strconv.Atoi(other["vlan-limit"]); err == nil && n >= 0 {
		cfg.VLANLimit = n
	}
	for _, k := range row["flood_vlans"].Keys {
		if v, ok := k.(int64); ok {
			cfg.FloodVLANs = append(cfg.FloodVLANs, uint16(v))
		}
	}
	return cfg
}

func (b *bridgeDatapath) addBridge(name string, row ovsdb.Row) error {
	p, err := b.pool()
	if err != nil {
		return err
	}
	if dt := str(row["datapath_type"]); dt != "" && dt != "netdev" && dt != "system" {
		return fmt.Errorf("datapath_type %q: %w", dt, dataplane.ErrUnsupported)
	}
	br, err := dataplane.NewBridge(bridgeConfig(name, row, b.other, p))
	if err != nil {
		return err
	}
	b.bridges[name] = br
	return nil
}

func (b *bridgeDatapath) configureBridge(name string, row ovsdb.Row) {
	br := b.bridges[name]
	if br == nil {
		return
	}
	cfg := bridgeConfig(name, row, b.other, b.pkts)
	if err := br.SetFloodVLANs(cfg.FloodVLANs); err != nil {
		dpLog.Warn("bridge %s: flood_vlans: %v", name, err)
	}
	if err := br.SetVLANLimit(cfg.VLANLimit); err != nil {
		dpLog.Warn("bridge %s: vlan-limit: %v", name, err)
	}
	// MAC table settings apply at run time (0 restores the default).
	t := br.FDB()
	if cfg.MACAgingTime != t.AgingTime() && !(cfg.MACAgingTime == 0 && t.AgingTime() == fdb.DefaultAgingTime) {
		t.SetAgingTime(cfg.MACAgingTime)
		dpLog.Info("bridge %s: mac-aging-time %v", name, t.AgingTime())
	}
	if err := t.SetMaxEntries(cfg.MACTableSize); err != nil {
		dpLog.Warn("bridge %s: mac-table-size: %v", name, err)
	}
}

func (b *bridgeDatapath) delBridge(name string) {
	delete(b.bridges, name)
}

// portConfig is a Port row's VLAN settings for the bridge.
func portConfig(p *port, row ovsdb.Row) (dataplane.PortConfig, error) {
	mode, err := dataplane.ParseVLANMode(str(row["vlan_mode"]))
	if err != nil {
		return dataplane.PortConfig{}, err
	}
	cfg := dataplane.PortConfig{Name: p.name, VLANMode: mode}
	if row["tag"].Len() > 0 {
		cfg.Tag, cfg.HasTag = uint16(integer(row["tag"])), true
	}
	for _, k := range row["trunks"].Keys {
		if v, ok := k.(int64); ok {
			cfg.Trunks = append(cfg.Trunks, uint16(v))
		}
	}
	return cfg, nil
}

func (b *bridgeDatapath) attach(p *port, row ovsdb.Row) error {
	br := b.bridges[p.bridge]
	if br == nil || b.pmds == nil {
		return fmt.Errorf("bridge %s is not running", p.bridge)
	}
	cfg, err := portConfig(p, row)
	if err != nil {
		return err
	}
	// A Port with several interfaces is a bond, even while only one of
	// them is open.
	if len(p.ifaceIDs) > 1 {
		return b.attachBond(p, row, br, cfg)
	}
	f := p.members[0]
	cfg.Port = f.dp
	no := uint32(f.ofport)
	if err := br.AddPort(no, cfg); err != nil {
		return err
	}
	st := &portState{br: br}
	st.rxqs = []memberRxqs{{f: f, member: -1, qs: b.addRxqs(br, no, -1, f)}}
	p.no, p.attached, p.dpState = no, true, st
	return nil
}

// queueNotifier is implemented by ports whose queue count changes at run
// time (a vhost-user guest negotiating queues).
type queueNotifier interface {
	SetQueueChangeNotify(func())
}

// countBurst files what the bridge did with a burst of n packets in the
// PMD's pmd-stats-show counters, in OVS's terms: a hit in the worker's
// exact-match cache is an "emc hit", every other packet (an FDB lookup, a
// flood) a "megaflow hit" of one subtable lookup.
func countBurst(t *pmd.Thread, n int, s dataplane.BurstStats) {
	t.Add(pmd.EMCHits, uint64(s.CacheHits))
	if mf := uint64(n) - uint64(s.CacheHits); mf > 0 {
		t.Add(pmd.MegaflowHits, mf)
		t.Add(pmd.MegaflowLookups, mf)
	}
	if s.Batches != 0 {
		t.Add(pmd.SentPackets, uint64(s.Sent))
		t.Add(pmd.SentBatches, uint64(s.Batches))
	}
}

// addRxqs hands the rx queues of one device to the PMDs, each burst going
// to br.Process as coming from bridge port no (bond member member).
func (b *bridgeDatapath) addRxqs(br *dataplane.Bridge, no uint32, member int, f *iface) []*pmd.Rxq {
	if qn, ok := f.dp.(queueNotifier); ok {
		qn.SetQueueChangeNotify(b.d.queuesChanged)
	}
	aff := parseAffinity(f)
	var qs []*pmd.Rxq
	for q := 0; q < f.dp.NumRxQueues(); q++ {
		rq := pmd.NewRxq(f.dp, q, func(t *pmd.Thread, _ *pmd.Rxq, pkts []*dataplane.Packet) {
			countBurst(t, len(pkts), br.Process(t.TxQueue(), no, member, pkts))
		})
		if c, ok := aff[q]; ok {
			rq.Affinity = c
		}
		if err := b.pmds.AddRxq(rq); err != nil {
			dpLog.Err("%s: rx queue %d: %v", f.name, q, err)
			continue
		}
		qs = append(qs, rq)
	}
	return qs
}

// parseAffinity reads Interface other_config:pmd-rxq-affinity
// ("QUEUE:CORE,..."); bad entries are logged and skipped.
func parseAffinity(f *iface) map[int]int {
	out := map[int]int{}
	if f.affinity == "" {
		return out
	}
	for _, e := range strings.Split(f.affinity, ",") {
		q, c, ok := strings.Cut(strings.TrimSpace(e), ":")
		qi, err1 := strconv.Atoi(q)
		ci, err2 := strconv.Atoi(c)
		if !ok || err1 != nil || err2 != nil || qi < 0 || ci < 0 {
			dpLog.Warn("%s: bad pmd-rxq-affinity entry %q", f.name, e)
			continue
		}
		out[qi] = ci
	}
	return out
}

func (b *bridgeDatapath) removeRxqs(f *iface, qs []*pmd.Rxq) {
	if qn, ok := f.dp.(queueNotifier); ok {
		qn.SetQueueChangeNotify(nil)
	}
	for _, q := range qs {
		b.pmds.RemoveRxq(q)
	}
}

// requeue gives the PMDs the current rx queues of every device whose
// queue count changed since it was attached.
func (b *bridgeDatapath) requeue(p *port) {
	st, ok := p.dpState.(*portState)
	if !ok {
		return
	}
	for i, m := range st.rxqs {
		if n := m.f.dp.NumRxQueues(); n != len(m.qs) {
			b.removeRxqs(m.f, m.qs)
			st.rxqs[i].qs = b.addRxqs(st.br, p.no, m.member, m.f)
			dpLog.Info("%s: now %d rx queue(s)", m.f.name, n)
		}
	}
}

// workers is the number of goroutines that may transmit (PMDs and the
// main thread): ports with that many tx queues need no tx lock.
func (b *bridgeDatapath) workers() int {
	if b.pmds == nil {
		return 1
	}
	return len(b.pmds.Threads()) + 1
}

func (b *bridgeDatapath) reconfigurePort(p *port, row ovsdb.Row) error {
	st, ok := p.dpState.(*portState)
	if !ok {
		return nil
	}
	cfg, err := portConfig(p, row)
	if err != nil {
		return err
	}
	b.fillDevices(p, &cfg)
	return st.br.SetPortConfig(p.no, cfg)
}

func (b *bridgeDatapath) detach(p *port) {
	st, ok := p.dpState.(*portState)
	if !ok {
		return
	}
	b.stopCaptureLocked(p.name)
	for _, m := range st.rxqs {
		b.removeRxqs(m.f, m.qs)
	}
	if _, err := st.br.RemovePort(p.no); err != nil {
		dpLog.Warn("port %s: %v", p.name, err)
	}
	b.detachBond(p)
	p.dpState = nil
}

func (b *bridgeDatapath) tick() {
	now := time.Now()
	if now.Sub(b.lastAge) >= time.Second {
		for _, br := range b.bridges {
			br.Expire()
		}
		b.lastAge = now
	}
	b.runBonds(now)
}

func (b *bridgeDatapath) close() {
	if b.pmds != nil {
		b.pmds.Close()
		b.pmds = nil
	}
	b.bridges = map[string]*dataplane.Bridge{}
	// The arena stays mapped: ports closed above may still hold
	// buffers in flight until the process exits.
}

// registerCommands adds the bridge and PMD commands.
func (b *bridgeDatapath) registerCommands(s *unixctl.Server) error {
	cmds := []unixctlCommand{
		{"fdb/show", "bridge", 1, 1, b.fdbShow},
		{"fdb/flush", "[bridge]", 0, 1, b.fdbFlush},
		{"fdb/stats-show", "bridge", 1, 1, b.fdbStats},
		{"fdb/stats-clear", "[bridge]", 0, 1, b.fdbStatsClear},
		{"fdb/add", "bridge port vlan mac", 4, 4, b.fdbAdd},
		{"fdb/del", "bridge vlan mac", 3, 3, b.fdbDel},
		{"capture/start", "port file [count]", 2, 3, b.captureStart},
		{"capture/stop", "port", 1, 1, b.captureStop},
		{"capture/show", "", 0, 0, b.captureShow},
		{"dpif-netdev/pmd-stats-show", "[-pmd core] [dp]", 0, 3, b.pmdStats},
		{"dpif-netdev/pmd-stats-clear", "[-pmd core] [dp]", 0, 3, b.pmdStatsClear},
		{"dpif-netdev/pmd-rxq-show", "[-pmd core] [-secs secs] [dp]", 0, 5, b.pmdRxqs},
		{"dpif-netdev/pmd-perf-show", "[-nh] [-it iter-history-len] [-ms ms-history-len] [-pmd core] [dp]", 0, 8, b.pmdPerf},
		{"dpif-netdev/pmd-rxq-rebalance", "[dp]", 0, 1, b.pmdRebalance},
	}
	if err := registerAll(s, cmds); err != nil {
		return err
	}
	return b.registerBondCommands(s)
}

// unixctlCommand is a command a datapath registers, with the arguments of
// unixctl.Server.Register.
type unixctlCommand struct {
	name, usage string
	min, max    int
	fn          unixctl.Handler
}

// registerAll registers cmds in order, stopping at the first error.
func registerAll(s *unixctl.Server, cmds []unixctlCommand) error {
	for _, c := range cmds {
		if err := s.Register(c.name, c.usage, c.min, c.max, c.fn); err != nil {
			return err
		}
	}
	return nil
}

// withBridge runs fn on the named bridge under the daemon's lock.
func (b *bridgeDatapath) withBridge(name string, fn func(*dataplane.Bridge) (string, error)) (string, error) {
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	br := b.bridges[name]
	if br == nil {
		return "", errNoSuchBridge
	}
	return fn(br)
}

var errNoSuchBridge = unixctlError("no such bridge")

// unixctlError is a command error whose text ovs-appctl prints as is.
type unixctlError string

func (e unixctlError) Error() string { return string(e) }

func (b *bridgeDatapath) fdbShow(args []string) (string, error) {
	return b.withBridge(args[0], func(br *dataplane.Bridge) (string, error) {
		var buf bytes.Buffer
		err := br.WriteFDBShow(&buf)
		return buf.String(), err
	})
}

func (b *bridgeDatapath) fdbStats(args []string) (string, error) {
	return b.withBridge(args[0], func(br *dataplane.Bridge) (string, error) {
		var buf bytes.Buffer
		err := br.WriteFDBStats(&buf)
		return buf.String(), err
	})
}

func (b *bridgeDatapath) fdbFlush(args []string) (string, error) {
	if len(args) == 1 {
		return b.withBridge(args[0], func(br *dataplane.Bridge) (string, error) {
			br.FDB().Flush()
			return "table successfully flushed\n", nil
		})
	}
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	for _, br := range b.bridges {
		br.FDB().Flush()
	}
	return "table successfully flushed\n", nil
}

func (b *bridgeDatapath) fdbStatsClear(args []string) (string, error) {
	if len(args) == 1 {
		return b.withBridge(args[0], func(br *dataplane.Bridge) (string, error) {
			br.FDB().ClearStats()
			return "statistics successfully cleared\n", nil
		})
	}
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	for _, br := range b.bridges {
		br.FDB().ClearStats()
	}
	return "statistics successfully cleared\n", nil
}

// atoiVLAN reads a VLAN argument as ovs-vswitchd does (C atoi into a
// uint16): leading digits, 0 when there are none, no error. ok is false
// for a value no MAC table entry can carry (above 4095), which OVS
// accepts and we ignore.
func atoiVLAN(s string) (vlan uint16, ok bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	v := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9' && v < 1<<20; i++ {
		v = v*10 + int(s[i]-'0')
	}
	if neg {
		v = -v
	}
	return uint16(v), uint16(v) <= 4095
}

var errBadMAC = unixctlError("bad MAC address")

// fdbAdd is fdb/add BRIDGE PORT VLAN MAC: a static MAC entry, never aged
// or moved (Open vSwitch 2.17+). Checks in ovs-vswitchd's order: bridge,
// MAC, port; the VLAN is never refused.
func (b *bridgeDatapath) fdbAdd(args []string) (string, error) {
	return b.withBridge(args[0], func(br *dataplane.Bridge) (string, error) {
		mac, ok := parseMAC(args[3])
		if !ok {
			return "", errBadMAC
		}
		for _, p := range b.d.ports {
			if p.bridge == args[0] && p.name == args[1] && p.attached {
				vlan, ok := atoiVLAN(args[2])
				if !ok {
					return "", nil
				}
				if err := br.FDB().AddStatic(vlan, mac, p.no, br.Now()); err != nil {
					return "", unixctlError("could not add static mac entry")
				}
				return "", nil
			}
		}
		// ovs-vswitchd 3.1's words for a port it does not have.
		return "", unixctlError("software error, odp port is present but no ofp port")
	})
}

// fdbDel is fdb/del BRIDGE VLAN MAC: removes a static entry.
func (b *bridgeDatapath) fdbDel(args []string) (string, error) {
	return b.withBridge(args[0], func(br *dataplane.Bridge) (string, error) {
		mac, ok := parseMAC(args[2])
		if !ok {
			return "", errBadMAC
		}
		if vlan, ok := atoiVLAN(args[1]); !ok || !br.FDB().DelStatic(vlan, mac) {
			return "", unixctlError("could not find static mac entry")
		}
		return "", nil
	})
}

// checkDP refuses a datapath name other than ours, as dpif-netdev does.
func checkDP(dp string) error {
	if dp != "" && dp != "netdev@ovs-netdev" && dp != "ovs-netdev" {
		return unixctlError("please specify an existing datapath")
	}
	return nil
}

func (b *bridgeDatapath) pmdManager() (*pmd.Manager, error) {
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	if b.pmds == nil {
		return nil, unixctlError("datapath not running")
	}
	return b.pmds, nil
}

// pmdCommand parses the arguments of a dpif-netdev/pmd-* command (-secs
// is allowed for pmd-rxq-show only) and finds the PMD manager of the
// datapath they name.
func (b *bridgeDatapath) pmdCommand(args []string, allowSecs bool) (*pmd.Manager, pmd.Filter, error) {
	f, dp := pmd.ParseArgs(args, allowSecs)
	if err := checkDP(dp); err != nil {
		return nil, f, err
	}
	m, err := b.pmdManager()
	return m, f, err
}

func (b *bridgeDatapath) pmdStats(args []string) (string, error) {
	m, f, err := b.pmdCommand(args, false)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	err = m.WriteStats(&buf, f)
	return buf.String(), err
}

func (b *bridgeDatapath) pmdStatsClear(args []string) (string, error) {
	m, f, err := b.pmdCommand(args, false)
	if err != nil {
		return "", err
	}
	m.ClearStats(f)
	return "", nil
}

func (b *bridgeDatapath) pmdRxqs(args []string) (string, error) {
	m, f, err := b.pmdCommand(args, true)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	err = m.WriteRxqs(&buf, f)
	return buf.String(), err
}

func (b *bridgeDatapath) pmdPerf(args []string) (string, error) {
	var rest []string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-nh":
		case "-it", "-ms":
			i++ // history lengths: gvswitch keeps no per-iteration history
		default:
			rest = append(rest, args[i])
		}
	}
	m, f, err := b.pmdCommand(rest, false)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	err = m.WritePerf(&buf, f)
	return buf.String(), err
}

func (b *bridgeDatapath) pmdRebalance(args []string) (string, error) {
	if len(args) == 1 {
		if err := checkDP(args[0]); err != nil {
			return "", err
		}
	}
	m, err := b.pmdManager()
	if err != nil {
		return "", err
	}
	m.Rebalance()
	return "pmd rxq rebalance requested.\n", nil
}

// lookupStats sums the bridges' hit/missed counters for dpif/show.
func (b *bridgeDatapath) lookupStats() (hit, missed uint64) {
	for _, br := range b.bridges {
		h, m := br.LookupStats()
		hit += h
		missed += m
	}
	return hit, missed
}

// fillDevices puts the port's devices (as attached) into cfg.
func (b *bridgeDatapath) fillDevices(p *port, cfg *dataplane.PortConfig) {
	if bs, ok := b.bondOf(p); ok {
		cfg.Members = bs.devices
		cfg.Bond = bs.bond
		return
	}
	cfg.Port = p.members[0].dp
}
