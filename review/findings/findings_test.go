package findings

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

func res(typ, name, id string, inputs map[string]any) mockaws.Resource {
	return mockaws.Resource{URN: "urn:" + typ + "::" + name, Type: typ, Name: name, ID: id, Custom: true, Inputs: inputs}
}

func rules(fs []Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, string(f.Severity)+" "+f.Rule+" "+f.Resource)
	}
	return out
}

func TestEachRuleFlagsItsViolationAndPassesTheFix(t *testing.T) {
	vpc := res("aws:ec2/vpc:Vpc", "vpc", "vpc-1", nil)
	protected := mockaws.Options{Protect: true, RetainOnDelete: true}
	cases := []struct {
		rule          string
		bad, good     []mockaws.Resource
		wantViolation string
	}{
		{
			rule: "addons/deprecated-proxy-mode",
			bad: []mockaws.Resource{res("kubernetes:core/v1:ConfigMap", "kube-proxy", "kube-system/kube-proxy", map[string]any{"data": map[string]any{
				"config.conf": "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\n"}})},
			good: []mockaws.Resource{res("kubernetes:core/v1:ConfigMap", "kube-proxy", "kube-system/kube-proxy", map[string]any{"data": map[string]any{
				"config.conf": "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: nftables\n"}})},
			wantViolation: "warning addons/deprecated-proxy-mode urn:kubernetes:core/v1:ConfigMap::kube-proxy",
		},
		{
			rule:          "network/flow-logs",
			bad:           []mockaws.Resource{vpc, res("aws:ec2/flowLog:FlowLog", "fl", "fl-1", map[string]any{"vpcId": "vpc-other"})},
			good:          []mockaws.Resource{vpc, res("aws:ec2/flowLog:FlowLog", "fl", "fl-1", map[string]any{"vpcId": "vpc-1"})},
			wantViolation: "warning network/flow-logs urn:aws:ec2/vpc:Vpc::vpc",
		},
		{
			rule: "network/single-nat",
			bad: []mockaws.Resource{
				res("aws:ec2/natGateway:NatGateway", "nat-a", "nat-a", nil),
				res("aws:ec2/route:Route", "a", "r1", map[string]any{"natGatewayId": "nat-a"}),
				res("aws:ec2/route:Route", "b", "r2", map[string]any{"natGatewayId": "nat-a"}),
			},
			good: []mockaws.Resource{
				res("aws:ec2/natGateway:NatGateway", "nat-a", "nat-a", nil),
				res("aws:ec2/natGateway:NatGateway", "nat-b", "nat-b", nil),
				res("aws:ec2/route:Route", "a", "r1", map[string]any{"natGatewayId": "nat-a"}),
				res("aws:ec2/route:Route", "b", "r2", map[string]any{"natGatewayId": "nat-b"}),
			},
			wantViolation: "warning network/single-nat urn:aws:ec2/natGateway:NatGateway::nat-a",
		},
		{
			rule:          "network/public-ip-on-launch",
			bad:           []mockaws.Resource{res("aws:ec2/subnet:Subnet", "pub", "subnet-1", map[string]any{"mapPublicIpOnLaunch": true})},
			good:          []mockaws.Resource{res("aws:ec2/subnet:Subnet", "pub", "subnet-1", map[string]any{"mapPublicIpOnLaunch": false})},
			wantViolation: "warning network/public-ip-on-launch urn:aws:ec2/subnet:Subnet::pub",
		},
		{
			rule: "security-group/world-open",
			bad: []mockaws.Resource{res("aws:ec2/securityGroup:SecurityGroup", "sg", "sg-1", map[string]any{"ingress": []any{
				map[string]any{"protocol": "tcp", "fromPort": 2379.0, "toPort": 2380.0, "ipv6CidrBlocks": []any{"::/0"}},
			}})},
			good: []mockaws.Resource{res("aws:ec2/securityGroup:SecurityGroup", "sg", "sg-1", map[string]any{"ingress": []any{
				map[string]any{"protocol": "tcp", "fromPort": 2379.0, "toPort": 2380.0, "cidrBlocks": []any{"10.0.0.0/16"}},
				map[string]any{"protocol": "tcp", "fromPort": 8080.0, "toPort": 8080.0, "cidrBlocks": []any{"0.0.0.0/0"}},
			}})},
			wantViolation: "error security-group/world-open urn:aws:ec2/securityGroup:SecurityGroup::sg",
		},
		{
			rule: "security-group/world-open (rule resources)",
			bad: []mockaws.Resource{res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "api", "sgr-1",
				map[string]any{"ipProtocol": "tcp", "fromPort": 6443.0, "toPort": 6443.0, "cidrIpv4": "0.0.0.0/0"})},
			good: []mockaws.Resource{res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "api", "sgr-1",
				map[string]any{"ipProtocol": "tcp", "fromPort": 6443.0, "toPort": 6443.0, "cidrIpv4": "203.0.113.0/24"})},
			wantViolation: "error security-group/world-open urn:aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::api",
		},
		{
			rule:          "masters/single-member",
			bad:           []mockaws.Resource{etcdVolume("etcd-0", protected), backupAlarm()},
			good:          []mockaws.Resource{etcdVolume("etcd-0", protected), etcdVolume("etcd-1", protected), etcdVolume("etcd-2", protected), backupAlarm()},
			wantViolation: "warning masters/single-member urn:aws:ebs/volume:Volume::etcd-0",
		},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			require.Equal(t, []string{tc.wantViolation}, rules(Run(tc.bad)))
			require.Empty(t, Run(tc.good))
		})
	}
}

func TestAllProtocolRuleOpenToTheWorldHitsEverySensitivePort(t *testing.T) {
	fs := Run([]mockaws.Resource{res("aws:ec2/securityGroup:SecurityGroup", "sg", "sg-1", map[string]any{"ingress": []any{
		map[string]any{"protocol": "-1", "fromPort": 0.0, "toPort": 0.0, "cidrBlocks": []any{"0.0.0.0/0"}},
	}})})
	require.Len(t, fs, len(sensitivePorts))
	require.Len(t, Errors(fs), len(sensitivePorts))
	require.Contains(t, fs[0].Message, "admits the whole internet")
}

func TestEveryRuleHasAnIDSeverityAndDoc(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules {
		require.NotEmpty(t, r.ID)
		require.False(t, seen[r.ID], "duplicate rule %s", r.ID)
		seen[r.ID] = true
		require.Contains(t, []Severity{Error, Warning, Info}, r.Severity)
		require.NotEmpty(t, r.Doc)
	}
}
