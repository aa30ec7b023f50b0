package dataplane_test

import (
	"fmt"
	"os"

	"gvswitch/dataplane"
	"gvswitch/dataplane/memport"
)

// A bridge with two access ports on VLAN 300 and a trunk: a PMD would call
// Process for every burst it receives; here the test feeds the ports.
func ExampleBridge() {
	arena, _ := dataplane.NewArena(1024*2304, dataplane.ArenaOptions{})
	defer arena.Close()
	pool, _, _ := dataplane.NewPool("packets", arena, 0, 1024, dataplane.DefaultDataRoom)
	now := int64(0)
	br, _ := dataplane.NewBridge(dataplane.BridgeConfig{Name: "br0", Pool: pool, Clock: func() int64 { return now }})

	a := memport.New("a", pool, memport.Options{})
	b := memport.New("b", pool, memport.Options{})
	trunk := memport.New("t", pool, memport.Options{})
	br.AddPort(1, dataplane.PortConfig{Name: "a", Port: a, Tag: 300, HasTag: true})
	br.AddPort(2, dataplane.PortConfig{Name: "b", Port: b, Tag: 300, HasTag: true})
	br.AddPort(3, dataplane.PortConfig{Name: "t", Port: trunk, VLANMode: dataplane.VLANTrunk, Trunks: []uint16{300, 301}})

	// Host 52:54:00:00:00:01 behind port a broadcasts.
	a.Feed(0, frame(broadcast, hostMAC(1), 0, 0, 0x0806, 60))
	pkts := make([]*dataplane.Packet, 32)
	n := a.RxBurst(0, pkts)
	br.Process(1, 1, -1, pkts[:n]) // worker 1 (a PMD's TxQueue()), from port 1, not a bond member

	fmt.Println("b got", len(b.Take()), "frame(s)")
	f := trunk.Take()[0]
	fmt.Printf("trunk got a frame tagged %#04x VID %d\n", uint16(f[12])<<8|uint16(f[13]), (uint16(f[14])<<8|uint16(f[15]))&0xfff)
	now += 7e9
	br.WriteFDBShow(os.Stdout)
	// Output:
	// b got 1 frame(s)
	// trunk got a frame tagged 0x8100 VID 300
	//  port  VLAN  MAC                Age
	//     1   300  52:54:00:00:00:01    7
}
