// Package testenv decides whether an integration test can run here: it skips
// with a clear message when root, a command or a kernel feature is missing,
// and fails instead when GVS_REQUIRE_ALL=1 (as .ci/run sets), so CI never
// passes by skipping.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequireAll reports whether GVS_REQUIRE_ALL=1 is set.
func RequireAll() bool { return os.Getenv("GVS_REQUIRE_ALL") == "1" }

// Skip skips the test with the reason, or fails it under GVS_REQUIRE_ALL=1.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	if RequireAll() {
		t.Fatalf("GVS_REQUIRE_ALL=1 but cannot run: "+format, args...)
	}
	t.Skipf(format, args...)
}

// NeedRoot skips unless running as root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, "needs root")
	}
}

// NeedCommand returns the path of each named program, skipping when one is
// missing (`make deps` installs them).
func NeedCommand(t testing.TB, names ...string) []string {
	t.Helper()
	paths := make([]string, 0, len(names))
	for _, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			// Debian puts some of them in sbin, which a non-root PATH lacks.
			for _, dir := range []string{"/usr/sbin/", "/sbin/", "/usr/bin/"} {
				if _, e := os.Stat(dir + n); e == nil {
					p, err = dir+n, nil
					break
				}
			}
		}
		if err != nil {
			Skip(t, "needs %s (run `make deps`)", n)
			return nil
		}
		paths = append(paths, p)
	}
	return paths
}

// Short skips a slow integration test under `go test -short`; CI never
// passes -short.
func Short(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("slow integration test; not run with -short")
	}
}
