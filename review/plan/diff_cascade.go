package plan

import (
	"strings"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// unknownPrefix marks an input that takes a replaced resource's new ID:
// "[unknown-id-of:<urn>]".
const unknownPrefix = "[unknown-id-of:"

type idNeedle struct{ s, urn string }

// cascadeReplacements marks what a replacement replaces in turn, and says
// whether any input took a replaced resource's new ID. A replaced resource
// gets a new ID (and ARN), unknown until it exists: whatever references it
// changes too, and is replaced in turn when that input forces replacement.
// Offline IDs are derived from type and name, so they are the same in both
// plans; mark them unknown.
func (m *matching) cascadeReplacements() (cascaded bool) {
	pairBy := make(map[string]*pair, len(m.pairs))
	for _, p := range m.pairs {
		pairBy[p.new.URN] = p
	}
	for changed := true; changed; {
		changed = false
		// Pulumi replaces every resource of a replaced provider.
		for _, p := range m.pairs {
			if prov := pairBy[p.new.Options.Provider]; p.diff.Action != ActionReplace && prov != nil && prov.diff.Action == ActionReplace {
				p.diff.ReplaceReasons = appendUnique(p.diff.ReplaceReasons, "provider "+prov.new.Name+" is replaced (a replaced provider replaces every resource it manages)")
				p.diff.Action, p.diff.UpdateFails, changed = ActionReplace, nil, true
			}
		}
		var needles []idNeedle
		for _, p := range m.pairs {
			if p.diff.Action == ActionReplace && p.new.Custom {
				for _, s := range resourceNeedles(p.new) {
					needles = append(needles, idNeedle{s: s, urn: p.new.URN})
				}
			}
		}
		if len(needles) == 0 {
			break
		}
		for _, p := range m.pairs {
			if p.diff.Action == ActionReplace {
				continue
			}
			eff, touched := unknownIDs(p.eff, needles, p.new.URN)
			if touched {
				p.eff = eff
				p.diff = compareResource(p.old, p.new, p.eff, m.all)
				changed, cascaded = true, true
			}
		}
	}
	return cascaded
}

// containsNeedle says whether s holds needle as a whole: not followed by
// another name character (so "x-a" is not found in "x-ab").
func containsNeedle(s, needle string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], needle)
		if j < 0 {
			return false
		}
		end := i + j + len(needle)
		if end == len(s) || !isNameChar(s[end]) {
			return true
		}
		i += j + 1
	}
}

func isNameChar(c byte) bool {
	return c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// referencesID says whether s holds one of r's offline IDs.
func referencesID(s string, r mockaws.Resource) bool {
	for _, n := range resourceNeedles(r) {
		if containsNeedle(s, n) {
			return true
		}
	}
	return false
}

// unknownIDs replaces every string in v that holds a needle (of a resource
// other than self) with the unknown marker of that resource; it copies only
// what it changes.
func unknownIDs(v map[string]any, needles []idNeedle, self string) (map[string]any, bool) {
	out, touched := unknownIn(v, needles, self)
	if !touched {
		return v, false
	}
	return out.(map[string]any), true
}

func unknownIn(v any, needles []idNeedle, self string) (any, bool) {
	switch x := v.(type) {
	case string:
		if strings.HasPrefix(x, unknownPrefix) {
			return x, false
		}
		for _, n := range needles {
			if n.urn != self && containsNeedle(x, n.s) {
				return unknownPrefix + n.urn + "]", true
			}
		}
	case map[string]any:
		var out map[string]any
		for k, e := range x {
			if ne, ok := unknownIn(e, needles, self); ok {
				if out == nil {
					out = make(map[string]any, len(x))
					for k2, e2 := range x {
						out[k2] = e2
					}
				}
				out[k] = ne
			}
		}
		if out != nil {
			return out, true
		}
	case []any:
		var out []any
		for i, e := range x {
			if ne, ok := unknownIn(e, needles, self); ok {
				if out == nil {
					out = append([]any{}, x...)
				}
				out[i] = ne
			}
		}
		if out != nil {
			return out, true
		}
	}
	return v, false
}
