package pmd

import (
	"gvswitch/dataplane"

	"golang.org/x/sys/unix"
)

// The main thread serves the rx queues of ports that implement
// dataplane.RxWaiter (taps), as Open vSwitch's main thread serves its
// non-PMD netdevs: it drains them while they have frames and otherwise
// sleeps in poll(2) until one is readable or its poll list changes. Its
// packets are counted under pmd-stats-show's "main thread:". It is a
// goroutine started with the first such queue, not pinned.

// mainPollTimeout bounds a sleep of the main thread (milliseconds), so
// that a missed wake-up costs a delay, never a hang.
const mainPollTimeout = 1000

// startMain starts the main thread's goroutine. Called with m.mu held.
func (m *Manager) startMain() error {
	t := m.main
	if t.wake >= 0 {
		return nil
	}
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return err
	}
	t.wake = fd
	go t.runMain()
	return nil
}

// wakeMain interrupts the main thread's sleep (its poll list changed).
func (t *Thread) wakeMain() {
	if t.wake >= 0 {
		unix.Write(t.wake, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	}
}

func (t *Thread) runMain() {
	defer close(t.done)
	var fds []unix.PollFd
	for !t.stop.Load() {
		fds = t.pollMain(fds)
	}
	unix.Close(t.wake)
}

// pollMain is the main thread's loop; it returns when stopped or after a
// recovered panic (runMain calls it again).
func (t *Thread) pollMain(fds []unix.PollFd) []unix.PollFd {
	defer t.recoverPanic()
	var pkts [BurstSize]*dataplane.Packet
	for !t.stop.Load() {
		t.epoch.Add(1)
		list := *t.list.Load()
		got := 0
		for _, q := range list {
			if q.quarantined.Load() {
				continue
			}
			t.cur = q
			if n := q.Port.RxBurst(q.Queue, pkts[:]); n > 0 {
				got += n
				t.stats[Received].AddShared(uint64(n))
				q.Process(t, q, pkts[:n])
			}
		}
		t.cur = nil
		if got > 0 {
			continue
		}
		fds = append(fds[:0], unix.PollFd{Fd: int32(t.wake), Events: unix.POLLIN})
		for _, q := range list {
			if w, ok := q.Port.(dataplane.RxWaiter); ok && !q.quarantined.Load() {
				fds = append(fds, unix.PollFd{Fd: int32(w.RxFd(q.Queue)), Events: unix.POLLIN})
			}
		}
		t.epoch.Add(1) // it holds no queue while it sleeps
		if _, err := unix.Poll(fds, mainPollTimeout); err != nil && err != unix.EINTR {
			t.m.log.Error("pmd: main thread poll", "err", err)
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			var b [8]byte
			unix.Read(t.wake, b[:])
		}
	}
	return fds
}
