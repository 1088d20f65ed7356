package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/components/addons"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/internal/testtools"
	"github.com/kinfra-dev/kinfra/review/plan"
	"github.com/kinfra-dev/kinfra/spec"
)

// addonCase is one CNI × kube-proxy combination kinfra supports.
type addonCase struct {
	name string
	cni  spec.CNI
	mode string
}

// addonMatrix is every supported CNI × kube-proxy mode combination.
var addonMatrix = func() []addonCase {
	var out []addonCase
	for _, tunnel := range []string{spec.TunnelVXLAN, spec.TunnelGeneve, spec.TunnelNone} {
		for _, mode := range []string{spec.ProxyNFTables, spec.ProxyIPTables, spec.ProxyIPVS} {
			out = append(out, addonCase{"cilium-" + tunnel + "-" + mode, spec.CNI{Provider: spec.CNICilium, Tunnel: tunnel, Hubble: true, WireGuard: true}, mode})
		}
		out = append(out, addonCase{"cilium-" + tunnel + "-replacement", spec.CNI{Provider: spec.CNICilium, Tunnel: tunnel, KubeProxyReplacement: true}, spec.ProxyNone})
	}
	for _, mode := range []string{spec.ProxyNFTables, spec.ProxyIPTables, spec.ProxyIPVS} {
		out = append(out, addonCase{"calico-iptables-" + mode, spec.CNI{Provider: spec.CNICalico, Dataplane: spec.DataplaneIPTables}, mode})
	}
	out = append(out,
		addonCase{"calico-nftables-nftables", spec.CNI{Provider: spec.CNICalico, Dataplane: spec.DataplaneNFTables, WireGuard: true}, spec.ProxyNFTables},
		addonCase{"calico-bpf-none", spec.CNI{Provider: spec.CNICalico, Dataplane: spec.DataplaneBPF}, spec.ProxyNone},
	)
	return out
}()

// addonCluster is a cluster with every add-on on and the combination's
// CNI and proxy mode.
func addonCluster(t *testing.T, tc addonCase) spec.Cluster {
	t.Helper()
	c, err := spec.Resolve(spec.Cluster{
		Name: "prod", Region: "us-east-1",
		Network:   spec.Network{AvailabilityZones: []string{"us-east-1a", "us-east-1b", "us-east-1c"}},
		CNI:       tc.cni,
		KubeProxy: spec.KubeProxy{Mode: tc.mode},
		// 50 pods fit the default instance type's interfaces with native routing.
		NodePools: []spec.NodePool{{Name: "general", MaxSize: 10, MaxPods: 50}},
		Addons:    spec.Addons{NetworkPolicy: spec.NetworkPolicyBaseline{DefaultDeny: []string{"payments", "default"}}},
	})
	require.NoError(t, err, tc.name)
	return c
}

// deployAddons registers the add-ons of c under the mocks and returns what
// was registered.
func deployAddons(t *testing.T, c spec.Cluster) []mockaws.Resource {
	t.Helper()
	m := mockaws.New(c.Region)
	err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		_, err := addons.New(ctx, "prod-addons", addons.Args{
			Cluster:              c,
			Kubeconfig:           pulumi.String("apiVersion: v1\nkind: Config\n"),
			ClusterIdentity:      "prod/0123456789abcdef",
			ControllerRoleNames:  []pulumi.StringInput{pulumi.String("prod-masters-0")},
			TerminationQueueURL:  pulumi.String("https://sqs.us-east-1.amazonaws.com/123456789012/prod-node-termination"),
			TerminationQueueArn:  pulumi.String("arn:aws:sqs:us-east-1:123456789012:prod-node-termination"),
			ServiceAccountIssuer: "https://prod-oidc-123456789012-us-east-1.s3.us-east-1.amazonaws.com",
			OIDCProviderArn:      pulumi.String("arn:aws:iam::123456789012:oidc-provider/prod-oidc-123456789012-us-east-1.s3.us-east-1.amazonaws.com"),
		})
		return err
	})
	require.NoError(t, err)
	return m.Resources()
}

