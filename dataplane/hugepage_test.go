package dataplane

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"gvswitch/internal/testenv"
)

func TestHugepageArena(t *testing.T) {
	testenv.ReserveHugepages(t, 4)
	a, err := NewArena(1<<20, ArenaOptions{HugePages: true, RequireHuge: true, HugePageSize: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Huge() || a.PageSize() != 2<<20 || len(a.Bytes()) != 2<<20 {
		t.Fatalf("anonymous hugepage arena: huge=%v page=%d len=%d", a.Huge(), a.PageSize(), len(a.Bytes()))
	}
	p, _, err := NewPool("huge", a, 0, 512, DefaultDataRoom)
	if err != nil {
		t.Fatal(err)
	}
	pk := p.Get()
	pk.Room()[0] = 1
	pk.Free()
	a.Close()

	dir := t.TempDir()
	if err := unix.Mount("nodev", dir, "hugetlbfs", 0, "pagesize=2M"); err != nil {
		testenv.Skip(t, "cannot mount hugetlbfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, 0) })
	a, err = NewArena(3<<20, ArenaOptions{HugetlbfsDir: dir, RequireHuge: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if !a.Huge() || a.PageSize() != 2<<20 || len(a.Bytes()) != 4<<20 {
		t.Fatalf("hugetlbfs arena: huge=%v page=%d len=%d", a.Huge(), a.PageSize(), len(a.Bytes()))
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Fatalf("hugetlbfs arena left %d files behind", len(ents))
	}
}
