// Package dataplane holds what every part of the data path shares: packet
// memory outside the Go heap (Arena, Pool, PoolCache, Packet), the Port
// interface that every kind of port implements, lock-free rings (SPSCRing,
// MPSCRing), and the bridge pipeline that moves packets between ports
// (Bridge), with its packet capture hook (Capture).
//
// Ownership rule: a *Packet has exactly one owner at a time. RxBurst hands
// the received packets to the caller; TxBurst takes all of them (the ones a
// port cannot send it frees and counts as drops); Free returns a packet to
// its pool. A packet must not be touched after it was handed on.
//
// # Packet memory
//
// NewArena maps the memory (hugepages through MAP_HUGETLB or a hugetlbfs
// mount when asked and available, ordinary pages with a logged warning
// otherwise; SocketMemBytes sizes it from other_config:dpdk-socket-mem).
// NewPool carves fixed buffers with Headroom from it. Each PMD takes and
// returns buffers through its own PoolCache (Pool.NewCache), which talks to
// the shared pool in bulk; an empty pool gives nil, counted in
// AllocFailures, and never blocks or allocates.
//
// # The bridge
//
// A Bridge is the NORMAL pipeline of an Open vSwitch netdev bridge between
// ports numbered by the control plane (the OpenFlow port numbers; LocalPort
// for the bridge's internal port). The control plane calls AddPort,
// SetPortConfig and RemovePort; each publishes a new immutable snapshot
// with an atomic pointer swap, so other ports' traffic never stops, and
// RemovePort (or SetPortConfig dropping a bond member) returns only when no
// worker uses the old snapshot any more, so the caller may close the device.
//
// Each poll-mode thread hands every received burst to Process:
//
//	br.Process(t.TxQueue(), portNo, member, pkts) // member: bond member index, -1 for a plain port
//
// The first argument identifies the calling goroutine (the pmd.Thread's
// tx queue id: unique among live threads; one goroutine per id). It keys
// the worker's private state (tx batches, pool cache, exact-match cache in
// front of the FDB) and chooses the tx queue on every output device:
// id % NumTxQueues(). Every TxBurst is made under a per-(device, queue)
// spin lock, so a queue shared by several PMDs (or by the control plane's
// Inject, which uses queue 0) is serialised; unshared, the lock costs one
// uncontended compare-and-swap per burst. A PMD that stops calls
// ReleaseWorker to give its cached buffers back.
//
// Per packet, Process parses Ethernet and the outer VLAN tag (802.1Q 0x8100
// or 802.1ad 0x88a8), hands slow-protocol frames (EtherType 0x8809 to
// 01:80:c2:00:00:02: LACPDUs, Markers) to a bounded queue the control plane
// drains with ReadSlowPath, drops other reserved multicast
// (01:80:c2:00:00:00-0f) and multicast sources, applies the bond's receive
// verdict, admits the frame to a VLAN by the port's vlan_mode, learns the
// source, looks the destination up (unknown, broadcast and multicast
// destinations are flooded within the VLAN, never back to the input port),
// pushes or pops the tag per output port, picks the bond member, drops
// frames larger than the output MTU, and sends one TxBurst per device per
// burst. It allocates nothing in the steady state.
//
// Offload metadata: a port may hand over packets whose L4 checksum is
// still partial (OffloadCsumPartial) and TCP frames of up to 64 KiB that
// the sender left unsegmented (GSOSize, in buffers of a larger pool). An
// egress port says what it can carry by implementing OffloadCapable; the
// bridge asks once per configuration snapshot. In the egress flush, for a
// port that cannot carry them, partial checksums are completed and GSO
// frames cut into MSS-sized segments (internal/offload) in the worker's
// own buffers, without allocating; flood copies of a GSO frame too large
// for a worker buffer are made as segments. Exhaustion counts in
// TxNoBufDrops, segmentation in TxGSOSegmented/TxGSOSegments, completions
// in TxCsumCompleted, unusable metadata in TxOffloadDrops (PortCounters).
// A pushed or popped VLAN tag moves the partial checksum's start with it.
//
// Frames the control plane sends (LACPDUs, gratuitous learning frames) go
// through Inject, which transmits directly under the tx queue lock instead
// of through a queue a PMD drains: an idle PMD would otherwise delay them,
// and LACP must keep running on idle links.
//
// vlan-limit (BridgeConfig.VLANLimit): the bridge always switches on the
// outermost tag and leaves inner tags as payload, which is Open vSwitch's
// behaviour with the default vlan-limit=1; other values are accepted and
// behave the same. dot1q-tunnel ports are refused with ErrUnsupported.
package dataplane
