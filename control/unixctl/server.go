package unixctl

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"

	"gvswitch/control/jsonrpc"
	"gvswitch/control/unixctl/coverage"
	"gvswitch/control/unixctl/vlog"
)

// Handler runs one command. args has already been checked against the
// command's bounds. The returned text is the command's output; an error's
// text is what ovs-appctl prints on stderr. A trailing newline is added to
// non-empty texts that lack one, as Open vSwitch does.
type Handler func(args []string) (string, error)

// Errors returned by Register.
var (
	ErrDuplicate = errors.New("unixctl: command already registered")
	ErrBadBounds = errors.New("unixctl: bad argument bounds")
)

// Unbounded is the maxArgs of a command that takes any number of arguments.
const Unbounded = 1<<31 - 1

// maxRequest bounds one request; ovs-appctl's are a few hundred bytes.
const maxRequest = 1 << 20

var (
	log         = vlog.Module("unixctl")
	covReceived = coverage.New("unixctl_received")
	covReplied  = coverage.New("unixctl_replied")
)

type command struct {
	usage            string
	minArgs, maxArgs int
	fn               Handler
}

// Server is a unixctl command table and the listeners serving it. The zero
// value is not usable; call NewServer.
type Server struct {
	// OnExit, if set, is called after the reply to "exit" has been
	// written; cleanup reports whether --cleanup was given. It runs in
	// its own goroutine.
	OnExit func(cleanup bool)

	mu        sync.Mutex
	commands  map[string]command
	listeners []net.Listener
	conns     map[net.Conn]struct{}
	closed    bool
	wg        sync.WaitGroup
}

// NewServer returns a server whose table holds the built-in commands
// list-commands, version (answering version, which should end in a
// newline) and exit.
func NewServer(version string) *Server {
	s := &Server{commands: make(map[string]command), conns: make(map[net.Conn]struct{})}
	s.mustRegister("list-commands", "", 0, 0, s.listCommands)
	s.mustRegister("version", "", 0, 0, func([]string) (string, error) { return version, nil })
	// exit is special-cased in handle: the reply must go out first.
	s.mustRegister("exit", "[--cleanup]", 0, 1, func(args []string) (string, error) {
		if len(args) == 1 && args[0] != "--cleanup" {
			return "", fmt.Errorf("\"exit\" command takes only \"--cleanup\" as argument")
		}
		return "", nil
	})
	return s
}

func (s *Server) mustRegister(name, usage string, minArgs, maxArgs int, fn Handler) {
	if err := s.Register(name, usage, minArgs, maxArgs, fn); err != nil {
		panic(err) // built-in table: a programmer error
	}
}

// Register adds a command. usage is the text list-commands prints after the
// name (e.g. "[port]"); minArgs and maxArgs bound the number of arguments
// (Unbounded for no limit). A name may be registered once; it wraps
// ErrDuplicate otherwise.
func (s *Server) Register(name, usage string, minArgs, maxArgs int, fn Handler) error {
	if minArgs < 0 || maxArgs < minArgs || fn == nil || name == "" {
		return fmt.Errorf("%w: %q min %d max %d", ErrBadBounds, name, minArgs, maxArgs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.commands[name]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicate, name)
	}
	s.commands[name] = command{usage: usage, minArgs: minArgs, maxArgs: maxArgs, fn: fn}
	return nil
}

// Unregister removes a command; it is a no-op for an unknown name.
func (s *Server) Unregister(name string) {
	s.mu.Lock()
	delete(s.commands, name)
	s.mu.Unlock()
}

// Commands returns the registered command names, sorted.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.namesLocked()
}

// Usage returns a command's usage text ("" for an unknown command).
func (s *Server) Usage(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commands[name].usage
}

// namesLocked returns the command names, sorted; s.mu is held.
func (s *Server) namesLocked() []string {
	names := make([]string, 0, len(s.commands))
	for n := range s.commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (s *Server) listCommands([]string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := s.namesLocked()
	var b strings.Builder
	b.WriteString("The available commands are:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-23s %s\n", n, s.commands[n].usage)
	}
	return b.String(), nil
}