// builtInGroups are the API groups whose objects client-go's scheme knows;
// objects of other groups are custom resources whose CRD a chart installs.
var builtInGroups = map[string]bool{"core": true, "apps": true, "rbac.authorization.k8s.io": true, "storage.k8s.io": true, "networking.k8s.io": true, "policy": true, "scheduling.k8s.io": true}

// kubernetesObjects splits the Kubernetes objects kinfra creates itself
// (not Helm releases, whose contents the chart renders at deploy time) into
// built-in objects, as manifests, and custom resources, by type.
func kubernetesObjects(rs []mockaws.Resource) (manifests []map[string]any, custom []string) {
	for _, r := range rs {
		parts := strings.Split(r.Type, ":")
		if len(parts) != 3 || parts[0] != "kubernetes" || parts[1] == "helm.sh/v3" {
			continue
		}
		group := strings.Split(parts[1], "/")[0]
		if !builtInGroups[group] {
			custom = append(custom, r.Type+" "+r.Name)
			continue
		}
		manifests = append(manifests, r.Inputs)
	}
	return manifests, custom
}

// writeManifests writes each object to its own file in dir.
func writeManifests(t *testing.T, dir, prefix string, objects []map[string]any) []string {
	t.Helper()
	var files []string
	for i, o := range objects {
		b, err := yaml.Marshal(o)
		require.NoError(t, err)
		p := filepath.Join(dir, fmt.Sprintf("%s-%03d.yaml", prefix, i))
		require.NoError(t, os.WriteFile(p, b, 0o600))
		files = append(files, p)
	}
	return files
}

func TestEveryAddonObjectDecodesStrictlyIntoItsUpstreamType(t *testing.T) {
	dir := t.TempDir()
	var files []string
	unchecked := map[string]bool{}
	kinds := map[string]bool{}
	for _, tc := range addonMatrix {
		objects, custom := kubernetesObjects(deployAddons(t, addonCluster(t, tc)))
		require.NotEmpty(t, objects, tc.name)
		for _, o := range objects {
			kinds[o["kind"].(string)] = true
		}
		for _, c := range custom {
			unchecked[c] = true
		}
		files = append(files, writeManifests(t, dir, tc.name, objects)...)
	}
	for _, file := range committedStacks(t) {
		sf, err := stackfile.Load(file)
		require.NoError(t, err)
		p, err := plan.Run(sf)
		require.NoError(t, err)
		objects, _ := kubernetesObjects(p.Resources)
		require.NotEmpty(t, objects, sf.Name)
		files = append(files, writeManifests(t, dir, sf.Name, objects)...)
	}
	out, err := testtools.K8sCheck(t, "objects", files...)
	require.NoError(t, err, out)
	require.Equal(t, len(files), strings.Count(out, "ok "), out)
	// Every kind kinfra creates itself went through the checker.
	for _, k := range []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet", "Deployment", "StorageClass", "NetworkPolicy"} {
		require.True(t, kinds[k], "no %s among the add-on objects", k)
	}
	var list []string
	for c := range unchecked {
		list = append(list, c)
	}
	sort.Strings(list)
	t.Logf("custom resources whose CRD comes from a chart (not decodable here): %s", strings.Join(list, ", "))
}

// proxyConfigs are the KubeProxyConfigurations the add-ons would deploy,
// from the recorded ConfigMaps, by case.
func proxyConfigs(t *testing.T) map[string]string {
	out := map[string]string{}
	for _, tc := range addonMatrix {
		c := addonCluster(t, tc)
		for _, r := range deployAddons(t, c) {
			if r.Type == "kubernetes:core/v1:ConfigMap" && r.Name == "prod-addons-kube-proxy" {
				out[tc.name] = r.Inputs["data"].(map[string]any)["config.conf"].(string)
			}
		}
		require.Equal(t, c.ProxyDeployed(), out[tc.name] != "", "%s: a kube-proxy ConfigMap iff kube-proxy runs", tc.name)
	}
	// Tuned settings, as a stack would set them.
	tuned := addonCase{"tuned", spec.CNI{Provider: spec.CNICilium}, spec.ProxyIPVS}
	c := addonCluster(t, tuned)
	perCore, floor, minSync := 262144, 1048576, 2
	c.KubeProxy.Conntrack.MaxPerCore, c.KubeProxy.Conntrack.Min, c.KubeProxy.MinSyncPeriodSeconds = &perCore, &floor, &minSync
	c.KubeProxy.SyncPeriodSeconds, c.KubeProxy.MetricsBindAddress = 300, "127.0.0.1:10249"
	config, err := addons.KubeProxyConfiguration(c)
	require.NoError(t, err)
	out["tuned"] = config
	return out
}

