package e2e

// gvswitchctl capture (issue 3 item 7) against a running gvswitchd: two
// namespaces on a bridge ping each other while a port is captured; the
// pcap is read back with gopacket.

import (
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"gvswitch/internal/testenv"
)

// icmpFrame is one ICMP echo frame of a capture.
type icmpFrame struct {
	src, dst net.HardwareAddr
	typ      uint8 // layers.ICMPv4TypeEchoRequest or EchoReply
}

// readICMP returns the frames of a pcap stream, and the ICMP echo frames
// among them.
func readICMP(t *testing.T, b []byte) (frames int, icmp []icmpFrame) {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a pcap stream (%d bytes): %v", len(b), err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Errorf("link type %v, want Ethernet", r.LinkType())
	}
	for {
		data, _, err := r.ReadPacketData()
		if err == io.EOF {
			return frames, icmp
		}
		if err != nil {
			t.Fatalf("pcap record %d: %v", frames, err)
		}
		frames++
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		ic, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		if eth != nil && ic != nil {
			icmp = append(icmp, icmpFrame{eth.SrcMAC, eth.DstMAC, ic.TypeCode.Type()})
		}
	}
}

// captureLab is gvswitchd (embedded database) in its own namespace with
// bridge br0 and two hosts on access ports cp1, cp2 of VLAN 100.
type captureLab struct {
	d      *Daemon
	h1, h2 host
	ctl    string
	env    []string
}

func newCaptureLab(t *testing.T) *captureLab {
	t.Helper()
	testenv.NeedCommand(t, "ping", "ip")
	sw := NewNetns(t, "cap")
	d := StartDaemon(t, DaemonOptions{Netns: sw})
	mustVsctl(t, d, "add-br", "br0")
	l := &captureLab{d: d, ctl: buildCtl(t), env: []string{"GVS_RUNDIR=" + d.Rundir}}
	l.h1 = addHost(t, sw, "caph1", "cp1", "10.33.0.1/24")
	l.h2 = addHost(t, sw, "caph2", "cp2", "10.33.0.2/24")
	mustVsctl(t, d, "add-port", "br0", "cp1", "tag=100")
	mustVsctl(t, d, "add-port", "br0", "cp2", "tag=100")
	// ARP resolved now, so that the captures below hold ICMP only.
	if r := ping(t, l.h1.ns, l.h2.ip, 1); r.Code != 0 {
		t.Fatalf("ping before the capture: %v\nlog:\n%s", r, d.Log())
	}
	return l
}

