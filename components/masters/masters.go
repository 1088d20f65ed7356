// Package masters builds a cluster's control plane as the component resource
// kinfra:masters:ControlPlane: one master group per etcd member (an Auto
// Scaling Group of exactly one instance, pinned to its zone), each slot with
// its own protected etcd volume and DNS record; the API Network Load
// Balancer; the master, node and load balancer security groups; the masters'
// IAM; and the cluster PKI in SSM under a per-cluster KMS key.
//
// Slot i always lives in zone i mod zones and is always etcd member
// etcd-<i>, addressed as etcd-<i>.<privateDomain>. A replacement instance
// attaches the same volume and points the same record at itself, so it
// rejoins as the same member with its data.
package masters

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/components/network"
	"github.com/kinfra-dev/kinfra/internal/ami"
	"github.com/kinfra-dev/kinfra/internal/awsaccount"
	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/ports"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/tags/tagset"
	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/spec"
)

// SlotTag names the master slot on its volume and instance (tags.MasterSlot).
const SlotTag = tags.MasterSlot

// RoleTag says what a resource is to the control plane where its type does
// not (an etcd volume, the operators' security group, the issuer's bucket).
const RoleTag = tags.Role

// Network is what the control plane needs of the network, so that it can be
// built on a network made by another stack.
type Network struct {
	VpcID   pulumi.StringInput
	VpcCidr string
	// Zones are the availability zones in order; PrivateSubnetIDs and
	// PublicSubnetIDs are in the same order (PublicSubnetIDs may be empty for
	// an internal API).
	Zones            []string
	PrivateSubnetIDs []pulumi.StringInput
	PublicSubnetIDs  []pulumi.StringInput
	// IPv6 admits the nodes' IPv6 egress.
	IPv6 bool
}

// FromNetwork takes the references of a kinfra network component.
func FromNetwork(n *network.Network) Network {
	out := Network{VpcID: n.VpcID, VpcCidr: n.VpcCidr, Zones: n.AvailabilityZones, IPv6: n.Spec.IPv6}
	for _, s := range n.PrivateSubnets {
		out.PrivateSubnetIDs = append(out.PrivateSubnetIDs, s.ID)
	}
	for _, s := range n.PublicSubnets {
		out.PublicSubnetIDs = append(out.PublicSubnetIDs, s.ID)
	}
	return out
}

// Args shape a control plane. Cluster must be the effective spec
// (spec.Resolve); the sections it is built from are checked again with
// spec.Cluster.ValidateControlPlane.
type Args struct {
	Cluster spec.Cluster
	Network Network
	// PKI is the cluster's bundle (kinfra:pki). Required.
	PKI *pki.Bundle
	// Image is the master AMI built in this stack; required when
	// Cluster.Masters.Image.Pipeline is set. Launch templates ignore later
	// changes of it except on the rolling slot.
	Image *Image
}

// Slot is one master slot's stable identity.
type Slot struct {
	Index int
	Zone  string
	// Record is etcd-<i>.<privateDomain>.
	Record         string
	VolumeID       pulumi.StringOutput
	AutoScaling    pulumi.StringOutput // the group's name
	RoleArn        pulumi.StringOutput
	RoleName       pulumi.StringOutput
	LaunchTemplate pulumi.StringOutput // the launch template's ID
}