// kubeProxyValidate runs the real kube-proxy on config: it decodes the file
// (strictly: a lenient fallback is reported and counted as a failure) and
// validates it as at start, then writes the effective configuration and
// exits without touching the host.
func kubeProxyValidate(t *testing.T, config string) (effective string, err error) {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "config.conf"), filepath.Join(dir, "effective.yaml")
	require.NoError(t, os.WriteFile(in, []byte(config), 0o600))
	cmd := exec.Command(testtools.Path(t, "kube-proxy"), "--config="+in, "--write-config-to="+out)
	logs, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%v: %s", err, logs)
	}
	if strings.Contains(string(logs), "strict decoding") {
		return "", fmt.Errorf("not strictly decodable: %s", logs)
	}
	return mustRead(t, out), nil
}

func TestEveryKubeProxyConfigurationPassesKubeProxyValidation(t *testing.T) {
	for name, config := range proxyConfigs(t) {
		t.Run(name, func(t *testing.T) {
			effective, err := kubeProxyValidate(t, config)
			require.NoError(t, err)
			var in, eff map[string]any
			require.NoError(t, yaml.Unmarshal([]byte(config), &in))
			require.NoError(t, yaml.Unmarshal([]byte(effective), &eff))
			// kube-proxy kept what kinfra set.
			require.Equal(t, in["mode"], eff["mode"])
			require.Equal(t, in["clusterCIDR"], eff["clusterCIDR"])
			require.Equal(t, in["metricsBindAddress"], eff["metricsBindAddress"])
			mode := in["mode"].(string)
			require.Equal(t, in[mode].(map[string]any)["syncPeriod"], durationSeconds(eff[mode].(map[string]any)["syncPeriod"]))
		})
	}
}

// durationSeconds turns kube-proxy's "2m0s" back into kinfra's "120s".
func durationSeconds(v any) string {
	s := v.(string)
	var h, m, sec int
	switch {
	case strings.Contains(s, "h"):
		fmt.Sscanf(s, "%dh%dm%ds", &h, &m, &sec)
	case strings.Contains(s, "m"):
		fmt.Sscanf(s, "%dm%ds", &m, &sec)
	default:
		fmt.Sscanf(s, "%ds", &sec)
	}
	return fmt.Sprintf("%ds", h*3600+m*60+sec)
}

func TestKubeProxyValidationCatchesABrokenConfiguration(t *testing.T) {
	c := addonCluster(t, addonCase{"nftables", spec.CNI{Provider: spec.CNICilium}, spec.ProxyNFTables})
	config, err := addons.KubeProxyConfiguration(c)
	require.NoError(t, err)
	t.Run("unknown field", func(t *testing.T) {
		_, err := kubeProxyValidate(t, strings.Replace(config, "clusterCIDR:", "clusterCIDRs:", 1))
		require.ErrorContains(t, err, `unknown field`)
		require.ErrorContains(t, err, `clusterCIDRs`)
	})
	t.Run("invalid value", func(t *testing.T) {
		_, err := kubeProxyValidate(t, strings.Replace(config, "minSyncPeriod: 1s", "minSyncPeriod: 90s", 1))
		require.ErrorContains(t, err, "must be greater than or equal to KubeProxyConfiguration.MinSyncPeriod")
	})
}
