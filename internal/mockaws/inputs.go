package mockaws

// Readers of recorded inputs (Plain values): each returns the zero value
// where the input is absent or of another shape, so that a check reading a
// malformed plan reports what it finds rather than panicking.

// Str reads a recorded string.
func Str(v any) string {
	s, _ := v.(string)
	return s
}

// Strings reads a recorded list of strings ([]any after Plain, []string in
// hand-made resources); other elements are skipped.
func Strings(v any) []string {
	if s, ok := v.([]string); ok {
		return s
	}
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Object reads a recorded object.
func Object(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// List reads a recorded list.
func List(v any) []any {
	l, _ := v.([]any)
	return l
}

// Field reads the value at a path of object keys; nil where the path
// leaves the objects.
func Field(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// Tags reads a resource's tags from its inputs: a map (most resources) or,
// on Auto Scaling Groups, a list of {key, value, propagateAtLaunch}. A
// value that is not a string reads as "", so a tag is present whatever its
// value; a list entry without a string key is skipped.
func Tags(inputs map[string]any) map[string]string {
	out := map[string]string{}
	switch t := inputs["tags"].(type) {
	case map[string]any:
		for k, v := range t {
			out[k] = Str(v)
		}
	case []any:
		for _, e := range t {
			if k, ok := Object(e)["key"].(string); ok {
				out[k] = Str(Object(e)["value"])
			}
		}
	}
	return out
}

// Tag reads one tag from a resource's inputs, as Tags does.
func Tag(inputs map[string]any, key string) (string, bool) {
	v, ok := Tags(inputs)[key]
	return v, ok
}