// ControlPlane is the kinfra:masters:ControlPlane component.
type ControlPlane struct {
	pulumi.ResourceState

	// APIName is the API's private DNS name; APIEndpoint is https://name:6443.
	APIName     string
	APIEndpoint string
	// PublicAPIName is the public record, or "".
	PublicAPIName string
	// Domain is the private hosted zone's name.
	Domain string
	Slots  []Slot
	// Ready are the master groups: each is created once its master answers
	// behind the API load balancer, and depends on everything the master
	// needs. Depend on these, not on the component: a component's children
	// register asynchronously, so dependsOn a component can miss some.
	Ready []pulumi.CustomResource

	PrivateZoneID         pulumi.StringOutput
	LoadBalancerDNSName   pulumi.StringOutput
	TargetGroupArn        pulumi.StringOutput
	MasterSecurityGroupID pulumi.StringOutput
	// OperatorSecurityGroupID is where kinfra roll and kinfra etcd run
	// from (ports.Operators): attach it to the deploy runner.
	OperatorSecurityGroupID     pulumi.StringOutput
	NodeSecurityGroupID         pulumi.StringOutput
	LoadBalancerSecurityGroupID pulumi.StringOutput
	KMSKeyArn                   pulumi.StringOutput
	// ParameterPrefix is the SSM path of the cluster's secrets and of its
	// etcd record (<ParameterPrefix>/etcd/...).
	ParameterPrefix string
	// BackupBucket is the S3 bucket the masters back etcd up to (the one
	// kinfra creates, or cluster.backup.bucket); "" when backups are off.
	BackupBucket string
	// ServiceAccountIssuer is the issuer the API servers sign
	// service-account tokens as, published where AWS STS reads it
	// (issuer.go); OIDCProviderArn is the IAM OpenID Connect provider a
	// role's trust policy names to trust its tokens.
	ServiceAccountIssuer string
	OIDCProviderArn      pulumi.StringOutput
	// JoinPolicyArn lets a node role read the join parameters and nothing
	// else; the workers attach it.
	JoinPolicyArn pulumi.StringOutput
	// CACert is the cluster CA certificate (public), CACertHash its kubeadm
	// discovery pin.
	CACert     string
	CACertHash string
	// UserData is each slot's rendered cloud-config, in slot order, for
	// review (the launch templates carry it gzipped).
	UserData []pulumi.StringOutput
}

// builder carries what every part of one control plane needs.
type builder struct {
	ctx       *pulumi.Context
	name      string
	c         spec.Cluster
	net       Network
	pki       *pki.Bundle
	out       *ControlPlane
	tags      tagset.Set
	parent    pulumi.ResourceOption
	account   string
	partition string

	kmsKeyArn    pulumi.StringOutput
	params       []pulumi.CustomResource
	tools        []pulumi.CustomResource
	masterSG     pulumi.StringOutput
	nodeSG       pulumi.StringOutput
	lbSG         pulumi.StringOutput
	targetGroup  pulumi.StringOutput
	nlbZoneID    pulumi.StringOutput
	listener     pulumi.CustomResource
	zoneID       pulumi.StringOutput
	sharedPolicy pulumi.StringOutput
	// backupDeps are the backup bucket's configuration resources, which
	// the master groups wait for.
	backupDeps []pulumi.CustomResource
	image      ami.Image
	built      Image
}

