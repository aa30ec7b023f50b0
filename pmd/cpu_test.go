package pmd

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseCPUMask(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		err  bool
	}{
		{"", nil, false},
		{"0x2", []int{1}, false},
		{"2", []int{1}, false},
		{"0x33", []int{0, 1, 4, 5}, false},
		{"0X30", []int{4, 5}, false},
		{"f0", []int{4, 5, 6, 7}, false},
		{"0x100000000", []int{32}, false},
		{"0", nil, false},
		{"0x", nil, true},
		{"0xg", nil, true},
		{"-1", nil, true},
		{"1 2", nil, true},
	}
	for _, tc := range tests {
		got, err := ParseCPUMask(tc.in)
		if tc.err {
			if !errors.Is(err, ErrBadCPUMask) {
				t.Errorf("ParseCPUMask(%q) err = %v, want ErrBadCPUMask", tc.in, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseCPUMask(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseCPUMask(f *testing.F) {
	for _, s := range []string{"", "0x2", "33", "0xffffffffffffffff", "0xz", "0x0001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cpus, err := ParseCPUMask(s)
		if err != nil {
			return
		}
		if len(cpus) == 0 {
			return
		}
		again, err := ParseCPUMask(FormatCPUMask(cpus))
		if err != nil || !slices.Equal(again, cpus) {
			t.Fatalf("round trip of %q: %v -> %q -> %v, %v", s, cpus, FormatCPUMask(cpus), again, err)
		}
	})
}

func TestDefaultCPUs(t *testing.T) {
	if got := DefaultCPUs([]int{0, 1, 2}); !slices.Equal(got, []int{1}) {
		t.Errorf("three CPUs: %v, want [1]", got)
	}
	if got := DefaultCPUs([]int{3}); !slices.Equal(got, []int{3}) {
		t.Errorf("one CPU: %v, want [3] (shared with the main thread)", got)
	}
}

func TestParseMaxSleep(t *testing.T) {
	if d, _ := ParseMaxSleep("", false); d != DefaultMaxSleep {
		t.Errorf("absent: %v", d)
	}
	if d, _ := ParseMaxSleep("0", true); d != 0 {
		t.Errorf("0: %v, want busy polling", d)
	}
	if d, _ := ParseMaxSleep("50", true); d != 50*time.Microsecond {
		t.Errorf("50: %v", d)
	}
	if d, _ := ParseMaxSleep("99999999", true); d != MaxMaxSleep {
		t.Errorf("huge: %v, want clamp", d)
	}
	if _, err := ParseMaxSleep("x", true); err == nil {
		t.Error("x: no error")
	}
}

func TestParseArgs(t *testing.T) {
	f, dp := ParseArgs([]string{"-pmd", "3", "netdev@ovs-netdev"}, false)
	if f.Core != 3 || dp != "netdev@ovs-netdev" {
		t.Errorf("got %+v %q", f, dp)
	}
	f, _ = ParseArgs([]string{"-pmd", "x", "-secs", "12"}, true)
	if f.Core != -1 || f.Secs != 12 {
		t.Errorf("got %+v", f)
	}
	f, dp = ParseArgs([]string{"-secs", "12"}, false)
	if f.Secs != 0 || dp != "12" {
		t.Errorf("-secs not allowed: got %+v %q", f, dp)
	}
}

func FuzzParseArgs(f *testing.F) {
	f.Add("-pmd\x001\x00-secs\x0010\x00netdev@ovs-netdev", true)
	f.Add("-pmd", false)
	f.Fuzz(func(t *testing.T, s string, secs bool) {
		args := strings.Split(s, "\x00")
		fl, _ := ParseArgs(args, secs)
		if fl.Core < -1 || fl.Secs < 0 || (!secs && fl.Secs != 0) {
			t.Fatalf("ParseArgs(%q, %v) = %+v", args, secs, fl)
		}
	})
}
