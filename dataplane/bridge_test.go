package dataplane_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"gvswitch/dataplane"
	"gvswitch/dataplane/memport"
)

var (
	broadcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	lacpDst   = [6]byte{0x01, 0x80, 0xc2, 0x00, 0x00, 0x02}
	stpDst    = [6]byte{0x01, 0x80, 0xc2, 0x00, 0x00, 0x00}
)

func hostMAC(i byte) [6]byte { return [6]byte{0x52, 0x54, 0, 0, 0, i} }

// frame builds an Ethernet frame; tpid 0 means untagged.
func frame(dst, src [6]byte, tpid, vid uint16, etype uint16, size int) []byte {
	f := make([]byte, 0, size+4)
	f = append(f, dst[:]...)
	f = append(f, src[:]...)
	if tpid != 0 {
		f = binary.BigEndian.AppendUint16(f, tpid)
		f = binary.BigEndian.AppendUint16(f, vid)
	}
	f = binary.BigEndian.AppendUint16(f, etype)
	for len(f) < size {
		f = append(f, byte(len(f)))
	}
	return f
}

// tagOf returns the frame's outer TPID and VID, or 0, -1 when untagged.
func tagOf(f []byte) (uint16, int) {
	et := binary.BigEndian.Uint16(f[12:14])
	if et == 0x8100 || et == 0x88a8 {
		return et, int(binary.BigEndian.Uint16(f[14:16]) & 0xfff)
	}
	return 0, -1
}

type rig struct {
	t     *testing.T
	pool  *dataplane.Pool
	br    *dataplane.Bridge
	ports map[uint32]*memport.Port
	now   int64
}

