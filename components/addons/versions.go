package addons

import "strings"

// Chart is a Helm chart at a pinned version from its official repository.
type Chart struct {
	Name, Repo, Version string
}

// The charts kinfra deploys, pinned. A stack may pin another version
// (cluster.cni.version, cluster.addons.<addon>.version); the values kinfra
// passes are tested against these. Every pin here and below is a release
// recorded with its public source in review/releases (docs/pins.md); a
// test fails for one that is not, and `kinfra plan` notes those that are
// unconfirmed.
var (
	CiliumChart = Chart{Name: "cilium", Repo: "https://helm.cilium.io/", Version: "1.20.2"}
	// TigeraOperatorChart installs Calico v3.31.5 (operator v1.40.8).
	TigeraOperatorChart = Chart{Name: "tigera-operator", Repo: "https://docs.tigera.io/calico/charts", Version: "v3.31.5"}
	CCMChart            = Chart{Name: "aws-cloud-controller-manager", Repo: "https://kubernetes.github.io/cloud-provider-aws", Version: "0.0.10"}
	EBSCSIChart         = Chart{Name: "aws-ebs-csi-driver", Repo: "https://kubernetes-sigs.github.io/aws-ebs-csi-driver", Version: "2.65.1"}
	AutoscalerChart     = Chart{Name: "cluster-autoscaler", Repo: "https://kubernetes.github.io/autoscaler", Version: "9.59.0"}
)

// Images kinfra runs outside a chart, or overrides a chart's default for.
const (
	// CCMImage is the newest cloud-provider-aws release whose image was
	// confirmed published (later tags exist; their images were not
	// confirmed); the controller uses only stable APIs (nodes, services,
	// leases), so it serves v1.36 and v1.37 clusters too. It follows
	// neither Kubernetes version: older than both minors kinfra installs,
	// it is never newer than an API server during an upgrade. Override with
	// cluster.addons.cloudControllerManager.image.
	CCMImage = "registry.k8s.io/provider-aws/cloud-controller-manager:v1.35.2"
	// NTHImage is the node termination handler (queue mode).
	NTHImage = "public.ecr.aws/aws-ec2/aws-node-termination-handler:v1.25.6"
)

// autoscalerImages are the cluster-autoscaler releases per Kubernetes minor:
// the autoscaler simulates the scheduler of its own minor, so they must
// match. It follows kubernetes.nodeVersion (AutoscalerImage). The other
// add-ons' charts and images are pinned independently of Kubernetes;
// kube-proxy's image is registry.k8s.io/kube-proxy:<nodeVersion> (spec).
// No cluster-autoscaler 1.37 release was found in public sources: v1.37.0
// is kept (the autoscaler must match the nodes' minor) and is unconfirmed,
// which the plan of a stack that uses it notes.
var autoscalerImages = map[string]string{
	"1.36": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.1",
	"1.37": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.37.0",
}

// minor is "1.37" for "v1.37.2".
func minor(version string) string {
	v := strings.TrimPrefix(version, "v")
	if i := strings.LastIndex(v, "."); i > 0 {
		return v[:i]
	}
	return v
}

// version is the stack's pin if it has one, else the chart's.
func (c Chart) version(override string) string {
	if override != "" {
		return override
	}
	return c.Version
}
