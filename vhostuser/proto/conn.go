package proto

import (
	"fmt"
	"io"
	"net"

	"golang.org/x/sys/unix"
)

// Message is one received message. The receiver owns Fds and must close
// every one it does not keep (CloseFds).
type Message struct {
	Header
	Payload []byte
	Fds     []int
}

// CloseFds closes the message's descriptors.
func (m *Message) CloseFds() {
	for _, fd := range m.Fds {
		unix.Close(fd)
	}
	m.Fds = nil
}

// Conn reads and writes vhost-user messages on a connected Unix stream
// socket. It is not safe for concurrent use.
type Conn struct {
	c   *net.UnixConn
	hdr [HeaderSize]byte
	oob []byte
}

// NewConn wraps a connected Unix socket.
func NewConn(c *net.UnixConn) *Conn {
	return &Conn{c: c, oob: make([]byte, unix.CmsgSpace(4*MaxFds))}
}

// Close closes the socket; a blocked Read returns an error.
func (c *Conn) Close() error { return c.c.Close() }

// UnixConn is the underlying socket.
func (c *Conn) UnixConn() *net.UnixConn { return c.c }

// Read reads one message. The descriptors come with the header's bytes
// (vhost-user.rst: "ancillary data ... sent with the first byte"); a
// message whose descriptors did not all fit (MSG_CTRUNC) or whose header is
// bad is an error, and any descriptors received with it are closed. The
// payload is read into a fresh slice of the header's size (at most
// MaxPayload). io.EOF means the peer closed the connection between
// messages.
func (c *Conn) Read() (Message, error) {
	n, oobn, flags, _, err := c.c.ReadMsgUnix(c.hdr[:], c.oob)
	var fds []int
	if oobn > 0 {
		fds = parseRights(c.oob[:oobn])
	}
	m := Message{Fds: fds}
	if err != nil {
		m.CloseFds()
		return m, err
	}
	if n == 0 {
		m.CloseFds()
		return m, io.EOF
	}
	if flags&unix.MSG_CTRUNC != 0 {
		m.CloseFds()
		return m, fmt.Errorf("%w: more than %d descriptors", ErrBadFds, MaxFds)
	}
	if n < HeaderSize {
		if _, err := io.ReadFull(c.c, c.hdr[n:]); err != nil {
			m.CloseFds()
			return m, fmt.Errorf("%w: short header: %v", ErrBadHeader, err)
		}
	}
	m.Header, err = ParseHeader(c.hdr[:])
	if err != nil {
		m.CloseFds()
		return m, err
	}
	if m.Size > 0 {
		m.Payload = make([]byte, m.Size)
		if _, err := io.ReadFull(c.c, m.Payload); err != nil {
			m.CloseFds()
			return m, fmt.Errorf("%w: %v: short payload: %v", ErrBadHeader, m.Request, err)
		}
	}
	return m, nil
}

func parseRights(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for i := range msgs {
		if f, err := unix.ParseUnixRights(&msgs[i]); err == nil {
			fds = append(fds, f...)
		}
	}
	return fds
}

// Write sends one message with optional descriptors.
func (c *Conn) Write(h Header, payload []byte, fds ...int) error {
	if len(payload) > MaxPayload || len(fds) > MaxFds {
		return fmt.Errorf("%w: %v: %d bytes, %d fds", ErrBadHeader, h.Request, len(payload), len(fds))
	}
	h.Size = uint32(len(payload))
	buf := make([]byte, HeaderSize+len(payload))
	h.Encode(buf)
	copy(buf[HeaderSize:], payload)
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	n, _, err := c.c.WriteMsgUnix(buf, oob, nil)
	if err != nil {
		return fmt.Errorf("vhost-user: write %v: %w", h.Request, err)
	}
	if n != len(buf) {
		return fmt.Errorf("vhost-user: write %v: short write %d of %d", h.Request, n, len(buf))
	}
	return nil
}

// Reply sends the reply to request h with the given payload.
func (c *Conn) Reply(h Header, payload []byte) error {
	return c.Write(Header{Request: h.Request, Flags: Version | FlagReply}, payload)
}
