package main

import (
	"fmt"
	"os"
)

// appctl is replaced by the control/unixctl client below.
func appctl(args []string) int {
	fmt.Fprintln(os.Stderr, "gvswitchctl: appctl: not available")
	return 1
}
