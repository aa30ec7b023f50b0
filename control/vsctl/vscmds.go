package vsctl

import (
	"fmt"
	"gvswitch/control/ovsdb"
	"math"
	"sort"
	"strconv"
	"strings"
)

// The Open vSwitch commands of ovs-vsctl(8): bridges, ports, bonds,
// interfaces, controllers, managers, fail mode, SSL.
func init() {
	register(
		&commandSyntax{"init", 0, 0, "", nil, func(*context) error { return nil }, nil, "", readWrite},
		&commandSyntax{"show", 0, 0, "", preShow, cmdShow, nil, "", readOnly},
		&commandSyntax{"emer-reset", 0, 0, "", preEmerReset, cmdEmerReset, nil, "", readWrite},
		&commandSyntax{"add-br", 1, 3, "NEW-BRIDGE [PARENT] [NEW-VLAN]", preGetInfo, cmdAddBr, nil, "--may-exist", readWrite},
		&commandSyntax{"del-br", 1, 1, "BRIDGE", preGetInfo, cmdDelBr, nil, "--if-exists", readWrite},
		&commandSyntax{"list-br", 0, 0, "", preGetInfo, cmdListBr, nil, "--real,--fake", readOnly},
		&commandSyntax{"br-exists", 1, 1, "BRIDGE", preGetInfo, cmdBrExists, nil, "", readOnly},
		&commandSyntax{"br-to-vlan", 1, 1, "BRIDGE", preGetInfo, cmdBrToVlan, nil, "", readOnly},
		&commandSyntax{"br-to-parent", 1, 1, "BRIDGE", preGetInfo, cmdBrToParent, nil, "", readOnly},
		&commandSyntax{"br-set-external-id", 2, 3, "BRIDGE KEY [VALUE]", preBrExternalID, cmdBrSetExternalID, nil, "", readWrite},
		&commandSyntax{"br-get-external-id", 1, 2, "BRIDGE [KEY]", preBrExternalID, cmdBrGetExternalID, nil, "", readOnly},
		&commandSyntax{"list-ports", 1, 1, "BRIDGE", preGetInfo, cmdListPorts, nil, "", readOnly},
		&commandSyntax{"add-port", 2, math.MaxInt, "BRIDGE NEW-PORT [COLUMN[:KEY]=VALUE]...", preGetInfo, cmdAddPort, nil, "--may-exist", readWrite},
		&commandSyntax{"del-port", 1, 2, "[BRIDGE] PORT|IFACE", preGetInfo, cmdDelPort, nil, "--if-exists,--with-iface", readWrite},
		&commandSyntax{"port-to-br", 1, 1, "PORT", preGetInfo, cmdPortToBr, nil, "", readOnly},
		&commandSyntax{"add-bond", 4, math.MaxInt, "BRIDGE BOND IFACE... [COLUMN[:KEY]=VALUE]...", preGetInfo, cmdAddBond, nil, "--may-exist,--fake-iface", readWrite},
		&commandSyntax{"add-bond-iface", 2, 2, "BOND IFACE", preGetInfo, cmdAddBondIface, nil, "--may-exist", readWrite},
		&commandSyntax{"del-bond-iface", 1, 2, "[BOND] IFACE", preGetInfo, cmdDelBondIface, nil, "--if-exists", readWrite},
		&commandSyntax{"list-ifaces", 1, 1, "BRIDGE", preGetInfo, cmdListIfaces, nil, "", readOnly},
		&commandSyntax{"iface-to-br", 1, 1, "IFACE", preGetInfo, cmdIfaceToBr, nil, "", readOnly},
		&commandSyntax{"get-controller", 1, 1, "BRIDGE", preController, cmdGetController, nil, "", readOnly},
		&commandSyntax{"del-controller", 1, 1, "BRIDGE", preController, cmdDelController, nil, "", readWrite},
		&commandSyntax{"set-controller", 1, math.MaxInt, "BRIDGE TARGET...", preController, cmdSetController, nil, "--inactivity-probe=", readWrite},
		&commandSyntax{"get-fail-mode", 1, 1, "BRIDGE", preGetInfo, cmdGetFailMode, nil, "", readOnly},
		&commandSyntax{"del-fail-mode", 1, 1, "BRIDGE", preGetInfo, cmdDelFailMode, nil, "", readWrite},
		&commandSyntax{"set-fail-mode", 2, 2, "BRIDGE MODE", preGetInfo, cmdSetFailMode, nil, "", readWrite},
		&commandSyntax{"get-manager", 0, 0, "", preManager, cmdGetManager, nil, "", readOnly},
		&commandSyntax{"del-manager", 0, 0, "", preManager, cmdDelManager, nil, "", readWrite},
		&commandSyntax{"set-manager", 1, math.MaxInt, "TARGET...", preManager, cmdSetManager, nil, "--inactivity-probe=", readWrite},
		&commandSyntax{"get-ssl", 0, 0, "", preGetSSL, cmdGetSSL, nil, "", readOnly},
		&commandSyntax{"del-ssl", 0, 0, "", preDelSSL, cmdDelSSL, nil, "", readWrite},
		&commandSyntax{"set-ssl", 3, 3, "PRIVATE-KEY CERTIFICATE CA-CERT", preGetSSL, cmdSetSSL, nil, "--bootstrap", readWrite},
		&commandSyntax{"add-aa-mapping", 3, 3, "BRIDGE ARG ARG", preAutoAttach, cmdAddAAMapping, nil, "", readWrite},
		&commandSyntax{"del-aa-mapping", 3, 3, "BRIDGE ARG ARG", preAutoAttach, cmdDelAAMapping, nil, "", readWrite},
		&commandSyntax{"get-aa-mapping", 1, 1, "BRIDGE", preAutoAttach, cmdGetAAMapping, nil, "", readOnly},
		&commandSyntax{"add-zone-tp", 3, math.MaxInt, "", preZone, cmdAddZoneTp, nil, "--may-exist", readWrite},
		&commandSyntax{"del-zone-tp", 2, 2, "", preZone, cmdDelZoneTp, nil, "--if-exists", readWrite},
		&commandSyntax{"list-zone-tp", 1, 1, "", preZone, cmdListZoneTp, nil, "", readOnly},
		&commandSyntax{"list-dp-cap", 1, 1, "", preZone, cmdListDpCap, nil, "", readOnly},
	)
}

