// Package proto is the vhost-user wire format (QEMU docs/interop/vhost-user.rst,
// "Message Specification"): the 12-byte header, the request codes, the
// protocol feature bits, and the payload layouts a virtio-net back-end uses,
// with file descriptors passed as SCM_RIGHTS ancillary data.
//
// Nothing from the peer is trusted: ReadMessage bounds the payload size,
// closes descriptors it was not asked for, and every Decode function checks
// that the payload has exactly the size its request defines before reading
// it. Decode errors wrap ErrBadPayload; framing errors wrap ErrBadHeader.
package proto
