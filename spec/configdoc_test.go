package spec_test

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kinfra-dev/kinfra/spec"
)

// docMinimal is the minimal stack of docs/config.md: what its "Default"
// column describes is this cluster, resolved.
var docMinimal = spec.Cluster{
	Name:    "prod-euw1",
	Region:  "eu-west-1",
	Network: spec.Network{AvailabilityZones: []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}},
	NodePools: []spec.NodePool{
		{Name: "general", MaxSize: 100},
	},
}

// docDefaultNotChecked are the cluster.… rows of docs/config.md whose
// Default cell the test cannot compare mechanically with the minimal
// cluster, and why. Every other row is checked; a row that is in neither
// set fails the test, so a new row must be classified.
var docDefaultNotChecked = map[string]string{
	"cluster.network.availabilityZones":                        "depends on the region's zones at deploy time",
	"cluster.network.azCount":                                  "a formula (len(availabilityZones), else 3)",
	"cluster.network.privateSubnetPrefixLength":                "a formula of the VPC prefix",
	"cluster.network.publicSubnetPrefixLength":                 "a formula of the VPC prefix",
	"cluster.network.flowLogs.retentionDays":                   "conditional on the destination",
	"cluster.masters.image":                                    "prose: pipeline, or a lookup when images are off",
	"cluster.masters.image.pipeline":                           "conditional on images and the lookup fields",
	"cluster.masters.image.owners":                             "lookups only (the minimal cluster boots the pipeline's image)",
	"cluster.masters.image.name":                               "lookups only (the minimal cluster boots the pipeline's image)",
	"cluster.masters.roll":                                     "no default: the key is refused",
	"cluster.cni.dataplane":                                    "calico only",
	"cluster.cni.version":                                      "pinned in components/addons, not in the spec",
	"cluster.nodePools[i].zones":                               "prose: every zone",
	"cluster.nodePools[i].image":                               "prose: pipeline, or a lookup when images are off",
	"cluster.nodePools[i].capacityRebalance":                   "conditional on spot",
	"cluster.nodePools[i].kubeReserved":                        "a formula of maxPods and the instance type",
	"cluster.nodePools[i].systemReserved":                      "a map written as prose",
	"cluster.nodePools[i].evictionHard":                        "a map written as prose",
	"cluster.kubeProxy.mode":                                   "conditional on the CNI",
	"cluster.addons.endpoint":                                  "resolved by the program from the API's names, not by the spec",
	"cluster.addons.cloudControllerManager.version` / `.image": "pinned in components/addons",
	"cluster.addons.ebsCsiDriver.version":                      "pinned in components/addons",
	"cluster.addons.ebsCsiDriver.storageClass.kmsKeyId":        "prose: the account's aws/ebs key, left unset",
	"cluster.addons.nodeTerminationHandler.enabled":            "conditional on node pools",
	"cluster.addons.clusterAutoscaler.enabled":                 "conditional on the pools' autoscaler",
	"cluster.addons.clusterAutoscaler.version` / `.image":      "pinned in components/addons",
	"cluster.network.existing.publicSubnets":                   "adopting only",
	"cluster.network.existing.routeTableIds":                   "adopting only",
}

