package dataplane

// RxWaiter is implemented by a port whose receive queues are costly to
// poll: reading an empty one is a system call (a tap). Like Open vSwitch's
// non-PMD netdevs, such queues are not given to PMDs (and so are not in
// pmd-rxq-show): the main thread serves them, sleeping in poll(2) on
// RxFd until one is readable.
type RxWaiter interface {
	// RxFd is the file descriptor that becomes readable when rx queue q
	// has a frame.
	RxFd(q int) int
}
