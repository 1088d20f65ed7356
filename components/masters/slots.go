package masters

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ebs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/after"
	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/launchtemplate"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/validate"
	"github.com/kinfra-dev/kinfra/spec"
)

// RolledGroupSetting is the master group property `kinfra roll` owns: the
// launch template version the group launches. Pulumi sets it when it
// creates the group and ignores it afterwards, so that a change of image,
// instance type or configuration (a new launch template version in every
// slot) replaces no instance, not even one AWS replaces after a failure,
// until the roll moves the slot to it, one slot at a time behind health
// gates (internal/roll).
const RolledGroupSetting = "launchTemplate.version"

func (b *builder) slotName(slot int) string { return fmt.Sprintf("%s-master-%d", b.name, slot) }

// slot creates master slot i: its etcd volume and DNS record (its stable
// identity), its IAM, launch template and one-instance Auto Scaling Group.
func (b *builder) slot(i int) error {
	zones := b.net.Zones
	z := spec.SlotZone(i, len(zones))
	zone := zones[z]
	record := tags.EtcdRecord(i, b.c.PrivateDomain)
	slotTag := map[string]string{tags.MasterSlot: strconv.Itoa(i)}

	vol := b.c.Masters.EtcdVolume
	volName := fmt.Sprintf("%s-etcd-%d", b.name, i)
	volArgs := &ebs.VolumeArgs{
		AvailabilityZone: pulumi.String(zone),
		Size:             pulumi.Int(vol.SizeGiB),
		Type:             pulumi.String(vol.Type),
		Iops:             pulumi.Int(vol.Iops),
		Encrypted:        pulumi.Bool(true),
		// Should the volume ever be deleted after all, keep a snapshot.
		FinalSnapshot: pulumi.Bool(true),
		Tags:          b.tags.For(volName, slotTag, map[string]string{tags.Role: tags.RoleEtcd}),
	}
	if vol.Type == "gp3" {
		volArgs.Throughput = pulumi.Int(vol.ThroughputMiBps)
	}
	// etcd's data outlives everything: never deleted by Pulumi, and kept in
	// AWS even if it leaves the stack.
	volume, err := ebs.NewVolume(b.ctx, volName, volArgs, b.parent, pulumi.Protect(true), pulumi.RetainOnDelete(true))
	if err != nil {
		return err
	}
	rec, err := b.slotRecord(i, record)
	if err != nil {
		return err
	}
	role, profile, policies, err := b.slotRole(i, record)
	if err != nil {
		return err
	}

	userData := pulumi.All(volume.ID(), b.zoneID, b.kmsKeyArn).ApplyT(func(v []any) (string, error) {
		r, err := b.master(i, string(v[0].(pulumi.ID)), v[1].(string), v[2].(string)).Render()
		if err != nil {
			return "", err
		}
		return r.UserData, nil
	}).(pulumi.StringOutput)
	encoded := userData.ApplyT(bootstrap.EncodeUserData).(pulumi.StringOutput)

	name := b.slotName(i)
	instanceTags := b.tags.For(name, slotTag, map[string]string{tags.ClusterKey(b.c.Name): "owned"})
	lt, err := ec2.NewLaunchTemplate(b.ctx, name, &ec2.LaunchTemplateArgs{
		Description:          pulumi.String(fmt.Sprintf("kinfra %s: master slot %d (%s)", b.c.Name, i, zone)),
		ImageId:              b.image.ID,
		InstanceType:         pulumi.String(b.c.Masters.InstanceType),
		IamInstanceProfile:   &ec2.LaunchTemplateIamInstanceProfileArgs{Arn: profile.Arn},
		VpcSecurityGroupIds:  pulumi.StringArray{b.masterSG},
		UserData:             encoded,
		EbsOptimized:         pulumi.String("true"),
		UpdateDefaultVersion: pulumi.Bool(true),
		MetadataOptions:      launchtemplate.IMDSv2(),
		Monitoring:           &ec2.LaunchTemplateMonitoringArgs{Enabled: pulumi.Bool(true)},
		BlockDeviceMappings:  launchtemplate.RootVolume(b.image.RootDevice, b.c.Masters.RootVolume),
		TagSpecifications: ec2.LaunchTemplateTagSpecificationArray{
			&ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("volume"), Tags: b.tags.For(name+"-root", slotTag)},
			&ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("network-interface"), Tags: b.tags.For(name, slotTag)},
		},
		Tags: b.tags.For(name, slotTag),
	}, b.parent, after.All(b.tools...)) // no version names a tool before it exists
	if err != nil {
		return err
	}

	var asgTags autoscaling.GroupTagArray
	for _, k := range validate.SortedKeys(instanceTags) {
		asgTags = append(asgTags, &autoscaling.GroupTagArgs{Key: pulumi.String(k), Value: instanceTags[k], PropagateAtLaunch: pulumi.Bool(true)})
	}
	asgArgs := &autoscaling.GroupArgs{
		MinSize:            pulumi.Int(1),
		MaxSize:            pulumi.Int(1),
		DesiredCapacity:    pulumi.Int(1),
		VpcZoneIdentifiers: pulumi.StringArray{b.net.PrivateSubnetIDs[z]},
		LaunchTemplate: &autoscaling.GroupLaunchTemplateArgs{
			Id:      lt.ID(),
			Version: lt.LatestVersion.ApplyT(func(v int) string { return strconv.Itoa(v) }).(pulumi.StringOutput),
		},
		TargetGroupArns: pulumi.StringArray{b.targetGroup},
		// EC2 health only: when etcd loses quorum every API server fails
		// /readyz, and ELB health would replace every master at once.
		HealthCheckType:        pulumi.String("EC2"),
		HealthCheckGracePeriod: pulumi.Int(900),
		// On creation, wait until the API answers through the load balancer,
		// so that whatever talks to the API is created after it is up.
		MinElbCapacity:         pulumi.Int(1),
		WaitForCapacityTimeout: pulumi.String("30m"),
		Tags:                   asgTags,
	}
	deps := append([]pulumi.CustomResource{rec, b.listener}, policies...)
	deps = append(deps, b.params...)
	deps = append(deps, b.tools...)
	deps = append(deps, b.backupDeps...)
	asg, err := autoscaling.NewGroup(b.ctx, name, asgArgs, b.parent, after.All(deps...),
		pulumi.IgnoreChanges([]string{RolledGroupSetting}))
	if err != nil {
		return err
	}
	b.out.Ready = append(b.out.Ready, asg)
	b.out.Slots = append(b.out.Slots, Slot{
		Index: i, Zone: zone, Record: record,
		VolumeID:       volume.ID().ToStringOutput(),
		AutoScaling:    asg.Name,
		RoleArn:        role.Arn,
		RoleName:       role.Name,
		LaunchTemplate: lt.ID().ToStringOutput(),
	})
	b.out.UserData = append(b.out.UserData, userData)
	return nil
}

