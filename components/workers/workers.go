// Package workers builds node pools as the component resource
// kinfra:workers:NodePool: a launch template of the pool's baked AMI with
// IMDSv2 and an encrypted root volume, an Auto Scaling Group over the private
// subnets of the pool's zones (mixed instance types, spot above an on-demand
// base, capacity rebalance; its launch template version left to kinfra roll,
// which replaces the nodes, RolledGroupSetting), a termination
// lifecycle hook so that nodes are drained before they go, cluster-autoscaler
// discovery and node-template tags, and the node role.
//
// Nodes join with kubeadm: token discovery against the API name pinned to the
// cluster CA's hash, the token read from SSM at boot. A pool needs only what
// Join and Network describe, so another stack can add a pool to a running
// cluster from that cluster's stack outputs (see the example).
//
// TerminationQueue (kinfra:workers:TerminationQueue) is where the pools'
// lifecycle hooks and EC2's spot and rebalance events go, for the node
// termination handler to drain nodes from; one per cluster.
package workers

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/components/network"
	"github.com/kinfra-dev/kinfra/internal/awsaccount"
	"github.com/kinfra-dev/kinfra/internal/awsnames"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/tags/tagset"
	"github.com/kinfra-dev/kinfra/spec"
)

// PoolTag names the node pool on its group, instances and role.
const PoolTag = tags.NodePool

// Autoscaler tags: cluster-autoscaler's auto-discovery finds groups carrying
// both; node-template tags tell it what a node of an empty group would look
// like, so it can scale a pool up from zero.
const (
	AutoscalerEnabledTag  = tags.AutoscalerEnabled
	AutoscalerTemplateTag = spec.AutoscalerTemplateTag
	// TerminationHandlerTag marks groups whose nodes the AWS node
	// termination handler (queue mode) drains.
	TerminationHandlerTag = tags.TerminationHandler
)

// AutoscalerClusterTag is the per-cluster auto-discovery tag.
func AutoscalerClusterTag(cluster string) string { return tags.AutoscalerCluster(cluster) }

// Join is what a node needs of the cluster's control plane; the masters
// component (or another stack's outputs) provides it.
type Join struct {
	// APIName is the API's private DNS name (api.<privateDomain>).
	APIName string
	// CACertHash pins the cluster CA for discovery (sha256:…).
	CACertHash string
	// ParameterPrefix is the SSM path of the cluster's PKI (/kinfra/<name>).
	ParameterPrefix string
	// JoinPolicyArn lets the node role read the join parameters.
	JoinPolicyArn pulumi.StringInput
	// SecurityGroupIDs of the nodes (the cluster's node security group).
	SecurityGroupIDs []pulumi.StringInput
}

// Network is where the pool's nodes run: the cluster's network, as the
// network component made it (FromNetwork), or from the cluster stack's
// outputs availabilityZones and privateSubnetIds.
type Network struct {
	VpcID pulumi.StringInput
	// Zones are the cluster's availability zones, in order: the one zone
	// list the pool's zones are checked against and placed in.
	Zones []string
	// SubnetIDs are the cluster's private subnets, one per zone of Zones,
	// in that order; the pool uses those of its zones.
	SubnetIDs []pulumi.StringInput
}

// FromNetwork is the Network of a network component: its zones, as it
// resolved them, and its private subnets.
func FromNetwork(n *network.Network) Network {
	out := Network{VpcID: n.VpcID, Zones: n.AvailabilityZones}
	for _, s := range n.PrivateSubnets {
		out.SubnetIDs = append(out.SubnetIDs, s.ID)
	}
	return out
}

// Image is an AMI built in the same stack (the images component).
type Image struct {
	ID pulumi.StringInput
	// RootDevice is the AMI's root device name (/dev/sda1, /dev/xvda …).
	RootDevice string
}

// Termination is the lifecycle hook's notification target.
type Termination struct {
	QueueArn pulumi.StringInput
	// RoleArn lets Auto Scaling send to the queue.
	RoleArn pulumi.StringInput
}

// Args shape one node pool.
type Args struct {
	// Cluster is the spec of the cluster the pool joins. Name, Region, Tags,
	// Kubernetes (version and nodeVersion, which names the pool's default
	// image, podCidr, nodeCidrMaskSize), CNI and Images are used; defaults
	// are applied. Its network is not: zones come from Network.
	Cluster spec.Cluster
	// Pool is the pool; defaults are applied.
	Pool    spec.NodePool
	Join    Join
	Network Network
	// Image is required when the pool uses the stack's pipeline image.
	Image       *Image
	Termination Termination
	// After are resources the group waits for before launching nodes: the
	// master groups (masters.ControlPlane.Ready), complete once the API
	// answers. Custom resources only (internal/after says why).
	After []pulumi.CustomResource
}

// NodePool is the kinfra:workers:NodePool component.
type NodePool struct {
	pulumi.ResourceState

	// Spec is the effective pool.
	Spec             spec.NodePool
	AutoScalingGroup pulumi.StringOutput // the group's name
	LaunchTemplateID pulumi.StringOutput
	RoleArn          pulumi.StringOutput
	RoleName         pulumi.StringOutput
	// UserData is the pool's rendered cloud-config, for review (the launch
	// template carries it gzipped).
	UserData pulumi.StringOutput
}

type builder struct {
	ctx       *pulumi.Context
	name      string
	c         spec.Cluster
	p         spec.NodePool
	args      Args
	out       *NodePool
	tags      tagset.Set
	parent    pulumi.ResourceOption
	account   string
	partition string
}

