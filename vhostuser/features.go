package vhostuser

import "gvswitch/vhostuser/proto"

// Virtio feature bits the back-end deals with (virtio 1.1 sections 5.1.3
// and 6).
const (
	FeatureNetMTU           = 3
	FeatureNetMrgRxbuf      = 15
	FeatureNetStatus        = 16
	FeatureNetCtrlVQ        = 17
	FeatureNetGuestAnnounce = 21
	FeatureNetMQ            = 22
	FeatureAnyLayout        = 27
	FeatureIndirectDesc     = 28
	FeatureEventIdx         = 29
	FeatureProtocolFeatures = proto.FeatureProtocolFeatures
	FeatureVersion1         = 32
	FeatureIOMMUPlatform    = 33
)

// Device status bits (virtio 1.1 2.1).
const (
	statusAcknowledge = 1
	statusDriver      = 2
	statusDriverOK    = 4
	statusFeaturesOK  = 8
	statusFailed      = 128
)

// MaxQueuePairs is the most queue pairs a guest may use (GET_QUEUE_NUM).
const MaxQueuePairs = 8

const maxVrings = 2 * MaxQueuePairs

func bit(n uint) uint64 { return 1 << n }

// offeredFeatures is what GET_FEATURES answers. No checksum or
// segmentation offloads: the switch forwards frames as they are, so guests
// must send them complete (like OVS without userspace-tso-enable).
func offeredFeatures(iommu bool) uint64 {
	f := bit(FeatureNetMTU) | bit(FeatureNetMrgRxbuf) | bit(FeatureNetStatus) | bit(FeatureNetCtrlVQ) |
		bit(FeatureNetGuestAnnounce) | bit(FeatureNetMQ) | bit(FeatureAnyLayout) | bit(FeatureIndirectDesc) |
		bit(FeatureEventIdx) | bit(FeatureProtocolFeatures) | bit(FeatureVersion1)
	if iommu {
		f |= bit(FeatureIOMMUPlatform)
	}
	return f
}

// offeredProtocolFeatures is what GET_PROTOCOL_FEATURES answers.
func offeredProtocolFeatures(iommu bool) uint64 {
	f := bit(proto.ProtoMQ) | bit(proto.ProtoRARP) | bit(proto.ProtoReplyAck) | bit(proto.ProtoNetMTU) |
		bit(proto.ProtoConfigureMemSlots) | bit(proto.ProtoStatus)
	if iommu {
		f |= bit(proto.ProtoBackendReq)
	}
	return f
}
