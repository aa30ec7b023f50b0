package vsctl

import (
	"bytes"
	"encoding/json"
	"strconv"

	"gvswitch/internal/ovshash"
)

// rowOrder reproduces the order in which the Open vSwitch IDL iterates a
// table's rows, so that "list" and "find" without records print rows in
// the same order as ovs-vsctl for the same database. That order is the
// iteration order of a chained hash table (lib/hmap.c) whose buckets are
// indexed by the first 32 bits of the row UUID, new nodes going to the
// head of their bucket and the table doubling as it fills; rows reach it
// in the iteration order of the JSON object that carried them, itself a
// hash table keyed by the hash of the member name (lib/shash.c).
type rowOrder struct {
	buckets [][]string // each bucket head first
	mask    uint32
	n       int
	hashes  map[string]uint32
}

func newRowOrder() *rowOrder {
	return &rowOrder{buckets: make([][]string, 1), hashes: map[string]uint32{}}
}

// calcMask is lib/hmap.c's calc_mask.
func calcMask(capacity int) uint32 {
	m := uint32(capacity / 2)
	m |= m >> 1
	m |= m >> 2
	m |= m >> 4
	m |= m >> 8
	m |= m >> 16
	m |= (m & 1) << 1
	return m
}

func (h *rowOrder) insertFast(key string, hash uint32) {
	b := hash & h.mask
	h.buckets[b] = append([]string{key}, h.buckets[b]...)
	h.hashes[key] = hash
	h.n++
}

func (h *rowOrder) insert(key string, hash uint32) {
	if _, ok := h.hashes[key]; ok {
		return
	}
	h.insertFast(key, hash)
	if uint32(h.n/2) > h.mask {
		if m := calcMask(h.n); m > h.mask {
			h.resize(m)
		}
	}
}

func (h *rowOrder) resize(mask uint32) {
	old := h.buckets
	h.buckets = make([][]string, mask+1)
	h.mask = mask
	h.n = 0
	for _, b := range old {
		for _, k := range b {
			h.insertFast(k, h.hashes[k])
		}
	}
}

func (h *rowOrder) remove(key string) {
	hash, ok := h.hashes[key]
	if !ok {
		return
	}
	b := hash & h.mask
	for i, k := range h.buckets[b] {
		if k == key {
			h.buckets[b] = append(h.buckets[b][:i:i], h.buckets[b][i+1:]...)
			break
		}
	}
	delete(h.hashes, key)
	h.n--
}

// keys returns the keys in iteration order.
func (h *rowOrder) keys() []string {
	out := make([]string, 0, h.n)
	for _, b := range h.buckets {
		out = append(out, b...)
	}
	return out
}

// uuidHash is lib/uuid.h's uuid_hash: the UUID's first 32-bit word.
func uuidHash(uuid string) uint32 {
	v, _ := strconv.ParseUint(uuid[:8], 16, 32)
	return uint32(v)
}

// objectOrder returns the member names of the JSON object in raw in the
// order the Open vSwitch JSON library iterates them.
func objectOrder(raw json.RawMessage) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	sh := newRowOrder()
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		name, _ := t.(string)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
		sh.insert(name, ovshash.Bytes([]byte(name), 0))
	}
	return sh.keys()
}

// atomHash is the hash the Open vSwitch IDL files an atom under
// (lib/ovsdb-data.c ovsdb_atom_hash with basis 0): strings by their bytes,
// integers and UUIDs (by their first 32-bit word) through hash_int.
func atomHash(a Atom) uint32 {
	hashInt := func(x uint32) uint32 { return ovshash.Finish(ovshash.Add(ovshash.Add(x, 0), 0), 8) }
	switch x := a.(type) {
	case string:
		return ovshash.Bytes([]byte(x), 0)
	case int64:
		return hashInt(uint32(x))
	case bool:
		if x {
			return hashInt(1)
		}
		return hashInt(0)
	}
	if u := atomUUID(a); u != "" {
		return hashInt(uuidHash(u))
	}
	return 0
}

// idlOrder returns d with its elements in the order the IDL's partial
// update lists (hash tables of atoms) yield them when the elements were
// added in d's order: ovs-vsctl sends partial set and map updates in
// that order.
func idlOrder(d Datum) Datum {
	h := newRowOrder()
	for i, k := range d.Keys {
		h.insert(strconv.Itoa(i), atomHash(k))
	}
	out := Datum{Keys: make([]Atom, 0, len(d.Keys))}
	if d.Values != nil {
		out.Values = make([]Atom, 0, len(d.Values))
	}
	for _, s := range h.keys() {
		i, _ := strconv.Atoi(s)
		out.Keys = append(out.Keys, d.Keys[i])
		if d.Values != nil {
			out.Values = append(out.Values, d.Values[i])
		}
	}
	return out
}
