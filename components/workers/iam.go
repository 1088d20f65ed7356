package workers

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/iampolicy"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/spec"
)

// role creates the pool's node role: the join policy (read the join
// parameters), and an inline policy with what the node itself does (pull
// images from ECR, mark itself unhealthy when it cannot join, and with
// native routing manage its pods' network interfaces; with Calico, turn off
// source/destination checking on its own interface). Other add-ons that
// need AWS access get their own credentials, not the node's.
func (b *builder) role() (*iam.InstanceProfile, error) {
	name := b.name + "-node"
	path := pulumi.String("/kinfra/" + b.c.Name + "/")
	trust, err := iampolicy.New(iampolicy.AssumeRole("ec2.amazonaws.com")).JSON()
	if err != nil {
		return nil, err
	}
	poolTag := map[string]string{tags.NodePool: b.p.Name}
	role, err := iam.NewRole(b.ctx, name, &iam.RoleArgs{
		Description:      pulumi.String(fmt.Sprintf("kinfra %s: nodes of pool %s", b.c.Name, b.p.Name)),
		Path:             path,
		AssumeRolePolicy: pulumi.String(trust),
		Tags:             b.tags.For(name, poolTag),
	}, b.parent)
	if err != nil {
		return nil, err
	}
	var vpc pulumi.StringInput = pulumi.String("")
	if b.args.Network.VpcID != nil {
		vpc = b.args.Network.VpcID
	}
	doc := vpc.ToStringOutput().ApplyT(func(vpcID string) (string, error) {
		return b.nodePolicy(vpcID).JSON()
	}).(pulumi.StringOutput)
	if _, err := iam.NewRolePolicy(b.ctx, name, &iam.RolePolicyArgs{Role: role.Name, Policy: doc}, b.parent); err != nil {
		return nil, err
	}
	if _, err := iam.NewRolePolicyAttachment(b.ctx, name+"-join", &iam.RolePolicyAttachmentArgs{
		Role: role.Name, PolicyArn: b.args.Join.JoinPolicyArn,
	}, b.parent); err != nil {
		return nil, err
	}
	profile, err := iam.NewInstanceProfile(b.ctx, name, &iam.InstanceProfileArgs{
		Path: path,
		Role: role.Name,
		Tags: b.tags.For(name, poolTag),
	}, b.parent)
	if err != nil {
		return nil, err
	}
	b.out.RoleArn, b.out.RoleName = role.Arn, role.Name
	return profile, nil
}

// nodePolicy is what a node of this pool does with AWS.
func (b *builder) nodePolicy(vpcID string) iampolicy.Document {
	ownGroup := map[string]map[string]any{"StringEquals": {
		"aws:ResourceTag/" + tags.Cluster:  b.c.Name,
		"aws:ResourceTag/" + tags.NodePool: b.p.Name,
	}}
	statements := []iampolicy.Statement{
		// The kubelet's ECR credential provider: the token call takes no
		// resource; image reads are limited to ECR repositories.
		iampolicy.Allow("PullImagesToken", []string{"ecr:GetAuthorizationToken"}, []string{"*"}),
		iampolicy.Allow("PullImages", []string{"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"},
			[]string{fmt.Sprintf("arn:%s:ecr:*:*:repository/*", b.partition)}),
		{Sid: "MarkOwnInstanceUnhealthy", Effect: "Allow", Action: []string{"autoscaling:SetInstanceHealth"},
			Resource: []string{b.arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/*")}, Condition: ownGroup},
	}
	if b.c.CNI.PodsUseVPCAddresses() {
		owned := map[string]map[string]any{"StringEquals": {"aws:ResourceTag/" + tags.ClusterKey(b.c.Name): "owned"}}
		inVPC := map[string]map[string]any{"StringEquals": {"ec2:Vpc": b.arn("ec2", "vpc/"+vpcID)}}
		statements = append(statements,
			// Cilium's ENI IPAM gives pods addresses on interfaces it adds
			// to the node; it tags them as the cluster's, and changes only
			// interfaces so tagged.
			iampolicy.Allow("PodNetworkDescribe", []string{
				"ec2:DescribeInstanceTypes", "ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces",
				"ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeTags", "ec2:DescribeVpcs",
			}, []string{"*"}),
			iampolicy.Statement{Sid: "PodNetworkCreateInVPC", Effect: "Allow", Action: []string{"ec2:CreateNetworkInterface"},
				Resource: []string{b.arn("ec2", "subnet/*"), b.arn("ec2", "security-group/*")}, Condition: inVPC},
			iampolicy.Statement{Sid: "PodNetworkCreateTagged", Effect: "Allow", Action: []string{"ec2:CreateNetworkInterface", "ec2:CreateTags"},
				Resource:  []string{b.arn("ec2", "network-interface/*")},
				Condition: map[string]map[string]any{"StringEquals": {"aws:RequestTag/" + tags.ClusterKey(b.c.Name): "owned"}}},
			iampolicy.Statement{Sid: "PodNetworkOwnedInterfaces", Effect: "Allow", Action: []string{
				"ec2:AssignPrivateIpAddresses", "ec2:AttachNetworkInterface", "ec2:DeleteNetworkInterface",
				"ec2:ModifyNetworkInterfaceAttribute", "ec2:UnassignPrivateIpAddresses",
			}, Resource: []string{b.arn("ec2", "network-interface/*")}, Condition: owned},
			iampolicy.Statement{Sid: "PodNetworkAttachToClusterInstances", Effect: "Allow", Action: []string{"ec2:AttachNetworkInterface"},
				Resource: []string{b.arn("ec2", "instance/*")}, Condition: owned},
		)
	}
	if b.c.CNI.Provider == spec.CNICalico {
		statements = append(statements, calicoSourceDestCheck(b.c.Name, b.arn, vpcID)...)
	}
	return iampolicy.New(statements...)
}

// calicoSourceDestCheck lets Calico's Felix, with its node's credentials,
// turn off source/destination checking on the node's own interface: its IP
// pool routes pod traffic within a subnet unencapsulated, from and to pod
// addresses, which EC2 drops otherwise (FelixConfiguration awsSrcDstCheck:
// Disable). Felix finds the interface through the instance it runs on, and
// may change only interfaces tagged as the cluster's (every kinfra launch
// template tags its instances' interfaces) in the cluster's VPC.
func calicoSourceDestCheck(cluster string, arn func(service, resource string) string, vpcID string) []iampolicy.Statement {
	own := map[string]any{"aws:ResourceTag/" + tags.Cluster: cluster}
	if vpcID != "" {
		own["ec2:Vpc"] = arn("ec2", "vpc/"+vpcID)
	}
	return []iampolicy.Statement{
		iampolicy.Allow("CalicoSourceDestCheckDescribe", []string{"ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces"}, []string{"*"}),
		{Sid: "CalicoSourceDestCheckOwnInterfaces", Effect: "Allow", Action: []string{"ec2:ModifyNetworkInterfaceAttribute"},
			Resource: []string{arn("ec2", "network-interface/*")}, Condition: map[string]map[string]any{"StringEquals": own}},
	}
}
