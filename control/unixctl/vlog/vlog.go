// Package vlog is gvswitchd's logging: named modules, each with a level per
// destination (console, syslog, file), changed at run time with
// ovs-appctl vlog/set and shown with vlog/list, in Open vSwitch's formats.
//
// A module is created once (Module("bond")) and logs with Emer/Err/Warn/
// Info/Dbg; Slog gives a *slog.Logger for packages that take one (the data
// path does not import control/). Lines look like Open vSwitch's:
//
//	2026-11-26T11:21:40.123Z|00001|bond|INFO|member a0: enabled
//
// Levels (most to least severe): OFF, EMER, ERR, WARN, INFO, DBG. A message
// goes to a destination when its level is at least as severe as the
// destination's level for its module.
package vlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Level is a log level; lower is more severe. Off disables a destination.
type Level int32

// Levels, Open vSwitch's names.
const (
	Off Level = iota
	Emer
	Err
	Warn
	Info
	Dbg
)

var levelNames = [...]string{"OFF", "EMER", "ERR", "WARN", "INFO", "DBG"}

func (l Level) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return fmt.Sprintf("Level(%d)", int(l))
	}
	return levelNames[l]
}

// ParseLevel accepts a level name in any case.
func ParseLevel(s string) (Level, bool) {
	for i, n := range levelNames {
		if strings.EqualFold(s, n) {
			return Level(i), true
		}
	}
	return 0, false
}

// Destination is where lines go.
type Destination int

// Destinations, in vlog/list column order.
const (
	Console Destination = iota
	Syslog
	File
	numDest
)

var destNames = [numDest]string{"console", "syslog", "file"}

// ErrSpec: a vlog/set specification names no known module, level or
// destination.
var ErrSpec = errors.New("vlog: bad specification")

// Logger is one module's logger. Safe for concurrent use.
type Logger struct {
	name   string
	levels [numDest]atomic.Int32
}

var (
	mu        sync.Mutex
	modules   = map[string]*Logger{}
	defaults  = [numDest]Level{Info, Off, Info}
	seq       atomic.Uint64
	outMu     sync.Mutex
	console   io.Writer = os.Stderr
	logFile   *os.File
	logPath   string
	sysWriter *syslog.Writer
)

// Module returns the logger called name, creating it with the default
// levels (console INFO, syslog OFF, file INFO) on first use.
func Module(name string) *Logger {
	mu.Lock()
	defer mu.Unlock()
	if l, ok := modules[name]; ok {
		return l
	}
	l := &Logger{name: name}
	for d := range numDest {
		l.levels[d].Store(int32(defaults[d]))
	}
	modules[name] = l
	return l
}

// Name is the module's name.
func (l *Logger) Name() string { return l.name }

// Level is the module's level for a destination.
func (l *Logger) Level(d Destination) Level { return Level(l.levels[d].Load()) }

// Enabled reports whether a message at lv goes anywhere.
func (l *Logger) Enabled(lv Level) bool {
	for d := range numDest {
		if lv != Off && lv <= Level(l.levels[d].Load()) {
			return true
		}
	}
	return false
}

// Emer, Err, Warn, Info and Dbg log a printf-style message.
func (l *Logger) Emer(format string, args ...any) { l.Log(Emer, format, args...) }
func (l *Logger) Err(format string, args ...any)  { l.Log(Err, format, args...) }
func (l *Logger) Warn(format string, args ...any) { l.Log(Warn, format, args...) }
func (l *Logger) Info(format string, args ...any) { l.Log(Info, format, args...) }
func (l *Logger) Dbg(format string, args ...any)  { l.Log(Dbg, format, args...) }

// Log writes one message at level lv to each destination that wants it.
func (l *Logger) Log(lv Level, format string, args ...any) {
	if !l.Enabled(lv) {
		return
	}
	l.write(lv, fmt.Sprintf(format, args...))
}

func (l *Logger) write(lv Level, msg string) {
	n := seq.Add(1)
	now := time.Now().UTC()
	outMu.Lock()
	defer outMu.Unlock()
	if lv <= l.Level(Console) && console != nil {
		fmt.Fprintf(console, "%s|%05d|%s|%s|%s\n", now.Format("2006-01-02T15:04:05Z"), n, l.name, lv, msg)
	}
	if lv <= l.Level(File) && logFile != nil {
		fmt.Fprintf(logFile, "%s|%05d|%s|%s|%s\n", now.Format("2006-01-02T15:04:05.000Z"), n, l.name, lv, msg)
	}
	if lv <= l.Level(Syslog) && sysWriter != nil {
		line := fmt.Sprintf("gvswitchd|%05d|%s|%s|%s", n, l.name, lv, msg)
		switch lv {
		case Emer:
			sysWriter.Emerg(line)
		case Err:
			sysWriter.Err(line)
		case Warn:
			sysWriter.Warning(line)
		case Info:
			sysWriter.Info(line)
		default:
			sysWriter.Debug(line)
		}
	}
}

// SetConsole redirects console output (nil discards it); for tests and
// --detach.
func SetConsole(w io.Writer) {
	outMu.Lock()
	console = w
	outMu.Unlock()
}

// OpenFile starts logging to path (appending), closing a previous file.
func OpenFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("vlog: open log file: %w", err)
	}
	outMu.Lock()
	if logFile != nil {
		logFile.Close()
	}
	logFile, logPath = f, path
	outMu.Unlock()
	return nil
}

