package pmd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ErrBadCPUMask is wrapped by ParseCPUMask for a value that is not a hex
// CPU mask.
var ErrBadCPUMask = errors.New("invalid pmd-cpu-mask")

// ErrNoUsableCPU is wrapped when none of the CPUs a mask names may be used
// by this process.
var ErrNoUsableCPU = errors.New("no usable CPU in pmd-cpu-mask")

// ParseCPUMask parses other_config:pmd-cpu-mask: a hexadecimal number, with
// or without a 0x prefix, whose bit N selects CPU N (vswitch.xml,
// Open_vSwitch other_config:pmd-cpu-mask). It returns the CPUs in ascending
// order; an empty or all-zero mask yields none (the default applies).
func ParseCPUMask(s string) ([]int, error) {
	h := strings.TrimSpace(s)
	if len(h) > 1 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X') {
		h = h[2:]
	}
	if h == "" {
		if strings.TrimSpace(s) == "" {
			return nil, nil
		}
		return nil, fmt.Errorf("%w %q: no hex digits", ErrBadCPUMask, s)
	}
	var cpus []int
	// The rightmost digit holds CPUs 0-3.
	for i := 0; i < len(h); i++ {
		d, err := strconv.ParseUint(h[len(h)-1-i:len(h)-i], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %q is not a hex digit", ErrBadCPUMask, s, h[len(h)-1-i])
		}
		for b := 0; b < 4; b++ {
			if d&(1<<b) != 0 {
				cpus = append(cpus, 4*i+b)
			}
		}
	}
	return cpus, nil
}

// FormatCPUMask is the inverse of ParseCPUMask ("0x" + hex).
func FormatCPUMask(cpus []int) string {
	max := -1
	for _, c := range cpus {
		if c > max {
			max = c
		}
	}
	if max < 0 {
		return "0x0"
	}
	digits := make([]byte, max/4+1)
	for _, c := range cpus {
		if c >= 0 {
			digits[len(digits)-1-c/4] |= 1 << (c % 4)
		}
	}
	for i, d := range digits {
		digits[i] = "0123456789abcdef"[d]
	}
	return "0x" + string(digits)
}

// AllowedCPUs is the set of CPUs this process may run on, ascending.
func AllowedCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("sched_getaffinity: %w", err)
	}
	return cpuSetList(&set), nil
}

func cpuSetList(set *unix.CPUSet) []int {
	var cpus []int
	for c := 0; c < len(set)*64; c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus
}

// DefaultCPUs is the PMD set used when pmd-cpu-mask is not set: one PMD on
// the first allowed CPU after the one the main thread uses (the lowest), or
// on that same CPU when the process may use only one.
func DefaultCPUs(allowed []int) []int {
	switch len(allowed) {
	case 0:
		return []int{0}
	case 1:
		return []int{allowed[0]}
	default:
		return []int{allowed[1]}
	}
}

// ThreadCPU reports the CPU the thread tid last ran on (field 39,
// "processor", of /proc/self/task/TID/stat; proc(5)).
func ThreadCPU(tid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", tid))
	if err != nil {
		return -1, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1, fmt.Errorf("/proc/self/task/%d/stat: no command field", tid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); field 39 is f[36].
	if len(f) < 37 {
		return -1, fmt.Errorf("/proc/self/task/%d/stat: %d fields", tid, len(f)+2)
	}
	return strconv.Atoi(f[36])
}

// ThreadAffinity is the CPU affinity of thread tid.
func ThreadAffinity(tid int) ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(tid, &set); err != nil {
		return nil, fmt.Errorf("sched_getaffinity(%d): %w", tid, err)
	}
	return cpuSetList(&set), nil
}

// pinCurrentThread binds the calling OS thread to one CPU.
func pinCurrentThread(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("sched_setaffinity(cpu %d): %w", cpu, err)
	}
	return nil
}

// numaNode is the NUMA node of a CPU from sysfs, 0 when unknown.
func numaNode(cpu int) int {
	m, _ := filepath.Glob(fmt.Sprintf("/sys/devices/system/cpu/cpu%d/node*", cpu))
	for _, p := range m {
		if n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(p), "node")); err == nil {
			return n
		}
	}
	return 0
}

// DefaultMaxSleep is the idle back-off limit used when
// other_config:pmd-maxsleep is not set (see the package documentation for
// why it is not OVS's 0).
const DefaultMaxSleep = 250 * time.Microsecond

// MaxMaxSleep is the largest pmd-maxsleep accepted, as in OVS (10 ms).
const MaxMaxSleep = 10 * time.Millisecond

// ParseMaxSleep reads other_config:pmd-maxsleep (or pmd-sleep-max), in
// microseconds. An absent key (present false) gives DefaultMaxSleep;
// values above MaxMaxSleep are clamped to it, like OVS.
func ParseMaxSleep(value string, present bool) (time.Duration, error) {
	if !present {
		return DefaultMaxSleep, nil
	}
	us, err := strconv.ParseUint(strings.TrimSpace(value), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("pmd-maxsleep %q: not a number of microseconds", value)
	}
	d := time.Duration(min(us, uint64(MaxMaxSleep/time.Microsecond))) * time.Microsecond
	return d, nil
}
