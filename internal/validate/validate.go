// Package validate collects configuration errors so that every problem in a
// stack is reported in one run, each with its field path, the offending value,
// what is allowed and why.
package validate

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FieldError is one problem with one configuration field.
type FieldError struct {
	// Path is the dotted field path, e.g. "cluster.network.vpcCidr".
	Path string
	// Message states the value, what is allowed and why.
	Message string
}

func (e FieldError) Error() string { return e.Path + ": " + e.Message }

// Errors is every problem found in one validation pass. Its zero value is
// ready to use; Err returns nil when nothing was added.
type Errors []FieldError

// Addf records a problem at path. The user's values it quotes (%q) and
// the map keys in path are shortened to MaxShown characters: a message
// names a value, it does not repeat a pasted document.
func (e *Errors) Addf(path, format string, args ...any) {
	*e = append(*e, FieldError{Path: ShortenPath(path), Message: fmt.Sprintf(format, shortenQuoted(format, args)...)})
}

// MaxShown is how many characters of a user's value a message repeats.
const MaxShown = 256

// Shorten cuts s to MaxShown characters, marking the cut with "…".
func Shorten(s string) string {
	if utf8.RuneCountInString(s) <= MaxShown {
		return s
	}
	return string([]rune(s)[:MaxShown]) + "…"
}

// shortenQuoted returns args with every string formatted by %q shortened.
func shortenQuoted(format string, args []any) []any {
	out := args
	n := 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		j := i + 1
		for j < len(format) && strings.IndexByte("+-# 0123456789.", format[j]) >= 0 {
			j++
		}
		if j >= len(format) {
			break
		}
		switch verb := format[j]; {
		case verb == '%':
		case n < len(args):
			if s, ok := args[n].(string); ok && verb == 'q' && utf8.RuneCountInString(s) > MaxShown {
				if &out[0] == &args[0] {
					out = append([]any{}, args...)
				}
				out[n] = Shorten(s)
			}
			n++
		}
		i = j
	}
	return out
}

var quotedKey = regexp.MustCompile(`\["((?:[^"\\]|\\.)*)"\]`)

// ShortenPath shortens the quoted map keys of a field path.
func ShortenPath(path string) string {
	if len(path) <= MaxShown {
		return path
	}
	return quotedKey.ReplaceAllStringFunc(path, func(m string) string {
		key, err := strconv.Unquote(m[1 : len(m)-1])
		if err != nil || utf8.RuneCountInString(key) <= MaxShown {
			return m
		}
		return "[" + strconv.Quote(Shorten(key)) + "]"
	})
}

// Append records every problem of other.
func (e *Errors) Append(other Errors) { *e = append(*e, other...) }

// Err returns the collected problems as an error, or nil if there are none.
func (e Errors) Err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, fe := range e {
		lines[i] = fe.Error()
	}
	if len(lines) == 1 {
		return lines[0]
	}
	return fmt.Sprintf("%d configuration errors:\n  %s", len(lines), strings.Join(lines, "\n  "))
}

// Messages returns each problem as "path: message", in the order found.
func (e Errors) Messages() []string {
	out := make([]string, len(e))
	for i, fe := range e {
		out[i] = fe.Error()
	}
	return out
}

// Join lists allowed values for a message: "a, b or c".
func Join(values []string) string {
	switch len(values) {
	case 0:
		return ""
	case 1:
		return values[0]
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}

// JoinAll lists values that are all needed: "a, b and c".
func JoinAll(values []string) string {
	if len(values) < 2 {
		return Join(values)
	}
	return strings.Join(values[:len(values)-1], ", ") + " and " + values[len(values)-1]
}

// SortedKeys returns the keys of m in order, so messages and plans are stable.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Distance is the Levenshtein edit distance of a and b, which ranks the
// known values a did-you-mean suggests.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
