package reconcile

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"gvswitch/bond"
	"gvswitch/control/ovsdb"
	"gvswitch/control/unixctl"
	"gvswitch/control/unixctl/vlog"
	"gvswitch/dataplane"
	"gvswitch/lacp"
)

var bondLog = vlog.Module("bond")

// bondState is a bond port as the datapath runs it.
type bondState struct {
	bond    *bond.Bond
	br      *dataplane.Bridge
	no      uint32
	devices []dataplane.Port // by member index (bridge member numbers)
	members []*iface         // same indexes
	carrier []bool
	// activeMAC is bond_active_slave as last written (or to write).
	activeMAC string
	// lacpCurrent is each member's Interface lacp_current to write.
	lacpCurrent []*bool
}

func parseMAC(s string) ([6]byte, bool) {
	var m [6]byte
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return m, false
	}
	copy(m[:], hw)
	return m, true
}

func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

// bondConfig reads a bond's Port row as vswitch.xml documents its columns.
func (b *bridgeDatapath) bondConfig(p *port, row ovsdb.Row) (bond.Config, error) {
	oc := row["other_config"].StringMap()
	modeName := str(row["bond_mode"])
	if modeName == "" {
		modeName = "active-backup"
	}
	mode, err := bond.ParseMode(modeName)
	if err != nil {
		return bond.Config{}, err
	}
	cfg := bond.Config{
		Name:              p.name,
		Mode:              mode,
		UpDelay:           time.Duration(integer(row["bond_updelay"])) * time.Millisecond,
		DownDelay:         time.Duration(integer(row["bond_downdelay"])) * time.Millisecond,
		HashBasis:         uint32(atoiOr(oc["bond-hash-basis"], 0)),
		RebalanceInterval: time.Duration(atoiOr(oc["bond-rebalance-interval"], int(bond.DefaultRebalanceInterval/time.Millisecond))) * time.Millisecond,
		Primary:           oc["bond-primary"],
		AllMembersActive:  oc["all-members-active"] == "true",
		FallbackAB:        oc["lacp-fallback-ab"] == "true",
	}
	if m, ok := parseMAC(str(row["bond_active_slave"])); ok {
		cfg.ActiveMemberMAC = m
	}
	switch l := str(row["lacp"]); l {
	case "active", "passive":
		lc := &lacp.Config{Name: p.name, Active: l == "active", Fast: oc["lacp-time"] == "fast",
			SystemPriority: uint16(atoiOr(oc["lacp-system-priority"], 0)), FallbackAB: cfg.FallbackAB}
		if m, ok := parseMAC(oc["lacp-system-id"]); ok {
			lc.SystemID = m
		} else {
			lc.SystemID = b.bridgeMAC(p)
		}
		cfg.LACP = lc
	case "", "off":
	default:
		return bond.Config{}, fmt.Errorf("lacp %q: want active, passive or off", l)
	}
	return cfg, nil
}

// bridgeMAC is the MAC of the bridge's local port, else of the bond's
// first member (LACP needs a nonzero system ID).
func (b *bridgeDatapath) bridgeMAC(p *port) [6]byte {
	for _, f := range b.d.ifaces {
		if f.name == p.bridge && f.bridge == p.bridge && f.dp != nil {
			if m := f.dp.MAC(); m != ([6]byte{}) {
				return m
			}
		}
	}
	for _, f := range p.members {
		if m := f.dp.MAC(); m != ([6]byte{}) {
			return m
		}
	}
	return [6]byte{0x02, 0, 0, 0, 0, 1}
}

func (b *bridgeDatapath) attachBond(p *port, row ovsdb.Row, br *dataplane.Bridge, cfg dataplane.PortConfig) error {
	bc, err := b.bondConfig(p, row)
	if err != nil {
		return err
	}
	now := time.Now()
	bd, err := bond.New(bc, now)
	if err != nil {
		return err
	}
	bs := &bondState{bond: bd, br: br}
	for _, f := range p.members {
		mc := bond.MemberConfig{Name: f.name, MAC: f.dp.MAC()}
		oc := f.otherConfig
		mc.LACP = lacp.MemberConfig{
			PortID:       uint16(atoiOr(oc["lacp-port-id"], f.ofport)),
			PortPriority: uint16(atoiOr(oc["lacp-port-priority"], 0)),
			Key:          uint16(atoiOr(oc["lacp-aggregation-key"], 0)),
		}
		idx, err := bd.SetMember(mc, f.dp.Link(), now)
		if err != nil {
			return err
		}
		for len(bs.devices) <= idx {
			bs.devices = append(bs.devices, nil)
			bs.members = append(bs.members, nil)
			bs.carrier = append(bs.carrier, false)
			bs.lacpCurrent = append(bs.lacpCurrent, nil)
		}
		bs.devices[idx], bs.members[idx], bs.carrier[idx] = f.dp, f, f.dp.Link()
	}
	cfg.Members, cfg.Bond = bs.devices, bd
	// The bond's bridge port number is its first member's OpenFlow port,
	// the number OVS shows for the bond's MAC entries in fdb/show.
	no := uint32(p.members[0].ofport)
	if err := br.AddPort(no, cfg); err != nil {
		return err
	}
	if err := b.registry.Add(bd); err != nil {
		br.RemovePort(no)
		return err
	}
	bs.no = no
	st := &portState{br: br, bond: bs}
	for idx, f := range bs.members {
		if f != nil {
			st.rxqs = append(st.rxqs, memberRxqs{f: f, member: idx, qs: b.addRxqs(br, no, idx, f)})
		}
	}
	p.no, p.attached, p.dpState = no, true, st
	bondLog.Info("bond %s: added with %d members, bond_mode %s, lacp %s", p.name, len(p.members), bc.Mode, str(row["lacp"]))
	return nil
}