// vsBridge, vsPort, vsIface are the cached bridge/port/interface view
// (fake bridges are VLAN children of a real bridge).
type vsBridge struct {
	cfg      *dbRow // nil for a fake bridge
	name     string
	parent   *vsBridge
	vlan     int64
	ports    []*vsPort
	children map[int64]*vsBridge
}

type vsPort struct {
	cfg    *dbRow
	bridge *vsBridge
	ifaces []*vsIface
}

type vsIface struct {
	cfg  *dbRow
	port *vsPort
}

type vsCache struct {
	bridges map[string]*vsBridge
	ports   map[string]*vsPort
	ifaces  map[string]*vsIface
}

func (c *context) invalidate() { c.cache = nil }

func (c *context) col(t, name string) *Column { return c.schema().Table(t).Column(name) }

func (c *context) add(t string, cols ...string) {
	tb := c.schema().Table(t)
	c.db.AddTable(tb)
	for _, n := range cols {
		c.db.AddColumn(tb, tb.Column(n))
	}
}

func preGetInfo(c *context) error {
	c.add("Open_vSwitch", "bridges")
	c.add("Bridge", "name", "controller", "fail_mode", "ports")
	c.add("Port", "name", "fake_bridge", "tag", "interfaces")
	c.add("Interface", "name", "ofport", "error")
	// The generated IDL also registers the Controller table (referenced by
	// Bridge.controller) with no columns.
	c.add("Controller")
	return nil
}

// refs returns the rows of table t that d's UUIDs point to, skipping
// dangling references (as the generated IDL structs do).
func (c *context) refs(t string, d Datum) []*dbRow {
	tb := c.schema().Table(t)
	var out []*dbRow
	for _, k := range d.Keys {
		if r := c.db.Get(tb, atomUUID(k)); r != nil {
			out = append(out, r)
		}
	}
	return out
}

func tagOf(r *dbRow) (int64, bool) {
	d := r.ReadName("tag")
	if len(d.Keys) == 0 {
		return 0, false
	}
	return atomInt(d.Keys[0]), true
}

func isFakeBridge(p *dbRow) bool {
	fb := p.ReadName("fake_bridge")
	tag, ok := tagOf(p)
	return len(fb.Keys) == 1 && atomBool(fb.Keys[0]) && ok && tag >= 0 && tag <= 4095
}

// populate builds the cache (vsctl_context_populate_cache).
func (c *context) populate() *vsCache {
	if c.cache != nil {
		return c.cache
	}
	vc := &vsCache{bridges: map[string]*vsBridge{}, ports: map[string]*vsPort{}, ifaces: map[string]*vsIface{}}
	c.cache = vc
	brs := c.refs("Bridge", c.ovs.ReadName("bridges"))
	seenBr := map[string]bool{}
	seenPort := map[string]bool{}
	for _, br := range brs {
		name := br.Str("name")
		if seenBr[name] {
			c.warn("vsctl", "%s: database contains duplicate bridge name", name)
			continue
		}
		seenBr[name] = true
		b := addBridgeToCache(c, vc, br, name, nil, 0)
		for _, p := range c.refs("Port", br.ReadName("ports")) {
			pname := p.Str("name")
			if seenPort[pname] {
				continue
			}
			seenPort[pname] = true
			if isFakeBridge(p) && !seenBr[pname] {
				seenBr[pname] = true
				tag, _ := tagOf(p)
				addBridgeToCache(c, vc, nil, pname, b, tag)
			}
		}
	}
	seenBr = map[string]bool{}
	for _, br := range brs {
		name := br.Str("name")
		if seenBr[name] {
			continue
		}
		seenBr[name] = true
		b := vc.bridges[name]
		for _, p := range c.refs("Port", br.ReadName("ports")) {
			pname := p.Str("name")
			if vp := vc.ports[pname]; vp != nil {
				if vp.cfg == p {
					c.warn("vsctl", "%s: port is in multiple bridges (%s and %s)", pname, b.name, vp.bridge.name)
				} else {
					c.warn("vsctl", "%s: database contains duplicate port name", pname)
				}
				continue
			}
			if isFakeBridge(p) {
				if seenBr[pname] {
					continue
				}
				seenBr[pname] = true
			}
			vp := addPortToCache(vc, b, p)
			for _, i := range c.refs("Interface", p.ReadName("interfaces")) {
				iname := i.Str("name")
				if vi := vc.ifaces[iname]; vi != nil {
					if vi.cfg == i {
						c.warn("vsctl", "%s: interface is in multiple ports (%s and %s)", iname, vi.port.cfg.Str("name"), pname)
					} else {
						c.warn("vsctl", "%s: database contains duplicate interface name", iname)
					}
					continue
				}
				addIfaceToCache(vc, vp, i)
			}
		}
	}
	return vc
}

func addBridgeToCache(c *context, vc *vsCache, cfg *dbRow, name string, parent *vsBridge, vlan int64) *vsBridge {
	b := &vsBridge{cfg: cfg, name: name, parent: parent, vlan: vlan, children: map[int64]*vsBridge{}}
	if parent != nil {
		if conflict := parent.children[vlan]; conflict != nil {
			c.warn("vsctl", "%s: bridge has multiple VLAN bridges (%s and %s) for VLAN %d, but only one is allowed", parent.name, name, conflict.name, vlan)
		} else {
			parent.children[vlan] = b
		}
	}
	vc.bridges[name] = b
	return b
}

func addPortToCache(vc *vsCache, parent *vsBridge, p *dbRow) *vsPort {
	if tag, ok := tagOf(p); ok && tag >= 0 && tag <= 4095 {
		if vb := parent.children[tag]; vb != nil {
			parent = vb
		}
	}
	vp := &vsPort{cfg: p, bridge: parent}
	parent.ports = append(parent.ports, vp)
	vc.ports[p.Str("name")] = vp
	return vp
}

func addIfaceToCache(vc *vsCache, vp *vsPort, i *dbRow) *vsIface {
	vi := &vsIface{cfg: i, port: vp}
	vp.ifaces = append(vp.ifaces, vi)
	vc.ifaces[i.Str("name")] = vi
	return vi
}

func (c *context) verifyPorts() {
	if c.verPort {
		return
	}
	c.db.VerifyName(c.ovs, "bridges")
	for _, b := range c.db.Rows(c.schema().Table("Bridge")) {
		c.db.VerifyName(b, "ports")
	}
	for _, p := range c.db.Rows(c.schema().Table("Port")) {
		c.db.VerifyName(p, "interfaces")
	}
	c.verPort = true
}

