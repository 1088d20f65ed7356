package addons_test

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/components/addons"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/spec"
)

func TestKubeProxyRunsEverywhereWithItsConfigurationAndRBAC(t *testing.T) {
	c := effective(t, cluster())
	m, out := run(t, args(c))
	require.NotNil(t, out.KubeProxy)
	comp := m.MustNamed(t, "kinfra:addons:KubeProxy", "prod-addons-kube-proxy")
	provider := m.MustNamed(t, providerType, "prod-addons-k8s")

	sa := m.MustNamed(t, "kubernetes:core/v1:ServiceAccount", "prod-addons-kube-proxy")
	binding := m.MustNamed(t, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "prod-addons-kube-proxy")
	cm := m.MustNamed(t, configMapType, "prod-addons-kube-proxy")
	ds := m.MustNamed(t, daemonSetType, "prod-addons-kube-proxy")
	for _, r := range []mockaws.Resource{sa, binding, cm, ds} {
		require.Equal(t, comp.URN, r.Parent, r.Type)
	}
	require.Equal(t, "kube-proxy", mockaws.Object(sa.Inputs["metadata"])["name"])
	require.Equal(t, "kube-system", mockaws.Object(sa.Inputs["metadata"])["namespace"])
	require.Equal(t, "system:node-proxier", mockaws.Object(binding.Inputs["roleRef"])["name"])
	require.Equal(t, map[string]any{"kind": "ServiceAccount", "name": "kube-proxy", "namespace": "kube-system"}, mockaws.List(binding.Inputs["subjects"])[0])

	// The configuration comes from the cluster's config.
	var config map[string]any
	data := mockaws.Object(cm.Inputs["data"])
	require.NoError(t, yaml.Unmarshal([]byte(data["config.conf"].(string)), &config))
	require.Equal(t, "nftables", config["mode"])
	require.Equal(t, c.Kubernetes.PodCidr, config["clusterCIDR"])
	require.Equal(t, "0.0.0.0:10249", config["metricsBindAddress"])
	require.Equal(t, map[string]any{"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "86400s", "tcpCloseWaitTimeout": "3600s"}, config["conntrack"])
	require.Equal(t, map[string]any{"syncPeriod": "30s", "minSyncPeriod": "1s"}, config["nftables"])
	require.Equal(t, "/var/lib/kube-proxy/kubeconfig.conf", mockaws.Object(config["clientConnection"])["kubeconfig"])
	// kube-proxy implements the kubernetes Service, so it reaches the API by name.
	require.Contains(t, data["kubeconfig.conf"], "server: https://api.prod.k8s.internal:6443")
	require.Contains(t, data["kubeconfig.conf"], "tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token")

	spec := mockaws.Object(mockaws.Object(ds.Inputs["spec"])["template"])["spec"].(map[string]any)
	require.Equal(t, true, spec["hostNetwork"])
	require.Equal(t, "system-node-critical", spec["priorityClassName"])
	require.Equal(t, []any{map[string]any{"operator": "Exists"}}, spec["tolerations"], "every node, masters included")
	container := mockaws.Object(mockaws.List(spec["containers"])[0])
	require.Equal(t, "registry.k8s.io/kube-proxy:v1.37.2", container["image"])
	require.Contains(t, container["command"], "--config=/var/lib/kube-proxy/config.conf")
	require.Equal(t, "10%", mockaws.Object(mockaws.Object(mockaws.Object(ds.Inputs["spec"])["updateStrategy"])["rollingUpdate"])["maxUnavailable"])
	require.Contains(t, ds.Options.Dependencies, cm.URN, "the DaemonSet waits for its ConfigMap")

	// Every Kubernetes object goes through the add-ons' provider.
	require.Equal(t, "kubernetes", provider.Type[len("pulumi:providers:"):])
}

func TestSwitchingProxyModeRollsKubeProxyInPlace(t *testing.T) {
	objects := func(mode string) map[string]mockaws.Resource {
		m, _ := run(t, args(effective(t, cluster(func(c *spec.Cluster) { c.KubeProxy.Mode = mode }))))
		out := map[string]mockaws.Resource{}
		for _, r := range m.Resources() {
			out[r.Type+" "+r.Name] = r
		}
		return out
	}
	before, after := objects("nftables"), objects("iptables")
	require.Equal(t, len(before), len(after), "the same objects")
	for key, b := range before {
		a, ok := after[key]
		require.True(t, ok, "%s stays", key)
		if key == configMapType+" prod-addons-kube-proxy" {
			require.NotEqual(t, b.Inputs["data"], a.Inputs["data"])
			continue
		}
		if key == daemonSetType+" prod-addons-kube-proxy" {
			annotation := func(r mockaws.Resource) any {
				return mockaws.Object(mockaws.Object(mockaws.Object(mockaws.Object(r.Inputs["spec"])["template"])["metadata"])["annotations"])[addons.ConfigHashAnnotation]
			}
			require.NotEqual(t, annotation(b), annotation(a), "a new configuration rolls the pods, which read it only at start")
			require.Equal(t, mockaws.Object(b.Inputs["metadata"]), mockaws.Object(a.Inputs["metadata"]), "same DaemonSet, updated in place")
			require.Equal(t, mockaws.Object(mockaws.Object(b.Inputs["spec"])["selector"]), mockaws.Object(mockaws.Object(a.Inputs["spec"])["selector"]), "the selector is immutable")
			continue
		}
		require.Equal(t, b.Inputs, a.Inputs, "%s does not change", key)
	}
}

func TestIPVSIsTunedAndIPTablesKeepsNodePortsOffLocalhost(t *testing.T) {
	config := func(mode string) map[string]any {
		s, err := addons.KubeProxyConfiguration(effective(t, cluster(func(c *spec.Cluster) { c.KubeProxy.Mode = mode })))
		require.NoError(t, err)
		var out map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(s), &out))
		return out
	}
	require.Equal(t, map[string]any{"syncPeriod": "120s", "minSyncPeriod": "5s", "scheduler": "rr"}, config("ipvs")["ipvs"])
	require.Equal(t, map[string]any{"syncPeriod": "30s", "minSyncPeriod": "1s", "localhostNodePorts": false}, config("iptables")["iptables"])
	_, err := addons.KubeProxyConfiguration(effective(t, cluster(func(c *spec.Cluster) { c.CNI.KubeProxyReplacement = true })))
	require.Error(t, err, "no configuration without kube-proxy")
}

