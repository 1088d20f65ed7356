package addons

import (
	"fmt"
	"math/bits"

	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/ports"
	"github.com/kinfra-dev/kinfra/spec"
)

// Cilium is the kinfra:addons:Cilium component: one Helm release of the
// cilium chart in kube-system.
type Cilium struct {
	pulumi.ResourceState

	// Release is the chart's Helm release.
	Release *helmv3.Release
}

// Cilium tuning kinfra sets for large clusters.
const (
	// CiliumOperatorReplicas keeps IPAM and identity garbage collection
	// running through a node's loss.
	CiliumOperatorReplicas = 2
	// CiliumClientQPS and CiliumClientBurst raise each agent's rate limit
	// towards the API (the chart's defaults throttle a busy node).
	CiliumClientQPS   = 50
	CiliumClientBurst = 100
	// ciliumMinLBMapMax is the chart's default size of the Service maps.
	ciliumMinLBMapMax = 65536
	// ciliumLBEntriesPerService is the room kept per Service in the maps.
	ciliumLBEntriesPerService = 8
)

// CiliumValues are the Helm values kinfra installs the cilium chart with
// for cluster c, whose nodes reach the API at apiHost. Plain Go values, so
// tests and docs can read them.
//
// What the security groups must admit follows from these values and from
// nothing else: the tunnel port, the health port and WireGuard's port are
// the ones internal/ports opens.
func CiliumValues(c spec.Cluster, apiHost string) map[string]any {
	cni := c.CNI
	kpr := "false"
	if cni.KubeProxyReplacement {
		kpr = "true"
	}
	bpf := map[string]any{"lbMapMax": CiliumLBMapMax(c.Kubernetes.MaxServices)}
	if cni.KubeProxyReplacement {
		// Masquerade in eBPF too, beside its Service handling, instead of
		// through iptables.
		bpf["masquerade"] = true
	}
	v := map[string]any{
		// Identities live in CRDs, never in a kvstore: Cilium then needs
		// nothing but the API, and a cluster whose etcd is still
		// bootstrapping cannot hold its network back.
		"identityAllocationMode": "crd",
		"cluster":                map[string]any{"name": c.Name},
		// The agent and operator reach the API directly: with kube-proxy
		// replaced, nothing implements the kubernetes Service until Cilium
		// itself runs.
		"k8sServiceHost":       apiHost,
		"k8sServicePort":       fmt.Sprint(ports.API),
		"kubeProxyReplacement": kpr,
		"bpf":                  bpf,
		// cilium-health probes every other node on this port (and by
		// ICMP); the chart has no value for it, and extraConfig entries
		// become agent options.
		"extraConfig": map[string]any{"cluster-health-port": fmt.Sprint(ports.CiliumHealth)},
		"operator":    map[string]any{"replicas": CiliumOperatorReplicas},
		"k8sClientRateLimit": map[string]any{
			"qps": CiliumClientQPS, "burst": CiliumClientBurst,
		},
		"prometheus": map[string]any{"enabled": true},
	}
	switch cni.Tunnel {
	case spec.TunnelNone:
		// Native routing: pods take VPC addresses from interfaces the
		// operator attaches to the node (spec.CNI.PodsUseVPCAddresses), so
		// the VPC routes them without an overlay.
		v["routingMode"] = "native"
		v["ipam"] = map[string]any{"mode": "eni"}
		v["eni"] = map[string]any{"enabled": true}
		v["ipv4NativeRoutingCIDR"] = c.Network.VpcCidr
		v["endpointRoutes"] = map[string]any{"enabled": true}
		// The operator creates those interfaces with the credentials of
		// the node it runs on: only worker roles may (the masters' may
		// not), so it stays off the masters. The chart's own
		// anti-affinity (one operator per node) is kept.
		v["operator"] = map[string]any{
			"replicas": CiliumOperatorReplicas,
			"affinity": map[string]any{
				"nodeAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{
					"nodeSelectorTerms": []any{map[string]any{"matchExpressions": []any{map[string]any{
						"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist",
					}}}},
				}},
				"podAntiAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": []any{map[string]any{
					"topologyKey":   "kubernetes.io/hostname",
					"labelSelector": map[string]any{"matchLabels": map[string]any{"io.cilium/app": "operator"}},
				}}},
			},
		}
	default:
		// Overlay: the tunnel port is given explicitly, the one the
		// security groups open. Each node's pod block is the one
		// kube-controller-manager allocates from kubernetes.podCidr with
		// nodeCidrMaskSize, the plan kube-proxy and the validation use.
		proto, port := spec.TunnelVXLAN, ports.CiliumVXLAN
		if cni.Tunnel == spec.TunnelGeneve {
			proto, port = spec.TunnelGeneve, ports.CiliumGeneve
		}
		v["routingMode"] = "tunnel"
		v["tunnelProtocol"] = proto
		v["tunnelPort"] = port
		v["ipam"] = map[string]any{"mode": "kubernetes"}
	}
	if cni.WireGuard {
		// The agent's WireGuard port is fixed at 51871 (ports.CiliumWG).
		v["encryption"] = map[string]any{"enabled": true, "type": "wireguard"}
	} else {
		v["encryption"] = map[string]any{"enabled": false}
	}
	if cni.Hubble {
		v["hubble"] = map[string]any{
			"enabled":       true,
			"relay":         map[string]any{"enabled": true},
			"listenAddress": fmt.Sprintf(":%d", ports.HubblePeer),
		}
	} else {
		v["hubble"] = map[string]any{"enabled": false}
	}
	return v
}

// CiliumLBMapMax sizes Cilium's Service load-balancing maps for a cluster
// that must hold maxServices Services. Each Service takes an entry per port
// and per backend, so kinfra keeps room for several of each
// (ciliumLBEntriesPerService); a full map makes new Services unreachable,
// silently. The size is a power of two, at least the chart's default.
func CiliumLBMapMax(maxServices int) int {
	want := maxServices * ciliumLBEntriesPerService
	if want <= ciliumMinLBMapMax {
		return ciliumMinLBMapMax
	}
	return 1 << bits.Len(uint(want-1))
}

// cilium installs Cilium from its chart.
func (b *builder) cilium() (pulumi.Resource, error) {
	out := &Cilium{}
	if err := b.component("Cilium", "cilium", out); err != nil {
		return nil, err
	}
	rel, err := b.release(out, "cilium", "cilium", "kube-system", CiliumChart, b.c.CNI.Version, pulumi.ToMap(CiliumValues(b.c, b.apiHost)))
	if err != nil {
		return nil, err
	}
	out.Release = rel
	b.out.CNIReady = []pulumi.CustomResource{rel}
	if err := b.ctx.RegisterResourceOutputs(out, pulumi.Map{
		"version": pulumi.String(CiliumChart.version(b.c.CNI.Version)),
		"tunnel":  pulumi.String(b.c.CNI.Tunnel),
	}); err != nil {
		return nil, err
	}
	return out, nil
}
