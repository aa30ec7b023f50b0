package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Reconnection and probing defaults, as ovsdb-server's (ovs-vswitchd.conf.db(5),
// Manager table: max_backoff, inactivity_probe).
const (
	DefaultMaxBackoff      = 8 * time.Second
	DefaultInactivityProbe = 5 * time.Second
	minBackoff             = time.Second
)

// remoteOptions are a remote's settings from its Manager row.
type remoteOptions struct {
	maxBackoff time.Duration
	probe      time.Duration // 0: no probes
}

// remote is one listener (ptcp:, punix:) or one outgoing connection
// (tcp:, unix:), with the state its Manager row's status reports.
type remote struct {
	rs     *Remotes
	target string
	t      Target
	bad    error // the target cannot be served: never started

	stop chan struct{}
	done chan struct{}

	mu             sync.Mutex
	opts           remoteOptions
	state          string // active remotes: BACKOFF, CONNECTING, ACTIVE (IDLE is derived)
	connectedAt    time.Time
	disconnectedAt time.Time
	lastErr        string
	boundPort      int
	ln             net.Listener
	conns          map[*probeConn]bool
}

func (rm *remote) log() *slog.Logger { return rm.rs.logger() }

func (rm *remote) options() remoteOptions {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	return rm.opts
}

func (rm *remote) setOptions(o remoteOptions) {
	rm.mu.Lock()
	rm.opts = o
	rm.mu.Unlock()
}

func (rm *remote) stopped() bool {
	select {
	case <-rm.stop:
		return true
	default:
		return false
	}
}

// sleep waits d or until the remote is stopped; it reports whether it
// was stopped.
func (rm *remote) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-rm.stop:
		return true
	case <-t.C:
		return false
	}
}

func (rm *remote) start() {
	if rm.bad != nil {
		rm.log().Error(rm.bad.Error())
		close(rm.done)
		return
	}
	if rm.t.Passive {
		// The first attempt is made at once, so that a listener is open
		// when Start returns (as ovsdb-server's are before it detaches).
		ln, err := rm.listen()
		go func() {
			defer close(rm.done)
			rm.runPassive(ln, err)
		}()
		return
	}
	go func() {
		defer close(rm.done)
		rm.runActive()
	}()
}

// close stops the remote: the listener and every connection it serves
// are closed (del-manager), and it waits for them.
func (rm *remote) close() {
	close(rm.stop)
	rm.mu.Lock()
	if rm.ln != nil {
		rm.ln.Close()
	}
	for c := range rm.conns {
		c.Close()
	}
	rm.mu.Unlock()
	<-rm.done
}

// nextBackoff doubles the back-off from 1 s up to the maximum.
func nextBackoff(cur, max time.Duration) time.Duration {
	if cur < minBackoff {
		return minBackoff
	}
	if cur*2 > max {
		return max
	}
	return cur * 2
}

// errorText words a network error as ovsdb-server's last_error does: the
// system's error string ("Connection refused").
func errorText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.Err
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return "Connection timed out"
	}
	return err.Error()
}

func (rm *remote) path() string {
	if filepath.IsAbs(rm.t.Address) || rm.rs.Rundir == "" {
		return rm.t.Address
	}
	return filepath.Join(rm.rs.Rundir, rm.t.Address)
}

func (rm *remote) listen() (net.Listener, error) {
	if rm.t.Network == "unix" {
		return ListenUnix(rm.path(), 0o750)
	}
	return net.Listen("tcp", rm.t.Address)
}

