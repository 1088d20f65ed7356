package addons

import (
	"fmt"

	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/after"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/spec"
)

// Cluster-autoscaler settings.
const (
	AutoscalerRelease = "cluster-autoscaler"
	// AutoscalerReplicas run with leader election, so a master's loss does
	// not stop scaling; fewer on a cluster with fewer masters (the pods
	// are host-networked, and two cannot share a master's health port).
	AutoscalerReplicas = 2
	// AutoscalerMaxNodeProvisionTime is how long a new node may take to
	// join before the autoscaler gives up on its group for a while.
	AutoscalerMaxNodeProvisionTime = "15m"
)

// ClusterAutoscaler is the kinfra:addons:ClusterAutoscaler component:
// cluster-autoscaler's chart, on the masters, finding the pools that have
// autoscaling on by the tags the workers put on their groups.
type ClusterAutoscaler struct {
	pulumi.ResourceState

	// Release is the chart's Helm release.
	Release *helmv3.Release
}

// AutoscalerImage is the cluster-autoscaler image for cluster c: the
// stack's, else the release of the nodes' minor (nodeVersion): it simulates
// the scheduling of the kubelets it adds, and, like them, must never be
// newer than an API server, which nodeVersion never is.
func AutoscalerImage(c spec.Cluster) string {
	if img := c.Addons.ClusterAutoscaler.Image; img != "" {
		return img
	}
	return autoscalerImages[minor(c.Kubernetes.NodeVersion)]
}

// AutoscalerValues are the Helm values of the cluster-autoscaler chart for
// cluster c.
func AutoscalerValues(c spec.Cluster) map[string]any {
	ca := c.Addons.ClusterAutoscaler
	repo, tag := splitImage(AutoscalerImage(c))
	replicas := min(AutoscalerReplicas, max(c.Masters.Count, 1))
	return map[string]any{
		"cloudProvider": "aws",
		"awsRegion":     c.Region,
		"autoDiscovery": map[string]any{
			"clusterName": c.Name,
			// The tags the workers put on autoscaled groups.
			"tags": []any{tags.AutoscalerEnabled, tags.AutoscalerCluster(c.Name)},
		},
		"image": map[string]any{"repository": repo, "tag": tag},
		// Host network on the masters: their instance roles carry the
		// autoscaler's rights (controllers_iam.go).
		"hostNetwork": true,
		// The node's resolver: AWS endpoints resolve even while CoreDNS
		// is down.
		"dnsPolicy":    "Default",
		"nodeSelector": mastersNodeSelector(),
		"tolerations":  tolerationValues(mastersTolerations),
		"replicaCount": replicas,
		// Replace pods one at a time without a surge pod: a surge pod would
		// need a master whose health port is free, which a cluster with as
		// many replicas as masters does not have.
		"updateStrategy": map[string]any{
			"type":          "RollingUpdate",
			"rollingUpdate": map[string]any{"maxSurge": 0, "maxUnavailable": 1},
		},
		"priorityClassName": "system-cluster-critical",
		"extraArgs": map[string]any{
			"expander":                         ca.Expander,
			"scale-down-utilization-threshold": ca.ScaleDownUtilizationThreshold,
			// Pools with the same shape in different zones grow together.
			"balance-similar-node-groups": true,
			// Nodes running kube-system pods or pods with emptyDir may be
			// removed too (the pods are drained); otherwise most nodes
			// would never scale down.
			"skip-nodes-with-system-pods":   false,
			"skip-nodes-with-local-storage": false,
			"max-node-provision-time":       AutoscalerMaxNodeProvisionTime,
			"logtostderr":                   true,
			"v":                             2,
		},
	}
}

// clusterAutoscaler installs cluster-autoscaler.
func (b *builder) clusterAutoscaler() (*ClusterAutoscaler, error) {
	if AutoscalerImage(b.c) == "" {
		return nil, fmt.Errorf("cluster-autoscaler: kinfra pins no release for Kubernetes %s (cluster.kubernetes.nodeVersion); set cluster.addons.clusterAutoscaler.image to the release of that minor", minor(b.c.Kubernetes.NodeVersion))
	}
	out := &ClusterAutoscaler{}
	if err := b.component("ClusterAutoscaler", "cluster-autoscaler", out); err != nil {
		return nil, err
	}
	iamDeps, err := b.controllersIAMFor()
	if err != nil {
		return nil, err
	}
	a := b.c.Addons.ClusterAutoscaler
	// Host-networked on the masters, but it simulates scheduling onto
	// nodes: wait for networked nodes (the CNI) that the
	// cloud-controller-manager has initialised, and for its AWS rights.
	rel, err := b.release(out, "cluster-autoscaler", AutoscalerRelease, "kube-system", AutoscalerChart, a.Version,
		pulumi.ToMap(AutoscalerValues(b.c)), after.All(append(b.podNetworkReady(), iamDeps...)...))
	if err != nil {
		return nil, err
	}
	out.Release = rel
	if err := b.ctx.RegisterResourceOutputs(out, pulumi.Map{
		"version": pulumi.String(AutoscalerChart.version(a.Version)),
		"image":   pulumi.String(AutoscalerImage(b.c)),
	}); err != nil {
		return nil, err
	}
	return out, nil
}
