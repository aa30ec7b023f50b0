// Package virtq processes split virtqueues (virtio 1.1 section 2.6) from the
// device side, over guest memory mapped by package guestmem: Dequeue takes
// the frames a guest transmits into dataplane packets, Enqueue puts packets
// into the buffers a guest posted for receive (with mergeable buffers, 5.1.6.3),
// each with its virtio-net header (5.1.6).
//
// Both work a burst at a time: one read of the available index, one write of
// the used index and one interrupt decision (with VIRTIO_F_EVENT_IDX, 2.6.7
// and 2.6.8) per burst. Descriptor chains may be direct or indirect (2.6.5.3).
//
// Every value read from guest memory is checked before use: ring indexes
// against the queue size, descriptor addresses and lengths against the mapped
// regions, chain lengths against the table size (which catches loops),
// indirect tables for size and nesting, and the distance between the
// available index and our position. A violation marks the Queue broken:
// it stops touching guest memory, and Broken says why. Packets that are
// merely unusable (too long for a buffer, unsupported offload) are dropped
// and counted without breaking the queue.
//
// A Queue is used by one goroutine at a time and allocates nothing.
package virtq
