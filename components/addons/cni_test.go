package addons_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/components/addons"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/ports"
	"github.com/kinfra-dev/kinfra/internal/validate"
	"github.com/kinfra-dev/kinfra/spec"
)

// Types of the objects the CNIs create beside their release.
const (
	installationType = "kubernetes:operator.tigera.io/v1:Installation"
	felixType        = "kubernetes:crd.projectcalico.org/v1:FelixConfiguration"
	apiHost          = "api.prod.k8s.internal"
)

// cniCase is one CNI × kube-proxy combination.
type cniCase struct {
	name string
	cni  spec.CNI
	mode string
}

// cniCases are every supported CNI × kube-proxy mode combination, with
// Hubble and WireGuard on in some so that both settings are covered.
func cniCases() []cniCase {
	var out []cniCase
	for _, tunnel := range []string{spec.TunnelVXLAN, spec.TunnelGeneve, spec.TunnelNone} {
		for _, x := range []struct {
			mode              string
			hubble, wireGuard bool
		}{
			{spec.ProxyNFTables, false, false},
			{spec.ProxyIPTables, true, false},
			{spec.ProxyIPVS, false, true},
		} {
			out = append(out, cniCase{"cilium-" + tunnel + "-" + x.mode,
				spec.CNI{Provider: spec.CNICilium, Tunnel: tunnel, Hubble: x.hubble, WireGuard: x.wireGuard}, x.mode})
		}
		out = append(out, cniCase{"cilium-" + tunnel + "-replacement",
			spec.CNI{Provider: spec.CNICilium, Tunnel: tunnel, KubeProxyReplacement: true, Hubble: true, WireGuard: true}, spec.ProxyNone})
	}
	for _, mode := range []string{spec.ProxyNFTables, spec.ProxyIPTables, spec.ProxyIPVS} {
		out = append(out, cniCase{"calico-iptables-" + mode, spec.CNI{Provider: spec.CNICalico, Dataplane: spec.DataplaneIPTables}, mode})
	}
	return append(out,
		cniCase{"calico-nftables-nftables", spec.CNI{Provider: spec.CNICalico, Dataplane: spec.DataplaneNFTables, WireGuard: true}, spec.ProxyNFTables},
		cniCase{"calico-bpf-none", spec.CNI{Provider: spec.CNICalico, Dataplane: spec.DataplaneBPF}, spec.ProxyNone},
	)
}

// cniCluster is the effective cluster of a combination, with the AWS
// add-ons off so that the CNI's chart is the only Helm release.
func cniCluster(t *testing.T, cni spec.CNI, mode string) spec.Cluster {
	t.Helper()
	return effective(t, cluster(func(c *spec.Cluster) {
		c.CNI, c.KubeProxy.Mode = cni, mode
		if cni.PodsUseVPCAddresses() {
			// Pods take the instance's interface addresses: 56 on m7i.2xlarge.
			c.NodePools[0].MaxPods = 50
		}
		off := func() *bool { b := false; return &b }
		c.Addons.CloudControllerManager.Enabled = off()
		c.Addons.EBSCSIDriver.Enabled = off()
		c.Addons.NodeTerminationHandler.Enabled = off()
		c.Addons.ClusterAutoscaler.Enabled = off()
	}))
}

// plainJSON is v as recorded inputs are: through JSON, numbers as float64.
func plainJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// forbiddenKeys returns the paths of every key in v containing one of words.
func forbiddenKeys(v any, path string, words ...string) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			for _, w := range words {
				if strings.Contains(strings.ToLower(k), w) {
					out = append(out, path+"."+k)
				}
			}
			out = append(out, forbiddenKeys(x, path+"."+k, words...)...)
		}
	case []any:
		for i, x := range v {
			out = append(out, forbiddenKeys(x, fmt.Sprintf("%s[%d]", path, i), words...)...)
		}
	}
	return out
}

// flow is traffic a CNI sends between machines.
type flow struct {
	proto string
	port  int
	why   string
}

// admits reports whether rules let proto/port into to from from.
func admits(rules []ports.Rule, to, from ports.Group, proto string, port int) bool {
	for _, r := range rules {
		if r.To != to || r.From != from {
			continue
		}
		switch {
		case r.Protocol == ports.All:
			return true
		case r.Protocol != proto:
		case proto == ports.ICMP, r.FromPort <= port && port <= r.ToPort:
			return true
		}
	}
	return false
}

