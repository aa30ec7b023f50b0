package dataplane

// Bond is the bond logic of a bond bridge port, as the pipeline needs it
// per packet. Package bond's *bond.Bond implements it (see bond/doc.go).
// The bridge calls it only for packets of bond ports.
type Bond interface {
	// RxAccept reports whether a frame received on member is taken
	// (loop prevention: inactive or disabled members).
	RxAccept(member int, multicast bool) bool
	// TxMember is the member a frame of this hash goes out on, or -1.
	TxMember(hash uint32) int
	// Account adds a transmitted frame's bytes to its hash bucket's load.
	Account(hash uint32, bytes int)
	// TxHash is the frame's hash for TxMember: source MAC and VLAN for
	// balance-slb, the L4 5-tuple for balance-tcp.
	TxHash(frame []byte, src [6]byte, vlan uint16) uint32
	// LearnedElsewhereCheck reports whether frames whose source address was
	// learned on another bridge port must be dropped (balance-slb: it is our
	// own frame coming back through the upstream switch).
	LearnedElsewhereCheck() bool
}
