package addons

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/after"
	"github.com/kinfra-dev/kinfra/internal/ports"
	"github.com/kinfra-dev/kinfra/spec"
)

// Calico is the kinfra:addons:Calico component: the tigera-operator chart,
// and the Installation and FelixConfiguration kinfra gives the operator.
type Calico struct {
	pulumi.ResourceState

	// Release is the tigera-operator chart's Helm release.
	Release *helmv3.Release
	// Installation (operator.tigera.io/v1, named default) tells the
	// operator how to run Calico.
	Installation *apiextensions.CustomResource
	// FelixConfiguration (crd.projectcalico.org/v1, named default) holds
	// the per-node settings the Installation has no field for.
	FelixConfiguration *apiextensions.CustomResource
}

// Calico's fixed names.
const (
	CalicoNamespace   = "tigera-operator"
	CalicoIPPool      = "default-ipv4-ippool"
	CalicoDefaultName = "default"
	// CalicoControlPlaneReplicas runs calico-kube-controllers, Typha and
	// the API server twice.
	CalicoControlPlaneReplicas = 2
)

// calicoDataplanes are the Installation's names of kinfra's data planes.
var calicoDataplanes = map[string]string{
	spec.DataplaneIPTables: "Iptables",
	spec.DataplaneNFTables: "Nftables",
	spec.DataplaneBPF:      "BPF",
}

// CalicoValues are the Helm values kinfra installs the tigera-operator
// chart with; nodes reach the API at apiHost.
func CalicoValues(c spec.Cluster, apiHost string) map[string]any {
	return map[string]any{
		// kinfra creates the Installation itself (CalicoInstallation), so
		// that its fields are kinfra's, not the chart's defaults.
		"installation": map[string]any{"enabled": false},
		"apiServer":    map[string]any{"enabled": true},
		"goldmane":     map[string]any{"enabled": false},
		"whisker":      map[string]any{"enabled": false},
		// The chart renders the kubernetes-services-endpoint ConfigMap from
		// this, and every Calico component then reaches the API directly:
		// the bpf data plane replaces kube-proxy, so nothing implements
		// the kubernetes Service before Calico runs.
		"kubernetesServiceEndpoint": map[string]any{"host": apiHost, "port": fmt.Sprint(ports.API)},
	}
}

// CalicoInstallation is the spec of the operator's Installation.
//
// Pods get addresses from one pool, the cluster's pod block, in blocks of
// kubernetes.nodeCidrMaskSize. Between nodes of one subnet traffic is
// routed unencapsulated (the security groups admit it, and Felix turns off
// source/destination checking: CalicoFelixConfiguration); across subnets
// it goes through VXLAN, the port the security groups open. No BGP: the VPC
// routes nothing to pods.
func CalicoInstallation(c spec.Cluster) map[string]any {
	return map[string]any{
		"calicoNetwork": map[string]any{
			"linuxDataplane": calicoDataplanes[c.CNI.Dataplane],
			"bgp":            "Disabled",
			"ipPools": []any{map[string]any{
				"name":          CalicoIPPool,
				"cidr":          c.Kubernetes.PodCidr,
				"encapsulation": "VXLANCrossSubnet",
				"natOutgoing":   "Enabled",
				"blockSize":     c.Kubernetes.NodeCidrMaskSize,
				"nodeSelector":  "all()",
			}},
		},
		"cni":                  map[string]any{"type": "Calico", "ipam": map[string]any{"type": "Calico"}},
		"controlPlaneReplicas": CalicoControlPlaneReplicas,
	}
}

// CalicoFelixConfiguration is the spec of the default FelixConfiguration.
//
// VXLANCrossSubnet sends pod traffic within a subnet unencapsulated, from
// and to pod addresses, which EC2 drops unless the instances' source and
// destination checking is off: Felix turns it off on its node's interface
// with the node's own credentials (calico-node is host-networked, so it
// reaches the instance metadata at hop limit 1; the node roles allow it).
func CalicoFelixConfiguration(c spec.Cluster) map[string]any {
	return map[string]any{
		"awsSrcDstCheck":   "Disable",
		"wireguardEnabled": c.CNI.WireGuard,
		// The ports the security groups open, explicitly, so that Calico
		// and the groups agree by construction.
		"vxlanPort":              ports.CalicoVXLAN,
		"wireguardListeningPort": ports.CalicoWG,
	}
}

// calico installs the tigera-operator, then the Installation and
// FelixConfiguration, whose CRDs the chart brings.
func (b *builder) calico() (pulumi.Resource, error) {
	out := &Calico{}
	if err := b.component("Calico", "calico", out); err != nil {
		return nil, err
	}
	rel, err := b.release(out, "calico", "calico", CalicoNamespace, TigeraOperatorChart, b.c.CNI.Version, pulumi.ToMap(CalicoValues(b.c, b.apiHost)))
	if err != nil {
		return nil, err
	}
	out.Release = rel
	afterOperator := after.All(rel)
	custom := func(suffix, apiVersion, kind string, body map[string]any) (*apiextensions.CustomResource, error) {
		return apiextensions.NewCustomResource(b.ctx, b.name+"-calico-"+suffix, &apiextensions.CustomResourceArgs{
			ApiVersion: pulumi.String(apiVersion),
			Kind:       pulumi.String(kind),
			Metadata: &metav1.ObjectMetaArgs{
				Name:   pulumi.String(CalicoDefaultName),
				Labels: pulumi.StringMap{"app.kubernetes.io/managed-by": pulumi.String("kinfra")},
			},
			OtherFields: kubernetes.UntypedArgs{"spec": body},
		}, b.k8s(out, afterOperator)...)
	}
	if out.Installation, err = custom("installation", "operator.tigera.io/v1", "Installation", CalicoInstallation(b.c)); err != nil {
		return nil, err
	}
	// The provider upserts: this merges with the FelixConfiguration Calico
	// creates at start, owning only these fields.
	if out.FelixConfiguration, err = custom("felix-configuration", "crd.projectcalico.org/v1", "FelixConfiguration", CalicoFelixConfiguration(b.c)); err != nil {
		return nil, err
	}
	b.out.CNIReady = []pulumi.CustomResource{rel, out.Installation, out.FelixConfiguration}
	if err := b.ctx.RegisterResourceOutputs(out, pulumi.Map{
		"version":   pulumi.String(TigeraOperatorChart.version(b.c.CNI.Version)),
		"dataplane": pulumi.String(b.c.CNI.Dataplane),
	}); err != nil {
		return nil, err
	}
	return out, nil
}