// requireAdmitted checks every flow is admitted nodes↔nodes, masters↔nodes
// and masters↔masters.
func requireAdmitted(t *testing.T, cni spec.CNI, flows []flow) {
	t.Helper()
	rules, err := ports.Rules(cni)
	require.NoError(t, err)
	for _, f := range flows {
		for _, pair := range [][2]ports.Group{
			{ports.Nodes, ports.Nodes}, {ports.Nodes, ports.Masters}, {ports.Masters, ports.Nodes}, {ports.Masters, ports.Masters},
		} {
			require.True(t, admits(rules, pair[0], pair[1], f.proto, f.port),
				"%s %s/%d (%s) is not admitted into %s from %s", cni.Provider, f.proto, f.port, f.why, pair[0], pair[1])
		}
	}
}

// ciliumFlows are the flows Cilium's recorded values imply.
func ciliumFlows(t *testing.T, values map[string]any) []flow {
	t.Helper()
	port := func(s string) int {
		p, err := strconv.Atoi(strings.TrimPrefix(s, ":"))
		require.NoError(t, err, s)
		return p
	}
	health := port(mockaws.Object(values["extraConfig"])["cluster-health-port"].(string))
	flows := []flow{{ports.TCP, health, "cilium-health"}, {ports.ICMP, -1, "cilium-health ICMP"}}
	if values["routingMode"] == "tunnel" {
		flows = append(flows, flow{ports.UDP, int(values["tunnelPort"].(float64)), "tunnel"})
	} else {
		// Native routing: pods talk on any port.
		flows = append(flows, flow{ports.TCP, 8080, "pod to pod"}, flow{ports.UDP, 53, "pod DNS"})
	}
	if h := mockaws.Object(values["hubble"]); h["enabled"] == true {
		flows = append(flows, flow{ports.TCP, port(h["listenAddress"].(string)), "hubble peer"})
	}
	if mockaws.Object(values["encryption"])["enabled"] == true {
		flows = append(flows, flow{ports.UDP, 51871, "cilium wireguard"})
	}
	return flows
}

func TestCiliumWireGuardPortIsTheAgentsFixedOne(t *testing.T) {
	require.Equal(t, 51871, ports.CiliumWG, "cilium's agent listens on 51871 and has no setting for it")
}

func TestEveryCNIAndProxyCombinationDeploysItsObjectsAndItsPortsAreOpen(t *testing.T) {
	for _, tc := range cniCases() {
		t.Run(tc.name, func(t *testing.T) {
			c := cniCluster(t, tc.cni, tc.mode)
			require.Equal(t, tc.mode, c.KubeProxy.Mode)
			m, out := run(t, args(c))
			calico := tc.cni.Provider == spec.CNICalico

			// One component and one Helm release of the CNI's chart.
			typ, chart, namespace := "kinfra:addons:Cilium", addons.CiliumChart, "kube-system"
			if calico {
				typ, chart, namespace = "kinfra:addons:Calico", addons.TigeraOperatorChart, "tigera-operator"
			}
			comp := m.MustNamed(t, typ, "prod-addons-"+tc.cni.Provider)
			require.NotNil(t, out.CNI)
			releases := m.ByType(releaseType)
			require.Len(t, releases, 1)
			rel := releases[0]
			require.Equal(t, "prod-addons-"+tc.cni.Provider, rel.Name)
			require.Equal(t, comp.URN, rel.Parent)
			require.Equal(t, tc.cni.Provider, rel.Inputs["name"])
			require.Equal(t, chart.Name, rel.Inputs["chart"])
			require.Equal(t, chart.Version, rel.Inputs["version"])
			require.Equal(t, chart.Repo, mockaws.Object(rel.Inputs["repositoryOpts"])["repo"])
			require.Equal(t, namespace, rel.Inputs["namespace"])
			require.Equal(t, calico, rel.Inputs["createNamespace"], "kube-system exists; tigera-operator is created")

			// kube-proxy iff the CNI does not replace it.
			_, ds := m.Named(daemonSetType, "prod-addons-kube-proxy")
			require.Equal(t, tc.mode != spec.ProxyNone, ds)
			require.Equal(t, tc.mode != spec.ProxyNone, out.KubeProxy != nil)

			// Calico's own objects, only with Calico, once the operator and
			// its CRDs are there.
			inst, hasInst := m.Named(installationType, "prod-addons-calico-installation")
			felix, hasFelix := m.Named(felixType, "prod-addons-calico-felix-configuration")
			require.Equal(t, calico, hasInst)
			require.Equal(t, calico, hasFelix)

			values := mockaws.Object(rel.Inputs["values"])
			require.Empty(t, forbiddenKeys(values, "values", "etcd", "kvstore"), "the CNI needs nothing but the API")
			if calico {
				for _, r := range []mockaws.Resource{inst, felix} {
					require.Equal(t, comp.URN, r.Parent)
					require.Contains(t, r.Options.Dependencies, rel.URN, "%s waits for the operator and its CRDs", r.Type)
					require.Equal(t, "default", mockaws.Object(r.Inputs["metadata"])["name"])
				}
				checkCalico(t, c, values, mockaws.Object(inst.Inputs["spec"]), mockaws.Object(felix.Inputs["spec"]))
				return
			}
			checkCilium(t, c, values)
		})
	}
}

