package findings

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/ports"
	"github.com/kinfra-dev/kinfra/internal/tags"
)

// The security group rule types, in every shape a stack can write one.
const (
	securityGroupType = "aws:ec2/securityGroup:SecurityGroup"
	ingressRuleType   = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	legacyRuleType    = "aws:ec2/securityGroupRule:SecurityGroupRule"
	launchTemplate    = "aws:ec2/launchTemplate:LaunchTemplate"
	instanceType      = "aws:ec2/instance:Instance"
)

// ingress is one ingress rule, whatever resource wrote it: a rule resource of
// its own (aws:vpc/securityGroupIngressRule, aws:ec2/securityGroupRule) or an
// inline ingress block of a security group.
type ingress struct {
	// URN of the resource that writes the rule (the group for inline rules).
	URN string
	// Group is the ID of the security group the rule admits into.
	Group string
	// Protocol is tcp, udp, icmp, icmpv6, all, or an IP protocol number.
	Protocol string
	// From and To are the port range; 0-65535 for all.
	From, To int
	// Sources: CIDR blocks, security group IDs and prefix list IDs.
	CIDRs, Groups, PrefixLists []string
}

// admitsTCP reports whether the rule admits TCP to any port in lo-hi.
func (r ingress) admitsTCP(lo, hi int) bool {
	return (r.Protocol == "tcp" || r.Protocol == "all") && r.From <= hi && lo <= r.To
}

// world returns the rule's sources that are the whole internet (a /0).
func (r ingress) world() []string {
	var out []string
	for _, c := range r.CIDRs {
		if p, err := netip.ParsePrefix(c); err == nil && p.Bits() == 0 {
			out = append(out, c)
		}
	}
	return out
}

// ports describes the rule's protocol and ports for messages.
func (r ingress) ports() string {
	if r.Protocol == "all" {
		return "all traffic"
	}
	return fmt.Sprintf("%s %d-%d", r.Protocol, r.From, r.To)
}

// protocols maps EC2's protocol names and numbers to one name.
var protocols = map[string]string{"-1": "all", "all": "all", "6": "tcp", "tcp": "tcp", "17": "udp", "udp": "udp", "1": "icmp", "icmp": "icmp", "58": "icmpv6", "icmpv6": "icmpv6"}

func newIngress(urn, group string, m map[string]any, protoKey string) ingress {
	proto := strings.ToLower(mockaws.Str(m[protoKey]))
	if p, ok := protocols[proto]; ok {
		proto = p
	}
	r := ingress{URN: urn, Group: group, Protocol: proto, From: 0, To: 65535}
	if proto != "all" {
		if _, ok := m["fromPort"].(float64); ok {
			r.From, r.To = port(m["fromPort"]), port(m["toPort"])
		}
	}
	return r
}

// ingressRules returns every ingress rule of the plan.
func ingressRules(rs []mockaws.Resource) []ingress {
	var out []ingress
	for _, sg := range mockaws.OfType(rs, securityGroupType) {
		blocks, _ := sg.Inputs["ingress"].([]any)
		for _, raw := range blocks {
			m, _ := raw.(map[string]any)
			r := newIngress(sg.URN, sg.ID, m, "protocol")
			r.CIDRs = append(strs(m["cidrBlocks"]), strs(m["ipv6CidrBlocks"])...)
			r.Groups = strs(m["securityGroups"])
			if self, _ := m["self"].(bool); self {
				r.Groups = append(r.Groups, sg.ID)
			}
			r.PrefixLists = strs(m["prefixListIds"])
			out = append(out, r)
		}
	}
	for _, rule := range mockaws.OfType(rs, ingressRuleType) {
		m := rule.Inputs
		r := newIngress(rule.URN, mockaws.Str(m["securityGroupId"]), m, "ipProtocol")
		r.CIDRs = nonEmpty(mockaws.Str(m["cidrIpv4"]), mockaws.Str(m["cidrIpv6"]))
		r.Groups = nonEmpty(mockaws.Str(m["referencedSecurityGroupId"]))
		r.PrefixLists = nonEmpty(mockaws.Str(m["prefixListId"]))
		out = append(out, r)
	}
	for _, rule := range mockaws.OfType(rs, legacyRuleType) {
		m := rule.Inputs
		if mockaws.Str(m["type"]) != "ingress" {
			continue
		}
		r := newIngress(rule.URN, mockaws.Str(m["securityGroupId"]), m, "protocol")
		r.CIDRs = append(strs(m["cidrBlocks"]), strs(m["ipv6CidrBlocks"])...)
		r.Groups = nonEmpty(mockaws.Str(m["sourceSecurityGroupId"]))
		if self, _ := m["self"].(bool); self {
			r.Groups = append(r.Groups, r.Group)
		}
		r.PrefixLists = strs(m["prefixListIds"])
		out = append(out, r)
	}
	return out
}

