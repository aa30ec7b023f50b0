// Command gvs-pktgen is a packet generator for vhost-user switches and
// kernel interfaces: it sends UDP streams through generator ports and
// reports throughput, loss, reordering and latency, or runs an RFC 2544
// throughput search. See package gvswitch/bench and bench/README.md.
//
//	gvs-pktgen [run] --port SPEC [--port SPEC] [flags]
//	gvs-pktgen rfc2544 --port SPEC [--port SPEC] [flags]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gvswitch/bench"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

type portList []string

func (p *portList) String() string     { return strings.Join(*p, ",") }
func (p *portList) Set(s string) error { *p = append(*p, s); return nil }

// options are the command line.
type options struct {
	ports                portList
	tx, rx               int
	bidir                bool
	size, rate           string
	duration             time.Duration
	count                uint64
	srcMAC, dstMAC       string
	srcIP, dstIP         string
	srcPort, dstPort     string
	vlan                 int
	burst, cpu, ring     int
	huge, jsonOut, quiet bool
	plot                 string
	connect              time.Duration
	sizes                string
	trial, latency       time.Duration
	loss, resolution     float64
	maxTrials            int
	mode                 string
	progressTTY          bool
	_                    struct{}
}

const usage = `usage: gvs-pktgen [run|rfc2544] --port SPEC [--port SPEC] [flags]

Ports (--port, repeatable; streams name them by index from 0):
  vhost-server:PATH   listen at PATH as a vhost-user front-end (the switch's
                      dpdkvhostuserclient port, or DPDK net_vhost client=1, connects)
  vhost-client:PATH   connect to a vhost-user back-end listening at PATH
                      (a dpdkvhostuser port, DPDK net_vhost)
  afpacket:IFNAME     AF_PACKET on a kernel interface
  afxdp:IFNAME        AF_XDP on a kernel interface (queue 0)

run sends one stream (--tx to --rx; with --bidir also the reverse) and prints
tx/rx rates, loss, reordering and latency. rfc2544 searches the highest rate
with at most --loss percent loss for each of --sizes, then measures latency there.
Frame sizes are bytes without FCS (as dpdk-testpmd --txpkts); line-rate
percentages are of 10 Gbit/s counting 20 bytes of preamble and gap per frame.

Flags:
`

