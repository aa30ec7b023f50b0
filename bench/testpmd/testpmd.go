// Package testpmd runs dpdk-testpmd as a peer for benchmarks and tests:
// it starts it interactive under stdbuf (its output is block-buffered
// otherwise), issues prompt commands through its standard input, waits for
// output and parses the forwarding statistics.
package testpmd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrExited is wrapped when testpmd exited while we waited for it.
var ErrExited = errors.New("dpdk-testpmd exited")

// Process is a running dpdk-testpmd.
type Process struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    outBuf
	exited chan struct{}
}

type outBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *outBuf) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *outBuf) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// Binary is the dpdk-testpmd command (GVS_TESTPMD overrides it, for an
// unpacked, not installed, DPDK).
func Binary() string {
	if b := os.Getenv("GVS_TESTPMD"); b != "" {
		return b
	}
	return "dpdk-testpmd"
}

// Start runs dpdk-testpmd with EAL arguments eal and application
// arguments app ("-i" is added) in dir.
func Start(dir string, eal, app []string) (*Process, error) {
	args := append([]string{"-oL", "-eL", Binary()}, eal...)
	args = append(args, "--")
	args = append(args, "-i")
	args = append(args, app...)
	cmd := exec.Command("stdbuf", args...)
	cmd.Dir = dir
	// testpmd must not outlive its caller (a test binary killed by its
	// timeout would leave it polling, holding hugepages).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &Process{cmd: cmd, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dpdk-testpmd: %w", err)
	}
	go func() { cmd.Wait(); close(p.exited) }()
	return p, nil
}

// Output is everything testpmd printed so far.
func (p *Process) Output() string { return p.out.String() }

// Pid is the process id of stdbuf/testpmd.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Say types a prompt command.
func (p *Process) Say(line string) error {
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		return fmt.Errorf("testpmd %q: %w", line, err)
	}
	return nil
}

// WaitFor waits until the output after offset from contains s and
// returns the offset just past it.
func (p *Process) WaitFor(from int, s string, timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	for {
		out := p.Output()
		if from > len(out) {
			from = len(out)
		}
		if i := strings.Index(out[from:], s); i >= 0 {
			return from + i + len(s), nil
		}
		select {
		case <-p.exited:
			return 0, fmt.Errorf("waiting for %q: %w:\n%s", s, ErrExited, tail(out))
		default:
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("waiting %v for %q from dpdk-testpmd:\n%s", timeout, s, tail(out))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func tail(s string) string {
	if len(s) > 3000 {
		return "..." + s[len(s)-3000:]
	}
	return s
}

// Stats are a port's or all ports' accumulated forwarding counters.
type Stats struct {
	RxPackets, RxDropped, TxPackets, TxDropped uint64
}

var (
	fwdStatsRe = regexp.MustCompile(`RX-packets: +(\d+) +RX-dropped: +(\d+) +RX-total: +(\d+)\s+TX-packets: +(\d+) +TX-dropped: +(\d+)`)
)

// StopStats sends "stop" and parses the accumulated statistics it prints
// for all ports.
func (p *Process) StopStats(timeout time.Duration) (Stats, error) {
	from := len(p.Output())
	if err := p.Say("stop"); err != nil {
		return Stats{}, err
	}
	end, err := p.WaitFor(from, "Done.", timeout)
	if err != nil {
		return Stats{}, err
	}
	out := p.Output()[from:end]
	m := fwdStatsRe.FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return Stats{}, fmt.Errorf("no forward statistics in testpmd's output:\n%s", out)
	}
	last := m[len(m)-1] // the accumulated totals come last
	v := func(i int) uint64 { n, _ := strconv.ParseUint(last[i], 10, 64); return n }
	return Stats{RxPackets: v(1), RxDropped: v(2), TxPackets: v(4), TxDropped: v(5)}, nil
}

// Close quits testpmd, killing it (by its pid) if it does not exit.
func (p *Process) Close() error {
	p.Say("quit")
	select {
	case <-p.exited:
		return nil
	case <-time.After(10 * time.Second):
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
	return nil
}

// Exited is closed when testpmd has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }
