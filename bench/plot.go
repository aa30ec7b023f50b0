package bench

import (
	"fmt"
	"image/color"
	"os"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// plotPoint is one frame size's figures.
type plotPoint struct {
	size          float64
	mpps, gbps    float64
	p50us, p99us  float64
	p999us, maxus float64
}

// PlotRFC2544 writes a PNG with throughput (Mpps and Gbit/s) and latency
// (p50, p99, p99.9) against frame size.
func PlotRFC2544(path string, r *RFC2544Result) error {
	var pts []plotPoint
	for _, s := range r.Sizes {
		pts = append(pts, plotPoint{size: float64(s.FrameSize), mpps: s.ThroughputPPS / 1e6, gbps: s.ThroughputGbps,
			p50us: float64(s.Latency.P50Ns) / 1e3, p99us: float64(s.Latency.P99Ns) / 1e3,
			p999us: float64(s.Latency.P999Ns) / 1e3, maxus: float64(s.Latency.MaxNs) / 1e3})
	}
	return writePlot(path, "RFC 2544 throughput (zero-loss rate)", pts)
}

// PlotRun writes the same plot for a run, one point per stream (received
// rate and latency against the stream's mean frame size).
func PlotRun(path string, r *Result) error {
	var pts []plotPoint
	for _, s := range r.Streams {
		pts = append(pts, plotPoint{size: s.FrameSize, mpps: s.RxPPS / 1e6, gbps: s.RxGbps,
			p50us: float64(s.Latency.P50Ns) / 1e3, p99us: float64(s.Latency.P99Ns) / 1e3,
			p999us: float64(s.Latency.P999Ns) / 1e3, maxus: float64(s.Latency.MaxNs) / 1e3})
	}
	return writePlot(path, "received rate", pts)
}

func writePlot(path, title string, pts []plotPoint) error {
	if len(pts) == 0 {
		return fmt.Errorf("plot %s: no data", path)
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].size < pts[j].size })
	xy := func(f func(p plotPoint) float64) plotter.XYs {
		out := make(plotter.XYs, len(pts))
		for i, p := range pts {
			out[i] = plotter.XY{X: p.size, Y: f(p)}
		}
		return out
	}
	thr := plot.New()
	thr.Title.Text = title
	thr.X.Label.Text = "frame size (bytes)"
	thr.Y.Label.Text = "Mpps / Gbit/s"
	thr.Add(plotter.NewGrid())
	lat := plot.New()
	lat.Title.Text = "latency"
	lat.X.Label.Text = "frame size (bytes)"
	lat.Y.Label.Text = "microseconds"
	lat.Add(plotter.NewGrid())
	add := func(p *plot.Plot, name string, i int, data plotter.XYs) error {
		l, s, err := plotter.NewLinePoints(data)
		if err != nil {
			return err
		}
		l.Color, s.Color = plotColor(i), plotColor(i)
		s.Shape = draw.CircleGlyph{}
		p.Add(l, s)
		p.Legend.Add(name, l, s)
		return nil
	}
	for i, c := range []struct {
		p    *plot.Plot
		name string
		f    func(plotPoint) float64
	}{
		{thr, "Mpps", func(p plotPoint) float64 { return p.mpps }},
		{thr, "Gbit/s", func(p plotPoint) float64 { return p.gbps }},
		{lat, "p50", func(p plotPoint) float64 { return p.p50us }},
		{lat, "p99", func(p plotPoint) float64 { return p.p99us }},
		{lat, "p99.9", func(p plotPoint) float64 { return p.p999us }},
	} {
		if err := add(c.p, c.name, i, xy(c.f)); err != nil {
			return fmt.Errorf("plot %s: %w", path, err)
		}
	}
	thr.Legend.Top = true
	lat.Legend.Top = true
	const w, h = 10 * vg.Inch, 4 * vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 2,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{{thr, lat}}, tiles, dc)
	thr.Draw(canvases[0][0])
	lat.Draw(canvases[0][1])
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return f.Close()
}

func plotColor(i int) color.Color {
	p := []color.RGBA{{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xd6, 0x27, 0x28, 0xff}, {0x94, 0x67, 0xbd, 0xff}}
	return p[i%len(p)]
}
