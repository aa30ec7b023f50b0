package server

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// DefaultPort is the OVSDB port (IANA-assigned 6640) that tcp: and ptcp:
// targets use when they name none.
const DefaultPort = 6640

// ErrBadTarget is wrapped by ParseTarget for a target it cannot read.
var ErrBadTarget = errors.New("bad remote target")

// ErrNoSSL is wrapped by ParseTarget for ssl: and pssl: targets: gvswitch
// has no SSL/TLS support, so they are refused rather than served in clear.
var ErrNoSSL = errors.New("SSL is not supported")

// Target is a parsed OVSDB connection method, written as ovsdb-server's
// --remote option and the Manager table's target column write them:
//
//	ptcp:[PORT][:IP]   listen on TCP (port 0: any free port)
//	punix:PATH         listen on a unix socket
//	tcp:HOST[:PORT]    connect out over TCP, then serve on that connection
//	unix:PATH          connect out to a unix socket, likewise
//
// IPv6 addresses are written in brackets ("ptcp:6640:[::1]",
// "tcp:[::1]:6640").
type Target struct {
	Passive bool   // we listen (ptcp:, punix:) rather than connect (tcp:, unix:)
	Network string // "tcp" or "unix"
	Address string // HOST:PORT for tcp, the socket path for unix
}

func badTarget(s, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", s, ErrBadTarget, fmt.Sprintf(format, args...))
}

// ParseTarget parses a remote target. Errors wrap ErrBadTarget or ErrNoSSL.
func ParseTarget(s string) (Target, error) {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Target{}, badTarget(s, "no connection method")
	}
	switch kind {
	case "ssl", "pssl":
		return Target{}, fmt.Errorf("%s: %w", s, ErrNoSSL)
	case "punix", "unix":
		if rest == "" {
			return Target{}, badTarget(s, "empty socket path")
		}
		if strings.IndexByte(rest, 0) >= 0 {
			return Target{}, badTarget(s, "NUL in socket path")
		}
		return Target{Passive: kind == "punix", Network: "unix", Address: rest}, nil
	case "ptcp":
		// ptcp:[PORT][:IP]
		portText, ip, _ := strings.Cut(rest, ":")
		port := DefaultPort
		if portText != "" {
			p, err := strconv.ParseUint(portText, 10, 16)
			if err != nil {
				return Target{}, badTarget(s, "bad port number %q", portText)
			}
			port = int(p)
		}
		if strings.HasPrefix(ip, "[") && strings.HasSuffix(ip, "]") {
			ip = ip[1 : len(ip)-1]
		}
		if ip != "" && net.ParseIP(ip) == nil {
			return Target{}, badTarget(s, "bad IP address %q", ip)
		}
		return Target{Passive: true, Network: "tcp", Address: net.JoinHostPort(ip, strconv.Itoa(port))}, nil
	case "tcp":
		// tcp:HOST[:PORT]
		host, portText := rest, ""
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return Target{}, badTarget(s, "unterminated [")
			}
			host = rest[1:end]
			if after := rest[end+1:]; after != "" {
				if after[0] != ':' {
					return Target{}, badTarget(s, "junk after ]")
				}
				portText = after[1:]
			}
		} else if i := strings.IndexByte(rest, ':'); i >= 0 {
			host, portText = rest[:i], rest[i+1:]
			if strings.IndexByte(portText, ':') >= 0 {
				return Target{}, badTarget(s, "IPv6 address not in brackets")
			}
		}
		if !validHost(host) {
			return Target{}, badTarget(s, "bad host %q", host)
		}
		port := DefaultPort
		if portText != "" {
			p, err := strconv.ParseUint(portText, 10, 16)
			if err != nil || p == 0 {
				return Target{}, badTarget(s, "bad port number %q", portText)
			}
			port = int(p)
		}
		return Target{Network: "tcp", Address: net.JoinHostPort(host, strconv.Itoa(port))}, nil
	}
	return Target{}, badTarget(s, "unknown connection method %q", kind)
}

// validHost accepts an IP address or a DNS name.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// needsProbes reports whether connections of this kind are probed by
// default: TCP peers can vanish without a FIN, unix peers cannot.
func (t Target) needsProbes() bool { return t.Network == "tcp" }
