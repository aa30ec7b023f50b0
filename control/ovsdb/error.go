package ovsdb

import (
	"encoding/json"
	"errors"
)

// Error tags (the "error" member of an RFC 7047 error object) that
// ovsdb-server uses and clients test for.
const (
	TagSyntax               = "syntax error"
	TagConstraint           = "constraint violation"
	TagReferentialIntegrity = "referential integrity violation"
	TagUnknownColumn        = "unknown column"
	TagUnknownTable         = "unknown table"
	TagUnknownDatabase      = "unknown database"
	TagTimedOut             = "timed out"
	TagNotOwner             = "not owner"
	TagAborted              = "aborted"
	TagDomain               = "domain error"
	TagRange                = "range error"
	TagResourcesExhausted   = "resources exhausted"
	TagNotSupported         = "not supported"
	TagIO                   = "I/O error"
	TagDuplicateUUIDName    = "duplicate uuid-name"
	TagOVSDB                = "ovsdb error"
)

// Error is an OVSDB error object (RFC 7047 section 3.1 and 4.1.3):
// {"error":Tag,"details":Details,"syntax":Syntax}. Details and Syntax are
// omitted when empty.
type Error struct {
	Tag     string // e.g. "syntax error", "constraint violation"
	Details string // human-readable explanation
	Syntax  string // the offending JSON text, for syntax errors
}

// NewError returns an *Error with the tag and details.
func NewError(tag, details string) *Error { return &Error{Tag: tag, Details: details} }

func syntaxError(v any, details string) *Error {
	e := &Error{Tag: TagSyntax, Details: details}
	if v != nil {
		if b, err := json.Marshal(v); err == nil {
			e.Syntax = string(b)
		}
	}
	return e
}

func (e *Error) Error() string {
	if e.Details == "" {
		return e.Tag
	}
	return e.Tag + ": " + e.Details
}

// Is makes errors.Is(err, &Error{Tag: t}) match any *Error with tag t.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Tag == e.Tag && (t.Details == "" || t.Details == e.Details)
	}
	return false
}

// MarshalJSON encodes the error object.
func (e *Error) MarshalJSON() ([]byte, error) {
	type obj struct {
		Details string `json:"details,omitempty"`
		Error   string `json:"error"`
		Syntax  string `json:"syntax,omitempty"`
	}
	return json.Marshal(obj{Details: e.Details, Error: e.Tag, Syntax: e.Syntax})
}

// UnmarshalJSON decodes an error object.
func (e *Error) UnmarshalJSON(b []byte) error {
	var o struct {
		Details string `json:"details"`
		Error   string `json:"error"`
		Syntax  string `json:"syntax"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	*e = Error{Tag: o.Error, Details: o.Details, Syntax: o.Syntax}
	return nil
}

// ErrorTag returns the tag of the *Error in err's chain, or "".
func ErrorTag(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Tag
	}
	return ""
}
