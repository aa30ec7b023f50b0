// Package vhostuser is the vhost-user back-end that connects virtio-net
// guests (QEMU/KVM, DPDK virtio-user) to the switch: the Open vSwitch port
// types dpdkvhostuserclient (the switch connects to the guest's socket and
// reconnects whenever it goes away) and dpdkvhostuser (the switch listens at
// <rundir>/<port name>).
//
// A Port implements dataplane.Port: RxBurst dequeues the guest's transmit
// virtqueue into packet buffers, TxBurst enqueues into the guest's receive
// virtqueue. One goroutine per port speaks the vhost-user protocol (see
// QEMU's docs/interop/vhost-user.rst); it publishes each started vring to the
// poll-mode threads as an immutable snapshot (an atomic pointer), and before
// it changes or unmaps anything a vring uses it waits for the PMD to leave
// that vring, so a PMD never blocks on the control goroutine and never
// touches memory that has been unmapped.
//
// Subpackages: proto (the message codec), guestmem (the guest memory table
// and address translation), virtq (split virtqueue processing, where every
// value read from guest memory is checked) and vhosttest (a small virtio-user
// front-end for tests).
//
// The port polls: it asks drivers not to kick it (VIRTQ_USED_F_NO_NOTIFY;
// with EVENT_IDX it never moves avail_event) and never reads kick
// eventfds; it signals the guest's call eventfd at most once per burst, and
// only when the driver's used_event or VIRTQ_AVAIL_F_NO_INTERRUPT asks for
// it. It offers no checksum or segmentation offloads, so guests hand over
// complete frames, as with OVS's default userspace-tso-enable=false.
//
// A guest is untrusted. A virtqueue that breaks the virtio rules is marked
// broken: its packets are dropped and counted, a rate-limited log line says
// why, and the port's other queues and every other port carry on. A guest
// that truncates its memory file under our mapping makes the access fault;
// the burst functions turn that fault into a recovered panic
// (runtime/debug.SetPanicOnFault) and mark the device broken.
//
// Not done yet: packed virtqueues (VIRTIO_F_RING_PACKED is not offered;
// virtq keeps ring layout apart from chain walking so a packed Queue can
// sit beside the split one), the in-flight shared memory of
// INFLIGHT_SHMFD, dirty-page logging for live migration (LOG_ALL), and
// IOTLB entries that are mapped but not contiguous in the front-end's
// address space (such an access keeps missing).
package vhostuser