// runPassive serves the listener ln (or retries after err) until stopped.
func (rm *remote) runPassive(ln net.Listener, err error) {
	var backoff time.Duration
	for first := true; !rm.stopped(); first = false {
		if !first {
			ln, err = rm.listen()
		}
		if err != nil {
			rm.mu.Lock()
			first := rm.lastErr == ""
			rm.lastErr = errorText(err)
			rm.mu.Unlock()
			msg := fmt.Sprintf("%s: listen failed: %s", rm.target, errorText(err))
			if first {
				rm.log().Error(msg)
			} else {
				rm.log().Debug(msg)
			}
			rm.rs.kickStatus()
			backoff = nextBackoff(backoff, rm.options().maxBackoff)
			if rm.sleep(backoff) {
				return
			}
			continue
		}
		backoff = 0
		rm.mu.Lock()
		if rm.stopped() {
			rm.mu.Unlock()
			ln.Close()
			return
		}
		rm.ln, rm.lastErr = ln, ""
		if a, ok := ln.Addr().(*net.TCPAddr); ok {
			rm.boundPort = a.Port
			rm.log().Info(fmt.Sprintf("%s: listening on port %d", rm.target, a.Port))
		} else {
			rm.log().Info(fmt.Sprintf("%s: listening", rm.target))
		}
		rm.mu.Unlock()
		rm.rs.kickStatus()
		rm.accept(ln)
		rm.mu.Lock()
		rm.ln, rm.boundPort = nil, 0
		rm.mu.Unlock()
		ln.Close()
	}
}

func (rm *remote) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if rm.stopped() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of descriptors or a passing error: do not spin.
				rm.log().Warn(fmt.Sprintf("%s: accept failed: %s", rm.target, errorText(err)))
				if rm.sleep(100 * time.Millisecond) {
					return
				}
				continue
			}
			rm.log().Error(fmt.Sprintf("%s: accept failed: %s", rm.target, errorText(err)))
			rm.mu.Lock()
			rm.lastErr = errorText(err)
			rm.mu.Unlock()
			return
		}
		go rm.serve(c)
	}
}

// serve serves one connection until it ends, probing the peer.
func (rm *remote) serve(c net.Conn) {
	pc := newProbeConn(c)
	rm.mu.Lock()
	if rm.stopped() {
		rm.mu.Unlock()
		c.Close()
		return
	}
	if rm.conns == nil {
		rm.conns = map[*probeConn]bool{}
	}
	rm.conns[pc] = true
	rm.mu.Unlock()
	go pc.probe(func() time.Duration { return rm.options().probe }, func(iv time.Duration) {
		rm.log().Error(fmt.Sprintf("%s: no response to inactivity probe after %d seconds, disconnecting", rm.name(pc), int(iv.Seconds())))
	})
	rm.rs.srv.ServeConn(pc)
	pc.Close()
	rm.mu.Lock()
	delete(rm.conns, pc)
	rm.mu.Unlock()
}

// name names a connection in the log: the target for an outgoing one,
// the peer for one accepted ("tcp:127.0.0.1:40000").
func (rm *remote) name(c net.Conn) string {
	if !rm.t.Passive {
		return rm.target
	}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return "tcp:" + a.String()
	}
	return rm.target
}

func (rm *remote) setState(state string) {
	rm.mu.Lock()
	rm.state = state
	rm.mu.Unlock()
}

