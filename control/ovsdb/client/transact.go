package client

import (
	"context"
	"encoding/json"
	"fmt"

	"gvswitch/control/ovsdb"
)

// Op is one transact operation (RFC 7047 5.2), a JSON object. The
// constructors below build the common ones; any JSON-encodable value
// works as an Op too.
type Op = map[string]any

// Where builders. A condition is [column, function, value] (RFC 7047 5.1).

// Cond returns the condition [column, fn, value].
func Cond(column, fn string, value any) []any { return []any{column, fn, value} }

// WhereUUID returns the "where" that selects the row with UUID u.
func WhereUUID(u ovsdb.UUID) []any { return []any{Cond("_uuid", "==", UUIDValue(u))} }

// All is the empty "where": every row.
func All() []any { return []any{} }

// UUIDValue returns the JSON form ["uuid","..."] of u.
func UUIDValue(u ovsdb.UUID) []any { return []any{"uuid", u.String()} }

// NamedUUID returns ["named-uuid", name], a reference to the row a
// previous or later insert in the same transaction names.
func NamedUUID(name string) []any { return []any{"named-uuid", name} }

// SetValue returns ["set",[...]].
func SetValue(elems ...any) []any {
	if elems == nil {
		elems = []any{}
	}
	return []any{"set", elems}
}

// MapValue returns ["map",[[k,v],...]] for a string map.
func MapValue(m map[string]string) []any {
	pairs := make([]any, 0, len(m))
	for k, v := range m {
		pairs = append(pairs, []any{k, v})
	}
	return []any{"map", pairs}
}

// Insert inserts row into table; uuidName (may be "") names it for
// references within the transaction.
func Insert(table, uuidName string, row map[string]any) Op {
	op := Op{"op": "insert", "table": table, "row": row}
	if uuidName != "" {
		op["uuid-name"] = uuidName
	}
	return op
}

// Select selects columns (all when none given) of the matching rows.
func Select(table string, where []any, columns ...string) Op {
	op := Op{"op": "select", "table": table, "where": where}
	if columns != nil {
		op["columns"] = columns
	}
	return op
}

// Update sets the columns in row for the matching rows.
func Update(table string, where []any, row map[string]any) Op {
	return Op{"op": "update", "table": table, "where": where, "row": row}
}

// Mutate applies mutations ([column, mutator, value] each) to the
// matching rows.
func Mutate(table string, where []any, mutations ...[]any) Op {
	ms := make([]any, len(mutations))
	for i, m := range mutations {
		ms[i] = m
	}
	return Op{"op": "mutate", "table": table, "where": where, "mutations": ms}
}

// Mutation returns [column, mutator, value].
func Mutation(column, mutator string, value any) []any { return []any{column, mutator, value} }

// Delete deletes the matching rows.
func Delete(table string, where []any) Op {
	return Op{"op": "delete", "table": table, "where": where}
}

// Wait waits until the matching rows' columns equal (until "==") or
// differ from (until "!=") rows; timeoutMs < 0 waits without limit.
func Wait(table string, where []any, columns []string, until string, rows []map[string]any, timeoutMs int) Op {
	if rows == nil {
		rows = []map[string]any{}
	}
	op := Op{"op": "wait", "table": table, "where": where, "columns": columns, "until": until, "rows": rows}
	if timeoutMs >= 0 {
		op["timeout"] = timeoutMs
	}
	return op
}

// Comment adds a comment to the transaction's log record.
func Comment(s string) Op { return Op{"op": "comment", "comment": s} }

// Assert fails the transaction unless this client holds the lock.
func Assert(lock string) Op { return Op{"op": "assert", "lock": lock} }

// OpResult is the result of one operation.
type OpResult struct {
	Count int                          // update, mutate, delete
	UUID  ovsdb.UUID                   // insert
	Rows  []map[string]json.RawMessage // select: column → JSON value
	Error *ovsdb.Error                 // the operation (or the commit) failed
}

type wireResult struct {
	Count   *int                         `json:"count"`
	UUID    []string                     `json:"uuid"`
	Rows    []map[string]json.RawMessage `json:"rows"`
	Error   *string                      `json:"error"`
	Details string                       `json:"details"`
	Syntax  string                       `json:"syntax"`
}

// Transact runs the operations as one transaction on database db. It
// returns one OpResult per operation, plus one more when the commit
// itself failed (e.g. a "constraint violation"). err is the first failure:
// an *ovsdb.Error from an operation or the commit, an *RPCError, or a
// connection error. Results of operations that were not executed have
// nothing set.
func (c *Client) Transact(ctx context.Context, db string, ops ...any) ([]OpResult, error) {
	params := append([]any{db}, ops...)
	var raw []json.RawMessage
	if err := c.Call(ctx, "transact", params, &raw); err != nil {
		return nil, err
	}
	results := make([]OpResult, len(raw))
	var first error
	for i, r := range raw {
		var w wireResult
		if string(r) == "null" {
			continue
		}
		if err := json.Unmarshal(r, &w); err != nil {
			return nil, fmt.Errorf("ovsdb client: transact: result %d: %w", i, err)
		}
		if w.Count != nil {
			results[i].Count = *w.Count
		}
		if len(w.UUID) == 2 {
			u, err := ovsdb.ParseUUID(w.UUID[1])
			if err != nil {
				return nil, fmt.Errorf("ovsdb client: transact: result %d: %w", i, err)
			}
			results[i].UUID = u
		}
		results[i].Rows = w.Rows
		if w.Error != nil {
			results[i].Error = &ovsdb.Error{Tag: *w.Error, Details: w.Details, Syntax: w.Syntax}
			if first == nil {
				first = results[i].Error
			}
		}
	}
	return results, first
}

// DecodeRow decodes a select result row against the table's schema.
func DecodeRow(ts *ovsdb.TableSchema, raw map[string]json.RawMessage) (ovsdb.Row, error) {
	obj := make(map[string]any, len(raw))
	for k, v := range raw {
		dv, err := ovsdb.DecodeJSON(v)
		if err != nil {
			return nil, err
		}
		obj[k] = dv
	}
	return ovsdb.RowFromValue(ts, obj, nil)
}
