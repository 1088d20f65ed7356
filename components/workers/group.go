package workers

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/after"
	"github.com/kinfra-dev/kinfra/internal/ami"
	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/launchtemplate"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/validate"
	"github.com/kinfra-dev/kinfra/spec"
)

// AutoscaledSettings are the group properties Pulumi leaves to
// cluster-autoscaler when it manages the pool.
var AutoscaledSettings = []string{"desiredCapacity"}

// RolledGroupSetting is the pool group property `kinfra roll` owns: the
// launch template version the group launches. Pulumi sets it when it
// creates the group and ignores it afterwards, so that a new launch
// template version (a new image, labels, reservations, ...) replaces no node
// until the roll replaces the pool's nodes, after the masters, in batches,
// draining each node with PodDisruptionBudgets honoured (internal/roll).
// Nodes cluster-autoscaler adds meanwhile launch from the version the roll
// last moved the group to.
const RolledGroupSetting = "mixedInstancesPolicy.launchTemplate.launchTemplateSpecification.version"

// Labels are the pool's node labels, kinfra's pool label included.
func Labels(p spec.NodePool) map[string]string {
	out := map[string]string{tags.NodePool: p.Name}
	for k, v := range p.Labels {
		out[k] = v
	}
	return out
}

// Node is the pool's bootstrap input.
func (b *builder) node() bootstrap.Node {
	var taints []bootstrap.Taint
	for _, t := range b.p.Taints {
		taints = append(taints, bootstrap.Taint{Key: t.Key, Value: t.Value, Effect: t.Effect})
	}
	j := b.args.Join
	return bootstrap.Node{
		ClusterName: b.c.Name, Region: b.c.Region, Pool: b.p.Name,
		APIName: j.APIName, CACertHash: j.CACertHash, ParameterPrefix: j.ParameterPrefix,
		Labels: Labels(b.p), Taints: taints, MaxPods: b.p.MaxPods,
		KubeReserved: b.p.KubeReserved, SystemReserved: b.p.SystemReserved, EvictionHard: b.p.EvictionHard,
	}
}

func (b *builder) launchTemplate(img ami.Image, profile *iam.InstanceProfile) (*ec2.LaunchTemplate, error) {
	rendered, err := b.node().Render()
	if err != nil {
		return nil, err
	}
	encoded, err := bootstrap.EncodeUserData(rendered.UserData)
	if err != nil {
		return nil, err
	}
	b.out.UserData = pulumi.String(rendered.UserData).ToStringOutput()

	poolTag := map[string]string{tags.NodePool: b.p.Name}
	instanceTags := b.tags.For(b.name, poolTag, map[string]string{tags.ClusterKey(b.c.Name): "owned"})
	return ec2.NewLaunchTemplate(b.ctx, b.name, &ec2.LaunchTemplateArgs{
		Description: pulumi.String(fmt.Sprintf("kinfra %s: node pool %s", b.c.Name, b.p.Name)),
		ImageId:     img.ID,
		// The group's mixed instances policy overrides the type with its
		// list; this is the first choice.
		InstanceType:         pulumi.String(b.p.InstanceTypes[0]),
		IamInstanceProfile:   &ec2.LaunchTemplateIamInstanceProfileArgs{Arn: profile.Arn},
		VpcSecurityGroupIds:  pulumi.StringArray(b.args.Join.SecurityGroupIDs),
		UserData:             pulumi.String(encoded),
		EbsOptimized:         pulumi.String("true"),
		UpdateDefaultVersion: pulumi.Bool(true),
		MetadataOptions:      launchtemplate.IMDSv2(),
		Monitoring:           &ec2.LaunchTemplateMonitoringArgs{Enabled: pulumi.Bool(true)},
		BlockDeviceMappings:  launchtemplate.RootVolume(img.RootDevice, b.p.RootVolume),
		TagSpecifications: ec2.LaunchTemplateTagSpecificationArray{
			&ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("instance"), Tags: instanceTags},
			&ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("volume"), Tags: b.tags.For(b.name+"-root", poolTag)},
			&ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("network-interface"), Tags: b.tags.For(b.name, poolTag)},
		},
		Tags: b.tags.For(b.name, poolTag),
	}, b.parent)
}

// groupTags are the group's tags: the instance tags, propagated at launch
// (the termination handler's among them: it reads the instance's tags before
// draining), and cluster-autoscaler's discovery and node-template tags, on
// the group only.
func (b *builder) groupTags() autoscaling.GroupTagArray {
	poolTag := map[string]string{tags.NodePool: b.p.Name}
	propagated := b.tags.For(b.name, poolTag, map[string]string{tags.ClusterKey(b.c.Name): "owned", TerminationHandlerTag: "true"})
	groupOnly := map[string]string{}
	if b.p.AutoscalerOn() {
		groupOnly[AutoscalerEnabledTag] = "true"
		groupOnly[AutoscalerClusterTag(b.c.Name)] = "owned"
		for k, v := range Labels(b.p) {
			groupOnly[spec.AutoscalerLabelTag(k)] = v
		}
		for _, t := range b.p.Taints {
			groupOnly[spec.AutoscalerTaintTag(t.Key)] = t.Value + ":" + t.Effect
		}
	}
	var out autoscaling.GroupTagArray
	for _, k := range validate.SortedKeys(propagated) {
		out = append(out, &autoscaling.GroupTagArgs{Key: pulumi.String(k), Value: propagated[k], PropagateAtLaunch: pulumi.Bool(true)})
	}
	for _, k := range validate.SortedKeys(groupOnly) {
		out = append(out, &autoscaling.GroupTagArgs{Key: pulumi.String(k), Value: pulumi.String(groupOnly[k]), PropagateAtLaunch: pulumi.Bool(false)})
	}
	return out
}

