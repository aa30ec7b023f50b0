// Package jsonrpc is the JSON-RPC 1.0 transport that OVSDB (RFC 7047 section
// 4) and the Open vSwitch unixctl protocol share: bare JSON objects written
// back to back on a stream socket, with no newline and no length prefix.
//
// A [Message] is one request, reply or notification. Its MarshalJSON writes
// exactly the shapes Open vSwitch peers send and expect:
//
//	request       {"id":7,"method":"transact","params":[...]}
//	notification  {"id":null,"method":"update3","params":[...]}
//	success       {"id":7,"result":R,"error":null}
//	error reply   {"id":7,"error":E}            (no "result" member)
//
// A [Conn] reads such a stream with a framer that finds where each JSON text
// ends (tolerating whitespace between texts) without trusting the peer: a
// text of [MaxMessageSize] bytes or more fails with [ErrMessageTooLarge] and
// malformed JSON with [ErrSyntax]. Either error leaves the stream unusable;
// the owner drops that one connection. Write is safe for concurrent use; Read
// must be called from one goroutine.
//
//	c := jsonrpc.NewConn(netConn)
//	for {
//		m, err := c.Read()
//		if err != nil {
//			return err // io.EOF when the peer closed cleanly
//		}
//		if m.IsRequest() {
//			c.Write(jsonrpc.NewResult(m.ID, m.Params)) // echo
//		}
//	}
package jsonrpc
