package drift

import (
	"fmt"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/inventory"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

func (c *comparison) securityGroup(pr *planned) {
	g := pr.live.obj.(*inventory.SecurityGroup)
	c.ref1(pr, "vpcId", g.VpcID)
	c.attrIf(pr, "description", g.Description)
	c.tagDrift(pr, g.Tags)
}

// rule is one planned security group rule with one peer, as the account
// holds rules (a permission with two CIDRs is two rules).
type rule struct {
	// pr is the rule resource; nil for a rule inline in its group.
	pr      *planned
	egress  bool
	proto   string
	from    int64
	to      int64
	peer    string
	descr   string
	matched bool
}

func (r rule) key() string {
	return fmt.Sprintf("%s|%s|%s", r.proto, ports(r.proto, r.from, r.to), r.peer)
}

// text renders a rule: "tcp 443 from 10.0.0.0/8", "all traffic to ::/0".
func (r rule) text() string {
	dir := "from"
	if r.egress {
		dir = "to"
	}
	if r.proto == "-1" {
		return fmt.Sprintf("all traffic %s %s", dir, r.peer)
	}
	return fmt.Sprintf("%s %s %s %s", r.proto, ports(r.proto, r.from, r.to), dir, r.peer)
}

func liveRule(l inventory.Rule, egress bool) rule {
	return rule{egress: egress, proto: protocol(l.Protocol), from: int64(l.FromPort), to: int64(l.ToPort), peer: l.Peer(), descr: l.Description}
}

// protocol is a protocol as the account gives it: tcp, udp and icmp by
// name, all as -1, any other by number (icmpv6 is 58).
func protocol(p string) string {
	switch p = strings.ToLower(p); p {
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "1":
		return "icmp"
	case "icmpv6":
		return "58"
	case "all", "":
		return "-1"
	}
	return p
}

// ports renders a rule's port range; all protocols have none.
func ports(proto string, from, to int64) string {
	switch {
	case proto == "-1" || (from == -1 && to == -1):
		return "all"
	case from == to:
		return fmt.Sprint(from)
	}
	return fmt.Sprintf("%d-%d", from, to)
}

// planRules are a group's planned rules: its rule resources and its inline
// ingress and egress blocks. A rule whose peer is a missing group (reported
// itself) is left out.
func (c *comparison) planRules(sg *planned) (out []rule) {
	for _, typ := range []string{tIngress, tEgress} {
		for _, pr := range c.byType[typ] {
			if p, ok := c.byRef[mockaws.Str(pr.r.Inputs["securityGroupId"])]; !ok || p != sg {
				continue
			}
			c.use(typ, "securityGroupId", "ipProtocol", "fromPort", "toPort", "cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId", "description")
			r := rule{pr: pr, egress: typ == tEgress, proto: protocol(text(pr.r.Inputs["ipProtocol"])),
				from: num64(pr.r.Inputs["fromPort"]), to: num64(pr.r.Inputs["toPort"]), descr: mockaws.Str(pr.r.Inputs["description"])}
			var ok bool
			switch {
			case pr.r.Inputs["referencedSecurityGroupId"] != nil:
				var st refState
				r.peer, st = c.ref(mockaws.Str(pr.r.Inputs["referencedSecurityGroupId"]))
				ok = st != dangling
			case pr.r.Inputs["cidrIpv6"] != nil:
				r.peer, ok = c.cidr(mockaws.Str(pr.r.Inputs["cidrIpv6"]))
			default:
				r.peer, ok = text(pr.r.Inputs["cidrIpv4"])+mockaws.Str(pr.r.Inputs["prefixListId"]), true
			}
			if ok {
				out = append(out, r)
			}
		}
	}
	for _, dir := range []string{"ingress", "egress"} {
		c.use(tSG, dir+"[].protocol", dir+"[].fromPort", dir+"[].toPort", dir+"[].cidrBlocks", dir+"[].ipv6CidrBlocks",
			dir+"[].prefixListIds", dir+"[].securityGroups", dir+"[].self", dir+"[].description")
		for _, b := range list(sg.r.Inputs[dir]) {
			base := rule{egress: dir == "egress", proto: protocol(text(b["protocol"])), from: num64(b["fromPort"]), to: num64(b["toPort"]), descr: mockaws.Str(b["description"])}
			var peers []string
			for _, p := range append(mockaws.Strings(b["cidrBlocks"]), mockaws.Strings(b["ipv6CidrBlocks"])...) {
				if v, ok := c.cidr(p); ok {
					peers = append(peers, v)
				}
			}
			peers = append(peers, mockaws.Strings(b["prefixListIds"])...)
			peers = append(peers, c.refs(mockaws.Strings(b["securityGroups"]))...)
			if truthy(b["self"]) {
				peers = append(peers, sg.live.id)
			}
			for _, p := range peers {
				r := base
				r.peer = p
				out = append(out, r)
			}
		}
	}
	return out
}

// compareSecurityGroups pairs each matched group's planned rules with its
// live ones: by Name tag where the live rule has one, else by content
// (protocol, ports, peer). Planned rules left are missing; live rules left
// are unplanned, unless a Kubernetes controller made them.
func (c *comparison) compareSecurityGroups() {
	for _, sg := range c.byType[tSG] {
		if sg.live == nil {
			continue
		}
		g := sg.live.obj.(*inventory.SecurityGroup)
		planned := c.planRules(sg)
		for _, egress := range []bool{false, true} {
			liveRules := g.Ingress
			if egress {
				liveRules = g.Egress
			}
			used := make([]bool, len(liveRules))
			pair := func(ok func(p rule, l inventory.Rule) bool) {
				for i := range planned {
					p := &planned[i]
					if p.matched || p.egress != egress {
						continue
					}
					for j, l := range liveRules {
						if !used[j] && ok(*p, l) {
							used[j], p.matched = true, true
							c.compareRule(sg, *p, l)
							break
						}
					}
				}
			}
			pair(func(p rule, l inventory.Rule) bool { return p.pr != nil && l.Tags["Name"] == p.pr.name })
			pair(func(p rule, l inventory.Rule) bool { return p.key() == liveRule(l, egress).key() })
			for j, l := range liveRules {
				if used[j] || c.controllerRule(l) {
					continue
				}
				typ, name, dir := tIngress, sg.name, "ingress"
				if egress {
					typ, dir = tEgress, "egress"
				}
				c.add(Drift{Kind: Unplanned, Type: typ, Name: name, ID: l.ID, Path: dir, Live: liveRule(l, egress).text(),
					Message: fmt.Sprintf("security group %s has an %s rule the plan does not have%s", sg.name, dir, nameNote(l))})
			}
		}
		for _, p := range planned {
			if p.matched {
				continue
			}
			typ, name, path := tSG, sg.name, "ingress"
			if p.egress {
				path = "egress"
			}
			if p.pr != nil {
				typ, name, path = p.pr.r.Type, p.pr.name, ""
			}
			c.add(Drift{Kind: Missing, Type: typ, Name: name, Path: path, Plan: p.text(),
				Message: fmt.Sprintf("security group %s lacks the rule %s", sg.name, p.text())})
		}
	}
}

func nameNote(l inventory.Rule) string {
	if n := l.Tags["Name"]; n != "" {
		return " (Name " + n + ")"
	}
	return ""
}

// compareRule compares a matched rule.
func (c *comparison) compareRule(sg *planned, p rule, l inventory.Rule) {
	lr := liveRule(l, p.egress)
	if p.pr == nil {
		// Inline: matched by content, so only the description can differ.
		if p.descr != lr.descr {
			dir := "ingress"
			if p.egress {
				dir = "egress"
			}
			c.add(Drift{Kind: Changed, Type: tSG, Name: sg.name, ID: l.ID, Path: dir + "[" + p.text() + "].description",
				Plan: p.descr, Live: lr.descr, Message: "the rule's description differs from the plan"})
		}
		return
	}
	pr := p.pr
	pr.live = &live{typ: pr.r.Type, id: l.ID, tags: l.Tags}
	c.matches = append(c.matches, Match{Type: pr.r.Type, Name: pr.name, ID: l.ID})
	c.attr(pr, "ipProtocol", p.proto, lr.proto)
	c.attr(pr, "ports", ports(p.proto, p.from, p.to), ports(lr.proto, lr.from, lr.to))
	c.attr(pr, "peer", p.peer, lr.peer)
	if _, ok := pr.r.Inputs["description"]; ok {
		c.attr(pr, "description", p.descr, lr.descr)
	}
	c.tagDrift(pr, l.Tags)
}

// controllerRule is a rule the Kubernetes cloud controller manager adds to
// the nodes' groups for a Service of type LoadBalancer: for a network load
// balancer, rules described kubernetes.io/rule/nlb/{client,health,mtu}=…;
// for a classic one, a rule admitting its own group, named k8s-elb-…
// (kubernetes/cloud-provider-aws, pkg/providers/v1/aws_loadbalancer.go and
// aws.go). kinfra installs that controller; the rules follow the Services.
func (c *comparison) controllerRule(l inventory.Rule) bool {
	if strings.HasPrefix(l.Description, "kubernetes.io/rule/nlb/") {
		return true
	}
	if l.ReferencedGroupID == "" {
		return false
	}
	for _, g := range c.inv.SecurityGroups {
		if g.ID == l.ReferencedGroupID && strings.HasPrefix(g.Name, "k8s-elb-") {
			return true
		}
	}
	return false
}
