package stackfile

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// nonFinite finds YAML's .inf and .nan in a stack file's config, which
// Pulumi's loader refuses with its JSON encoder's words ("unsupported
// value: +Inf"), and names each by its config path (kinfra:cluster's as
// cluster.…). It returns nil when there is none.
func nonFinite(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	var found []string
	var walk func(n *yaml.Node, at string)
	walk = func(n *yaml.Node, at string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key := n.Content[i].Value
				next := at + "." + key
				if at == "" {
					next = key
					if key == "kinfra:cluster" {
						next = "cluster"
					}
				}
				walk(n.Content[i+1], next)
			}
		case yaml.SequenceNode:
			for i, e := range n.Content {
				walk(e, fmt.Sprintf("%s[%d]", at, i))
			}
		case yaml.ScalarNode:
			if v := strings.ToLower(strings.TrimLeft(n.Value, "+-")); n.Tag == "!!float" && (v == ".inf" || v == ".nan") {
				found = append(found, fmt.Sprintf("%s: %s: %s is not a number a config value can hold; use a whole number", path, at, n.Value))
			}
		}
	}
	root := doc.Content[0]
	for i := 0; root.Kind == yaml.MappingNode && i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "config" {
			walk(root.Content[i+1], "")
		}
	}
	if len(found) == 0 {
		return nil
	}
	return errors.New(strings.Join(found, "\n"))
}