func (c *context) checkConflicts(name, msg string) error {
	c.verifyPorts()
	vc := c.populate()
	if vc.bridges[name] != nil {
		return fatalf("%s because a bridge named %s already exists", msg, name)
	}
	if p := vc.ports[name]; p != nil {
		return fatalf("%s because a port named %s already exists on bridge %s", msg, name, p.bridge.name)
	}
	if i := vc.ifaces[name]; i != nil {
		return fatalf("%s because an interface named %s already exists on bridge %s", msg, name, i.port.bridge.name)
	}
	return nil
}

func (c *context) findBridge(name string, mustExist bool) (*vsBridge, error) {
	b := c.populate().bridges[name]
	if mustExist && b == nil {
		return nil, fatalf("no bridge named %s", name)
	}
	c.db.VerifyName(c.ovs, "bridges")
	return b, nil
}

func (c *context) findRealBridge(name string, mustExist bool) (*vsBridge, error) {
	b, err := c.findBridge(name, mustExist)
	if err != nil {
		return nil, err
	}
	if b != nil && b.parent != nil {
		return nil, fatalf("%s is a fake bridge", name)
	}
	return b, nil
}

func (c *context) findPort(name string, mustExist bool) (*vsPort, error) {
	p := c.populate().ports[name]
	if p != nil && p.bridge != nil && name == p.bridge.name {
		p = nil
	}
	if mustExist && p == nil {
		return nil, fatalf("no port named %s", name)
	}
	c.verifyPorts()
	return p, nil
}

func (c *context) findIface(name string, mustExist bool) (*vsIface, error) {
	i := c.populate().ifaces[name]
	if i != nil && i.port.bridge != nil && name == i.port.bridge.name {
		i = nil
	}
	if mustExist && i == nil {
		return nil, fatalf("no interface named %s", name)
	}
	c.verifyPorts()
	return i, nil
}

func uuidSet(rows ...string) Datum {
	d := Datum{}
	for _, u := range rows {
		d.Keys = append(d.Keys, uuidAtom(u))
	}
	sortDatum(&d)
	return d
}

func addUUID(d Datum, u string) Datum {
	keys := []string{u}
	for _, k := range d.Keys {
		if s := atomUUID(k); s != u {
			keys = append(keys, s)
		}
	}
	return uuidSet(keys...)
}

func delUUID(d Datum, u string) Datum {
	var keys []string
	for _, k := range d.Keys {
		if s := atomUUID(k); s != u {
			keys = append(keys, s)
		}
	}
	return uuidSet(keys...)
}

func strDatum(s string) Datum { return Datum{Keys: []Atom{s}} }

func cmdAddBr(c *context) error {
	mayExist := c.cmd.has("--may-exist")
	name := c.argv[1]
	if name == "" {
		return fatalf("bridge name must not be empty string")
	}
	var parentName string
	var vlan int64
	switch len(c.argv) {
	case 2:
	case 4:
		parentName = c.argv[2]
		vlan = atoi(c.argv[3])
		if vlan < 0 || vlan > 4095 {
			return fatalf("%s: vlan must be between 0 and 4095", c.argv[0])
		}
	default:
		return fatalf("'%s' command takes exactly 1 or 3 arguments", c.argv[0])
	}
	c.populate()
	if mayExist {
		b, _ := c.findBridge(name, false)
		if b != nil {
			if parentName == "" {
				if b.parent != nil {
					return fatalf("\"--may-exist add-br %s\" but %s is a VLAN bridge for VLAN %d", name, name, b.vlan)
				}
			} else {
				switch {
				case b.parent == nil:
					return fatalf("\"--may-exist add-br %s %s %d\" but %s is not a VLAN bridge", name, parentName, vlan, name)
				case b.parent.name != parentName:
					return fatalf("\"--may-exist add-br %s %s %d\" but %s has the wrong parent %s", name, parentName, vlan, name, b.parent.name)
				case b.vlan != vlan:
					return fatalf("\"--may-exist add-br %s %s %d\" but %s is a VLAN bridge for the wrong VLAN %d", name, parentName, vlan, name, b.vlan)
				}
			}
			return nil
		}
	}
	if err := c.checkConflicts(name, "cannot create a bridge named "+name); err != nil {
		return err
	}
	iface := c.db.Insert(c.schema().Table("Interface"), "")
	c.db.WriteName(iface, "name", strDatum(name))
	c.db.WriteName(iface, "type", strDatum("internal"))
	port := c.db.Insert(c.schema().Table("Port"), "")
	c.db.WriteName(port, "name", strDatum(name))
	c.db.WriteName(port, "interfaces", uuidSet(iface.UUID))
	if parentName == "" {
		br := c.db.Insert(c.schema().Table("Bridge"), "")
		c.db.WriteName(br, "name", strDatum(name))
		c.db.WriteName(br, "ports", uuidSet(port.UUID))
		c.db.WriteName(c.ovs, "bridges", addUUID(c.ovs.ReadName("bridges"), br.UUID))
	} else {
		parent, _ := c.findBridge(parentName, false)
		if parent != nil && parent.parent != nil {
			return fatalf("cannot create bridge with fake bridge as parent")
		}
		if parent == nil {
			return fatalf("parent bridge %s does not exist", parentName)
		}
		if conflict := parent.children[vlan]; conflict != nil {
			return fatalf("bridge %s already has a child VLAN bridge %s on VLAN %d", parentName, conflict.name, vlan)
		}
		c.db.WriteName(port, "fake_bridge", Datum{Keys: []Atom{true}})
		c.db.WriteName(port, "tag", Datum{Keys: []Atom{vlan}})
		c.db.WriteName(parent.cfg, "ports", addUUID(parent.cfg.ReadName("ports"), port.UUID))
	}
	*c.newIfs = append(*c.newIfs, iface.UUID)
	c.invalidate()
	return nil
}

// atoi is C's atoi: leading digits, 0 if none.
func atoi(s string) int64 {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for end < len(s) && isDigit(s[end]) {
		end++
	}
	v, _ := strconv.ParseInt(s[:end], 10, 32)
	return v
}

func (c *context) delPort(p *vsPort) {
	br := p.bridge.cfg
	if p.bridge.parent != nil {
		br = p.bridge.parent.cfg
	}
	c.db.WriteName(br, "ports", delUUID(br.ReadName("ports"), p.cfg.UUID))
	vc := c.populate()
	for _, i := range p.ifaces {
		delete(vc.ifaces, i.cfg.Str("name"))
		c.db.Delete(i.cfg)
	}
	p.ifaces = nil
	for k, q := range p.bridge.ports {
		if q == p {
			p.bridge.ports = append(p.bridge.ports[:k], p.bridge.ports[k+1:]...)
			break
		}
	}
	delete(vc.ports, p.cfg.Str("name"))
	c.db.Delete(p.cfg)
}

