package vsctl

import (
	"fmt"
	"gvswitch/control/internal/ovsjson"
	"gvswitch/control/ovsdb"
	"strings"
)

// Output styles (--format) and cell styles (--data).
type tableFormat int

const (
	formatList tableFormat = iota
	formatTable
	formatHTML
	formatCSV
	formatJSON
)

type cellFormat int

const (
	cellString cellFormat = iota
	cellBare
	cellJSON
)

// tableStyle is the output style chosen by the global options.
type tableStyle struct {
	format   tableFormat
	cell     cellFormat
	headings bool
	pretty   bool
	maxWidth int
}

var defaultStyle = tableStyle{format: formatList, cell: cellString, headings: true}

type cell struct {
	d   Datum
	typ *Type
}

// outTable is a command's tabular output (list, find).
type outTable struct {
	headings []string
	rows     [][]cell
}

func (c cell) text(style *tableStyle) string {
	switch style.cell {
	case cellJSON:
		return string(AppendJSON(nil, c.typ, c.d, nil))
	case cellBare:
		return FormatBare(c.typ, c.d)
	}
	return FormatDatum(c.typ, c.d)
}

// printer renders tables; the first table of a run is not preceded by a
// blank line (table.c's first_table).
type printer struct {
	style tableStyle
	first bool
}

func finishLine(sb *strings.Builder, line string) {
	sb.WriteString(strings.TrimRight(line, " "))
	sb.WriteByte('\n')
}

func (p *printer) print(t *outTable) string {
	var sb strings.Builder
	switch p.style.format {
	case formatTable:
		p.sep(&sb)
		p.table(&sb, t)
	case formatList:
		p.sep(&sb)
		for y, row := range t.rows {
			if y > 0 {
				sb.WriteByte('\n')
			}
			for x, c := range row {
				if p.style.headings {
					fmt.Fprintf(&sb, "%-20s: ", t.headings[x])
				}
				sb.WriteString(c.text(&p.style))
				sb.WriteByte('\n')
			}
		}
	case formatHTML:
		p.html(&sb, t)
	case formatCSV:
		p.sep(&sb)
		if p.style.headings {
			for x, h := range t.headings {
				if x > 0 {
					sb.WriteByte(',')
				}
				csvCell(&sb, h)
			}
			sb.WriteByte('\n')
		}
		for _, row := range t.rows {
			for x, c := range row {
				if x > 0 {
					sb.WriteByte(',')
				}
				csvCell(&sb, c.text(&p.style))
			}
			sb.WriteByte('\n')
		}
	case formatJSON:
		heads := make([]any, len(t.headings))
		for i, h := range t.headings {
			heads[i] = h
		}
		data := make([]any, len(t.rows))
		for y, row := range t.rows {
			r := make([]any, len(row))
			for x, c := range row {
				r[x] = datumTree(c.typ, c.d)
			}
			data[y] = r
		}
		obj := map[string]any{"data": data, "headings": heads}
		sb.Write(appendTree(nil, obj, p.style.pretty, 0))
		sb.WriteByte('\n')
	}
	return sb.String()
}

func (p *printer) sep(sb *strings.Builder) {
	if p.first {
		p.first = false
	} else {
		sb.WriteByte('\n')
	}
}

func (p *printer) table(sb *strings.Builder, t *outTable) {
	widths := make([]int, len(t.headings))
	texts := make([][]string, len(t.rows))
	for y, row := range t.rows {
		texts[y] = make([]string, len(row))
		for x, c := range row {
			texts[y][x] = c.text(&p.style)
		}
	}
	for x := range t.headings {
		w := 0
		for y := range t.rows {
			if l := len(texts[y][x]); l > w {
				w = l
			}
		}
		if p.style.maxWidth > 0 && w > p.style.maxWidth {
			w = p.style.maxWidth
		}
		if p.style.headings && w < len(t.headings[x]) {
			w = len(t.headings[x])
		}
		widths[x] = w
	}
	if p.style.headings {
		var line strings.Builder
		for x, h := range t.headings {
			if x > 0 {
				line.WriteByte(' ')
			}
			fmt.Fprintf(&line, "%-*s", widths[x], h)
		}
		finishLine(sb, line.String())
		line.Reset()
		for x := range t.headings {
			if x > 0 {
				line.WriteByte(' ')
			}
			line.WriteString(strings.Repeat("-", widths[x]))
		}
		finishLine(sb, line.String())
	}
	for y := range t.rows {
		var line strings.Builder
		for x := range t.headings {
			if x > 0 {
				line.WriteByte(' ')
			}
			s := texts[y][x]
			if len(s) > widths[x] {
				s = s[:widths[x]]
			}
			fmt.Fprintf(&line, "%-*s", widths[x], s)
		}
		finishLine(sb, line.String())
	}
}

