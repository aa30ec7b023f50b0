package jsonrpc

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// MaxMessageSize is the size at which an incoming JSON text is refused.
const MaxMessageSize = 64 << 20

var (
	// ErrMessageTooLarge is returned by Read for a JSON text of
	// MaxMessageSize bytes or more. The stream cannot be resumed.
	ErrMessageTooLarge = errors.New("jsonrpc: message too large")
	// ErrSyntax is returned (wrapped) by Read for input that is not a
	// stream of JSON-RPC objects. The stream cannot be resumed.
	ErrSyntax = errors.New("jsonrpc: syntax error")
)

// Conn is a JSON-RPC stream over a connection. Read must be called from one
// goroutine at a time; Write and Close are safe for concurrent use.
type Conn struct {
	rwc   io.ReadWriteCloser
	r     *bufio.Reader
	max   int
	buf   []byte
	rerr  error
	wmu   sync.Mutex
	close sync.Once
	cerr  error
}

// NewConn returns a Conn reading and writing messages on rwc.
func NewConn(rwc io.ReadWriteCloser) *Conn {
	return &Conn{rwc: rwc, r: bufio.NewReaderSize(rwc, 64<<10), max: MaxMessageSize}
}

// SetMaxMessageSize changes the refusal threshold (tests use a small one).
func (c *Conn) SetMaxMessageSize(n int) { c.max = n }

// Read returns the next message. It returns io.EOF when the peer closes
// between messages, io.ErrUnexpectedEOF when it closes inside one,
// ErrMessageTooLarge or an error wrapping ErrSyntax for bad input. After an
// error every later Read returns the same error.
func (c *Conn) Read() (*Message, error) {
	if c.rerr != nil {
		return nil, c.rerr
	}
	text, err := c.readText()
	if err != nil {
		c.rerr = err
		return nil, err
	}
	m := new(Message)
	if err := json.Unmarshal(text, m); err != nil {
		if !errors.Is(err, ErrSyntax) {
			err = fmt.Errorf("%w: %v", ErrSyntax, err)
		}
		c.rerr = err
		return nil, err
	}
	return m, nil
}

// readText returns the bytes of the next complete top-level JSON object.
// The framer only tracks nesting and strings; json.Unmarshal validates the
// rest. The returned slice is valid until the next call.
func (c *Conn) readText() ([]byte, error) {
	// Skip whitespace between texts (RFC 8259 section 2).
	for {
		b, err := c.r.ReadByte()
		if err != nil {
			return nil, err // io.EOF between messages is a clean close
		}
		if b == ' ' || b == '\t' || b == '\n' || b == '\r' {
			continue
		}
		if b != '{' {
			return nil, fmt.Errorf("%w: message must be a JSON object, got %q", ErrSyntax, b)
		}
		break
	}
	c.buf = append(c.buf[:0], '{')
	depth, inString, escaped := 1, false, false
	for depth > 0 {
		chunk, err := c.r.Peek(1)
		if err != nil {
			if err == io.EOF {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		// Scan what is buffered without copying byte by byte.
		chunk, _ = c.r.Peek(c.r.Buffered())
		n := 0
		for n < len(chunk) && depth > 0 {
			b := chunk[n]
			n++
			switch {
			case inString:
				switch {
				case escaped:
					escaped = false
				case b == '\\':
					escaped = true
				case b == '"':
					inString = false
				}
			case b == '"':
				inString = true
			case b == '{' || b == '[':
				depth++
			case b == '}' || b == ']':
				depth--
			}
		}
		if len(c.buf)+n >= c.max {
			return nil, ErrMessageTooLarge
		}
		c.buf = append(c.buf, chunk[:n]...)
		if _, err := c.r.Discard(n); err != nil {
			return nil, err
		}
	}
	text := c.buf
	if cap(c.buf) > 1<<20 {
		c.buf = nil // do not pin a huge buffer after one big message
	}
	return text, nil
}

// Write encodes m and writes it in one call.
func (c *Conn) Write(m *Message) error {
	b, err := m.MarshalJSON()
	if err != nil {
		return fmt.Errorf("jsonrpc: encode: %w", err)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err = c.rwc.Write(b)
	return err
}

// WriteRaw writes an already encoded message.
func (c *Conn) WriteRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.rwc.Write(b)
	return err
}

// Close closes the underlying connection; later calls return the first
// call's result.
func (c *Conn) Close() error {
	c.close.Do(func() { c.cerr = c.rwc.Close() })
	return c.cerr
}
