package plan

import "github.com/kinfra-dev/kinfra/internal/mockaws"

// inputTag is mockaws.Tag under the name diff.go still calls it by; it goes
// once diff.go reads tags with mockaws.Tags and the internal/tags readers.
func inputTag(inputs map[string]any, key string) (string, bool) { return mockaws.Tag(inputs, key) }
