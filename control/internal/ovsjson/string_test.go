package ovsjson

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestAppendString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"br0", `"br0"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"\n\r\t\b\f", `"\n\r\t\b\f"`},
		{"\x00\x1f\x7f", `"\u0000\u001f` + "\x7f\""},
		{"<&>", `"<&>"`}, // not HTML-escaped, unlike encoding/json
		{"é\xff", "\"é\xff\""},
	} {
		if got := string(AppendString([]byte("x"), tc.in)); got != "x"+tc.want {
			t.Errorf("AppendString(%q) = %s, want %s", tc.in, got[1:], tc.want)
		}
	}
}

// FuzzAppendString: the output of a valid UTF-8 string is a JSON string
// that decodes to it, and no output holds a raw control character.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "br0", "a\"b\\c\n", "\x00\x7f\xff", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		for _, c := range out {
			if c < 0x20 {
				t.Fatalf("raw control byte %#x in %q", c, out)
			}
		}
		if !utf8.ValidString(s) {
			return
		}
		var back string
		if err := json.Unmarshal(out, &back); err != nil || back != s {
			t.Fatalf("%q -> %s -> %q, %v", s, out, back, err)
		}
	})
}
