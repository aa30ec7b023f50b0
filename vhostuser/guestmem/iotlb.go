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
// entries with the permissions perm cover it all, contiguously in the
// front-end's address space too (a front-end usually maps page by page, so
// a buffer crossing a page boundary spans two entries).
func (t *IOTLB) Translate(iova, n uint64, perm uint8) (uint64, bool) {
	if t == nil {
		return 0, false
	}
	e := t.ents
	i := sort.Search(len(e), func(i int) bool { return e[i].iova+e[i].size > iova })
	if i == len(e) || iova < e[i].iova || e[i].perm&perm != perm {
		return 0, false
	}
	start := e[i].uva + (iova - e[i].iova)
	for {
		en := &e[i]
		if en.perm&perm != perm {
			return 0, false
		}
		off := iova - en.iova
		if n <= en.size-off {
			return start, true
		}
		n -= en.size - off
		iova = en.iova + en.size
		// The rest must be in the next entry, which follows this one in
		// I/O and in front-end address space.
		if i+1 == len(e) || e[i+1].iova != en.iova+en.size || e[i+1].uva != en.uva+en.size {
			return 0, false
		}
		i++
	}
}

// MissAddr is the first address of [iova, iova+n) that Translate cannot
// reach with permissions perm: the one to ask the front-end for.
func (t *IOTLB) MissAddr(iova, n uint64, perm uint8) uint64 {
	for n > 0 {
		if t == nil {
			return iova
		}
		e := t.ents
		i := sort.Search(len(e), func(i int) bool { return e[i].iova+e[i].size > iova })
		if i == len(e) || iova < e[i].iova || e[i].perm&perm != perm {
			return iova
		}
		step := e[i].size - (iova - e[i].iova)
		if n <= step {
			break
		}
		if i+1 < len(e) && e[i+1].iova == e[i].iova+e[i].size && e[i+1].uva != e[i].uva+e[i].size {
			return iova + step // mapped, but not contiguously: ask for the next page anyway
		}
		iova += step
		n -= step
	}
	return iova
}

// Len is the number of entries.
func (t *IOTLB) Len() int {
	if t == nil {
		return 0
	}
	return len(t.ents)
}
