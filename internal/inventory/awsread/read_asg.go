package awsread

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/kinfra-dev/kinfra/internal/inventory"
	"github.com/kinfra-dev/kinfra/internal/tags"
)

// readAutoScalingGroups reads the groups with a subnet in the VPC: the API
// has no VPC filter, so every group of the region is listed.
func (r *reader) readAutoScalingGroups(ctx context.Context) error {
	subnets := r.subnetIDs()
	p := autoscaling.NewDescribeAutoScalingGroupsPaginator(r.c.AutoScaling, &autoscaling.DescribeAutoScalingGroupsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return call("autoscaling:DescribeAutoScalingGroups", err)
		}
		for _, g := range out.AutoScalingGroups {
			ids := splitZoneIdentifier(aws.ToString(g.VPCZoneIdentifier))
			if !anyIn(ids, subnets) {
				continue
			}
			r.inv.AutoScalingGroups = append(r.inv.AutoScalingGroups, group(g, ids))
		}
	}
	return nil
}

// splitZoneIdentifier splits a group's VPCZoneIdentifier, its subnets
// separated by commas.
func splitZoneIdentifier(s string) []string {
	var ids []string
	for _, id := range strings.Split(s, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

func anyIn(ids []string, set map[string]bool) bool {
	for _, id := range ids {
		if set[id] {
			return true
		}
	}
	return false
}

func group(g astypes.AutoScalingGroup, subnets []string) inventory.AutoScalingGroup {
	out := inventory.AutoScalingGroup{
		Name: aws.ToString(g.AutoScalingGroupName), ARN: aws.ToString(g.AutoScalingGroupARN),
		MinSize: aws.ToInt32(g.MinSize), MaxSize: aws.ToInt32(g.MaxSize), DesiredCapacity: aws.ToInt32(g.DesiredCapacity),
		SubnetIDs: subnets, TargetGroupARNs: g.TargetGroupARNs,
		HealthCheckType: aws.ToString(g.HealthCheckType), HealthCheckGracePeriod: aws.ToInt32(g.HealthCheckGracePeriod),
	}
	if g.LaunchTemplate != nil {
		ref := templateRef(*g.LaunchTemplate)
		out.LaunchTemplate = &ref
	}
	// A policy names its launch template; one without it is no policy
	// (moto_server answers a group launched from a template with an empty
	// policy beside it).
	if m := g.MixedInstancesPolicy; m != nil && m.LaunchTemplate != nil && m.LaunchTemplate.LaunchTemplateSpecification != nil {
		mi := &inventory.MixedInstances{InstanceTypes: []string{}}
		if m.LaunchTemplate != nil {
			if m.LaunchTemplate.LaunchTemplateSpecification != nil {
				mi.LaunchTemplate = templateRef(*m.LaunchTemplate.LaunchTemplateSpecification)
			}
			for _, o := range m.LaunchTemplate.Overrides {
				if o.InstanceType != nil {
					mi.InstanceTypes = append(mi.InstanceTypes, *o.InstanceType)
				}
			}
		}
		if d := m.InstancesDistribution; d != nil {
			mi.OnDemandBaseCapacity = aws.ToInt32(d.OnDemandBaseCapacity)
			mi.OnDemandPercentageAboveBaseCapacity = aws.ToInt32(d.OnDemandPercentageAboveBaseCapacity)
			mi.SpotAllocationStrategy = aws.ToString(d.SpotAllocationStrategy)
		}
		out.MixedInstances = mi
	}
	if len(g.Tags) > 0 {
		out.Tags = make(inventory.Tags, len(g.Tags))
		for _, t := range g.Tags {
			out.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return out
}

func templateRef(s astypes.LaunchTemplateSpecification) inventory.LaunchTemplateRef {
	return inventory.LaunchTemplateRef{ID: aws.ToString(s.LaunchTemplateId), Name: aws.ToString(s.LaunchTemplateName), Version: aws.ToString(s.Version)}
}

// readLaunchTemplates reads the templates the groups in scope launch from,
// those a CloudFormation stack in scope declares, and those tagged for a
// cluster (kinfra.dev/cluster) that the VPC or a group in scope is tagged
// for: a template no group uses yet is still the cluster's.
func (r *reader) readLaunchTemplates(ctx context.Context) error {
	ids, names := map[string]bool{}, map[string]bool{}
	for id := range r.stackTemplates {
		ids[id] = true
	}
	clusters := map[string]bool{}
	for _, v := range r.inv.VPCs {
		if c := v.Tags[tags.Cluster]; c != "" {
			clusters[c] = true
		}
	}
	for _, g := range r.inv.AutoScalingGroups {
		if c := g.Tags[tags.Cluster]; c != "" {
			clusters[c] = true
		}
		for _, ref := range []*inventory.LaunchTemplateRef{g.LaunchTemplate, mixedTemplate(g.MixedInstances)} {
			if ref != nil {
				ids[ref.ID], names[ref.Name] = true, true
			}
		}
	}
	delete(ids, "")
	delete(names, "")
	// Listing every template, rather than asking for the IDs wanted, keeps
	// a group whose template was deleted from failing the whole read.
	// (moto_server ignores paging here and answers at most MaxResults.)
	p := ec2.NewDescribeLaunchTemplatesPaginator(r.c.EC2, &ec2.DescribeLaunchTemplatesInput{MaxResults: aws.Int32(200)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return call("ec2:DescribeLaunchTemplates", err)
		}
		for _, t := range out.LaunchTemplates {
			lt := inventory.LaunchTemplate{
				ID: aws.ToString(t.LaunchTemplateId), Name: aws.ToString(t.LaunchTemplateName),
				DefaultVersion: aws.ToInt64(t.DefaultVersionNumber), LatestVersion: aws.ToInt64(t.LatestVersionNumber),
				Tags: ec2Tags(t.Tags),
			}
			if !ids[lt.ID] && !names[lt.Name] && !clusters[lt.Tags[tags.Cluster]] {
				continue
			}
			if lt.Data, err = r.templateData(ctx, lt.ID); err != nil {
				return err
			}
			r.inv.LaunchTemplates = append(r.inv.LaunchTemplates, lt)
		}
	}
	return nil
}

func mixedTemplate(m *inventory.MixedInstances) *inventory.LaunchTemplateRef {
	if m == nil {
		return nil
	}
	return &m.LaunchTemplate
}

// templateData reads the data of a template's default version.
func (r *reader) templateData(ctx context.Context, id string) (inventory.LaunchTemplateData, error) {
	out, err := r.c.EC2.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateId: aws.String(id), Versions: []string{"$Default"},
	})
	if err != nil {
		return inventory.LaunchTemplateData{}, call("ec2:DescribeLaunchTemplateVersions "+id, err)
	}
	if len(out.LaunchTemplateVersions) == 0 || out.LaunchTemplateVersions[0].LaunchTemplateData == nil {
		return inventory.LaunchTemplateData{}, nil
	}
	data, err := templateData(*out.LaunchTemplateVersions[0].LaunchTemplateData)
	if err != nil {
		return inventory.LaunchTemplateData{}, fmt.Errorf("launch template %s: %w", id, err)
	}
	return data, nil
}

func templateData(d ec2types.ResponseLaunchTemplateData) (inventory.LaunchTemplateData, error) {
	out := inventory.LaunchTemplateData{
		ImageID: aws.ToString(d.ImageId), InstanceType: string(d.InstanceType),
		SecurityGroupIDs: d.SecurityGroupIds,
	}
	// A template that sets network interfaces names its groups there.
	for _, n := range d.NetworkInterfaces {
		out.SecurityGroupIDs = append(out.SecurityGroupIDs, n.Groups...)
	}
	if p := d.IamInstanceProfile; p != nil {
		out.IamInstanceProfile = aws.ToString(p.Arn)
		if out.IamInstanceProfile == "" {
			out.IamInstanceProfile = aws.ToString(p.Name)
		}
	}
	for _, b := range d.BlockDeviceMappings {
		bd := inventory.BlockDevice{DeviceName: aws.ToString(b.DeviceName)}
		if e := b.Ebs; e != nil {
			bd.VolumeType, bd.SizeGiB = string(e.VolumeType), aws.ToInt32(e.VolumeSize)
			bd.Iops, bd.Throughput, bd.Encrypted = aws.ToInt32(e.Iops), aws.ToInt32(e.Throughput), aws.ToBool(e.Encrypted)
		}
		out.BlockDevices = append(out.BlockDevices, bd)
	}
	if u := aws.ToString(d.UserData); u != "" {
		b, err := base64.StdEncoding.DecodeString(u)
		if err != nil {
			return inventory.LaunchTemplateData{}, fmt.Errorf("user data is not base64, as EC2 always answers it: %w", err)
		}
		out.UserData = string(b)
	}
	if m := d.MetadataOptions; m != nil {
		out.HTTPTokens, out.HTTPHopLimit = string(m.HttpTokens), aws.ToInt32(m.HttpPutResponseHopLimit)
	}
	return out, nil
}
