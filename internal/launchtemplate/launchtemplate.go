// Package launchtemplate holds the launch template settings every kinfra
// machine shares, masters and nodes alike, so that the secure defaults are
// written once: an encrypted root volume and IMDSv2 only.
package launchtemplate

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/spec"
)

// RootVolume maps v, encrypted and deleted with its instance, on the AMI's
// root device.
func RootVolume(device string, v spec.Volume) ec2.LaunchTemplateBlockDeviceMappingArray {
	ebs := &ec2.LaunchTemplateBlockDeviceMappingEbsArgs{
		VolumeSize:          pulumi.Int(v.SizeGiB),
		VolumeType:          pulumi.String(v.Type),
		Iops:                pulumi.Int(v.Iops),
		Encrypted:           pulumi.String("true"),
		DeleteOnTermination: pulumi.String("true"),
	}
	if v.Type == "gp3" {
		ebs.Throughput = pulumi.Int(v.ThroughputMiBps)
	}
	return ec2.LaunchTemplateBlockDeviceMappingArray{&ec2.LaunchTemplateBlockDeviceMappingArgs{
		DeviceName: pulumi.String(device),
		Ebs:        ebs,
	}}
}

// IMDSv2 requires session tokens with a hop limit of 1: only the host
// itself, not a container in a pod network, reaches the instance's
// credentials.
func IMDSv2() *ec2.LaunchTemplateMetadataOptionsArgs {
	return &ec2.LaunchTemplateMetadataOptionsArgs{
		HttpEndpoint:            pulumi.String("enabled"),
		HttpTokens:              pulumi.String("required"),
		HttpPutResponseHopLimit: pulumi.Int(1),
		InstanceMetadataTags:    pulumi.String("disabled"),
	}
}