func TestDefaultDenyBaselineAllowsDNS(t *testing.T) {
	c := effective(t, cluster(func(c *spec.Cluster) { c.Addons.NetworkPolicy.DefaultDeny = []string{"payments", "web"} }))
	m, out := run(t, args(c))
	require.NotNil(t, out.NetworkPolicies)
	require.Len(t, m.ByType(policyType), 4)
	for _, ns := range []string{"payments", "web"} {
		deny := m.MustNamed(t, policyType, "prod-addons-deny-"+ns)
		require.Equal(t, map[string]any{"name": "kinfra-default-deny", "namespace": ns, "labels": map[string]any{"app.kubernetes.io/managed-by": "kinfra"}}, deny.Inputs["metadata"])
		require.Equal(t, map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress", "Egress"}}, deny.Inputs["spec"], "every pod, nothing in or out")
		dns := m.MustNamed(t, policyType, "prod-addons-dns-"+ns)
		egress := mockaws.Object(mockaws.List(mockaws.Object(dns.Inputs["spec"])["egress"])[0])
		require.Equal(t, []any{map[string]any{"protocol": "UDP", "port": 53.0}, map[string]any{"protocol": "TCP", "port": 53.0}}, egress["ports"])
		peer := mockaws.Object(mockaws.List(egress["to"])[0])
		require.Equal(t, map[string]any{"kubernetes.io/metadata.name": "kube-system"}, mockaws.Object(peer["namespaceSelector"])["matchLabels"])
		require.Equal(t, map[string]any{"k8s-app": "kube-dns"}, mockaws.Object(peer["podSelector"])["matchLabels"])
		// Depending on a component is depending on its children.
		require.Contains(t, dns.Options.Dependencies, m.MustNamed(t, releaseType, "prod-addons-"+c.CNI.Provider).URN, "enforced once the CNI runs")
	}
	m, out = run(t, args(effective(t, cluster())))
	require.Nil(t, out.NetworkPolicies)
	require.Empty(t, m.ByType(policyType))
}

func TestTheProviderWaitsForTheControlPlaneAndKeepsTheKubeconfigSecret(t *testing.T) {
	a := args(effective(t, cluster()))
	m := mockaws.New("us-east-1")
	err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		cp, err := newStandIn(ctx, "prod-masters")
		if err != nil {
			return err
		}
		a.After = cp.Ready
		_, err = addons.New(ctx, "prod-addons", a)
		return err
	})
	require.NoError(t, err)
	p := m.MustNamed(t, providerType, "prod-addons-k8s")
	require.Equal(t, mockaws.Secret, p.Inputs["kubeconfig"])
	require.Contains(t, p.Options.DependsOn, m.MustNamed(t, "test:index:MasterGroup", "prod-masters-0").URN, "waits for the control plane's groups")
	require.Equal(t, true, p.Inputs["enableServerSideApply"])
}

