package journal

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEncodeMatchesOVSFormat(t *testing.T) {
	// Record computed by hand from ovsdb(5): length counts the body and
	// its newline, the SHA-1 covers the same bytes.
	// (The real ovsdb-tool reading our files is tested in package ovsdb.)
	got := string(Encode([]byte(`{"a":1}`)))
	if !strings.HasPrefix(got, "OVSDB JSON 8 ") || !strings.HasSuffix(got, "\n{\"a\":1}\n") || len(got) != len("OVSDB JSON 8 \n{\"a\":1}\n")+40 {
		t.Fatalf("Encode = %q", got)
	}
	rd := NewReader(strings.NewReader(got + got))
	n := 0
	for rd.Next() {
		if string(rd.Record()) != `{"a":1}` {
			t.Fatalf("record = %q", rd.Record())
		}
		n++
	}
	if rd.Err() != nil || n != 2 {
		t.Fatalf("read %d records, err %v", n, rd.Err())
	}
}

func writeFile(t *testing.T, recs ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "conf.db")
	var b bytes.Buffer
	for _, r := range recs {
		b.Write(Encode([]byte(r)))
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOpenDropsTornAndCorruptTails(t *testing.T) {
	good := []string{`{"name":"S"}`, `{"T":{}}`, `{"T":{"x":1}}`}
	full := string(Encode([]byte(good[0]))) + string(Encode([]byte(good[1]))) + string(Encode([]byte(good[2])))
	last := Encode([]byte(`{"T":{"last":true}}`))
	tests := []struct {
		name string
		tail string
	}{
		{"torn header", string(last[:10])},
		{"torn body", string(last[:len(last)-5])},
		{"sha1 mismatch", strings.Replace(string(last), "last", "lost", 1)},
		{"garbage", "hello world\n"},
		{"bad length", "OVSDB JSON 99999999999 0000000000000000000000000000000000000000\n"},
		{"not json", string(Encode([]byte(`{"T":`)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "conf.db")
			os.WriteFile(path, []byte(full+tt.tail), 0o644)
			var logged []string
			f, recs, err := Open(path, nil, func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) })
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer f.Close()
			if len(recs) != 3 || string(recs[2]) != good[2] {
				t.Fatalf("records = %q", recs)
			}
			if len(logged) != 1 || !strings.Contains(logged[0], "dropping") {
				t.Errorf("log = %q", logged)
			}
			st, _ := os.Stat(path)
			if st.Size() != int64(len(full)) {
				t.Errorf("file not truncated to last good record: %d bytes, want %d", st.Size(), len(full))
			}
			// Appends follow the last good record.
			if err := f.Append([]byte(`{"T":{"after":1}}`)); err != nil {
				t.Fatal(err)
			}
			f.Close()
			f2, recs2, err := Open(path, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			f2.Close()
			if len(recs2) != 4 || string(recs2[3]) != `{"T":{"after":1}}` {
				t.Errorf("after append: %q", recs2)
			}
		})
	}
}

func TestOpenCreatesAndReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "conf.db")
	if _, _, err := Open(path, nil, nil); err == nil {
		t.Fatal("Open of a missing file without initial record succeeded")
	}
	f, recs, err := Open(path, []byte(`{"name":"S"}`), nil)
	if err != nil || len(recs) != 1 {
		t.Fatalf("create: %v %q", err, recs)
	}
	for i := 0; i < 5; i++ {
		if err := f.Append([]byte(fmt.Sprintf(`{"n":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	if f.Records() != 6 {
		t.Errorf("Records = %d", f.Records())
	}
	if err := f.Replace([][]byte{[]byte(`{"name":"S"}`), []byte(`{"snap":1}`)}); err != nil {
		t.Fatal(err)
	}
	if err := f.Append([]byte(`{"n":9}`)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, recs, err = Open(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%s", recs); got != `[{"name":"S"} {"snap":1} {"n":9}]` {
		t.Errorf("after replace: %s", got)
	}
	// No temporary files left behind.
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries", len(ents))
	}
}

func TestOpenRejectsFileWithoutSchema(t *testing.T) {
	path := writeFile(t)
	os.WriteFile(path, []byte("junk"), 0o644)
	if _, _, err := Open(path, nil, nil); err == nil {
		t.Fatal("a file with no good record opened")
	}
}

func FuzzReader(f *testing.F) {
	f.Add(Encode([]byte(`{"name":"S"}`)))
	f.Add(append(Encode([]byte(`{"a":1}`)), Encode([]byte(`{"b":[1,2]}`))...))
	f.Add([]byte("OVSDB JSON 5 0000000000000000000000000000000000000000\n{}\n\n"))
	f.Add([]byte("OVSDB JSON 0 \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := NewReader(bytes.NewReader(data))
		var good [][]byte
		for rd.Next() {
			good = append(good, bytes.Clone(rd.Record()))
		}
		if rd.Offset() > int64(len(data)) {
			t.Fatalf("offset %d beyond %d bytes", rd.Offset(), len(data))
		}
		// Re-encoding the good records and reading them back gives the
		// same records: the reader accepted only well-formed ones.
		var b bytes.Buffer
		for _, r := range good {
			b.Write(Encode(r))
		}
		rd2 := NewReader(&b)
		i := 0
		for rd2.Next() {
			if !bytes.Equal(rd2.Record(), good[i]) {
				t.Fatalf("record %d changed", i)
			}
			i++
		}
		if rd2.Err() != nil || i != len(good) {
			t.Fatalf("re-read %d of %d: %v", i, len(good), rd2.Err())
		}
	})
}
