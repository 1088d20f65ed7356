// Package addons deploys a cluster's Kubernetes add-ons as the component
// resource kinfra:addons:Addons, with one sub-component per add-on:
//
//   - kinfra:addons:KubeProxy: kinfra's own kube-proxy (kubeadm skips its
//     phase): RBAC, a ConfigMap with the KubeProxyConfiguration and a
//     DaemonSet, in nftables, iptables or ipvs mode; absent when the CNI
//     replaces it.
//   - kinfra:addons:Cilium or kinfra:addons:Calico: the CNI, from its pinned
//     Helm chart, configured from cluster.cni so that the ports it uses are
//     the ones the security groups open.
//   - kinfra:addons:CloudControllerManager, kinfra:addons:EBSCSIDriver,
//     kinfra:addons:NodeTerminationHandler, kinfra:addons:ClusterAutoscaler:
//     the AWS integration, each of which can be turned off.
//   - kinfra:addons:NetworkPolicies: the default-deny baseline.
//
// Everything goes through one Kubernetes provider: built from the cluster's
// admin credentials by cluster.New (after the API answers), or from any
// kubeconfig a caller passes, so another stack can deploy the add-ons of a
// running cluster.
package addons

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/after"
	"github.com/kinfra-dev/kinfra/internal/ports"
	"github.com/kinfra-dev/kinfra/spec"
)

// Args shape the add-ons of one cluster.
type Args struct {
	// Cluster is the effective cluster spec (spec.Resolve). Its name,
	// region, kubernetes, cni, kubeProxy, privateDomain and addons sections
	// are used; node pools only for what the autoscaler must know.
	Cluster spec.Cluster
	// Kubeconfig reaches the cluster with rights to create cluster-wide
	// objects (the admin kubeconfig). Treated as a secret. Required unless
	// Provider is given.
	Kubeconfig pulumi.StringInput
	// ClusterIdentity names the cluster Kubeconfig reaches: any string that
	// changes only with the cluster (kinfra's cluster component gives
	// kubeconfig.ClusterIdentity, its name and CA). The provider made from
	// Kubeconfig is replaced, with every add-on object, only when it
	// changes. Required with Kubeconfig.
	ClusterIdentity string
	// Provider is a Kubernetes provider to use instead of one made from
	// Kubeconfig.
	Provider *kubernetes.Provider
	// APIHost is the name nodes reach the API at without the kubernetes
	// Service (kube-proxy and Cilium's replacement implement that Service,
	// so they cannot use it). Default api.<privateDomain>.
	APIHost string
	// ControllerRoleNames are the IAM roles of the machines the AWS
	// controllers run on (the masters: every slot's role). The add-ons
	// attach what their controllers may do to them. Required when the
	// termination handler or cluster-autoscaler is on.
	ControllerRoleNames []pulumi.StringInput
	// TerminationQueueURL and TerminationQueueArn are the cluster's
	// termination queue (workers.TerminationQueue). Required when the
	// termination handler is on.
	TerminationQueueURL pulumi.StringInput
	TerminationQueueArn pulumi.StringInput
	// ServiceAccountIssuer is the issuer the cluster's API servers sign
	// service-account tokens as, and OIDCProviderArn the IAM OpenID
	// Connect provider that trusts it (masters.ControlPlane, stack outputs
	// serviceAccountIssuer and oidcProviderArn). Required with the EBS CSI
	// driver on: its controller assumes its role with its token.
	ServiceAccountIssuer string
	OIDCProviderArn      pulumi.StringInput
	// After are resources the provider waits for: the master groups
	// (masters.ControlPlane.Ready), which wait until the API answers on
	// every master. Custom resources only (internal/after says why).
	After []pulumi.CustomResource
}

// Addons is the kinfra:addons:Addons component.
type Addons struct {
	pulumi.ResourceState

	// Spec is the cluster spec the add-ons were made for.
	Spec spec.Cluster
	// Provider is the Kubernetes provider every add-on uses.
	Provider *kubernetes.Provider
	// KubeProxy is nil when the CNI replaces kube-proxy.
	KubeProxy *KubeProxy
	// CNI is the Cilium or Calico component.
	CNI pulumi.Resource
	// CNIReady are the CNI's own resources. Wait for these, not for the
	// component: a dependency on a component can miss children whose
	// registration has not started (internal/after).
	CNIReady []pulumi.CustomResource
	// Each of these is nil when turned off.
	CloudControllerManager *CloudControllerManager
	EBSCSIDriver           *EBSCSIDriver
	NodeTerminationHandler *NodeTerminationHandler
	ClusterAutoscaler      *ClusterAutoscaler
	// NetworkPolicies is nil when no namespace has the baseline.
	NetworkPolicies *NetworkPolicies
}

