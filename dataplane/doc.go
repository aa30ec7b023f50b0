// Package dataplane holds what every part of the data path shares: packet
// memory outside the Go heap (Arena, Pool, Packet), the Port interface that
// every kind of port implements, rings, and the bridge pipeline that moves
// packets between ports.
//
// Ownership rule: a *Packet has exactly one owner at a time. RxBurst hands
// the received packets to the caller; TxBurst takes all of them (the ones a
// port cannot send it frees and counts as drops); Free returns a packet to
// its pool. A packet must not be touched after it was handed on.
package dataplane
