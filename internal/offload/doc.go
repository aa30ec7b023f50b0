// Package offload handles the offload metadata that kernel and virtio
// ports exchange with gvswitch: the virtio-net header (what
// PACKET_VNET_HDR and IFF_VNET_HDR put in front of each frame), completing
// a partial L4 checksum in software, and splitting a TCP GSO frame into
// MSS-sized segments. Ports that can carry the metadata pass it on; ports
// that cannot complete or segment with this package.
package offload
