package spec

import (
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Resolve applies defaults to c and validates the result, returning the
// effective cluster or every problem found.
func Resolve(c Cluster) (Cluster, error) {
	eff := c.WithDefaults()
	if errs := eff.Validate(); len(errs) > 0 {
		return Cluster{}, errs
	}
	return eff, nil
}

// Load decodes, defaults and validates kinfra:cluster for the stack's
// region. Every problem comes back in one list, sorted by field path: what
// the decoder refused (unknown keys, wrong types, explicit zeros) and what
// validation finds in the rest.
func Load(clusterJSON []byte, region string) (Cluster, error) {
	d := decode(clusterJSON)
	if d.fatal {
		return Cluster{}, d.errs
	}
	errs := d.errs
	c := d.cluster
	if c.Region != "" && region != "" && c.Region != region {
		errs.Addf("cluster.region", "%q differs from aws:region %q; remove it (the stack's aws:region is the region)", c.Region, region)
	}
	// aws:region is the only source: it is what the AWS provider deploys to.
	c.Region = region
	eff := c.WithDefaults()
	for _, e := range eff.Validate() {
		if !d.hides(e) {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		sortByPath(errs)
		return Cluster{}, errs
	}
	return eff, nil
}

// hides reports whether a validation problem is about a value the decoder
// refused: it is reported there already, and a check of the default (an
// explicit zero's) or of nothing (an unreadable value's) would mislead.
// Checks that name an unreadable field are hidden too: by its path
// anywhere, or by its camelCase key in a sibling field's message (e.g. "use
// 0 to maxSize (0)" at minSize when maxSize was a string).
func (d decoded) hides(e validate.FieldError) bool {
	under := func(p string) bool {
		return e.Path == p || strings.HasPrefix(e.Path, p+".") || strings.HasPrefix(e.Path, p+"[")
	}
	for _, p := range d.refused {
		if under(p) {
			return true
		}
	}
	for _, p := range d.unread {
		if under(p) || mentions(e.Message, p) || sibling(e.Path, p) && mentions(e.Message, lastKey(p)) && camelCase(lastKey(p)) {
			return true
		}
	}
	return false
}

// sibling reports whether paths a and b are fields of the same object,
// where messages name each other by their bare keys ("use 0 to maxSize").
func sibling(a, b string) bool { return parent(a) == parent(b) }

func parent(path string) string {
	for indexSuffix.MatchString(path) {
		path = indexSuffix.ReplaceAllString(path, "")
	}
	return path[:max(0, strings.LastIndex(path, "."))]
}

// camelCase keys (maxSize, vpcCidr) are distinctive enough to find in a
// message; plain words (name, count, type) are not.
func camelCase(key string) bool { return strings.ToLower(key) != key }

var indexSuffix = regexp.MustCompile(`\[[^\]]*\]$`)

// lastKey is the field name a path ends in: maxSize for
// cluster.nodePools[0].maxSize, instanceTypes for ….instanceTypes[1].
func lastKey(path string) string {
	for indexSuffix.MatchString(path) {
		path = indexSuffix.ReplaceAllString(path, "")
	}
	return path[strings.LastIndex(path, ".")+1:]
}

func mentions(msg, key string) bool {
	for i := strings.Index(msg, key); i >= 0; {
		end := i + len(key)
		if (i == 0 || !isWordByte(msg[i-1])) && (end == len(msg) || !isWordByte(msg[end])) {
			return true
		}
		next := strings.Index(msg[i+1:], key)
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return false
}

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// sortByPath orders problems by field path as the decoder walks them: keys
// alphabetically, list indexes by number; problems of one path keep their
// order.
func sortByPath(errs validate.Errors) {
	keys := make([][]string, len(errs))
	for i, e := range errs {
		keys[i] = pathParts(e.Path)
	}
	idx := make([]int, len(errs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return lessParts(keys[idx[a]], keys[idx[b]]) })
	sorted := make(validate.Errors, len(errs))
	for i, j := range idx {
		sorted[i] = errs[j]
	}
	copy(errs, sorted)
}

var pathPart = regexp.MustCompile(`\[[0-9]+\]|\["(?:[^"\\]|\\.)*"\]|[^.\[]+`)

func pathParts(p string) []string { return pathPart.FindAllString(p, -1) }

func lessParts(a, b []string) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] {
			continue
		}
		ai, aErr := strconv.Atoi(strings.Trim(a[i], "[]"))
		bi, bErr := strconv.Atoi(strings.Trim(b[i], "[]"))
		if aErr == nil && bErr == nil && strings.HasPrefix(a[i], "[") && strings.HasPrefix(b[i], "[") {
			return ai < bi
		}
		return a[i] < b[i]
	}
	return len(a) < len(b)
}
