package masters

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/iampolicy"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/spec"
)

// Policies are typed documents, scoped as narrowly as each AWS action allows:
// Describe* actions accept only "*" as their resource; every other action
// is limited to this cluster's resources by ARN, path or tag.

// readParameters lets a role read one parameter group and decrypt it with
// the cluster key, only through SSM and only for that group's parameters.
func (b *builder) readParameters(groups []string, keyArn string) []iampolicy.Statement {
	var params, contexts []string
	for _, g := range groups {
		arn := b.arn("ssm", "parameter"+b.out.ParameterPrefix+"/"+g+"/*")
		params = append(params, arn)
		contexts = append(contexts, arn)
	}
	return []iampolicy.Statement{
		iampolicy.Allow("ReadClusterParameters", []string{"ssm:GetParameter", "ssm:GetParameters"}, params),
		{
			Sid: "DecryptClusterParameters", Effect: "Allow",
			Action: []string{"kms:Decrypt"}, Resource: []string{keyArn},
			Condition: map[string]map[string]any{
				"StringEquals": {"kms:ViaService": "ssm." + b.c.Region + ".amazonaws.com"},
				"StringLike":   {"kms:EncryptionContext:PARAMETER_ARN": contexts},
			},
		},
	}
}

// sharedIAM creates the policy every master role attaches (its boot needs
// and the AWS cloud-controller-manager's) and the join policy node roles
// attach.
func (b *builder) sharedIAM() error {
	masters := pulumi.All(b.kmsKeyArn, b.net.VpcID).ApplyT(func(v []any) (string, error) {
		return b.masterPolicy(v[0].(string), v[1].(string)).JSON()
	}).(pulumi.StringOutput)
	p, err := b.policy("masters", "master boot and AWS cloud-controller-manager", masters)
	if err != nil {
		return err
	}
	b.sharedPolicy = p.Arn

	join := b.kmsKeyArn.ApplyT(func(key string) (string, error) {
		return iampolicy.New(b.readParameters([]string{JoinParameters}, key)...).JSON()
	}).(pulumi.StringOutput)
	jp, err := b.policy("node-join", "read the node join parameters (CA and bootstrap token)", join)
	if err != nil {
		return err
	}
	b.out.JoinPolicyArn = jp.Arn
	return nil
}

// policy creates a managed policy under the cluster's IAM path.
func (b *builder) policy(suffix, purpose string, doc pulumi.StringOutput) (*iam.Policy, error) {
	name := b.name + "-" + suffix
	return iam.NewPolicy(b.ctx, name, &iam.PolicyArgs{
		Description: pulumi.String("kinfra " + b.c.Name + ": " + purpose),
		Path:        pulumi.String("/kinfra/" + b.c.Name + "/"),
		Policy:      doc,
		Tags:        b.tags.For(name),
	}, b.parent)
}