func (c *context) delBridge(b *vsBridge) {
	for _, child := range b.children {
		c.delBridge(child)
	}
	for len(b.ports) > 0 {
		c.delPort(b.ports[0])
	}
	for _, f := range c.db.Rows(c.schema().Table("Flow_Sample_Collector_Set")) {
		if b.cfg != nil {
			if d := f.ReadName("bridge"); len(d.Keys) == 1 && atomUUID(d.Keys[0]) == b.cfg.UUID {
				c.db.Delete(f)
			}
		}
	}
	if b.parent != nil {
		delete(b.parent.children, b.vlan)
	}
	if b.cfg != nil {
		c.db.Delete(b.cfg)
		c.db.WriteName(c.ovs, "bridges", delUUID(c.ovs.ReadName("bridges"), b.cfg.UUID))
	}
	delete(c.populate().bridges, b.name)
}

func cmdDelBr(c *context) error {
	c.populate()
	b, err := c.findBridge(c.argv[1], !c.cmd.has("--if-exists"))
	if err != nil {
		return err
	}
	if b != nil {
		c.delBridge(b)
	}
	return nil
}

func outputSorted(c *context, names []string) {
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(c.out, "%s\n", n)
	}
}

func cmdListBr(c *context) error {
	real, fake := c.cmd.has("--real"), c.cmd.has("--fake")
	if !real && !fake {
		real, fake = true, true
	}
	var names []string
	for _, b := range c.populate().bridges {
		if b.parent != nil && fake || b.parent == nil && real {
			names = append(names, b.name)
		}
	}
	outputSorted(c, names)
	return nil
}

func cmdBrExists(c *context) error {
	c.populate()
	if b, _ := c.findBridge(c.argv[1], false); b == nil {
		return exitStatus(2)
	}
	return nil
}

func cmdBrToVlan(c *context) error {
	b, err := c.findBridge(c.argv[1], true)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%d\n", b.vlan)
	return nil
}

func cmdBrToParent(c *context) error {
	b, err := c.findBridge(c.argv[1], true)
	if err != nil {
		return err
	}
	if b.parent != nil {
		b = b.parent
	}
	fmt.Fprintf(c.out, "%s\n", b.name)
	return nil
}

func preBrExternalID(c *context) error {
	preGetInfo(c)
	c.add("Bridge", "external_ids")
	c.add("Port", "external_ids")
	return nil
}

var smapType = Type{Key: &BaseType{Type: ovsdb.TypeString, MaxLength: math.MaxInt}, Value: &BaseType{Type: ovsdb.TypeString, MaxLength: math.MaxInt}, Min: 0, Max: math.MaxInt}

func setExternalID(old Datum, key string, value *string) Datum {
	d := subtract(&smapType, old, Datum{Keys: []Atom{key}}, false)
	if value != nil {
		d.Keys = append(d.Keys, key)
		d.Values = append(d.Values, *value)
		sortDatum(&d)
	}
	return d
}

func cmdBrSetExternalID(c *context) error {
	b, err := c.findBridge(c.argv[1], true)
	if err != nil {
		return err
	}
	var value *string
	if len(c.argv) >= 4 {
		value = &c.argv[3]
	}
	if b.cfg != nil {
		d := setExternalID(b.cfg.ReadName("external_ids"), c.argv[2], value)
		c.db.VerifyName(b.cfg, "external_ids")
		c.db.WriteName(b.cfg, "external_ids", d)
		return nil
	}
	p := c.populate().ports[c.argv[1]]
	d := setExternalID(p.cfg.ReadName("external_ids"), "fake-bridge-"+c.argv[2], value)
	c.db.VerifyName(p.cfg, "external_ids")
	c.db.WriteName(p.cfg, "external_ids", d)
	return nil
}

func getExternalID(c *context, d Datum, prefix string, key *string) {
	if key != nil {
		if i := find(d, prefix+*key); i >= 0 {
			fmt.Fprintf(c.out, "%s\n", atomStr(d.Values[i]))
		}
		return
	}
	for i, k := range d.Keys {
		if rest, ok := strings.CutPrefix(atomStr(k), prefix); ok {
			fmt.Fprintf(c.out, "%s=%s\n", rest, atomStr(d.Values[i]))
		}
	}
}

func cmdBrGetExternalID(c *context) error {
	b, err := c.findBridge(c.argv[1], true)
	if err != nil {
		return err
	}
	var key *string
	if len(c.argv) >= 3 {
		key = &c.argv[2]
	}
	if b.cfg != nil {
		c.db.VerifyName(b.cfg, "external_ids")
		getExternalID(c, b.cfg.ReadName("external_ids"), "", key)
		return nil
	}
	p := c.populate().ports[c.argv[1]]
	c.db.VerifyName(p.cfg, "external_ids")
	getExternalID(c, p.cfg.ReadName("external_ids"), "fake-bridge-", key)
	return nil
}

func cmdListPorts(c *context) error {
	b, err := c.findBridge(c.argv[1], true)
	if err != nil {
		return err
	}
	if b.cfg != nil {
		c.db.VerifyName(b.cfg, "ports")
	} else {
		c.db.VerifyName(b.parent.cfg, "ports")
	}
	var names []string
	for _, p := range b.ports {
		if n := p.cfg.Str("name"); n != b.name {
			names = append(names, n)
		}
	}
	outputSorted(c, names)
	return nil
}

// commandString renders the current command with its options the way
// ovs-vsctl quotes them in "--may-exist" errors.
func (c *context) commandString() string {
	var words []string
	keys := append([]string(nil), c.cmd.optKeys...)
	sort.Strings(keys)
	words = append(words, keys...)
	words = append(words, c.argv...)
	return processEscapeArgs(words)
}

