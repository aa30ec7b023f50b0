package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"gvswitch/control/unixctl"
)

func TestParseCaptureArgs(t *testing.T) {
	cases := []struct {
		args []string
		want captureOptions
		err  string
	}{
		{[]string{"p1"}, captureOptions{port: "p1", target: "gvswitchd"}, ""},
		{[]string{"p1", "-w", "x.pcap", "-c", "4"}, captureOptions{port: "p1", file: "x.pcap", count: 4, target: "gvswitchd"}, ""},
		{[]string{"-c=2", "-w=-", "-t", "/run/x.ctl", "p1"}, captureOptions{port: "p1", file: "-", count: 2, target: "/run/x.ctl"}, ""},
		{[]string{"--target=ovs-vswitchd", "vhu0"}, captureOptions{port: "vhu0", target: "ovs-vswitchd"}, ""},
		{nil, captureOptions{}, "a port name is required"},
		{[]string{"-w", "x"}, captureOptions{}, "a port name is required"},
		{[]string{"p1", "p2"}, captureOptions{}, `unexpected argument "p2"`},
		{[]string{"p1", "-c", "0"}, captureOptions{}, "value 0 on -c is invalid"},
		{[]string{"p1", "-c", "x"}, captureOptions{}, "value x on -c is invalid"},
		{[]string{"p1", "-w"}, captureOptions{}, "option '-w' requires an argument"},
		{[]string{"p1", "-i", "eth0"}, captureOptions{}, "unrecognized option '-i'"},
	}
	for _, c := range cases {
		got, err := parseCaptureArgs(c.args)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q = %+v, %v; want %+v", c.args, got, err, c.want)
		}
	}
}

// fakeCaptureDaemon is a unixctl server with the daemon's capture
// commands: capture/start writes frames (ICMP-free Ethernet frames whose
// payload numbers them) into the FIFO it is given, COUNT of them then
// EOF, or a frame every 10 ms until capture/stop.
type fakeCaptureDaemon struct {
	sock string
	mu   sync.Mutex
	stop chan struct{}
	done chan struct{}
}

func frame(i int) []byte {
	b := make([]byte, 60)
	copy(b, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5})
	copy(b[14:], strconv.Itoa(i))
	return b
}

func startFakeCaptureDaemon(t *testing.T) *fakeCaptureDaemon {
	t.Helper()
	f := &fakeCaptureDaemon{sock: filepath.Join(t.TempDir(), "d.ctl")}
	s := unixctl.NewServer("fake\n")
	s.Register("capture/start", "PORT FILE [COUNT]", 2, 3, func(a []string) (string, error) {
		if a[0] != "p1" {
			return "", errors.New("no such port")
		}
		count := -1
		if len(a) == 3 {
			count, _ = strconv.Atoi(a[2])
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.stop, f.done = make(chan struct{}), make(chan struct{})
		stop, done := f.stop, f.done
		go func() {
			defer close(done)
			w, err := os.OpenFile(a[1], os.O_WRONLY, 0)
			if err != nil {
				return
			}
			defer w.Close()
			pw := pcapgo.NewWriter(w)
			pw.WriteFileHeader(1600, layers.LinkTypeEthernet)
			for i := 0; i != count; i++ {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
				d := frame(i)
				if pw.WritePacket(gopacket.CaptureInfo{Timestamp: time.Now(), CaptureLength: len(d), Length: len(d)}, d) != nil {
					return
				}
			}
		}()
		return fmt.Sprintf("capturing on %s to %s\n", a[0], a[1]), nil
	})
	s.Register("capture/stop", "PORT", 1, 1, func(a []string) (string, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.stop == nil {
			return "", errors.New("no capture on " + a[0])
		}
		close(f.stop)
		<-f.done
		f.stop = nil
		return "stopped\n", nil
	})
	if err := s.Listen(f.sock); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return f
}

// readFrames returns the payload numbers of the frames of a pcap stream.
func readFrames(t *testing.T, b []byte) []string {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("output is not pcap: %v", err)
	}
	if r.LinkType() != layers.LinkTypeEthernet || r.Snaplen() != 1600 {
		t.Errorf("link type %v snaplen %d, want the daemon's (Ethernet, 1600)", r.LinkType(), r.Snaplen())
	}
	var got []string
	for {
		d, _, err := r.ReadPacketData()
		if err != nil {
			return got
		}
		got = append(got, string(bytes.TrimRight(d[14:], "\x00")))
	}
}

