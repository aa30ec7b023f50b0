package vsctl

import (
	"fmt"
	"gvswitch/control/ovsdb"
	"math"
	"strings"
)

// The generic database commands of ovs-vsctl(8) "Database Commands".
func init() {
	register(
		&commandSyntax{"comment", 0, math.MaxInt, "[ARG]...", nil, nil, nil, "", readOnly},
		&commandSyntax{"get", 2, math.MaxInt, "TABLE RECORD [COLUMN[:KEY]]...", preGet, cmdGet, nil, "--if-exists,--id=", readOnly},
		&commandSyntax{"list", 1, math.MaxInt, "TABLE [RECORD]...", preList, cmdList, nil, "--if-exists,--columns=", readOnly},
		&commandSyntax{"find", 1, math.MaxInt, "TABLE [COLUMN[:KEY]=VALUE]...", preFind, cmdFind, nil, "--columns=", readOnly},
		&commandSyntax{"set", 3, math.MaxInt, "TABLE RECORD COLUMN[:KEY]=VALUE...", preColumnValues, cmdSet, nil, "--if-exists", readWrite},
		&commandSyntax{"add", 4, math.MaxInt, "TABLE RECORD COLUMN [KEY=]VALUE...", preAddRemove, cmdAdd, nil, "--if-exists", readWrite},
		&commandSyntax{"remove", 4, math.MaxInt, "TABLE RECORD COLUMN KEY|VALUE|KEY=VALUE...", preAddRemove, cmdRemove, nil, "--if-exists", readWrite},
		&commandSyntax{"clear", 3, math.MaxInt, "TABLE RECORD COLUMN...", preClear, cmdClear, nil, "--if-exists", readWrite},
		&commandSyntax{"create", 2, math.MaxInt, "TABLE COLUMN[:KEY]=VALUE...", preCreate, cmdCreate, postCreate, "--id=", readWrite},
		&commandSyntax{"destroy", 1, math.MaxInt, "TABLE [RECORD]...", preDestroy, cmdDestroy, nil, "--if-exists,--all", readWrite},
		&commandSyntax{"wait-until", 2, math.MaxInt, "TABLE RECORD [COLUMN[:KEY]=VALUE]...", preColumnValues, cmdWaitUntil, nil, "", readOnly},
	)
}

func isUUIDColumnName(s string) bool {
	return strings.EqualFold(s, "_uuid") || strings.EqualFold(s, "-uuid")
}

func preGet(c *context) error {
	// ovs-vsctl warns a user at a terminal that "get" without columns
	// or --id does nothing visible.
	if _, hasID := c.cmd.opt("--id"); !hasID && len(c.argv) <= 3 && c.stdoutTTY {
		c.warn("db_ctl_base", "\"get\" command without row arguments or \"--id\" is possibly erroneous")
	}
	t, err := c.preGetTable(c.argv[1])
	if err != nil {
		return err
	}
	for _, a := range c.argv[3:] {
		if isUUIDColumnName(a) {
			continue
		}
		if err := c.preParseColumnKeyValue(t, a); err != nil {
			return err
		}
	}
	return nil
}

