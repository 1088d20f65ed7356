package addons

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/awsaccount"
	"github.com/kinfra-dev/kinfra/internal/iampolicy"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/tags/tagset"
)

// Where the AWS controllers run, and with what rights.
//
// Nodes require IMDSv2 with a hop limit of 1, so a pod on the pod network
// gets no instance credentials. The controllers that call AWS therefore run
// host-networked on the masters and use the masters' instance roles
// (Args.ControllerRoleNames); the add-ons attach to those roles exactly what
// the enabled controllers may do. The cloud-controller-manager's rights are
// in the masters' own policy (components/masters), since nodes cannot
// initialise without it. The EBS CSI driver's controller cannot run
// host-networked and has its own IAM user instead (ebs.go).

// Placement on the masters.
const (
	// ControlPlaneLabel and ControlPlaneTaint mark the masters (kubeadm).
	ControlPlaneLabel = "node-role.kubernetes.io/control-plane"
	ControlPlaneTaint = ControlPlaneLabel
	// UninitializedTaint is on every node until the cloud-controller-manager
	// initialises it; the controllers must run before that on a new
	// cluster.
	UninitializedTaint = "node.cloudprovider.kubernetes.io/uninitialized"
	// NotReadyTaint is on nodes whose network is not up yet.
	NotReadyTaint = "node.kubernetes.io/not-ready"
)

// toleration is an Exists toleration of a taint key ("" effect: every
// effect).
type toleration struct{ key, effect string }

// mastersTolerations let a controller onto masters, uninitialised or not.
// CriticalAddonsOnly is the conventional taint of nodes reserved for
// add-ons.
var mastersTolerations = []toleration{
	{ControlPlaneTaint, "NoSchedule"},
	{UninitializedTaint, "NoSchedule"},
	{"CriticalAddonsOnly", ""},
}

// mastersNodeSelector selects the masters.
func mastersNodeSelector() map[string]any { return map[string]any{ControlPlaneLabel: ""} }

// tolerationValues are tolerations as Helm values.
func tolerationValues(ts []toleration) []any {
	out := make([]any, 0, len(ts))
	for _, t := range ts {
		v := map[string]any{"key": t.key, "operator": "Exists"}
		if t.effect != "" {
			v["effect"] = t.effect
		}
		out = append(out, v)
	}
	return out
}

// tolerationArgs are tolerations of a pod kinfra renders itself.
func tolerationArgs(ts []toleration) corev1.TolerationArray {
	out := corev1.TolerationArray{}
	for _, t := range ts {
		a := &corev1.TolerationArgs{Key: pulumi.String(t.key), Operator: pulumi.String("Exists")}
		if t.effect != "" {
			a.Effect = pulumi.String(t.effect)
		}
		out = append(out, a)
	}
	return out
}

