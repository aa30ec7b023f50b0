package ovshash

import (
	"encoding/binary"
	"math/bits"
)

// Add folds the word data into the hash h (lib/hash.h hash_add: a zero
// word only rotates and mixes h, as mhash_add__ skips it).
func Add(h, data uint32) uint32 {
	if data != 0 {
		data *= 0xcc9e2d51
		data = bits.RotateLeft32(data, 15)
		data *= 0x1b873593
		h ^= data
	}
	h = bits.RotateLeft32(h, 13)
	return h*5 + 0xe6546b64
}

// Add64 folds a 64-bit word, low half first (lib/hash.h hash_add64).
func Add64(h uint32, data uint64) uint32 {
	return Add(Add(h, uint32(data)), uint32(data>>32))
}

// Finish closes the hash h; final is what OVS passes as the length
// (lib/hash.h hash_finish, the Murmur3 fmix32 after h ^= final).
func Finish(h, final uint32) uint32 {
	h ^= final
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// Bytes is lib/hash.c hash_bytes: p read as little-endian 32-bit words
// (the tail zero-padded) folded into basis, finished with len(p).
func Bytes(p []byte, basis uint32) uint32 {
	h := basis
	n := len(p)
	for len(p) >= 4 {
		h = Add(h, binary.LittleEndian.Uint32(p))
		p = p[4:]
	}
	if len(p) > 0 {
		var tmp [4]byte
		copy(tmp[:], p)
		h = Add(h, binary.LittleEndian.Uint32(tmp[:]))
	}
	return Finish(h, uint32(n))
}
