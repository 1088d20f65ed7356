package workers

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/iampolicy"
	"github.com/kinfra-dev/kinfra/internal/tags/tagset"
)

// TerminationQueueArgs shape a cluster's termination queue.
type TerminationQueueArgs struct {
	ClusterName string
	Region      string
	Tags        map[string]string
}

// TerminationQueue is the kinfra:workers:TerminationQueue component: the SQS
// queue the AWS node termination handler (queue mode) reads, fed by the
// pools' termination lifecycle hooks and by EventBridge rules for spot
// interruptions, rebalance recommendations, instance state changes and
// scheduled maintenance.
type TerminationQueue struct {
	pulumi.ResourceState

	QueueArn pulumi.StringOutput
	QueueURL pulumi.StringOutput
	// RoleArn lets Auto Scaling deliver lifecycle notifications.
	RoleArn pulumi.StringOutput
}

// Termination is the queue as a pool's lifecycle hook target.
func (q *TerminationQueue) Termination() Termination {
	return Termination{QueueArn: q.QueueArn, RoleArn: q.RoleArn}
}

// terminationEvents are the EventBridge patterns the handler acts on.
var terminationEvents = []struct {
	name, description string
	pattern           map[string]any
}{
	{"spot-interruption", "spot interruption warnings", map[string]any{
		"source": []string{"aws.ec2"}, "detail-type": []string{"EC2 Spot Instance Interruption Warning"}}},
	{"rebalance", "rebalance recommendations", map[string]any{
		"source": []string{"aws.ec2"}, "detail-type": []string{"EC2 Instance Rebalance Recommendation"}}},
	{"state-change", "instance state changes", map[string]any{
		"source": []string{"aws.ec2"}, "detail-type": []string{"EC2 Instance State-change Notification"}}},
	{"scheduled-change", "scheduled maintenance", map[string]any{
		"source": []string{"aws.health"}, "detail-type": []string{"AWS Health Event"},
		"detail": map[string]any{"service": []string{"EC2"}, "eventTypeCategory": []string{"scheduledChange"}}}},
}

// NewTerminationQueue creates the queue, its policy, the EventBridge rules
// and the role lifecycle hooks send with.
func NewTerminationQueue(ctx *pulumi.Context, name string, args TerminationQueueArgs, opts ...pulumi.ResourceOption) (*TerminationQueue, error) {
	if args.ClusterName == "" || args.Region == "" {
		return nil, fmt.Errorf("workers %s: TerminationQueueArgs: ClusterName and Region are required", name)
	}
	out := &TerminationQueue{}
	if err := ctx.RegisterComponentResource("kinfra:workers:TerminationQueue", name, out, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(out)
	ts := tagset.Set{ClusterName: args.ClusterName, Region: args.Region, Component: "workers", Extra: args.Tags}
	queue, err := sqs.NewQueue(ctx, name, &sqs.QueueArgs{
		Name: pulumi.String(args.ClusterName + "-node-termination"),
		// A notice older than the shortest warning (2 minutes for spot) is
		// of no use to the handler.
		MessageRetentionSeconds: pulumi.Int(300),
		SqsManagedSseEnabled:    pulumi.Bool(true),
		Tags:                    ts.For(name),
	}, parent)
	if err != nil {
		return nil, err
	}
	policy := queue.Arn.ApplyT(func(arn string) (string, error) {
		return iampolicy.New(iampolicy.Statement{
			Sid: "EventBridgeDelivers", Effect: "Allow",
			Principal: &iampolicy.Principal{Service: []string{"events.amazonaws.com", "sqs.amazonaws.com"}},
			Action:    []string{"sqs:SendMessage"}, Resource: []string{arn},
		}).JSON()
	}).(pulumi.StringOutput)
	if _, err := sqs.NewQueuePolicy(ctx, name, &sqs.QueuePolicyArgs{QueueUrl: queue.Url, Policy: policy}, parent); err != nil {
		return nil, err
	}
	for _, ev := range terminationEvents {
		pattern, err := json.Marshal(ev.pattern)
		if err != nil {
			return nil, err
		}
		ruleName := name + "-" + ev.name
		rule, err := cloudwatch.NewEventRule(ctx, ruleName, &cloudwatch.EventRuleArgs{
			Description:  pulumi.String(fmt.Sprintf("kinfra %s: %s, for the node termination handler", args.ClusterName, ev.description)),
			EventPattern: pulumi.String(string(pattern)),
			Tags:         ts.For(ruleName),
		}, parent)
		if err != nil {
			return nil, err
		}
		if _, err := cloudwatch.NewEventTarget(ctx, ruleName, &cloudwatch.EventTargetArgs{
			Rule: rule.Name, Arn: queue.Arn,
		}, parent); err != nil {
			return nil, err
		}
	}

	trust, err := iampolicy.New(iampolicy.AssumeRole("autoscaling.amazonaws.com")).JSON()
	if err != nil {
		return nil, err
	}
	roleName := name + "-hooks"
	role, err := iam.NewRole(ctx, roleName, &iam.RoleArgs{
		Description:      pulumi.String("kinfra " + args.ClusterName + ": Auto Scaling lifecycle hooks notify the node termination queue"),
		Path:             pulumi.String("/kinfra/" + args.ClusterName + "/"),
		AssumeRolePolicy: pulumi.String(trust),
		Tags:             ts.For(roleName),
	}, parent)
	if err != nil {
		return nil, err
	}
	send := queue.Arn.ApplyT(func(arn string) (string, error) {
		return iampolicy.New(iampolicy.Allow("NotifyTerminationQueue", []string{"sqs:GetQueueUrl", "sqs:SendMessage"}, []string{arn})).JSON()
	}).(pulumi.StringOutput)
	rp, err := iam.NewRolePolicy(ctx, roleName, &iam.RolePolicyArgs{Role: role.Name, Policy: send}, parent)
	if err != nil {
		return nil, err
	}
	out.QueueArn, out.QueueURL = queue.Arn, queue.Url
	// Hooks created with the role before its policy would fail their test
	// notification: hand the ARN out only once the policy exists.
	out.RoleArn = pulumi.All(role.Arn, rp.ID()).ApplyT(func(v []any) string { return v[0].(string) }).(pulumi.StringOutput)
	if err := ctx.RegisterResourceOutputs(out, pulumi.Map{
		"queueArn": out.QueueArn, "queueUrl": out.QueueURL, "roleArn": out.RoleArn,
	}); err != nil {
		return nil, err
	}
	return out, nil
}
