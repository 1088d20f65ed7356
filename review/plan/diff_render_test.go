package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/spec"
)

func TestPlanJSONReadsBackForDiffing(t *testing.T) {
	p := diffCluster()
	p.Config = &spec.Cluster{Name: "c", Masters: spec.Masters{Count: 3}}
	var buf bytes.Buffer
	require.NoError(t, p.JSON(&buf))
	back, err := ReadPlanJSON(&buf)
	require.NoError(t, err)
	require.Equal(t, "c", back.Config.Name)
	require.Empty(t, Diff(p, back).Resources, "a plan read back from JSON diffs to nothing against itself")

	for name, doc := range map[string]string{"not JSON": "nope", "no resources": `{"stack": "x"}`, "wrong shape": `{"resources": 3}`} {
		_, err := ReadPlanJSON(strings.NewReader(doc))
		require.Error(t, err, name)
	}
	p2, err := ReadPlanJSON(strings.NewReader(`{"stack": "x", "config": {"masters": "not an object"}, "resources": []}`))
	require.NoError(t, err, "a config that no longer decodes is dropped, not fatal")
	require.Nil(t, p2.Config)
}

func TestTextShowsCountsFlagsThenChanges(t *testing.T) {
	old, new := diffCluster(), diffCluster()
	diffEdit(t, new, dtVolume, "c-etcd-0", func(r *mockaws.Resource) {
		r.Inputs["availabilityZone"] = "r-1b"
		r.Options.Protect = false
	})
	var out bytes.Buffer
	Diff(old, new).Text(&out)
	s := out.String()
	require.True(t, strings.HasPrefix(s, "Plan diff of stack test: 0 to add, 0 to remove, 1 to replace, 0 to update, "), s)
	require.Contains(t, s, "Dangerous changes: 3 errors, 0 warnings")
	require.Contains(t, s, "error   diff/etcd-volume-replaced  "+diffURN(dtVolume, "c-etcd-0"))
	require.Contains(t, s, "+- replace c-etcd-0  (aws:ebs/volume:Volume)")
	require.Contains(t, s, `availabilityZone: "r-1a" → "r-1b"  [forces replacement]`)
	require.Contains(t, s, "options.protect: true → false")
	require.Contains(t, s, "replaced because of availabilityZone; Pulumi creates the new one, then deletes the old one")
	require.Less(t, strings.Index(s, "Dangerous changes"), strings.Index(s, "Changes:"))
}

func TestMarkdownIsACommentWithCountsDangerFirstAndCollapsedDetails(t *testing.T) {
	old, new := diffCluster(), diffCluster()
	diffEdit(t, new, dtGroup, "c-master-0", func(r *mockaws.Resource) {
		r.Inputs["vpcZoneIdentifiers"] = []any{diffID(dtSubnet, "c-private-r-1b")}
	})
	diffEdit(t, new, dtGroup, "c-pool-general", func(r *mockaws.Resource) { r.Inputs["maxSize"] = 20.0 })
	var out bytes.Buffer
	Diff(old, new).Markdown(&out)
	s := out.String()
	require.True(t, strings.HasPrefix(s, "## kinfra plan diff: `test`\n"), s)
	require.Contains(t, s, "| added | removed | replaced | updated | unchanged |\n|---:|---:|---:|---:|---:|\n| 0 | 0 | 0 | 2 | ")
	require.Contains(t, s, "### Dangerous changes\n\n- :x: **error** `diff/master-slot-moved` `c-master-0`: ")
	require.Contains(t, s, "<details><summary><code>~ update</code> <b>c-master-0</b> <code>aws:autoscaling/group:Group</code></summary>")
	require.Contains(t, s, "| `vpcZoneIdentifiers[0]` | `\"id-")
	require.Contains(t, s, "</details>")
	require.Less(t, strings.Index(s, "### Dangerous changes"), strings.Index(s, "### Changes"))
}

func TestMarkdownStaysWithinACommentForHugeDiffs(t *testing.T) {
	old, new := EmptyPlan("test"), EmptyPlan("test")
	for i := range 3000 {
		name := fmt.Sprintf("q-%04d", i)
		old.Resources = append(old.Resources, diffCustom("aws:sqs/queue:Queue", name, map[string]any{"delaySeconds": 0.0, "tags": map[string]any{"Name": name}}))
		new.Resources = append(new.Resources, diffCustom("aws:sqs/queue:Queue", name, map[string]any{"delaySeconds": 5.0, "tags": map[string]any{"Name": name}}))
	}
	var out bytes.Buffer
	Diff(old, new).Markdown(&out)
	require.Less(t, out.Len(), 65536)
	require.Contains(t, out.String(), "more changed resources, left out to fit a comment")
}

func TestDiffJSONHasTheDocumentedShape(t *testing.T) {
	old, new := diffCluster(), diffCluster()
	diffEdit(t, new, dtVpc, "c-vpc", func(r *mockaws.Resource) { r.Inputs["cidrBlock"] = "10.9.0.0/16" })
	var out bytes.Buffer
	require.NoError(t, Diff(old, new).JSON(&out))
	var raw map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &raw))
	for _, k := range []string{"stack", "summary", "flags", "resources", "notes"} {
		require.Contains(t, raw, k)
	}
	summary := raw["summary"].(map[string]any)
	for _, k := range []string{"added", "removed", "replaced", "updated", "unchanged"} {
		require.Contains(t, summary, k)
	}
	require.Positive(t, summary["replaced"])
	first := raw["resources"].([]any)[0].(map[string]any)
	for _, k := range []string{"urn", "type", "name", "action", "changes", "options", "replaceReasons"} {
		require.Contains(t, first, k)
	}
	flag := raw["flags"].([]any)[0].(map[string]any)
	for _, k := range []string{"rule", "severity", "resource", "message"} {
		require.Contains(t, flag, k)
	}
}
