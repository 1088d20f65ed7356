package addons

import (
	"github.com/kinfra-dev/kinfra/internal/after"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Baseline policy names.
const (
	DefaultDenyPolicy = "kinfra-default-deny"
	AllowDNSPolicy    = "kinfra-allow-dns"
)

// NetworkPolicies is the kinfra:addons:NetworkPolicies component: in each
// chosen namespace, a policy selecting every pod that admits nothing in or
// out, and one that lets every pod resolve names through kube-dns.
type NetworkPolicies struct {
	pulumi.ResourceState
}

func (b *builder) networkPolicies() (*NetworkPolicies, error) {
	out := &NetworkPolicies{}
	if err := b.component("NetworkPolicies", "network-policies", out); err != nil {
		return nil, err
	}
	// Policies need the CNI to be enforced; create them once it runs.
	afterCNI := after.All(b.out.CNIReady...)
	labels := pulumi.StringMap{"app.kubernetes.io/managed-by": pulumi.String("kinfra")}
	every := &metav1.LabelSelectorArgs{}
	for _, ns := range b.c.Addons.NetworkPolicy.DefaultDeny {
		meta := func(name string) *metav1.ObjectMetaArgs {
			return &metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: pulumi.String(ns), Labels: labels}
		}
		if _, err := networkingv1.NewNetworkPolicy(b.ctx, b.name+"-deny-"+ns, &networkingv1.NetworkPolicyArgs{
			Metadata: meta(DefaultDenyPolicy),
			Spec: &networkingv1.NetworkPolicySpecArgs{
				PodSelector: every,
				PolicyTypes: pulumi.ToStringArray([]string{"Ingress", "Egress"}),
			},
		}, b.k8s(out, afterCNI)...); err != nil {
			return nil, err
		}
		dnsPort := func(proto string) *networkingv1.NetworkPolicyPortArgs {
			return &networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String(proto), Port: pulumi.Int(53)}
		}
		if _, err := networkingv1.NewNetworkPolicy(b.ctx, b.name+"-dns-"+ns, &networkingv1.NetworkPolicyArgs{
			Metadata: meta(AllowDNSPolicy),
			Spec: &networkingv1.NetworkPolicySpecArgs{
				PodSelector: every,
				PolicyTypes: pulumi.ToStringArray([]string{"Egress"}),
				Egress: networkingv1.NetworkPolicyEgressRuleArray{&networkingv1.NetworkPolicyEgressRuleArgs{
					To: networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{
						NamespaceSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{
							"kubernetes.io/metadata.name": pulumi.String("kube-system"),
						}},
						PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{
							"k8s-app": pulumi.String("kube-dns"),
						}},
					}},
					Ports: networkingv1.NetworkPolicyPortArray{dnsPort("UDP"), dnsPort("TCP")},
				}},
			},
		}, b.k8s(out, afterCNI)...); err != nil {
			return nil, err
		}
	}
	if err := b.ctx.RegisterResourceOutputs(out, pulumi.Map{
		"namespaces": pulumi.ToStringArray(b.c.Addons.NetworkPolicy.DefaultDeny),
	}); err != nil {
		return nil, err
	}
	return out, nil
}
