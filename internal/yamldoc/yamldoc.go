// Package yamldoc writes the YAML documents kinfra renders (cloud-config,
// kubeadm, kubelet and Image Builder documents) the same way everywhere: two
// spaces of indent, and keys in the order written where order helps a
// reviewer.
package yamldoc

import (
	"bytes"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Map keeps keys in the order written, for readable files.
type Map [][2]any

// MarshalYAML encodes m as a mapping in its own order.
func (m Map) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, kv := range m {
		k, err := node(kv[0])
		if err != nil {
			return nil, err
		}
		v, err := node(kv[1])
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, k, v)
	}
	return n, nil
}

// node is v as a YAML node. Maps and lists of them, which documents nest
// deeply, are built directly: encoding each level with its own encoder
// re-encodes every level below it (node pools' user data made this most of
// a plan's time).
func node(v any) (*yaml.Node, error) {
	switch x := v.(type) {
	case Map:
		n, err := x.MarshalYAML()
		if err != nil {
			return nil, err
		}
		return n.(*yaml.Node), nil
	case []Map:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for _, m := range x {
			c, err := node(m)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for _, e := range x {
			c, err := node(e)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	case string:
		if plainString(x) {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: x}, nil
		}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(x)}, nil
	case int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(x)}, nil
	}
	// Node.Encode marshals v and parses the text back: right for every
	// value, but the cost of a document per scalar.
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return nil, err
	}
	return &n, nil
}

// plainString reports whether s encodes as a plain scalar that every YAML
// reader takes for a string: a letter, then letters, digits and ._/-, and
// not a word YAML 1.1 (cloud-init's PyYAML) reads as a boolean or null; or
// a quantity (digits, then only letters or %: 110m, 1Gi, 10%). Other
// strings take the encoder's quoting.
func plainString(s string) bool {
	if s == "" {
		return false
	}
	if !isLetter(s[0]) {
		return isQuantity(s)
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isLetter(c) && !('0' <= c && c <= '9') && c != '.' && c != '_' && c != '/' && c != '-' {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "y", "yes", "n", "no", "true", "false", "on", "off", "null":
		return false
	}
	return true
}

// isQuantity matches digits followed by letters or % and nothing else,
// which no YAML reader takes for a number (1e3 and 0x1F end in digits).
func isQuantity(s string) bool {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == 0 || i == len(s) {
		return false
	}
	for ; i < len(s); i++ {
		if !isLetter(s[i]) && s[i] != '%' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// Sorted is m's entries as a Map in key order.
func Sorted(m map[string]string) Map {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := Map{}
	for _, k := range keys {
		out = append(out, [2]any{k, m[k]})
	}
	return out
}

// Marshal encodes v as one YAML document.
func Marshal(v any) (string, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// MarshalDocs encodes each of docs and joins them with "---".
func MarshalDocs(docs ...any) (string, error) {
	var parts []string
	for _, d := range docs {
		s, err := Marshal(d)
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "---\n"), nil
}