// masterPolicy is what every master needs.
func (b *builder) masterPolicy(keyArn, vpcID string) iampolicy.Document {
	owned := map[string]map[string]any{"StringEquals": {"aws:ResourceTag/" + tags.ClusterKey(b.c.Name): "owned"}}
	requestOwned := map[string]map[string]any{"StringEquals": {"aws:RequestTag/" + tags.ClusterKey(b.c.Name): "owned"}}
	elb := b.arn("elasticloadbalancing", "*")
	statements := b.readParameters([]string{ControlPlaneParameters, JoinParameters}, keyArn)
	// The tools are String parameters: nothing to decrypt.
	statements = append(statements, iampolicy.Allow("ReadMasterTools", []string{"ssm:GetParameter"},
		[]string{b.parameterArn(bootstrap.ToolsGroup + "/*")}))
	statements = append(statements, b.etcdRecordStatements()...)
	statements = append(statements, b.joinTokenStatements(keyArn)...)
	statements = append(statements, b.backupStatements(keyArn)...)
	// A failed boot attempt counts itself for the boot-failure alarm, and
	// the health report publishes every minute (alarms.go); PutMetricData
	// has no resource type, the namespace condition scopes it.
	statements = append(statements, iampolicy.Statement{Sid: "MasterMetrics", Effect: "Allow",
		Action: []string{"cloudwatch:PutMetricData"}, Resource: []string{"*"},
		Condition: map[string]map[string]any{"StringEquals": {"cloudwatch:namespace": bootstrap.BootMetricNamespace}}})
	statements = append(statements,
		// Boot script: find the slot volume's state, wait for DNS changes
		// (GetChange is scoped by change ID, which no one knows in advance).
		iampolicy.Allow("BootDescribe", []string{"ec2:DescribeVolumes"}, []string{"*"}),
		iampolicy.Allow("BootWaitForRecords", []string{"route53:GetChange"},
			[]string{fmt.Sprintf("arn:%s:route53:::change/*", b.partition)}),
		// Cloud controller: read the account's view of instances and network.
		iampolicy.Allow("CloudControllerDescribe", []string{
			"autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeTags",
			"ec2:DescribeAvailabilityZones", "ec2:DescribeInstances", "ec2:DescribeInstanceTopology",
			"ec2:DescribeRegions", "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups",
			"ec2:DescribeSubnets", "ec2:DescribeVpcs",
			"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeLoadBalancerAttributes",
			"elasticloadbalancing:DescribeLoadBalancerPolicies", "elasticloadbalancing:DescribeLoadBalancers",
			"elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTargetGroups",
			"elasticloadbalancing:DescribeTargetHealth",
		}, []string{"*"}),
		// Service load balancers' security groups: created in this VPC,
		// tagged as the cluster's, then changed only while so tagged.
		iampolicy.Allow("CloudControllerCreateSecurityGroup", []string{"ec2:CreateSecurityGroup"},
			[]string{b.arn("ec2", "vpc/"+vpcID), b.arn("ec2", "security-group/*")}),
		iampolicy.Statement{Sid: "CloudControllerTagSecurityGroup", Effect: "Allow", Action: []string{"ec2:CreateTags"},
			Resource: []string{b.arn("ec2", "security-group/*")}, Condition: requestOwned},
		iampolicy.Statement{Sid: "CloudControllerOwnedSecurityGroups", Effect: "Allow", Action: []string{
			"ec2:AuthorizeSecurityGroupIngress", "ec2:DeleteSecurityGroup", "ec2:RevokeSecurityGroupIngress",
		}, Resource: []string{b.arn("ec2", "security-group/*")}, Condition: owned},
		iampolicy.Statement{Sid: "CloudControllerCreateLoadBalancers", Effect: "Allow", Action: []string{
			"elasticloadbalancing:AddTags", "elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup",
		}, Resource: []string{elb}, Condition: requestOwned},
		iampolicy.Statement{Sid: "CloudControllerOwnedLoadBalancers", Effect: "Allow", Action: []string{
			"elasticloadbalancing:AddTags",
			"elasticloadbalancing:ApplySecurityGroupsToLoadBalancer", "elasticloadbalancing:AttachLoadBalancerToSubnets",
			"elasticloadbalancing:ConfigureHealthCheck", "elasticloadbalancing:CreateListener",
			"elasticloadbalancing:CreateLoadBalancerListeners", "elasticloadbalancing:CreateLoadBalancerPolicy",
			"elasticloadbalancing:DeleteListener", "elasticloadbalancing:DeleteLoadBalancer",
			"elasticloadbalancing:DeleteLoadBalancerListeners", "elasticloadbalancing:DeleteTargetGroup",
			"elasticloadbalancing:DeregisterInstancesFromLoadBalancer", "elasticloadbalancing:DeregisterTargets",
			"elasticloadbalancing:DetachLoadBalancerFromSubnets", "elasticloadbalancing:ModifyListener",
			"elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:ModifyTargetGroup",
			"elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:RegisterInstancesWithLoadBalancer",
			"elasticloadbalancing:RegisterTargets", "elasticloadbalancing:SetLoadBalancerPoliciesForBackendServer",
			"elasticloadbalancing:SetLoadBalancerPoliciesOfListener",
		}, Resource: []string{elb}, Condition: owned},
		iampolicy.Statement{Sid: "CloudControllerLoadBalancerServiceRole", Effect: "Allow", Action: []string{"iam:CreateServiceLinkedRole"},
			Resource:  []string{fmt.Sprintf("arn:%s:iam::%s:role/aws-service-role/elasticloadbalancing.amazonaws.com/*", b.partition, b.account)},
			Condition: map[string]map[string]any{"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}},
	)
	if b.c.CNI.Provider == spec.CNICalico {
		// Calico's Felix runs on the masters too, with their credentials,
		// and turns off source/destination checking on the master's own
		// interface: its IP pool routes pod traffic within a subnet
		// unencapsulated, from and to pod addresses, which EC2 drops
		// otherwise. Only interfaces tagged as the cluster's (the launch
		// templates tag them) in the cluster's VPC.
		statements = append(statements,
			iampolicy.Allow("CalicoSourceDestCheckDescribe", []string{"ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces"}, []string{"*"}),
			iampolicy.Statement{Sid: "CalicoSourceDestCheckOwnInterfaces", Effect: "Allow", Action: []string{"ec2:ModifyNetworkInterfaceAttribute"},
				Resource: []string{b.arn("ec2", "network-interface/*")},
				Condition: map[string]map[string]any{"StringEquals": {
					"aws:ResourceTag/" + tags.Cluster: b.c.Name,
					"ec2:Vpc":                         b.arn("ec2", "vpc/"+vpcID),
				}}},
		)
	}
	return iampolicy.New(statements...)
}

// parameterArn is the ARN of a parameter below the cluster's prefix.
func (b *builder) parameterArn(path string) string {
	return b.arn("ssm", "parameter"+b.out.ParameterPrefix+"/"+path)
}

// etcdRecordStatements let every master read the etcd cluster's durable
// record (String parameters: no key involved) and write the cluster's own
// entry; each slot writes its member entry with its own policy, and only
// operators write the restore request. Nothing may delete the record.
func (b *builder) etcdRecordStatements() []iampolicy.Statement {
	return []iampolicy.Statement{
		iampolicy.Allow("ReadEtcdRecord", []string{"ssm:GetParameter"}, []string{b.parameterArn(bootstrap.StateGroup + "/*")}),
		iampolicy.Allow("WriteEtcdClusterRecord", []string{"ssm:PutParameter"}, []string{b.parameterArn(bootstrap.ClusterRecord)}),
	}
}

// joinTokenStatements let every master replace the node join token: write
// that one parameter, and encrypt with the cluster key only through SSM and
// only for it. The etcd leader's timer does it (docs/masters.md, "Join
// tokens"); it reads the token with the other join parameters.
func (b *builder) joinTokenStatements(keyArn string) []iampolicy.Statement {
	param := b.parameterArn(bootstrap.JoinTokenParameter)
	return []iampolicy.Statement{
		iampolicy.Allow("WriteJoinToken", []string{"ssm:PutParameter"}, []string{param}),
		{
			Sid: "EncryptJoinToken", Effect: "Allow",
			Action: []string{"kms:Encrypt"}, Resource: []string{keyArn},
			Condition: map[string]map[string]any{"StringEquals": {
				"kms:ViaService":                      "ssm." + b.c.Region + ".amazonaws.com",
				"kms:EncryptionContext:PARAMETER_ARN": param,
			}},
		},
	}
}

// backupStatements let every master write and read snapshots under the
// backup prefix (never delete them: the lifecycle expires them), list only
// that prefix, use the bucket's key only through S3 for that bucket, and
// publish the snapshot-age metric. None when backups are off. keyArn is the
// cluster key, which encrypts the bucket kinfra creates.
func (b *builder) backupStatements(keyArn string) []iampolicy.Statement {
	bk := b.c.Backup
	if !bk.On() {
		return nil
	}
	bucket := b.bucketArn()
	statements := []iampolicy.Statement{
		iampolicy.Allow("BackupSnapshots", []string{"s3:GetObject", "s3:PutObject"}, []string{bucket + "/" + bk.Prefix + "/*"}),
		{Sid: "BackupListSnapshots", Effect: "Allow", Action: []string{"s3:ListBucket"}, Resource: []string{bucket},
			Condition: map[string]map[string]any{"StringLike": {"s3:prefix": []string{bk.Prefix + "/*"}}}},
	}
	// With a bucket key (the bucket kinfra creates), S3 asks KMS with the
	// bucket's ARN as the encryption context; an existing bucket may use
	// one or not, so either context is allowed there.
	viaS3 := map[string]any{"kms:ViaService": "s3." + b.c.Region + ".amazonaws.com"}
	condition := map[string]map[string]any{"StringEquals": viaS3}
	switch {
	case bk.Bucket == "":
		viaS3["kms:EncryptionContext:aws:s3:arn"] = bucket
	case bk.BucketKmsKeyArn != "":
		keyArn = bk.BucketKmsKeyArn
		condition["StringLike"] = map[string]any{"kms:EncryptionContext:aws:s3:arn": []string{bucket, bucket + "/" + bk.Prefix + "/*"}}
	default:
		keyArn = "" // an existing bucket without a KMS key
	}
	if keyArn != "" {
		statements = append(statements, iampolicy.Statement{Sid: "BackupEncryption", Effect: "Allow",
			Action: []string{"kms:Decrypt", "kms:GenerateDataKey"}, Resource: []string{keyArn}, Condition: condition})
	}
	// PutMetricData has no resource type; the namespace condition scopes it.
	return append(statements, iampolicy.Statement{Sid: "BackupMetrics", Effect: "Allow",
		Action: []string{"cloudwatch:PutMetricData"}, Resource: []string{"*"},
		Condition: map[string]map[string]any{"StringEquals": {"cloudwatch:namespace": bootstrap.BackupMetricNamespace}}})
}

// slotPolicy is what only slot i's master may do: attach its own volume
// (and only to an instance of its own slot), point its own record at
// itself, and write its own etcd member entry and its own boot status.
func (b *builder) slotPolicy(slot int, zoneID, record string) iampolicy.Document {
	mine := map[string]map[string]any{"StringEquals": {
		"aws:ResourceTag/" + tags.Cluster:    b.c.Name,
		"aws:ResourceTag/" + tags.MasterSlot: fmt.Sprint(slot),
	}}
	return iampolicy.New(
		iampolicy.Statement{Sid: "AttachOwnEtcdVolume", Effect: "Allow", Action: []string{"ec2:AttachVolume"},
			Resource:  []string{b.arn("ec2", "volume/*"), b.arn("ec2", "instance/*")},
			Condition: mine},
		iampolicy.Statement{Sid: "UpsertOwnEtcdRecord", Effect: "Allow", Action: []string{"route53:ChangeResourceRecordSets"},
			Resource: []string{fmt.Sprintf("arn:%s:route53:::hostedzone/%s", b.partition, zoneID)},
			Condition: map[string]map[string]any{"ForAllValues:StringEquals": {
				"route53:ChangeResourceRecordSetsNormalizedRecordNames": []string{record},
				"route53:ChangeResourceRecordSetsRecordTypes":           []string{"A"},
				"route53:ChangeResourceRecordSetsActions":               []string{"UPSERT"},
			}}},
		iampolicy.Allow("WriteOwnEtcdMemberRecord", []string{"ssm:PutParameter"}, []string{b.parameterArn(bootstrap.MemberRecord(slot))}),
		iampolicy.Allow("WriteOwnBootStatus", []string{"ssm:PutParameter"}, []string{b.parameterArn(bootstrap.MasterStatusRecord(slot))}),
	)
}

// slotRole creates slot i's role, its policies and its instance profile.
func (b *builder) slotRole(slot int, record string) (*iam.Role, *iam.InstanceProfile, []pulumi.CustomResource, error) {
	name := b.slotName(slot)
	trust, err := iampolicy.New(iampolicy.AssumeRole("ec2.amazonaws.com")).JSON()
	if err != nil {
		return nil, nil, nil, err
	}
	role, err := iam.NewRole(b.ctx, name, &iam.RoleArgs{
		Description:      pulumi.String(fmt.Sprintf("kinfra %s: master slot %d", b.c.Name, slot)),
		Path:             pulumi.String("/kinfra/" + b.c.Name + "/"),
		AssumeRolePolicy: pulumi.String(trust),
		Tags:             b.tags.For(name, map[string]string{tags.MasterSlot: fmt.Sprint(slot)}),
	}, b.parent)
	if err != nil {
		return nil, nil, nil, err
	}
	own := b.zoneID.ApplyT(func(zone string) (string, error) {
		return b.slotPolicy(slot, zone, record).JSON()
	}).(pulumi.StringOutput)
	rp, err := iam.NewRolePolicy(b.ctx, name, &iam.RolePolicyArgs{Role: role.Name, Policy: own}, b.parent)
	if err != nil {
		return nil, nil, nil, err
	}
	att, err := iam.NewRolePolicyAttachment(b.ctx, name+"-shared", &iam.RolePolicyAttachmentArgs{
		Role: role.Name, PolicyArn: b.sharedPolicy,
	}, b.parent)
	if err != nil {
		return nil, nil, nil, err
	}
	profile, err := iam.NewInstanceProfile(b.ctx, name, &iam.InstanceProfileArgs{
		Path: pulumi.String("/kinfra/" + b.c.Name + "/"),
		Role: role.Name,
		Tags: b.tags.For(name),
	}, b.parent)
	if err != nil {
		return nil, nil, nil, err
	}
	return role, profile, []pulumi.CustomResource{rp, att}, nil
}
