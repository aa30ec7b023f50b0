package unixctl

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Errors about pidfiles.
var (
	// ErrRunning: the pidfile is locked by another live process.
	ErrRunning = errors.New("already running")
	// ErrNotRunning: the pidfile exists but no process holds its lock.
	ErrNotRunning = errors.New("no process holds the pidfile lock")
	// ErrStale: the pid written in the file is not the lock holder's.
	ErrStale = errors.New("stale pidfile")
)

// held are the pidfiles this process holds. POSIX record locks belong to
// the process and vanish when it closes ANY descriptor of the file, so
// ReadPidfile must never open (and close) one of these.
var (
	heldMu sync.Mutex
	held   = map[*Pidfile]os.FileInfo{}
)

// Pidfile is a pidfile this process created and whose fcntl write lock it
// holds. ovs-appctl checks that lock (F_GETLK) before trusting the pid.
type Pidfile struct {
	path string
	f    *os.File
}

// CreatePidfile writes the calling process's pid to path and takes a POSIX
// record lock (fcntl F_SETLK, F_WRLCK, whole file) on it, held until Remove
// or process exit. It wraps ErrRunning when another live process holds it.
func CreatePidfile(path string) (*Pidfile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pidfile %s: %w", path, err)
	}
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk); err != nil {
		f.Close()
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) {
			pid, _ := ReadPidfile(path)
			return nil, fmt.Errorf("pidfile %s: pid %d is %w", path, pid, ErrRunning)
		}
		return nil, fmt.Errorf("pidfile %s: lock: %w", path, err)
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("pidfile %s: %w", path, err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("pidfile %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("pidfile %s: %w", path, err)
	}
	p := &Pidfile{path: path, f: f}
	heldMu.Lock()
	held[p] = fi
	heldMu.Unlock()
	return p, nil
}

// Path is the pidfile's name.
func (p *Pidfile) Path() string { return p.path }

// Remove deletes the pidfile and then releases its lock.
func (p *Pidfile) Remove() error {
	if p == nil || p.f == nil {
		return nil
	}
	heldMu.Lock()
	delete(held, p)
	heldMu.Unlock()
	err := os.Remove(p.path)
	p.f.Close()
	p.f = nil
	return err
}

// ReadPidfile returns the pid of the live process that holds path's
// write lock, checking it as ovs-appctl does: the file must be locked
// (else ErrNotRunning) and contain the holder's pid (else ErrStale).
// It also works for a pidfile locked by the calling process.
func ReadPidfile(path string) (int, error) {
	if fi, err := os.Stat(path); err == nil {
		heldMu.Lock()
		for _, h := range held {
			if os.SameFile(fi, h) {
				heldMu.Unlock()
				return os.Getpid(), nil
			}
		}
		heldMu.Unlock()
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, fmt.Errorf("cannot read pidfile %q: %w", path, err)
	}
	defer f.Close()
	// An open-file-description query reports POSIX locks of any process
	// with their holder's pid, as F_GETLK does for ovs-appctl.
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk); err != nil {
		return 0, fmt.Errorf("cannot read pidfile %q: %w", path, err)
	}
	if lk.Type == unix.F_UNLCK {
		return 0, fmt.Errorf("cannot read pidfile %q: %w", path, ErrNotRunning)
	}
	b, err := io.ReadAll(io.LimitReader(f, 64))
	if err != nil {
		return 0, fmt.Errorf("cannot read pidfile %q: %w", path, err)
	}
	pid, err := strconv.Atoi(strings.TrimSuffix(string(b), "\n"))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("cannot read pidfile %q: bad content %q", path, b)
	}
	if int(lk.Pid) != pid {
		return 0, fmt.Errorf("pidfile %q: %w for pid %d (locked by pid %d)", path, ErrStale, pid, lk.Pid)
	}
	return pid, nil
}
