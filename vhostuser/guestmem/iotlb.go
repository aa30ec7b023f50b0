package guestmem

import (
	"sort"

	"gvswitch/vhostuser/proto"
)

// IOTLB maps I/O virtual addresses to front-end virtual addresses, built
// from IOTLB_MSG updates and invalidations (vhost-user.rst "IOMMU
// support"). Like Table it is immutable; Update and Invalidate return a new
// one.
type IOTLB struct {
	ents []iotlbEntry // sorted by iova, not overlapping
}

type iotlbEntry struct {
	iova, size, uva uint64
	perm            uint8
}

// MaxIOTLBEntries bounds the IOTLB so a front-end cannot grow it without
// limit: an update beyond it is refused, and accesses to that range miss.
const MaxIOTLBEntries = 2048

// Update returns a new IOTLB with m's mapping added (overlapping parts of
// older entries are dropped), and false if the IOTLB is full.
func (t *IOTLB) Update(m proto.IOTLB) (*IOTLB, bool) {
	n := t.Invalidate(m.IOVA, m.Size)
	if len(n.ents) >= MaxIOTLBEntries {
		return t, false
	}
	n.ents = append(n.ents, iotlbEntry{iova: m.IOVA, size: m.Size, uva: m.UAddr, perm: m.Perm})
	sort.Slice(n.ents, func(i, j int) bool { return n.ents[i].iova < n.ents[j].iova })
	return n, true
}

// Invalidate returns a new IOTLB without any mapping of [iova, iova+size).
// Entries partly inside the range are dropped whole (the front-end
// re-sends what it still maps on the next miss).
func (t *IOTLB) Invalidate(iova, size uint64) *IOTLB {
	n := &IOTLB{}
	end := iova + size
	if end < iova {
		end = ^uint64(0)
	}
	if t != nil {
		for _, e := range t.ents {
			if e.iova < end && iova < e.iova+e.size {
				continue
			}
			n.ents = append(n.ents, e)
		}
	}
	return n
}

// Translate returns the front-end virtual address of [iova, iova+n) when
// one entry with the permissions perm covers it all.
func (t *IOTLB) Translate(iova, n uint64, perm uint8) (uint64, bool) {
	if t == nil {
		return 0, false
	}
	e := t.ents
	i := sort.Search(len(e), func(i int) bool { return e[i].iova+e[i].size > iova })
	if i == len(e) {
		return 0, false
	}
	en := &e[i]
	off := iova - en.iova
	if iova < en.iova || off >= en.size || n > en.size-off || en.perm&perm != perm {
		return 0, false
	}
	return en.uva + off, true
}

// Len is the number of entries.
func (t *IOTLB) Len() int {
	if t == nil {
		return 0
	}
	return len(t.ents)
}
