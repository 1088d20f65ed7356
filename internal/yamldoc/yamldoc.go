// Package yamldoc writes the YAML documents kinfra renders (cloud-config,
// kubeadm, kubelet and Image Builder documents) the same way everywhere: two
// spaces of indent, and keys in the order written where order helps a
// reviewer.
package yamldoc

import (
	"bytes"
	"sort"
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
	}
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return nil, err
	}
	return &n, nil
}

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
