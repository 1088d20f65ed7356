package motoapply

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// inputs reads a resource's plan inputs (as mockaws.Plain gives them:
// numbers float64, objects map[string]any) and remembers which keys were
// read, so that an input nothing applies is an error rather than a silent
// difference between the plan and the account.
type inputs struct {
	m    map[string]any
	read map[string]bool
	// sub are the nested objects handed out, checked with their parent.
	sub  []*inputs
	path string
}

func newInputs(m map[string]any) *inputs { return &inputs{m: m, read: map[string]bool{}} }

func (in *inputs) get(k string) (any, bool) {
	in.read[k] = true
	v, ok := in.m[k]
	return v, ok
}

// ignore marks keys that are the provider's own behaviour, not API fields.
func (in *inputs) ignore(keys ...string) {
	for _, k := range keys {
		in.read[k] = true
	}
}

func (in *inputs) has(k string) bool { _, ok := in.m[k]; return ok }

// str is a string input; "" when unset.
func (in *inputs) str(k string) string {
	v, _ := in.get(k)
	s, _ := v.(string)
	return s
}

// optStr is a string input as the SDK wants it: nil when unset.
func (in *inputs) optStr(k string) *string {
	if s := in.str(k); s != "" {
		return &s
	}
	return nil
}

// boolean is a bool input, or a provider "nullable bool" string ("true").
func (in *inputs) boolean(k string) (value, set bool) {
	v, ok := in.get(k)
	switch v := v.(type) {
	case bool:
		return v, ok
	case string:
		b, err := strconv.ParseBool(v)
		return b, err == nil
	}
	return false, false
}

func (in *inputs) optBool(k string) *bool {
	if v, ok := in.boolean(k); ok {
		return &v
	}
	return nil
}

// num is a number input (or a numeric string).
func (in *inputs) num(k string) (int64, bool) {
	v, _ := in.get(k)
	switch v := v.(type) {
	case float64:
		return int64(v), true
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

func (in *inputs) optInt32(k string) *int32 {
	if n, ok := in.num(k); ok {
		v := int32(n)
		return &v
	}
	return nil
}

func (in *inputs) strings(k string) []string {
	v, _ := in.get(k)
	var out []string
	if l, ok := v.([]any); ok {
		for _, e := range l {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// object is a nested object input, nil when unset.
func (in *inputs) object(k string) *inputs {
	v, _ := in.get(k)
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	return in.nested(k, m)
}

// objects is a list of nested objects.
func (in *inputs) objects(k string) []*inputs {
	v, _ := in.get(k)
	l, _ := v.([]any)
	var out []*inputs
	for i, e := range l {
		if m, ok := e.(map[string]any); ok {
			out = append(out, in.nested(fmt.Sprintf("%s[%d]", k, i), m))
		}
	}
	return out
}

func (in *inputs) nested(k string, m map[string]any) *inputs {
	sub := newInputs(m)
	sub.path = in.path + k + "."
	in.sub = append(in.sub, sub)
	return sub
}

// tags is a map input of tags, sorted by key.
func (in *inputs) tags(k string) []tag {
	v, _ := in.get(k)
	m, _ := v.(map[string]any)
	var out []tag
	for _, key := range slices.Sorted(maps.Keys(m)) {
		s, _ := m[key].(string)
		out = append(out, tag{key, s})
	}
	return out
}

type tag struct{ key, value string }

// unread are the keys of this object and its nested ones nothing read,
// and the values the plan did not know (unknown or secret) that were read.
func (in *inputs) unread() []string {
	var out []string
	for k, v := range in.m {
		if !in.read[k] {
			out = append(out, in.path+k)
		} else if v == mockaws.Unknown || v == mockaws.Secret {
			out = append(out, in.path+k+" ("+v.(string)+" in the plan)")
		}
	}
	for _, s := range in.sub {
		out = append(out, s.unread()...)
	}
	sort.Strings(out)
	return out
}
