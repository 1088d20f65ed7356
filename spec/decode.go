package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Whole numbers in kinfra:cluster are int32s: every count, size and period
// kinfra passes on fits one, and AWS's APIs take no more.
const (
	maxWhole = math.MaxInt32
	minWhole = math.MinInt32
)

// Decode reads the JSON value of kinfra:cluster strictly: every unknown key,
// every value of the wrong type and every explicit zero that would silently
// take a default (explicitZeros) is reported, with its path, before any
// default or check runs. A misspelt key must never be silently ignored.
func Decode(data []byte) (Cluster, error) {
	d := decode(data)
	if len(d.errs) > 0 {
		return Cluster{}, d.errs
	}
	return d.cluster, nil
}

// decoded is what could be read of kinfra:cluster: the cluster without the
// values that were refused, the problems, and the paths of the refused
// values (their checks would judge a value the user did not write).
type decoded struct {
	cluster Cluster
	errs    validate.Errors
	// unread are the paths whose values were dropped because their meaning
	// is unknown (wrong type, out of range, or the probable target of a
	// misspelt key); refused are explicit zeros, which take the default.
	unread, refused []string
	// fatal: the value is not an object at all; nothing else can be said.
	fatal bool
}

func decode(data []byte) decoded {
	raw, err := parseJSON(data)
	if err != nil {
		return decoded{errs: validate.Errors{{Path: "kinfra:cluster", Message: err.Error()}}, fatal: true}
	}
	d := &decoder{}
	if obj, ok := raw.(map[string]any); ok {
		d.root = obj
	}
	clean, keep := d.walk(raw, reflect.TypeOf(Cluster{}), "cluster", "")
	out := decoded{errs: d.errs, unread: d.unread, refused: d.refused}
	if !keep {
		out.fatal = raw != nil
		return out
	}
	// The walk left only values of the right types, so this cannot fail;
	// if it ever did, say so without the encoder's words.
	buf, err := json.Marshal(clean)
	if err == nil {
		err = json.Unmarshal(buf, &out.cluster)
	}
	if err != nil {
		out.errs.Addf("kinfra:cluster", "could not be read; please report this with the stack file")
		out.fatal = true
	}
	return out
}

// parseJSON reads exactly one JSON value, numbers kept as written. Its
// errors say where the text goes wrong, in the user's terms, not the
// parser's.
func parseJSON(data []byte) (any, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("empty; give the cluster's settings as an object (docs/config.md)")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		var syn *json.SyntaxError
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return nil, fmt.Errorf("the value ends after %d characters, before it is complete (near %s); give one whole object", len(trimmed), near(trimmed, len(trimmed)))
		case errors.As(err, &syn):
			if trimmed[0] != '{' && trimmed[0] != '[' {
				return nil, fmt.Errorf("%s is not an object; give the cluster's settings as a YAML mapping under kinfra:cluster (docs/config.md)", quote(string(trimmed)))
			}
			return nil, fmt.Errorf("is not valid JSON at character %d (near %s); give the cluster's settings as one object", syn.Offset, near(trimmed, int(syn.Offset)))
		default:
			return nil, fmt.Errorf("is not valid JSON (near %s); give the cluster's settings as one object", near(trimmed, int(dec.InputOffset())))
		}
	}
	rest := int(dec.InputOffset())
	for rest < len(trimmed) && strings.ContainsRune(" \t\r\n", rune(trimmed[rest])) {
		rest++
	}
	if rest < len(trimmed) {
		return nil, fmt.Errorf("has more text after the object, at character %d (near %s); give one object", rest+1, near(trimmed, rest+1))
	}
	return raw, nil
}

// near quotes a few characters of text before offset (1-based), where a
// parse went wrong.
func near(text []byte, offset int) string {
	end := min(max(offset, 1), len(text))
	start := max(0, end-20)
	for start > 0 && !utf8.RuneStart(text[start]) {
		start--
	}
	s := string(text[start:end])
	if start > 0 {
		s = "…" + s
	}
	return strconv.Quote(s)
}

type decoder struct {
	root            map[string]any
	errs            validate.Errors
	unread, refused []string
}

