package reconcile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"gvswitch/dataplane"
)

// captureJob is one running packet capture of a bridge port, writing pcap
// to a file (or a FIFO a reader such as gvswitchctl or tcpdump -r - holds
// open).
type captureJob struct {
	port   string
	file   string
	count  int
	cancel context.CancelFunc
	done   chan struct{}
	n      int   // frames written, valid after done
	err    error // valid after done
}

// captureStart is capture/start PORT FILE [COUNT]: record what PORT
// receives and sends, as pcap, into FILE (an absolute path; a FIFO is
// fine) until COUNT frames (default: until capture/stop or the port goes).
// A port nobody captures pays nothing.
func (b *bridgeDatapath) captureStart(args []string) (string, error) {
	port, file := args[0], args[1]
	count := 0
	if len(args) == 3 {
		n, err := strconv.Atoi(args[2])
		if err != nil || n < 0 {
			return "", unixctlError(fmt.Sprintf("invalid count %q", args[2]))
		}
		count = n
	}
	if !filepath.IsAbs(file) {
		return "", unixctlError(fmt.Sprintf("%s: the capture file must be an absolute path (the daemon's working directory is not yours)", file))
	}
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	if _, busy := b.captures[port]; busy {
		return "", unixctlError(fmt.Sprintf("already capturing on %s (capture/stop %s first)", port, port))
	}
	var br *dataplane.Bridge
	var no uint32
	for _, p := range b.d.ports {
		if p.name == port && p.attached {
			if st, ok := p.dpState.(*portState); ok {
				br, no = st.br, p.no
			}
		}
	}
	if br == nil {
		return "", unixctlError("no such port")
	}
	// A FIFO is opened by the capture goroutine: opening it blocks until
	// its reader opens the other end. A regular file is opened here so
	// that a bad path is reported to the caller.
	var f *os.File
	if fi, err := os.Stat(file); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		if f, err = os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			return "", unixctlError(fmt.Sprintf("cannot open %s: %v", file, err))
		}
	}
	// Attach before replying, so that what the caller does next is in
	// the capture.
	c := dataplane.NewCapture(dataplane.CaptureOptions{})
	if err := br.SetCapture(no, c); err != nil {
		if f != nil {
			f.Close()
		}
		return "", unixctlError(fmt.Sprintf("cannot capture on %s: %v", port, err))
	}
	ctx, cancel := context.WithCancel(context.Background())
	job := &captureJob{port: port, file: file, count: count, cancel: cancel, done: make(chan struct{})}
	b.captures[port] = job
	go func() {
		defer close(job.done)
		defer br.SetCapture(no, nil) // fails harmlessly if the port is gone
		if f == nil {
			var err error
			if f, err = os.OpenFile(file, os.O_WRONLY, 0); err != nil {
				job.err = err
				b.forgetCapture(job)
				return
			}
		}
		job.n, job.err = c.WritePcap(ctx, f, count, 0)
		if err := f.Close(); job.err == nil {
			job.err = err
		}
		b.forgetCapture(job)
		dpLog.Info("capture on %s to %s: %d frames (%v)", port, file, job.n, job.err)
	}()
	dpLog.Info("capture on %s to %s started", port, file)
	return fmt.Sprintf("capturing on %s to %s\n", port, file), nil
}

func (b *bridgeDatapath) forgetCapture(job *captureJob) {
	b.d.mu.Lock()
	if b.captures[job.port] == job {
		delete(b.captures, job.port)
	}
	b.d.mu.Unlock()
}

// captureStop is capture/stop PORT.
func (b *bridgeDatapath) captureStop(args []string) (string, error) {
	b.d.mu.Lock()
	job := b.captures[args[0]]
	b.d.mu.Unlock()
	if job == nil {
		return "", unixctlError(fmt.Sprintf("no capture on %s", args[0]))
	}
	// The writer drains the capture buffer every 10 ms and stops at
	// cancel without a last drain: give it time to write what was
	// already recorded.
	select {
	case <-job.done:
	case <-time.After(50 * time.Millisecond):
	}
	job.cancel()
	select {
	case <-job.done:
	case <-time.After(5 * time.Second):
		return "", unixctlError(fmt.Sprintf("capture on %s did not stop (is its FIFO's reader gone?)", args[0]))
	}
	return fmt.Sprintf("%s: %d frames written to %s\n", job.port, job.n, job.file), nil
}

// captureShow is capture/show: the running captures.
func (b *bridgeDatapath) captureShow([]string) (string, error) {
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	names := make([]string, 0, len(b.captures))
	for n := range b.captures {
		names = append(names, n)
	}
	sort.Strings(names)
	var s strings.Builder
	for _, n := range names {
		j := b.captures[n]
		limit := "until stopped"
		if j.count > 0 {
			limit = fmt.Sprintf("%d frames", j.count)
		}
		fmt.Fprintf(&s, "%s -> %s (%s)\n", n, j.file, limit)
	}
	return s.String(), nil
}

// stopCaptureLocked ends the capture of a port that leaves its bridge;
// called with the daemon's mutex held, it does not wait.
func (b *bridgeDatapath) stopCaptureLocked(port string) {
	if job := b.captures[port]; job != nil {
		job.cancel()
	}
}