// ControllersPolicyStatements are what the enabled controllers that run on
// the masters may do (the termination handler's and cluster-autoscaler's),
// in cluster's account; queueArn is the termination queue. Nothing when
// neither is on.
//
// Describe* and the other read-only calls below accept only "*" as their
// resource (AWS has no narrower resource or condition for them); every
// write is limited to this cluster's resources by ARN or by tag.
func (b *builder) controllersPolicyStatements(id awsaccount.Identity, queueArn string) []iampolicy.Statement {
	a := b.c.Addons
	groups := fmt.Sprintf("arn:%s:autoscaling:%s:%s:autoScalingGroup:*:autoScalingGroupName/*", id.Partition, b.c.Region, id.AccountID)
	var out []iampolicy.Statement
	if a.NodeTerminationHandler.On() {
		out = append(out,
			iampolicy.Allow("TerminationHandlerReadQueue", []string{"sqs:DeleteMessage", "sqs:ReceiveMessage"}, []string{queueArn}),
			// Only groups the workers mark for the handler, and only this
			// cluster's: the handler tag itself is the same in every
			// cluster of the account.
			iampolicy.Statement{Sid: "TerminationHandlerCompleteHooks", Effect: "Allow",
				Action: []string{"autoscaling:CompleteLifecycleAction"}, Resource: []string{groups},
				Condition: map[string]map[string]any{"StringEquals": {
					"aws:ResourceTag/" + tags.TerminationHandler: "true",
					"aws:ResourceTag/" + tags.Cluster:            b.c.Name,
				}}},
			iampolicy.Allow("TerminationHandlerDescribe", []string{
				"autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeTags", "ec2:DescribeInstances",
			}, []string{"*"}),
		)
	}
	if a.ClusterAutoscaler.On() {
		out = append(out,
			// Only the groups auto-discovery finds: the workers tag this
			// cluster's autoscaled groups <AutoscalerCluster>=owned.
			iampolicy.Statement{Sid: "AutoscalerResizeOwnedGroups", Effect: "Allow",
				Action:   []string{"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"},
				Resource: []string{groups},
				Condition: map[string]map[string]any{"StringEquals": {
					"aws:ResourceTag/" + tags.AutoscalerCluster(b.c.Name): "owned",
				}}},
			iampolicy.Allow("AutoscalerDescribe", []string{
				"autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
				"autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
				"autoscaling:DescribeTags", "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
				"ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements",
			}, []string{"*"}),
		)
	}
	return out
}

// controllersIAM creates the one managed policy of the controllers that run
// on the masters and attaches it to every controller role. It returns the
// attachments, which the controllers' workloads wait for. Nothing when
// neither the termination handler nor cluster-autoscaler is on.
//
// The policy is the add-ons' (not the masters'): turning a controller off
// removes its rights, and a cluster whose add-ons another stack deploys
// gets them from that stack.
func (b *builder) controllersIAM() ([]pulumi.CustomResource, error) {
	a := b.c.Addons
	if !a.NodeTerminationHandler.On() && !a.ClusterAutoscaler.On() {
		return nil, nil
	}
	id, err := awsaccount.Lookup(b.ctx, b.out)
	if err != nil {
		return nil, err
	}
	var queue pulumi.StringInput = pulumi.String("")
	if a.NodeTerminationHandler.On() {
		queue = b.args.TerminationQueueArn
	}
	doc := queue.ToStringOutput().ApplyT(func(arn string) (string, error) {
		return iampolicy.New(b.controllersPolicyStatements(id, arn)...).JSON()
	}).(pulumi.StringOutput)
	name := b.name + "-controllers"
	ts := tagset.Set{ClusterName: b.c.Name, Region: b.c.Region, Component: "addons", Extra: b.c.Tags}
	policy, err := iam.NewPolicy(b.ctx, name, &iam.PolicyArgs{
		Description: pulumi.String("kinfra " + b.c.Name + ": AWS controllers on the masters (node termination handler, cluster-autoscaler)"),
		Path:        pulumi.String("/kinfra/" + b.c.Name + "/"),
		Policy:      doc,
		Tags:        ts.For(name),
	}, pulumi.Parent(b.out))
	if err != nil {
		return nil, err
	}
	var out []pulumi.CustomResource
	for i, role := range b.args.ControllerRoleNames {
		att, err := iam.NewRolePolicyAttachment(b.ctx, fmt.Sprintf("%s-%d", name, i), &iam.RolePolicyAttachmentArgs{
			Role: role, PolicyArn: policy.Arn,
		}, pulumi.Parent(b.out))
		if err != nil {
			return nil, err
		}
		out = append(out, att)
	}
	return out, nil
}

// controllersIAMFor returns the controllers' IAM, creating it the first
// time (by the termination handler when it is on, else by the autoscaler),
// so that both wait for the same attachments.
func (b *builder) controllersIAMFor() ([]pulumi.CustomResource, error) {
	if nth := b.out.NodeTerminationHandler; nth != nil {
		return nth.controllerIAM, nil
	}
	return b.controllersIAM()
}
