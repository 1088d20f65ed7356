package motoapply

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// launchTemplate: CreateLaunchTemplate, named by the name input or
// autonamed, the description as the version's description, the data as
// the provider's expandRequestLaunchTemplateData builds it (userData is
// base64 already in the plan), tagged on create. The image, instance
// profile and volume IDs in it are the plan's: moto does not check them.
func (a *applier) launchTemplate(ctx context.Context, r mockaws.Resource, in *inputs) (created, error) {
	name, err := physicalName(r, in, 128)
	if err != nil {
		return created{}, err
	}
	// updateDefaultVersion matters on update only: a new template's
	// first version is its default.
	in.ignore("updateDefaultVersion")
	data := &ec2types.RequestLaunchTemplateData{
		UserData:         aws.String(in.str("userData")),
		ImageId:          in.optStr("imageId"),
		InstanceType:     ec2types.InstanceType(in.str("instanceType")),
		KeyName:          in.optStr("keyName"),
		EbsOptimized:     in.optBool("ebsOptimized"),
		SecurityGroupIds: in.strings("vpcSecurityGroupIds"),
	}
	for _, b := range in.objects("blockDeviceMappings") {
		m := ec2types.LaunchTemplateBlockDeviceMappingRequest{DeviceName: b.optStr("deviceName"), NoDevice: b.optStr("noDevice"), VirtualName: b.optStr("virtualName")}
		if e := b.object("ebs"); e != nil {
			m.Ebs = &ec2types.LaunchTemplateEbsBlockDeviceRequest{
				DeleteOnTermination: e.optBool("deleteOnTermination"),
				Encrypted:           e.optBool("encrypted"),
				Iops:                e.optInt32("iops"),
				Throughput:          e.optInt32("throughput"),
				VolumeSize:          e.optInt32("volumeSize"),
				VolumeType:          ec2types.VolumeType(e.str("volumeType")),
				KmsKeyId:            e.optStr("kmsKeyId"),
				SnapshotId:          e.optStr("snapshotId"),
			}
		}
		data.BlockDeviceMappings = append(data.BlockDeviceMappings, m)
	}
	if p := in.object("iamInstanceProfile"); p != nil {
		data.IamInstanceProfile = &ec2types.LaunchTemplateIamInstanceProfileSpecificationRequest{Arn: p.optStr("arn"), Name: p.optStr("name")}
	}
	if m := in.object("metadataOptions"); m != nil {
		data.MetadataOptions = &ec2types.LaunchTemplateInstanceMetadataOptionsRequest{
			HttpEndpoint:            ec2types.LaunchTemplateInstanceMetadataEndpointState(m.str("httpEndpoint")),
			HttpTokens:              ec2types.LaunchTemplateHttpTokensState(m.str("httpTokens")),
			HttpPutResponseHopLimit: m.optInt32("httpPutResponseHopLimit"),
			HttpProtocolIpv6:        ec2types.LaunchTemplateInstanceMetadataProtocolIpv6(m.str("httpProtocolIpv6")),
			InstanceMetadataTags:    ec2types.LaunchTemplateInstanceMetadataTagsState(m.str("instanceMetadataTags")),
		}
	}
	if m := in.object("monitoring"); m != nil {
		data.Monitoring = &ec2types.LaunchTemplatesMonitoringRequest{Enabled: m.optBool("enabled")}
	}
	for _, s := range in.objects("tagSpecifications") {
		data.TagSpecifications = append(data.TagSpecifications, ec2types.LaunchTemplateTagSpecificationRequest{
			ResourceType: ec2types.ResourceType(s.str("resourceType")), Tags: ec2Tags(s.tags("tags")),
		})
	}
	out, err := a.ec2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: &name,
		VersionDescription: in.optStr("description"),
		LaunchTemplateData: data,
		TagSpecifications:  tagSpecs(ec2types.ResourceTypeLaunchTemplate, in.tags("tags")),
	})
	if err != nil {
		return created{}, err
	}
	return created{id: aws.ToString(out.LaunchTemplate.LaunchTemplateId), name: name}, nil
}