// parseColumnKeyValue splits "column[:key][op value]" (parse_column_key_value).
// With ops nil, no operator/value is allowed; with ops empty, "=" is.
func parseColumnKeyValue(arg string, t *Table, ops []string, wantValue bool) (col *Column, key *string, op int, value *string, err error) {
	name, p, err := parseToken(arg)
	if err != nil {
		return nil, nil, -1, nil, err
	}
	if name == "" {
		return nil, nil, -1, nil, fatalf("%s: missing column name", arg)
	}
	if col, err = getColumn(t, name); err != nil {
		return nil, nil, -1, nil, err
	}
	if strings.HasPrefix(p, ":") {
		k, rest, err := parseToken(p[1:])
		if err != nil {
			return nil, nil, -1, nil, err
		}
		key, p = &k, rest
	}
	if !wantValue {
		if p != "" {
			return nil, nil, -1, nil, fatalf("%s: trailing garbage \"%s\" in argument", arg, p)
		}
		return col, key, -1, nil, nil
	}
	if len(ops) == 0 {
		ops = []string{"="}
	}
	best, bestLen := -1, 0
	for i, o := range ops {
		if len(o) > bestLen && strings.HasPrefix(p, o) && len(p) > len(o) {
			best, bestLen = i, len(o)
		}
	}
	if best < 0 {
		var sb strings.Builder
		fmt.Fprintf(&sb, "%s: argument does not end in \"%s\"", arg, ops[0])
		if len(ops) == 2 {
			fmt.Fprintf(&sb, " or \"%s\"", ops[1])
		} else if len(ops) > 2 {
			for _, o := range ops[1 : len(ops)-1] {
				fmt.Fprintf(&sb, ", \"%s\"", o)
			}
			fmt.Fprintf(&sb, ", or \"%s\"", ops[len(ops)-1])
		}
		sb.WriteString(" followed by a value.")
		return nil, nil, -1, nil, fatalf("%s", sb.String())
	}
	v := p[bestLen:]
	return col, key, best, &v, nil
}

func isMutable(r *dbRow, c *Column) error {
	if !c.Mutable && !r.inserted {
		return fatalf("cannot modify read-only column %s in table %s", c.Name, r.Table.Name)
	}
	return nil
}

func cmdGet(c *context) error {
	id, hasID := c.cmd.opt("--id")
	mustExist := !c.cmd.has("--if-exists")
	if hasID && !mustExist {
		return fatalf("--if-exists and --id may not be specified together")
	}
	t, err := getTable(c.schema(), c.argv[1])
	if err != nil {
		return err
	}
	record := c.argv[2]
	row, err := c.getRow(t, record, mustExist)
	if err != nil || row == nil {
		return err
	}
	if hasID {
		sym, isNew, err := c.symtab.create(id)
		if err != nil {
			return err
		}
		if !isNew {
			return fatalf("row id \"%s\" specified on \"get\" command was used before it was defined", id)
		}
		sym.uuid = row.UUID
		sym.strongRef = true
	}
	for _, a := range c.argv[3:] {
		if isUUIDColumnName(a) {
			fmt.Fprintf(c.out, "%s\n", row.UUID)
			continue
		}
		col, key, _, _, err := parseColumnKeyValue(a, t, nil, false)
		if err != nil {
			return err
		}
		c.db.Verify(row, col)
		d := row.Read(col)
		if key != nil {
			if !isMap(&col.Type) {
				return fatalf("cannot specify key to get for non-map column %s", col.Name)
			}
			k, err := ParseAtom(col.Type.Key, *key, c.symtab)
			if err != nil {
				return fatalf("%v", err)
			}
			i := find(d, k)
			if i < 0 {
				if mustExist {
					return fatalf("no key \"%s\" in %s record \"%s\" column %s", *key, t.Name, record, col.Name)
				}
			} else {
				c.out.WriteString(FormatAtom(d.Values[i]))
			}
		} else {
			c.out.WriteString(FormatDatum(&col.Type, d))
		}
		c.out.WriteByte('\n')
	}
	return nil
}

// parseColumnNames parses --columns (nil column = _uuid).
func parseColumnNames(spec *string, t *Table) ([]*Column, error) {
	if spec == nil {
		cols := []*Column{nil}
		return append(cols, t.Columns...), nil
	}
	var cols []*Column
	for _, name := range strings.FieldsFunc(*spec, func(r rune) bool { return r == ',' || r == ' ' }) {
		if strings.EqualFold(name, "_uuid") {
			cols = append(cols, nil)
			continue
		}
		col, err := getColumn(t, name)
		if err != nil {
			return nil, err
		}
		cols = append(cols, col)
	}
	if len(cols) == 0 {
		return nil, fatalf("must specify at least one column name")
	}
	return cols, nil
}