// TestConfigDocDefaults checks docs/config.md's Default column against the
// code: each cluster.… row whose default is a literal (`10.0.0.0/16`, `[s3]`,
// `"0.5"`, a placeholder such as `<name>/etcd`, another key such as
// `minSize`), a volume ("100 GiB gp3, 3000 IOPS, 125 MiB/s") or none/unset
// must match what spec.Resolve gives the doc's minimal cluster for that key
// (the first node pool for nodePools[i]). Keys the minimal cluster sets are
// not defaults there and are skipped.
func TestConfigDocDefaults(t *testing.T) {
	doc, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	resolved, err := spec.Resolve(docMinimal)
	if err != nil {
		t.Fatalf("the doc's minimal cluster: %v", err)
	}
	got := flatten(t, resolved)
	given := flatten(t, docMinimal)

	rows := docDefaults(string(doc))
	if len(rows) < 100 {
		t.Fatalf("found %d cluster.… rows with a Default column in docs/config.md; the table parser is broken", len(rows))
	}
	var checked []string
	for _, r := range rows {
		why, skip := docDefaultNotChecked[r.key]
		v, set := given[r.key]
		if set = set && !isZero(v); set {
			skip = true
		}
		if strings.HasPrefix(r.dflt, "see ") {
			continue // an object: its keys have rows of their own
		}
		ok, msg := compareDefault(r, got)
		switch {
		case skip && ok && !set && msg == "":
			t.Errorf("%s: listed as not checked (%s), but its default %q is now checked and holds; remove it from docDefaultNotChecked", r.key, why, r.dflt)
		case skip:
		case msg == "" && !ok:
			t.Errorf("%s: the doc's default %q is not one the test can compare; write it as a literal in backticks, or list the key in docDefaultNotChecked with the reason", r.key, r.dflt)
		case !ok:
			t.Errorf("%s: docs/config.md says the default is %q, but spec.Resolve gives %s", r.key, r.dflt, msg)
		default:
			checked = append(checked, r.key)
		}
	}
	for k := range docDefaultNotChecked {
		if !slicesContainsKey(rows, k) {
			t.Errorf("%s: listed in docDefaultNotChecked, but docs/config.md has no such row", k)
		}
	}
	t.Logf("%d defaults checked against the code (%s); %d not checked", len(checked), strings.Join(checked, ", "), len(docDefaultNotChecked))
}

type docRow struct{ key, dflt string }

func slicesContainsKey(rows []docRow, k string) bool {
	for _, r := range rows {
		if r.key == k {
			return true
		}
	}
	return false
}

// docDefaults reads every table with a Default column, returning its
// cluster.… rows.
func docDefaults(doc string) []docRow {
	var rows []docRow
	col := -1
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "|") {
			col = -1
			continue
		}
		cells := tableCells(line)
		if cells[0] == "Key" {
			col = -1
			for i, c := range cells {
				if c == "Default" {
					col = i
				}
			}
			continue
		}
		if col < 0 || col >= len(cells) || !strings.HasPrefix(cells[0], "`cluster.") {
			continue
		}
		rows = append(rows, docRow{key: strings.TrimSuffix(strings.TrimPrefix(cells[0], "`"), "`"), dflt: cells[col]})
	}
	return rows
}

// tableCells splits a markdown table row on the | outside code spans.
func tableCells(line string) []string {
	var cells []string
	var cur strings.Builder
	code := false
	for _, r := range strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(line), "|"), "|") {
		switch {
		case r == '`':
			code = !code
		case r == '|' && !code:
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteRune(r)
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// flatten maps every key path of c (json names: cluster.a.b, the first
// element of a list of objects as [i]) to its value: strings, ints, bools,
// []any, map[string]any, or nil for an unset pointer.
func flatten(t *testing.T, c spec.Cluster) map[string]any {
	t.Helper()
	out := map[string]any{}
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() {
				out[path] = nil
				return
			}
			walk(path, v.Elem())
		case reflect.Struct:
			out[path] = map[string]any{}
			for i := range v.NumField() {
				f := v.Type().Field(i)
				if f.Anonymous {
					walk(path, v.Field(i)) // an add-on's enabled and version
					continue
				}
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				walk(path+"."+name, v.Field(i))
			}
		case reflect.Slice:
			list := make([]any, v.Len())
			for i := range list {
				list[i] = v.Index(i).Interface()
			}
			out[path] = list
			if v.Len() > 0 && v.Type().Elem().Kind() == reflect.Struct {
				walk(path+"[i]", v.Index(0))
			}
		case reflect.Map:
			m := map[string]any{}
			for _, k := range v.MapKeys() {
				m[k.String()] = v.MapIndex(k).Interface()
			}
			out[path] = m
		default:
			out[path] = v.Interface()
		}
	}
	walk("cluster", reflect.ValueOf(c))
	return out
}

