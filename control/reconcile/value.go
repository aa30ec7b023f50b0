package reconcile

import (
	"encoding/json"
	"fmt"
	"sort"

	"gvswitch/control/ovsdb"
)

// ovsMap is an OVSDB map value; it encodes as ["map",[[k,v],...]] (RFC
// 7047 5.1) with keys sorted.
type ovsMap [][2]any

func (m ovsMap) MarshalJSON() ([]byte, error) {
	pairs := make([][2]any, len(m))
	copy(pairs, m)
	if pairs == nil {
		pairs = [][2]any{}
	}
	return json.Marshal([]any{"map", pairs})
}

// ovsSet is an OVSDB set value; it encodes as ["set",[...]].
type ovsSet []any

func (s ovsSet) MarshalJSON() ([]byte, error) {
	if s == nil {
		s = ovsSet{}
	}
	return json.Marshal([]any{"set", []any(s)})
}

var emptySet = ovsSet{}

// mapOf is m as an OVSDB map, keys sorted.
func mapOf[V string | uint64](m map[string]V) ovsMap {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(ovsMap, 0, len(keys))
	for _, k := range keys {
		out = append(out, [2]any{k, m[k]})
	}
	return out
}

func setOf(ss []string) ovsSet {
	out := make(ovsSet, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// str is a string column's value ("" when empty).
func str(d ovsdb.Datum) string {
	if len(d.Keys) == 0 {
		return ""
	}
	s, _ := d.Keys[0].(string)
	return s
}

// integer is an integer column's value (0 when empty).
func integer(d ovsdb.Datum) int64 {
	if len(d.Keys) == 0 {
		return 0
	}
	i, _ := d.Keys[0].(int64)
	return i
}

// boolean is a boolean column's value (false when empty).
func boolean(d ovsdb.Datum) bool {
	if len(d.Keys) == 0 {
		return false
	}
	b, _ := d.Keys[0].(bool)
	return b
}

// sameIntMap reports whether m holds exactly the pairs of the map datum d.
func sameIntMap(m ovsMap, d ovsdb.Datum) bool {
	if len(m) != len(d.Keys) || len(d.Values) != len(d.Keys) {
		return false
	}
	for i, kv := range m {
		k, _ := d.Keys[i].(string)
		v, _ := d.Values[i].(int64)
		n, _ := kv[1].(uint64)
		if k != kv[0] || uint64(v) != n {
			return false
		}
	}
	return true
}

// datumText is a scalar column's value as fmt prints the Go value ("" when
// empty), for comparing with what the daemon wants to write.
func datumText(d ovsdb.Datum) string {
	if len(d.Keys) == 0 {
		return ""
	}
	return fmt.Sprint(d.Keys[0])
}
