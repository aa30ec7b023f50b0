package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// FormatProgress is the live progress line (no newline).
func FormatProgress(p Progress) string {
	return fmt.Sprintf("%6.1fs  tx %s  rx %s  sent %d  received %d",
		p.Elapsed.Seconds(), FormatRate(p.TxPPS), FormatRate(p.RxPPS), p.TxPackets, p.RxPackets)
}

// FormatRate prints a frame rate in pps, kpps or Mpps.
func FormatRate(pps float64) string {
	switch {
	case pps >= 1e6:
		return fmt.Sprintf("%.3f Mpps", pps/1e6)
	case pps >= 1e3:
		return fmt.Sprintf("%.1f kpps", pps/1e3)
	}
	return fmt.Sprintf("%.0f pps", pps)
}

// FormatNs prints a latency.
func FormatNs(ns float64) string {
	d := time.Duration(ns)
	switch {
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", ns/1e6)
	case d >= time.Microsecond:
		return fmt.Sprintf("%.1fus", ns/1e3)
	}
	return fmt.Sprintf("%.0fns", ns)
}

// WriteResult prints a run's result as a table, one row per stream and a
// total row when there are several streams.
func WriteResult(w io.Writer, r *Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stream\tsize\tflows\ttx pkts\trx pkts\ttx rate\trx rate\trx Gbit/s\tloss\treordered\tlat min\tavg\tp50\tp99\tp99.9\tmax\t")
	rows := r.Streams
	if len(rows) > 1 {
		rows = append(rows[:len(rows):len(rows)], r.Total)
	}
	for _, s := range rows {
		l := s.Latency
		fmt.Fprintf(tw, "%s\t%.0f\t%d\t%d\t%d\t%s\t%s\t%.3f\t%.4f%%\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			s.Name, s.FrameSize, s.Flows, s.TxPackets, s.RxPackets, FormatRate(s.TxPPS), FormatRate(s.RxPPS), s.RxGbps,
			s.LossPct, s.Reordered, FormatNs(float64(l.MinNs)), FormatNs(l.AvgNs), FormatNs(float64(l.P50Ns)),
			FormatNs(float64(l.P99Ns)), FormatNs(float64(l.P999Ns)), FormatNs(float64(l.MaxNs)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var notes []string
	notes = append(notes, fmt.Sprintf("%.2f s of sending", r.Seconds))
	if r.Foreign > 0 {
		notes = append(notes, fmt.Sprintf("%d foreign frames received", r.Foreign))
	}
	if r.Interrupted {
		notes = append(notes, "INTERRUPTED: partial results")
	}
	_, err := fmt.Fprintln(w, strings.Join(notes, "; "))
	return err
}

// WriteRFC2544 prints an RFC 2544 result as a table.
func WriteRFC2544(w io.Writer, r *RFC2544Result) error {
	fmt.Fprintf(w, "RFC 2544 throughput (loss tolerance %.3f %%, %.0f s trials) and latency at that rate\n", r.LossTolerance, r.TrialSeconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "size\tthroughput\tGbit/s\t% of 10G\tmax tx\tmax rx\ttrials\tlat min\tavg\tp50\tp99\tp99.9\tmax\t")
	for _, s := range r.Sizes {
		l := s.Latency
		fmt.Fprintf(tw, "%d\t%s\t%.3f\t%.2f\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", s.FrameSize, FormatRate(s.ThroughputPPS),
			s.ThroughputGbps, s.LineRatePct, FormatRate(s.MaxTxPPS), FormatRate(s.MaxRxPPS), s.Trials,
			FormatNs(float64(l.MinNs)), FormatNs(l.AvgNs), FormatNs(float64(l.P50Ns)), FormatNs(float64(l.P99Ns)),
			FormatNs(float64(l.P999Ns)), FormatNs(float64(l.MaxNs)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Interrupted {
		_, err := fmt.Fprintln(w, "INTERRUPTED: partial results")
		return err
	}
	return nil
}