var (
	leadingLiteral = regexp.MustCompile("^`([^`]+)`(.*)$")
	volumeDefault  = regexp.MustCompile(`^(\d+) GiB (\w+), (\d+) IOPS, (\d+) MiB/s$`)
	placeholder    = regexp.MustCompile(`<([A-Za-z.]+)>`)
	fieldName      = regexp.MustCompile(`^[a-z][A-Za-z]*$`)
)

// compareDefault compares one row's default with the resolved values. ok
// reports a match; msg, when not ok, says what the code gives ("" when the
// cell is not of a form the test reads).
func compareDefault(r docRow, got map[string]any) (ok bool, msg string) {
	cell := strings.TrimPrefix(r.dflt, "creating: ") // the minimal cluster creates its VPC
	value, present := got[r.key]
	if strings.HasPrefix(cell, "none") || strings.HasPrefix(cell, "unset") {
		if !present || isZero(value) {
			return true, ""
		}
		return false, render(value)
	}
	if m := volumeDefault.FindStringSubmatch(cell); m != nil {
		want := fmt.Sprintf("%s %s %s %s", m[1], m[2], m[3], m[4])
		have := fmt.Sprintf("%s %s %s %s", render(got[r.key+".sizeGiB"]), render(got[r.key+".type"]), render(got[r.key+".iops"]), render(got[r.key+".throughputMiBps"]))
		if want == have {
			return true, ""
		}
		return false, fmt.Sprintf("%s GiB %s, %s IOPS, %s MiB/s", strings.Fields(have)[0], strings.Fields(have)[1], strings.Fields(have)[2], strings.Fields(have)[3])
	}
	m := leadingLiteral.FindStringSubmatch(cell)
	if m == nil {
		return false, ""
	}
	lit, rest := m[1], m[2]
	// The first literal is the default of the minimal cluster when nothing
	// qualifies it, or only a remark in parentheses, or alternatives after
	// a semicolon.
	if rest != "" && !strings.HasPrefix(rest, " (") && !strings.HasPrefix(rest, "; ") {
		return false, ""
	}
	var want string
	switch {
	case strings.HasPrefix(lit, "cluster."): // another key's value
		v, ok := got[lit]
		if !ok {
			return false, ""
		}
		want = render(v)
	case fieldName.MatchString(lit) && got[parent(r.key)+"."+lit] != nil: // a sibling's value
		want = render(got[parent(r.key)+"."+lit])
	case strings.HasPrefix(lit, `"`):
		s, err := strconv.Unquote(lit)
		if err != nil {
			return false, ""
		}
		if _, isString := value.(string); !isString {
			return false, fmt.Sprintf("%s, not a string", render(value))
		}
		want = s
	default:
		want = placeholder.ReplaceAllStringFunc(lit, func(p string) string {
			name := strings.Trim(p, "<>")
			for _, k := range []string{"cluster." + name, "cluster.network." + name} {
				if v, ok := got[k]; ok {
					return render(v)
				}
			}
			return p
		})
		if strings.Contains(want, "<") {
			return false, ""
		}
	}
	if present && render(value) == want {
		return true, ""
	}
	if !present {
		return false, "no value"
	}
	return false, render(value)
}

func parent(key string) string { return key[:strings.LastIndex(key, ".")] }

// isZero: unset, or the zero of its type ("", 0, false, an empty list or map).
func isZero(v any) bool {
	r := reflect.ValueOf(v)
	return v == nil || r.IsZero() || ((r.Kind() == reflect.Slice || r.Kind() == reflect.Map) && r.Len() == 0)
}

// render writes a value as docs/config.md does: lists as [a, b].
func render(v any) string {
	switch v := v.(type) {
	case nil:
		return "unset"
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case bool:
		return strconv.FormatBool(v)
	case []string:
		return render(toAny(v))
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = render(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + render(v[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, e := range s {
		out[i] = e
	}
	return out
}