func checkCilium(t *testing.T, c spec.Cluster, values map[string]any) {
	t.Helper()
	cni := c.CNI
	require.Equal(t, plainJSON(t, addons.CiliumValues(c, apiHost)), any(values), "the release gets CiliumValues")
	require.Equal(t, "crd", values["identityAllocationMode"])
	require.Equal(t, apiHost, values["k8sServiceHost"])
	require.Equal(t, "6443", values["k8sServicePort"])
	require.Equal(t, map[string]any{"name": "prod"}, values["cluster"])
	require.Equal(t, strconv.FormatBool(cni.KubeProxyReplacement), values["kubeProxyReplacement"])
	bpf := mockaws.Object(values["bpf"])
	require.Equal(t, 65536.0, bpf["lbMapMax"])
	if cni.KubeProxyReplacement {
		require.Equal(t, true, bpf["masquerade"])
	} else {
		require.NotContains(t, bpf, "masquerade")
	}
	switch cni.Tunnel {
	case spec.TunnelNone:
		require.Equal(t, "native", values["routingMode"])
		require.NotContains(t, values, "tunnelProtocol")
		require.NotContains(t, values, "tunnelPort")
		require.Equal(t, map[string]any{"mode": "eni"}, values["ipam"])
		require.Equal(t, map[string]any{"enabled": true}, values["eni"])
		require.Equal(t, c.Network.VpcCidr, values["ipv4NativeRoutingCIDR"])
		require.Equal(t, map[string]any{"enabled": true}, values["endpointRoutes"])
		require.True(t, cni.PodsUseVPCAddresses())
	default:
		want := map[string]float64{spec.TunnelVXLAN: ports.CiliumVXLAN, spec.TunnelGeneve: ports.CiliumGeneve}[cni.Tunnel]
		require.Equal(t, "tunnel", values["routingMode"])
		require.Equal(t, cni.Tunnel, values["tunnelProtocol"])
		require.Equal(t, want, values["tunnelPort"])
		require.Equal(t, map[string]any{"mode": "kubernetes"}, values["ipam"])
		require.NotContains(t, values, "eni")
		require.NotContains(t, values, "ipv4NativeRoutingCIDR")
	}
	require.Equal(t, map[string]any{"cluster-health-port": "4240"}, values["extraConfig"])
	if cni.WireGuard {
		require.Equal(t, map[string]any{"enabled": true, "type": "wireguard"}, values["encryption"])
	} else {
		require.Equal(t, map[string]any{"enabled": false}, values["encryption"])
	}
	if cni.Hubble {
		require.Equal(t, map[string]any{"enabled": true, "relay": map[string]any{"enabled": true}, "listenAddress": ":4244"}, values["hubble"])
	} else {
		require.Equal(t, map[string]any{"enabled": false}, values["hubble"])
	}
	operator := mockaws.Object(values["operator"])
	require.Equal(t, 2.0, operator["replicas"])
	if cni.Tunnel == spec.TunnelNone {
		// The operator creates pod interfaces with its node's role: only
		// worker roles may, so it must never run on a master.
		terms := mockaws.Object(mockaws.Object(mockaws.Object(operator["affinity"])["nodeAffinity"])["requiredDuringSchedulingIgnoredDuringExecution"])["nodeSelectorTerms"]
		require.Equal(t, []any{map[string]any{"matchExpressions": []any{map[string]any{
			"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"}}}}, terms)
	} else {
		require.NotContains(t, operator, "affinity", "the chart's placement")
	}
	require.Equal(t, map[string]any{"qps": 50.0, "burst": 100.0}, values["k8sClientRateLimit"])
	require.Equal(t, map[string]any{"enabled": true}, values["prometheus"])
	requireAdmitted(t, cni, ciliumFlows(t, values))
}

