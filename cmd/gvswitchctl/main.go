// Command gvswitchctl configures gvswitch with the ovs-vsctl command
// language (see control/vsctl), and talks to the daemon's control socket
// with "gvswitchctl appctl"; "gvswitchctl capture PORT [-w FILE] [-c N]"
// records what a port receives and sends as pcap.
package main

import (
	"os"

	"gvswitch/control/vsctl"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "appctl" {
		os.Exit(appctl(args[1:], os.Stdout, os.Stderr))
	}
	if len(args) > 0 && args[0] == "capture" {
		os.Exit(capture(args[1:], os.Stdout, os.Stderr))
	}
	env := vsctl.DefaultEnv()
	env.Argv0 = os.Args[0]
	os.Exit(vsctl.MainEnv("gvswitchctl", args, os.Stdout, os.Stderr, env))
}
