package plan

import (
	"strconv"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// pairRenames marks each added resource that matches a removed one of the
// same type: identical inputs, or at least 90% of their input paths equal.
func pairRenames(removed, added []ResourceDiff, oldBy, newBy map[string]mockaws.Resource) {
	used := map[int]bool{}
	removedLeaves := make([]map[string]string, len(removed))
	for ri := range removed {
		removedLeaves[ri] = map[string]string{}
		leaves("", oldBy[removed[ri].URN].Inputs, removedLeaves[ri])
	}
	for ai := range added {
		al := map[string]string{}
		leaves("", newBy[added[ai].URN].Inputs, al)
		best, bestScore := -1, 0.0
		for ri := range removed {
			if used[ri] || removed[ri].Type != added[ai].Type {
				continue
			}
			score := similarity(removedLeaves[ri], al)
			if score > bestScore {
				best, bestScore = ri, score
			}
		}
		if best >= 0 && bestScore >= 0.9 {
			used[best] = true
			added[ai].RenamedFrom = removed[best].URN
			removed[best].RenamedTo = added[ai].URN
		}
	}
}

// similarity is the share of input leaves (paths and values) two resources
// have in common: 1 for equal inputs (including two empty ones).
func similarity(la, lb map[string]string) float64 {
	if len(la) == 0 && len(lb) == 0 {
		return 1
	}
	same := 0
	for k, v := range la {
		if w, ok := lb[k]; ok && w == v {
			same++
		}
	}
	return float64(same) / float64(max(len(la), len(lb)))
}

func leaves(path string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			leaves(joinKey(path, k), e, out)
		}
	case []any:
		for i, e := range x {
			leaves(path+"["+strconv.Itoa(i)+"]", e, out)
		}
	default:
		out[path] = diffCanonical(v)
	}
}
