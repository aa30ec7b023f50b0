package bond

import (
	"sort"
	"time"
)

// rebalance moves buckets from the most to the least loaded enabled
// members every RebalanceInterval, by the bytes each bucket carried (OVS
// bond_rebalance): it stops when the difference is under ~3% or under
// 100000 bytes, moves only from members with at least two loaded buckets,
// and only when that brings the pair at least 10% closer to even. Loads
// then decay by half, so old traffic fades in a few intervals.
func (b *Bond) rebalance(now time.Time) {
	if !b.isBalanced() || !b.hashValid || now.Before(b.nextRebalance) {
		return
	}
	b.nextRebalance = now.Add(b.cfg.RebalanceInterval)

	var snap [Buckets]uint64
	for i := range snap {
		snap[i] = b.load[i].Load()
	}
	type bal struct {
		idx     int
		tx      uint64
		entries []int // buckets, heaviest first
	}
	byIdx := map[int]*bal{}
	var bals []*bal
	for _, i := range b.order {
		if b.members[i].enabled {
			bl := &bal{idx: i}
			byIdx[i] = bl
			bals = append(bals, bl)
		}
	}
	order := make([]int, Buckets)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool { return snap[order[x]] > snap[order[y]] })
	for _, h := range order {
		if m := b.bucket[h]; m >= 0 && snap[h] > 0 {
			if bl := byIdx[int(m)]; bl != nil {
				bl.tx += snap[h]
				bl.entries = append(bl.entries, h)
			}
		}
	}
	resort := func() { sort.SliceStable(bals, func(x, y int) bool { return bals[x].tx > bals[y].tx }) }
	resort()
	for len(bals) >= 2 {
		from, to := bals[0], bals[len(bals)-1]
		overload := from.tx - to.tx
		if overload < to.tx>>5 || overload < 100000 {
			break
		}
		moved := chooseToMigrate(from.entries, from.tx, to.tx, &snap)
		if len(moved) == 0 {
			bals = bals[1:] // nothing useful to take from it
			continue
		}
		for _, h := range moved {
			b.bucket[h] = int8(to.idx)
			from.tx -= snap[h]
			to.tx += snap[h]
			for k, e := range from.entries {
				if e == h {
					from.entries = append(from.entries[:k], from.entries[k+1:]...)
					break
				}
			}
		}
		resort()
	}
	for i := range snap {
		// Subtract what was read rather than store: bytes accounted by the
		// data path meanwhile are kept.
		b.load[i].Add(^(snap[i]/2 - 1))
	}
	b.publish()
}

// chooseToMigrate picks buckets (heaviest first) whose load moves the
// 'from' member towards the midpoint between it and 'to' without passing
// it, or the lightest single bucket if none fits; it returns nothing when
// the gain would be under 10% of the ideal move.
func chooseToMigrate(entries []int, fromTx, toTx uint64, snap *[Buckets]uint64) []int {
	if len(entries) < 2 {
		return nil // moving a member's only bucket just moves the problem
	}
	ideal := (fromTx+toTx)/2 - toTx
	threshold := ideal / 10
	var delta uint64
	var out []int
	for _, h := range entries {
		if delta+snap[h] <= ideal {
			out = append(out, h)
			delta += snap[h]
		}
		if ideal-delta < threshold {
			break
		}
	}
	if len(out) == 0 {
		h := entries[len(entries)-1]
		out, delta = append(out, h), snap[h]
	}
	newLow := min(fromTx-delta, toTx+delta)
	if newLow > toTx && newLow-toTx >= threshold {
		return out
	}
	return nil
}
