// Package tags is kinfra's vocabulary for what it tags and names: every tag
// key kinfra sets, the readers that recognise a resource by its tags (so
// that the findings, the failure report and the diff agree on what an etcd
// volume or a master group is), and the etcd members' names. It imports no
// Pulumi or AWS SDK, so the account reader and the CLI can share it;
// internal/tags/tagset builds the Pulumi tag maps of the components.
package tags

// Prefix starts every tag key (and node label) kinfra owns.
const Prefix = "kinfra.dev/"

// Keys kinfra sets on every resource. Users may not override them.
const (
	Cluster   = Prefix + "cluster"
	Region    = Prefix + "region"
	Component = Prefix + "component"
	ManagedBy = "managed-by"
)

// MasterSlot names the master slot on its etcd volume and instances; the
// slot's IAM policy only works on resources carrying its own value, and
// `kinfra etcd restore` finds the masters by it.
const MasterSlot = Prefix + "master-slot"

// NodePool names the node pool on its group, instances and role (and, as a
// node label, on its nodes).
const NodePool = Prefix + "node-pool"

// Role says what a resource is to the cluster where its type does not: an
// etcd volume (RoleEtcd), the operators' security group, the issuer's
// bucket, the role an AMI was baked for.
const Role = Prefix + "role"

// RoleEtcd is the Role of a master slot's etcd volume.
const RoleEtcd = "etcd"

// ParameterGroup names the group of a master's SSM parameter (PKI, tools).
const ParameterGroup = Prefix + "parameter-group"

// Tier is "public" or "private" on subnets and route tables.
const Tier = Prefix + "tier"

// Tags on every AMI kinfra bakes, besides Role: the versions it holds, so
// that lookups in other stacks can filter on them.
const (
	KubernetesVersion = Prefix + "kubernetes-version"
	Containerd        = Prefix + "containerd"
	Runc              = Prefix + "runc"
	CNIPlugins        = Prefix + "cni-plugins"
	Etcd              = Prefix + "etcd" // masters' images only
)

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