func (b *bridgeDatapath) bondOf(p *port) (*bondState, bool) {
	st, ok := p.dpState.(*portState)
	if !ok || st.bond == nil {
		return nil, false
	}
	return st.bond, true
}

func (b *bridgeDatapath) detachBond(p *port) {
	if bs, ok := b.bondOf(p); ok {
		b.registry.Remove(bs.bond.Name())
	}
}

// runBonds is the bonds' slow path: slow-protocol frames from the
// bridges go to their bond's LACP, member carriers are sampled, timers
// run, and the frames LACP wants sent (and the learning packets after a
// failover) are injected on the members.
func (b *bridgeDatapath) runBonds(now time.Time) {
	var frames [64]dataplane.SlowFrame
	for _, br := range b.bridges {
		for {
			n := br.ReadSlowPath(frames[:])
			for _, sf := range frames[:n] {
				if bs := b.bondByNo(br, sf.Port); bs != nil && sf.Member >= 0 {
					out, err := bs.bond.HandleLACP(sf.Member, sf.Pkt.Data(), now)
					if err != nil {
						bondLog.Dbg("%v", err)
					}
					b.send(bs, out)
				}
				sf.Pkt.Free()
			}
			if n < len(frames) {
				break
			}
		}
	}
	for _, p := range b.d.ports {
		bs, ok := b.bondOf(p)
		if !ok {
			continue
		}
		for idx, dev := range bs.devices {
			if dev == nil {
				continue
			}
			if up := dev.Link(); up != bs.carrier[idx] {
				bs.carrier[idx] = up
				bs.bond.SetCarrier(idx, up, now)
				bondLog.Info("bond %s: member %s: link %s", p.name, bs.members[idx].name, map[bool]string{true: "up", false: "down"}[up])
			}
		}
		b.send(bs, bs.bond.Run(now))
		if bs.bond.ShouldSendLearningPackets() {
			b.sendLearning(bs)
		}
		if mac, changed := bs.bond.ActiveMemberChanged(false); changed {
			bs.activeMAC = mac
		}
		for idx := range bs.devices {
			if cur, ok := bs.bond.LACPCurrent(idx); ok {
				v := cur
				bs.lacpCurrent[idx] = &v
			}
		}
	}
}

func (b *bridgeDatapath) bondByNo(br *dataplane.Bridge, no uint32) *bondState {
	for _, p := range b.d.ports {
		if bs, ok := b.bondOf(p); ok && bs.br == br && bs.no == no {
			return bs
		}
	}
	return nil
}

func (b *bridgeDatapath) send(bs *bondState, frames []bond.Frame) {
	for _, f := range frames {
		if err := bs.br.Inject(bs.no, f.Member, f.Frame); err != nil {
			bondLog.Dbg("bond %s: sending on member %d: %v", bs.bond.Name(), f.Member, err)
		}
	}
}

// sendLearning sends, after a failover, one gratuitous learning frame per
// MAC learned on the bridge's other ports, so the upstream switch learns
// the new path at once (OVS's bond_compose_learning_packet).
func (b *bridgeDatapath) sendLearning(bs *bondState) {
	for _, e := range bs.br.FDB().Entries() {
		if e.Port == bs.no {
			continue
		}
		var mac [6]byte
		copy(mac[:], e.MAC)
		if f, ok := bs.bond.LearningPacket(mac, e.VLAN); ok {
			b.send(bs, []bond.Frame{f})
		}
	}
}

// bondStatusOps adds what ovs-vswitchd writes for bonds: Port
// bond_active_slave and Interface lacp_current.
func (b *bridgeDatapath) bondStatusOps(p *port) []op {
	bs, ok := b.bondOf(p)
	if !ok {
		return nil
	}
	var ops []op
	prow := b.d.db["Port"][p.uuid]
	if prow != nil && bs.activeMAC != "" && str(prow["bond_active_slave"]) != bs.activeMAC {
		ops = append(ops, updateOp("Port", p.uuid, map[string]any{"bond_active_slave": bs.activeMAC}))
	}
	for idx, f := range bs.members {
		if f == nil || bs.lacpCurrent[idx] == nil {
			continue
		}
		row := b.d.db["Interface"][f.uuid]
		if row != nil && (row["lacp_current"].Len() == 0 || boolean(row["lacp_current"]) != *bs.lacpCurrent[idx]) {
			ops = append(ops, updateOp("Interface", f.uuid, map[string]any{"lacp_current": *bs.lacpCurrent[idx]}))
		}
	}
	return ops
}

func (b *bridgeDatapath) registerBondCommands(s *unixctl.Server) error {
	r := b.registry
	now := time.Now
	cmds := []unixctlCommand{
		{"bond/show", "[port]", 0, 1, func(a []string) (string, error) { return r.Show(a, now()) }},
		{"bond/list", "", 0, 0, func([]string) (string, error) { return r.List(), nil }},
		{"bond/set-active-member", "port member", 2, 2, func(a []string) (string, error) { return r.SetActiveMember(a, now()) }},
		{"bond/enable-member", "port member", 2, 2, func(a []string) (string, error) { return r.EnableMember(a, true, now()) }},
		{"bond/disable-member", "port member", 2, 2, func(a []string) (string, error) { return r.EnableMember(a, false, now()) }},
		{"bond/migrate", "port hash member", 3, 3, r.Migrate},
		{"bond/hash", "mac [vlan] [basis]", 1, 3, bond.HashCommand},
		{"lacp/show", "[port]", 0, 1, r.LACPShow},
		{"lacp/show-stats", "[port]", 0, 1, r.LACPShowStats},
	}
	return registerAll(s, cmds)
}