func columnsOpt(c *context) *string {
	if v, ok := c.cmd.opt("--columns"); ok {
		return &v
	}
	return nil
}

func (c *context) preListColumns(t *Table) error {
	cols, err := parseColumnNames(columnsOpt(c), t)
	if err != nil {
		return err
	}
	for _, col := range cols {
		if col != nil {
			c.db.AddColumn(t, col)
		}
	}
	return nil
}

func preList(c *context) error {
	t, err := c.preGetTable(c.argv[1])
	if err != nil {
		return err
	}
	return c.preListColumns(t)
}

var uuidType = Type{Key: &BaseType{Type: ovsdb.TypeUUID}, Min: 1, Max: 1}

func makeTable(cols []*Column) *outTable {
	t := &outTable{}
	for _, col := range cols {
		if col == nil {
			t.headings = append(t.headings, "_uuid")
		} else {
			t.headings = append(t.headings, col.Name)
		}
	}
	return t
}

func listRecord(r *dbRow, cols []*Column, out *outTable) {
	row := make([]cell, len(cols))
	for i, col := range cols {
		if col == nil {
			row[i] = cell{Datum{Keys: []Atom{uuidAtom(r.UUID)}}, &uuidType}
		} else {
			row[i] = cell{r.Read(col), &col.Type}
		}
	}
	out.rows = append(out.rows, row)
}

func cmdList(c *context) error {
	mustExist := !c.cmd.has("--if-exists")
	t, err := getTable(c.schema(), c.argv[1])
	if err != nil {
		return err
	}
	cols, err := parseColumnNames(columnsOpt(c), t)
	if err != nil {
		return err
	}
	out := makeTable(cols)
	c.cmd.table = out
	if len(c.argv) > 2 {
		for _, rec := range c.argv[2:] {
			r, err := c.getRow(t, rec, mustExist)
			if err != nil {
				return err
			}
			if r != nil {
				listRecord(r, cols, out)
			}
		}
		return nil
	}
	for _, r := range c.db.Rows(t) {
		listRecord(r, cols, out)
	}
	return nil
}

func preFind(c *context) error {
	t, err := c.preGetTable(c.argv[1])
	if err != nil {
		return err
	}
	if err := c.preListColumns(t); err != nil {
		return err
	}
	for _, a := range c.argv[2:] {
		if err := c.preParseColumnKeyValue(t, a); err != nil {
			return err
		}
	}
	return nil
}

// relational operators of find and wait-until.
var relops = []string{"=", "!=", "<", ">", "<=", ">=", "{=}", "{!=}", "{<}", "{>}", "{<=}", "{>=}", "{in}", "{not-in}"}

const (
	opEQ = iota
	opNE
	opLT
	opGT
	opLE
	opGE
	opSetEQ
	opSetNE
	opSetLT
	opSetGT
	opSetLE
	opSetGE
	opSetIn
	opSetNotIn
)

func isSetOp(op int) bool { return op >= opSetEQ }

func evalRelop(t *Type, a, b Datum, op int) bool {
	switch op {
	case opEQ, opSetEQ:
		return compareDatum(a, b) == 0
	case opNE, opSetNE:
		return compareDatum(a, b) != 0
	case opLT:
		return compareDatum(a, b) < 0
	case opGT:
		return compareDatum(a, b) > 0
	case opLE:
		return compareDatum(a, b) <= 0
	case opGE:
		return compareDatum(a, b) >= 0
	case opSetLT:
		return len(b.Keys) > len(a.Keys) && includesAll(t, a, b)
	case opSetGT:
		return len(a.Keys) > len(b.Keys) && includesAll(t, b, a)
	case opSetLE, opSetIn:
		return includesAll(t, a, b)
	case opSetGE:
		return includesAll(t, b, a)
	case opSetNotIn:
		for i := range a.Keys {
			if j := find(b, a.Keys[i]); j >= 0 {
				if !isMap(t) || ovsdb.CompareAtoms(a.Values[i], b.Values[j]) == 0 {
					return false
				}
			}
		}
		return true
	}
	return false
}