// sensitivePorts are cluster TCP ports that must never face the internet.
var sensitivePorts = []struct {
	from, to int
	what     string
}{
	{22, 22, "SSH"}, {443, 443, "HTTPS (AWS API endpoints)"}, {etcdClient, etcdPeer, "etcd"}, {apiPort, apiPort, "the Kubernetes API"},
	{ports.Kubelet, ports.Kubelet, "the kubelet"}, {10257, 10257, "kube-controller-manager"}, {10259, 10259, "kube-scheduler"},
}

// worldOpen flags every rule that admits 0.0.0.0/0 or ::/0 to a sensitive
// port. The API load balancer's own port is api/world-open's, which a stack
// may acknowledge.
func worldOpen(rs []mockaws.Resource) []Finding {
	api := apiLoadBalancerGroups(rs)
	var out []Finding
	for _, r := range ingressRules(rs) {
		world := r.world()
		if len(world) == 0 {
			continue
		}
		for _, p := range sensitivePorts {
			if !r.admitsTCP(p.from, p.to) || (p.from == apiPort && api[r.Group]) {
				continue
			}
			out = append(out, Finding{Resource: r.URN, Message: fmt.Sprintf("ingress %s from %s admits the whole internet to %s; restrict it to the networks that need it", r.ports(), strings.Join(world, ", "), p.what)})
		}
	}
	return out
}

const (
	apiPort                  = ports.API
	etcdClient, etcdPeer     = ports.EtcdClient, ports.EtcdPeer
	operatorsRole            = masters.OperatorsRole
	loadBalancerType         = "aws:lb/loadBalancer:LoadBalancer"
	listenerType             = "aws:lb/listener:Listener"
	infrastructureConfigType = "aws:imagebuilder/infrastructureConfiguration:InfrastructureConfiguration"
)

// apiLoadBalancerGroups returns the IDs of the security groups of the API
// load balancers: those with a listener on 6443 (or named <…>-api).
func apiLoadBalancerGroups(rs []mockaws.Resource) map[string]bool {
	out := map[string]bool{}
	for _, lb := range apiLoadBalancers(rs) {
		for _, g := range strs(lb.Inputs["securityGroups"]) {
			out[g] = true
		}
	}
	return out
}

func apiLoadBalancers(rs []mockaws.Resource) []mockaws.Resource {
	var arns []string
	for _, l := range mockaws.OfType(rs, listenerType) {
		if port(l.Inputs["port"]) == apiPort {
			arns = append(arns, mockaws.Str(l.Inputs["loadBalancerArn"]))
		}
	}
	var out []mockaws.Resource
	for _, lb := range mockaws.OfType(rs, loadBalancerType) {
		listens := slices.ContainsFunc(arns, func(arn string) bool {
			return lb.ID != "" && (arn == lb.ID || strings.HasSuffix(arn, "/"+lb.ID))
		})
		if listens || strings.HasSuffix(lb.Name, "-api") {
			out = append(out, lb)
		}
	}
	return out
}

// apiWorldOpen flags the API load balancer admitting the whole internet to
// 6443, and an internet-facing API load balancer with no security group.
func apiWorldOpen(rs []mockaws.Resource) []Finding {
	var out []Finding
	for _, lb := range apiLoadBalancers(rs) {
		internal, _ := lb.Inputs["internal"].(bool)
		if !internal && len(strs(lb.Inputs["securityGroups"])) == 0 {
			out = append(out, Finding{Resource: lb.URN, Message: "the internet-facing API load balancer has no security group, so it forwards the whole internet to the Kubernetes API; give it a security group that admits cluster.api.accessCidrs only"})
		}
	}
	api := apiLoadBalancerGroups(rs)
	for _, r := range ingressRules(rs) {
		if world := r.world(); api[r.Group] && len(world) > 0 && r.admitsTCP(apiPort, apiPort) {
			out = append(out, Finding{Resource: r.URN, Message: fmt.Sprintf("the API load balancer admits %s to the Kubernetes API: anyone can try credentials and exploits against it. List the networks that need it in cluster.api.accessCidrs, or, if a public API is intended, acknowledge this finding in kinfra:acknowledgements with the reason", strings.Join(world, ", "))})
		}
	}
	return out
}

