package vsctl

import (
	"fmt"
	"sort"
	"strings"
)

// argKind says whether a long option takes an argument (getopt_long's
// has_arg).
type argKind int

const (
	noArg argKind = iota
	requiredArg
	optionalArg
)

type longOption struct {
	name  string
	kind  argKind
	short byte // 0 if none
	local bool // a per-command option (--if-exists, --id=...)
}

// globalOptions are ovs-vsctl's global options; per-command options are
// added from the command table.
var globalOptions = []longOption{
	{"db", requiredArg, 0, false},
	{"no-syslog", noArg, 0, false},
	{"no-wait", noArg, 0, false},
	{"dry-run", noArg, 0, false},
	{"oneline", noArg, 0, false},
	{"timeout", requiredArg, 't', false},
	{"retry", noArg, 0, false},
	{"help", noArg, 'h', false},
	{"commands", noArg, 0, false},
	{"options", noArg, 0, false},
	{"leader-only", noArg, 0, false},
	{"no-leader-only", noArg, 0, false},
	{"shuffle-remotes", noArg, 0, false},
	{"no-shuffle-remotes", noArg, 0, false},
	{"version", noArg, 'V', false},
	{"verbose", optionalArg, 'v', false},
	{"log-file", optionalArg, 0, false},
	{"syslog-method", requiredArg, 0, false},
	{"syslog-target", requiredArg, 0, false},
	{"format", requiredArg, 'f', false},
	{"data", requiredArg, 'd', false},
	{"no-headings", noArg, 0, false},
	{"pretty", noArg, 0, false},
	{"bare", noArg, 0, false},
	{"max-column-width", requiredArg, 0, false},
	{"private-key", requiredArg, 'p', false},
	{"certificate", requiredArg, 'c', false},
	{"ca-cert", requiredArg, 'C', false},
	{"ssl-protocols", requiredArg, 0, false},
	{"ssl-ciphers", requiredArg, 0, false},
	{"bootstrap-ca-cert", requiredArg, 0, false},
	{"peer-ca-cert", requiredArg, 0, false},
}

// allOptions returns the global options followed by every per-command
// option named in the command table.
func allOptions() []longOption {
	opts := append([]longOption(nil), globalOptions...)
	seen := map[string]bool{}
	for _, o := range opts {
		seen[o.name] = true
	}
	names := make([]string, 0, len(commandTable))
	for n := range commandTable {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		spec := commandTable[n].options
		if spec == "" {
			continue
		}
		for _, o := range strings.Split(spec, ",") {
			o = strings.TrimPrefix(o, "--")
			kind := noArg
			switch {
			case strings.HasSuffix(o, "="):
				kind, o = requiredArg, strings.TrimSuffix(o, "=")
			case strings.HasSuffix(o, "?"):
				kind, o = optionalArg, strings.TrimSuffix(o, "?")
			}
			if !seen[o] {
				seen[o] = true
				opts = append(opts, longOption{o, kind, 0, true})
			}
		}
	}
	return opts
}

// parsedOption is one option found by getopt.
type parsedOption struct {
	opt    longOption
	arg    string
	hasArg bool
}

// getoptError is a getopt_long diagnostic; the program exits with status 1.
type getoptError struct{ msg string }

func (e *getoptError) Error() string { return e.msg }

// getopt parses leading options like getopt_long with a "+" optstring:
// it stops at the first non-option or after "--", accepts unique prefixes
// of long options and "--name=value" / "--name value" forms.
func getopt(args []string, opts []longOption) (parsed []parsedOption, rest []string, err error) {
	i := 0
	for i < len(args) {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		if strings.HasPrefix(a, "--") {
			body := a[2:]
			name, val, hasEq := strings.Cut(body, "=")
			var match *longOption
			var candidates []longOption
			for k := range opts {
				if opts[k].name == name {
					match = &opts[k]
					candidates = nil
					break
				}
				if strings.HasPrefix(opts[k].name, name) {
					candidates = append(candidates, opts[k])
				}
			}
			if match == nil {
				switch len(candidates) {
				case 0:
					return nil, nil, &getoptError{fmt.Sprintf("unrecognized option '--%s'", body)}
				case 1:
					match = &candidates[0]
				default:
					var sb strings.Builder
					for _, c := range candidates {
						fmt.Fprintf(&sb, " '--%s'", c.name)
					}
					return nil, nil, &getoptError{fmt.Sprintf("option '--%s' is ambiguous; possibilities:%s", body, sb.String())}
				}
			}
			p := parsedOption{opt: *match}
			switch match.kind {
			case noArg:
				if hasEq {
					return nil, nil, &getoptError{fmt.Sprintf("option '--%s' doesn't allow an argument", match.name)}
				}
			case requiredArg:
				if hasEq {
					p.arg, p.hasArg = val, true
				} else if i+1 < len(args) {
					i++
					p.arg, p.hasArg = args[i], true
				} else {
					return nil, nil, &getoptError{fmt.Sprintf("option '--%s' requires an argument", match.name)}
				}
			case optionalArg:
				if hasEq {
					p.arg, p.hasArg = val, true
				}
			}
			parsed = append(parsed, p)
			i++
			continue
		}
		// Short options, possibly clustered ("-vt5").
		for j := 1; j < len(a); j++ {
			c := a[j]
			var match *longOption
			for k := range opts {
				if opts[k].short == c {
					match = &opts[k]
					break
				}
			}
			if match == nil {
				return nil, nil, &getoptError{fmt.Sprintf("invalid option -- '%c'", c)}
			}
			p := parsedOption{opt: *match}
			if match.kind != noArg {
				if j+1 < len(a) {
					p.arg, p.hasArg = a[j+1:], true
					j = len(a)
				} else if match.kind == requiredArg {
					if i+1 >= len(args) {
						return nil, nil, &getoptError{fmt.Sprintf("option requires an argument -- '%c'", c)}
					}
					i++
					p.arg, p.hasArg = args[i], true
				}
			}
			parsed = append(parsed, p)
		}
		i++
	}
	return parsed, args[i:], nil
}