// builder carries what every add-on needs.
type builder struct {
	ctx      *pulumi.Context
	name     string
	c        spec.Cluster
	args     Args
	out      *Addons
	provider pulumi.ProviderResource
	apiHost  string
}

// New validates args, then registers the add-ons. Invalid args fail before
// anything is registered, with every problem listed.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Addons, error) {
	if problems := args.check(); len(problems) > 0 {
		return nil, fmt.Errorf("addons %s: invalid arguments:\n  %s", name, strings.Join(problems, "\n  "))
	}
	out := &Addons{Spec: args.Cluster}
	if err := ctx.RegisterComponentResource("kinfra:addons:Addons", name, out, opts...); err != nil {
		return nil, err
	}
	b := &builder{ctx: ctx, name: name, c: args.Cluster, args: args, out: out, apiHost: args.APIHost}
	if b.apiHost == "" {
		b.apiHost = "api." + b.c.PrivateDomain
	}
	if err := b.build(); err != nil {
		return nil, fmt.Errorf("addons %s: %w", name, err)
	}
	deployed := pulumi.StringArray{}
	for _, d := range b.deployed() {
		deployed = append(deployed, pulumi.String(d))
	}
	if err := ctx.RegisterResourceOutputs(out, pulumi.Map{
		"cni":       pulumi.String(b.c.CNI.Provider),
		"proxyMode": pulumi.String(b.c.KubeProxy.Mode),
		"deployed":  deployed,
	}); err != nil {
		return nil, err
	}
	return out, nil
}

func (a Args) check() []string {
	var problems []string
	if errs := a.Cluster.Validate(); len(errs) > 0 {
		problems = append(problems, errs.Messages()...)
	}
	if a.Kubeconfig == nil && a.Provider == nil {
		problems = append(problems, "addons.Kubeconfig: required (or Provider); the add-ons need a way to the cluster")
	}
	if a.Kubeconfig != nil && a.ClusterIdentity == "" {
		problems = append(problems, "addons.ClusterIdentity: required with Kubeconfig (kubeconfig.ClusterIdentity of the cluster's name and CA); without it the provider, and every add-on object, would be replaced whenever the kubeconfig changes or is unknown at preview")
	}
	if a.Kubeconfig != nil && a.Provider != nil {
		problems = append(problems, "addons.Provider: given together with Kubeconfig; give one")
	}
	ad := a.Cluster.Addons
	if (ad.NodeTerminationHandler.On() || ad.ClusterAutoscaler.On()) && len(a.ControllerRoleNames) == 0 {
		problems = append(problems, "addons.ControllerRoleNames: required with the termination handler or cluster-autoscaler on; give the masters' role names, where they run")
	}
	if ad.NodeTerminationHandler.On() && (a.TerminationQueueURL == nil || a.TerminationQueueArn == nil) {
		problems = append(problems, "addons.TerminationQueueURL/TerminationQueueArn: required with the termination handler on; give the cluster's termination queue (stack outputs terminationQueueUrl and terminationQueueArn)")
	}
	if ad.EBSCSIDriver.On() {
		if !strings.HasPrefix(a.ServiceAccountIssuer, "https://") || strings.ContainsAny(a.ServiceAccountIssuer, " \t\n\"") {
			problems = append(problems, fmt.Sprintf("addons.ServiceAccountIssuer: %q is not an https URL; the EBS CSI driver needs the cluster's service-account issuer (stack output serviceAccountIssuer)", a.ServiceAccountIssuer))
		}
		if a.OIDCProviderArn == nil {
			problems = append(problems, "addons.OIDCProviderArn: required with the EBS CSI driver on; give the cluster's IAM OpenID Connect provider (stack output oidcProviderArn)")
		}
	}
	return problems
}

