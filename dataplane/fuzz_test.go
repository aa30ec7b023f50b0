package dataplane_test

import (
	"testing"

	"gvswitch/dataplane"
)

// FuzzProcess runs arbitrary frames through a bridge with every kind of
// VLAN port: nothing may panic, and every buffer must come back to the
// pool (no leak, no double free) once the ports' output is taken.
func FuzzProcess(f *testing.F) {
	f.Add(uint8(1), frame(broadcast, hostMAC(1), 0, 0, 0x0800, 64))
	f.Add(uint8(4), frame(broadcast, hostMAC(1), 0x8100, 20, 0x0800, 64))
	f.Add(uint8(4), frame(hostMAC(2), hostMAC(1), 0x88a8, 10, 0x8100, 64))
	f.Add(uint8(6), frame(lacpDst, hostMAC(1), 0, 0, 0x8809, 124))
	f.Add(uint8(1), frame(broadcast, hostMAC(1), 0x8100, 0, 0x0800, 18))
	f.Add(uint8(2), []byte{1, 2, 3})
	f.Add(uint8(3), make([]byte, 2000))
	f.Fuzz(func(t *testing.T, in uint8, data []byte) {
		r := newRig(t, dataplane.BridgeConfig{})
		r.add(1, dataplane.PortConfig{Tag: 10, HasTag: true})
		r.add(2, dataplane.PortConfig{VLANMode: dataplane.VLANAccess, Tag: 10, HasTag: true})
		r.add(3, dataplane.PortConfig{VLANMode: dataplane.VLANTrunk, Trunks: []uint16{0, 10, 20}})
		r.add(4, dataplane.PortConfig{})
		r.add(5, dataplane.PortConfig{VLANMode: dataplane.VLANNativeUntagged, Tag: 10, HasTag: true})
		r.add(6, dataplane.PortConfig{VLANMode: dataplane.VLANNativeTagged, Tag: 20, HasTag: true})
		r.ports[3].SetMTU(100)
		no := uint32(in%6) + 1
		if len(data) > 2048 {
			data = data[:2048]
		}
		// The frame and a second one with its addresses swapped, so that
		// learned destinations are exercised too.
		sw := append([]byte(nil), data...)
		if len(sw) >= 12 {
			copy(sw[0:6], data[6:12])
			copy(sw[6:12], data[0:6])
		}
		r.send(no, data, sw)
		r.send(no%6+1, sw, data)
		r.takeAll()
		sf := make([]dataplane.SlowFrame, 8)
		for _, s := range sf[:r.br.ReadSlowPath(sf)] {
			s.Pkt.Free()
		}
		r.br.ReleaseWorker(1)
		if r.pool.Available() != r.pool.Size() {
			t.Fatalf("pool has %d of %d buffers: leaked or double-freed", r.pool.Available(), r.pool.Size())
		}
	})
}
