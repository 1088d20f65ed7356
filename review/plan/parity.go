package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/spec"
)

// ExpectedToDiffer are the config paths that differ between regions by
// nature: names, addresses and zones. Parity lists them apart from the
// other differences, which are choices a reviewer should see. A path covers
// everything below it; [*] matches any node pool (or list element).
var ExpectedToDiffer = []string{
	"name",                      // one cluster name per stack
	"region",                    // the stack's aws:region
	"privateDomain",             // <name>.k8s.internal by default
	"network.vpcCidr",           // each region its own address space
	"network.availabilityZones", // zone names are per region
	"network.existing",          // adopted VPC and subnet IDs are per region
	"network.import",            // imported resource IDs are per region
	"kubernetes.podCidr",        // each region its own pod addresses
	"kubernetes.serviceCidr",    // and Service addresses
	"api.accessCidrs",           // default: the VPC CIDR
	"api.publicName",            // one public API name per cluster
	"api.publicZoneId",          // and the zone that holds it
	"nodePools[*].zones",        // zone names are per region
}

// Parity cell values besides a config value.
const (
	// ParityAbsent is a path its stack does not set while the enclosing
	// object is there (an optional field, a pool another stack lacks).
	ParityAbsent = "(absent)"
	// ParityPresent is an object or node pool that its stack has.
	ParityPresent = "present"
)

// ParityReport lists the effective config paths whose values differ between
// stacks.
type ParityReport struct {
	// Stacks are the compared stacks, sorted: the table's columns.
	Stacks []string `json:"stacks"`
	// Differ are the differences to review.
	Differ []ParityRow `json:"differ"`
	// Expected are the differences on ExpectedToDiffer paths.
	Expected []ParityRow `json:"expectedToDiffer"`
	// ExpectedPaths is ExpectedToDiffer, for the record.
	ExpectedPaths []string `json:"expectedPaths"`
}

// ParityRow is one differing path and its value per stack: the value, or
// ParityAbsent, or ParityPresent for an object only some stacks have.
// Stacks lacking the enclosing object (a node pool) have no value.
type ParityRow struct {
	Path   string            `json:"path"`
	Values map[string]string `json:"values"`
}

// EffectiveConfig is a stack's kinfra:cluster decoded, defaulted and
// validated for its region: the config `kinfra plan --config` prints (the
// program loads it the same way, before registering any resource).
func EffectiveConfig(sf stackfile.File) (spec.Cluster, error) {
	raw, ok := sf.Config[stackfile.ClusterKey]
	if !ok {
		return spec.Cluster{}, fmt.Errorf("%s: no %s", sf.Path, stackfile.ClusterKey)
	}
	c, err := spec.Load([]byte(raw), sf.Config[stackfile.RegionKey])
	if err != nil {
		return spec.Cluster{}, fmt.Errorf("stack %s: %w", sf.Name, err)
	}
	return c, nil
}

// ParityOfDir compares every stack file (Pulumi.*.yaml) of a directory.
func ParityOfDir(stackDir string) (ParityReport, error) {
	files, err := stackfile.Files(stackDir)
	if err != nil {
		return ParityReport{}, err
	}
	if len(files) == 0 {
		return ParityReport{}, fmt.Errorf("%w: no stack files (Pulumi.*.yaml) in %s", stackfile.ErrUsage, stackDir)
	}
	configs := map[string]spec.Cluster{}
	for _, f := range files {
		sf, err := stackfile.Load(f)
		if err != nil {
			return ParityReport{}, err
		}
		c, err := EffectiveConfig(sf)
		if err != nil {
			return ParityReport{}, err
		}
		configs[sf.Name] = c
	}
	return Parity(configs)
}

// StackDirOf is the directory of stack files --dir names: dir itself when
// it holds stack files, else the stack config directory of the project
// containing dir.
func StackDirOf(dir string) (string, error) {
	if files, _ := filepath.Glob(filepath.Join(dir, "Pulumi.*.yaml")); len(files) > 0 {
		return dir, nil
	}
	_, stackDir, err := stackfile.FindProject(dir)
	return stackDir, err
}

// parityNode is one path of a flattened config.
type parityNode struct {
	leaf   bool
	value  string
	parent string // the enclosing object's path; "" at the top
}

