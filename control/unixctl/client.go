package unixctl

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gvswitch/control/jsonrpc"
)

// DefaultOVSRundir is Debian's compiled-in Open vSwitch run directory.
const DefaultOVSRundir = "/var/run/openvswitch"

// DefaultTimeout bounds a Call.
const DefaultTimeout = 30 * time.Second

// ErrProtocol: the daemon's reply was not a valid unixctl reply.
var ErrProtocol = errors.New("unixctl: protocol error")

// ServerError is a command error reported by the daemon (ovs-appctl prints
// Msg on stderr and exits 2).
type ServerError struct {
	Target string
	Msg    string // as sent, normally ending in a newline
}

func (e *ServerError) Error() string { return strings.TrimSuffix(e.Msg, "\n") }

// OVSRundir is where ovs-appctl looks for pidfiles: $OVS_RUNDIR, else
// DefaultOVSRundir.
func OVSRundir() string {
	if d := os.Getenv("OVS_RUNDIR"); d != "" {
		return d
	}
	return DefaultOVSRundir
}

// SocketPath turns a target into a socket path exactly as ovs-appctl -t
// does: an absolute path is the socket itself; anything else is a name
// whose pidfile <rundir>/<name>.pid gives the pid of
// <rundir>/<name>.<pid>.ctl.
func SocketPath(rundir, target string) (string, error) {
	if strings.HasPrefix(target, "/") {
		return target, nil
	}
	pid, err := ReadPidfile(filepath.Join(rundir, target+".pid"))
	if err != nil {
		return "", err
	}
	return filepath.Join(rundir, fmt.Sprintf("%s.%d.ctl", target, pid)), nil
}

// Call runs one command on the daemon named by target (resolved in
// OVSRundir, as ovs-appctl) and returns its output. A command error is a
// *ServerError.
func Call(target, method string, args []string) (string, error) {
	path, err := SocketPath(OVSRundir(), target)
	if err != nil {
		return "", err
	}
	return CallSocket(path, method, args, DefaultTimeout)
}

// CallSocket runs one command on the unixctl socket at path.
func CallSocket(path, method string, args []string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return "", fmt.Errorf("cannot connect to %q: %w", path, err)
	}
	defer c.Close()
	if timeout > 0 {
		c.SetDeadline(time.Now().Add(timeout))
	}
	if args == nil {
		args = []string{}
	}
	conn := jsonrpc.NewConn(c)
	if err := conn.Write(jsonrpc.NewRequest(0, method, args)); err != nil {
		return "", fmt.Errorf("%s: transaction error: %w", path, err)
	}
	for {
		rep, err := conn.Read()
		if err != nil {
			return "", fmt.Errorf("%s: transaction error: %w", path, err)
		}
		// Like ovs-appctl: requests and notifications before the reply,
		// and replies to other ids, are ignored.
		if rep.Method != "" || string(rep.ID) != "0" {
			continue
		}
		if rep.IsError() {
			var msg string
			if json.Unmarshal(rep.Error, &msg) != nil {
				return "", fmt.Errorf("%s: %w: error is not a string: %s", path, ErrProtocol, rep.Error)
			}
			return "", &ServerError{Target: path, Msg: msg}
		}
		var out string
		if len(rep.Result) == 0 || string(rep.Result) == "null" || json.Unmarshal(rep.Result, &out) != nil {
			return "", fmt.Errorf("%s: %w: result is not a string: %s", path, ErrProtocol, rep.Result)
		}
		return out, nil
	}
}