func checkCalico(t *testing.T, c spec.Cluster, values, installation, felix map[string]any) {
	t.Helper()
	require.Equal(t, plainJSON(t, addons.CalicoValues(c, apiHost)), any(values), "the release gets CalicoValues")
	require.Equal(t, map[string]any{"enabled": false}, values["installation"], "kinfra creates the Installation")
	require.Equal(t, map[string]any{"enabled": true}, values["apiServer"])
	require.Equal(t, map[string]any{"enabled": false}, values["goldmane"])
	require.Equal(t, map[string]any{"enabled": false}, values["whisker"])
	require.Equal(t, map[string]any{"host": apiHost, "port": "6443"}, values["kubernetesServiceEndpoint"])

	dataplane := map[string]string{spec.DataplaneIPTables: "Iptables", spec.DataplaneNFTables: "Nftables", spec.DataplaneBPF: "BPF"}[c.CNI.Dataplane]
	require.Equal(t, map[string]any{
		"calicoNetwork": map[string]any{
			"linuxDataplane": dataplane,
			"bgp":            "Disabled",
			"ipPools": []any{map[string]any{
				"name": "default-ipv4-ippool", "cidr": "10.128.0.0/12", "encapsulation": "VXLANCrossSubnet",
				"natOutgoing": "Enabled", "blockSize": 24.0, "nodeSelector": "all()",
			}},
		},
		"cni":                  map[string]any{"type": "Calico", "ipam": map[string]any{"type": "Calico"}},
		"controlPlaneReplicas": 2.0,
	}, installation)
	require.Equal(t, c.Kubernetes.PodCidr, mockaws.Object(mockaws.List(mockaws.Object(installation["calicoNetwork"])["ipPools"])[0])["cidr"])
	require.Equal(t, map[string]any{
		"awsSrcDstCheck": "Disable", "wireguardEnabled": c.CNI.WireGuard,
		// The ports the security groups open, by construction.
		"vxlanPort": float64(ports.CalicoVXLAN), "wireguardListeningPort": float64(ports.CalicoWG),
	}, felix)

	flows := []flow{
		{ports.UDP, ports.CalicoVXLAN, "vxlan across subnets"},
		{ports.TCP, ports.CalicoTypha, "felix to typha"},
		// Within a subnet, pods talk unencapsulated on any port.
		{ports.TCP, 8080, "pod to pod"}, {ports.UDP, 53, "pod DNS"},
	}
	if felix["wireguardEnabled"] == true {
		flows = append(flows, flow{ports.UDP, 51820, "calico wireguard"})
	}
	requireAdmitted(t, c.CNI, flows)
}

func TestCalicoCrossSubnetRuleIsNamedAndDescribedForEC2(t *testing.T) {
	rules, err := ports.Rules(spec.CNI{Provider: spec.CNICalico, Tunnel: spec.TunnelVXLAN, Dataplane: spec.DataplaneIPTables})
	require.NoError(t, err)
	var pods []ports.Rule
	for _, r := range rules {
		if strings.HasPrefix(r.Name, "pods") {
			pods = append(pods, r)
		}
	}
	require.Len(t, pods, 7, "all traffic masters, nodes and masters to nodes; nodes to masters all but etcd")
	for _, r := range pods {
		require.Regexp(t, `^[a-zA-Z0-9. _\-:/()#,@\[\]+=&;{}!$*]{0,255}$`, r.Why)
		if r.To == ports.Masters && r.From == ports.Nodes {
			require.NotEqual(t, ports.All, r.Protocol, "nodes never reach etcd")
			require.False(t, r.Protocol == ports.TCP && r.FromPort <= ports.EtcdPeer && ports.EtcdClient <= r.ToPort, "nodes never reach etcd: %+v", r)
			continue
		}
		require.Equal(t, ports.All, r.Protocol)
	}
	rules, err = ports.Rules(spec.CNI{Provider: spec.CNICilium, Tunnel: spec.TunnelVXLAN})
	require.NoError(t, err)
	for _, r := range rules {
		require.NotEqual(t, ports.All, r.Protocol, "cilium's overlay opens only its ports")
	}
}

