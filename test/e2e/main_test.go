package e2e

import (
	"fmt"
	"os"
	"testing"
)

// TestMain builds gvswitchd once for every test in the package.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gvs-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary, err = Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