// master is slot i's bootstrap input; keyArn is the cluster key.
func (b *builder) master(i int, volumeID, zoneID, keyArn string) bootstrap.Master {
	var sans []string
	if b.c.API.PublicName != "" {
		sans = append(sans, b.c.API.PublicName)
	}
	k := b.c.Kubernetes
	m := bootstrap.Master{
		ClusterName: b.c.Name, Region: b.c.Region, Slot: i, Count: b.c.Masters.Count,
		Domain: b.c.PrivateDomain, APIName: b.out.APIName, ExtraSANs: sans,
		KubernetesVersion: k.Version, PodCidr: k.PodCidr, ServiceCidr: k.ServiceCidr, NodeCidrMaskSize: k.NodeCidrMaskSize,
		VolumeID: volumeID, HostedZoneID: zoneID, ParameterPrefix: b.out.ParameterPrefix,
		// The etcd the image installs, recorded with every snapshot.
		EtcdVersion: b.c.Images.Versions.Etcd,
		JoinToken:   bootstrap.JoinToken{TTLHours: b.c.JoinTokens.TTLHours, KMSKeyArn: keyArn},
	}
	is := b.issuer()
	m.ServiceAccountIssuer, m.ServiceAccountJWKSURI = is.URL(), is.JWKSURI()
	if b.c.Backup.On() {
		layout := b.backupLayout()
		m.Backup = &layout
	}
	return m
}
