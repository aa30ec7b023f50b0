package virtq_test

import (
	"encoding/binary"
	"testing"

	"gvswitch/dataplane"
	"gvswitch/vhostuser/vhosttest"
	"gvswitch/vhostuser/virtq"
)

// FuzzHostileRing lets the input write the descriptor table, the available
// ring and the first buffers of guest memory, with descriptor addresses
// drawn near the guest memory's bounds. Dequeue and Enqueue must never
// panic, leak packets or publish a used entry naming a descriptor outside
// the ring.
func FuzzHostileRing(f *testing.F) {
	seed := make([]byte, 16*16+2+32)
	// A good one-descriptor transmit chain.
	binary.LittleEndian.PutUint32(seed[8:], 80)
	binary.LittleEndian.PutUint16(seed[256:], 1)
	f.Add(seed, false)
	loop := append([]byte(nil), seed...)
	binary.LittleEndian.PutUint16(loop[12:], 1) // NEXT, next = 0
	f.Add(loop, true)
	ind := append([]byte(nil), seed...)
	binary.LittleEndian.PutUint16(ind[12:], 4)
	binary.LittleEndian.PutUint32(ind[8:], 48)
	f.Add(ind, false)
	f.Fuzz(func(t *testing.T, in []byte, rx bool) {
		e := newEnv(t, 256<<10)
		r, err := vhosttest.NewRing(e.mem, 16, 1024)
		if err != nil {
			t.Fatal(err)
		}
		q := e.queue(t, r, func(c *virtq.Config) { c.EventIdx = len(in)%2 == 0 })
		mem := e.mem.Bytes()
		// Descriptors: addresses are taken modulo a window a bit larger
		// than guest memory, so they land inside, across the end and
		// outside.
		desc := mem[r.DescOff : r.DescOff+256]
		n := copy(desc, in)
		window := uint64(len(mem)) + 8192
		for i := 0; i < 16; i++ {
			a := binary.LittleEndian.Uint64(desc[16*i:])
			if i*16 < n && a>>63 == 0 {
				binary.LittleEndian.PutUint64(desc[16*i:], e.mem.GPABase+a%window)
			}
		}
		rest := in[n:]
		if len(rest) >= 2 {
			// Available ring entries, then the index.
			ring := mem[r.AvailOff+4 : r.AvailOff+4+32]
			k := copy(ring, rest[2:])
			_ = k
			r.SetAvailIdx(binary.LittleEndian.Uint16(rest))
		}
		if len(rest) > 34 {
			copy(mem[r.BufOff:r.BufOff+4096], rest[34:])
		}
		pkts := make([]*dataplane.Packet, 32)
		for round := 0; round < 2; round++ {
			if rx {
				in := packets(t, e.pool, [][]byte{frame(60, 1), frame(1500, 2), frame(3000, 3)})
				q.Enqueue(in)
				dataplane.PutBurst(in)
			} else {
				got := q.Dequeue(e.cache, pkts)
				for _, p := range pkts[:got] {
					if p.Len() < 14 || p.Len() > e.pool.DataRoom() {
						t.Fatalf("frame of %d bytes", p.Len())
					}
				}
				dataplane.PutBurst(pkts[:got])
			}
		}
		if n := e.leaked(); n != 0 {
			t.Fatalf("leaked %d packets", n)
		}
		for _, u := range r.PopUsedNoRelease() {
			if u.ID >= 16 {
				t.Fatalf("used entry names descriptor %d", u.ID)
			}
		}
	})
}