// group creates the pool's Auto Scaling Group and its termination hook.
func (b *builder) group(lt *ec2.LaunchTemplate) error {
	p := b.p
	var subnets pulumi.StringArray
	for _, z := range spec.PoolZones(p, b.args.Network.Zones, len(b.args.Network.Zones)) {
		subnets = append(subnets, b.args.Network.SubnetIDs[z])
	}
	var overrides autoscaling.GroupMixedInstancesPolicyLaunchTemplateOverrideArray
	for _, t := range p.InstanceTypes {
		overrides = append(overrides, &autoscaling.GroupMixedInstancesPolicyLaunchTemplateOverrideArgs{InstanceType: pulumi.String(t)})
	}
	args := &autoscaling.GroupArgs{
		MinSize:            pulumi.Int(p.MinSize),
		MaxSize:            pulumi.Int(p.MaxSize),
		DesiredCapacity:    pulumi.Int(*p.DesiredSize),
		VpcZoneIdentifiers: subnets,
		MixedInstancesPolicy: &autoscaling.GroupMixedInstancesPolicyArgs{
			InstancesDistribution: &autoscaling.GroupMixedInstancesPolicyInstancesDistributionArgs{
				OnDemandBaseCapacity:                pulumi.Int(p.OnDemandBase),
				OnDemandPercentageAboveBaseCapacity: pulumi.Int(*p.OnDemandPercentageAboveBase),
				// On-demand follows the listed order; spot follows the
				// configured strategy.
				OnDemandAllocationStrategy: pulumi.String("prioritized"),
				SpotAllocationStrategy:     pulumi.String(p.SpotAllocationStrategy),
			},
			LaunchTemplate: &autoscaling.GroupMixedInstancesPolicyLaunchTemplateArgs{
				LaunchTemplateSpecification: &autoscaling.GroupMixedInstancesPolicyLaunchTemplateLaunchTemplateSpecificationArgs{
					LaunchTemplateId: lt.ID(),
					// Set at creation only (RolledGroupSetting).
					Version: lt.LatestVersion.ApplyT(func(v int) string { return strconv.Itoa(v) }).(pulumi.StringOutput),
				},
				Overrides: overrides,
			},
		},
		CapacityRebalance:      pulumi.Bool(*p.CapacityRebalance),
		HealthCheckType:        pulumi.String("EC2"),
		HealthCheckGracePeriod: pulumi.Int(300),
		DefaultInstanceWarmup:  pulumi.Int(p.InstanceRefresh.InstanceWarmupSeconds),
		// Scale-in removes the nodes furthest behind first.
		TerminationPolicies: pulumi.StringArray{pulumi.String("OldestLaunchTemplate"), pulumi.String("OldestInstance")},
		// No instance refresh: `kinfra roll` replaces the nodes
		// (RolledGroupSetting).
		// Nodes are in service when EC2 runs them; whether they joined is
		// the cluster's business, and a node that cannot join marks itself
		// unhealthy.
		WaitForCapacityTimeout: pulumi.String("0"),
		Tags:                   b.groupTags(),
	}
	ignored := []string{RolledGroupSetting}
	if p.AutoscalerOn() {
		// cluster-autoscaler owns the desired capacity; an update must
		// never reset it.
		ignored = append(ignored, AutoscaledSettings...)
	}
	opts := []pulumi.ResourceOption{b.parent, after.All(b.args.After...), pulumi.IgnoreChanges(ignored)}
	asg, err := autoscaling.NewGroup(b.ctx, b.name, args, opts...)
	if err != nil {
		return err
	}
	meta, err := json.Marshal(map[string]string{"cluster": b.c.Name, "nodePool": p.Name})
	if err != nil {
		return err
	}
	if _, err := autoscaling.NewLifecycleHook(b.ctx, b.name+"-drain", &autoscaling.LifecycleHookArgs{
		AutoscalingGroupName: asg.Name,
		LifecycleTransition:  pulumi.String("autoscaling:EC2_INSTANCE_TERMINATING"),
		// The handler completes the action once the node is drained; if
		// it never does, the instance goes when the timeout expires.
		HeartbeatTimeout:      pulumi.Int(p.DrainTimeoutSeconds),
		DefaultResult:         pulumi.String("CONTINUE"),
		NotificationTargetArn: b.args.Termination.QueueArn,
		RoleArn:               b.args.Termination.RoleArn,
		NotificationMetadata:  pulumi.String(string(meta)),
	}, b.parent); err != nil {
		return err
	}
	b.out.AutoScalingGroup = asg.Name
	b.out.LaunchTemplateID = lt.ID().ToStringOutput()
	return nil
}
