package vsctl

import "errors"

// Sentinel errors callers can test with errors.Is.
var (
	// ErrSchema: the database schema could not be parsed.
	ErrSchema = errors.New("bad schema")
	// ErrSyntax: a JSON value from the server does not match its type.
	ErrSyntax = errors.New("bad value syntax")
	// ErrConnection: the database connection failed.
	ErrConnection = errors.New("database connection failed")
)