func (c *context) addPort(brName, portName string, mayExist, fakeIface bool, ifaceNames, settings []string) error {
	if portName == "" {
		return fatalf("port name must not be empty string")
	}
	for _, n := range ifaceNames {
		if n == "" {
			return fatalf("interface name must not be empty string")
		}
	}
	vc := c.populate()
	if mayExist {
		p, _ := c.findPort(portName, false)
		if p != nil {
			want := append([]string(nil), ifaceNames...)
			sort.Strings(want)
			var have []string
			for _, i := range c.refs("Interface", p.cfg.ReadName("interfaces")) {
				have = append(have, i.Str("name"))
			}
			sort.Strings(have)
			if p.bridge.name != brName {
				return fatalf("\"%s\" but %s is actually attached to bridge %s", c.commandString(), portName, p.bridge.name)
			}
			if strings.Join(want, "\x00") != strings.Join(have, "\x00") {
				return fatalf("\"%s\" but %s actually has interface(s) %s", c.commandString(), portName, strings.Join(have, ", "))
			}
			return nil
		}
	}
	if err := c.checkConflicts(portName, "cannot create a port named "+portName); err != nil {
		return err
	}
	for _, n := range ifaceNames {
		if err := c.checkConflicts(n, "cannot create an interface named "+n); err != nil {
			return err
		}
	}
	b, err := c.findBridge(brName, true)
	if err != nil {
		return err
	}
	var ifaces []*dbRow
	var ids []string
	for _, n := range ifaceNames {
		i := c.db.Insert(c.schema().Table("Interface"), "")
		c.db.WriteName(i, "name", strDatum(n))
		*c.newIfs = append(*c.newIfs, i.UUID)
		ifaces = append(ifaces, i)
		ids = append(ids, i.UUID)
	}
	port := c.db.Insert(c.schema().Table("Port"), "")
	c.db.WriteName(port, "name", strDatum(portName))
	c.db.WriteName(port, "interfaces", uuidSet(ids...))
	c.db.WriteName(port, "bond_fake_iface", Datum{Keys: []Atom{fakeIface}})
	if b.parent != nil {
		c.db.WriteName(port, "tag", Datum{Keys: []Atom{b.vlan}})
	}
	pt := c.schema().Table("Port")
	for _, s := range settings {
		if err := setColumn(c, pt, port, s, false); err != nil {
			return err
		}
	}
	br := b.cfg
	if b.parent != nil {
		br = b.parent.cfg
	}
	c.db.WriteName(br, "ports", addUUID(br.ReadName("ports"), port.UUID))
	vp := addPortToCache(vc, b, port)
	for _, i := range ifaces {
		addIfaceToCache(vc, vp, i)
	}
	return nil
}

func cmdAddPort(c *context) error {
	return c.addPort(c.argv[1], c.argv[2], c.cmd.has("--may-exist"), false, c.argv[2:3], c.argv[3:])
}

func cmdAddBond(c *context) error {
	n := len(c.argv) - 3
	for i := 3; i < len(c.argv); i++ {
		if strings.Contains(c.argv[i], "=") {
			n = i - 3
			break
		}
	}
	if n < 2 {
		return fatalf("add-bond requires at least 2 interfaces, but only %d were specified", n)
	}
	return c.addPort(c.argv[1], c.argv[2], c.cmd.has("--may-exist"), c.cmd.has("--fake-iface"), c.argv[3:3+n], c.argv[3+n:])
}

func cmdAddBondIface(c *context) error {
	vc := c.populate()
	p, err := c.findPort(c.argv[1], true)
	if err != nil {
		return err
	}
	name := c.argv[2]
	if c.cmd.has("--may-exist") {
		i, _ := c.findIface(name, false)
		if i != nil {
			if i.port == p {
				return nil
			}
			return fatalf("\"%s\" but %s is actually attached to port %s", c.commandString(), name, i.port.cfg.Str("name"))
		}
	}
	if err := c.checkConflicts(name, "cannot create an interface named "+name); err != nil {
		return err
	}
	i := c.db.Insert(c.schema().Table("Interface"), "")
	c.db.WriteName(i, "name", strDatum(name))
	c.db.WriteName(p.cfg, "interfaces", addUUID(p.cfg.ReadName("interfaces"), i.UUID))
	*c.newIfs = append(*c.newIfs, i.UUID)
	addIfaceToCache(vc, p, i)
	return nil
}

func cmdDelBondIface(c *context) error {
	vc := c.populate()
	name := c.argv[len(c.argv)-1]
	mustExist := !c.cmd.has("--if-exists")
	i, err := c.findIface(name, mustExist)
	if err != nil || i == nil {
		return err
	}
	if len(c.argv) > 2 {
		p, err := c.findPort(c.argv[1], true)
		if err != nil {
			return err
		}
		if i.port != p {
			return fatalf("port %s does not have an interface %s", c.argv[1], name)
		}
	}
	if len(i.port.ifaces) <= 1 {
		return fatalf("cannot delete last interface from port %s", i.port.cfg.Str("name"))
	}
	pc := i.port.cfg
	c.db.WriteName(pc, "interfaces", delUUID(pc.ReadName("interfaces"), i.cfg.UUID))
	for k, x := range i.port.ifaces {
		if x == i {
			i.port.ifaces = append(i.port.ifaces[:k], i.port.ifaces[k+1:]...)
			break
		}
	}
	delete(vc.ifaces, name)
	c.db.Delete(i.cfg)
	return nil
}

func cmdDelPort(c *context) error {
	mustExist := !c.cmd.has("--if-exists")
	withIface := c.cmd.has("--with-iface")
	target := c.argv[len(c.argv)-1]
	c.populate()
	var p *vsPort
	if b, _ := c.findBridge(target, false); b != nil {
		if mustExist {
			return fatalf("cannot delete port %s because it is the local port for bridge %s (deleting this port requires deleting the entire bridge)", target, target)
		}
	} else if !withIface {
		var err error
		if p, err = c.findPort(target, mustExist); err != nil {
			return err
		}
	} else {
		p, _ = c.findPort(target, false)
		if p == nil {
			if i, _ := c.findIface(target, false); i != nil {
				p = i.port
			}
		}
		if mustExist && p == nil {
			return fatalf("no port or interface named %s", target)
		}
	}
	if p == nil {
		return nil
	}
	if len(c.argv) == 3 {
		b, err := c.findBridge(c.argv[1], true)
		if err != nil {
			return err
		}
		if p.bridge != b {
			if p.bridge.parent == b {
				return fatalf("bridge %s does not have a port %s (although its child bridge %s does)", c.argv[1], c.argv[2], p.bridge.name)
			}
			return fatalf("bridge %s does not have a port %s", c.argv[1], c.argv[2])
		}
	}
	c.delPort(p)
	return nil
}

func cmdPortToBr(c *context) error {
	p, err := c.findPort(c.argv[1], true)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%s\n", p.bridge.name)
	return nil
}