// checkCondition evaluates "column[:key]OP value" against r.
func checkCondition(c *context, t *Table, r *dbRow, arg string) (bool, error) {
	col, key, op, value, err := parseColumnKeyValue(arg, t, relops, true)
	if err != nil {
		return false, err
	}
	typ := col.Type
	typ.Max = math.MaxInt
	have := r.Read(col)
	if key != nil {
		if !isMap(&col.Type) {
			return false, fatalf("cannot specify key to check for non-map column %s", col.Name)
		}
		k, err := ParseAtom(col.Type.Key, *key, c.symtab)
		if err != nil {
			return false, fatalf("%v", err)
		}
		vt := Type{Key: typ.Value, Min: typ.Min, Max: math.MaxInt}
		want, err := ParseDatum(&vt, *value, c.symtab)
		if err != nil {
			return false, fatalf("%v", err)
		}
		i := find(have, k)
		if i < 0 && !isSetOp(op) {
			return false, nil
		}
		a := Datum{}
		if i >= 0 {
			a.Keys = []Atom{have.Values[i]}
		}
		return evalRelop(&vt, a, want, op), nil
	}
	want, err := ParseDatum(&col.Type, *value, c.symtab)
	if err != nil {
		return false, fatalf("%v", err)
	}
	return evalRelop(&typ, have, want, op), nil
}

func cmdFind(c *context) error {
	t, err := getTable(c.schema(), c.argv[1])
	if err != nil {
		return err
	}
	cols, err := parseColumnNames(columnsOpt(c), t)
	if err != nil {
		return err
	}
	out := makeTable(cols)
	c.cmd.table = out
rows:
	for _, r := range c.db.Rows(t) {
		for _, a := range c.argv[2:] {
			ok, err := checkCondition(c, t, r, a)
			if err != nil {
				return err
			}
			if !ok {
				continue rows
			}
		}
		listRecord(r, cols, out)
	}
	return nil
}

// setColumn applies "column[:key]=value" to r (set_column).
func setColumn(c *context, t *Table, r *dbRow, arg string, partial bool) error {
	col, key, _, value, err := parseColumnKeyValue(arg, t, []string{}, true)
	if err != nil {
		return err
	}
	if err := isMutable(r, col); err != nil {
		return err
	}
	if key != nil {
		if !isMap(&col.Type) {
			return fatalf("cannot specify key to set for non-map column %s", col.Name)
		}
		k, err := ParseAtom(col.Type.Key, *key, c.symtab)
		if err != nil {
			return fatalf("%v", err)
		}
		v, err := ParseAtom(col.Type.Value, *value, c.symtab)
		if err != nil {
			return fatalf("%v", err)
		}
		if partial {
			c.db.SetMapKey(r, col, k, v)
			return nil
		}
		d := union(&col.Type, Datum{Keys: []Atom{k}, Values: []Atom{v}}, r.Read(col))
		c.db.Verify(r, col)
		c.db.Write(r, col, d)
		return nil
	}
	d, err := ParseDatum(&col.Type, *value, c.symtab)
	if err != nil {
		return fatalf("%v", err)
	}
	c.db.Write(r, col, d)
	return nil
}

// preColumnValues prepares "set" and "wait-until": TABLE RECORD
// COLUMN[:KEY]=VALUE...
func preColumnValues(c *context) error {
	t, err := c.preGetTable(c.argv[1])
	if err != nil {
		return err
	}
	for _, a := range c.argv[3:] {
		if err := c.preParseColumnKeyValue(t, a); err != nil {
			return err
		}
	}
	return nil
}

func cmdSet(c *context) error {
	t, r, err := c.tableRow()
	if err != nil || r == nil {
		return err
	}
	for _, a := range c.argv[3:] {
		if err := setColumn(c, t, r, a, c.last); err != nil {
			return err
		}
	}
	c.invalidate()
	return nil
}

