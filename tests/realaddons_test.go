package tests

// Every Kubernetes object the add-ons component creates itself, for every
// CNI × kube-proxy mode combination (addonMatrix) and every committed stack,
// applied to the real API server of realcontrolplane_test.go's control plane
// with server-side apply (as the add-ons' provider applies them) in
// server-side dry-run: the API server decodes, defaults, validates and
// admits each object as it would at `pulumi up`, without storing it.

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// realAddonObjects are the Kubernetes objects among recorded resources
// that kinfra creates itself (not Helm releases, whose contents a chart
// renders at deploy time), as manifests, by "<kind>-<resource name>".
func realAddonObjects(t testing.TB, rs []mockaws.Resource) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, r := range rs {
		parts := strings.Split(r.Type, ":")
		if len(parts) != 3 || parts[0] != "kubernetes" || parts[1] == "helm.sh/v3" {
			continue
		}
		o := r.Inputs
		gv := strings.TrimPrefix(parts[1], "core/")
		require.Equal(t, gv, o["apiVersion"], "%s %s: apiVersion", r.Type, r.Name)
		require.Equal(t, parts[2], o["kind"], "%s %s: kind", r.Type, r.Name)
		key := parts[2] + "-" + r.Name
		require.NotContains(t, out, key)
		out[key] = o
	}
	return out
}

func TestRealAPIServerAcceptsEveryAddonObject(t *testing.T) {
	realControlPlaneTools(t)
	// The objects, by case: every combination, then every committed stack.
	type addonSet struct {
		name    string
		objects map[string]map[string]any
	}
	var sets []addonSet
	for _, tc := range addonMatrix {
		sets = append(sets, addonSet{tc.name, realAddonObjects(t, deployAddons(t, addonCluster(t, tc)))})
	}
	for _, name := range realStackNames(t) {
		sets = append(sets, addonSet{"stack-" + name, realAddonObjects(t, planStack(t, name).Resources)})
	}

	c := newRealCluster(t, loadRealStack(t, "us-east-1"))
	a := c.startControlPlane(t)
	admin, _ := a.adminKubeconfig(t, fmt.Sprintf("https://%s:6443", c.stack.apiName()))

	// What the API server serves; objects of other API versions are custom
	// resources whose definitions a chart installs.
	out, err := a.run(admin, "api-versions")
	require.NoError(t, err)
	served := map[string]bool{}
	servedGroups := map[string]bool{}
	for _, gv := range strings.Fields(out) {
		served[gv] = true
		if g, _, ok := strings.Cut(gv, "/"); ok {
			servedGroups[g] = true
		}
	}

	// Namespaces the objects live in are created for real first: a dry run
	// cannot create the namespace of another object.
	existing := map[string]bool{}
	out, err = a.run(admin, "get", "namespaces", "-o", "jsonpath={.items[*].metadata.name}")
	require.NoError(t, err)
	for _, ns := range strings.Fields(out) {
		existing[ns] = true
	}
	var created []string
	for _, set := range sets {
		for _, o := range set.objects {
			md, _ := o["metadata"].(map[string]any)
			if ns, ok := md["namespace"].(string); ok && !existing[ns] {
				_, err := a.run(admin, "create", "namespace", ns)
				require.NoError(t, err)
				existing[ns] = true
				created = append(created, ns)
			}
		}
	}
	t.Logf("namespaces created for the add-ons' objects: %v", created)

	unchecked := map[string][]string{} // API version and kind -> resources
	kinds := map[string]bool{}
	total := 0
	for _, set := range sets {
		t.Run(set.name, func(t *testing.T) {
			dir := filepath.Join(c.dir, "addons", set.name)
			require.NoError(t, os.MkdirAll(dir, 0o755))
			n := 0
			for _, name := range sortedKeys(set.objects) {
				o := set.objects[name]
				gv := o["apiVersion"].(string)
				if !served[gv] {
					group, _, _ := strings.Cut(gv, "/")
					require.False(t, servedGroups[group] || !strings.Contains(gv, "/"),
						"%s (%s %s): the API server serves group %s, but not this version", name, gv, o["kind"], group)
					k := gv + " " + o["kind"].(string)
					unchecked[k] = append(unchecked[k], set.name)
					continue
				}
				kinds[o["kind"].(string)] = true
				b, err := yaml.Marshal(o)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(dir, name+".yaml"), b, 0o600))
				n++
			}
			require.NotZero(t, n)
			out, err := a.run(admin, "apply", "--server-side", "--dry-run=server", "--field-manager=kinfra-real-test", "-f", dir)
			require.NoError(t, err, "the API server rejected add-on objects of %s", set.name)
			require.Equal(t, n, strings.Count(out, "serverside-applied (server dry run)"), out)
			total += n
		})
	}
	// Every kind kinfra creates itself went to the API server.
	for _, k := range []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet", "Deployment", "StorageClass", "NetworkPolicy"} {
		require.True(t, kinds[k], "no %s among the add-on objects", k)
	}
	var list []string
	for k, in := range unchecked {
		list = append(list, fmt.Sprintf("%s (in %s)", k, strings.Join(in, ", ")))
	}
	sort.Strings(list)
	t.Logf("%d add-on objects of %d sets accepted by kube-apiserver (server-side apply, server dry run)", total, len(sets))
	t.Logf("custom resources whose CRD comes from a chart, not checked by the API server: %s", strings.Join(list, "; "))

	// The same apply rejects a broken object: an unknown field (strict
	// field validation) and an invalid value.
	var daemonSet, deployment map[string]any
	for _, name := range sortedKeys(sets[0].objects) {
		o := sets[0].objects[name]
		switch {
		case o["kind"] == "DaemonSet" && daemonSet == nil:
			daemonSet = realDeepCopy(t, o)
		case o["kind"] == "Deployment" && deployment == nil:
			deployment = realDeepCopy(t, o)
		}
	}
	require.NotNil(t, daemonSet)
	require.NotNil(t, deployment)
	daemonSet["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["hostNetwrok"] = true
	deployment["spec"].(map[string]any)["replicas"] = -1
	for _, tc := range []struct {
		object  map[string]any
		refusal string
	}{
		{daemonSet, ".spec.template.spec.hostNetwrok: field not declared in schema"},
		{deployment, "spec.replicas: Invalid value: -1"},
	} {
		b, err := yaml.Marshal(tc.object)
		require.NoError(t, err)
		f := filepath.Join(c.dir, "addons", "broken.yaml")
		require.NoError(t, os.WriteFile(f, b, 0o600))
		_, err = a.run(admin, "apply", "--server-side", "--dry-run=server", "--field-manager=kinfra-real-test", "-f", f)
		require.ErrorContains(t, err, tc.refusal)
		t.Logf("broken %s rejected: %s", tc.object["kind"], tc.refusal)
	}
}

func realSortedKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func realDeepCopy(t *testing.T, o map[string]any) map[string]any {
	t.Helper()
	b, err := yaml.Marshal(o)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, yaml.Unmarshal(b, &out))
	return out
}
