package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// detachedEnv marks the background child of --detach; its readiness pipe
// is file descriptor 3.
const detachedEnv = "GVSWITCHD_DETACHED"

// detach starts this program again in a new session with the same
// arguments and waits until it reports that it is ready (its sockets and
// pidfile exist) or failed, as ovs-vswitchd --detach does. It returns the
// exit status for the foreground process.
func detach() int {
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gvswitchd: --detach: %v\n", err)
		return 1
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gvswitchd: --detach: %v\n", err)
		return 1
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gvswitchd: --detach: %v\n", err)
		return 1
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Env = append(os.Environ(), detachedEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "gvswitchd: --detach: %v\n", err)
		return 1
	}
	w.Close()
	msg, _ := io.ReadAll(r)
	if string(msg) == "ok" {
		return 0
	}
	cmd.Wait()
	text := strings.TrimSpace(string(msg))
	if text == "" {
		text = "background process exited before it was ready"
	}
	fmt.Fprintf(os.Stderr, "gvswitchd: %s\n", text)
	return 1
}

var notifyOnce sync.Once

// notifyParent tells the foreground process of --detach that start-up
// succeeded (err == nil) or why it failed. Only the first call counts.
func notifyParent(err error) {
	if os.Getenv(detachedEnv) == "" {
		return
	}
	notifyOnce.Do(func() {
		f := os.NewFile(3, "ready")
		if f == nil {
			return
		}
		if err != nil {
			f.WriteString(err.Error())
		} else {
			f.WriteString("ok")
		}
		f.Close()
	})
}
