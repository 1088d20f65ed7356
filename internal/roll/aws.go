package roll

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/kinfra-dev/kinfra/internal/tags"
)

// AutoScalingAPI is what the roll asks of Auto Scaling.
type AutoScalingAPI interface {
	DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, opts ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	UpdateAutoScalingGroup(ctx context.Context, in *autoscaling.UpdateAutoScalingGroupInput, opts ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error)
	TerminateInstanceInAutoScalingGroup(ctx context.Context, in *autoscaling.TerminateInstanceInAutoScalingGroupInput, opts ...func(*autoscaling.Options)) (*autoscaling.TerminateInstanceInAutoScalingGroupOutput, error)
	SetDesiredCapacity(ctx context.Context, in *autoscaling.SetDesiredCapacityInput, opts ...func(*autoscaling.Options)) (*autoscaling.SetDesiredCapacityOutput, error)
}

// EC2API reads launch templates and the instances' launched versions.
type EC2API interface {
	DescribeLaunchTemplates(ctx context.Context, in *ec2.DescribeLaunchTemplatesInput, opts ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error)
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, opts ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

// ELBAPI reads the API target group's health.
type ELBAPI interface {
	DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
}

// LaunchTemplateVersionTag is the tag EC2 puts on every instance launched
// from a launch template: the version it was launched from. (Auto Scaling's
// own report of an instance's version is the better-known source, but EC2's
// tag is the same on AWS and in moto_server, which reports the template's
// current default there.)
const LaunchTemplateVersionTag = "aws:ec2launchtemplate:version"

// AWSFleet is the Fleet of one cluster's master groups in one region.
type AWSFleet struct {
	AutoScaling AutoScalingAPI
	EC2         EC2API
	ELB         ELBAPI
	// Cluster is the cluster's name; TargetGroupARN the API target group
	// (looked up from the groups when empty).
	Cluster        string
	TargetGroupARN string
}

// NewAWSFleet builds the fleet from an SDK configuration.
func NewAWSFleet(cfg aws.Config, cluster string) *AWSFleet {
	return &AWSFleet{
		AutoScaling: autoscaling.NewFromConfig(cfg),
		EC2:         ec2.NewFromConfig(cfg),
		ELB:         elbv2.NewFromConfig(cfg),
		Cluster:     cluster,
	}
}

// tagged lists the cluster's groups that carry the tag key.
func (f *AWSFleet) tagged(ctx context.Context, key string) ([]Group, error) {
	in := &autoscaling.DescribeAutoScalingGroupsInput{Filters: []astypes.Filter{
		{Name: aws.String("tag:" + tags.ClusterKey(f.Cluster)), Values: []string{"owned"}},
		{Name: aws.String("tag-key"), Values: []string{key}},
	}}
	var groups []Group
	p := autoscaling.NewDescribeAutoScalingGroupsPaginator(f.AutoScaling, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the groups tagged %s: %w", key, err)
		}
		for _, g := range out.AutoScalingGroups {
			grp, err := f.group(ctx, g)
			if err != nil {
				return nil, err
			}
			groups = append(groups, grp)
		}
	}
	return groups, nil
}

// PoolGroups finds the groups tagged as the cluster's node pools.
func (f *AWSFleet) PoolGroups(ctx context.Context) (map[string]Group, error) {
	groups, err := f.tagged(ctx, tags.NodePool)
	if err != nil {
		return nil, err
	}
	out := map[string]Group{}
	for _, g := range groups {
		if other, dup := out[g.Pool]; dup {
			return nil, fmt.Errorf("groups %s and %s both claim node pool %s", other.Name, g.Name, g.Pool)
		}
		out[g.Pool] = g
	}
	return out, nil
}

// MasterGroups finds the groups tagged as the cluster's master slots.
func (f *AWSFleet) MasterGroups(ctx context.Context) ([]Group, error) {
	raw, err := f.tagged(ctx, tags.MasterSlot)
	if err != nil {
		return nil, err
	}
	seen := map[int]string{}
	var groups []Group
	for _, grp := range raw {
		if other, dup := seen[grp.Slot]; dup {
			return nil, fmt.Errorf("groups %s and %s both claim master slot %d", other, grp.Name, grp.Slot)
		}
		seen[grp.Slot] = grp.Name
		groups = append(groups, grp)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Slot < groups[j].Slot })
	return groups, nil
}

// Group reads one group again.
func (f *AWSFleet) Group(ctx context.Context, name string) (Group, error) {
	out, err := f.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		return Group{}, fmt.Errorf("reading group %s: %w", name, err)
	}
	if len(out.AutoScalingGroups) != 1 {
		return Group{}, fmt.Errorf("group %s not found", name)
	}
	return f.group(ctx, out.AutoScalingGroups[0])
}

