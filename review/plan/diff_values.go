package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// diffValue appends the changes between a and b at path.
func diffValue(path string, a, b any, out *[]PropertyChange) {
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	if aIsMap && bIsMap {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			av, inA := am[k]
			bv, inB := bm[k]
			p := joinKey(path, k)
			switch {
			case inA && inB:
				diffValue(p, av, bv, out)
			case inB && bv != nil:
				*out = append(*out, PropertyChange{Path: p, Kind: "add", New: display(p, bv)})
			case inA && av != nil:
				*out = append(*out, PropertyChange{Path: p, Kind: "remove", Old: display(p, av)})
			}
		}
		return
	}
	al, aIsList := a.([]any)
	bl, bIsList := b.([]any)
	if aIsList && bIsList {
		for i := 0; i < max(len(al), len(bl)); i++ {
			p := path + "[" + strconv.Itoa(i) + "]"
			switch {
			case i < len(al) && i < len(bl):
				diffValue(p, al[i], bl[i], out)
			case i < len(bl):
				*out = append(*out, PropertyChange{Path: p, Kind: "add", New: display(p, bl[i])})
			default:
				*out = append(*out, PropertyChange{Path: p, Kind: "remove", Old: display(p, al[i])})
			}
		}
		return
	}
	if !diffEqual(a, b) {
		c := PropertyChange{Path: path, Kind: "change", Old: display(path, a), New: display(path, b)}
		if s, ok := b.(string); ok && strings.HasPrefix(s, unknownPrefix) {
			c.Via = strings.TrimSuffix(strings.TrimPrefix(s, unknownPrefix), "]")
			c.New = "[unknown until " + shortName(c.Via) + " is replaced]"
		}
		*out = append(*out, c)
	}
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// joinKey appends a map key to a path: tags.Name, tags["kinfra.dev/role"].
func joinKey(path, key string) string {
	if identifier.MatchString(key) {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	q, _ := json.Marshal(key)
	return path + "[" + string(q) + "]"
}

// parsePath splits a Pulumi property path (a.b, a[0], a["k.x"], a[*]) into
// its segments.
func parsePath(p string) []string {
	var out []string
	for i := 0; i < len(p); {
		switch p[i] {
		case '.':
			i++
		case '[':
			j := i + 1
			if j < len(p) && p[j] == '"' {
				// A quoted key: find the closing quote.
				k := j + 1
				for k < len(p) && (p[k] != '"' || p[k-1] == '\\') {
					k++
				}
				var key string
				if err := json.Unmarshal([]byte(p[j:min(k+1, len(p))]), &key); err != nil {
					key = p[j+1 : min(k, len(p))]
				}
				out = append(out, key)
				i = min(k+2, len(p)) // past `"]`
			} else {
				k := strings.IndexByte(p[j:], ']')
				if k < 0 {
					out = append(out, p[j:])
					return out
				}
				out = append(out, p[j:j+k])
				i = j + k + 1
			}
		default:
			j := i
			for j < len(p) && p[j] != '.' && p[j] != '[' {
				j++
			}
			out = append(out, p[i:j])
			i = j
		}
	}
	return out
}

func parsePaths(ps []string) [][]string {
	out := make([][]string, len(ps))
	for i, p := range ps {
		out[i] = parsePath(p)
	}
	return out
}

// pathMatchesAny says whether path is at or below one of the prefixes ("*"
// matches any one segment).
func pathMatchesAny(path string, prefixes [][]string) bool {
	segs := parsePath(path)
	for _, pre := range prefixes {
		if len(pre) == 0 || len(pre) > len(segs) {
			continue
		}
		match := true
		for i, s := range pre {
			if s != "*" && s != segs[i] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// diffUnderPath says whether path is prop or below it.
func diffUnderPath(path, prop string) bool { return pathMatchesAny(path, [][]string{parsePath(prop)}) }

// diffCanonical is a value's canonical JSON, for comparisons between plans
// read from JSON and plans made in process.
func diffCanonical(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func diffEqual(a, b any) bool { return diffCanonical(a) == diffCanonical(b) }

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x == "true"
	}
	return false
}

// Value rendering limits.
const (
	maxValueLen = 80
	keepLen     = 48
)

// display renders a value for a reviewer: JSON, shortened; user data
// (base64 gzip) by its length and hash.
func display(path string, v any) string {
	if v == nil {
		return "null"
	}
	segs := parsePath(path)
	last := ""
	if len(segs) > 0 {
		last = segs[len(segs)-1]
	}
	if s, ok := v.(string); ok {
		if s == mockaws.Secret || s == mockaws.Unknown {
			return s
		}
		if last == "userData" || last == "userDataBase64" {
			return fmt.Sprintf("<user data: %d bytes, sha256 %s>", len(s), shortHash(s))
		}
		if len(s) > maxValueLen {
			q, _ := json.Marshal(s[:keepLen])
			return fmt.Sprintf("%s… (%d chars, sha256 %s)", strings.TrimSuffix(string(q), `"`), len(s), shortHash(s))
		}
		q, _ := json.Marshal(s)
		return string(q)
	}
	return shorten(diffCanonical(v))
}

// shorten cuts a rendered value as display does.
func shorten(c string) string {
	if len(c) > maxValueLen {
		return fmt.Sprintf("%s… (%d chars, sha256 %s)", c[:keepLen], len(c), shortHash(c))
	}
	return c
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:12]
}

// shortName is the resource name at the end of a URN.
func shortName(urn string) string {
	if i := strings.LastIndex(urn, "::"); i >= 0 {
		return urn[i+2:]
	}
	return urn
}
