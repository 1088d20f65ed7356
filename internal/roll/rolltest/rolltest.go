// Package rolltest builds, in moto_server, a cluster's master groups as
// `pulumi up` leaves them, for the tests of kinfra roll: per slot a launch
// template and a one-instance group at version 1, tagged like kinfra's and
// attached to the API target group, plus another cluster's master group the
// roll must not see.
package rolltest

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/tags"
)

// Masters are one cluster's master groups in moto_server.
type Masters struct {
	ASG       *autoscaling.Client
	EC2       *ec2.Client
	Templates []string
	Groups    []string
}

// CreateMasters makes slots master groups of cluster in the account cfg
// points at.
func CreateMasters(t *testing.T, cfg aws.Config, cluster string, slots int) *Masters {
	t.Helper()
	ctx := context.Background()
	c := &Masters{ASG: autoscaling.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg)}
	lb := elbv2.NewFromConfig(cfg)
	vpc, err := c.EC2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	require.NoError(t, err)
	images, err := c.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{})
	require.NoError(t, err)
	require.NotEmpty(t, images.Images)
	ami := aws.ToString(images.Images[0].ImageId)
	tg, err := lb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String(cluster + "-api"), Protocol: "TCP", Port: aws.Int32(6443), VpcId: vpc.Vpc.VpcId, TargetType: "instance"})
	require.NoError(t, err)
	for i := range slots {
		subnet, err := c.EC2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i)), AvailabilityZone: aws.String(cfg.Region + string(rune('a'+i%3)))})
		require.NoError(t, err)
		name := fmt.Sprintf("%s-masters-master-%d", cluster, i)
		lt, err := c.EC2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name),
			LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(ami), InstanceType: "m7i.2xlarge"}})
		require.NoError(t, err)
		c.Templates = append(c.Templates, aws.ToString(lt.LaunchTemplate.LaunchTemplateId))
		_, err = c.ASG.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
			AutoScalingGroupName: aws.String(name), MinSize: aws.Int32(1), MaxSize: aws.Int32(1), DesiredCapacity: aws.Int32(1),
			VPCZoneIdentifier: subnet.Subnet.SubnetId,
			LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId, Version: aws.String("1")},
			TargetGroupARNs:   []string{aws.ToString(tg.TargetGroups[0].TargetGroupArn)},
			Tags: []astypes.Tag{
				{Key: aws.String(tags.ClusterKey(cluster)), Value: aws.String("owned"), PropagateAtLaunch: aws.Bool(true)},
				{Key: aws.String(tags.MasterSlot), Value: aws.String(strconv.Itoa(i)), PropagateAtLaunch: aws.Bool(true)},
			},
		})
		require.NoError(t, err)
		c.Groups = append(c.Groups, name)
	}
	// Another cluster's master group, which the roll must not see.
	other, err := c.EC2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("other-master-0"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(ami), InstanceType: "m7i.large"}})
	require.NoError(t, err)
	_, err = c.ASG.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("other-master-0"), MinSize: aws.Int32(1), MaxSize: aws.Int32(1), DesiredCapacity: aws.Int32(1),
		AvailabilityZones: []string{cfg.Region + "a"},
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateId: other.LaunchTemplate.LaunchTemplateId, Version: aws.String("1")},
		Tags: []astypes.Tag{
			{Key: aws.String(tags.ClusterKey("other")), Value: aws.String("owned"), PropagateAtLaunch: aws.Bool(true)},
			{Key: aws.String(tags.MasterSlot), Value: aws.String("0"), PropagateAtLaunch: aws.Bool(true)},
		},
	})
	require.NoError(t, err)
	return c
}

// Declare does what `pulumi up` does after a change of the masters' image
// or type: a new version of every slot's launch template, made the default.
func (c *Masters) Declare(t *testing.T, instanceType string) {
	t.Helper()
	ctx := context.Background()
	for _, id := range c.Templates {
		v, err := c.EC2.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id),
			SourceVersion: aws.String("$Latest"), LaunchTemplateData: &ec2types.RequestLaunchTemplateData{InstanceType: ec2types.InstanceType(instanceType)}})
		require.NoError(t, err)
		_, err = c.EC2.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(id),
			DefaultVersion: aws.String(strconv.FormatInt(aws.ToInt64(v.LaunchTemplateVersion.VersionNumber), 10))})
		require.NoError(t, err)
	}
}

// Pool is one node pool's group in moto_server, as kinfra's workers
// component makes it: a launch template and a group with a mixed instances
// policy at version 1, tagged with the cluster and the pool.
type Pool struct {
	Template, Group string
}

// CreatePool makes pool's group of cluster with nodes instances (at most
// maxSize) in the account cfg points at.
func (c *Masters) CreatePool(t *testing.T, cfg aws.Config, cluster, pool string, nodes, maxSize int) Pool {
	t.Helper()
	ctx := context.Background()
	images, err := c.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{})
	require.NoError(t, err)
	subnets, err := c.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	require.NoError(t, err)
	name := fmt.Sprintf("%s-pool-%s", cluster, pool)
	lt, err := c.EC2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: images.Images[0].ImageId, InstanceType: "m7i.2xlarge"}})
	require.NoError(t, err)
	_, err = c.ASG.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(name), MinSize: aws.Int32(0), MaxSize: aws.Int32(int32(maxSize)), DesiredCapacity: aws.Int32(int32(nodes)),
		VPCZoneIdentifier: subnets.Subnets[0].SubnetId,
		MixedInstancesPolicy: &astypes.MixedInstancesPolicy{
			LaunchTemplate: &astypes.LaunchTemplate{
				LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId, Version: aws.String("1")},
				Overrides:                   []astypes.LaunchTemplateOverrides{{InstanceType: aws.String("m7i.2xlarge")}, {InstanceType: aws.String("m6i.2xlarge")}},
			},
			InstancesDistribution: &astypes.InstancesDistribution{OnDemandPercentageAboveBaseCapacity: aws.Int32(100)},
		},
		Tags: []astypes.Tag{
			{Key: aws.String(tags.ClusterKey(cluster)), Value: aws.String("owned"), PropagateAtLaunch: aws.Bool(true)},
			{Key: aws.String(tags.NodePool), Value: aws.String(pool), PropagateAtLaunch: aws.Bool(true)},
		},
	})
	require.NoError(t, err)
	return Pool{Template: aws.ToString(lt.LaunchTemplate.LaunchTemplateId), Group: name}
}

// DeclarePool does what `pulumi up` does after a change of the pool's
// image or configuration: a new version of its launch template, made the
// default; the group is left alone (kinfra ignores its version).
func (c *Masters) DeclarePool(t *testing.T, p Pool) {
	t.Helper()
	ctx := context.Background()
	v, err := c.EC2.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(p.Template),
		SourceVersion: aws.String("$Latest"), LaunchTemplateData: &ec2types.RequestLaunchTemplateData{InstanceType: "m6i.2xlarge"}})
	require.NoError(t, err)
	_, err = c.EC2.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(p.Template),
		DefaultVersion: aws.String(strconv.FormatInt(aws.ToInt64(v.LaunchTemplateVersion.VersionNumber), 10))})
	require.NoError(t, err)
}