// start runs "gvswitchctl capture ARGS" in dir and waits until the
// daemon lists the capture.
// The returned channel is closed when the command has exited.
func (l *captureLab) start(t *testing.T, dir string, stdout io.Writer, args ...string) (*exec.Cmd, *bytes.Buffer, chan struct{}) {
	t.Helper()
	cmd := exec.Command(l.ctl, append([]string{"capture"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), l.env...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(l.d.Appctl(t, "capture/show").Stdout, args[0]+" -> ") {
		if time.Now().After(deadline) {
			t.Fatalf("capture of %s not running after 10 s: stderr %q", args[0], stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cmd, &stderr, done
}

// waitExit waits up to 10 s for a capture command to exit and returns its
// exit status.
func waitExit(t *testing.T, cmd *exec.Cmd, done chan struct{}) int {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("gvswitchctl capture still running after 10 s")
	}
	return cmd.ProcessState.ExitCode()
}

// checkEcho checks that the ICMP frames are h1's requests to h2 and h2's
// replies, with their MACs, at least n of each.
func (l *captureLab) checkEcho(t *testing.T, icmp []icmpFrame, n int) {
	t.Helper()
	var req, rep int
	for _, f := range icmp {
		switch {
		case f.typ == layers.ICMPv4TypeEchoRequest && bytes.Equal(f.src, l.h1.mac) && bytes.Equal(f.dst, l.h2.mac):
			req++
		case f.typ == layers.ICMPv4TypeEchoReply && bytes.Equal(f.src, l.h2.mac) && bytes.Equal(f.dst, l.h1.mac):
			rep++
		default:
			t.Errorf("unexpected ICMP frame %v -> %v type %d (h1 %v, h2 %v)", f.src, f.dst, f.typ, l.h1.mac, l.h2.mac)
		}
	}
	if req < n || rep < n {
		t.Errorf("%d echo requests h1->h2 and %d replies h2->h1 captured, want %d of each", req, rep, n)
	}
}

// gvswitchctl capture cp2 -c 4 -w x.pcap while h1 pings h2: the file
// (relative to the caller's directory) holds the two requests cp2 sends
// and the two replies it receives, and the command ends by itself.
func TestGvswitchctlCaptureCount(t *testing.T) {
	l := newCaptureLab(t)
	dir := t.TempDir()
	cmd, stderr, done := l.start(t, dir, io.Discard, "cp2", "-c", "4", "-w", "x.pcap")
	if r := ping(t, l.h1.ns, l.h2.ip, 2); r.Code != 0 {
		t.Errorf("ping during the capture: %v", r)
	}
	if st := waitExit(t, cmd, done); st != 0 || stderr.String() != "4 packets captured\n" {
		t.Errorf("gvswitchctl capture: exit %d, stderr %q", st, stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "x.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	frames, icmp := readICMP(t, b)
	if frames != 4 || len(icmp) != 4 {
		t.Errorf("x.pcap holds %d frames, %d of them ICMP echo; want 4 and 4", frames, len(icmp))
	}
	l.checkEcho(t, icmp, 2)
	if got := l.d.Appctl(t, "capture/show").Stdout; got != "" {
		t.Errorf("capture still running in the daemon after -c 4: %q", got)
	}
}

// Without -w the pcap goes to standard output; SIGINT (Ctrl-C) stops the
// capture in the daemon and the stream ends cleanly. A reader that goes
// away (gvswitchctl capture cp1 | head -c 24) also ends it.
func TestGvswitchctlCaptureStdoutAndInterrupt(t *testing.T) {
	l := newCaptureLab(t)
	var out bytes.Buffer
	cmd, stderr, done := l.start(t, t.TempDir(), &out, "cp1")
	if r := ping(t, l.h1.ns, l.h2.ip, 3); r.Code != 0 {
		t.Errorf("ping during the capture: %v", r)
	}
	cmd.Process.Signal(syscall.SIGINT)
	if st := waitExit(t, cmd, done); st != 0 || !strings.HasSuffix(stderr.String(), " packets captured\n") {
		t.Errorf("after SIGINT: exit %d, stderr %q", st, stderr.String())
	}
	_, icmp := readICMP(t, out.Bytes())
	l.checkEcho(t, icmp, 3)
	if got := l.d.Appctl(t, "capture/show").Stdout; got != "" {
		t.Errorf("capture still running in the daemon after SIGINT: %q", got)
	}

	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd, stderr, done = l.start(t, t.TempDir(), pw, "cp1")
	pw.Close()
	hdr := make([]byte, 24)
	if _, err := io.ReadFull(pr, hdr); err != nil {
		t.Fatalf("pcap header on the pipe: %v", err)
	}
	pr.Close()
	ping(t, l.h1.ns, l.h2.ip, 2)
	if st := waitExit(t, cmd, done); st != 0 {
		t.Errorf("after its reader went away: exit %d, stderr %q", st, stderr.String())
	}
	if got := l.d.Appctl(t, "capture/show").Stdout; got != "" {
		t.Errorf("capture still running in the daemon after the reader went away: %q", got)
	}
	// A port that is not there: the daemon's error, exit status 2.
	r := Run(t, l.env, l.ctl, "capture", "nosuch", "-c", "1")
	if r.Code != 2 || r.Stderr != "no such port\ngvswitchctl: capture: gvswitchd: server returned an error\n" {
		t.Errorf("capture nosuch: %v", r)
	}
}
