package vsctl

import (
	"fmt"
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

func (c *context) showRow(r *Row, level int, shown map[string]bool) {
	st := findShowTable(r.Table.Name)
	out := c.out
	out.WriteString(strings.Repeat(" ", level*4))
	if st != nil && st.nameColumn != "" {
		col := r.Table.Column(st.nameColumn)
		fmt.Fprintf(out, "%s %s", r.Table.Name, r.Read(col).String(&col.Type))
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
		if col.Type.Key.Type == UUID && col.Type.Key.RefTable != "" {
			if ref := findShowTable(col.Type.Key.RefTable); ref != nil {
				rt := c.schema().Table(ref.table)
				for _, k := range d.Keys {
					if rr := c.db.Get(rt, k.Str); rr != nil {
						c.showRow(rr, level+1, shown)
					}
				}
				continue
			}
		} else if col.Type.IsMap() && col.Type.Value.Type == UUID && col.Type.Value.RefTable != "" {
			if ref := findShowTable(col.Type.Value.RefTable); ref != nil && ref.nameColumn != "" {
				rt := c.schema().Table(ref.table)
				nc := rt.Column(ref.nameColumn)
				fmt.Fprintf(out, "%s%s:\n", strings.Repeat(" ", (level+1)*4), col.Name)
				for i := range d.Keys {
					out.WriteString(strings.Repeat(" ", (level+2)*4))
					out.WriteString(AtomString(col.Type.Key.Type, d.Keys[i]))
					out.WriteByte('=')
					if rr := c.db.Get(rt, d.Values[i].Str); rr != nil {
						out.WriteString(rr.Read(nc).String(&nc.Type))
					} else {
						out.WriteString(`"<null>"`)
					}
					out.WriteByte('\n')
				}
				continue
			}
		}
		if !IsDefault(&col.Type, d) {
			fmt.Fprintf(out, "%s%s: %s\n", strings.Repeat(" ", (level+1)*4), col.Name, d.String(&col.Type))
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