func TestCaptureCountToFileAndStdout(t *testing.T) {
	f := startFakeCaptureDaemon(t)
	file := filepath.Join(t.TempDir(), "x.pcap")
	var out, errb bytes.Buffer
	if st := capture([]string{"p1", "-t", f.sock, "-c", "3", "-w", file}, &out, &errb); st != 0 {
		t.Fatalf("exit %d: %s", st, errb.String())
	}
	if out.Len() != 0 || errb.String() != "3 packets captured\n" {
		t.Errorf("stdout %q stderr %q", out.String(), errb.String())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFrames(t, b); strings.Join(got, ",") != "0,1,2" {
		t.Errorf("file holds frames %q, want 0,1,2", got)
	}
	// Without -w: the pcap stream on standard output.
	out.Reset()
	errb.Reset()
	if st := capture([]string{"-t", f.sock, "-c", "2", "p1"}, &out, &errb); st != 0 {
		t.Fatalf("exit %d: %s", st, errb.String())
	}
	if got := readFrames(t, out.Bytes()); strings.Join(got, ",") != "0,1" {
		t.Errorf("stdout holds frames %q, want 0,1", got)
	}
}

func TestCaptureErrors(t *testing.T) {
	f := startFakeCaptureDaemon(t)
	var out, errb bytes.Buffer
	if st := capture([]string{"nosuch", "-t", f.sock, "-c", "1"}, &out, &errb); st != 2 ||
		errb.String() != "no such port\ngvswitchctl: capture: "+f.sock+": server returned an error\n" {
		t.Errorf("unknown port: exit %d, stderr %q", st, errb.String())
	}
	errb.Reset()
	if st := capture([]string{"p1", "-t", filepath.Join(t.TempDir(), "none.ctl")}, &out, &errb); st != 1 || !strings.Contains(errb.String(), "gvswitchctl: capture: ") {
		t.Errorf("no daemon: exit %d, stderr %q", st, errb.String())
	}
	errb.Reset()
	if st := capture([]string{"p1", "-t", f.sock, "-w", filepath.Join(t.TempDir(), "no", "dir.pcap")}, &out, &errb); st != 1 || !strings.Contains(errb.String(), "no such file or directory") {
		t.Errorf("bad -w path: exit %d, stderr %q", st, errb.String())
	}
	errb.Reset()
	if st := capture([]string{"-c", "1"}, &out, &errb); st != 1 || !strings.Contains(errb.String(), captureUsage) {
		t.Errorf("no port: exit %d, stderr %q", st, errb.String())
	}
	if out.Len() != 0 {
		t.Errorf("errors wrote to stdout: %q", out.String())
	}
}

// copyPcap passes records through unchanged, and a broken stream is an
// error, never a crash.
func TestCopyPcap(t *testing.T) {
	var in bytes.Buffer
	w := pcapgo.NewWriterNanos(&in)
	w.WriteFileHeader(9000, layers.LinkTypeEthernet)
	for i := 0; i < 4; i++ {
		d := frame(i)
		w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, int64(i)), CaptureLength: 20, Length: len(d)}, d[:20])
	}
	var out bytes.Buffer
	n, err := copyPcap(&out, bytes.NewReader(in.Bytes()))
	if err != nil || n != 4 || !bytes.Equal(out.Bytes(), in.Bytes()) {
		t.Errorf("copy of 4 records: %d, %v, equal %v", n, err, bytes.Equal(out.Bytes(), in.Bytes()))
	}
	if _, err := copyPcap(&out, bytes.NewReader(in.Bytes()[:in.Len()-5])); err == nil {
		t.Errorf("a record cut short is not an error")
	}
	if _, err := copyPcap(&out, bytes.NewReader(nil)); err == nil {
		t.Errorf("an empty stream is not an error")
	}
	// Big-endian files (pcap-savefile(5): the magic gives the order).
	be := []byte{0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1,
		0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 60, 'a', 'b', 'c'}
	out.Reset()
	if n, err := copyPcap(&out, bytes.NewReader(be)); n != 1 || err != nil || !bytes.Equal(out.Bytes(), be) {
		t.Errorf("big-endian stream: %d, %v, copied %v", n, err, out.Bytes())
	}
	bad := map[string][]byte{
		"magic":             append([]byte{1, 2, 3, 4}, be[4:]...),
		"version":           append([]byte{0xa1, 0xb2, 0xc3, 0xd4, 0, 3}, be[6:]...),
		"captured > length": append(slices.Clone(be[:32]), 0, 0, 0, 61, 0, 0, 0, 60),
		"huge record":       append(slices.Clone(be[:32]), 0x7f, 0, 0, 0, 0x7f, 0, 0, 0),
	}
	for name, b := range bad {
		if _, err := copyPcap(io.Discard, bytes.NewReader(b)); !errors.Is(err, errBadPcap) {
			t.Errorf("%s: error %v, want errBadPcap", name, err)
		}
	}
}

func FuzzCopyPcap(f *testing.F) {
	var in bytes.Buffer
	w := pcapgo.NewWriter(&in)
	w.WriteFileHeader(1600, layers.LinkTypeEthernet)
	w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: 60, Length: 60}, frame(1))
	f.Add(in.Bytes())
	f.Add(in.Bytes()[:24])
	f.Add([]byte{0xd4, 0xc3, 0xb2, 0xa1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		n, err := copyPcap(&out, bytes.NewReader(b))
		if err == nil && !bytes.Equal(out.Bytes(), b) {
			t.Fatalf("a stream copied without error changed (%d bytes in, %d out)", len(b), out.Len())
		}
		if err == nil && n > 0 {
			// What was copied reads back as the same number of records.
			r, err := pcapgo.NewReader(&out)
			if err != nil {
				t.Fatalf("copied stream unreadable: %v", err)
			}
			for i := 0; i < n; i++ {
				if _, _, err := r.ReadPacketData(); err != nil {
					t.Fatalf("record %d of %d unreadable: %v", i, n, err)
				}
			}
		}
	})
}
