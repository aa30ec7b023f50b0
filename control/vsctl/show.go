package vsctl

import (
	"fmt"
	"gvswitch/control/ovsdb"
	"strings"
)

// showTable says how "show" prints a table's rows: by name column, and
// which columns to print or descend into (cmd_show_tables of ovs-vsctl).
type showTable struct {
	table      string
	nameColumn string
	columns    []string
}

var showTables = []showTable{
	{"Open_vSwitch", "", []string{"manager_options", "bridges", "ovs_version"}},
	{"Bridge", "name", []string{"controller", "fail_mode", "datapath_type", "ports"}},
	{"Port", "name", []string{"tag", "trunks", "interfaces"}},
	{"Interface", "name", []string{"type", "options", "error", "bfd_status"}},
	{"Controller", "target", []string{"is_connected"}},
	{"Manager", "target", []string{"is_connected"}},
}

func findShowTable(name string) *showTable {
	for i := range showTables {
		if showTables[i].table == name {
			return &showTables[i]
		}
	}
	return nil
}

func preShow(c *context) error {
	for _, st := range showTables {
		cols := st.columns
		if st.nameColumn != "" {
			cols = append([]string{st.nameColumn}, cols...)
		}
		c.add(st.table, cols...)
	}
	return nil
}

func cmdShow(c *context) error {
	shown := map[string]bool{}
	for _, r := range c.db.Rows(c.schema().Table(showTables[0].table)) {
		c.showRow(r, 0, shown)
	}
	return nil
}

func (c *context) showRow(r *dbRow, level int, shown map[string]bool) {
	st := findShowTable(r.Table.Name)
	out := c.out
	out.WriteString(strings.Repeat(" ", level*4))
	if st != nil && st.nameColumn != "" {
		col := r.Table.Column(st.nameColumn)
		fmt.Fprintf(out, "%s %s", r.Table.Name, FormatDatum(&col.Type, r.Read(col)))
	} else {
		out.WriteString(r.UUID)
	}
	out.WriteByte('\n')
	if st == nil || shown[st.table] {
		return
	}
	shown[st.table] = true
	defer delete(shown, st.table)
	for _, name := range st.columns {
		col := r.Table.Column(name)
		d := r.Read(col)
		if col.Type.Key.Type == ovsdb.TypeUUID && col.Type.Key.RefTable != "" {
			if ref := findShowTable(col.Type.Key.RefTable); ref != nil {
				rt := c.schema().Table(ref.table)
				for _, k := range d.Keys {
					if rr := c.db.Get(rt, atomUUID(k)); rr != nil {
						c.showRow(rr, level+1, shown)
					}
				}
				continue
			}
		} else if isMap(&col.Type) && col.Type.Value.Type == ovsdb.TypeUUID && col.Type.Value.RefTable != "" {
			if ref := findShowTable(col.Type.Value.RefTable); ref != nil && ref.nameColumn != "" {
				rt := c.schema().Table(ref.table)
				nc := rt.Column(ref.nameColumn)
				fmt.Fprintf(out, "%s%s:\n", strings.Repeat(" ", (level+1)*4), col.Name)
				for i := range d.Keys {
					out.WriteString(strings.Repeat(" ", (level+2)*4))
					out.WriteString(FormatAtom(d.Keys[i]))
					out.WriteByte('=')
					if rr := c.db.Get(rt, atomUUID(d.Values[i])); rr != nil {
						out.WriteString(FormatDatum(&nc.Type, rr.Read(nc)))
					} else {
						out.WriteString(`"<null>"`)
					}
					out.WriteByte('\n')
				}
				continue
			}
		}
		if !isDefault(&col.Type, d) {
			fmt.Fprintf(out, "%s%s: %s\n", strings.Repeat(" ", (level+1)*4), col.Name, FormatDatum(&col.Type, d))
		}
	}
}

// processEscapeArgs joins words with spaces, double-quoting (with
// backslash escapes) any word that holds a space, quote or backslash.
func processEscapeArgs(words []string) string {
	var sb strings.Builder
	for i, w := range words {
		if i > 0 {
			sb.WriteByte(' ')
		}
		if !strings.ContainsAny(w, " \\'\"") {
			sb.WriteString(w)
			continue
		}
		sb.WriteByte('"')
		for j := 0; j < len(w); j++ {
			if w[j] == '\\' || w[j] == '"' {
				sb.WriteByte('\\')
			}
			sb.WriteByte(w[j])
		}
		sb.WriteByte('"')
	}
	return sb.String()
}