// Reopen closes and reopens the log file (after logrotate moved it), as
// vlog/reopen does. Without a log file it returns an error.
func Reopen() error {
	outMu.Lock()
	p := logPath
	outMu.Unlock()
	if p == "" {
		return errors.New("Logging to file not configured")
	}
	return OpenFile(p)
}

// CloseFile stops logging to the file.
func CloseFile() {
	outMu.Lock()
	if logFile != nil {
		logFile.Close()
	}
	logFile, logPath = nil, ""
	outMu.Unlock()
}

// OpenSyslog connects the syslog destination; without it syslog levels
// are kept and shown but nothing is sent.
func OpenSyslog() error {
	w, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, "gvswitchd")
	if err != nil {
		return fmt.Errorf("vlog: syslog: %w", err)
	}
	outMu.Lock()
	sysWriter = w
	outMu.Unlock()
	return nil
}

// List renders the vlog/list table.
func List() string {
	names := Modules()
	var b strings.Builder
	b.WriteString("                 console    syslog    file\n")
	b.WriteString("                 -------    ------    ------\n")
	for _, n := range names {
		l := Module(n)
		fmt.Fprintf(&b, "%-16s  %4s       %4s       %4s\n", n, l.Level(Console), l.Level(Syslog), l.Level(File))
	}
	return b.String()
}

// ListPattern renders the vlog/list-pattern table: each destination's
// line format, in Open vSwitch's pattern syntax.
func ListPattern() string {
	var b strings.Builder
	b.WriteString("         prefix                            format\n")
	b.WriteString("         ------                            ------\n")
	fmt.Fprintf(&b, "%-8s %-33s %s\n", "SYSLOG", "none", "gvswitchd|%05N|%c%T|%p|%m")
	fmt.Fprintf(&b, "%-8s %-33s %s\n", "CONSOLE", "none", "%D{%Y-%m-%dT%H:%M:%SZ}|%05N|%c%T|%p|%m")
	fmt.Fprintf(&b, "%-8s %-33s %s\n", "FILE", "none", "%D{%Y-%m-%dT%H:%M:%S.###Z}|%05N|%c%T|%p|%m")
	return b.String()
}

// Modules returns the module names, sorted.
func Modules() []string {
	mu.Lock()
	names := make([]string, 0, len(modules))
	for n := range modules {
		names = append(names, n)
	}
	mu.Unlock()
	sort.Strings(names)
	return names
}

// DefaultLevel is the level a destination gets in modules created from
// now on (the last "any module" vlog/set).
func DefaultLevel(d Destination) Level {
	mu.Lock()
	defer mu.Unlock()
	return defaults[d]
}

// Set applies one specification as vlog/set and the -v option take it:
// words separated by ':' (or spaces), each a module name, a destination
// (console, syslog, file) or a level, "any" meaning all modules or all
// destinations. Missing parts mean all; a missing level means DBG.
// "PATTERN:..." (line formats) is refused. It wraps ErrSpec.
func Set(spec string) error {
	words := strings.FieldsFunc(spec, func(r rune) bool { return r == ':' || r == ' ' || r == '\t' })
	if len(words) > 0 && strings.EqualFold(words[0], "PATTERN") {
		return fmt.Errorf("%w: gvswitchd does not support log patterns", ErrSpec)
	}
	dest := -1
	level := Dbg
	var mod *Logger
	for _, w := range words {
		if strings.EqualFold(w, "any") {
			continue
		}
		if lv, ok := ParseLevel(w); ok {
			level = lv
			continue
		}
		found := false
		for d, n := range destNames {
			if strings.EqualFold(w, n) {
				dest, found = d, true
			}
		}
		if found {
			continue
		}
		mu.Lock()
		m, ok := modules[w]
		mu.Unlock()
		if !ok {
			return fmt.Errorf("%w: no destination, level, or module %q", ErrSpec, w)
		}
		mod = m
	}
	mu.Lock()
	defer mu.Unlock()
	for d := range numDest {
		if dest >= 0 && d != Destination(dest) {
			continue
		}
		if mod != nil {
			mod.levels[d].Store(int32(level))
			continue
		}
		defaults[d] = level
		for _, m := range modules {
			m.levels[d].Store(int32(level))
		}
	}
	return nil
}

// Slog returns a *slog.Logger writing through this module: slog's Debug,
// Info, Warn and Error map to DBG, INFO, WARN and ERR; attributes are
// appended as key=value.
func (l *Logger) Slog() *slog.Logger { return slog.New(&handler{l: l}) }

type handler struct {
	l     *Logger
	attrs string
}

func slogLevel(lv slog.Level) Level {
	switch {
	case lv >= slog.LevelError:
		return Err
	case lv >= slog.LevelWarn:
		return Warn
	case lv >= slog.LevelInfo:
		return Info
	default:
		return Dbg
	}
}

func (h *handler) Enabled(_ context.Context, lv slog.Level) bool {
	return h.l.Enabled(slogLevel(lv))
}

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.l.write(slogLevel(r.Level), b.String())
	return nil
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range as {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	return &handler{l: h.l, attrs: b.String()}
}

func (h *handler) WithGroup(string) slog.Handler { return h }
