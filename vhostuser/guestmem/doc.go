// Package guestmem maps a vhost-user front-end's memory regions (the fds of
// SET_MEM_TABLE and ADD_MEM_REG) into this process and translates guest
// physical addresses, front-end virtual addresses and, with an IOMMU, I/O
// virtual addresses into bounds-checked byte slices of that mapping.
//
// A Table is immutable once built: a change (a new table, an added or a
// removed region) builds a new Table that shares the unchanged mappings,
// so a poll-mode thread can keep using the old one until the control side
// has seen it leave; Close then unmaps what no other Table still uses.
// Translation never returns a slice that is not wholly inside one mapped
// region: a range that is outside, wraps around, or straddles two regions
// gives nil.
package guestmem
