package dataplane_test

import (
	"testing"
	"time"

	"gvswitch/bond"
	"gvswitch/dataplane"
	"gvswitch/dataplane/memport"
)

// addBond adds bridge port no as a bond of two memport members.
func (r *rig) addBond(no uint32, mode bond.Mode) (*bond.Bond, [2]*memport.Port, [2]int) {
	r.t.Helper()
	now := time.Unix(1000, 0)
	bd, err := bond.New(bond.Config{Name: "bond0", Mode: mode}, now)
	if err != nil {
		r.t.Fatal(err)
	}
	var ms [2]*memport.Port
	var idx [2]int
	members := make([]dataplane.Port, 0, 2)
	for i := range ms {
		ms[i] = memport.New("m"+string(rune('0'+i)), r.pool, memport.Options{})
		idx[i], err = bd.SetMember(bond.MemberConfig{Name: ms[i].Name(), MAC: [6]byte{2, 0, 0, 0, 0, byte(i)}}, true, now)
		if err != nil {
			r.t.Fatal(err)
		}
		for len(members) <= idx[i] {
			members = append(members, nil)
		}
		members[idx[i]] = ms[i]
	}
	bd.Run(now)
	if err := r.br.AddPort(no, dataplane.PortConfig{Name: "bond0", Members: members, Bond: bd}); err != nil {
		r.t.Fatal(err)
	}
	return bd, ms, idx
}

// sendMember runs frames received on bond member m of port no.
func (r *rig) sendMember(no uint32, m *memport.Port, member int, frames ...[]byte) {
	r.t.Helper()
	m.Feed(0, frames...)
	pkts := make([]*dataplane.Packet, 64)
	n := m.RxBurst(0, pkts)
	r.br.Process(1, no, member, pkts[:n])
}

func TestBondActiveBackup(t *testing.T) {
	r := newRig(t, dataplane.BridgeConfig{})
	bd, ms, idx := r.addBond(1, bond.ActiveBackup)
	r.add(2, dataplane.PortConfig{})
	act := bd.ActiveMember()
	a, bk := 0, 1
	if idx[1] == act {
		a, bk = 1, 0
	}
	// Flood from port 2 leaves on the active member only.
	r.send(2, frame(broadcast, hostMAC(2), 0, 0, 0x0800, 64))
	if len(ms[a].Take()) != 1 || len(ms[bk].Take()) != 0 {
		t.Fatal("flood to an active-backup bond not on the active member only")
	}
	// The backup member's traffic is dropped; the active member's learned
	// on the bond's port number.
	r.sendMember(1, ms[bk], idx[bk], frame(hostMAC(2), hostMAC(1), 0, 0, 0x0800, 64))
	if got := r.takeAll(); len(got) != 0 {
		t.Fatalf("frame from the backup member forwarded: %v", counts(got))
	}
	if c, _ := r.br.PortCounters(1); c.RxBondDrops != 1 {
		t.Fatalf("bond drops %d, want 1", c.RxBondDrops)
	}
	r.sendMember(1, ms[a], idx[a], frame(hostMAC(2), hostMAC(1), 0, 0, 0x0800, 64))
	if got := r.takeAll(); len(got[2]) != 1 {
		t.Fatalf("frame from the active member: %v", counts(got))
	}
	if p, ok := r.br.FDB().Lookup(0, hostMAC(1)); !ok || p != 1 {
		t.Fatalf("bond address learned on %d %v, want port 1", p, ok)
	}
	// Failover: the active member loses carrier; unicast now leaves on the
	// other member.
	bd.SetCarrier(idx[a], false, time.Unix(1001, 0))
	bd.Run(time.Unix(1001, 0))
	r.send(2, frame(hostMAC(1), hostMAC(2), 0, 0, 0x0800, 64))
	if len(ms[bk].Take()) != 1 || len(ms[a].Take()) != 0 {
		t.Fatal("after failover the frame did not leave on the new active member")
	}
	// LACPDUs bypass the bond's verdict and reach the slow path with their member.
	r.sendMember(1, ms[a], idx[a], frame(lacpDst, [6]byte{2, 0, 0, 0, 0, 9}, 0, 0, 0x8809, 124))
	sf := make([]dataplane.SlowFrame, 4)
	if n := r.br.ReadSlowPath(sf); n != 1 || sf[0].Member != idx[a] || sf[0].Port != 1 {
		t.Fatalf("slow path: %d frames %+v", n, sf[0])
	}
	sf[0].Pkt.Free()
}