func newRig(t *testing.T, cfg dataplane.BridgeConfig) *rig {
	t.Helper()
	a, err := dataplane.NewArena(4096*2304, dataplane.ArenaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	pool, _, err := dataplane.NewPool("rig", a, 0, 4096, dataplane.DefaultDataRoom)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, pool: pool, ports: map[uint32]*memport.Port{}}
	cfg.Pool = pool
	cfg.Name = "br0"
	cfg.Clock = func() int64 { return r.now }
	r.br, err = dataplane.NewBridge(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) add(no uint32, cfg dataplane.PortConfig) *memport.Port {
	r.t.Helper()
	p := memport.New(fmt.Sprintf("p%d", no), r.pool, memport.Options{})
	cfg.Port = p
	cfg.Name = p.Name()
	if err := r.br.AddPort(no, cfg); err != nil {
		r.t.Fatal(err)
	}
	r.ports[no] = p
	return p
}

// send feeds frames to port no and runs them through the bridge as one
// burst, as a PMD would.
func (r *rig) send(no uint32, frames ...[]byte) {
	r.t.Helper()
	p := r.ports[no]
	if n := p.Feed(0, frames...); n != len(frames) {
		r.t.Fatalf("fed %d of %d frames", n, len(frames))
	}
	pkts := make([]*dataplane.Packet, 64)
	n := p.RxBurst(0, pkts)
	r.br.Process(1, no, -1, pkts[:n])
}

// takeAll returns what each port transmitted since the last call.
func (r *rig) takeAll() map[uint32][][]byte {
	out := map[uint32][][]byte{}
	for no, p := range r.ports {
		if f := p.Take(); len(f) > 0 {
			out[no] = f
		}
	}
	return out
}

func TestVLANModes(t *testing.T) {
	r := newRig(t, dataplane.BridgeConfig{})
	r.add(1, dataplane.PortConfig{Tag: 10, HasTag: true}) // empty vlan_mode + tag = access
	r.add(2, dataplane.PortConfig{VLANMode: dataplane.VLANAccess, Tag: 10, HasTag: true})
	r.add(3, dataplane.PortConfig{VLANMode: dataplane.VLANAccess, Tag: 20, HasTag: true})
	r.add(4, dataplane.PortConfig{}) // no tag: trunk of all VLANs
	r.add(5, dataplane.PortConfig{VLANMode: dataplane.VLANTrunk, Trunks: []uint16{10}})
	r.add(6, dataplane.PortConfig{VLANMode: dataplane.VLANNativeUntagged, Tag: 10, HasTag: true, Trunks: []uint16{20}})
	r.add(7, dataplane.PortConfig{VLANMode: dataplane.VLANNativeTagged, Tag: 20, HasTag: true})

	const untagged = -1
	type out struct {
		tpid uint16
		vid  int
	}
	src := hostMAC(1)
	cases := []struct {
		name string
		in   uint32
		tpid uint16
		vid  uint16
		want map[uint32]out
	}{
		{"access untagged floods VLAN 10", 1, 0, 0, map[uint32]out{
			2: {0, untagged}, 4: {0x8100, 10}, 5: {0x8100, 10}, 6: {0, untagged}, 7: {0x8100, 10}}},
		{"access drops tagged", 1, 0x8100, 10, nil},
		{"access takes priority-tagged as untagged", 1, 0x8100, 0, map[uint32]out{
			2: {0, untagged}, 4: {0x8100, 10}, 5: {0x8100, 10}, 6: {0, untagged}, 7: {0x8100, 10}}},
		{"trunk tagged 20", 4, 0x8100, 20, map[uint32]out{
			3: {0, untagged}, 6: {0x8100, 20}, 7: {0x8100, 20}}},
		{"trunk untagged is VLAN 0", 4, 0, 0, nil},
		{"trunk drops VLAN not in trunks", 5, 0x8100, 20, nil},
		{"trunks filter allows 10", 5, 0x8100, 10, map[uint32]out{
			1: {0, untagged}, 2: {0, untagged}, 4: {0x8100, 10}, 6: {0, untagged}, 7: {0x8100, 10}}},
		{"native-untagged untagged is native", 6, 0, 0, map[uint32]out{
			1: {0, untagged}, 2: {0, untagged}, 4: {0x8100, 10}, 5: {0x8100, 10}, 7: {0x8100, 10}}},
		{"native-untagged tagged native", 6, 0x8100, 10, map[uint32]out{
			1: {0, untagged}, 2: {0, untagged}, 4: {0x8100, 10}, 5: {0x8100, 10}, 7: {0x8100, 10}}},
		{"native-untagged drops untrunked", 6, 0x8100, 30, nil},
		{"native-tagged untagged is native 20", 7, 0, 0, map[uint32]out{
			3: {0, untagged}, 4: {0x8100, 20}, 6: {0x8100, 20}}},
		{"802.1ad outer tag switches and is kept", 4, 0x88a8, 10, map[uint32]out{
			1: {0, untagged}, 2: {0, untagged}, 5: {0x88a8, 10}, 6: {0, untagged}, 7: {0x88a8, 10}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r.br.FDB().Flush()
			r.send(tc.in, frame(broadcast, src, tc.tpid, tc.vid, 0x0800, 64))
			got := r.takeAll()
			for no, w := range tc.want {
				fs := got[no]
				if len(fs) != 1 {
					t.Errorf("port %d got %d frames, want 1", no, len(fs))
					continue
				}
				tp, vid := tagOf(fs[0])
				if tp != w.tpid || vid != w.vid {
					t.Errorf("port %d: tag %#x/%d, want %#x/%d", no, tp, vid, w.tpid, w.vid)
				}
				// Payload intact after push/pop: the EtherType and bytes after it.
				off := 12
				if tp != 0 {
					off = 16
				}
				if binary.BigEndian.Uint16(fs[0][off:]) != 0x0800 {
					t.Errorf("port %d: payload damaged: % x", no, fs[0][:20])
				}
			}
			for no, fs := range got {
				if _, ok := tc.want[no]; !ok {
					t.Errorf("port %d got %d frames, want none", no, len(fs))
				}
			}
		})
	}
	c, err := r.br.PortCounters(1)
	if err != nil || c.RxVLANDrops != 1 {
		t.Fatalf("port 1 VLAN drops %d (%v), want 1", c.RxVLANDrops, err)
	}
}

func TestLearningAndUnicast(t *testing.T) {
	r := newRig(t, dataplane.BridgeConfig{MACAgingTime: 10 * time.Second})
	for no := uint32(1); no <= 3; no++ {
		r.add(no, dataplane.PortConfig{VLANMode: dataplane.VLANAccess, Tag: 300, HasTag: true})
	}
	r.add(4, dataplane.PortConfig{VLANMode: dataplane.VLANAccess, Tag: 301, HasTag: true})
	a, b := hostMAC(1), hostMAC(2)
	// a → b unknown: flooded to VLAN 300 only.
	r.send(1, frame(b, a, 0, 0, 0x0800, 64))
	got := r.takeAll()
	if len(got[2]) != 1 || len(got[3]) != 1 || len(got[4]) != 0 || len(got[1]) != 0 {
		t.Fatalf("unknown unicast flooding: %v", counts(got))
	}
	// b answers: a is known on port 1, so only port 1 gets it.
	r.send(2, frame(a, b, 0, 0, 0x0800, 64))
	got = r.takeAll()
	if len(got[1]) != 1 || len(got) != 1 {
		t.Fatalf("learned unicast: %v", counts(got))
	}
	// Now a → b goes to port 2 only.
	r.send(1, frame(b, a, 0, 0, 0x0800, 64))
	if got = r.takeAll(); len(got[2]) != 1 || len(got) != 1 {
		t.Fatalf("learned unicast: %v", counts(got))
	}
	// The same MAC in VLAN 301 is another entry: flooded there.
	r.send(4, frame(b, a, 0, 0, 0x0800, 64))
	if got = r.takeAll(); len(got) != 0 {
		t.Fatalf("VLAN 301 has one port; got %v", counts(got))
	}
	if p, ok := r.br.FDB().Lookup(301, a); !ok || p != 4 {
		t.Fatal("a not learned on port 4 in VLAN 301")
	}
	// a moves to port 3.
	r.send(3, frame(broadcast, a, 0, 0, 0x0806, 64))
	r.takeAll()
	r.send(2, frame(a, b, 0, 0, 0x0800, 64))
	if got = r.takeAll(); len(got[3]) != 1 || len(got) != 1 {
		t.Fatalf("after move: %v", counts(got))
	}
	if s := r.br.FDB().Stats(); s.Moved != 1 {
		t.Fatalf("moves %d, want 1", s.Moved)
	}
	// Destination behind the input port: dropped, not reflected.
	r.send(2, frame(b, hostMAC(9), 0, 0, 0x0800, 64))
	if got = r.takeAll(); len(got) != 0 {
		t.Fatalf("frame for a host on the input port was forwarded: %v", counts(got))
	}
	// Ageing: after 10 s of silence, a is unknown and flooded again.
	r.now += int64(11 * time.Second)
	r.br.Expire()
	r.send(2, frame(a, b, 0, 0, 0x0800, 64))
	if got = r.takeAll(); len(got[1]) != 1 || len(got[3]) != 1 {
		t.Fatalf("after ageing: %v", counts(got))
	}
}

func counts(m map[uint32][][]byte) map[uint32]int {
	c := map[uint32]int{}
	for k, v := range m {
		c[k] = len(v)
	}
	return c
}

func TestReservedMulticastAndSlowPath(t *testing.T) {
	r := newRig(t, dataplane.BridgeConfig{SlowPathSize: 2})
	r.add(1, dataplane.PortConfig{})
	r.add(2, dataplane.PortConfig{})
	lacpdu := frame(lacpDst, hostMAC(1), 0, 0, 0x8809, 124)
	r.send(1, frame(stpDst, hostMAC(1), 0, 0, 0x0026, 64), lacpdu, lacpdu, lacpdu,
		frame(broadcast, [6]byte{0x01, 0, 0, 0, 0, 1}, 0, 0, 0x0800, 64))
	if got := r.takeAll(); len(got) != 0 {
		t.Fatalf("reserved multicast forwarded: %v", counts(got))
	}
	sf := make([]dataplane.SlowFrame, 8)
	n := r.br.ReadSlowPath(sf)
	if n != 2 || r.br.SlowPathDrops() != 1 {
		t.Fatalf("slow path got %d frames, dropped %d; want 2 and 1", n, r.br.SlowPathDrops())
	}
	for _, f := range sf[:n] {
		if f.Port != 1 || f.Member != -1 || string(f.Pkt.Data()) != string(lacpdu) {
			t.Fatalf("slow frame %+v", f)
		}
		f.Pkt.Free()
	}
	c, _ := r.br.PortCounters(1)
	if c.RxReservedDrops != 2 {
		t.Fatalf("reserved drops %d, want 2 (STP + multicast source)", c.RxReservedDrops)
	}
}

func TestMTUDrop(t *testing.T) {
	r := newRig(t, dataplane.BridgeConfig{})
	r.add(1, dataplane.PortConfig{Tag: 5, HasTag: true})
	p2 := r.add(2, dataplane.PortConfig{Tag: 5, HasTag: true})
	p3 := r.add(3, dataplane.PortConfig{})
	p2.SetMTU(1000)
	p3.SetMTU(1000)
	// A port of MTU 1000 takes frames of up to 1018 bytes, as OVS-DPDK
	// (MTU + 18): 1014 bytes fit on 2 untagged and on the trunk with its
	// tag (1018); 1019 bytes fit on neither.
	r.send(1, frame(broadcast, hostMAC(1), 0, 0, 0x0800, 1014), frame(broadcast, hostMAC(1), 0, 0, 0x0800, 1019))
	got := r.takeAll()
	if len(got[2]) != 1 || len(got[3]) != 1 || len(got[3][0]) != 1018 {
		t.Fatalf("MTU: %v", counts(got))
	}
	c2, _ := r.br.PortCounters(2)
	c3, _ := r.br.PortCounters(3)
	if c2.TxMTUDrops != 1 || c3.TxMTUDrops != 1 {
		t.Fatalf("MTU drops %d, %d; want 1, 1", c2.TxMTUDrops, c3.TxMTUDrops)
	}
}

func TestFloodVLANsDoNotLearn(t *testing.T) {
	r := newRig(t, dataplane.BridgeConfig{FloodVLANs: []uint16{7}})
	r.add(1, dataplane.PortConfig{})
	r.add(2, dataplane.PortConfig{})
	r.send(1, frame(broadcast, hostMAC(1), 0x8100, 7, 0x0800, 64), frame(broadcast, hostMAC(1), 0x8100, 8, 0x0800, 64))
	if _, ok := r.br.FDB().Lookup(7, hostMAC(1)); ok {
		t.Fatal("learned in a flood VLAN")
	}
	if _, ok := r.br.FDB().Lookup(8, hostMAC(1)); !ok {
		t.Fatal("did not learn in an ordinary VLAN")
	}
}

func TestFakeBridgeIsAccessPort(t *testing.T) {
	// add-br vlan302 ovsbr0 302: the fake bridge's ports (and its own
	// internal port) are access ports of VLAN 302 on the parent, and talk to
	// the parent's VLAN-302 access ports and trunks.
	r := newRig(t, dataplane.BridgeConfig{})
	r.add(dataplane.LocalPort, dataplane.PortConfig{})      // ovsbr0 itself
	r.add(10, dataplane.PortConfig{Tag: 302, HasTag: true}) // vlan302 internal port
	r.add(11, dataplane.PortConfig{Tag: 302, HasTag: true}) // a port added to vlan302
	r.add(12, dataplane.PortConfig{Tag: 302, HasTag: true}) // parent's VLAN-302 access port
	r.add(13, dataplane.PortConfig{Tag: 300, HasTag: true}) // another VLAN
	r.send(11, frame(broadcast, hostMAC(11), 0, 0, 0x0806, 64))
	got := r.takeAll()
	if len(got[10]) != 1 || len(got[12]) != 1 || len(got[13]) != 0 {
		t.Fatalf("fake bridge flood: %v", counts(got))
	}
	if tp, _ := tagOf(got[dataplane.LocalPort][0]); tp != 0x8100 {
		t.Fatal("trunk LOCAL port did not get VLAN 302 tagged")
	}
	r.send(12, frame(hostMAC(11), hostMAC(12), 0, 0, 0x0800, 64))
	if got = r.takeAll(); len(got[11]) != 1 || len(got) != 1 {
		t.Fatalf("fake bridge unicast: %v", counts(got))
	}
}

func TestPortConfigErrors(t *testing.T) {
	r := newRig(t, dataplane.BridgeConfig{})
	r.add(1, dataplane.PortConfig{})
	p := memport.New("x", r.pool, memport.Options{})
	if err := r.br.AddPort(1, dataplane.PortConfig{Port: p}); !errors.Is(err, dataplane.ErrPortExists) {
		t.Fatalf("duplicate number: %v", err)
	}
	if err := r.br.AddPort(2, dataplane.PortConfig{}); !errors.Is(err, dataplane.ErrBadPort) {
		t.Fatalf("no interface: %v", err)
	}
	if err := r.br.AddPort(3, dataplane.PortConfig{Port: p, Tag: 5000, HasTag: true}); !errors.Is(err, dataplane.ErrBadVLANConfig) {
		t.Fatalf("tag 5000: %v", err)
	}
	if _, err := dataplane.ParseVLANMode("dot1q-tunnel"); !errors.Is(err, dataplane.ErrUnsupported) {
		t.Fatalf("dot1q-tunnel: %v", err)
	}
	if _, err := r.br.RemovePort(9); !errors.Is(err, dataplane.ErrNoPort) {
		t.Fatalf("remove unknown: %v", err)
	}
	// Reconfiguring VLANs keeps the port and flushes its addresses.
	r.send(1, frame(broadcast, hostMAC(1), 0x8100, 4, 0x0800, 64))
	if err := r.br.SetPortConfig(1, dataplane.PortConfig{Port: r.ports[1], Name: "p1", Tag: 4, HasTag: true}); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.br.FDB().Lookup(4, hostMAC(1)); ok {
		t.Fatal("reconfigured port kept its addresses")
	}
	if ps := r.br.Ports(); len(ps) != 1 || ps[0].VLANMode != dataplane.VLANAccess {
		t.Fatalf("Ports() = %+v", ps)
	}
}

func TestInject(t *testing.T) {
	r := newRig(t, dataplane.BridgeConfig{})
	r.add(1, dataplane.PortConfig{})
	lacpdu := frame(lacpDst, hostMAC(1), 0, 0, 0x8809, 124)
	if err := r.br.Inject(1, -1, lacpdu); err != nil {
		t.Fatal(err)
	}
	got := r.takeAll()
	if len(got[1]) != 1 || string(got[1][0]) != string(lacpdu) {
		t.Fatalf("injected frame not sent: %v", counts(got))
	}
	if err := r.br.Inject(2, -1, lacpdu); !errors.Is(err, dataplane.ErrNoPort) {
		t.Fatalf("inject on unknown port: %v", err)
	}
}

func TestInterfaceStatistics(t *testing.T) {
	r := newRig(t, dataplane.BridgeConfig{})
	r.add(1, dataplane.PortConfig{Tag: 3, HasTag: true})
	p2 := r.add(2, dataplane.PortConfig{Tag: 3, HasTag: true})
	p2.SetMTU(100)
	r.send(1, frame(broadcast, hostMAC(1), 0, 0, 0x0800, 64), frame(broadcast, hostMAC(1), 0, 0, 0x0800, 200),
		frame(broadcast, hostMAC(1), 0x8100, 7, 0x0800, 64))
	r.takeAll()
	s1, err := r.br.InterfaceStatistics(1, -1)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := r.br.InterfaceStatistics(2, -1)
	if s1["rx_packets"] != 3 || s1["rx_dropped"] != 1 || s2["tx_packets"] != 1 || s2["ovs_tx_mtu_exceeded_drops"] != 1 {
		t.Fatalf("port 1 %v\nport 2 %v", s1, s2)
	}
	if _, err := r.br.InterfaceStatistics(9, -1); !errors.Is(err, dataplane.ErrNoPort) {
		t.Fatalf("unknown port: %v", err)
	}
}
