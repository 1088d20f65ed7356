package addons

import (
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/after"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/spec"
)

// Node termination handler names.
const (
	NTHName = "aws-node-termination-handler"
	// NTHProbePort serves the liveness probe (/healthz). The pod is
	// host-networked: this port is taken on the master it runs on.
	NTHProbePort = 8080
	// NTHReplicas is one: queue processors do not coordinate (no leader
	// election), so two would race for the same messages and drain twice.
	// A master's loss delays draining until the pod is rescheduled; the
	// lifecycle hooks' heartbeat timeout covers that.
	NTHReplicas = 1
)

// NodeTerminationHandler is the kinfra:addons:NodeTerminationHandler
// component: the AWS node termination handler in queue mode, on the
// masters, draining nodes from the cluster's termination queue.
//
// kinfra renders its objects instead of installing the chart: the chart's
// queue-processor Deployment has no host-network option, and on the pod
// network the handler would have no AWS credentials.
type NodeTerminationHandler struct {
	pulumi.ResourceState

	// Deployment runs the queue processor.
	Deployment *appsv1.Deployment

	// controllerIAM are the attachments of the controllers' policy, which
	// the handler creates when it is on (see controllersIAMFor).
	controllerIAM []pulumi.CustomResource
}

// NTHRules are the handler's RBAC rules, the chart's: cordon, taint and
// drain nodes, and report what it does as events.
var NTHRules = []struct{ Groups, Resources, Verbs []string }{
	{[]string{""}, []string{"nodes"}, []string{"get", "list", "patch", "update"}},
	{[]string{""}, []string{"pods"}, []string{"list", "get"}},
	{[]string{""}, []string{"pods/eviction"}, []string{"create"}},
	{[]string{"extensions"}, []string{"daemonsets"}, []string{"get"}},
	{[]string{"apps"}, []string{"daemonsets"}, []string{"get"}},
	{[]string{""}, []string{"events"}, []string{"create"}},
}

// nthEnv are the handler's settings (environment variables) other than the
// pod's own names and the queue URL.
func (b *builder) nthEnv() [][2]string {
	return [][2]string{
		{"ENABLE_SQS_TERMINATION_DRAINING", "true"},
		{"AWS_REGION", b.c.Region},
		// Drain only nodes of groups the workers mark for the handler; a
		// notice about any other instance is deleted.
		{"CHECK_TAG_BEFORE_DRAINING", "true"},
		{"MANAGED_TAG", tags.TerminationHandler},
		{"DELETE_SQS_MSG_IF_NODE_NOT_FOUND", "true"},
		{"ENABLE_SPOT_INTERRUPTION_DRAINING", "true"},
		{"ENABLE_SCHEDULED_EVENT_DRAINING", "true"},
		// ENABLE_REBALANCE_DRAINING governs instance-metadata mode only
		// (there, off means cordon only). In queue mode the handler
		// cordons and drains on every rebalance recommendation the queue
		// brings, whatever it says; kinfra wants that: the workers route
		// the recommendations to the queue, and their groups replace the
		// instance through capacity rebalance anyway. Set explicitly so
		// that no IMDS-mode draining is implied.
		{"ENABLE_REBALANCE_DRAINING", "false"},
		// Honour each pod's own grace period.
		{"POD_TERMINATION_GRACE_PERIOD", "-1"},
		// Taint as well as cordon, so that nothing tolerating unschedulable
		// nodes lands there.
		{"TAINT_NODE", "true"},
		{"JSON_LOGGING", "true"},
		{"ENABLE_PROMETHEUS_SERVER", "false"},
		// Match nodes by spec.providerID (set by the cloud-controller-
		// manager), whatever the node names.
		{"USE_PROVIDER_ID", "true"},
		{"ENABLE_PROBES_SERVER", "true"},
		{"PROBES_SERVER_PORT", fmt.Sprint(NTHProbePort)},
		{"PROBES_SERVER_ENDPOINT", "/healthz"},
	}
}