func csvCell(sb *strings.Builder, s string) {
	if !strings.ContainsAny(s, "\n\",") {
		sb.WriteString(s)
		return
	}
	sb.WriteByte('"')
	sb.WriteString(strings.ReplaceAll(s, `"`, `""`))
	sb.WriteByte('"')
}

func htmlEscape(sb *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '&':
			sb.WriteString("&amp;")
		case '<':
			sb.WriteString("&lt;")
		case '>':
			sb.WriteString("&gt;")
		case '"':
			sb.WriteString("&quot;")
		default:
			sb.WriteByte(s[i])
		}
	}
}

func htmlCell(sb *strings.Builder, elem, content string) {
	fmt.Fprintf(sb, "    <%s>", elem)
	for i := 0; i < len(content); {
		if i+36 <= len(content) && isUUID(content[i:i+36]) {
			fmt.Fprintf(sb, "<a href=\"#%s\">%s</a>", content[i:i+36], content[i:i+8])
			i += 36
			continue
		}
		htmlEscape(sb, content[i:i+1])
		i++
	}
	fmt.Fprintf(sb, "</%s>\n", elem)
}

func (p *printer) html(sb *strings.Builder, t *outTable) {
	sb.WriteString("<table border=1>\n")
	if p.style.headings {
		sb.WriteString("  <tr>\n")
		for _, h := range t.headings {
			htmlCell(sb, "th", h)
		}
		sb.WriteString("  </tr>\n")
	}
	for _, row := range t.rows {
		sb.WriteString("  <tr>\n")
		for x, c := range row {
			content := c.text(&p.style)
			if t.headings[x] == "_uuid" {
				sb.WriteString("    <td><a name=\"")
				htmlEscape(sb, content)
				sb.WriteString("\">")
				if len(content) > 8 {
					htmlEscape(sb, content[:8])
				} else {
					htmlEscape(sb, content)
				}
				sb.WriteString("</a></td>\n")
			} else {
				htmlCell(sb, "td", content)
			}
		}
		sb.WriteString("  </tr>\n")
	}
	sb.WriteString("</table>\n")
}

// datumTree converts d to a JSON tree for appendTree.
func datumTree(t *Type, d Datum) any {
	atom := func(a Atom) any {
		if u, ok := a.(ovsdb.UUID); ok {
			return []any{"uuid", u.String()}
		}
		return a
	}
	if isMap(t) {
		pairs := make([]any, len(d.Keys))
		for i := range d.Keys {
			pairs[i] = []any{atom(d.Keys[i]), atom(d.Values[i])}
		}
		return []any{"map", pairs}
	}
	if len(d.Keys) == 1 {
		return atom(d.Keys[0])
	}
	elems := make([]any, len(d.Keys))
	for i := range d.Keys {
		elems[i] = atom(d.Keys[i])
	}
	return []any{"set", elems}
}

// appendTree serializes v like the Open vSwitch JSON library with sorted
// object members, optionally pretty-printed with two-space indents.
func appendTree(b []byte, v any, pretty bool, depth int) []byte {
	indent := func(b []byte, depth int) []byte {
		if pretty {
			b = append(b, '\n')
			for i := 0; i < depth*2; i++ {
				b = append(b, ' ')
			}
		}
		return b
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		if x {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case int64:
		return append(b, fmt.Sprint(x)...)
	case float64:
		return appendReal(b, x)
	case string:
		return ovsjson.AppendString(b, x)
	case []any:
		b = append(b, '[')
		if len(x) > 0 {
			b = indent(b, depth+1)
			for i, e := range x {
				if i > 0 {
					b = append(b, ',')
					b = indent(b, depth+1)
				}
				b = appendTree(b, e, pretty, depth+1)
			}
		}
		return append(b, ']')
	case map[string]any:
		b = append(b, '{')
		b = indent(b, depth+1)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sortStrings(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
				b = indent(b, depth+1)
			}
			b = ovsjson.AppendString(b, k)
			b = append(b, ':')
			if pretty {
				b = append(b, ' ')
			}
			b = appendTree(b, x[k], pretty, depth+1)
		}
		return append(b, '}')
	}
	return append(b, "null"...)
}
