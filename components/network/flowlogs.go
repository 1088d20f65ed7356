package network

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/awsaccount"
	"github.com/kinfra-dev/kinfra/internal/iampolicy"
)

// flowLogs records the VPC's traffic to a CloudWatch log group kinfra creates
// (delivered by a role only the flow logs service of this account may assume,
// writing only to that group) or to an existing S3 bucket.
func (b *builder) flowLogs() error {
	f := b.net.FlowLogs
	if !f.On() {
		return nil
	}
	name := b.name + "-flow-logs"
	args := &ec2.FlowLogArgs{
		VpcId:                  b.vpcID,
		TrafficType:            pulumi.String(f.TrafficType),
		MaxAggregationInterval: pulumi.Int(f.MaxAggregationIntervalSeconds),
		Tags:                   b.tags.For(name),
	}
	if f.Destination == "s3" {
		args.LogDestinationType = pulumi.String("s3")
		args.LogDestination = pulumi.String(f.S3BucketArn)
		_, err := ec2.NewFlowLog(b.ctx, name, args, b.parent)
		return err
	}

	group := &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/kinfra/" + b.name + "/flow-logs"),
		RetentionInDays: pulumi.Int(f.RetentionDays),
		Tags:            b.tags.For(name),
	}
	if f.KmsKeyArn != "" {
		group.KmsKeyId = pulumi.String(f.KmsKeyArn)
	}
	lg, err := cloudwatch.NewLogGroup(b.ctx, name, group, b.parent)
	if err != nil {
		return err
	}

	id, err := awsaccount.Lookup(b.ctx, b.out)
	if err != nil {
		return err
	}
	// Confused-deputy protection: only flow logs of this account and region.
	assume := iampolicy.AssumeRole("vpc-flow-logs.amazonaws.com")
	assume.Condition = map[string]map[string]any{
		"StringEquals": {"aws:SourceAccount": id.AccountID},
		"ArnLike":      {"aws:SourceArn": "arn:" + id.Partition + ":ec2:" + b.args.Region + ":" + id.AccountID + ":vpc-flow-log/*"},
	}
	trust, err := iampolicy.New(assume).JSON()
	if err != nil {
		return err
	}
	role, err := iam.NewRole(b.ctx, name, &iam.RoleArgs{
		Description:      pulumi.String("Delivers VPC flow logs of " + b.name + " to CloudWatch Logs"),
		AssumeRolePolicy: pulumi.String(trust),
		Tags:             b.tags.For(name),
	}, b.parent)
	if err != nil {
		return err
	}
	// DescribeLogGroups cannot name one group; its narrowest scope is the
	// account's log groups in this region.
	allGroups := "arn:" + id.Partition + ":logs:" + b.args.Region + ":" + id.AccountID + ":log-group:*"
	policy := lg.Arn.ApplyT(func(arn string) (string, error) {
		return iampolicy.New(
			iampolicy.Allow("WriteFlowLogs",
				[]string{"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"},
				[]string{arn, arn + ":*"}),
			iampolicy.Allow("FindTheGroup", []string{"logs:DescribeLogGroups"}, []string{allGroups}),
		).JSON()
	}).(pulumi.StringOutput)
	if _, err := iam.NewRolePolicy(b.ctx, name, &iam.RolePolicyArgs{
		Role:   role.ID(),
		Policy: policy,
	}, b.parent); err != nil {
		return err
	}
	args.LogDestinationType = pulumi.String("cloud-watch-logs")
	args.LogDestination = lg.Arn
	args.IamRoleArn = role.Arn
	_, err = ec2.NewFlowLog(b.ctx, name, args, b.parent)
	return err
}
