package pmd

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"gvswitch/dataplane"
)

// waiterPort is a srcPort that is costly to poll, like a tap: its queue
// has a file descriptor that is readable while it has packets.
type waiterPort struct {
	*srcPort
	efd int
}

func (p *waiterPort) RxFd(q int) int { return p.efd }

func (p *waiterPort) RxBurst(q int, pkts []*dataplane.Packet) int {
	n := p.srcPort.RxBurst(q, pkts)
	if p.budget[q].Load() == 0 {
		var b [8]byte
		unix.Read(p.efd, b[:]) // drained: no longer readable
	}
	return n
}

// give makes n more packets available and the descriptor readable.
func (p *waiterPort) give(n int64) {
	p.budget[0].Add(n)
	unix.Write(p.efd, []byte{1, 0, 0, 0, 0, 0, 0, 0})
}

func TestRxWaiterServedByMainThread(t *testing.T) {
	m, err := NewManager(Config{MaxSleep: 50 * time.Microsecond}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	tap := &waiterPort{srcPort: newSrcPort(t, "br0", 1), efd: efd}
	pmdPort := newSrcPort(t, "vhu0", 1)
	var s sink
	qTap, qPMD := NewRxq(tap, 0, s.process), NewRxq(pmdPort, 0, s.process)
	for _, q := range []*Rxq{qTap, qPMD} {
		if err := m.AddRxq(q); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.PMDOf(qTap); got != m.Main() {
		t.Fatalf("the waiter's queue went to %v, not the main thread", got)
	}
	// Several rounds: the main thread drains, sleeps in poll(2) and is
	// woken by the descriptor each time.
	for round := 1; round <= 3; round++ {
		tap.give(1000)
		pmdPort.budget[0].Add(500)
		waitFor(t, fmt.Sprintf("round %d", round), func() bool { return s.n.Load() == uint64(round)*1500 })
		time.Sleep(5 * time.Millisecond) // let the main thread go back to sleep
	}
	s.mu.Lock()
	onMain, onPMD := s.seen[-1], s.seen[m.Threads()[0].Core()]
	s.mu.Unlock()
	if onMain != 3000 || onPMD != 1500 {
		t.Fatalf("main thread processed %d (want 3000), the PMD %d (want 1500)", onMain, onPMD)
	}
	var b bytes.Buffer
	waitFor(t, "main thread stats", func() bool {
		b.Reset()
		m.WriteStats(&b, Filter{Core: -1})
		return strings.Contains(b.String(), "main thread:\n  packets received: 3000\n")
	})
	b.Reset()
	m.WriteRxqs(&b, Filter{Core: -1})
	if strings.Contains(b.String(), "br0") || !strings.Contains(b.String(), "vhu0") {
		t.Errorf("pmd-rxq-show must list the PMD's queue only, as OVS does for non-PMD ports:\n%s", b.String())
	}
	// Removing the queue waits for the main thread: no poll afterwards.
	m.RemoveRxq(qTap)
	tap.give(100)
	time.Sleep(20 * time.Millisecond)
	if s.n.Load() != 4500 || tap.clash.Load() {
		t.Fatalf("the main thread polled a removed queue (%d packets)", s.n.Load())
	}
	// And a queue added again is served again.
	if err := m.AddRxq(qTap); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the re-added queue", func() bool { return s.n.Load() == 4600 })
}