// autoScalingGroup: CreateAutoScalingGroup with everything the plan sets,
// the subnets comma-joined and the tags with their propagateAtLaunch.
// Pulumi's ID for a group is its name.
func (a *applier) autoScalingGroup(ctx context.Context, r mockaws.Resource, in *inputs) (created, error) {
	name, err := physicalName(r, in, 255)
	if err != nil {
		return created{}, err
	}
	// The provider waits for capacity (and for ELB-healthy instances)
	// after create; neither is an API field, and moto's instances are
	// there at once.
	in.ignore("waitForCapacityTimeout", "minElbCapacity", "waitForElbCapacity")
	gi := &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName:   &name,
		MinSize:                in.optInt32("minSize"),
		MaxSize:                in.optInt32("maxSize"),
		DesiredCapacity:        in.optInt32("desiredCapacity"),
		DefaultInstanceWarmup:  in.optInt32("defaultInstanceWarmup"),
		HealthCheckType:        in.optStr("healthCheckType"),
		HealthCheckGracePeriod: in.optInt32("healthCheckGracePeriod"),
		CapacityRebalance:      in.optBool("capacityRebalance"),
		TargetGroupARNs:        in.strings("targetGroupArns"),
		TerminationPolicies:    in.strings("terminationPolicies"),
		VPCZoneIdentifier:      aws.String(strings.Join(in.strings("vpcZoneIdentifiers"), ",")),
	}
	if lt := in.object("launchTemplate"); lt != nil {
		gi.LaunchTemplate = &astypes.LaunchTemplateSpecification{LaunchTemplateId: lt.optStr("id"), LaunchTemplateName: lt.optStr("name"), Version: lt.optStr("version")}
	}
	if p := in.object("mixedInstancesPolicy"); p != nil {
		gi.MixedInstancesPolicy = mixedInstancesPolicy(p)
	}
	for _, t := range in.objects("tags") {
		gi.Tags = append(gi.Tags, astypes.Tag{
			Key: t.optStr("key"), Value: aws.String(t.str("value")), PropagateAtLaunch: t.optBool("propagateAtLaunch"),
			ResourceId: &name, ResourceType: aws.String("auto-scaling-group"),
		})
	}
	if _, err := a.asg.CreateAutoScalingGroup(ctx, gi); err != nil {
		return created{}, err
	}
	return created{id: name, name: name}, nil
}

func mixedInstancesPolicy(p *inputs) *astypes.MixedInstancesPolicy {
	out := &astypes.MixedInstancesPolicy{}
	if d := p.object("instancesDistribution"); d != nil {
		out.InstancesDistribution = &astypes.InstancesDistribution{
			OnDemandAllocationStrategy:          d.optStr("onDemandAllocationStrategy"),
			OnDemandBaseCapacity:                d.optInt32("onDemandBaseCapacity"),
			OnDemandPercentageAboveBaseCapacity: d.optInt32("onDemandPercentageAboveBaseCapacity"),
			SpotAllocationStrategy:              d.optStr("spotAllocationStrategy"),
			SpotInstancePools:                   d.optInt32("spotInstancePools"),
			SpotMaxPrice:                        d.optStr("spotMaxPrice"),
		}
	}
	if lt := p.object("launchTemplate"); lt != nil {
		out.LaunchTemplate = &astypes.LaunchTemplate{}
		if s := lt.object("launchTemplateSpecification"); s != nil {
			out.LaunchTemplate.LaunchTemplateSpecification = &astypes.LaunchTemplateSpecification{
				LaunchTemplateId: s.optStr("launchTemplateId"), LaunchTemplateName: s.optStr("launchTemplateName"), Version: s.optStr("version"),
			}
		}
		for _, o := range lt.objects("overrides") {
			out.LaunchTemplate.Overrides = append(out.LaunchTemplate.Overrides, astypes.LaunchTemplateOverrides{
				InstanceType: o.optStr("instanceType"), WeightedCapacity: o.optStr("weightedCapacity"),
			})
		}
	}
	return out
}
