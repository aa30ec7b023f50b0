package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns wraps one of them.
var (
	// ErrBadHeader: the header's version, flags or size is not acceptable.
	ErrBadHeader = errors.New("vhost-user: bad message header")
	// ErrBadPayload: the payload does not have the layout of its request.
	ErrBadPayload = errors.New("vhost-user: bad message payload")
	// ErrBadFds: the message carried the wrong number of file descriptors.
	ErrBadFds = errors.New("vhost-user: wrong file descriptors")
)

// Request is a front-end request code (vhost-user.rst "Front-end message types").
type Request uint32

// Front-end requests.
const (
	GetFeatures         Request = 1
	SetFeatures         Request = 2
	SetOwner            Request = 3
	ResetOwner          Request = 4
	SetMemTable         Request = 5
	SetLogBase          Request = 6
	SetLogFd            Request = 7
	SetVringNum         Request = 8
	SetVringAddr        Request = 9
	SetVringBase        Request = 10
	GetVringBase        Request = 11
	SetVringKick        Request = 12
	SetVringCall        Request = 13
	SetVringErr         Request = 14
	GetProtocolFeatures Request = 15
	SetProtocolFeatures Request = 16
	GetQueueNum         Request = 17
	SetVringEnable      Request = 18
	SendRARP            Request = 19
	NetSetMTU           Request = 20
	SetBackendReqFd     Request = 21
	IOTLBMsg            Request = 22
	SetVringEndian      Request = 23
	GetConfig           Request = 24
	SetConfig           Request = 25
	CreateCryptoSession Request = 26
	CloseCryptoSession  Request = 27
	PostcopyAdvise      Request = 28
	PostcopyListen      Request = 29
	PostcopyEnd         Request = 30
	GetInflightFd       Request = 31
	SetInflightFd       Request = 32
	GPUSetSocket        Request = 33
	ResetDevice         Request = 34
	VringKick           Request = 35
	GetMaxMemSlots      Request = 36
	AddMemReg           Request = 37
	RemMemReg           Request = 38
	SetStatus           Request = 39
	GetStatus           Request = 40
)

// BackendIOTLBMsg is the back-end request (vhost-user.rst "Back-end
// message types", sent on the SET_BACKEND_REQ_FD channel) that reports an
// IOTLB miss to the front-end. Back-end request codes are their own
// numbering: String names front-end requests only.
const BackendIOTLBMsg Request = 1

var requestNames = [...]string{
	GetFeatures: "GET_FEATURES", SetFeatures: "SET_FEATURES", SetOwner: "SET_OWNER",
	ResetOwner: "RESET_OWNER", SetMemTable: "SET_MEM_TABLE", SetLogBase: "SET_LOG_BASE",
	SetLogFd: "SET_LOG_FD", SetVringNum: "SET_VRING_NUM", SetVringAddr: "SET_VRING_ADDR",
	SetVringBase: "SET_VRING_BASE", GetVringBase: "GET_VRING_BASE", SetVringKick: "SET_VRING_KICK",
	SetVringCall: "SET_VRING_CALL", SetVringErr: "SET_VRING_ERR",
	GetProtocolFeatures: "GET_PROTOCOL_FEATURES", SetProtocolFeatures: "SET_PROTOCOL_FEATURES",
	GetQueueNum: "GET_QUEUE_NUM", SetVringEnable: "SET_VRING_ENABLE", SendRARP: "SEND_RARP",
	NetSetMTU: "NET_SET_MTU", SetBackendReqFd: "SET_BACKEND_REQ_FD", IOTLBMsg: "IOTLB_MSG",
	SetVringEndian: "SET_VRING_ENDIAN", GetConfig: "GET_CONFIG", SetConfig: "SET_CONFIG",
	CreateCryptoSession: "CREATE_CRYPTO_SESSION", CloseCryptoSession: "CLOSE_CRYPTO_SESSION",
	PostcopyAdvise: "POSTCOPY_ADVISE", PostcopyListen: "POSTCOPY_LISTEN", PostcopyEnd: "POSTCOPY_END",
	GetInflightFd: "GET_INFLIGHT_FD", SetInflightFd: "SET_INFLIGHT_FD", GPUSetSocket: "GPU_SET_SOCKET",
	ResetDevice: "RESET_DEVICE", VringKick: "VRING_KICK", GetMaxMemSlots: "GET_MAX_MEM_SLOTS",
	AddMemReg: "ADD_MEM_REG", RemMemReg: "REM_MEM_REG", SetStatus: "SET_STATUS", GetStatus: "GET_STATUS",
}

