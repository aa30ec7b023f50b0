package testenv

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// nrHugepages2M is the kernel's count of reserved 2 MiB pages
// (Documentation/admin-guide/mm/hugetlbpage.rst).
const nrHugepages2M = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"

// hugepageLock serialises changes to nr_hugepages between test processes:
// `go test ./...` runs packages in parallel, and two unlocked
// read-add-write cycles lose one reservation (both read 0, both write
// their own count), leaving a test short of pages.
const hugepageLock = "/run/lock/gvswitch-test-hugepages.lock"

// ReserveHugepages adds n 2 MiB pages to the kernel's pool for the test
// and, at cleanup, gives back exactly what it added; other tests and jobs
// keep theirs. It skips (fails under GVS_REQUIRE_ALL=1) without root or
// when the kernel cannot reserve n more pages.
func ReserveHugepages(t testing.TB, n int) {
	t.Helper()
	NeedRoot(t)
	var added int
	err := withHugepageLock(func() error {
		cur, err := readHugepages()
		if err != nil {
			return err
		}
		if err := os.WriteFile(nrHugepages2M, []byte(strconv.Itoa(cur+n)), 0); err != nil {
			return fmt.Errorf("reserve %d more 2 MiB pages: %w", n, err)
		}
		now, err := readHugepages()
		if err != nil {
			return err
		}
		added = max(0, now-cur)
		if added < n {
			err := fmt.Errorf("the kernel reserved %d of %d more 2 MiB pages (memory fragmented?)", added, n)
			os.WriteFile(nrHugepages2M, []byte(strconv.Itoa(cur)), 0)
			added = 0
			return err
		}
		return nil
	})
	if err != nil {
		Skip(t, "hugepages: %v", err)
		return
	}
	t.Cleanup(func() {
		err := withHugepageLock(func() error {
			cur, err := readHugepages()
			if err != nil {
				return err
			}
			return os.WriteFile(nrHugepages2M, []byte(strconv.Itoa(max(0, cur-added))), 0)
		})
		if err != nil {
			t.Logf("giving back %d hugepages: %v", added, err)
		}
	})
}

func readHugepages() (int, error) {
	b, err := os.ReadFile(nrHugepages2M)
	if err != nil {
		return 0, fmt.Errorf("no 2 MiB hugepage support: %w", err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", nrHugepages2M, err)
	}
	return v, nil
}

func withHugepageLock(fn func() error) error {
	f, err := os.OpenFile(hugepageLock, os.O_CREATE|os.O_RDWR, 0o644)
	if errors.Is(err, os.ErrNotExist) {
		// No /run/lock: a system without the FHS lock directory.
		f, err = os.OpenFile(os.TempDir()+"/gvswitch-test-hugepages.lock", os.O_CREATE|os.O_RDWR, 0o644)
	}
	if err != nil {
		return fmt.Errorf("hugepage lock: %w", err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("hugepage lock: %w", err)
	}
	defer unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return fn()
}

// DPDKDirs prepares what a test needs to run a DPDK process: n 2 MiB
// hugepages reserved (ReserveHugepages), a fresh directory whose path DPDK's
// key=value device arguments can hold (no '=' or ',', which t.TempDir's
// names may have), and a hugetlbfs mounted at huge inside it. Cleanup
// unmounts and removes both.
func DPDKDirs(t testing.TB, pattern string, n int) (dir, huge string) {
	t.Helper()
	ReserveHugepages(t, n)
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	huge = dir + "/huge"
	if err := os.Mkdir(huge, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("hugetlbfs", huge, "hugetlbfs", 0, "pagesize=2M"); err != nil {
		Skip(t, "mount hugetlbfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(huge, unix.MNT_DETACH) })
	return dir, huge
}
