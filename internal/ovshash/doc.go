// Package ovshash is Open vSwitch's portable hash (lib/hash.h and
// lib/hash.c without SSE4.2: a Murmur3-style add/finish), reproduced so
// that values which OVS derives from it come out the same: the bond
// bucket of a frame (bond/hash) and the iteration order of OVS's hash
// tables (ovs-vsctl's row order).
//
// A hash is built by folding 32- or 64-bit words into a basis with Add or
// Add64 and closing it with Finish; Bytes does all three for a byte
// string. The functions are leaves small enough to inline into per-packet
// code and never allocate.
package ovshash
