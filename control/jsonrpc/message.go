package jsonrpc

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Message is one JSON-RPC 1.0 message. Which members are encoded depends on
// its kind (see the package documentation):
//   - Method != "": a request, or a notification when ID is empty or null;
//   - otherwise a reply: an error reply when Error is set and not null, else
//     a success reply carrying Result.
type Message struct {
	ID     json.RawMessage // request id echoed in the reply; nil or "null" for notifications
	Method string
	Params json.RawMessage
	Result json.RawMessage
	Error  json.RawMessage
}

var null = json.RawMessage("null")

func isNull(r json.RawMessage) bool {
	return len(r) == 0 || bytes.Equal(bytes.TrimSpace(r), null)
}

// IsRequest reports whether m is a request that expects a reply.
func (m *Message) IsRequest() bool { return m.Method != "" && !isNull(m.ID) }

// IsNotification reports whether m is a notification (method with a null id).
func (m *Message) IsNotification() bool { return m.Method != "" && isNull(m.ID) }

// IsReply reports whether m is a reply (success or error) to a request.
func (m *Message) IsReply() bool { return m.Method == "" }

// IsError reports whether m is an error reply.
func (m *Message) IsError() bool { return m.Method == "" && !isNull(m.Error) }

// MarshalJSON encodes m in the exact shape Open vSwitch uses for its kind.
func (m Message) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"id":`)
	writeRaw(&b, m.ID)
	switch {
	case m.Method != "":
		b.WriteString(`,"method":`)
		name, err := json.Marshal(m.Method)
		if err != nil {
			return nil, err
		}
		b.Write(name)
		b.WriteString(`,"params":`)
		if len(m.Params) == 0 {
			b.WriteString("[]")
		} else {
			b.Write(m.Params)
		}
	case !isNull(m.Error):
		b.WriteString(`,"error":`)
		b.Write(m.Error)
	default:
		b.WriteString(`,"result":`)
		writeRaw(&b, m.Result)
		b.WriteString(`,"error":null`)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func writeRaw(b *bytes.Buffer, r json.RawMessage) {
	if len(r) == 0 {
		b.Write(null)
		return
	}
	b.Write(r)
}

// wireMessage is the decoding view: every member optional, raw.
type wireMessage struct {
	ID     json.RawMessage `json:"id"`
	Method *string         `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

// UnmarshalJSON decodes any JSON-RPC 1.0 object. It checks only what every
// message must have: an object, a string method if any, an id member.
func (m *Message) UnmarshalJSON(data []byte) error {
	var w wireMessage
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	if w.Method == nil && w.Result == nil && w.Error == nil {
		return fmt.Errorf("%w: message has neither method nor result nor error", ErrSyntax)
	}
	*m = Message{ID: w.ID, Params: w.Params, Result: w.Result, Error: w.Error}
	if w.Method != nil {
		m.Method = *w.Method
		if m.Method == "" {
			return fmt.Errorf("%w: empty method name", ErrSyntax)
		}
	}
	return nil
}

// mustMarshal encodes v; values that cannot be encoded become null so a
// reply is always well-formed.
func mustMarshal(v any) json.RawMessage {
	if r, ok := v.(json.RawMessage); ok {
		if len(r) == 0 {
			return null
		}
		return r
	}
	b, err := json.Marshal(v)
	if err != nil {
		return null
	}
	return b
}

// NewRequest returns a request with the given id (any JSON value but null).
func NewRequest(id any, method string, params any) *Message {
	return &Message{ID: mustMarshal(id), Method: method, Params: mustMarshal(params)}
}

// NewNotification returns a notification ({"id":null,...}).
func NewNotification(method string, params any) *Message {
	return &Message{ID: null, Method: method, Params: mustMarshal(params)}
}

// NewResult returns a success reply to the request whose id is id.
func NewResult(id json.RawMessage, result any) *Message {
	return &Message{ID: id, Result: mustMarshal(result)}
}

// NewError returns an error reply to the request whose id is id. e is any
// JSON value: a string such as "unknown method", or an OVSDB error object.
func NewError(id json.RawMessage, e any) *Message {
	return &Message{ID: id, Error: mustMarshal(e)}
}