// Run executes a command as if it had arrived on the socket, with the same
// argument checks. The error texts are Open vSwitch's. It does not run the
// exit hook.
func (s *Server) Run(method string, args []string) (string, error) {
	s.mu.Lock()
	cmd, ok := s.commands[method]
	s.mu.Unlock()
	switch {
	case !ok:
		return "", fmt.Errorf("%q is not a valid command (use \"list-commands\" to see a list of valid commands)", method)
	case len(args) < cmd.minArgs:
		return "", fmt.Errorf("%q command requires at least %d arguments", method, cmd.minArgs)
	case len(args) > cmd.maxArgs:
		return "", fmt.Errorf("%q command takes at most %d arguments", method, cmd.maxArgs)
	}
	return cmd.fn(args)
}

// Listen creates a unix socket at path with mode 0750 (like
// ovs-vswitchd's), replacing a stale socket file, and serves it in the
// background until Close.
func (s *Server) Listen(path string) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		// A socket nobody answers on is left over from a crash.
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return fmt.Errorf("unixctl: listen %s: %w", path, os.ErrExist)
		}
		os.Remove(path)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("unixctl: listen: %w", err)
	}
	if err := os.Chmod(path, 0o750); err != nil {
		l.Close()
		return fmt.Errorf("unixctl: chmod %s: %w", path, err)
	}
	return s.serveListener(l)
}

// Serve serves an existing listener in the background until Close.
func (s *Server) Serve(l net.Listener) error { return s.serveListener(l) }

func (s *Server) serveListener(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return net.ErrClosed
	}
	s.listeners = append(s.listeners, l)
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			if s.closed {
				s.mu.Unlock()
				c.Close()
				return
			}
			s.conns[c] = struct{}{}
			s.wg.Add(1)
			s.mu.Unlock()
			go func() {
				defer s.wg.Done()
				s.ServeConn(c)
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
		}
	}()
	return nil
}

// Close stops the listeners (removing their socket files), closes open
// connections and waits for running handlers to return.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, l := range s.listeners {
		l.Close() // a unix listener unlinks its file
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// ServeConn answers requests on one connection until the peer closes it or
// sends something that is not JSON-RPC. It closes c.
func (s *Server) ServeConn(c net.Conn) {
	conn := jsonrpc.NewConn(c)
	defer conn.Close()
	conn.SetMaxMessageSize(maxRequest)
	for {
		m, err := conn.Read()
		if err != nil {
			if err != io.EOF {
				log.Dbg("%s: dropping client: %v", c.LocalAddr(), err)
			}
			return // EOF, garbage or oversized: drop this client alone
		}
		if m.Method == "" {
			continue // a reply: nothing to answer
		}
		covReceived.Inc()
		var out string
		args, err := stringParams(m.Method, m.Params)
		if err == nil {
			out, err = s.Run(m.Method, args)
		}
		if m.IsNotification() {
			continue
		}
		var rep *jsonrpc.Message
		if err != nil {
			rep = jsonrpc.NewError(m.ID, withNewline(err.Error()))
		} else {
			rep = jsonrpc.NewResult(m.ID, withNewline(out))
		}
		if err := conn.Write(rep); err != nil {
			return
		}
		covReplied.Inc()
		if m.Method == "exit" && err == nil && s.OnExit != nil {
			go s.OnExit(len(args) == 1)
		}
	}
}

// stringParams decodes params, which unixctl requires to be an array of
// strings.
func stringParams(method string, params json.RawMessage) ([]string, error) {
	var raw []json.RawMessage
	if len(params) > 0 {
		if err := json.Unmarshal(params, &raw); err != nil {
			return nil, fmt.Errorf("%q command has non-array params: %s", method, params)
		}
	}
	args := make([]string, 0, len(raw))
	for _, p := range raw {
		var a string
		if json.Unmarshal(p, &a) != nil {
			return nil, fmt.Errorf("%q command has non-string argument: %s", method, p)
		}
		args = append(args, a)
	}
	return args, nil
}

func withNewline(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		return s + "\n"
	}
	return s
}
