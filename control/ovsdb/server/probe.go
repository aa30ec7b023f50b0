package server

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// echoProbe is the inactivity probe: an "echo" request (RFC 7047 4.1.11)
// that any OVSDB peer answers. The session ignores the reply; receiving
// it is what counts.
var echoProbe = []byte(`{"id":"echo","method":"echo","params":[]}`)

// probeConn is a connection served by a Session whose peer must show signs
// of life: after interval() without receiving a byte it is sent an echo
// request, and after as long again without an answer the connection is
// closed (so a peer that vanished without a FIN is noticed).
type probeConn struct {
	net.Conn
	lastRx atomic.Int64 // unix nanoseconds of the last byte received
	idle   atomic.Bool  // a probe is outstanding

	stop      chan struct{}
	closeOnce sync.Once
}

func newProbeConn(c net.Conn) *probeConn {
	p := &probeConn{Conn: c, stop: make(chan struct{})}
	p.lastRx.Store(time.Now().UnixNano())
	return p
}

func (p *probeConn) Read(b []byte) (int, error) {
	n, err := p.Conn.Read(b)
	if n > 0 {
		p.lastRx.Store(time.Now().UnixNano())
		p.idle.Store(false)
	}
	return n, err
}

func (p *probeConn) Close() error {
	p.closeOnce.Do(func() { close(p.stop) })
	return p.Conn.Close()
}

// probe runs until the connection is closed. interval is read at every
// step, so a changed inactivity_probe applies to open connections; zero
// disables probing. onTimeout is called before a silent peer is dropped.
func (p *probeConn) probe(interval func() time.Duration, onTimeout func(time.Duration)) {
	var probeSent time.Time
	for {
		wait := time.Second // re-read a disabled interval now and then
		if iv := interval(); iv > 0 {
			now := time.Now()
			last := time.Unix(0, p.lastRx.Load())
			switch {
			case !p.idle.Load() && now.Sub(last) >= iv:
				// Net.Conn writes are atomic with respect to each other,
				// so this cannot interleave with the session's writer.
				p.idle.Store(true)
				probeSent = now
				if _, err := p.Conn.Write(echoProbe); err != nil {
					p.Close()
					return
				}
				wait = iv
			case p.idle.Load() && now.Sub(probeSent) >= iv:
				onTimeout(iv)
				p.Close()
				return
			case p.idle.Load():
				wait = iv - now.Sub(probeSent)
			default:
				wait = iv - now.Sub(last)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-p.stop:
			t.Stop()
			return
		case <-t.C:
		}
	}
}
