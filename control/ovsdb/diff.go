package ovsdb

import "slices"

// isComposite reports whether values of t can hold more than one element;
// only those are sent and stored as diffs (ovsdb-server(7) "update2").
func isComposite(t *ColumnType) bool { return t.Max > 1 }

// Diff returns the "update2"/"_is_diff" encoding of a change from old to
// new: for sets the symmetric difference; for maps the pairs removed or
// added, and for a key whose value changed the new pair; for a column that
// holds at most one element, simply new.
func Diff(old, new Datum, t *ColumnType) Datum {
	if !isComposite(t) {
		return new
	}
	var d Datum
	isMap := t.IsMap()
	if isMap {
		d.Values = []Atom{}
	}
	i, j := 0, 0
	for i < len(old.Keys) || j < len(new.Keys) {
		var c int
		switch {
		case i == len(old.Keys):
			c = 1
		case j == len(new.Keys):
			c = -1
		default:
			c = CompareAtoms(old.Keys[i], new.Keys[j])
		}
		switch {
		case c < 0:
			d.Keys = append(d.Keys, old.Keys[i])
			if isMap {
				d.Values = append(d.Values, old.Values[i])
			}
			i++
		case c > 0:
			d.Keys = append(d.Keys, new.Keys[j])
			if isMap {
				d.Values = append(d.Values, new.Values[j])
			}
			j++
		default:
			if isMap && CompareAtoms(old.Values[i], new.Values[j]) != 0 {
				d.Keys = append(d.Keys, new.Keys[j])
				d.Values = append(d.Values, new.Values[j])
			}
			i++
			j++
		}
	}
	return d
}

// ApplyDiff is the inverse of Diff: it returns old changed by diff. For
// sets an element in diff is removed if present and added if not; for maps
// a pair equal to the old pair removes it, a known key with another value
// replaces the value, an unknown key is added.
func ApplyDiff(old, diff Datum, t *ColumnType) Datum {
	if !isComposite(t) {
		return diff
	}
	isMap := t.IsMap()
	out := Datum{Keys: slices.Clone(old.Keys)}
	if isMap {
		out.Values = slices.Clone(old.Values)
		if out.Values == nil {
			out.Values = []Atom{}
		}
	}
	for k, key := range diff.Keys {
		i, found := findAtom(out.Keys, key)
		switch {
		case !found:
			out.Keys = slices.Insert(out.Keys, i, key)
			if isMap {
				out.Values = slices.Insert(out.Values, i, diff.Values[k])
			}
		case isMap && CompareAtoms(out.Values[i], diff.Values[k]) != 0:
			out.Values[i] = diff.Values[k]
		default:
			out.Keys = slices.Delete(out.Keys, i, i+1)
			if isMap {
				out.Values = slices.Delete(out.Values, i, i+1)
			}
		}
	}
	return out
}

// relaxed returns t without element-count limits, for decoding diffs.
func relaxed(t *ColumnType) *ColumnType {
	r := *t
	r.Min, r.Max = 0, Unlimited
	return &r
}

// DiffFromValue decodes a diff datum (which may break t's size limits).
func DiffFromValue(t *ColumnType, v any) (Datum, error) {
	return DatumFromValue(relaxed(t), v, nil)
}
