package coverage

import (
	"regexp"
	"strings"
	"testing"
)

// reset empties the process-wide registry, so that a test sees only its
// own counters and samples however often it runs (go test -count=N).
func reset() {
	mu.Lock()
	defer mu.Unlock()
	counters, byName = nil, map[string]*Counter{}
	ring, head, samples = nil, -1, 0
}

func TestShow(t *testing.T) {
	reset()
	a := New("covtest_hit")
	New("covtest_never")
	if New("covtest_hit") != a {
		t.Fatal("New does not return the existing counter")
	}
	Sample()
	a.Add(10)
	Sample()
	out := Show()
	if !regexp.MustCompile(`^Event coverage, avg rate over last: 5 seconds, last minute, last hour,  hash=[0-9a-f]{8}:\n`).MatchString(out) {
		t.Errorf("header: %q", out)
	}
	// 10 events in one 5 s period: 2/sec over the last 5 s.
	want := "covtest_hit                2.0/sec     2.000/sec        2.0000/sec   total: 10\n"
	if !strings.Contains(out, want) {
		t.Errorf("want line %q in\n%s", want, out)
	}
	if strings.Contains(out, "covtest_never") || !regexp.MustCompile(`\n\d+ events never hit\n$`).MatchString(out) {
		t.Errorf("never-hit handling:\n%s", out)
	}
}
