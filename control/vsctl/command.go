package vsctl

import (
	"errors"
	"fmt"
	"gvswitch/control/ovsdb"
	"math"
	"sort"
	"strings"
)

// mode says whether a command may write to the database.
type mode int

const (
	readOnly mode = iota
	readWrite
)

// commandSyntax describes one command (like ctl_command_syntax).
type commandSyntax struct {
	name      string
	minArgs   int
	maxArgs   int
	arguments string
	pre       func(*context) error // registers what to monitor
	run       func(*context) error
	post      func(*context) error
	options   string // "--if-exists,--id=" ...
	mode      mode
}

// command is one parsed command of the command line.
type command struct {
	syntax  *commandSyntax
	options map[string]*string // "--id" -> "@x"; nil value = no argument
	optKeys []string           // in the order given
	argv    []string           // argv[0] is the command name
	output  strings.Builder
	table   *outTable
}

// fatalError ends the program with the message and an exit status.
type fatalError struct {
	msg    string
	status int
}

func (e *fatalError) Error() string { return e.msg }

func fatalf(format string, args ...any) error {
	return &fatalError{msg: fmt.Sprintf(format, args...), status: 1}
}

// exitStatus ends the program silently with a status (br-exists).
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

var errTryAgain = errors.New("try again")

var commandTable = map[string]*commandSyntax{}

func register(cmds ...*commandSyntax) {
	for _, c := range cmds {
		commandTable[c.name] = c
	}
}

// parseCommands splits args at "--" into commands, each with its leading
// options (ctl_parse_commands). local holds options given before the first
// command among the global options.
func parseCommands(args []string, local []parsedOption) ([]*command, error) {
	var cmds []*command
	start := 0
	for i := 0; i <= len(args); i++ {
		if i < len(args) && args[i] != "--" {
			continue
		}
		if i > start {
			c, err := parseCommand(args[start:i], local)
			if err != nil {
				return nil, err
			}
			local = nil
			cmds = append(cmds, c)
		} else if len(local) > 0 {
			return nil, fatalf("missing command name (use --help for help)")
		}
		start = i + 1
	}
	if len(cmds) == 0 {
		return nil, fatalf("missing command name (use --help for help)")
	}
	return cmds, nil
}

func parseCommand(args []string, local []parsedOption) (*command, error) {
	c := &command{options: map[string]*string{}}
	for _, p := range local {
		key := "--" + p.opt.name
		if _, dup := c.options[key]; dup {
			continue
		}
		if p.hasArg {
			v := p.arg
			c.options[key] = &v
		} else {
			c.options[key] = nil
		}
		c.optKeys = append(c.optKeys, key)
	}
	i := 0
	for ; i < len(args); i++ {
		o := args[i]
		if !strings.HasPrefix(o, "-") {
			break
		}
		key, val, hasEq := strings.Cut(o, "=")
		if _, dup := c.options[key]; dup {
			return nil, fatalf("'%s' option specified multiple times", o)
		}
		if hasEq {
			v := val
			c.options[key] = &v
		} else {
			c.options[key] = nil
		}
		c.optKeys = append(c.optKeys, key)
	}
	if i == len(args) {
		return nil, fatalf("missing command name (use --help for help)")
	}
	p := commandTable[args[i]]
	if p == nil {
		return nil, fatalf("unknown command '%s'; use --help for help", args[i])
	}
	// Options are checked in hash order by ovs-vsctl; sorted is as good.
	keys := append([]string(nil), c.optKeys...)
	sort.Strings(keys)
	for _, k := range keys {
		end := optionSuffix(p.options, k)
		if end == 0 {
			return nil, fatalf("'%s' command has no '%s' option", args[i], k)
		}
		hasArg := c.options[k] != nil
		if end != '?' && (end == '=') != hasArg {
			if end == '=' {
				return nil, fatalf("missing argument to '%s' option on '%s' command", k, args[i])
			}
			return nil, fatalf("'%s' option on '%s' does not accept an argument", k, args[i])
		}
	}
	n := len(args) - i - 1
	if n < p.minArgs {
		return nil, fatalf("'%s' command requires at least %d arguments", p.name, p.minArgs)
	}
	if n > p.maxArgs {
		for _, a := range args[i+1:] {
			if strings.HasPrefix(a, "-") {
				return nil, fatalf("'%s' command takes at most %d arguments (note that options must precede command names and follow a \"--\" argument)", p.name, p.maxArgs)
			}
		}
		return nil, fatalf("'%s' command takes at most %d arguments", p.name, p.maxArgs)
	}
	c.syntax = p
	c.argv = args[i:]
	return c, nil
}