func parse(args []string, stderr io.Writer) (*options, error) {
	o := &options{mode: "run"}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		o.mode, args = args[0], args[1:]
	}
	if o.mode != "run" && o.mode != "rfc2544" {
		return nil, fmt.Errorf("unknown command %q (want run or rfc2544)", o.mode)
	}
	fs := flag.NewFlagSet("gvs-pktgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	fs.Var(&o.ports, "port", "generator port `SPEC` (repeatable)")
	fs.IntVar(&o.tx, "tx", 0, "index of the port the stream is sent on")
	fs.IntVar(&o.rx, "rx", -1, "index of the port the stream comes back on (default: 1 with two ports, else 0)")
	fs.BoolVar(&o.bidir, "bidir", false, "also send the reverse stream (rx port to tx port, MACs and addresses swapped)")
	fs.StringVar(&o.size, "size", "64", "frame size(s) in bytes, comma-separated and sent in turn, or imix (7x64, 4x594, 1x1518)")
	fs.StringVar(&o.rate, "rate", "max", "rate per stream: max, N[k|M]pps, or P% of 10G line rate")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send (0: until --count or Ctrl-C)")
	fs.Uint64Var(&o.count, "count", 0, "frames to send per stream (0: no limit)")
	fs.StringVar(&o.srcMAC, "src-mac", "02:00:00:00:00:01", "source MAC")
	fs.StringVar(&o.dstMAC, "dst-mac", "02:00:00:00:00:02", "destination MAC")
	fs.StringVar(&o.srcIP, "src-ip", "198.18.0.1", "source IPv4 address or range A+N")
	fs.StringVar(&o.dstIP, "dst-ip", "198.19.0.1", "destination IPv4 address or range A+N")
	fs.StringVar(&o.srcPort, "src-port", "1024", "UDP source port or range P+N")
	fs.StringVar(&o.dstPort, "dst-port", "1024", "UDP destination port or range P+N")
	fs.IntVar(&o.vlan, "vlan", 0, "802.1Q VLAN ID to tag frames with (0: untagged)")
	fs.IntVar(&o.burst, "burst", 32, "frames per port call")
	fs.IntVar(&o.cpu, "cpu", -1, "pin the generator thread to this CPU (-1: do not pin)")
	fs.IntVar(&o.ring, "ring", 1024, "vhost-user ring size")
	fs.BoolVar(&o.huge, "hugepages", false, "back vhost-user guest memory with 2 MiB hugepages")
	fs.DurationVar(&o.connect, "connect-timeout", 60*time.Second, "how long to wait for vhost-user back-ends")
	fs.BoolVar(&o.jsonOut, "json", false, "print the result as JSON")
	fs.StringVar(&o.plot, "plot", "", "write a PNG plot of the result to `FILE`")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress line")
	fs.StringVar(&o.sizes, "sizes", "64,128,256,512,1024,1280,1518", "rfc2544: frame sizes")
	fs.DurationVar(&o.trial, "trial", 10*time.Second, "rfc2544: length of a throughput trial")
	fs.DurationVar(&o.latency, "latency-trial", 0, "rfc2544: length of the latency trial (0: --trial)")
	fs.Float64Var(&o.loss, "loss", 0, "rfc2544: loss tolerance in percent")
	fs.Float64Var(&o.resolution, "resolution", 0.01, "rfc2544: stop when the pass/fail bracket is this fraction of the rate")
	fs.IntVar(&o.maxTrials, "max-trials", 12, "rfc2544: most throughput trials per size")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if len(o.ports) == 0 {
		return nil, errors.New("no --port given")
	}
	if o.rx < 0 {
		o.rx = min(1, len(o.ports)-1)
	}
	return o, nil
}