func cmdListIfaces(c *context) error {
	b, err := c.findBridge(c.argv[1], true)
	if err != nil {
		return err
	}
	c.verifyPorts()
	var names []string
	for _, p := range b.ports {
		for _, i := range p.ifaces {
			if n := i.cfg.Str("name"); n != b.name {
				names = append(names, n)
			}
		}
	}
	outputSorted(c, names)
	return nil
}

func cmdIfaceToBr(c *context) error {
	i, err := c.findIface(c.argv[1], true)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%s\n", i.port.bridge.name)
	return nil
}

func preController(c *context) error {
	preGetInfo(c)
	c.add("Controller", "target", "inactivity_probe")
	return nil
}

func (c *context) verifyControllers(br *dbRow) {
	c.db.VerifyName(br, "controller")
	for _, ctl := range c.refs("Controller", br.ReadName("controller")) {
		c.db.VerifyName(ctl, "target")
	}
}

func cmdGetController(c *context) error {
	b, err := c.findBridge(c.argv[1], true)
	if err != nil {
		return err
	}
	if b.parent != nil {
		b = b.parent
	}
	c.verifyControllers(b.cfg)
	var targets []string
	for _, ctl := range c.refs("Controller", b.cfg.ReadName("controller")) {
		targets = append(targets, ctl.Str("target"))
	}
	outputSorted(c, targets)
	return nil
}

func cmdDelController(c *context) error {
	b, err := c.findRealBridge(c.argv[1], true)
	if err != nil {
		return err
	}
	c.verifyControllers(b.cfg)
	ctls := c.refs("Controller", b.cfg.ReadName("controller"))
	if len(ctls) > 0 {
		for _, ctl := range ctls {
			c.db.Delete(ctl)
		}
		c.db.WriteName(b.cfg, "controller", Datum{})
	}
	return nil
}

func (c *context) insertTargets(table string, targets []string) []string {
	probe, hasProbe := c.cmd.opt("--inactivity-probe")
	var ids []string
	for _, t := range targets {
		if !knownTargetType(t) {
			c.warn("vsctl", "target type \"%s\" is possibly erroneous", t)
		}
		r := c.db.Insert(c.schema().Table(table), "")
		c.db.WriteName(r, "target", strDatum(t))
		if hasProbe {
			c.db.WriteName(r, "inactivity_probe", Datum{Keys: []Atom{atoll(probe)}})
		}
		ids = append(ids, r.UUID)
	}
	return ids
}