// optionSuffix finds option name in spec (strstr semantics, like
// parse_command) and returns the character after it: ',', '=', '?', ' '
// or -1 for the end; 0 when absent or followed by another letter.
func optionSuffix(spec, name string) int {
	idx := strings.Index(spec, name)
	if idx < 0 {
		return 0
	}
	rest := spec[idx+len(name):]
	if rest == "" {
		return -1
	}
	if strings.IndexByte("=,? ", rest[0]) >= 0 {
		return int(rest[0])
	}
	return 0
}

// has reports whether the command was given option name.
func (c *command) has(name string) bool { _, ok := c.options[name]; return ok }

// opt returns the argument of option name, "" if absent.
func (c *command) opt(name string) (string, bool) {
	v, ok := c.options[name]
	if !ok || v == nil {
		return "", ok
	}
	return *v, true
}

// symbol is one "@name" row id.
type symbol struct {
	uuid      string
	created   bool
	strongRef bool
	weakRef   bool
}

type symtab struct {
	m     map[string]*symbol
	order []string
}

func newSymtab() *symtab { return &symtab{m: map[string]*symbol{}} }

func (s *symtab) insert(name string) *symbol {
	sym := s.m[name]
	if sym == nil {
		sym = &symbol{uuid: newUUID()}
		s.m[name] = sym
		s.order = append(s.order, name)
	}
	return sym
}

// Ref implements Symbols.
func (s *symtab) Ref(name string, base *BaseType) string {
	sym := s.insert(name)
	if base.RefTable != "" {
		if base.RefType == ovsdb.Weak {
			sym.weakRef = true
		} else {
			sym.strongRef = true
		}
	}
	return sym.uuid
}

// create binds name for a --id option (create_symbol).
func (s *symtab) create(id string) (*symbol, bool, error) {
	if !strings.HasPrefix(id, "@") {
		return nil, false, fatalf("row id \"%s\" does not begin with \"@\"", id)
	}
	_, exists := s.m[id]
	sym := s.insert(id)
	if sym.created {
		return nil, false, fatalf("row id \"%s\" may only be specified on one --id option", id)
	}
	sym.created = true
	return sym, !exists, nil
}

// scoreMatch rates how well user input s names entity name: exact beats
// case/dash-insensitive full match beats a prefix (score_partial_match).
func scoreMatch(name, s string) int {
	if name == s {
		return math.MaxInt
	}
	norm := func(c byte) byte {
		if c == '-' {
			return '_'
		}
		if c >= 'A' && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
	score := 0
	for {
		var a, b byte
		if score < len(name) {
			a = name[score]
		}
		if score < len(s) {
			b = s[score]
		}
		if norm(a) != norm(b) {
			break
		}
		if score >= len(name) {
			return math.MaxInt - 1
		}
		score++
	}
	if score >= len(s) {
		return score
	}
	return 0
}

// getTable finds a table by possibly abbreviated, case-insensitive name.
func getTable(s *Schema, name string) (*Table, error) {
	tns := s.TableNames()
	tables := make([]*Table, len(tns))
	for i, tn := range tns {
		tables[i] = s.Table(tn)
	}
	best := bestMatches(tables, tableName, name)
	switch len(best) {
	case 0:
		return nil, fatalf("unknown table \"%s\"", name)
	case 1:
		return best[0], nil
	}
	return nil, fatalf("\"%s\" matches multiple table names: %s", name, joinNames(best, tableName))
}

// getColumn finds a column by possibly abbreviated name.
func getColumn(t *Table, name string) (*Column, error) {
	best := bestMatches(t.Columns, columnName, name)
	switch len(best) {
	case 0:
		return nil, fatalf("%s does not contain a column whose name matches \"%s\"", t.Name, name)
	case 1:
		return best[0], nil
	}
	return nil, fatalf("%s contains more than one column whose name matches \"%s\": %s", t.Name, name, joinNames(best, columnName))
}

func tableName(t *Table) string   { return t.Name }
func columnName(c *Column) string { return c.Name }

// bestMatches returns the items whose names s matches best (scoreMatch),
// in their order; none if s matches no name.
func bestMatches[T any](items []T, name func(T) string, s string) []T {
	var best []T
	bestScore := 0
	for _, it := range items {
		sc := scoreMatch(name(it), s)
		if sc > 0 && sc >= bestScore {
			if sc > bestScore {
				best = best[:0]
			}
			best = append(best, it)
			bestScore = sc
		}
	}
	return best
}

// joinNames lists the items' names, comma-separated.
func joinNames[T any](items []T, name func(T) string) string {
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = name(it)
	}
	return strings.Join(names, ", ")
}