// streams builds the streams the options ask for.
func (o *options) streams() ([]bench.Stream, error) {
	s := bench.DefaultStream()
	s.Tx, s.Rx, s.VLAN = o.tx, o.rx, o.vlan
	var err error
	if s.Sizes, err = bench.ParseSizes(o.size); err != nil {
		return nil, err
	}
	if s.SrcMAC, err = bench.ParseMAC(o.srcMAC); err != nil {
		return nil, err
	}
	if s.DstMAC, err = bench.ParseMAC(o.dstMAC); err != nil {
		return nil, err
	}
	if s.SrcIP, s.SrcIPs, err = bench.ParseIPRange(o.srcIP); err != nil {
		return nil, err
	}
	if s.DstIP, s.DstIPs, err = bench.ParseIPRange(o.dstIP); err != nil {
		return nil, err
	}
	if s.SrcPort, s.SrcPorts, err = bench.ParsePortRange(o.srcPort); err != nil {
		return nil, err
	}
	if s.DstPort, s.DstPorts, err = bench.ParsePortRange(o.dstPort); err != nil {
		return nil, err
	}
	if s.Rate, err = bench.ParseRate(o.rate, s.AvgSize()); err != nil {
		return nil, err
	}
	s.Name = fmt.Sprintf("%d->%d", s.Tx, s.Rx)
	out := []bench.Stream{s}
	if o.bidir {
		r := s
		r.Tx, r.Rx = s.Rx, s.Tx
		r.SrcMAC, r.DstMAC = s.DstMAC, s.SrcMAC
		r.SrcIP, r.DstIP, r.SrcIPs, r.DstIPs = s.DstIP, s.SrcIP, s.DstIPs, s.SrcIPs
		r.SrcPort, r.DstPort, r.SrcPorts, r.DstPorts = s.DstPort, s.SrcPort, s.DstPorts, s.SrcPorts
		r.Name = fmt.Sprintf("%d->%d", r.Tx, r.Rx)
		out = append(out, r)
	}
	for i := range out {
		if err := out[i].Validate(len(o.ports)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Main runs the command and returns its exit status: 0 done, 1 failed,
// 2 bad usage, 130 interrupted (after printing the partial results).
func Main(args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "gvs-pktgen: %v\n", err)
		return 2
	}
	streams, err := o.streams()
	if err != nil {
		fmt.Fprintf(stderr, "gvs-pktgen: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var ports []bench.Port
	defer func() {
		for _, p := range ports {
			if err := p.Close(); err != nil {
				fmt.Fprintf(stderr, "gvs-pktgen: %v\n", err)
			}
		}
	}()
	popt := bench.PortOptions{RingSize: o.ring, HugePages: o.huge, ConnectTimeout: o.connect}
	for _, spec := range o.ports {
		// Opening waits for a back-end; Ctrl-C then must still clean up.
		type opened struct {
			p   bench.Port
			err error
		}
		ch := make(chan opened, 1)
		go func() { p, err := bench.OpenPort(spec, popt); ch <- opened{p, err} }()
		select {
		case op := <-ch:
			if op.err != nil {
				fmt.Fprintf(stderr, "gvs-pktgen: %v\n", op.err)
				return 1
			}
			ports = append(ports, op.p)
		case <-ctx.Done():
			removeServerSocket(spec)
			fmt.Fprintf(stderr, "gvs-pktgen: interrupted while opening %s\n", spec)
			return 130
		}
		if !o.quiet {
			fmt.Fprintf(stderr, "gvs-pktgen: port %d %s ready\n", len(ports)-1, spec)
		}
	}
	tty := isTerminal(stderr)
	cfg := bench.Config{Ports: ports, Streams: streams, Duration: o.duration, Count: o.count, Burst: o.burst,
		Pin: o.cpu >= 0, CPU: o.cpu}
	if !o.quiet {
		cfg.Progress = func(p bench.Progress) {
			if tty {
				fmt.Fprintf(stderr, "\r%s\033[K", bench.FormatProgress(p))
			} else {
				fmt.Fprintln(stderr, bench.FormatProgress(p))
			}
		}
	}
	interrupted := false
	var result any
	switch o.mode {
	case "run":
		r, err := bench.Run(ctx, cfg)
		if tty && !o.quiet {
			fmt.Fprintln(stderr)
		}
		if err != nil {
			fmt.Fprintf(stderr, "gvs-pktgen: %v\n", err)
			return 1
		}
		interrupted, result = r.Interrupted, r
		if !o.jsonOut {
			bench.WriteResult(stdout, r)
		}
		if o.plot != "" {
			if err := bench.PlotRun(o.plot, r); err != nil {
				fmt.Fprintf(stderr, "gvs-pktgen: plot: %v\n", err)
				return 1
			}
		}
	case "rfc2544":
		sizes, err := bench.ParseSizes(o.sizes)
		if err != nil {
			fmt.Fprintf(stderr, "gvs-pktgen: %v\n", err)
			return 2
		}
		cfg.Progress = nil
		rc := bench.RFC2544Config{Base: cfg, Sizes: sizes, Trial: o.trial, LossTolerance: o.loss,
			Resolution: o.resolution, MaxTrials: o.maxTrials, Latency: o.latency}
		if !o.quiet {
			rc.Log = func(s string) { fmt.Fprintln(stderr, "gvs-pktgen: "+s) }
		}
		r, err := bench.RFC2544(ctx, rc)
		if err != nil {
			fmt.Fprintf(stderr, "gvs-pktgen: %v\n", err)
			return 1
		}
		interrupted, result = r.Interrupted, r
		if !o.jsonOut {
			bench.WriteRFC2544(stdout, r)
		}
		if o.plot != "" {
			if err := bench.PlotRFC2544(o.plot, r); err != nil {
				fmt.Fprintf(stderr, "gvs-pktgen: plot: %v\n", err)
				return 1
			}
		}
	}
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(result)
	}
	if interrupted {
		return 130
	}
	return 0
}

// removeServerSocket removes the socket a vhost-server port was listening
// on when it was interrupted before a back-end came.
func removeServerSocket(spec string) {
	if path, ok := strings.CutPrefix(spec, "vhost-server:"); ok {
		os.Remove(path)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