func (b *builder) build() error {
	if err := b.makeProvider(); err != nil {
		return err
	}
	var err error
	if b.c.ProxyDeployed() {
		if b.out.KubeProxy, err = b.kubeProxy(); err != nil {
			return err
		}
	}
	switch b.c.CNI.Provider {
	case spec.CNICilium:
		b.out.CNI, err = b.cilium()
	case spec.CNICalico:
		b.out.CNI, err = b.calico()
	}
	if err != nil {
		return err
	}
	a := b.c.Addons
	if a.CloudControllerManager.On() {
		if b.out.CloudControllerManager, err = b.cloudControllerManager(); err != nil {
			return err
		}
	}
	if a.EBSCSIDriver.On() {
		if b.out.EBSCSIDriver, err = b.ebsCSIDriver(); err != nil {
			return err
		}
	}
	if a.NodeTerminationHandler.On() {
		if b.out.NodeTerminationHandler, err = b.nodeTerminationHandler(); err != nil {
			return err
		}
	}
	if a.ClusterAutoscaler.On() {
		if b.out.ClusterAutoscaler, err = b.clusterAutoscaler(); err != nil {
			return err
		}
	}
	if len(a.NetworkPolicy.DefaultDeny) > 0 {
		if b.out.NetworkPolicies, err = b.networkPolicies(); err != nil {
			return err
		}
	}
	return nil
}

// deployed names the add-ons this cluster runs, for the outputs.
func (b *builder) deployed() []string {
	var out []string
	if b.out.KubeProxy != nil {
		out = append(out, "kube-proxy")
	}
	out = append(out, b.c.CNI.Provider)
	for _, x := range []struct {
		on   bool
		name string
	}{
		{b.out.CloudControllerManager != nil, "aws-cloud-controller-manager"},
		{b.out.EBSCSIDriver != nil, "aws-ebs-csi-driver"},
		{b.out.NodeTerminationHandler != nil, "aws-node-termination-handler"},
		{b.out.ClusterAutoscaler != nil, "cluster-autoscaler"},
		{b.out.NetworkPolicies != nil, "network-policies"},
	} {
		if x.on {
			out = append(out, x.name)
		}
	}
	return out
}

// makeProvider creates the Kubernetes provider, or takes the caller's.
func (b *builder) makeProvider() error {
	if b.args.Provider != nil {
		b.out.Provider = b.args.Provider
		b.provider = b.args.Provider
		return nil
	}
	p, err := kubernetes.NewProvider(b.ctx, b.name+"-k8s", &kubernetes.ProviderArgs{
		Kubeconfig: pulumi.ToSecret(b.args.Kubeconfig.ToStringOutput()).(pulumi.StringOutput),
		// Without it, a kubeconfig that is unknown at preview (it waits on
		// the master groups) or reaches the API another way would replace
		// the provider, and with it every object: the CNI and CSI driver
		// deleted and recreated under running pods.
		ClusterIdentifier: pulumi.String(b.args.ClusterIdentity),
		// Server-side apply, and take over objects that exist already
		// (kube-proxy left by an earlier installer; Calico's default
		// FelixConfiguration) owning only the fields kinfra sets.
		EnableServerSideApply: pulumi.Bool(true),
		UpsertExistingObjects: pulumi.Bool(true),
	}, pulumi.Parent(b.out), after.All(b.args.After...))
	if err != nil {
		return err
	}
	b.out.Provider, b.provider = p, p
	return nil
}

// podNetworkReady are what a workload on the pod network waits for: the
// CNI, and the cloud-controller-manager (when on), which initialises nodes.
func (b *builder) podNetworkReady() []pulumi.CustomResource {
	deps := append([]pulumi.CustomResource{}, b.out.CNIReady...)
	if ccm := b.out.CloudControllerManager; ccm != nil {
		deps = append(deps, ccm.Release)
	}
	return deps
}

// component registers an add-on's own component under the Addons.
func (b *builder) component(typ, suffix string, c pulumi.ComponentResource) error {
	return b.ctx.RegisterComponentResource("kinfra:addons:"+typ, b.name+"-"+suffix, c, pulumi.Parent(b.out))
}

// k8s are the options of a Kubernetes object under an add-on's component.
func (b *builder) k8s(parent pulumi.Resource, more ...pulumi.ResourceOption) []pulumi.ResourceOption {
	return append([]pulumi.ResourceOption{pulumi.Parent(parent), pulumi.Provider(b.provider)}, more...)
}

// apiServer is the API's in-VPC URL for pods that cannot use the
// kubernetes Service.
func (b *builder) apiServer() string { return fmt.Sprintf("https://%s:%d", b.apiHost, ports.API) }