// Parity compares effective configs by stack name.
func Parity(configs map[string]spec.Cluster) (ParityReport, error) {
	rep := ParityReport{Stacks: []string{}, Differ: []ParityRow{}, Expected: []ParityRow{}, ExpectedPaths: ExpectedToDiffer}
	flat := map[string]map[string]parityNode{}
	paths := map[string]bool{}
	for name, c := range configs {
		rep.Stacks = append(rep.Stacks, name)
		nodes, err := flattenConfig(c)
		if err != nil {
			return rep, fmt.Errorf("stack %s: %w", name, err)
		}
		flat[name] = nodes
		for p := range nodes {
			paths[p] = true
		}
	}
	sort.Strings(rep.Stacks)
	sorted := make([]string, 0, len(paths))
	for p := range paths {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	for _, path := range sorted {
		parent := ""
		for _, s := range rep.Stacks {
			if n, ok := flat[s][path]; ok {
				parent = n.parent
			}
		}
		row := ParityRow{Path: path, Values: map[string]string{}}
		values := map[string]bool{}
		allInterior, differs := true, false
		for _, s := range rep.Stacks {
			n, ok := flat[s][path]
			_, parentOK := flat[s][parent]
			switch {
			case ok && n.leaf:
				row.Values[s], allInterior = n.value, false
				values[n.value] = true
			case ok:
				row.Values[s] = ParityPresent
			case parent == "" || parentOK:
				// The enclosing object is there, this path is not.
				row.Values[s] = ParityAbsent
				differs = true
			}
		}
		if !allInterior {
			differs = differs || len(values) > 1
			// An object in one stack, a value in another.
			for _, s := range rep.Stacks {
				if n, ok := flat[s][path]; ok && !n.leaf {
					differs = true
				}
			}
		}
		if !differs {
			continue
		}
		if expectedToDiffer(path) {
			rep.Expected = append(rep.Expected, row)
		} else {
			rep.Differ = append(rep.Differ, row)
		}
	}
	return rep, nil
}

// flattenConfig maps every path of a config (objects and leaves) to its
// node. Lists of objects with unique names (node pools) are keyed by name,
// other lists of objects by index; lists of values are one value.
func flattenConfig(c spec.Cluster) (map[string]parityNode, error) {
	js, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	out := map[string]parityNode{}
	var walk func(v any, path, parent string)
	walk = func(v any, path, parent string) {
		switch t := v.(type) {
		case map[string]any:
			if path != "" {
				out[path] = parityNode{parent: parent}
			}
			for k, e := range t {
				switch {
				case strings.ContainsAny(k, ".[]\"\\"):
					// Label, tag and eviction keys: imagefs.available.
					q, _ := json.Marshal(k)
					walk(e, path+"["+string(q)+"]", path)
				case path == "":
					walk(e, k, path)
				default:
					walk(e, path+"."+k, path)
				}
			}
		case []any:
			if keys, ok := namedElements(t); ok {
				out[path] = parityNode{parent: parent}
				for i, e := range t {
					walk(e, path+"["+keys[i]+"]", path)
				}
				return
			}
			scalars := true
			for _, e := range t {
				switch e.(type) {
				case map[string]any, []any:
					scalars = false
				}
			}
			if !scalars {
				out[path] = parityNode{parent: parent}
				for i, e := range t {
					walk(e, fmt.Sprintf("%s[%d]", path, i), path)
				}
				return
			}
			js, _ := json.Marshal(t)
			out[path] = parityNode{leaf: true, value: string(js), parent: parent}
		case string:
			out[path] = parityNode{leaf: true, value: t, parent: parent}
		case nil:
			out[path] = parityNode{leaf: true, value: "null", parent: parent}
		default:
			out[path] = parityNode{leaf: true, value: fmt.Sprint(t), parent: parent}
		}
	}
	walk(v, "", "")
	return out, nil
}

// namedElements are the names of a list of objects that all have a unique
// string name.
func namedElements(l []any) ([]string, bool) {
	if len(l) == 0 {
		return nil, false
	}
	seen := map[string]bool{}
	keys := make([]string, len(l))
	for i, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, false
		}
		name, ok := m["name"].(string)
		if !ok || name == "" || seen[name] || strings.ContainsAny(name, "[].") {
			return nil, false
		}
		seen[name] = true
		keys[i] = name
	}
	return keys, true
}

// expectedToDiffer reports whether path is, or is under, an
// ExpectedToDiffer path.
func expectedToDiffer(path string) bool {
	general := genericIndexes(path)
	for _, e := range ExpectedToDiffer {
		if general == e || strings.HasPrefix(general, e+".") || strings.HasPrefix(general, e+"[") {
			return true
		}
	}
	return false
}

// genericIndexes replaces every [key] of a path by [*].
func genericIndexes(path string) string {
	var b strings.Builder
	in := false
	for _, r := range path {
		switch {
		case r == '[':
			in = true
			b.WriteString("[*]")
		case r == ']':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Text writes the differences as two tables, stacks as columns; "-" marks a
// stack without the enclosing object.
func (r ParityReport) Text(w io.Writer) {
	fmt.Fprintf(w, "Region parity: %d stacks (%s)\n", len(r.Stacks), strings.Join(r.Stacks, ", "))
	table := func(title string, rows []ParityRow) {
		fmt.Fprintf(w, "\n%s: %d paths\n", title, len(rows))
		if len(rows) == 0 {
			return
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprint(tw, "PATH")
		for _, s := range r.Stacks {
			fmt.Fprintf(tw, "\t%s", s)
		}
		fmt.Fprintln(tw)
		for _, row := range rows {
			fmt.Fprint(tw, row.Path)
			for _, s := range r.Stacks {
				v, ok := row.Values[s]
				if !ok {
					v = "-"
				}
				fmt.Fprintf(tw, "\t%s", v)
			}
			fmt.Fprintln(tw)
		}
		_ = tw.Flush()
	}
	table("Differences to review", r.Differ)
	table("Expected to differ per region", r.Expected)
}

// JSON writes the report as one indented JSON object.
func (r ParityReport) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
