// Package validate collects configuration errors so that every problem in a
// stack is reported in one run, each with its field path, the offending value,
// what is allowed and why.
package validate

import (
	"fmt"
	"sort"
	"strings"
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

// Addf records a problem at path.
func (e *Errors) Addf(path, format string, args ...any) {
	*e = append(*e, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
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
