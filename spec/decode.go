package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Decode reads the JSON value of kinfra:cluster strictly: every unknown key and
// every value of the wrong type is reported, with its path, before any default
// or check runs. A misspelt key must never be silently ignored.
func Decode(data []byte) (Cluster, error) {
	var raw any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return Cluster{}, validate.Errors{{Path: "kinfra:cluster", Message: fmt.Sprintf("not a valid JSON/YAML object: %v", err)}}
	}
	var errs validate.Errors
	walk(raw, reflect.TypeOf(Cluster{}), "cluster", &errs)
	if len(errs) > 0 {
		return Cluster{}, errs
	}
	var c Cluster
	if err := json.Unmarshal(data, &c); err != nil {
		return Cluster{}, validate.Errors{{Path: "kinfra:cluster", Message: err.Error()}}
	}
	return c, nil
}

// Load decodes, defaults and validates kinfra:cluster for the stack's region.
func Load(clusterJSON []byte, region string) (Cluster, error) {
	c, err := Decode(clusterJSON)
	if err != nil {
		return Cluster{}, err
	}
	if c.Region != "" && region != "" && c.Region != region {
		return Cluster{}, validate.Errors{{Path: "cluster.region", Message: fmt.Sprintf("%q differs from aws:region %q; remove it (the stack's aws:region is the region)", c.Region, region)}}
	}
	// aws:region is the only source: it is what the AWS provider deploys to.
	c.Region = region
	return Resolve(c)
}

func walk(v any, t reflect.Type, path string, errs *validate.Errors) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return // null leaves the default
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			errs.Addf(path, "%s is not an object", describe(v))
			return
		}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			fields[name] = t.Field(i).Type
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				errs.Addf(path+"."+k, "unknown field%s; %s takes %s", suggest(k, fields), path, validate.Join(validate.SortedKeys(fields)))
				continue
			}
			walk(obj[k], ft, path+"."+k, errs)
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			errs.Addf(path, "%s is not a list", describe(v))
			return
		}
		for i, e := range arr {
			walk(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			errs.Addf(path, "%s is not a map", describe(v))
			return
		}
		for _, k := range validate.SortedKeys(obj) {
			walk(obj[k], t.Elem(), fmt.Sprintf("%s[%q]", path, k), errs)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			errs.Addf(path, "%s is not a string; quote it", describe(v))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			errs.Addf(path, "%s is not true or false", describe(v))
		}
	case reflect.Int:
		n, ok := v.(json.Number)
		f, err := n.Float64()
		if !ok || err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<31 {
			errs.Addf(path, "%s is not a whole number", describe(v))
		}
	}
}

func describe(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("%q", v)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	default:
		return fmt.Sprint(v)
	}
}

// suggest names the known field closest to a misspelt one.
func suggest(k string, fields map[string]reflect.Type) string {
	best, bestDist := "", 3
	for f := range fields {
		if d := distance(strings.ToLower(k), strings.ToLower(f)); d < bestDist || (d == bestDist && f < best && best != "") {
			best, bestDist = f, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein edit distance of a and b.
func distance(a, b string) int {
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
