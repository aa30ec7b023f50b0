package ovsdb

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
)

// opParser reads the members of one operation object and reports, like
// ovsdb-server, missing or mistyped members and members left unused.
type opParser struct {
	obj  map[string]any
	used map[string]bool
	ctx  string // e.g. "ovsdb operation 2 of 3"
	err  *Error
	// known lists the members the operation defines; an operation that
	// fails early leaves some unread, which is not a parse error.
	known []string
}

func newOpParser(v any, ctx string) *opParser {
	p := &opParser{used: map[string]bool{}, ctx: ctx}
	obj, ok := v.(map[string]any)
	if !ok {
		p.obj = map[string]any{}
		p.raise(v, "Object expected.")
		return p
	}
	p.obj = obj
	return p
}

func (p *opParser) raise(v any, format string, args ...any) {
	if p.err != nil {
		return
	}
	if v == nil {
		v = p.obj
	}
	p.err = syntaxError(v, fmt.Sprintf("Parsing %s failed: %s", p.ctx, fmt.Sprintf(format, args...)))
}

// setErr records an error from a nested parse (its tag is kept).
func (p *opParser) setErr(err error) {
	if p.err != nil || err == nil {
		return
	}
	if e, ok := err.(*Error); ok {
		p.err = e
		return
	}
	p.err = &Error{Tag: TagSyntax, Details: err.Error()}
}

type memberKind int

const (
	mString memberKind = iota
	mID
	mArray
	mObject
	mInteger
	mBoolean
	mAny
)

func (p *opParser) member(name string, kind memberKind, optional bool) any {
	v, ok := p.obj[name]
	if !ok {
		if !optional {
			p.raise(nil, "Required '%s' member is missing.", name)
		}
		return nil
	}
	p.used[name] = true
	good := false
	switch kind {
	case mString:
		_, good = v.(string)
	case mID:
		s, isStr := v.(string)
		good = isStr && isID(s)
	case mArray:
		_, good = v.([]any)
	case mObject:
		_, good = v.(map[string]any)
	case mInteger:
		n, isNum := v.(json.Number)
		good = isNum && isIntegerLiteral(string(n))
	case mBoolean:
		_, good = v.(bool)
	case mAny:
		good = true
	}
	if !good {
		p.raise(nil, "Type mismatch for member '%s'.", name)
		return nil
	}
	return v
}

// finish reports members that were present but not used.
func (p *opParser) finish() *Error {
	if p.err != nil {
		return p.err
	}
	var unused []string
	for k := range p.obj {
		if !p.used[k] && !slices.Contains(p.known, k) {
			unused = append(unused, k)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		if len(unused) > 1 {
			p.raise(nil, "Member '%s' and %d other member(s) are present but not allowed here.", unused[0], len(unused)-1)
		} else {
			p.raise(nil, "Member '%s' is present but not allowed here.", unused[0])
		}
	}
	return p.err
}