// New validates args, then registers the control plane. Invalid args fail
// before anything is registered, with every problem listed.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*ControlPlane, error) {
	if problems := args.check(); len(problems) > 0 {
		return nil, fmt.Errorf("masters %s: invalid arguments:\n  %s", name, strings.Join(problems, "\n  "))
	}
	c := args.Cluster
	hash, err := args.PKI.CACertHash()
	if err != nil {
		return nil, fmt.Errorf("masters %s: %w", name, err)
	}
	out := &ControlPlane{
		Domain:          c.PrivateDomain,
		APIName:         "api." + c.PrivateDomain,
		PublicAPIName:   c.API.PublicName,
		ParameterPrefix: bootstrap.ParameterPrefix(c.Name),
		CACert:          args.PKI.ClusterCA.Cert,
		CACertHash:      hash,
	}
	out.APIEndpoint = fmt.Sprintf("https://%s:%d", out.APIName, ports.API)
	if err := ctx.RegisterComponentResource("kinfra:masters:ControlPlane", name, out, opts...); err != nil {
		return nil, err
	}
	b := &builder{
		ctx: ctx, name: name, c: c, net: args.Network, pki: args.PKI, out: out,
		parent: pulumi.Parent(out),
		tags:   tagset.Set{ClusterName: c.Name, Region: c.Region, Component: "masters", Extra: c.Tags},
	}
	if args.Image != nil {
		b.built = *args.Image
	}
	if err := b.build(); err != nil {
		return nil, fmt.Errorf("masters %s: %w", name, err)
	}
	slots := pulumi.Array{}
	for _, s := range out.Slots {
		slots = append(slots, pulumi.Map{
			"index": pulumi.Int(s.Index), "zone": pulumi.String(s.Zone), "record": pulumi.String(s.Record),
			"volumeId": s.VolumeID, "autoScalingGroup": s.AutoScaling, "roleArn": s.RoleArn, "roleName": s.RoleName,
		})
	}
	if err := ctx.RegisterResourceOutputs(out, pulumi.Map{
		"apiEndpoint":             pulumi.String(out.APIEndpoint),
		"privateZoneId":           out.PrivateZoneID,
		"loadBalancerDnsName":     out.LoadBalancerDNSName,
		"masterSecurityGroupId":   out.MasterSecurityGroupID,
		"operatorSecurityGroupId": out.OperatorSecurityGroupID,
		"nodeSecurityGroupId":     out.NodeSecurityGroupID,
		"kmsKeyArn":               out.KMSKeyArn,
		"parameterPrefix":         pulumi.String(out.ParameterPrefix),
		"joinPolicyArn":           out.JoinPolicyArn,
		"backupBucket":            pulumi.String(out.BackupBucket),
		"serviceAccountIssuer":    pulumi.String(out.ServiceAccountIssuer),
		"oidcProviderArn":         out.OIDCProviderArn,
		"slots":                   slots,
	}); err != nil {
		return nil, err
	}
	return out, nil
}

func (a Args) check() []string {
	var problems []string
	if a.PKI == nil {
		problems = append(problems, "masters.PKI: required; create it with `kinfra pki init`")
	}
	if errs := a.Cluster.ValidateControlPlane(); len(errs) > 0 {
		problems = append(problems, errs.Messages()...)
	}
	n := a.Network
	if n.VpcID == nil {
		problems = append(problems, "masters.Network.VpcID: required")
	}
	if len(n.Zones) == 0 || len(n.PrivateSubnetIDs) != len(n.Zones) {
		problems = append(problems, fmt.Sprintf("masters.Network: %d zones and %d private subnets; give one private subnet per zone", len(n.Zones), len(n.PrivateSubnetIDs)))
	}
	problems = append(problems, a.checkImage()...)
	if a.Cluster.API.Scheme == spec.SchemeInternetFacing && len(n.PublicSubnetIDs) == 0 {
		problems = append(problems, "masters.Network.PublicSubnetIDs: required for an internet-facing API")
	}
	// The spec checked its own zones; these are the network's, which may
	// have been resolved from AWS or given by a library caller.
	if z, k := spec.MajorityZone(a.Cluster.Masters.Count, len(n.Zones)); z >= 0 {
		problems = append(problems, fmt.Sprintf("masters.Network.Zones: %d of %d masters would run in %s, a majority; losing that zone loses etcd quorum", k, a.Cluster.Masters.Count, n.Zones[z]))
	}
	return problems
}

func (b *builder) build() error {
	id, err := awsaccount.Lookup(b.ctx, b.out)
	if err != nil {
		return err
	}
	b.account, b.partition = id.AccountID, id.Partition
	steps := []func() error{b.lookupImage, b.secrets, b.toolParameters, b.serviceAccountIssuer}
	if b.c.Backup.On() {
		steps = append(steps, b.backupBucket)
	}
	steps = append(steps, b.securityGroups, b.loadBalancer, b.dns, b.sharedIAM, b.bootFailedAlarm)
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	for i := range b.c.Masters.Count {
		if err := b.slot(i); err != nil {
			return fmt.Errorf("slot %d: %w", i, err)
		}
	}
	if b.c.Backup.On() {
		if err := b.backupAlarm(); err != nil {
			return fmt.Errorf("backup alarm: %w", err)
		}
	}
	return b.healthAlarms()
}

// arn builds an ARN in this stack's partition, region and account.
func (b *builder) arn(service, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", b.partition, service, b.c.Region, b.account, resource)
}
