package jsonrpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

// rw is an in-memory ReadWriteCloser: reads from in, writes to out.
type rw struct {
	in  io.Reader
	out bytes.Buffer
}

func (r *rw) Read(p []byte) (int, error)  { return r.in.Read(p) }
func (r *rw) Write(p []byte) (int, error) { return r.out.Write(p) }
func (r *rw) Close() error                { return nil }

func TestEncodeShapes(t *testing.T) {
	tests := []struct {
		name string
		m    *Message
		want string
	}{
		{"request", NewRequest(4, "transact", []any{"Open_vSwitch"}), `{"id":4,"method":"transact","params":["Open_vSwitch"]}`},
		{"notification", NewNotification("update3", []any{[]string{"monid", "x"}}), `{"id":null,"method":"update3","params":[["monid","x"]]}`},
		{"success", NewResult(json.RawMessage("7"), map[string]any{}), `{"id":7,"result":{},"error":null}`},
		{"success null", NewResult(json.RawMessage(`"echo"`), nil), `{"id":"echo","result":null,"error":null}`},
		{"error string", NewError(json.RawMessage("1"), "unknown method"), `{"id":1,"error":"unknown method"}`},
		{"error object", NewError(json.RawMessage("2"), json.RawMessage(`{"error":"unknown database"}`)), `{"id":2,"error":{"error":"unknown database"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestReadConcatenatedStream(t *testing.T) {
	// Texts back to back, with and without whitespace, strings holding
	// braces and escaped quotes, split across many small reads.
	stream := `{"id":1,"method":"echo","params":["}{\"]"]}{"id":null,"method":"update3","params":[]}` +
		"\n \t" + `{"id":"echo","result":[],"error":null}` + "\r\n" + `{"id":2,"error":"unknown method"}  `
	c := NewConn(&rw{in: &slowReader{s: stream}})
	var got []*Message
	for {
		m, err := c.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d messages: %v", len(got), err)
		}
		got = append(got, m)
	}
	if len(got) != 4 {
		t.Fatalf("got %d messages, want 4", len(got))
	}
	if !got[0].IsRequest() || got[0].Method != "echo" || string(got[0].Params) != `["}{\"]"]` {
		t.Errorf("message 0 = %+v", got[0])
	}
	if !got[1].IsNotification() {
		t.Errorf("message 1 is not a notification: %+v", got[1])
	}
	if !got[2].IsReply() || got[2].IsError() || string(got[2].ID) != `"echo"` {
		t.Errorf("message 2 = %+v", got[2])
	}
	if !got[3].IsError() || string(got[3].Error) != `"unknown method"` {
		t.Errorf("message 3 = %+v", got[3])
	}
}

// slowReader returns at most 3 bytes per Read, to split texts anywhere.
type slowReader struct{ s string }

func (r *slowReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 3)], r.s)
	r.s = r.s[n:]
	return n, nil
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  error
	}{
		{"not an object", `[1,2]`, ErrSyntax},
		{"garbage", `hello`, ErrSyntax},
		{"bad json inside", `{"id":1,"method":}`, ErrSyntax},
		{"no method no result", `{"id":1}`, ErrSyntax},
		{"method not string", `{"id":1,"method":3,"params":[]}`, ErrSyntax},
		{"torn", `{"id":1,"method":"echo"`, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewConn(&rw{in: strings.NewReader(tt.input)})
			_, err := c.Read()
			if !errors.Is(err, tt.want) {
				t.Fatalf("Read error = %v, want %v", err, tt.want)
			}
			// Sticky: the stream is dead.
			if _, err2 := c.Read(); !errors.Is(err2, tt.want) {
				t.Errorf("second Read error = %v, want sticky %v", err2, tt.want)
			}
		})
	}
}

func TestMessageTooLarge(t *testing.T) {
	// A 64 MiB request is refused without buffering more than the limit.
	big := `{"id":1,"method":"echo","params":["` + strings.Repeat("a", MaxMessageSize) + `"]}`
	c := NewConn(&rw{in: strings.NewReader(big)})
	if _, err := c.Read(); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("Read = %v, want ErrMessageTooLarge", err)
	}
	if cap(c.buf) > 2*MaxMessageSize {
		t.Errorf("buffered %d bytes for a refused message", cap(c.buf))
	}

	// Just under a small limit passes, at the limit fails.
	msg := `{"id":1,"method":"echo","params":[]}`
	c = NewConn(&rw{in: strings.NewReader(msg + msg)})
	c.SetMaxMessageSize(len(msg) + 1)
	if _, err := c.Read(); err != nil {
		t.Fatalf("message under the limit: %v", err)
	}
	c.SetMaxMessageSize(len(msg))
	if _, err := c.Read(); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("message at the limit: %v", err)
	}
}

func TestConnOverPipe(t *testing.T) {
	a, b := net.Pipe()
	ca, cb := NewConn(a), NewConn(b)
	defer ca.Close()
	defer cb.Close()
	go func() {
		m, err := cb.Read()
		if err != nil {
			return
		}
		cb.Write(NewResult(m.ID, m.Params))
	}()
	if err := ca.Write(NewRequest("echo", "echo", []any{"x", 1})); err != nil {
		t.Fatal(err)
	}
	m, err := ca.Read()
	if err != nil {
		t.Fatal(err)
	}
	if string(m.ID) != `"echo"` || string(m.Result) != `["x",1]` || m.IsError() {
		t.Fatalf("reply = %+v", m)
	}
}

func FuzzRead(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"method":"echo","params":[]}`,
		`{"id":null,"method":"update3","params":[["monid","Open_vSwitch"],"00000000-0000-0000-0000-000000000000",{}]}`,
		`{"id":2,"result":{},"error":null}{"id":3,"error":"x"}`,
		` {"a":"\"}"} `,
		`{"id":1,"method":"echo"`,
		`[]`, `{}`, `{"id":1,"method":""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewConn(&rw{in: bytes.NewReader(data)})
		c.SetMaxMessageSize(1 << 16)
		for i := 0; i < 100; i++ {
			m, err := c.Read()
			if err != nil {
				return
			}
			// Whatever decoded must re-encode to something that decodes
			// to the same kind of message.
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatalf("re-encode %+v: %v", m, err)
			}
			var m2 Message
			if err := json.Unmarshal(b, &m2); err != nil {
				t.Fatalf("re-decode %s: %v", b, err)
			}
			if m.IsRequest() != m2.IsRequest() || m.IsNotification() != m2.IsNotification() || m.IsError() != m2.IsError() {
				t.Fatalf("kind changed: %s -> %+v", b, m2)
			}
		}
	})
}

func TestDeepNestingIsRefused(t *testing.T) {
	deep := `{"id":1,"method":"echo","params":` + strings.Repeat("[", 200000) + strings.Repeat("]", 200000) + `}`
	c := NewConn(&rw{in: strings.NewReader(deep)})
	if _, err := c.Read(); !errors.Is(err, ErrSyntax) {
		t.Fatalf("Read = %v, want a syntax error", err)
	}
}