func preAddRemove(c *context) error {
	t, err := c.preGetTable(c.argv[1])
	if err != nil {
		return err
	}
	_, err = c.preGetColumn(t, c.argv[3])
	return err
}

// tableRow finds the TABLE and RECORD of argv[1] and argv[2]; no row and
// no error for a missing record with --if-exists.
func (c *context) tableRow() (*Table, *dbRow, error) {
	mustExist := !c.cmd.has("--if-exists")
	t, err := getTable(c.schema(), c.argv[1])
	if err != nil {
		return nil, nil, err
	}
	r, err := c.getRow(t, c.argv[2], mustExist)
	return t, r, err
}

func (c *context) tableRowColumn() (*Table, *dbRow, *Column, error) {
	mustExist := !c.cmd.has("--if-exists")
	t, err := getTable(c.schema(), c.argv[1])
	if err != nil {
		return nil, nil, nil, err
	}
	col, err := getColumn(t, c.argv[3])
	if err != nil {
		return nil, nil, nil, err
	}
	r, err := c.getRow(t, c.argv[2], mustExist)
	if err != nil || r == nil {
		return nil, nil, nil, err
	}
	if err := isMutable(r, col); err != nil {
		return nil, nil, nil, err
	}
	return t, r, col, nil
}

func pairsWord(t *Type) string {
	if isMap(t) {
		return "pairs"
	}
	return "values"
}

func cmdAdd(c *context) error {
	t, r, col, err := c.tableRowColumn()
	if err != nil || r == nil {
		return err
	}
	typ := &col.Type
	old := r.Read(col).Clone()
	var adds []Datum
	for _, a := range c.argv[4:] {
		at := *typ
		at.Min, at.Max = 1, math.MaxInt
		add, err := ParseDatum(&at, a, c.symtab)
		if err != nil {
			return fatalf("%v", err)
		}
		old = union(typ, old, add)
		adds = append(adds, add)
	}
	if c.last {
		// ovs-vsctl 3.1 sends the last command's additions as a partial
		// update (a "mutate"): new values replace those of existing map
		// keys, and the server, not the client, enforces the column's
		// type and size.
		all := Datum{}
		for _, add := range adds {
			all = union(typ, all, add)
		}
		if isMap(typ) {
			for i, k := range all.Keys {
				c.db.SetMapKey(r, col, k, all.Values[i])
			}
		} else {
			c.db.AddToSet(r, col, all.Keys)
		}
		c.invalidate()
		return nil
	}
	if len(old.Keys) > typ.Max {
		return fatalf("\"add\" operation would put %d %s in column %s of table %s but the maximum number is %d", len(old.Keys), pairsWord(typ), col.Name, t.Name, typ.Max)
	}
	c.db.Verify(r, col)
	c.db.Write(r, col, old)
	c.invalidate()
	return nil
}

func cmdRemove(c *context) error {
	t, r, col, err := c.tableRowColumn()
	if err != nil || r == nil {
		return err
	}
	typ := &col.Type
	old := r.Read(col).Clone()
	for _, a := range c.argv[4:] {
		rt := *typ
		rt.Min, rt.Max = 1, math.MaxInt
		rm, err := ParseDatum(&rt, a, c.symtab)
		rmIsMap := isMap(&rt)
		if err != nil {
			if !rmIsMap {
				return fatalf("%v", err)
			}
			rt.Value = nil
			rmIsMap = false
			if rm, err = ParseDatum(&rt, a, c.symtab); err != nil {
				return fatalf("%v", err)
			}
		}
		old = subtract(typ, old, rm, rmIsMap)
	}
	if len(old.Keys) < typ.Min {
		return fatalf("\"remove\" operation would put %d %s in column %s of table %s but the minimum number is %d", len(old.Keys), pairsWord(typ), col.Name, t.Name, typ.Min)
	}
	c.db.Verify(r, col)
	c.db.Write(r, col, old)
	c.invalidate()
	return nil
}

