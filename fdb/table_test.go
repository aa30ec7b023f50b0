package fdb

import (
	"bytes"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const sec = int64(time.Second)

func mac(b ...byte) [6]byte {
	var m [6]byte
	copy(m[6-len(b):], b)
	m[0] = 0x52
	return m
}

func mustNew(t testing.TB, max int, aging time.Duration) *Table {
	t.Helper()
	tb, err := New(max, aging)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestLearnLookupMove(t *testing.T) {
	tb := mustNew(t, 0, 0)
	a, b := mac(1), mac(2)
	if _, ok := tb.Lookup(10, a); ok {
		t.Fatal("lookup in empty table hit")
	}
	if r := tb.Learn(10, a, 1, 0); r != Learned {
		t.Fatalf("first learn = %v, want Learned", r)
	}
	if r := tb.Learn(10, a, 1, sec); r != Refreshed {
		t.Fatalf("second learn = %v, want Refreshed", r)
	}
	if p, ok := tb.Lookup(10, a); !ok || p != 1 {
		t.Fatalf("lookup = %d,%v want 1,true", p, ok)
	}
	if _, ok := tb.Lookup(11, a); ok {
		t.Fatal("address leaked into another VLAN")
	}
	if _, ok := tb.Lookup(10, b); ok {
		t.Fatal("unknown address hit")
	}
	g := tb.Generation()
	if r := tb.Learn(10, a, 7, 2*sec); r != Moved {
		t.Fatalf("learn on new port = %v, want Moved", r)
	}
	if p, _ := tb.Lookup(10, a); p != 7 {
		t.Fatalf("after move lookup = %d, want 7", p)
	}
	if tb.Generation() == g {
		t.Fatal("move did not change the generation")
	}
	s := tb.Stats()
	if s.Current != 1 || s.Learned != 1 || s.Moved != 1 || s.Max != DefaultMaxEntries {
		t.Fatalf("stats %+v", s)
	}
	if r := tb.Learn(MaxVLAN+1, a, 1, 0); r != NotLearned {
		t.Fatalf("learn on VLAN 4096 = %v", r)
	}
}

func TestAging(t *testing.T) {
	tb := mustNew(t, 0, 10*time.Second)
	tb.Learn(1, mac(1), 1, 0)
	tb.Learn(1, mac(2), 2, 0)
	// mac(1) keeps talking, mac(2) is silent.
	for now := int64(0); now <= 9*sec; now += sec {
		tb.Learn(1, mac(1), 1, now)
	}
	if n := tb.Expire(9 * sec); n != 0 {
		t.Fatalf("expired %d before the ageing time", n)
	}
	if n := tb.Expire(10 * sec); n != 1 {
		t.Fatalf("expired %d at 10 s, want 1", n)
	}
	if _, ok := tb.Lookup(1, mac(2)); ok {
		t.Fatal("silent address still known after ageing")
	}
	if _, ok := tb.Lookup(1, mac(1)); !ok {
		t.Fatal("active address aged out")
	}
	if n := tb.Expire(19 * sec); n != 1 {
		t.Fatalf("expired %d at 19 s, want 1", n)
	}
	if s := tb.Stats(); s.Expired != 2 || s.Current != 0 {
		t.Fatalf("stats %+v", s)
	}
	tb.SetAgingTime(time.Second)
	tb.Learn(1, mac(3), 1, 100*sec)
	if tb.Expire(101*sec) != 1 {
		t.Fatal("new ageing time not applied")
	}
}

func TestEvictLeastRecentlyUsed(t *testing.T) {
	tb := mustNew(t, 3, 0)
	tb.Learn(1, mac(1), 1, 1*sec)
	tb.Learn(1, mac(2), 1, 2*sec)
	tb.Learn(1, mac(3), 1, 3*sec)
	tb.Learn(1, mac(1), 1, 4*sec) // mac(1) now the most recent
	tb.Learn(1, mac(4), 1, 5*sec) // evicts mac(2)
	if _, ok := tb.Lookup(1, mac(2)); ok {
		t.Fatal("least recently used entry not evicted")
	}
	for _, m := range [][6]byte{mac(1), mac(3), mac(4)} {
		if _, ok := tb.Lookup(1, m); !ok {
			t.Fatalf("%x evicted", m)
		}
	}
	if s := tb.Stats(); s.Evicted != 1 || s.Current != 3 {
		t.Fatalf("stats %+v", s)
	}
}

func TestStatic(t *testing.T) {
	tb := mustNew(t, 2, time.Second)
	if err := tb.AddStatic(5, mac(9), 3, 0); err != nil {
		t.Fatal(err)
	}
	if r := tb.Learn(5, mac(9), 4, sec); r != NotLearned {
		t.Fatalf("static entry moved by learning: %v", r)
	}
	if tb.Expire(100*sec) != 0 {
		t.Fatal("static entry aged")
	}
	tb.Learn(5, mac(1), 1, 0)
	tb.Learn(5, mac(2), 1, 0) // evicts mac(1), never the static one
	if p, ok := tb.Lookup(5, mac(9)); !ok || p != 3 {
		t.Fatalf("static entry lost: %d %v", p, ok)
	}
	if err := tb.AddStatic(6, mac(8), 3, 0); err != nil {
		t.Fatal(err)
	}
	if err := tb.AddStatic(7, mac(7), 3, 0); !errors.Is(err, ErrFull) {
		t.Fatalf("third static in a 2-entry table: %v, want ErrFull", err)
	}
	if tb.Flush() != 0 {
		t.Fatal("flush removed static entries")
	}
	if !tb.DelStatic(5, mac(9)) || tb.DelStatic(5, mac(9)) {
		t.Fatal("DelStatic")
	}
	if s := tb.Stats(); s.Static != 1 || s.Current != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestFlush(t *testing.T) {
	tb := mustNew(t, 0, 0)
	for i := range 30 {
		tb.Learn(uint16(i%3), mac(byte(i)), uint32(i%5), 0)
	}
	if n := tb.FlushVLAN(1); n != 10 {
		t.Fatalf("FlushVLAN removed %d, want 10", n)
	}
	if n := tb.FlushPort(0); n != 4 { // i%5==0 and i%3!=1: 0,5,15,20,... minus VLAN 1 ones
		t.Fatalf("FlushPort removed %d, want 4", n)
	}
	for i := range 30 {
		_, ok := tb.Lookup(uint16(i%3), mac(byte(i)))
		if want := i%3 != 1 && i%5 != 0; ok != want {
			t.Fatalf("entry %d present=%v want %v", i, ok, want)
		}
	}
	if n := tb.Flush(); n != 16 {
		t.Fatalf("Flush removed %d, want 16", n)
	}
	if tb.Len() != 0 {
		t.Fatal("table not empty after flush")
	}
}

func TestSetMaxEntries(t *testing.T) {
	tb := mustNew(t, 100, 0)
	for i := range 100 {
		tb.Learn(1, mac(byte(i)), uint32(i), int64(i)*sec)
	}
	if err := tb.SetMaxEntries(10); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		_, ok := tb.Lookup(1, mac(byte(i)))
		if ok != (i >= 90) {
			t.Fatalf("after shrink entry %d present=%v", i, ok)
		}
	}
	if err := tb.SetMaxEntries(1000); err != nil {
		t.Fatal(err)
	}
	tb.Learn(1, mac(0), 0, 200*sec)
	if s := tb.Stats(); s.Current != 11 || s.Max != 1000 || s.Evicted != 90 {
		t.Fatalf("stats %+v", s)
	}
	// The LRU order survived the rebuild: shrinking again keeps the newest.
	if err := tb.SetMaxEntries(1); err != nil {
		t.Fatal(err)
	}
	if _, ok := tb.Lookup(1, mac(0)); !ok {
		t.Fatal("most recent entry evicted by shrink")
	}
	if err := tb.SetMaxEntries(-1); !errors.Is(err, ErrBadSize) {
		t.Fatalf("SetMaxEntries(-1) = %v", err)
	}
	if _, err := New(MaxEntriesLimit+1, 0); !errors.Is(err, ErrBadSize) {
		t.Fatalf("New(too big) = %v", err)
	}
}

func TestShowGolden(t *testing.T) {
	want, err := os.ReadFile("testdata/fdb-show-br0.golden")
	if err != nil {
		t.Fatal(err)
	}
	tb := mustNew(t, 0, 0)
	m1 := [6]byte{0x52, 0x54, 0, 0, 0x01, 0x01}
	m2 := [6]byte{0x52, 0x54, 0, 0, 0x02, 0x02}
	tb.Learn(300, m2, 1, 0)
	tb.Learn(300, m1, 3, 57*sec)
	var buf bytes.Buffer
	if err := WriteShow(&buf, tb.Entries(), 61*sec, nil); err != nil {
		t.Fatal(err)
	}
	if buf.String() != string(want) {
		t.Fatalf("fdb/show:\n%s\nwant:\n%s", buf.String(), want)
	}
	buf.Reset()
	if err := tb.AddStatic(1, m1, LocalPort, 0); err != nil {
		t.Fatal(err)
	}
	WriteShow(&buf, tb.Entries(), 61*sec, nil)
	if got := buf.String(); !bytes.HasSuffix([]byte(got), []byte("LOCAL     1  52:54:00:00:01:01  static\n")) {
		t.Fatalf("static row:\n%s", got)
	}
}

func TestStatsGolden(t *testing.T) {
	want, err := os.ReadFile("testdata/fdb-stats-show-br0.golden")
	if err != nil {
		t.Fatal(err)
	}
	tb := mustNew(t, 0, 0)
	// The capture's history: four addresses learned, two flushed.
	for i := range 4 {
		tb.Learn(300, mac(byte(i)), 1, 0)
	}
	tb.FlushPort(1)
	tb.Learn(300, mac(7), 2, 0)
	tb.Learn(300, mac(8), 2, 0)
	tb.ClearStats()
	for i := range 4 {
		tb.Learn(300, mac(byte(10+i)), 3, 0)
	}
	tb.FlushPort(3)
	var buf bytes.Buffer
	if err := WriteStats(&buf, "br0", tb.Stats()); err != nil {
		t.Fatal(err)
	}
	if buf.String() != string(want) {
		t.Fatalf("fdb/stats-show:\n%s\nwant:\n%s", buf.String(), want)
	}
}

// TestConcurrentLookup runs lock-free lookups and learning from several
// goroutines against a writer that moves, expires and flushes: a lookup may
// miss, but must never return a port the address was never learned on.
func TestConcurrentLookup(t *testing.T) {
	tb := mustNew(t, 256, time.Second)
	const keys = 512
	// Address i is only ever learned on ports 1000+i and 2000+i.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var bad atomic.Int64
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			now := int64(0)
			for n := 0; !stop.Load(); n++ {
				i := (n*7 + g) % keys
				m := mac(byte(i>>8), byte(i))
				if n%3 == 0 {
					tb.Learn(uint16(i%4), m, uint32(1000+i+(n/keys%2)*1000), now)
					now += int64(time.Millisecond)
				}
				if p, ok := tb.Lookup(uint16(i%4), m); ok && p != uint32(1000+i) && p != uint32(2000+i) {
					bad.Add(1)
				}
			}
		}()
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	for n := 0; time.Now().Before(deadline); n++ {
		switch n % 4 {
		case 0:
			tb.Expire(int64(n) * int64(time.Millisecond))
		case 1:
			tb.FlushVLAN(uint16(n % 4))
		case 2:
			tb.FlushPort(uint32(1000 + n%keys))
		case 3:
			tb.Entries()
		}
	}
	stop.Store(true)
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d lookups returned a port the address never had", bad.Load())
	}
}

func TestGratuitousARPLock(t *testing.T) {
	tb := mustNew(t, 0, 0)
	if tb.GratuitousARPLocked(1, mac(1), 0) {
		t.Fatal("unknown address locked")
	}
	tb.Learn(1, mac(1), 2, 0)
	tb.LockGratuitousARP(1, mac(1), 5*sec)
	if !tb.GratuitousARPLocked(1, mac(1), 4*sec) || tb.GratuitousARPLocked(1, mac(1), 5*sec) {
		t.Fatal("lock window wrong")
	}
	// A reused entry starts unlocked.
	tb.FlushPort(2)
	tb.Learn(1, mac(1), 3, sec)
	if tb.GratuitousARPLocked(1, mac(1), 2*sec) {
		t.Fatal("lock survived the entry")
	}
}
