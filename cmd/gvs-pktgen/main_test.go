package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gvswitch/bench"
	"gvswitch/dataplane"
	"gvswitch/vhostuser"
)

func TestBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--port", "nope"},
		{"frobnicate", "--port", "vhost-server:/x"},
		{"--port", "vhost-server:/x", "--size", "12"},
		{"--port", "vhost-server:/x", "--rate", "fast"},
		{"--port", "vhost-server:/x", "--vlan", "4095"},
		{"--port", "vhost-server:/x", "--tx", "3"},
	} {
		var out, errb bytes.Buffer
		code := Main(args, &out, &errb)
		if code == 0 || errb.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q", args, code, errb.String())
		}
	}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func binary(t *testing.T) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gvs-pktgen-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "gvs-pktgen")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// echoBackend is a vhost-user back-end (a dpdkvhostuserclient port)
// that sends everything back.
func echoBackend(t *testing.T, sock string) {
	ar, err := dataplane.NewArena(4096*2304, dataplane.ArenaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pool, _, err := dataplane.NewPool("echo", ar, 0, 4096, dataplane.DefaultDataRoom)
	if err != nil {
		t.Fatal(err)
	}
	p, err := vhostuser.NewClient("echo", sock, vhostuser.Options{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		pkts := make([]*dataplane.Packet, 32)
		for !stop.Load() {
			if n := p.RxBurst(0, pkts); n > 0 {
				p.TxBurst(0, pkts[:n])
			} else {
				time.Sleep(50 * time.Microsecond)
			}
		}
	}()
	t.Cleanup(func() { stop.Store(true); <-done; p.Close(); ar.Close() })
}

// TestInterrupt: SIGINT to a running gvs-pktgen prints the partial
// results, exits 130 and removes its server socket.
func TestInterrupt(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "gen.sock")
	echoBackend(t, sock)
	cmd := exec.Command(binary(t), "run", "--port", "vhost-server:"+sock, "--duration", "0", "--rate", "200kpps", "--json")
	var stdout bytes.Buffer
	stderr := &syncBuf{}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stderr.String(), "received") { // the first progress line
		if time.Now().After(deadline) {
			t.Fatalf("no progress line:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	var res bench.Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("partial result is not JSON: %v\n%s", err, stdout.String())
	}
	if !res.Interrupted || res.Total.TxPackets == 0 || res.Total.RxPackets == 0 {
		t.Fatalf("partial result %+v", res.Total)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("socket left behind: %v", err)
	}
}

// TestInterruptWaiting: SIGINT while waiting for a back-end removes the
// socket too.
func TestInterruptWaiting(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "gen.sock")
	cmd := exec.Command(binary(t), "--port", "vhost-server:"+sock)
	stderr := &syncBuf{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("socket never appeared")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("socket left behind: %v", err)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRFC2544Command: the rfc2544 command through a back-end that sends
// everything back finds a rate, prints JSON and writes the plot.
func TestRFC2544Command(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "gen.sock")
	echoBackend(t, sock)
	plot := filepath.Join(dir, "rfc.png")
	cmd := exec.Command(binary(t), "rfc2544", "--port", "vhost-server:"+sock, "--sizes", "64,1518",
		"--trial", "300ms", "--max-trials", "4", "--loss", "1", "--json", "--plot", plot)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var res bench.RFC2544Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout.String())
	}
	if len(res.Sizes) != 2 || res.Sizes[0].FrameSize != 64 || res.Sizes[1].FrameSize != 1518 {
		t.Fatalf("sizes %+v", res.Sizes)
	}
	for _, s := range res.Sizes {
		if s.ThroughputPPS <= 0 || s.Trials < 1 || s.Latency.Samples == 0 {
			t.Errorf("size %d: %+v", s.FrameSize, s)
		}
	}
	if fi, err := os.Stat(plot); err != nil || fi.Size() == 0 {
		t.Fatalf("plot: %v", err)
	}
	if !strings.Contains(stderr.String(), "throughput") {
		t.Errorf("no trial log on stderr:\n%s", stderr.String())
	}
}
