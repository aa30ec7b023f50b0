package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gvswitch/control/unixctl"
	"gvswitch/control/vsctl"
)

// captureUsage is printed for bad command lines.
const captureUsage = "usage: gvswitchctl capture PORT [-w FILE] [-c COUNT] [-t TARGET]"

// captureOptions is one "gvswitchctl capture" command line.
type captureOptions struct {
	port   string
	file   string // "" or "-": standard output
	count  int    // 0: until interrupted or the port goes away
	target string // daemon name or control socket path
}

// parseCaptureArgs reads "PORT [-w FILE] [-c COUNT] [-t TARGET]", options
// before or after PORT, "-w=FILE" forms too (as appctl takes them).
func parseCaptureArgs(args []string) (captureOptions, error) {
	o := captureOptions{target: "gvswitchd"}
	for len(args) > 0 {
		a := args[0]
		args = args[1:]
		if a == "-" || len(a) < 2 || a[0] != '-' {
			if o.port != "" {
				return o, fmt.Errorf("unexpected argument %q (one port at a time)", a)
			}
			o.port = a
			continue
		}
		name, val, hasVal := a, "", false
		if i := strings.IndexByte(a, '='); i > 0 {
			name, val, hasVal = a[:i], a[i+1:], true
		}
		switch name {
		case "-w", "-c", "-t", "--target":
		default:
			return o, fmt.Errorf("unrecognized option '%s'", a)
		}
		if !hasVal {
			if len(args) == 0 {
				return o, fmt.Errorf("option '%s' requires an argument", name)
			}
			val, args = args[0], args[1:]
		}
		switch name {
		case "-w":
			o.file = val
		case "-c":
			n, err := strconv.Atoi(val)
			if err != nil || n <= 0 {
				return o, fmt.Errorf("value %s on -c is invalid (a packet count > 0)", val)
			}
			o.count = n
		default:
			o.target = val
		}
	}
	if o.port == "" {
		return o, errors.New("a port name is required")
	}
	return o, nil
}

// capture is "gvswitchctl capture PORT [-w FILE] [-c COUNT] [-t TARGET]":
// the daemon records what PORT receives and sends (its capture/start
// command) into a FIFO this program creates and reads, and the frames are
// written as pcap to FILE or, without -w or with "-w -", to standard
// output as a stream (like tcpdump -w -), so "gvswitchctl capture p1 |
// tcpdump -r -" works. It ends after COUNT frames, when the port leaves
// its bridge, or at SIGINT/SIGTERM/SIGPIPE, stopping the capture in the
// daemon first (capture/stop) so that nothing keeps running there.
// Exit status: 0 done, 1 local or connection error, 2 the daemon refused.
func capture(args []string, stdout, stderr io.Writer) int {
	o, err := parseCaptureArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "gvswitchctl: capture: %v\n%s\n", err, captureUsage)
		return 1
	}
	ctl, err := unixctl.SocketPath(vsctl.DefaultEnv().RunDir, o.target)
	if err != nil {
		fmt.Fprintf(stderr, "gvswitchctl: capture: cannot read pidfile for %s: %v\n", o.target, err)
		return 1
	}
	var out io.Writer = stdout
	if o.file != "" && o.file != "-" {
		f, err := os.OpenFile(o.file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "gvswitchctl: capture: %v\n", err)
			return 1
		}
		defer f.Close()
		out = f
	}
	// The daemon writes into a FIFO in a private directory that this
	// program reads: frames stream while the capture runs, and the output
	// file is the caller's own, not one the daemon created. The daemon
	// must see the same $TMPDIR (no systemd PrivateTmp; dist's unit has
	// none).
	dir, err := os.MkdirTemp("", "gvswitchctl-capture-")
	if err != nil {
		fmt.Fprintf(stderr, "gvswitchctl: capture: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	fifo := filepath.Join(dir, "pcap")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		fmt.Fprintf(stderr, "gvswitchctl: capture: mkfifo %s: %v\n", fifo, err)
		return 1
	}
	// From here on SIGINT/SIGTERM (also one that comes while the capture
	// starts) stop the capture in the daemon and let the frames recorded
	// so far through; SIGPIPE becomes an EPIPE write error, handled the
	// same way.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGPIPE)
	defer signal.Stop(sigs)

	startArgs := []string{o.port, fifo}
	if o.count > 0 {
		startArgs = append(startArgs, strconv.Itoa(o.count))
	}
	if _, err := unixctl.CallSocket(ctl, "capture/start", startArgs, unixctl.DefaultTimeout); err != nil {
		return captureCallError(stderr, o.target, err)
	}
	stopped := make(chan struct{})
	stop := func() {
		select {
		case <-stopped:
			return
		default:
			close(stopped)
		}
		// "no capture on PORT" means it ended by itself meanwhile.
		unixctl.CallSocket(ctl, "capture/stop", []string{o.port}, unixctl.DefaultTimeout)
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		// Opening the read end blocks until the daemon opens the write
		// end; EOF comes when it closes it (count reached, stopped, port
		// gone).
		r, err := os.Open(fifo)
		if err != nil {
			done <- result{0, err}
			return
		}
		defer r.Close()
		n, err := copyPcap(out, r)
		done <- result{n, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-sigs:
		stop()
		select {
		case res = <-done:
		case <-time.After(10 * time.Second):
			fmt.Fprintf(stderr, "gvswitchctl: capture: %s did not close the capture of %s\n", o.target, o.port)
			return 1
		}
	}
	if res.err != nil {
		// A write error (reader of our output gone) or a broken stream:
		// make sure the daemon does not keep capturing.
		stop()
		if errors.Is(res.err, syscall.EPIPE) {
			// The reader of a pipeline went away (| head): a normal
			// end, silent as for a program killed by SIGPIPE.
			return 0
		}
		fmt.Fprintf(stderr, "gvswitchctl: capture: %v\n", res.err)
		return 1
	}
	fmt.Fprintf(stderr, "%d packets captured\n", res.n)
	return 0
}

// captureCallError reports a failed unixctl call as appctl does.
func captureCallError(stderr io.Writer, target string, err error) int {
	var se *unixctl.ServerError
	if errors.As(err, &se) {
		fmt.Fprint(stderr, withNewline(se.Msg))
		fmt.Fprintf(stderr, "gvswitchctl: capture: %s: server returned an error\n", target)
		return 2
	}
	fmt.Fprintf(stderr, "gvswitchctl: capture: %v\n", err)
	return 1
}

func withNewline(s string) string {
	if s == "" || s[len(s)-1] == '\n' {
		return s
	}
	return s + "\n"
}

// errPcapWrite marks a failure to write our output (as opposed to a bad
// stream from the daemon).
var errPcapWrite = errors.New("write pcap")

// errBadPcap is a stream that is not pcap as pcap-savefile(5) describes.
var errBadPcap = errors.New("not a pcap stream")

// maxPcapRecord bounds a record's captured length: far above any snap
// length the daemon uses (tcpdump's own maximum snap length), small
// enough that a corrupt length cannot make this program allocate much.
const maxPcapRecord = 1 << 18

// copyPcap copies a pcap stream from r to w unchanged, record by record
// (so that a reader of w always sees whole records), and returns the
// number of records copied. The stream ending between records is its
// normal end; anything else malformed is an error wrapping errBadPcap.
// Hand-written rather than with gopacket's pcapgo, which would add its
// layers package to every gvswitchctl run (about 0.4 ms and 2.4 MB).
func copyPcap(w io.Writer, r io.Reader) (int, error) {
	// pcap-savefile(5): a 24-byte file header whose magic number
	// 0xa1b2c3d4 (microsecond stamps) or 0xa1b23c4d (nanosecond) also
	// gives the byte order; then per record a 16-byte header (seconds,
	// fraction, captured length, original length) and the data.
	var hdr [24]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return 0, errors.New("the daemon closed the capture before its pcap header")
		}
		return 0, fmt.Errorf("%w: file header: %w", errBadPcap, err)
	}
	var order binary.ByteOrder
	switch m := binary.LittleEndian.Uint32(hdr[:4]); m {
	case 0xa1b2c3d4, 0xa1b23c4d:
		order = binary.LittleEndian
	default:
		if m = binary.BigEndian.Uint32(hdr[:4]); m != 0xa1b2c3d4 && m != 0xa1b23c4d {
			return 0, fmt.Errorf("%w: magic number %#08x", errBadPcap, m)
		}
		order = binary.BigEndian
	}
	if major, minor := order.Uint16(hdr[4:6]), order.Uint16(hdr[6:8]); major != 2 || minor != 4 {
		return 0, fmt.Errorf("%w: version %d.%d, not 2.4", errBadPcap, major, minor)
	}
	if _, err := w.Write(hdr[:]); err != nil {
		return 0, fmt.Errorf("%w: %w", errPcapWrite, err)
	}
	buf := make([]byte, 16, 16+2048)
	for n := 0; ; n++ {
		if _, err := io.ReadFull(r, buf[:16]); err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, fmt.Errorf("%w: record %d header: %w", errBadPcap, n+1, err)
		}
		incl, orig := order.Uint32(buf[8:12]), order.Uint32(buf[12:16])
		if incl > maxPcapRecord || incl > orig {
			return n, fmt.Errorf("%w: record %d: captured length %d of %d", errBadPcap, n+1, incl, orig)
		}
		buf = slices.Grow(buf[:16], int(incl))[:16+int(incl)]
		if _, err := io.ReadFull(r, buf[16:]); err != nil {
			return n, fmt.Errorf("%w: record %d data: %w", errBadPcap, n+1, err)
		}
		if _, err := w.Write(buf); err != nil {
			return n, fmt.Errorf("%w: %w", errPcapWrite, err)
		}
	}
}