func (f *AWSFleet) group(ctx context.Context, g astypes.AutoScalingGroup) (Group, error) {
	name := aws.ToString(g.AutoScalingGroupName)
	grp := Group{Name: name, Slot: -1, Desired: int(aws.ToInt32(g.DesiredCapacity)), MaxSize: int(aws.ToInt32(g.MaxSize))}
	for _, t := range g.Tags {
		switch aws.ToString(t.Key) {
		case tags.MasterSlot:
			s, err := strconv.Atoi(aws.ToString(t.Value))
			if err != nil {
				return grp, fmt.Errorf("group %s: master slot tag %q is not a number", name, aws.ToString(t.Value))
			}
			grp.Slot = s
		case tags.NodePool:
			grp.Pool = aws.ToString(t.Value)
		}
	}
	lt := g.LaunchTemplate
	if mip := g.MixedInstancesPolicy; mip != nil && mip.LaunchTemplate != nil {
		grp.mixed = mip
		lt = mip.LaunchTemplate.LaunchTemplateSpecification
		for _, o := range mip.LaunchTemplate.Overrides {
			if o.InstanceType != nil {
				grp.InstanceTypes = append(grp.InstanceTypes, aws.ToString(o.InstanceType))
			}
		}
	}
	if lt == nil || lt.LaunchTemplateId == nil {
		return grp, fmt.Errorf("group %s launches no launch template", name)
	}
	grp.LaunchTemplateID = aws.ToString(lt.LaunchTemplateId)
	grp.GroupVersion = aws.ToString(lt.Version)
	if f.TargetGroupARN == "" && len(g.TargetGroupARNs) == 1 {
		f.TargetGroupARN = g.TargetGroupARNs[0]
	}

	lts, err := f.EC2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{grp.LaunchTemplateID}})
	if err != nil {
		return grp, fmt.Errorf("group %s: reading launch template %s: %w", name, grp.LaunchTemplateID, err)
	}
	if len(lts.LaunchTemplates) != 1 || lts.LaunchTemplates[0].DefaultVersionNumber == nil {
		return grp, fmt.Errorf("group %s: launch template %s not found", name, grp.LaunchTemplateID)
	}
	grp.Declared = strconv.FormatInt(*lts.LaunchTemplates[0].DefaultVersionNumber, 10)
	// A group may name $Default or $Latest; the roll always pins a number.
	if grp.GroupVersion == "$Default" {
		grp.GroupVersion = grp.Declared
	} else if grp.GroupVersion == "$Latest" && lts.LaunchTemplates[0].LatestVersionNumber != nil {
		grp.GroupVersion = strconv.FormatInt(*lts.LaunchTemplates[0].LatestVersionNumber, 10)
	}

	var ids []string
	byID := map[string]*Instance{}
	for _, in := range g.Instances {
		switch in.LifecycleState {
		case astypes.LifecycleStateTerminating, astypes.LifecycleStateTerminatingWait,
			astypes.LifecycleStateTerminatingProceed, astypes.LifecycleStateTerminated:
			continue
		}
		id := aws.ToString(in.InstanceId)
		grp.Instances = append(grp.Instances, Instance{ID: id, LifecycleState: string(in.LifecycleState), Type: aws.ToString(in.InstanceType)})
		ids = append(ids, id)
	}
	for i := range grp.Instances {
		byID[grp.Instances[i].ID] = &grp.Instances[i]
	}
	if len(ids) == 0 {
		return grp, nil
	}
	p := ec2.NewDescribeInstancesPaginator(f.EC2, &ec2.DescribeInstancesInput{InstanceIds: ids})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return grp, fmt.Errorf("group %s: reading its instances: %w", name, err)
		}
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				dst := byID[aws.ToString(in.InstanceId)]
				if dst == nil {
					continue
				}
				dst.PrivateIP = aws.ToString(in.PrivateIpAddress)
				dst.Version = tagValue(in.Tags, LaunchTemplateVersionTag)
			}
		}
	}
	return grp, nil
}

func tagValue(ts []ec2types.Tag, key string) string {
	for _, t := range ts {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// SetVersion points the group at a version of its launch template: in its
// mixed instances policy, with the overrides unchanged, when it has one.
func (f *AWSFleet) SetVersion(ctx context.Context, g Group, version string) error {
	spec := &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(g.LaunchTemplateID), Version: aws.String(version)}
	in := &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(g.Name), LaunchTemplate: spec}
	if g.mixed != nil {
		in.LaunchTemplate = nil
		in.MixedInstancesPolicy = &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{
			LaunchTemplateSpecification: spec,
			Overrides:                   g.mixed.LaunchTemplate.Overrides,
		}}
	}
	_, err := f.AutoScaling.UpdateAutoScalingGroup(ctx, in)
	return err
}

// Replace terminates the instance and keeps the group's desired capacity.
func (f *AWSFleet) Replace(ctx context.Context, g Group, instanceID string) error {
	return f.terminate(ctx, instanceID, false)
}

// Remove terminates the instance and lowers the group's desired capacity.
func (f *AWSFleet) Remove(ctx context.Context, g Group, instanceID string) error {
	return f.terminate(ctx, instanceID, true)
}

func (f *AWSFleet) terminate(ctx context.Context, instanceID string, decrement bool) error {
	_, err := f.AutoScaling.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId:                     aws.String(instanceID),
		ShouldDecrementDesiredCapacity: aws.Bool(decrement),
	})
	return err
}

// SetDesired sets the group's desired capacity, honouring its cooldown
// like any scaling request (cluster-autoscaler's among them).
func (f *AWSFleet) SetDesired(ctx context.Context, g Group, n int) error {
	_, err := f.AutoScaling.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{
		AutoScalingGroupName: aws.String(g.Name),
		DesiredCapacity:      aws.Int32(int32(n)),
	})
	return err
}

// TargetHealth is the instance's state in the API target group.
func (f *AWSFleet) TargetHealth(ctx context.Context, instanceID string) (string, error) {
	if f.TargetGroupARN == "" {
		return "", fmt.Errorf("the master groups name no single API target group")
	}
	out, err := f.ELB.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{
		TargetGroupArn: aws.String(f.TargetGroupARN),
		Targets:        []elbtypes.TargetDescription{{Id: aws.String(instanceID)}},
	})
	if err != nil {
		return "", fmt.Errorf("reading target health: %w", err)
	}
	for _, d := range out.TargetHealthDescriptions {
		if d.Target != nil && aws.ToString(d.Target.Id) == instanceID && d.TargetHealth != nil {
			state := string(d.TargetHealth.State)
			if r := aws.ToString(d.TargetHealth.Description); r != "" && state != "healthy" {
				state += " (" + r + ")"
			}
			return state, nil
		}
	}
	return "not registered", nil
}
