package fdb

import (
	"math/rand/v2"
	"testing"
	"time"
)

// model is the obvious map implementation of the table's contract, for
// property and fuzz tests: every operation advances the clock by a second
// so that "least recently used" has no ties.
type model struct {
	max   int
	aging int64
	m     map[uint64]modelEntry
}

type modelEntry struct {
	port   uint32
	used   int64
	static bool
}

func (m *model) learn(k uint64, port uint32, now int64) {
	if e, ok := m.m[k]; ok {
		if e.static {
			return
		}
		m.m[k] = modelEntry{port: port, used: now}
		return
	}
	if len(m.m) >= m.max {
		oldest, found := uint64(0), false
		for k2, e := range m.m {
			if !e.static && (!found || e.used < m.m[oldest].used) {
				oldest, found = k2, true
			}
		}
		if !found {
			return
		}
		delete(m.m, oldest)
	}
	m.m[k] = modelEntry{port: port, used: now}
}

func (m *model) expire(now int64) {
	for k, e := range m.m {
		if !e.static && e.used+m.aging <= now {
			delete(m.m, k)
		}
	}
}

// runOps interprets ops as a program (3 bytes per operation) on both the
// table and the model and reports the first disagreement.
func runOps(t *testing.T, maxEntries int, ops []byte) {
	aging := 20 * time.Second
	tb := mustNew(t, maxEntries, aging)
	md := &model{max: maxEntries, aging: int64(aging), m: map[uint64]modelEntry{}}
	now := int64(0)
	for len(ops) >= 3 {
		op, a, b := ops[0], ops[1], ops[2]
		ops = ops[3:]
		now += sec
		vlan := uint16(a & 3)
		m := mac(a >> 2)
		k := Key(vlan, m)
		port := uint32(b & 7)
		switch op % 8 {
		case 0, 1, 2:
			tb.Learn(vlan, m, port, now)
			md.learn(k, port, now)
		case 3:
			tb.Expire(now)
			md.expire(now)
		case 4:
			if b&0x80 != 0 {
				tb.FlushPort(port)
				for k2, e := range md.m {
					if e.port == port {
						delete(md.m, k2)
					}
				}
			} else {
				tb.FlushVLAN(vlan)
				for k2, e := range md.m {
					if !e.static && keyVLAN(k2) == vlan {
						delete(md.m, k2)
					}
				}
			}
		case 5:
			err := tb.AddStatic(vlan, m, port, now)
			e, had := md.m[k]
			switch {
			case had:
				md.m[k] = modelEntry{port: port, used: now, static: true}
			case len(md.m) < md.max:
				md.m[k] = modelEntry{port: port, used: now, static: true}
			default:
				md.learn(k, port, now) // evicts the oldest dynamic entry if any
				if _, ok := md.m[k]; ok {
					md.m[k] = modelEntry{port: port, used: now, static: true}
				}
			}
			if _, ok := md.m[k]; ok != (err == nil) {
				t.Fatalf("AddStatic: err=%v, model has it=%v (had %v %+v)", err, ok, had, e)
			}
		case 6:
			tb.DelStatic(vlan, m)
			if e, ok := md.m[k]; ok && e.static {
				delete(md.m, k)
			}
		case 7:
			if b == 0xff {
				tb.Flush()
				for k2, e := range md.m {
					if !e.static {
						delete(md.m, k2)
					}
				}
			}
		}
		// Every key of the small key space agrees.
		for key := range 256 {
			v, mm := uint16(key&3), mac(byte(key>>2))
			p, ok := tb.Lookup(v, mm)
			e, want := md.m[Key(v, mm)]
			if ok != want || (ok && p != e.port) {
				t.Fatalf("after op %d: lookup(%d,%x) = %d,%v; model %+v,%v", op%8, v, mm, p, ok, e, want)
			}
		}
		if tb.Len() != len(md.m) {
			t.Fatalf("len %d, model %d", tb.Len(), len(md.m))
		}
	}
	// Entries lists dynamic entries least recently used first.
	es := tb.Entries()
	for i := 1; i < len(es); i++ {
		if !es[i].Static && !es[i-1].Static && es[i].Used < es[i-1].Used {
			t.Fatalf("Entries not in LRU order at %d", i)
		}
	}
}

func TestModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, max := range []int{1, 4, 16, 300} {
		ops := make([]byte, 3*2000)
		for i := range ops {
			ops[i] = byte(r.UintN(256))
		}
		// Mostly few distinct addresses, so moves and refreshes happen.
		for i := 1; i < len(ops); i += 3 {
			ops[i] &= 0x3f
		}
		runOps(t, max, ops)
	}
}

func FuzzTable(f *testing.F) {
	f.Add(uint8(4), []byte{0, 1, 1, 0, 2, 1, 0, 1, 2, 3, 0, 0})
	f.Add(uint8(2), []byte{5, 4, 1, 0, 8, 1, 0, 12, 2, 0, 16, 3, 6, 4, 0})
	f.Add(uint8(1), []byte{0, 1, 1, 4, 0x81, 1, 7, 0, 0xff})
	f.Fuzz(func(t *testing.T, max uint8, ops []byte) {
		runOps(t, int(max%32)+1, ops)
	})
}
