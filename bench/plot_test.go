package bench

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestPlots(t *testing.T) {
	dir := t.TempDir()
	r := &RFC2544Result{Sizes: []SizeResult{
		{FrameSize: 64, ThroughputPPS: 5e6, ThroughputGbps: 2.56, Latency: Latency{Samples: 10, P50Ns: 5000, P99Ns: 9000, P999Ns: 12000, MaxNs: 20000}},
		{FrameSize: 1518, ThroughputPPS: 0.8e6, ThroughputGbps: 9.7, Latency: Latency{Samples: 10, P50Ns: 7000, P99Ns: 15000, P999Ns: 30000, MaxNs: 40000}},
	}}
	run := &Result{Streams: []StreamResult{{FrameSize: 64, RxPPS: 1e6, RxGbps: 0.5, Latency: Latency{P50Ns: 1000, P99Ns: 2000}}}}
	for name, write := range map[string]func(string) error{
		"rfc2544.png": func(p string) error { return PlotRFC2544(p, r) },
		"run.png":     func(p string) error { return PlotRun(p, run) },
	} {
		path := filepath.Join(dir, name)
		if err := write(path); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s is not a PNG: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() < 500 || b.Dy() < 200 {
			t.Fatalf("%s: %v", name, b)
		}
	}
	if err := PlotRFC2544(filepath.Join(dir, "empty.png"), &RFC2544Result{}); err == nil {
		t.Fatal("empty result plotted")
	}
}
