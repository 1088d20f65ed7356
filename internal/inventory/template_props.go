package inventory

import (
	"fmt"
	"strings"
)

// props reads one evaluated mapping of a template (a resource's
// Properties, or a mapping inside them), reporting values of the wrong
// kind as Problems. Unknown values were reported when evaluated and read
// as absent.
type props struct {
	e    *evaluator
	path string
	m    map[string]any
}

func (p props) at(key string) string { return p.path + "." + key }

// get is the value of key; ok is false when it is absent or unknown.
func (p props) get(key string) (any, bool) {
	v, ok := p.m[key]
	if _, u := v.(unknown); u || !ok || v == nil {
		return nil, false
	}
	return v, true
}

func (p props) wrong(key, want string, v any) {
	p.e.problem(p.at(key), "want %s, not a %s", want, kindOf(v))
}

func (p props) str(key string) string {
	v, ok := p.get(key)
	if !ok {
		return ""
	}
	s, ok := p.e.text(v)
	if !ok {
		p.wrong(key, "a string", v)
	}
	return s
}

// strOr is str, or def when key is absent.
func (p props) strOr(key, def string) string {
	if s := p.str(key); s != "" {
		return s
	}
	return def
}

// strs reads a list of strings; a comma-separated string is also taken,
// as CloudFormation takes one for its list properties.
func (p props) strs(key string) []string {
	v, ok := p.get(key)
	if !ok {
		return nil
	}
	if s, isText := p.e.text(v); isText {
		var out []string
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
		return out
	}
	l, isList := v.([]any)
	if !isList {
		p.wrong(key, "a list of strings", v)
		return nil
	}
	out := make([]string, 0, len(l))
	for i, el := range l {
		if _, u := el.(unknown); u {
			continue
		}
		s, ok := p.e.text(el)
		if !ok {
			p.wrong(fmt.Sprintf("%s[%d]", key, i), "a string", el)
			continue
		}
		out = append(out, s)
	}
	return out
}

func (p props) int32(key string) int32 {
	v, ok := p.get(key)
	if !ok {
		return 0
	}
	i, ok := toInt(v)
	if !ok || i < -1<<31 || i >= 1<<31 {
		p.wrong(key, "a whole number", v)
		return 0
	}
	return int32(i)
}

// int32Or is int32, or def when key is absent.
func (p props) int32Or(key string, def int32) int32 {
	if _, ok := p.get(key); !ok {
		return def
	}
	return p.int32(key)
}

// boolOr reads a boolean (true, false, or their text), def when absent.
func (p props) boolOr(key string, def bool) bool {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	switch v := v.(type) {
	case bool:
		return v
	case string:
		switch strings.ToLower(v) {
		case "true":
			return true
		case "false":
			return false
		}
	}
	p.wrong(key, "true or false", v)
	return def
}

// obj is the mapping under key, empty when absent.
func (p props) obj(key string) props {
	out := props{e: p.e, path: p.at(key)}
	v, ok := p.get(key)
	if !ok {
		return out
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		p.wrong(key, "a mapping", v)
		return out
	}
	out.m = m
	return out
}

func (p props) has(key string) bool {
	_, ok := p.get(key)
	return ok
}

// objs is the list of mappings under key.
func (p props) objs(key string) []props {
	v, ok := p.get(key)
	if !ok {
		return nil
	}
	l, isList := v.([]any)
	if !isList {
		p.wrong(key, "a list", v)
		return nil
	}
	var out []props
	for i, el := range l {
		at := fmt.Sprintf("%s[%d]", key, i)
		if _, u := el.(unknown); u {
			continue
		}
		m, isMap := el.(map[string]any)
		if !isMap {
			p.wrong(at, "a mapping", el)
			continue
		}
		out = append(out, props{e: p.e, path: p.at(at), m: m})
	}
	return out
}

// tags reads a list of {Key, Value} (Auto Scaling's PropagateAtLaunch is
// not kept).
func (p props) tags(key string) Tags {
	out := Tags{}
	for _, t := range p.objs(key) {
		k := t.str("Key")
		if k == "" {
			if _, unknownKey := t.m["Key"].(unknown); !unknownKey {
				p.e.problem(t.at("Key"), "a tag needs a Key")
			}
			continue
		}
		if _, unknownValue := t.m["Value"].(unknown); !unknownValue {
			out[k] = t.str("Value")
		}
	}
	return out
}
