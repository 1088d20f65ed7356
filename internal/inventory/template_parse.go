package inventory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// maxTemplateNodes bounds the values a template may expand to, aliases
// included, so that a small document of nested aliases cannot make the
// reader build an enormous tree; maxTemplateDepth bounds its nesting.
const (
	maxTemplateNodes = 1 << 20
	maxTemplateDepth = 200
)

// parseTemplate reads a CloudFormation template, JSON or YAML, into plain
// values: map[string]any, []any, string, bool, int64, float64 and nil.
// YAML's short-form tags become their long form ({"Ref": …},
// {"Fn::Sub": …}), as CloudFormation reads them.
func parseTemplate(data []byte) (map[string]any, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("the template is empty")
	}
	var root any
	if trimmed[0] == '{' {
		v, err := parseJSON(trimmed)
		if err != nil {
			return nil, fmt.Errorf("the template is not valid JSON: %w", err)
		}
		root = v
	} else {
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("the template is not valid YAML: %w", err)
		}
		c := &yamlConverter{}
		v, err := c.convert(&doc)
		if err != nil {
			return nil, fmt.Errorf("the template is not valid YAML: %w", err)
		}
		root = v
	}
	m, ok := root.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the template is a %s, not a mapping with Resources", kindOf(root))
	}
	return m, nil
}

func parseJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("text after the JSON document")
	}
	return fromJSON(v), nil
}

// fromJSON turns encoding/json's numbers into int64 or float64.
func fromJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = fromJSON(e)
		}
	case []any:
		for i, e := range v {
			v[i] = fromJSON(e)
		}
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	}
	return v
}

type yamlConverter struct{ nodes, depth int }

func (c *yamlConverter) convert(n *yaml.Node) (any, error) {
	if c.nodes++; c.nodes > maxTemplateNodes {
		return nil, fmt.Errorf("the document expands to more than %d values", maxTemplateNodes)
	}
	if c.depth++; c.depth > maxTemplateDepth {
		return nil, fmt.Errorf("line %d: values nest more than %d deep", n.Line, maxTemplateDepth)
	}
	defer func() { c.depth-- }()
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.convert(n.Content[0])
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, fmt.Errorf("line %d: an alias to nothing", n.Line)
		}
		return c.convert(n.Alias)
	}
	v, err := c.plain(n)
	if err != nil {
		return nil, err
	}
	if !isShortForm(n.Tag) {
		return v, nil
	}
	name := strings.TrimPrefix(n.Tag, "!")
	switch {
	case name == "Ref" || name == "Condition":
	case name == "GetAtt" && n.Kind == yaml.ScalarNode:
		// !GetAtt Resource.Attribute: the attribute may itself hold dots.
		res, attr, _ := strings.Cut(n.Value, ".")
		v, name = []any{res, attr}, "Fn::GetAtt"
	default:
		name = "Fn::" + name
	}
	return map[string]any{name: v}, nil
}

// isShortForm reports whether tag is a CloudFormation short form (!Ref,
// !Sub, …) rather than one of YAML's own (!!str, …).
func isShortForm(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}

// plain converts n as if it had no short-form tag.
func (c *yamlConverter) plain(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a mapping key must be a plain value", k.Line)
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("line %d: key %q is given twice", k.Line, k.Value)
			}
			cv, err := c.convert(v)
			if err != nil {
				return nil, err
			}
			m[k.Value] = cv
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			cv, err := c.convert(e)
			if err != nil {
				return nil, err
			}
			l = append(l, cv)
		}
		return l, nil
	case yaml.ScalarNode:
		if isShortForm(n.Tag) {
			return n.Value, nil
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		switch v := v.(type) {
		case int:
			return int64(v), nil
		case nil, string, bool, int64, float64:
			return v, nil
		case uint64:
			return float64(v), nil
		}
		// Timestamps, binary: CloudFormation reads them as text.
		return n.Value, nil
	}
	return nil, fmt.Errorf("line %d: an unexpected YAML node", n.Line)
}

// kindOf names a parsed value's kind for messages.
func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "mapping"
	case []any:
		return "list"
	case string:
		return "string"
	case bool:
		return "boolean"
	case int64, float64:
		return "number"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