// String is the request's name in vhost-user.rst, without the VHOST_USER_ prefix.
func (r Request) String() string {
	if int(r) < len(requestNames) && requestNames[r] != "" {
		return requestNames[r]
	}
	return fmt.Sprintf("request %d", uint32(r))
}

// Protocol feature bits (vhost-user.rst "Protocol features").
const (
	ProtoMQ                  = 0
	ProtoLogShmfd            = 1
	ProtoRARP                = 2
	ProtoReplyAck            = 3
	ProtoNetMTU              = 4
	ProtoBackendReq          = 5
	ProtoCrossEndian         = 6
	ProtoCryptoSession       = 7
	ProtoPagefault           = 8
	ProtoConfig              = 9
	ProtoBackendSendFd       = 10
	ProtoHostNotifier        = 11
	ProtoInflightShmfd       = 12
	ProtoResetDevice         = 13
	ProtoInbandNotifications = 14
	ProtoConfigureMemSlots   = 15
	ProtoStatus              = 16
)

// FeatureProtocolFeatures is the virtio feature bit 30 that vhost-user uses
// to say GET/SET_PROTOCOL_FEATURES are supported.
const FeatureProtocolFeatures = 30

// Header flags (vhost-user.rst "Header").
const (
	Version       = 0x1
	VersionMask   = 0x3
	FlagReply     = 1 << 2
	FlagNeedReply = 1 << 3
)

// HeaderSize is the size of the message header.
const HeaderSize = 12

// MaxPayload bounds the payload of any message we accept. The largest
// message a net back-end handles is SET_MEM_TABLE with MaxRegions regions
// (8 + 8*32 bytes); GET/SET_CONFIG carry at most 256 bytes of config space.
const MaxPayload = 512

// MaxRegions is the region count of SET_MEM_TABLE (VHOST_MEMORY_BASELINE_NREGIONS).
const MaxRegions = 8

// MaxFds is the most descriptors one message may carry.
const MaxFds = MaxRegions

// VringNoFd is the bit of a SET_VRING_KICK/CALL/ERR payload that says no fd
// was passed (polling mode) and the low byte is the vring index.
const (
	VringNoFd      = 1 << 8
	VringIndexMask = 0xff
)

// Header is a message header. The wire format is little-endian (host order
// on every platform QEMU runs vhost-user on).
type Header struct {
	Request Request
	Flags   uint32
	Size    uint32
}

// Encode writes h into b[:HeaderSize].
func (h Header) Encode(b []byte) {
	binary.LittleEndian.PutUint32(b[0:], uint32(h.Request))
	binary.LittleEndian.PutUint32(b[4:], h.Flags)
	binary.LittleEndian.PutUint32(b[8:], h.Size)
}

// ParseHeader decodes and checks a header: the version must be 1 and the
// size at most MaxPayload.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes", ErrBadHeader, len(b))
	}
	h := Header{
		Request: Request(binary.LittleEndian.Uint32(b[0:])),
		Flags:   binary.LittleEndian.Uint32(b[4:]),
		Size:    binary.LittleEndian.Uint32(b[8:]),
	}
	if h.Flags&VersionMask != Version {
		return h, fmt.Errorf("%w: %v: version %d", ErrBadHeader, h.Request, h.Flags&VersionMask)
	}
	if h.Size > MaxPayload {
		return h, fmt.Errorf("%w: %v: payload size %d > %d", ErrBadHeader, h.Request, h.Size, MaxPayload)
	}
	return h, nil
}

// NeedReply reports whether the front-end asked for a REPLY_ACK.
func (h Header) NeedReply() bool { return h.Flags&FlagNeedReply != 0 }
