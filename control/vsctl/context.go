package vsctl

import (
	"strings"

	"gvswitch/control/ovsdb"
)

// context is what a command runs with (like ctl_context + vsctl_context).
type context struct {
	db        *replica
	cmd       *command
	argv      []string
	ovs       *dbRow
	symtab    *symtab
	last      bool // the last command on the line
	out       *strings.Builder
	cache     *vsCache // bridge/port/interface view, nil when invalid
	verPort   bool     // ports verified in this command
	newIfs    *[]string
	warn      func(module, format string, args ...any)
	stdoutTTY bool // standard output is a terminal
	// realUUIDs maps provisional UUIDs of inserted rows to the server's.
	realUUIDs map[string]string
}

func (c *context) realUUID(dummy string) (string, bool) {
	u, ok := c.realUUIDs[dummy]
	return u, ok
}

func (c *context) schema() *Schema { return c.db.Schema }

// rowID says how to find a record of a table by name (ctl_row_id): the
// record whose nameColumn equals the name, or, with uuidColumn, the row
// that column of the named record points to.
type rowID struct {
	table      string
	nameColumn string
	uuidColumn string
}

// rowIDs are ovs-vsctl's per-table naming rules.
var rowIDs = map[string]rowID{
	"Bridge":                    {"Bridge", "name", ""},
	"Controller":                {"Bridge", "name", "controller"},
	"Interface":                 {"Interface", "name", ""},
	"Mirror":                    {"Mirror", "name", ""},
	"Manager":                   {"Manager", "target", ""},
	"NetFlow":                   {"Bridge", "name", "netflow"},
	"Port":                      {"Port", "name", ""},
	"QoS":                       {"Port", "name", "qos"},
	"sFlow":                     {"Bridge", "name", "sflow"},
	"Flow_Table":                {"Flow_Table", "name", ""},
	"IPFIX":                     {"Bridge", "name", "ipfix"},
	"AutoAttach":                {"Bridge", "name", "auto_attach"},
	"Flow_Sample_Collector_Set": {"Flow_Sample_Collector_Set", "id", ""},
}

// preGetTable resolves a table name and monitors what naming its records
// needs.
func (c *context) preGetTable(name string) (*Table, error) {
	t, err := getTable(c.schema(), name)
	if err != nil {
		return nil, err
	}
	c.db.AddTable(t)
	if id, ok := rowIDs[t.Name]; ok {
		it := c.schema().Table(id.table)
		c.db.AddColumn(it, it.Column(id.nameColumn))
		if id.uuidColumn != "" {
			c.db.AddColumn(it, it.Column(id.uuidColumn))
		}
	}
	return t, nil
}

func (c *context) preGetColumn(t *Table, name string) (*Column, error) {
	col, err := getColumn(t, name)
	if err != nil {
		return nil, err
	}
	c.db.AddColumn(t, col)
	return col, nil
}

// preParseColumnKeyValue monitors the column named at the start of arg.
func (c *context) preParseColumnKeyValue(t *Table, arg string) error {
	name, _, err := parseToken(arg)
	if err != nil {
		return err
	}
	if name == "" {
		return fatalf("%s: missing column name", arg)
	}
	_, err = c.preGetColumn(t, name)
	return err
}

func recordIDEquals(name Atom, id string) bool {
	switch x := name.(type) {
	case string:
		if x == id {
			return true
		}
		return len(id) >= 4 && isUUID(x) && strings.HasPrefix(x, id)
	case ovsdb.UUID:
		return isUUID(id) && strings.EqualFold(x.String(), id)
	case int64:
		v, _ := parseInt(id)
		return x == v
	}
	return false
}

func (c *context) getRowByID(t *Table, id rowID, record string) (*dbRow, bool) {
	it := c.schema().Table(id.table)
	nc := it.Column(id.nameColumn)
	if nc.Type.Key.Type == ovsdb.TypeInteger {
		if record == "" || strings.Trim(record, "0123456789") != "" {
			return nil, false
		}
	}
	var referrer *dbRow
	for _, r := range c.db.Rows(it) {
		d := r.Read(nc)
		if len(d.Keys) != 1 {
			continue
		}
		if recordIDEquals(d.Keys[0], record) {
			if referrer != nil {
				return nil, true
			}
			referrer = r
		}
	}
	if referrer == nil {
		return nil, false
	}
	if id.uuidColumn == "" {
		return referrer, false
	}
	uc := it.Column(id.uuidColumn)
	c.db.Verify(referrer, uc)
	d := referrer.Read(uc)
	if len(d.Keys) != 1 {
		return nil, false
	}
	return c.db.Get(t, atomUUID(d.Keys[0])), false
}

// getRow finds a record by UUID, ".", name or UUID prefix (ctl_get_row).
func (c *context) getRow(t *Table, record string, mustExist bool) (*dbRow, error) {
	var row *dbRow
	if isUUID(record) {
		row = c.db.Get(t, strings.ToLower(record))
	}
	if row == nil && record == "." {
		rows := c.db.Rows(t)
		if len(rows) == 1 {
			row = rows[0]
		}
	}
	if row == nil {
		if id, ok := rowIDs[t.Name]; ok {
			r, multiple := c.getRowByID(t, id, record)
			if multiple {
				return nil, fatalf("multiple rows in %s match \"%s\"", id.table, record)
			}
			row = r
		}
	}
	if row == nil && partialUUIDLen(record) >= 4 {
		for _, r := range c.db.Rows(t) {
			if strings.HasPrefix(r.UUID, strings.ToLower(record)) {
				if row != nil {
					return nil, fatalf("%s contains 2 or more rows whose UUIDs begin with %s: at least %s and %s", t.Name, record, row.UUID, r.UUID)
				}
				row = r
			}
		}
	}
	if mustExist && row == nil {
		return nil, fatalf("no row \"%s\" in table %s", record, t.Name)
	}
	return row, nil
}

// partialUUIDLen returns how many hex digits a UUID prefix has, 0 if s is
// not a prefix of a UUID's text form.
func partialUUIDLen(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if ch != '-' {
				return 0
			}
			continue
		}
		if i >= 36 || !isHex(ch) {
			return 0
		}
		n++
	}
	return n
}
