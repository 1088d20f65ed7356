// Package tags gives every AWS resource kinfra creates the same identifying
// tags, so that a cluster's resources can be found, costed and cleaned up.
package tags

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// Keys kinfra sets on every resource. Users may not override them.
const (
	Cluster   = "kinfra.dev/cluster"
	Region    = "kinfra.dev/region"
	Component = "kinfra.dev/component"
	ManagedBy = "managed-by"
)

// MasterSlot names the master slot on its etcd volume and instances; the
// slot's IAM policy only works on resources carrying its own value, and
// `kinfra etcd restore` finds the masters by it.
const MasterSlot = "kinfra.dev/master-slot"

// Tags that Kubernetes' AWS controllers look for on Auto Scaling Groups:
// cluster-autoscaler's auto-discovery finds groups carrying both autoscaler
// tags, and the node termination handler (queue mode) drains only nodes of
// groups carrying TerminationHandler. The workers set them, the add-ons
// configure the controllers with them.
const (
	AutoscalerEnabled  = "k8s.io/cluster-autoscaler/enabled"
	TerminationHandler = "aws-node-termination-handler/managed"
)

// AutoscalerCluster is the per-cluster auto-discovery tag.
func AutoscalerCluster(cluster string) string { return "k8s.io/cluster-autoscaler/" + cluster }

// ClusterKey is the tag Kubernetes' AWS integrations use to find a cluster's
// resources; its value is "owned" or "shared".
func ClusterKey(cluster string) string { return "kubernetes.io/cluster/" + cluster }

// Set is the common tags of one component.
type Set struct {
	ClusterName string
	Region      string
	Component   string
	// Extra are the user's tags (spec.Cluster.Tags).
	Extra map[string]string
}

// For returns the tags of the resource called name, with more on top.
func (s Set) For(name string, more ...map[string]string) pulumi.StringMap {
	out := pulumi.StringMap{}
	for k, v := range s.Extra {
		out[k] = pulumi.String(v)
	}
	for _, m := range more {
		for k, v := range m {
			out[k] = pulumi.String(v)
		}
	}
	out["Name"] = pulumi.String(name)
	out[Cluster] = pulumi.String(s.ClusterName)
	out[Region] = pulumi.String(s.Region)
	out[Component] = pulumi.String(s.Component)
	out[ManagedBy] = pulumi.String("kinfra")
	return out
}
