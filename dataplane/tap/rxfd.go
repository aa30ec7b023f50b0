package tap

import "gvswitch/dataplane"

// RxFd is the tap's file descriptor (dataplane.RxWaiter): reading an
// empty tap is a system call, so the main thread serves it, sleeping in
// poll(2) on it, as Open vSwitch's main thread serves internal ports.
func (p *Port) RxFd(q int) int { return p.fd }

var _ dataplane.RxWaiter = (*Port)(nil)
