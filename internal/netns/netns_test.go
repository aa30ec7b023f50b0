package netns

import "testing"

func TestNameUnique(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		n := Name("prefix-too-long")
		if len(n) > 15 || seen[n] {
			t.Fatalf("name %q (len %d) repeated or too long after %d", n, len(n), i)
		}
		seen[n] = true
	}
}
