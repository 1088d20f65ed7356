package spec_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/validate"
	"github.com/kinfra-dev/kinfra/spec"
)

// internals are words of Go and its JSON parser that must never reach a
// user: they say nothing about the stack file.
var internals = regexp.MustCompile(`json:|Go (struct|value)|\bEOF\b|invalid character|looking for beginning|unmarshal|reflect|interface ?\{\}|map\[string\]|\[\]string|float64|int64|spec\.|top-level value`)

// checkMessages fails unless err is a list of problems, each with a path,
// short, and free of internals.
func checkMessages(t *testing.T, input string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	errs, ok := err.(validate.Errors)
	require.True(t, ok, "%T for %.200s", err, input)
	for _, e := range errs {
		require.NotEmpty(t, e.Path, "%.200s", input)
		require.True(t, e.Path == "kinfra:cluster" || e.Path == "aws:region" || strings.HasPrefix(e.Path, "cluster"), "path %q", e.Path)
		require.NotRegexp(t, internals, e.Error(), "%.200s", input)
		if len(e.Error()) >= 2500 {
			t.Errorf("a value is repeated whole: %.300s", e.Error())
		}
	}
}

// valuesOfEveryType are the wrong (and a few right) values put at every
// field: each type, nulls nested in lists and maps, numbers out of range
// or with fractions, and a very long string.
var valuesOfEveryType = []string{
	`"x"`, `""`, `0`, `-1`, `1.5`, `1.0`, `1e3`, `99999999999`, `-99999999999`, `1e400`, `-1e400`,
	`123456789012345678901234567890`, `true`, `false`, `null`, `[]`, `[null]`, `[1, "a", {}]`, `{}`,
	`{"a": null}`, `{"a": [null]}`, `"` + strings.Repeat("y", 5000) + `"`,
}

// schemaPaths lists every field of the spec as a JSON path of keys (one
// list entry where there is a list).
func schemaPaths(t reflect.Type, prefix []string, out *[][]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			schemaPaths(f.Type, prefix, out)
			continue
		}
		p := append(append([]string{}, prefix...), name)
		*out = append(*out, p)
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct:
			schemaPaths(ft, p, out)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			schemaPaths(ft.Elem(), append(p, "[]"), out)
		}
	}
}

// withValue is a stack with raw JSON at path.
func withValue(path []string, raw string) string {
	inner := raw
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == "[]" {
			inner = "[" + inner + "]"
			continue
		}
		if i == 0 {
			return fmt.Sprintf(`{"name":"prod","nodePools":[{"name":"general","maxSize":3}],%q:%s}`, path[i], inner)
		}
		inner = fmt.Sprintf(`{%q:%s}`, path[i], inner)
	}
	return inner
}

func TestBrokenValuesAtEveryFieldGetPlainMessages(t *testing.T) {
	var paths [][]string
	schemaPaths(reflect.TypeOf(spec.Cluster{}), nil, &paths)
	require.Greater(t, len(paths), 150)
	for _, p := range paths {
		for _, v := range valuesOfEveryType {
			in := withValue(p, v)
			_, err := spec.Load([]byte(in), "us-east-1")
			checkMessages(t, in, err)
			_, err = spec.Decode([]byte(in))
			checkMessages(t, in, err)
		}
	}
}

func TestTruncatedAndMalformedDocumentsGetPlainMessages(t *testing.T) {
	doc, err := json.Marshal(map[string]any{
		"name": "prod", "tags": map[string]string{"team": "platform"},
		"network":   map[string]any{"vpcCidr": "10.0.0.0/16", "availabilityZones": []string{"us-east-1a", "us-east-1b", "us-east-1c"}},
		"masters":   map[string]any{"count": 3},
		"nodePools": []any{map[string]any{"name": "general", "maxSize": 3, "taints": []any{map[string]any{"key": "k", "effect": "NoSchedule"}}}},
	})
	require.NoError(t, err)
	for i := range len(doc) {
		checkMessagesOf(t, string(doc[:i]))
	}
	for _, in := range []string{"", " ", "prod", `"prod"`, "3", "true", "[]", "[1]", "null", `{"name":"a"} x`, `{"name":"a"}{}`,
		`{"name":"a",}`, `{name: a}`, `{"name":"a" "b":1}`, "{\"name\":\"\xff\"}", `{"masters":{"count":1e999999999}}`, "\x00",
		`{"name":"` + strings.Repeat("z", 100000) + `"}`, `{"` + strings.Repeat("k", 3000) + `":1}`} {
		checkMessagesOf(t, in)
	}
}

func checkMessagesOf(t *testing.T, in string) {
	t.Helper()
	_, err := spec.Load([]byte(in), "us-east-1")
	checkMessages(t, in, err)
}

func FuzzLoad(f *testing.F) {
	f.Add(`{"name":"prod","masters":{"count":3},"nodePools":[{"name":"a","maxSize":3}]}`)
	f.Add(`{"name":"prod","network":{"vpcCidr":"10.0.0.0/16","flowLogs":{"retentionDays":1e3}}}`)
	f.Add(`{"nodePools":[null,{"labels":{"a":null}}]}`)
	f.Fuzz(func(t *testing.T, in string) {
		_, err := spec.Load([]byte(in), "us-east-1")
		checkMessages(t, in, err)
	})
}