// knownTargetType reports whether a controller or manager target names a
// connection method ovs-vswitchd knows (active or passive TCP, SSL, unix
// socket); ovs-vsctl only warns about others.
func knownTargetType(t string) bool {
	for _, p := range []string{"tcp:", "ssl:", "unix:", "ptcp:", "pssl:", "punix:"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

func atoll(s string) int64 {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for end < len(s) && isDigit(s[end]) {
		end++
	}
	v, _ := strconv.ParseInt(s[:end], 10, 64)
	return v
}

func cmdSetController(c *context) error {
	b, err := c.findRealBridge(c.argv[1], true)
	if err != nil {
		return err
	}
	c.verifyControllers(b.cfg)
	for _, ctl := range c.refs("Controller", b.cfg.ReadName("controller")) {
		c.db.Delete(ctl)
	}
	ids := c.insertTargets("Controller", c.argv[2:])
	c.db.WriteName(b.cfg, "controller", uuidSet(ids...))
	return nil
}

func cmdGetFailMode(c *context) error {
	b, err := c.findBridge(c.argv[1], true)
	if err != nil {
		return err
	}
	if b.parent != nil {
		b = b.parent
	}
	c.db.VerifyName(b.cfg, "fail_mode")
	if m := b.cfg.Str("fail_mode"); m != "" {
		fmt.Fprintf(c.out, "%s\n", m)
	}
	return nil
}

func cmdDelFailMode(c *context) error {
	b, err := c.findRealBridge(c.argv[1], true)
	if err != nil {
		return err
	}
	c.db.WriteName(b.cfg, "fail_mode", Datum{})
	return nil
}

func cmdSetFailMode(c *context) error {
	b, err := c.findRealBridge(c.argv[1], true)
	if err != nil {
		return err
	}
	m := c.argv[2]
	if m != "standalone" && m != "secure" {
		return fatalf("fail-mode must be \"standalone\" or \"secure\"")
	}
	c.db.WriteName(b.cfg, "fail_mode", strDatum(m))
	return nil
}

func preManager(c *context) error {
	c.add("Open_vSwitch", "manager_options")
	c.add("Manager", "target", "inactivity_probe")
	return nil
}

func (c *context) verifyManagers() {
	c.db.VerifyName(c.ovs, "manager_options")
	for _, m := range c.refs("Manager", c.ovs.ReadName("manager_options")) {
		c.db.VerifyName(m, "target")
	}
}

func cmdGetManager(c *context) error {
	c.verifyManagers()
	seen := map[string]bool{}
	var targets []string
	for _, m := range c.refs("Manager", c.ovs.ReadName("manager_options")) {
		if t := m.Str("target"); !seen[t] {
			seen[t] = true
			targets = append(targets, t)
		}
	}
	outputSorted(c, targets)
	return nil
}

func (c *context) deleteManagers() {
	for _, m := range c.refs("Manager", c.ovs.ReadName("manager_options")) {
		c.db.Delete(m)
	}
	c.db.WriteName(c.ovs, "manager_options", Datum{})
}

func cmdDelManager(c *context) error {
	c.verifyManagers()
	c.deleteManagers()
	return nil
}

func cmdSetManager(c *context) error {
	c.verifyManagers()
	c.deleteManagers()
	ids := c.insertTargets("Manager", c.argv[1:])
	c.db.WriteName(c.ovs, "manager_options", uuidSet(ids...))
	return nil
}

func preGetSSL(c *context) error {
	c.add("Open_vSwitch", "ssl")
	c.add("SSL", "private_key", "certificate", "ca_cert", "bootstrap_ca_cert")
	return nil
}

func cmdGetSSL(c *context) error {
	c.db.VerifyName(c.ovs, "ssl")
	ssls := c.refs("SSL", c.ovs.ReadName("ssl"))
	if len(ssls) == 0 {
		return nil
	}
	s := ssls[0]
	for _, n := range []string{"private_key", "certificate", "ca_cert", "bootstrap_ca_cert"} {
		c.db.VerifyName(s, n)
	}
	fmt.Fprintf(c.out, "Private key: %s\n", s.Str("private_key"))
	fmt.Fprintf(c.out, "Certificate: %s\n", s.Str("certificate"))
	fmt.Fprintf(c.out, "CA Certificate: %s\n", s.Str("ca_cert"))
	b := s.ReadName("bootstrap_ca_cert")
	fmt.Fprintf(c.out, "Bootstrap: %t\n", len(b.Keys) == 1 && atomBool(b.Keys[0]))
	return nil
}

func preDelSSL(c *context) error {
	c.add("Open_vSwitch", "ssl")
	return nil
}

func cmdDelSSL(c *context) error {
	ssls := c.refs("SSL", c.ovs.ReadName("ssl"))
	if len(ssls) > 0 {
		c.db.VerifyName(c.ovs, "ssl")
		c.db.Delete(ssls[0])
		c.db.WriteName(c.ovs, "ssl", Datum{})
	}
	return nil
}

// cmdSetSSL replaces the SSL record (the old one, unreferenced, goes
// with it: SSL is not a root table).
func cmdSetSSL(c *context) error {
	c.db.VerifyName(c.ovs, "ssl")
	for _, old := range c.refs("SSL", c.ovs.ReadName("ssl")) {
		c.db.Delete(old)
	}
	s := c.db.Insert(c.schema().Table("SSL"), "")
	c.db.WriteName(s, "private_key", strDatum(c.argv[1]))
	c.db.WriteName(s, "certificate", strDatum(c.argv[2]))
	c.db.WriteName(s, "ca_cert", strDatum(c.argv[3]))
	if c.cmd.has("--bootstrap") {
		c.db.WriteName(s, "bootstrap_ca_cert", Datum{Keys: []Atom{true}})
	}
	c.db.WriteName(c.ovs, "ssl", uuidSet(s.UUID))
	return nil
}

func preAutoAttach(c *context) error {
	if err := preGetInfo(c); err != nil {
		return err
	}
	c.add("Bridge", "auto_attach")
	c.add("AutoAttach", "mappings")
	return nil
}

// aaBridge returns the Bridge record behind a (possibly fake) bridge name
// and its AutoAttach record, if any.
func (c *context) aaBridge(name string) (*dbRow, *dbRow, error) {
	b, err := c.findBridge(name, true)
	if err != nil {
		return nil, nil, err
	}
	for b.cfg == nil && b.parent != nil {
		b = b.parent
	}
	aas := c.refs("AutoAttach", b.cfg.ReadName("auto_attach"))
	if len(aas) == 0 {
		return b.cfg, nil, nil
	}
	return b.cfg, aas[0], nil
}

// aaMappingArgs parses the I-SID and VLAN of an auto-attach mapping the
// way strtoull(3) reads a decimal number: leading blanks and a sign are
// allowed, trailing garbage is ignored, out-of-range values saturate and
// a minus sign negates modulo 2^64; the server checks the ranges.
func aaMappingArgs(args []string) ([]int64, error) {
	out := make([]int64, 0, len(args))
	for _, a := range args {
		s := strings.TrimLeft(a, " \t\n\v\f\r")
		neg := false
		if s != "" && (s[0] == '+' || s[0] == '-') {
			neg = s[0] == '-'
			s = s[1:]
		}
		var v uint64
		n := 0
		for n < len(s) && isDigit(s[n]) {
			d := uint64(s[n] - '0')
			if v > (math.MaxUint64-d)/10 {
				v = math.MaxUint64
			} else if v != math.MaxUint64 {
				v = v*10 + d
			}
			n++
		}
		if n == 0 {
			return nil, fatalf("Invalid argument %s", a)
		}
		if neg && v != math.MaxUint64 {
			v = -v
		}
		out = append(out, int64(v))
	}
	return out, nil
}

func cmdAddAAMapping(c *context) error {
	br, aa, err := c.aaBridge(c.argv[1])
	if err != nil {
		return err
	}
	kv, err := aaMappingArgs(c.argv[2:4])
	if err != nil {
		return err
	}
	add := Datum{Keys: []Atom{kv[0]}, Values: []Atom{kv[1]}}
	if aa == nil {
		aa = c.db.Insert(c.schema().Table("AutoAttach"), "")
		c.db.WriteName(aa, "mappings", add)
		c.db.WriteName(br, "auto_attach", uuidSet(aa.UUID))
		return nil
	}
	col := aa.Table.Column("mappings")
	c.db.Write(aa, col, union(&col.Type, aa.Read(col), add))
	return nil
}

func cmdDelAAMapping(c *context) error {
	_, aa, err := c.aaBridge(c.argv[1])
	if err != nil {
		return err
	}
	kv, err := aaMappingArgs(c.argv[2:4])
	if err != nil || aa == nil {
		return err
	}
	col := aa.Table.Column("mappings")
	cur := aa.Read(col)
	if i := find(cur, Atom(kv[0])); i >= 0 && atomInt(cur.Values[i]) == kv[1] {
		d := cur.Clone()
		d.Keys = append(d.Keys[:i:i], d.Keys[i+1:]...)
		d.Values = append(d.Values[:i:i], d.Values[i+1:]...)
		c.db.Write(aa, col, d)
	}
	return nil
}

func cmdGetAAMapping(c *context) error {
	_, aa, err := c.aaBridge(c.argv[1])
	if err != nil || aa == nil {
		return err
	}
	m := aa.ReadName("mappings")
	for i, k := range m.Keys {
		fmt.Fprintf(c.out, "%d %d\n", atomInt(k), atomInt(m.Values[i]))
	}
	return nil
}

func preZone(c *context) error {
	c.add("Open_vSwitch", "datapaths")
	c.add("Datapath", "ct_zones", "capabilities")
	c.add("CT_Zone", "timeout_policy")
	c.add("CT_Timeout_Policy", "timeouts")
	return nil
}

// datapath returns the Datapath record of a datapath type
// (Open_vSwitch.datapaths), or nil.
func (c *context) datapath(name string) *dbRow {
	m := c.ovs.ReadName("datapaths")
	if i := find(m, Atom(name)); i >= 0 {
		if rows := c.refs("Datapath", Datum{Keys: []Atom{m.Values[i]}}); len(rows) > 0 {
			return rows[0]
		}
	}
	return nil
}

// cInt reads a decimal int the way sscanf's %d does: leading blanks and
// a sign, digits up to the first other character; the value wraps to
// 32 bits. ok is false when there is no digit.
func cInt(s string) (v int64, ok bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	var u uint64
	n := 0
	for ; n < len(s) && isDigit(s[n]); n++ {
		u = u*10 + uint64(s[n]-'0')
	}
	if neg {
		u = -u
	}
	return int64(int32(uint32(u))), n > 0
}

// zoneArg parses "zone=N".
func zoneArg(a string) int64 {
	rest, _ := strings.CutPrefix(a, "zone=")
	v, _ := cInt(rest)
	return v
}

// zonePolicy parses the first "key=value" of a timeout policy argument:
// the key ends at "=", a blank or a comma, a missing value is 0.
func zonePolicy(a string) (string, int64) {
	end := strings.IndexAny(a, "= ,\t")
	if end < 0 {
		return a, 0
	}
	key := a[:end]
	if a[end] != '=' {
		return key, 0
	}
	v, _ := cInt(a[end+1:])
	return key, v
}

func cmdAddZoneTp(c *context) error {
	dp := c.datapath(c.argv[1])
	if dp == nil {
		return fatalf("datapath %s does not exist", c.argv[1])
	}
	zone := zoneArg(c.argv[2])
	zones := dp.ReadName("ct_zones")
	var z *dbRow
	if i := find(zones, Atom(zone)); i >= 0 {
		if !c.cmd.has("--may-exist") {
			return fatalf("zone id %d already exists", zone)
		}
		if rows := c.refs("CT_Zone", Datum{Keys: []Atom{zones.Values[i]}}); len(rows) > 0 {
			z = rows[0]
		}
	}
	tp := c.db.Insert(c.schema().Table("CT_Timeout_Policy"), "")
	timeouts := Datum{Values: []Atom{}}
	for _, a := range c.argv[3:] {
		k, v := zonePolicy(a)
		if find(timeouts, Atom(k)) >= 0 {
			continue // the first value given wins
		}
		timeouts.Keys = append(timeouts.Keys, k)
		timeouts.Values = append(timeouts.Values, v)
		sortDatum(&timeouts)
	}
	c.db.WriteName(tp, "timeouts", timeouts)
	if z == nil {
		z = c.db.Insert(c.schema().Table("CT_Zone"), "")
		c.db.SetMapKey(dp, dp.Table.Column("ct_zones"), Atom(zone), uuidAtom(z.UUID))
	}
	c.db.WriteName(z, "timeout_policy", uuidSet(tp.UUID))
	return nil
}

func cmdDelZoneTp(c *context) error {
	dp := c.datapath(c.argv[1])
	if dp == nil {
		return fatalf("datapath %s does not exist", c.argv[1])
	}
	zone := zoneArg(c.argv[2])
	if find(dp.ReadName("ct_zones"), Atom(zone)) < 0 {
		if c.cmd.has("--if-exists") {
			return nil
		}
		return fatalf("zone id %d does not exist", zone)
	}
	c.db.DeleteMapKey(dp, dp.Table.Column("ct_zones"), Atom(zone))
	return nil
}

func cmdListZoneTp(c *context) error {
	dp := c.datapath(c.argv[1])
	if dp == nil {
		return fatalf("datapath: %s record not found", c.argv[1])
	}
	zones := dp.ReadName("ct_zones")
	for i, k := range zones.Keys {
		fmt.Fprintf(c.out, "Zone:%d, Timeout Policies: ", atomInt(k))
		var pol []string
		for _, z := range c.refs("CT_Zone", Datum{Keys: []Atom{zones.Values[i]}}) {
			for _, tp := range c.refs("CT_Timeout_Policy", z.ReadName("timeout_policy")) {
				t := tp.ReadName("timeouts")
				for j, tk := range t.Keys {
					pol = append(pol, fmt.Sprintf("%s=%d", atomStr(tk), atomInt(t.Values[j])))
				}
			}
		}
		if len(pol) == 0 {
			fmt.Fprintf(c.out, "system default\n")
			continue
		}
		fmt.Fprintf(c.out, "%s\n", strings.Join(pol, " "))
	}
	return nil
}

func cmdListDpCap(c *context) error {
	dp := c.datapath(c.argv[1])
	if dp == nil {
		return fatalf("datapath \"%s\" record not found", c.argv[1])
	}
	caps := dp.ReadName("capabilities")
	out := make([]string, len(caps.Keys))
	for i, k := range caps.Keys {
		out[i] = atomStr(k) + "=" + atomStr(caps.Values[i])
	}
	fmt.Fprintf(c.out, "%s\n", strings.Join(out, " "))
	return nil
}

func preEmerReset(c *context) error {
	c.add("Open_vSwitch", "manager_options", "ssl")
	c.add("Bridge", "controller", "fail_mode", "mirrors", "netflow", "sflow", "ipfix", "flood_vlans", "other_config")
	c.add("Port", "other_config")
	c.add("Interface", "ingress_policing_rate", "ingress_policing_burst")
	return nil
}

func cmdEmerReset(c *context) error {
	c.db.WriteName(c.ovs, "manager_options", Datum{})
	c.db.WriteName(c.ovs, "ssl", Datum{})
	for _, br := range c.db.Rows(c.schema().Table("Bridge")) {
		for _, n := range []string{"controller", "fail_mode", "mirrors", "netflow", "sflow", "ipfix", "flood_vlans"} {
			c.db.WriteName(br, n, Datum{})
		}
		oc := br.ReadName("other_config")
		nw := Datum{Values: []Atom{}}
		if i := find(oc, "hwaddr"); i >= 0 {
			nw = Datum{Keys: []Atom{oc.Keys[i]}, Values: []Atom{oc.Values[i]}}
		}
		c.db.WriteName(br, "other_config", nw)
	}
	for _, p := range c.db.Rows(c.schema().Table("Port")) {
		c.db.WriteName(p, "other_config", Datum{Values: []Atom{}})
	}
	for _, i := range c.db.Rows(c.schema().Table("Interface")) {
		c.db.WriteName(i, "ingress_policing_rate", Datum{Keys: []Atom{int64(0)}})
		c.db.WriteName(i, "ingress_policing_burst", Datum{Keys: []Atom{int64(0)}})
	}
	for _, t := range []string{"Mirror", "Controller", "Manager", "NetFlow", "SSL", "sFlow", "IPFIX", "Flow_Sample_Collector_Set"} {
		for _, r := range c.db.Rows(c.schema().Table(t)) {
			c.db.Delete(r)
		}
	}
	c.invalidate()
	return nil
}
