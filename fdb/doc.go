// Package fdb is the VLAN-aware MAC learning table of a bridge: it maps
// (VLAN, Ethernet address) to the bridge port the address was last seen on.
//
// It mirrors the semantics of Open vSwitch's MAC learning table (the Bridge
// other_config keys mac-aging-time, default 300 s, and mac-table-size,
// default 8192, in vswitch.xml): entries are learned from source addresses,
// refreshed when seen again, moved (and counted) when an address shows up on
// another port, aged out after the ageing time, and when the table is full
// the least recently used dynamic entry is evicted. Static entries never age
// and are never moved or evicted.
//
// Concurrency: Lookup and Learn may be called from many poll-mode goroutines
// at once. Lookup takes no lock: the table is an open-addressing index of
// entry numbers over a fixed array of entries, each entry guarded by a
// sequence counter (a seqlock), so a reader either sees a consistent
// (key, port) pair or retries; a reader racing with a change may miss an
// entry, which the bridge treats as unknown (flood), never as a wrong port.
// Learn refreshes a known entry with one atomic store and takes the table's
// mutex only to add, move or evict an entry. Everything else (Expire, Flush,
// Entries, SetMaxEntries, ...) runs on the control plane and takes the
// mutex.
//
// Time is passed in by the caller as nanoseconds on any monotonic scale (the
// bridge reads its clock once per burst); the package never reads a clock
// and starts no goroutines.
//
// The text helpers WriteShow and WriteStats produce the layouts of
// ovs-appctl fdb/show and fdb/stats-show.
package fdb
