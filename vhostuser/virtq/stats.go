package virtq

import "gvswitch/internal/relaxed"

// Size buckets of Stats.Sizes: the union of OVS's rx_N_to_M_packets
// boundaries and DPDK vhost's rx_qN_size_* ones, so both can be summed
// from one histogram.
const (
	SizeUnder64   = iota // < 64
	Size64               // 64
	Size65to127          // 65..127
	Size128to255         // 128..255
	Size256to511         // 256..511
	Size512to1023        // 512..1023
	Size1024to1518
	Size1519to1522
	Size1523up
	NumSizeBuckets
)

// Stats are a queue's counters. The goroutine processing the queue (one
// at a time: the PMD polling it, or the holder of the port's tx queue
// lock) adds to them once per burst, with plain stores (relaxed.Counter);
// anyone may read them.
type Stats struct {
	Packets, Bytes relaxed.Counter
	// Dropped: frames lost for lack of buffers or room (ours or the
	// guest's), or too long for the buffer.
	Dropped relaxed.Counter
	// Errors: malformed frames and ring violations. Marking a queue
	// broken may happen from any goroutine: AddShared.
	Errors               relaxed.Counter
	Broadcast, Multicast relaxed.Counter
	Sizes                [NumSizeBuckets]relaxed.Counter
	// Notifications counts interrupts sent to the guest.
	Notifications          relaxed.Counter
	IOTLBHits, IOTLBMisses relaxed.Counter
}

func sizeBucket(n int) int {
	switch {
	case n < 64:
		return SizeUnder64
	case n == 64:
		return Size64
	case n < 128:
		return Size65to127
	case n < 256:
		return Size128to255
	case n < 512:
		return Size256to511
	case n < 1024:
		return Size512to1023
	case n <= 1518:
		return Size1024to1518
	case n <= 1522:
		return Size1519to1522
	}
	return Size1523up
}

// burstStats accumulates one burst's counters on the stack.
type burstStats struct {
	packets, bytes, bcast, mcast uint64
	sizes                        [NumSizeBuckets]uint32
}

// sizeBuckets maps a frame length (1523 and up: the last entry) to its
// bucket without the branches of sizeBucket.
var sizeBuckets = func() (t [1524]uint8) {
	for n := range t {
		t[n] = uint8(sizeBucket(n))
	}
	return t
}()

func (b *burstStats) add(frame []byte) {
	n := len(frame)
	b.packets++
	b.bytes += uint64(n)
	b.sizes[sizeBuckets[min(n, len(sizeBuckets)-1)]]++
	if len(frame) >= 6 && frame[0]&1 != 0 {
		if frame[0]&frame[1]&frame[2]&frame[3]&frame[4]&frame[5] == 0xff {
			b.bcast++
		} else {
			b.mcast++
		}
	}
}

func (s *Stats) flush(b *burstStats) {
	if b.packets == 0 {
		return
	}
	s.Packets.Add(b.packets)
	s.Bytes.Add(b.bytes)
	if b.bcast != 0 {
		s.Broadcast.Add(b.bcast)
	}
	if b.mcast != 0 {
		s.Multicast.Add(b.mcast)
	}
	for i, n := range b.sizes {
		if n != 0 {
			s.Sizes[i].Add(uint64(n))
		}
	}
}

// Reset zeroes the counters. Only call it while no queue adds to them.
func (s *Stats) Reset() {
	s.Packets.Store(0)
	s.Bytes.Store(0)
	s.Dropped.Store(0)
	s.Errors.Store(0)
	s.Broadcast.Store(0)
	s.Multicast.Store(0)
	for i := range s.Sizes {
		s.Sizes[i].Store(0)
	}
	s.Notifications.Store(0)
	s.IOTLBHits.Store(0)
	s.IOTLBMisses.Store(0)
}