func TestBondSLBDropsLoopedFrames(t *testing.T) {
	r := newRig(t, dataplane.BridgeConfig{})
	bd, ms, idx := r.addBond(1, bond.BalanceSLB)
	r.add(2, dataplane.PortConfig{})
	// Host 2 is behind port 2. Its broadcast leaves on one bond member;
	// the upstream switch floods it back on the other member.
	r.send(2, frame(broadcast, hostMAC(2), 0, 0, 0x0806, 64))
	ms[0].Take()
	ms[1].Take()
	act := bd.ActiveMember()
	m := 0
	if idx[1] == act {
		m = 1
	}
	r.sendMember(1, ms[m], idx[m], frame(broadcast, hostMAC(2), 0, 0, 0x0806, 64))
	if got := r.takeAll(); len(got) != 0 {
		t.Fatalf("looped frame forwarded: %v", counts(got))
	}
	if p, _ := r.br.FDB().Lookup(0, hostMAC(2)); p != 2 {
		t.Fatalf("looped frame moved host 2 to port %d", p)
	}
	// A host really behind the bond is learned and forwarded.
	r.sendMember(1, ms[m], idx[m], frame(broadcast, hostMAC(7), 0, 0, 0x0806, 64))
	if got := r.takeAll(); len(got[2]) != 1 {
		t.Fatalf("frame from the bond: %v", counts(got))
	}
	// Removing a member: the bond keeps working on the other one.
	other := 1 - m
	bd.RemoveMember(idx[other], time.Unix(1002, 0))
	members := make([]dataplane.Port, max(idx[0], idx[1])+1)
	members[idx[m]] = ms[m]
	if err := r.br.SetPortConfig(1, dataplane.PortConfig{Name: "bond0", Members: members, Bond: bd}); err != nil {
		t.Fatal(err)
	}
	r.send(2, frame(hostMAC(7), hostMAC(2), 0, 0, 0x0800, 64))
	if len(ms[m].Take()) != 1 || len(ms[other].Take()) != 0 {
		t.Fatal("after member removal")
	}
}

// garp is a gratuitous ARP (announcement) from mac for 10.0.0.ip.
func garp(mac [6]byte, ip byte) []byte {
	f := frame(broadcast, mac, 0, 0, 0x0806, 14)
	a := []byte{0, 1, 8, 0, 6, 4, 0, 1}
	a = append(a, mac[:]...)
	a = append(a, 10, 0, 0, ip, 0, 0, 0, 0, 0, 0, 10, 0, 0, ip)
	return append(f, a...)
}

func TestBondSLBGratuitousARP(t *testing.T) {
	r := newRig(t, dataplane.BridgeConfig{})
	bd, ms, idx := r.addBond(1, bond.BalanceSLB)
	r.add(2, dataplane.PortConfig{})
	m := 0
	if idx[1] == bd.ActiveMember() {
		m = 1
	}
	// Host 2 announces itself on port 2; the announcement comes back on
	// the bond at once: dropped, host 2 stays on port 2.
	r.send(2, garp(hostMAC(2), 2))
	r.takeAll()
	ms[0].Take()
	ms[1].Take()
	r.sendMember(1, ms[m], idx[m], garp(hostMAC(2), 2))
	if p, _ := r.br.FDB().Lookup(0, hostMAC(2)); p != 2 {
		t.Fatalf("reflected announcement moved host 2 to port %d", p)
	}
	if got := r.takeAll(); len(got) != 0 {
		t.Fatalf("reflected announcement forwarded: %v", counts(got))
	}
	// Later host 2 really moves behind the bond and announces itself:
	// accepted and learned there. An ordinary frame would have been dropped.
	r.now += int64(6 * time.Second)
	r.sendMember(1, ms[m], idx[m], frame(broadcast, hostMAC(2), 0, 0, 0x0800, 64))
	if p, _ := r.br.FDB().Lookup(0, hostMAC(2)); p != 2 {
		t.Fatal("ordinary frame moved host 2")
	}
	r.sendMember(1, ms[m], idx[m], garp(hostMAC(2), 2))
	if p, _ := r.br.FDB().Lookup(0, hostMAC(2)); p != 1 {
		t.Fatalf("announcement from behind the bond left host 2 on port %d", p)
	}
	if got := r.takeAll(); len(got[2]) != 1 {
		t.Fatalf("announcement not forwarded: %v", counts(got))
	}
}