// masterGroups returns the security groups the masters' launch templates
// (tagged kinfra.dev/master-slot) put on the masters, plus any group named
// <…>-masters of the masters component; and the groups other machines carry.
func masterGroups(rs []mockaws.Resource) (masters, others map[string]bool) {
	masters, others = map[string]bool{}, map[string]bool{}
	for _, lt := range mockaws.OfType(rs, launchTemplate) {
		groups := strs(lt.Inputs["vpcSecurityGroupIds"])
		for _, ni := range mockaws.List(lt.Inputs["networkInterfaces"]) {
			groups = append(groups, strs(mockaws.Object(ni)["securityGroups"])...)
		}
		_, master := tags.Slot(mockaws.Tags(lt.Inputs))
		for _, g := range groups {
			if master {
				masters[g] = true
			} else {
				others[g] = true
			}
		}
	}
	for _, i := range mockaws.OfType(rs, instanceType) {
		for _, g := range append(strs(i.Inputs["vpcSecurityGroupIds"]), strs(i.Inputs["securityGroups"])...) {
			others[g] = true
		}
	}
	for _, ic := range mockaws.OfType(rs, infrastructureConfigType) {
		for _, g := range strs(ic.Inputs["securityGroupIds"]) {
			others[g] = true
		}
	}
	for _, sg := range mockaws.OfType(rs, securityGroupType) {
		t := mockaws.Tags(sg.Inputs)
		if t[tags.Component] == "masters" && strings.HasSuffix(t["Name"], "-"+string(ports.Masters)) {
			masters[sg.ID] = true
		}
	}
	return masters, others
}

// etcdMastersOnly flags every rule admitting etcd's ports into the masters'
// group from anything but that group itself, all-traffic rules included,
// and a self-referencing etcd rule on a group other machines share.
func etcdMastersOnly(rs []mockaws.Resource) []Finding {
	masters, others := masterGroups(rs)
	operators := map[string]bool{}
	for _, sg := range mockaws.OfType(rs, securityGroupType) {
		if mockaws.Tags(sg.Inputs)[tags.Role] == operatorsRole && !others[sg.ID] && !masters[sg.ID] {
			operators[sg.ID] = true
		}
	}
	var out []Finding
	for _, r := range ingressRules(rs) {
		if !masters[r.Group] || !r.admitsTCP(etcdClient, etcdPeer) {
			continue
		}
		// kinfra roll and kinfra etcd, from the operators' group, on
		// etcd's client port only (never the peer port).
		clientOnly := r.Protocol == "tcp" && r.From == etcdClient && r.To == etcdClient
		var from []string
		from = append(from, r.CIDRs...)
		from = append(from, r.PrefixLists...)
		for _, g := range r.Groups {
			if g != r.Group && !(operators[g] && clientOnly) {
				from = append(from, "security group "+g)
			}
		}
		switch {
		case len(from) > 0:
			sort.Strings(from)
			out = append(out, Finding{Resource: r.URN, Message: fmt.Sprintf("%s into the masters' security group from %s admits etcd (TCP 2379-2380): anyone there can read every Secret and rewrite the cluster's state. Admit etcd only from the masters' own group; give a wider rule port ranges that skip 2379-2380", r.ports(), strings.Join(from, ", "))})
		case others[r.Group]:
			out = append(out, Finding{Resource: r.URN, Message: fmt.Sprintf("this rule admits etcd (TCP 2379-2380) from the masters' security group %s, but machines other than the masters carry that group too; keep the masters' group for the masters only", r.Group)})
		}
	}
	return out
}

// strs returns the non-empty strings of a list input.
func strs(v any) []string { return nonEmpty(mockaws.Strings(v)...) }

func nonEmpty(values ...string) []string {
	var out []string
	for _, v := range values {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