// standIn is a control plane component with one master group, which it
// names in Ready as masters.ControlPlane does.
type standIn struct {
	pulumi.ResourceState
	Ready []pulumi.CustomResource
}

func newStandIn(ctx *pulumi.Context, name string) (*standIn, error) {
	s := &standIn{}
	if err := ctx.RegisterComponentResource("test:index:ControlPlane", name, s); err != nil {
		return nil, err
	}
	group := &pulumi.CustomResourceState{}
	s.Ready = []pulumi.CustomResource{group}
	return s, ctx.RegisterResource("test:index:MasterGroup", name+"-0", nil, group, pulumi.Parent(s))
}

func TestBadArgsRegisterNothing(t *testing.T) {
	a := args(effective(t, cluster()))
	a.Kubeconfig, a.TerminationQueueURL, a.ControllerRoleNames = nil, nil, nil
	m := mockaws.New("us-east-1")
	err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		_, err := addons.New(ctx, "prod-addons", a)
		return err
	})
	require.ErrorContains(t, err, "addons prod-addons: invalid arguments:\n"+
		"  addons.Kubeconfig: required (or Provider); the add-ons need a way to the cluster\n"+
		"  addons.ControllerRoleNames: required with the termination handler or cluster-autoscaler on; give the masters' role names, where they run\n"+
		"  addons.TerminationQueueURL/TerminationQueueArn: required with the termination handler on; give the cluster's termination queue (stack outputs terminationQueueUrl and terminationQueueArn)")
	require.Empty(t, m.Resources())
}

// The add-ons are built from most of the cluster: the CNI, the address
// plan, the masters and the node pools (the autoscaler's groups). A library
// caller's mistake in any of them is refused before anything is registered.
func TestSectionsTheAddonsReadAreChecked(t *testing.T) {
	a := args(effective(t, cluster()))
	a.Cluster.CNI.Provider = "flannel"
	a.Cluster.Kubernetes.PodCidr = "10.64.0.0/33"
	a.Cluster.NodePools[0].MaxSize = 0
	m := mockaws.New("us-east-1")
	err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		_, err := addons.New(ctx, "prod-addons", a)
		return err
	})
	require.Error(t, err)
	for _, path := range []string{"cluster.cni.provider", "cluster.kubernetes.podCidr", "cluster.nodePools[0].maxSize"} {
		require.ErrorContains(t, err, path)
	}
	require.Empty(t, m.Resources())
}