// walk checks v against t and returns the value to decode: v without the
// keys and values it refused. schema is the path without "cluster." and
// with list indexes as [] (the key of explicitZeros). keep is false when v
// itself was refused.
func (d *decoder) walk(v any, t reflect.Type, path, schema string) (any, bool) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return nil, true // null leaves the default
	}
	bad := func(format string, args ...any) (any, bool) {
		d.errs.Addf(path, format, args...)
		d.unread = append(d.unread, path)
		return nil, false
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("%s is not an object; %s takes %s", describe(v), path, validate.Join(validate.SortedKeys(jsonFields(t))))
		}
		fields := jsonFields(t)
		out := map[string]any{}
		for _, k := range validate.SortedKeys(obj) {
			kp, ks := path+"."+validate.Shorten(k), join(schema, k)
			ft, ok := fields[k]
			if !ok {
				target := suggest(k, fields)
				hint := ""
				if target != "" {
					hint = fmt.Sprintf(" (did you mean %q?)", target)
					if _, set := obj[target]; !set {
						// Its checks would judge the default, not what was meant.
						d.unread = append(d.unread, path+"."+target)
					}
				}
				d.errs.Addf(kp, "unknown field%s; %s takes %s", hint, path, validate.Join(validate.SortedKeys(fields)))
				continue
			}
			if r, ok := explicitZeros[ks]; ok && isZero(obj[k]) && (r.when == nil || r.when(obj, d.root)) {
				d.errs.Addf(kp, "%s is not allowed; use %s, or remove the key for %s", describe(obj[k]), r.allowed, r.dflt)
				d.refused = append(d.refused, kp)
				continue
			}
			if val, keep := d.walk(obj[k], ft, kp, ks); keep {
				out[k] = val
			}
		}
		return out, true
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			return bad("%s is not a list", describe(v))
		}
		out := make([]any, len(arr))
		for i, e := range arr {
			ep := fmt.Sprintf("%s[%d]", path, i)
			if e == nil {
				d.errs.Addf(ep, "null is not allowed in a list; remove the entry")
				d.unread = append(d.unread, ep)
				continue // stays null: later entries keep their indexes
			}
			out[i], _ = d.walk(e, t.Elem(), ep, schema+"[]")
		}
		return out, true
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("%s is not a map", describe(v))
		}
		out := map[string]any{}
		for _, k := range validate.SortedKeys(obj) {
			ep := fmt.Sprintf("%s[%q]", path, k)
			if obj[k] == nil {
				d.errs.Addf(ep, "null is not allowed; give a value (\"\" for an empty one) or remove the key")
				d.unread = append(d.unread, ep)
				continue
			}
			if val, keep := d.walk(obj[k], t.Elem(), ep, schema+"[]"); keep {
				out[k] = val
			}
		}
		return out, true
	case reflect.String:
		if _, ok := v.(string); !ok {
			if _, scalar := v.(map[string]any); scalar {
				return bad("%s is not a string", describe(v))
			}
			if _, list := v.([]any); list {
				return bad("%s is not a string", describe(v))
			}
			return bad("%s is not a string; quote it", describe(v))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return bad("%s is not true or false", describe(v))
		}
	case reflect.Int:
		n, ok := v.(json.Number)
		if !ok {
			return bad("%s is not a whole number", describe(v))
		}
		i, problem := whole(n)
		switch problem {
		case "":
			return i, true
		case "fraction":
			return bad("%s is not a whole number", describe(v))
		default:
			allowed := fmt.Sprintf("a whole number from %d to %d", minWhole, maxWhole)
			if r, ok := explicitZeros[schema]; ok {
				allowed = r.allowed
			}
			return bad("%s is too %s; use %s", describe(v), problem, allowed)
		}
	}
	return v, true
}

// whole reads a JSON number as an int32-sized integer. problem is
// "fraction", "large" or "small" when it is not one.
func whole(n json.Number) (int64, string) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		switch {
		case i > maxWhole:
			return 0, "large"
		case i < minWhole:
			return 0, "small"
		}
		return i, ""
	}
	f, err := strconv.ParseFloat(string(n), 64)
	switch {
	case err != nil && math.IsInf(f, 1):
		return 0, "large"
	case err != nil && math.IsInf(f, -1):
		return 0, "small"
	case err != nil || f != math.Trunc(f):
		return 0, "fraction"
	case f > maxWhole:
		return 0, "large"
	case f < minWhole:
		return 0, "small"
	}
	return int64(f), ""
}

// jsonFields maps each JSON key of struct type t to its field type,
// including the keys of embedded structs, as encoding/json promotes them.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			for k, ft := range jsonFields(f.Type) {
				fields[k] = ft
			}
			continue
		}
		if name != "" && name != "-" {
			fields[name] = f.Type
		}
	}
	return fields
}

func join(schema, key string) string {
	if schema == "" {
		return key
	}
	return schema + "." + key
}

func isZero(v any) bool {
	switch v := v.(type) {
	case json.Number:
		i, problem := whole(v)
		return problem == "" && i == 0
	case string:
		return v == ""
	case bool:
		return !v
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// describe shows a value in a message: short, and as the user wrote it.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		return quote(v)
	case map[string]any:
		if len(v) == 0 {
			return "{}"
		}
		return "an object"
	case []any:
		if len(v) == 0 {
			return "[]"
		}
		return "a list"
	case json.Number:
		return validate.Shorten(string(v))
	default:
		return validate.Shorten(fmt.Sprint(v))
	}
}

func quote(s string) string { return strconv.Quote(validate.Shorten(s)) }

// suggest names the known field closest to a misspelt one, or "".
func suggest(k string, fields map[string]reflect.Type) string {
	best, bestDist := "", 3
	for f := range fields {
		if d := validate.Distance(strings.ToLower(k), strings.ToLower(f)); d < bestDist || (d == bestDist && f < best && best != "") {
			best, bestDist = f, d
		}
	}
	return best
}