// nodeTerminationHandler deploys the handler: its service account and RBAC,
// and the queue processor's Deployment on the masters. It creates the
// controllers' IAM too (controllers_iam.go).
func (b *builder) nodeTerminationHandler() (*NodeTerminationHandler, error) {
	out := &NodeTerminationHandler{}
	if err := b.component("NodeTerminationHandler", "node-termination-handler", out); err != nil {
		return nil, err
	}
	var err error
	if out.controllerIAM, err = b.controllersIAM(); err != nil {
		return nil, err
	}
	name := b.name + "-node-termination-handler"
	labels := pulumi.StringMap{
		"app.kubernetes.io/name":       pulumi.String(NTHName),
		"app.kubernetes.io/managed-by": pulumi.String("kinfra"),
	}
	sa, err := corev1.NewServiceAccount(b.ctx, name, &corev1.ServiceAccountArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(NTHName), Namespace: pulumi.String("kube-system"), Labels: labels},
	}, b.k8s(out)...)
	if err != nil {
		return nil, err
	}
	var rules rbacv1.PolicyRuleArray
	for _, r := range NTHRules {
		rules = append(rules, &rbacv1.PolicyRuleArgs{
			ApiGroups: pulumi.ToStringArray(r.Groups), Resources: pulumi.ToStringArray(r.Resources), Verbs: pulumi.ToStringArray(r.Verbs),
		})
	}
	role, err := rbacv1.NewClusterRole(b.ctx, name, &rbacv1.ClusterRoleArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(NTHName), Labels: labels},
		Rules:    rules,
	}, b.k8s(out)...)
	if err != nil {
		return nil, err
	}
	binding, err := rbacv1.NewClusterRoleBinding(b.ctx, name, &rbacv1.ClusterRoleBindingArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(NTHName), Labels: labels},
		RoleRef: &rbacv1.RoleRefArgs{
			ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("ClusterRole"), Name: pulumi.String(NTHName),
		},
		Subjects: rbacv1.SubjectArray{&rbacv1.SubjectArgs{
			Kind: pulumi.String("ServiceAccount"), Name: pulumi.String(NTHName), Namespace: pulumi.String("kube-system"),
		}},
	}, b.k8s(out)...)
	if err != nil {
		return nil, err
	}
	field := func(env, path string) *corev1.EnvVarArgs {
		return &corev1.EnvVarArgs{Name: pulumi.String(env), ValueFrom: &corev1.EnvVarSourceArgs{
			FieldRef: &corev1.ObjectFieldSelectorArgs{FieldPath: pulumi.String(path)},
		}}
	}
	env := corev1.EnvVarArray{
		field("NODE_NAME", "spec.nodeName"),
		field("POD_NAME", "metadata.name"),
		field("NAMESPACE", "metadata.namespace"),
		&corev1.EnvVarArgs{Name: pulumi.String("QUEUE_URL"), Value: b.args.TerminationQueueURL},
	}
	for _, kv := range b.nthEnv() {
		env = append(env, &corev1.EnvVarArgs{Name: pulumi.String(kv[0]), Value: pulumi.String(kv[1])})
	}
	selector := pulumi.StringMap{"app.kubernetes.io/name": pulumi.String(NTHName)}
	deps := append([]pulumi.CustomResource{sa, role, binding}, out.controllerIAM...)
	out.Deployment, err = appsv1.NewDeployment(b.ctx, name, &appsv1.DeploymentArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(NTHName), Namespace: pulumi.String("kube-system"), Labels: labels},
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(NTHReplicas),
			// Never two processors at once, and the host port is free for
			// the new pod on a one-master cluster.
			Strategy: &appsv1.DeploymentStrategyArgs{Type: pulumi.String("Recreate")},
			Selector: &metav1.LabelSelectorArgs{MatchLabels: selector},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: labels},
				Spec: &corev1.PodSpecArgs{
					ServiceAccountName: pulumi.String(NTHName),
					PriorityClassName:  pulumi.String("system-cluster-critical"),
					// Host network: the master's instance credentials.
					HostNetwork: pulumi.Bool(true),
					// The node's resolver (the VPC's, which knows the
					// endpoints' private names): AWS endpoints must resolve
					// even while CoreDNS is down.
					DnsPolicy: pulumi.String("Default"),
					NodeSelector: pulumi.StringMap{
						ControlPlaneLabel:  pulumi.String(""),
						"kubernetes.io/os": pulumi.String("linux"),
					},
					Tolerations: tolerationArgs(mastersTolerations),
					SecurityContext: &corev1.PodSecurityContextArgs{
						RunAsNonRoot:   pulumi.Bool(true),
						RunAsUser:      pulumi.Int(1000),
						RunAsGroup:     pulumi.Int(1000),
						SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
					},
					Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						Name:  pulumi.String(NTHName),
						Image: pulumi.String(nthImage(b.c)),
						Env:   env,
						// Declared, so that the scheduler keeps a second pod
						// off a master whose host port is taken.
						Ports: corev1.ContainerPortArray{&corev1.ContainerPortArgs{
							Name: pulumi.String("liveness-probe"), ContainerPort: pulumi.Int(NTHProbePort), Protocol: pulumi.String("TCP"),
						}},
						LivenessProbe: &corev1.ProbeArgs{
							HttpGet: &corev1.HTTPGetActionArgs{
								Path: pulumi.String("/healthz"), Port: pulumi.Int(NTHProbePort),
							},
							InitialDelaySeconds: pulumi.Int(5), PeriodSeconds: pulumi.Int(5),
						},
						SecurityContext: &corev1.SecurityContextArgs{
							RunAsNonRoot:             pulumi.Bool(true),
							ReadOnlyRootFilesystem:   pulumi.Bool(true),
							AllowPrivilegeEscalation: pulumi.Bool(false),
							Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.ToStringArray([]string{"ALL"})},
						},
						Resources: &corev1.ResourceRequirementsArgs{
							Requests: pulumi.StringMap{"cpu": pulumi.String("50m"), "memory": pulumi.String("64Mi")},
							Limits:   pulumi.StringMap{"memory": pulumi.String("256Mi")},
						},
					}},
				},
			},
		},
	}, b.k8s(out, after.All(deps...))...)
	if err != nil {
		return nil, err
	}
	if err := b.ctx.RegisterResourceOutputs(out, pulumi.Map{
		"image":    pulumi.String(nthImage(b.c)),
		"queueUrl": b.args.TerminationQueueURL,
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// nthImage is the stack's image for the handler, or kinfra's pin.
func nthImage(c spec.Cluster) string {
	if i := c.Addons.NodeTerminationHandler.Image; i != "" {
		return i
	}
	return NTHImage
}