func (rm *remote) runActive() {
	var backoff time.Duration
	quiet := false // reconnecting at the maximum back-off: log at debug level
	logf := func(format string, args ...any) {
		if quiet {
			rm.log().Debug(fmt.Sprintf(format, args...))
		} else {
			rm.log().Info(fmt.Sprintf(format, args...))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-rm.stop
		cancel()
	}()
	for !rm.stopped() {
		rm.setState("CONNECTING")
		logf("%s: connecting...", rm.target)
		addr := rm.t.Address
		if rm.t.Network == "unix" {
			addr = rm.path()
		}
		d := net.Dialer{Timeout: max(backoff, minBackoff)}
		c, err := d.DialContext(ctx, rm.t.Network, addr)
		if err == nil {
			rm.mu.Lock()
			rm.state, rm.lastErr, rm.connectedAt = "ACTIVE", "", time.Now()
			rm.mu.Unlock()
			quiet = false
			rm.log().Info(fmt.Sprintf("%s: connected", rm.target))
			rm.rs.kickStatus()
			start := time.Now()
			rm.serve(c)
			rm.mu.Lock()
			rm.state, rm.disconnectedAt = "BACKOFF", time.Now()
			rm.mu.Unlock()
			if rm.stopped() {
				return
			}
			rm.log().Info(fmt.Sprintf("%s: connection dropped", rm.target))
			rm.rs.kickStatus()
			// A connection that lasted starts the back-off over.
			if time.Since(start) >= backoff {
				backoff = 0
			}
		} else {
			if rm.stopped() {
				return
			}
			rm.mu.Lock()
			rm.state, rm.lastErr = "BACKOFF", errorText(err)
			rm.mu.Unlock()
			logf("%s: connection attempt failed (%s)", rm.target, errorText(err))
			rm.rs.kickStatus()
		}
		maxB := rm.options().maxBackoff
		backoff = nextBackoff(backoff, maxB)
		if err != nil && !quiet {
			if backoff >= maxB {
				rm.log().Info(fmt.Sprintf("%s: continuing to reconnect in the background but suppressing further logging", rm.target))
				quiet = true
			} else {
				logf("%s: waiting %d seconds before reconnect", rm.target, int(backoff.Seconds()))
			}
		}
		if rm.sleep(backoff) {
			return
		}
	}
}

// status returns what the remote's Manager row shows, as ovsdb-server
// writes it: is_connected and the status map.
func (rm *remote) status(now time.Time) (bool, map[string]string) {
	st := map[string]string{}
	if rm.bad != nil {
		st["last_error"] = rm.bad.Error()
		return false, st
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if rm.lastErr != "" {
		st["last_error"] = rm.lastErr
	}
	if rm.t.Passive {
		// A listener reports its connections and port; ovsdb-server's
		// sec_since_* are always "0" for one.
		st["sec_since_connect"], st["sec_since_disconnect"] = "0", "0"
		if n := len(rm.conns); n > 1 {
			st["n_connections"] = strconv.Itoa(n)
		}
		if rm.boundPort != 0 {
			st["bound_port"] = strconv.Itoa(rm.boundPort)
		}
		return len(rm.conns) > 0, st
	}
	connected := false
	state := rm.state
	for c := range rm.conns {
		connected = true
		if c.idle.Load() {
			state = "IDLE"
		}
		held, waiting := rm.rs.srv.locksOf(c)
		if len(held) > 0 {
			st["locks_held"] = strings.Join(held, " ")
		}
		if len(waiting) > 0 {
			st["locks_waiting"] = strings.Join(waiting, " ")
		}
	}
	if state != "" {
		st["state"] = state
	}
	if !rm.connectedAt.IsZero() {
		st["sec_since_connect"] = strconv.Itoa(int(now.Sub(rm.connectedAt).Seconds()))
	}
	if !rm.disconnectedAt.IsZero() {
		st["sec_since_disconnect"] = strconv.Itoa(int(now.Sub(rm.disconnectedAt).Seconds()))
	}
	return connected, st
}

// locksOf returns the locks held and waited for by the session serving
// conn, each sorted.
func (s *Server) locksOf(conn net.Conn) (held, waiting []string) {
	s.mu.Lock()
	var sess *session
	for ss := range s.sessions {
		if ss.conn == conn {
			sess = ss
			break
		}
	}
	s.mu.Unlock()
	if sess == nil {
		return nil, nil
	}
	s.locks.mu.Lock()
	defer s.locks.mu.Unlock()
	for name, lk := range s.locks.m {
		switch i := s.locks.find(lk, sess); {
		case i == 0:
			held = append(held, name)
		case i > 0:
			waiting = append(waiting, name)
		}
	}
	sort.Strings(held)
	sort.Strings(waiting)
	return held, waiting
}