// New validates args, then registers the pool. Invalid args fail before
// anything is registered, with every problem listed.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*NodePool, error) {
	// A pool reads nothing of the cluster's other pools: defaulting them here
	// too, once per pool, made a cluster's plan quadratic in its pools.
	cluster := args.Cluster
	cluster.NodePools = nil
	c := cluster.WithDefaults()
	p := args.Pool.WithDefaults(c.Kubernetes.NodeVersion, c.Images)
	problems := args.check(c, p)
	// Names derive from the component's name, which a library user chooses.
	problems = append(problems, awsnames.Overlong(
		awsnames.Autonamed{Type: awsnames.Role, Logical: name + "-node"},
		awsnames.Autonamed{Type: awsnames.InstanceProfile, Logical: name + "-node"},
		awsnames.Autonamed{Type: awsnames.RolePolicy, Logical: name + "-node"},
		awsnames.Autonamed{Type: awsnames.LaunchTemplate, Logical: name},
		awsnames.Autonamed{Type: awsnames.AutoScaling, Logical: name},
		awsnames.Autonamed{Type: awsnames.LifecycleHook, Logical: name + "-drain"},
	)...)
	if len(problems) > 0 {
		return nil, fmt.Errorf("workers %s: invalid arguments:\n  %s", name, strings.Join(problems, "\n  "))
	}
	out := &NodePool{Spec: p}
	if err := ctx.RegisterComponentResource("kinfra:workers:NodePool", name, out, opts...); err != nil {
		return nil, err
	}
	b := &builder{
		ctx: ctx, name: name, c: c, p: p, args: args, out: out,
		parent: pulumi.Parent(out),
		tags:   tagset.Set{ClusterName: c.Name, Region: c.Region, Component: "workers", Extra: c.Tags},
	}
	id, err := awsaccount.Lookup(ctx, out)
	if err != nil {
		return nil, fmt.Errorf("workers %s: %w", name, err)
	}
	b.account, b.partition = id.AccountID, id.Partition
	if err := b.build(); err != nil {
		return nil, fmt.Errorf("workers %s: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(out, pulumi.Map{
		"autoScalingGroup": out.AutoScalingGroup,
		"launchTemplateId": out.LaunchTemplateID,
		"roleArn":          out.RoleArn,
	}); err != nil {
		return nil, err
	}
	return out, nil
}

func (a Args) check(c spec.Cluster, p spec.NodePool) []string {
	problems := c.ValidateNodePool("workers.Pool", p, a.Network.Zones).Messages()
	// A pool added from another stack must not outrun the control plane
	// either.
	if v, err := c.Kubernetes.Versions(); err != nil {
		problems = append(problems, err.Error())
	} else {
		problems = append(problems, spec.CheckNodeSkew(v).Messages()...)
	}
	if c.Name == "" || c.Region == "" {
		problems = append(problems, "workers.Cluster: Name and Region are required")
	}
	if len(a.Network.Zones) == 0 {
		problems = append(problems, "workers.Network.Zones: required; the zones of Network.SubnetIDs, in order")
	}
	if len(a.Network.SubnetIDs) != len(a.Network.Zones) {
		problems = append(problems, fmt.Sprintf("workers.Network.SubnetIDs: %d subnets for %d zones; give one private subnet per zone, in zone order", len(a.Network.SubnetIDs), len(a.Network.Zones)))
	}
	if c.CNI.PodsUseVPCAddresses() && a.Network.VpcID == nil {
		problems = append(problems, "workers.Network.VpcID: required with native routing (the node role may create pod network interfaces in this VPC only)")
	}
	if c.CNI.Provider == spec.CNICalico && a.Network.VpcID == nil {
		problems = append(problems, "workers.Network.VpcID: required with calico (the node role may turn off source/destination checks on interfaces in this VPC only)")
	}
	j := a.Join
	if j.APIName == "" || j.CACertHash == "" || j.ParameterPrefix == "" {
		problems = append(problems, "workers.Join: APIName, CACertHash and ParameterPrefix are required (the control plane's apiName, caCertHash and parameterPrefix outputs)")
	}
	if j.JoinPolicyArn == nil {
		problems = append(problems, "workers.Join.JoinPolicyArn: required; the node role reads the join token through it")
	}
	if len(j.SecurityGroupIDs) == 0 {
		problems = append(problems, "workers.Join.SecurityGroupIDs: required; the cluster's node security group")
	}
	if p.Image.Pipeline && (a.Image == nil || a.Image.ID == nil || a.Image.RootDevice == "") {
		problems = append(problems, "workers.Image: required (ID and RootDevice) when the pool uses the stack's pipeline image")
	}
	if a.Termination.QueueArn == nil || a.Termination.RoleArn == nil {
		problems = append(problems, "workers.Termination: QueueArn and RoleArn are required; nodes are drained from that queue before they terminate")
	}
	return problems
}

func (b *builder) build() error {
	img, err := b.image()
	if err != nil {
		return err
	}
	profile, err := b.role()
	if err != nil {
		return err
	}
	lt, err := b.launchTemplate(img, profile)
	if err != nil {
		return err
	}
	return b.group(lt)
}

// arn builds an ARN in this stack's partition, region and account.
func (b *builder) arn(service, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", b.partition, service, b.c.Region, b.account, resource)
}
