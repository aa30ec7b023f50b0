package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"gvswitch/control/unixctl"
	"gvswitch/control/vsctl"
)

// appctl is "gvswitchctl appctl [-t TARGET] [-T SECS] COMMAND [ARG...]",
// the ovs-appctl client: TARGET is a socket path or a daemon name whose
// pidfile is in the gvswitch run directory (default "gvswitchd").
func appctl(args []string, stdout, stderr io.Writer) int {
	target := "gvswitchd"
	timeout := unixctl.DefaultTimeout
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		opt := args[0]
		var val string
		name, v, hasVal := strings.Cut(opt, "=")
		switch name {
		case "-t", "--target", "-T", "--timeout":
			if !hasVal {
				if len(args) < 2 {
					fmt.Fprintf(stderr, "gvswitchctl: appctl: option '%s' requires an argument\n", name)
					return 1
				}
				v, args = args[1], args[1:]
			}
			val = v
		case "--":
			args = args[1:]
			goto done
		default:
			fmt.Fprintf(stderr, "gvswitchctl: appctl: unrecognized option '%s'\n", opt)
			return 1
		}
		args = args[1:]
		if name == "-t" || name == "--target" {
			target = val
		} else {
			n, err := strconv.Atoi(val)
			if err != nil || n <= 0 {
				fmt.Fprintf(stderr, "gvswitchctl: appctl: value %s on -T or --timeout is invalid\n", val)
				return 1
			}
			timeout = time.Duration(n) * time.Second
		}
	}
done:
	if len(args) == 0 {
		fmt.Fprintln(stderr, "gvswitchctl: appctl: at least one non-option argument is required (use --help for help)")
		return 1
	}
	path, err := unixctl.SocketPath(vsctl.DefaultEnv().RunDir, target)
	if err != nil {
		fmt.Fprintf(stderr, "gvswitchctl: appctl: cannot read pidfile for %s: %v\n", target, err)
		return 1
	}
	out, err := unixctl.CallSocket(path, args[0], args[1:], timeout)
	var se *unixctl.ServerError
	if errors.As(err, &se) {
		fmt.Fprint(stderr, se.Msg)
		fmt.Fprintf(stderr, "gvswitchctl: appctl: %s: server returned an error\n", target)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "gvswitchctl: appctl: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, out)
	return 0
}
