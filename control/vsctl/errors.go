package vsctl

import (
	"errors"
	"fmt"
)

// Sentinel errors callers can test with errors.Is.
var (
	// ErrBadValue: a value typed on the command line does not parse or
	// violates its column's constraints (ParseDatum, ParseAtom). The
	// error text is ovs-vsctl's.
	ErrBadValue = errors.New("bad value")
	// ErrConnection: the database connection failed.
	ErrConnection = errors.New("database connection failed")
)

// valueError carries ovs-vsctl's exact message and matches ErrBadValue.
type valueError struct{ msg string }

func (e *valueError) Error() string { return e.msg }
func (e *valueError) Unwrap() error { return ErrBadValue }

func valueErrorf(format string, args ...any) error {
	return &valueError{fmt.Sprintf(format, args...)}
}