func preClear(c *context) error {
	t, err := c.preGetTable(c.argv[1])
	if err != nil {
		return err
	}
	for _, a := range c.argv[3:] {
		if _, err := c.preGetColumn(t, a); err != nil {
			return err
		}
	}
	return nil
}

func cmdClear(c *context) error {
	t, r, err := c.tableRow()
	if err != nil || r == nil {
		return err
	}
	for _, a := range c.argv[3:] {
		col, err := getColumn(t, a)
		if err != nil {
			return err
		}
		if err := isMutable(r, col); err != nil {
			return err
		}
		if col.Type.Min > 0 {
			return fatalf("\"clear\" operation cannot be applied to column %s of table %s, which is not allowed to be empty", col.Name, t.Name)
		}
		c.db.Write(r, col, ovsdb.DefaultDatum(&col.Type))
	}
	c.invalidate()
	return nil
}

func preCreate(c *context) error {
	_, hasID := c.cmd.opt("--id")
	t, err := getTable(c.schema(), c.argv[1])
	if err != nil {
		return err
	}
	if !hasID && !t.IsRoot {
		c.warn("db_ctl_base", "applying \"create\" command to table %s without --id option will have no effect", t.Name)
	}
	return nil
}

func cmdCreate(c *context) error {
	id, hasID := c.cmd.opt("--id")
	t, err := getTable(c.schema(), c.argv[1])
	if err != nil {
		return err
	}
	uuid, persist := "", false
	if hasID {
		if isUUID(id) {
			uuid, persist = strings.ToLower(id), true
		} else {
			sym, _, err := c.symtab.create(id)
			if err != nil {
				return err
			}
			if t.IsRoot {
				sym.strongRef = true
			}
			uuid = sym.uuid
		}
	}
	r := c.db.Insert(t, uuid)
	r.persist = persist
	for _, a := range c.argv[2:] {
		if err := setColumn(c, t, r, a, false); err != nil {
			return err
		}
	}
	c.out.WriteString(r.UUID)
	return nil
}

// postCreate replaces the provisional UUID by the one the server assigned.
func postCreate(c *context) error {
	dummy := c.out.String()
	c.out.Reset()
	if real, ok := c.realUUID(dummy); ok {
		c.out.WriteString(real)
	} else {
		c.out.WriteString(dummy)
	}
	c.out.WriteByte('\n')
	return nil
}

func preDestroy(c *context) error {
	_, err := c.preGetTable(c.argv[1])
	return err
}

func cmdDestroy(c *context) error {
	mustExist := !c.cmd.has("--if-exists")
	all := c.cmd.has("--all")
	t, err := getTable(c.schema(), c.argv[1])
	if err != nil {
		return err
	}
	if all && len(c.argv) > 2 {
		return fatalf("--all and records argument should not be specified together")
	}
	if all && !mustExist {
		return fatalf("--all and --if-exists should not be specified together")
	}
	if !all && len(c.argv) == 2 {
		c.warn("db_ctl_base", "either --all or records argument should be specified")
		return nil
	}
	if all {
		for _, r := range c.db.Rows(t) {
			c.db.Delete(r)
		}
	} else {
		for _, rec := range c.argv[2:] {
			r, err := c.getRow(t, rec, mustExist)
			if err != nil {
				return err
			}
			if r != nil {
				c.db.Delete(r)
			}
		}
	}
	c.invalidate()
	return nil
}

func cmdWaitUntil(c *context) error {
	t, err := getTable(c.schema(), c.argv[1])
	if err != nil {
		return err
	}
	r, err := c.getRow(t, c.argv[2], false)
	if err != nil {
		return err
	}
	if r == nil {
		return errTryAgain
	}
	for _, a := range c.argv[3:] {
		ok, err := checkCondition(c, t, r, a)
		if err != nil {
			return err
		}
		if !ok {
			return errTryAgain
		}
	}
	return nil
}