func TestCiliumServiceMapsGrowWithMaxServices(t *testing.T) {
	for _, tc := range []struct{ services, want int }{
		{0, 65536}, {8192, 65536}, {8193, 131072}, {20000, 262144}, {65534, 524288},
	} {
		require.Equal(t, tc.want, addons.CiliumLBMapMax(tc.services), tc.services)
	}
	c := cniCluster(t, spec.CNI{Provider: spec.CNICilium}, spec.ProxyNFTables)
	c.Kubernetes.MaxServices = 20000
	require.Equal(t, 262144, mockaws.Object(addons.CiliumValues(c, apiHost)["bpf"])["lbMapMax"])
}

func TestInvalidCNIAndProxyCombinationsAreRejected(t *testing.T) {
	const none = "cluster.kubeProxy.mode: none, but the CNI does not replace kube-proxy, so nothing would implement Services; set cluster.cni.kubeProxyReplacement: true (cilium) or cluster.cni.dataplane: bpf (calico), or use nftables"
	for _, tc := range []struct {
		name string
		cni  spec.CNI
		mode string
		want []string
	}{
		{"calico bpf beside kube-proxy", spec.CNI{Provider: spec.CNICalico, Dataplane: spec.DataplaneBPF}, spec.ProxyNFTables,
			[]string{"cluster.kubeProxy.mode: nftables, but Calico's bpf dataplane replaces kube-proxy and must not run beside it. Use none (or remove it: none is the default then), or another cluster.cni.dataplane"}},
		{"cilium replacement beside kube-proxy", spec.CNI{Provider: spec.CNICilium, KubeProxyReplacement: true}, spec.ProxyIPTables,
			[]string{"cluster.kubeProxy.mode: iptables, but cluster.cni.kubeProxyReplacement is true: Cilium then implements Services itself, and kube-proxy beside it would program every Service twice. Use none (or remove it: none is the default then), or turn kubeProxyReplacement off"}},
		{"cilium without replacement nor kube-proxy", spec.CNI{Provider: spec.CNICilium}, spec.ProxyNone, []string{none}},
		{"calico iptables without kube-proxy", spec.CNI{Provider: spec.CNICalico, Dataplane: spec.DataplaneIPTables}, spec.ProxyNone, []string{none}},
		{"calico nftables without kube-proxy", spec.CNI{Provider: spec.CNICalico, Dataplane: spec.DataplaneNFTables}, spec.ProxyNone, []string{none}},
		{"calico nftables with iptables kube-proxy", spec.CNI{Provider: spec.CNICalico, Dataplane: spec.DataplaneNFTables}, spec.ProxyIPTables,
			[]string{"cluster.kubeProxy.mode: iptables, but Calico's nftables dataplane needs kube-proxy in nftables mode (both must program nftables); use nftables, or cluster.cni.dataplane: iptables"}},
		{"calico nftables with ipvs kube-proxy", spec.CNI{Provider: spec.CNICalico, Dataplane: spec.DataplaneNFTables}, spec.ProxyIPVS,
			[]string{"cluster.kubeProxy.mode: ipvs, but Calico's nftables dataplane needs kube-proxy in nftables mode (both must program nftables); use nftables, or cluster.cni.dataplane: iptables"}},
		{"kubeProxyReplacement with calico", spec.CNI{Provider: spec.CNICalico, KubeProxyReplacement: true}, spec.ProxyNFTables,
			[]string{"cluster.cni.kubeProxyReplacement: true, but that is Cilium's; Calico replaces kube-proxy with dataplane: bpf"}},
		{"dataplane with cilium", spec.CNI{Provider: spec.CNICilium, Dataplane: spec.DataplaneBPF}, spec.ProxyNFTables,
			[]string{`cluster.cni.dataplane: "bpf", but dataplane is Calico's; Cilium always uses eBPF (set kubeProxyReplacement to let it implement Services)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := spec.Resolve(cluster(func(c *spec.Cluster) { c.CNI, c.KubeProxy.Mode = tc.cni, tc.mode }))
			var errs validate.Errors
			require.True(t, errors.As(err, &errs), "%v", err)
			require.Equal(t, tc.want, errs.Messages())
		})
	}
}

func TestReplacingCNIsDefaultKubeProxyToNone(t *testing.T) {
	for _, cni := range []spec.CNI{
		{Provider: spec.CNICilium, KubeProxyReplacement: true},
		{Provider: spec.CNICalico, Dataplane: spec.DataplaneBPF},
	} {
		c := cniCluster(t, cni, "")
		require.Equal(t, spec.ProxyNone, c.KubeProxy.Mode, cni.Provider)
	}
}

// resourcesByKey are the recorded resources by type and name.
func resourcesByKey(m *mockaws.Mocks) map[string]mockaws.Resource {
	out := map[string]mockaws.Resource{}
	for _, r := range m.Resources() {
		out[r.Type+" "+r.Name] = r
	}
	return out
}

func TestProxyModeSwitchChangesOnlyKubeProxysConfigAndItsHash(t *testing.T) {
	for _, cni := range []spec.CNI{
		{Provider: spec.CNICilium, Tunnel: spec.TunnelGeneve, Hubble: true},
		{Provider: spec.CNICalico, Dataplane: spec.DataplaneIPTables},
	} {
		t.Run(cni.Provider, func(t *testing.T) {
			deploy := func(mode string) map[string]mockaws.Resource {
				m, _ := run(t, args(cniCluster(t, cni, mode)))
				return resourcesByKey(m)
			}
			before, after := deploy(spec.ProxyNFTables), deploy(spec.ProxyIPTables)
			require.Equal(t, len(before), len(after), "the same objects, by the same names")
			cmKey, dsKey := configMapType+" prod-addons-kube-proxy", daemonSetType+" prod-addons-kube-proxy"
			require.Contains(t, before, cmKey)
			require.Contains(t, before, dsKey)
			hashOf := func(r mockaws.Resource) (string, map[string]any) {
				var inputs map[string]any
				b, err := json.Marshal(r.Inputs)
				require.NoError(t, err)
				require.NoError(t, json.Unmarshal(b, &inputs)) // a deep copy
				annotations := mockaws.Object(mockaws.Object(mockaws.Object(mockaws.Object(inputs["spec"])["template"])["metadata"])["annotations"])
				h := annotations[addons.ConfigHashAnnotation].(string)
				delete(annotations, addons.ConfigHashAnnotation)
				return h, inputs
			}
			for key, b := range before {
				a, ok := after[key]
				require.True(t, ok, "%s stays", key)
				require.Equal(t, b.URN, a.URN)
				require.Equal(t, b.Options, a.Options, key)
				switch key {
				case cmKey:
					require.NotEqual(t, mockaws.Object(b.Inputs["data"])["config.conf"], mockaws.Object(a.Inputs["data"])["config.conf"])
					require.Equal(t, mockaws.Object(b.Inputs["data"])["kubeconfig.conf"], mockaws.Object(a.Inputs["data"])["kubeconfig.conf"])
					delete(b.Inputs, "data")
					delete(a.Inputs, "data")
					require.Equal(t, b.Inputs, a.Inputs, "only the ConfigMap's data changes")
				case dsKey:
					hb, ib := hashOf(b)
					ha, ia := hashOf(a)
					require.NotEqual(t, hb, ha, "the pods roll: kube-proxy reads its configuration only at start")
					require.Equal(t, ib, ia, "only the pod template's hash changes: no field that replaces the DaemonSet")
				default:
					require.Equal(t, b.Inputs, a.Inputs, "%s does not change", key)
				}
			}
		})
	}
}

func TestCiliumReplacingKubeProxyRemovesEveryKubeProxyObject(t *testing.T) {
	m, _ := run(t, args(cniCluster(t, spec.CNI{Provider: spec.CNICilium}, spec.ProxyNFTables)))
	before := resourcesByKey(m)
	m, out := run(t, args(cniCluster(t, spec.CNI{Provider: spec.CNICilium, KubeProxyReplacement: true}, "")))
	after := resourcesByKey(m)
	require.Nil(t, out.KubeProxy)

	var removed []string
	for key := range before {
		if _, ok := after[key]; !ok {
			removed = append(removed, key)
		}
	}
	require.ElementsMatch(t, []string{
		"kinfra:addons:KubeProxy prod-addons-kube-proxy",
		"kubernetes:core/v1:ServiceAccount prod-addons-kube-proxy",
		"kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding prod-addons-kube-proxy",
		configMapType + " prod-addons-kube-proxy",
		daemonSetType + " prod-addons-kube-proxy",
	}, removed)
	for key := range after {
		require.NotContains(t, strings.ToLower(key), "kube-proxy", "nothing of kube-proxy is left")
		require.Contains(t, before, key, "nothing new: Cilium's release is updated in place")
	}
	values := mockaws.Object(after[releaseType+" prod-addons-cilium"].Inputs["values"])
	require.Equal(t, "true", values["kubeProxyReplacement"])
	require.Equal(t, true, mockaws.Object(values["bpf"])["masquerade"])
	require.Equal(t, "false", mockaws.Object(before[releaseType+" prod-addons-cilium"].Inputs["values"])["kubeProxyReplacement"])
}
