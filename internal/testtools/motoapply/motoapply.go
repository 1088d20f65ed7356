// Package motoapply creates a kinfra plan's network, security groups,
// launch templates, groups and load balancer in moto_server the way `pulumi
// up` would create them in AWS: test support for `kinfra drift`, whose proof
// needs a live account that matches a plan exactly. Pulumi's provider
// plugins cannot run offline, so this package makes the AWS calls the
// Pulumi AWS provider (terraform-provider-aws) makes on create, with the
// same inputs and the same provider behaviour (autonamed resources, the
// security group's default egress revoked). Tests only: production code
// never imports it.
package motoapply

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	pulumiresource "github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// Applied is what Apply created.
type Applied struct {
	// Live maps each created resource's URN to the ID Pulumi would record
	// for it: the EC2 ID (vpc-…, sg-…, sgr-…, lt-…, rtbassoc-…), the ARN
	// of a load balancer, target group or listener, the name of an Auto
	// Scaling group, and "<route table>_<destination>" for a route (the
	// provider's import ID; EC2 gives routes no ID).
	Live map[string]string
	// Names are the physical names given to resources that have one
	// (security groups, launch templates, groups, load balancers, target
	// groups): the plan's name input, else Pulumi's autoname.
	Names map[string]string
	// Skipped lists, never silently, what was not created as the plan
	// says: a whole resource (Field empty) or one input of it.
	Skipped []Skip
	// Prepared lists what Apply created that the plan does not but
	// assumes the account has (an existing S3 bucket flow logs go to).
	Prepared []string
}

// Skip is something of the plan Apply did not reproduce, and why.
type Skip struct {
	URN string
	// Field is the input left out; empty when the whole resource was.
	Field  string
	Reason string
}

// Types are the resource types Apply creates: those `kinfra drift`
// compares, and the egress-only internet gateway, which drift does not
// compare but the IPv6 routes it does compare lead to.
var Types = []string{
	"aws:ec2/vpc:Vpc",
	"aws:ec2/subnet:Subnet",
	"aws:ec2/internetGateway:InternetGateway",
	"aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
	"aws:ec2/eip:Eip",
	"aws:ec2/natGateway:NatGateway",
	"aws:ec2/routeTable:RouteTable",
	"aws:ec2/route:Route",
	"aws:ec2/routeTableAssociation:RouteTableAssociation",
	"aws:ec2/vpcEndpoint:VpcEndpoint",
	"aws:ec2/securityGroup:SecurityGroup",
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
	"aws:ec2/launchTemplate:LaunchTemplate",
	"aws:autoscaling/group:Group",
	"aws:lb/loadBalancer:LoadBalancer",
	"aws:lb/targetGroup:TargetGroup",
	"aws:lb/listener:Listener",
	"aws:ec2/flowLog:FlowLog",
}

// applier holds the clients and what has been created so far.
type applier struct {
	ec2 *ec2.Client
	asg *autoscaling.Client
	elb *elbv2.Client
	s3  *s3.Client
	// live maps a mock ID or mock ARN to moto's, for every resource
	// created so far.
	live map[string]string
	// ipv6 maps a mock VPC's IPv6 block to the block moto gave the VPC:
	// subnets' and rules' IPv6 CIDRs are carved from it.
	ipv6 map[netip.Prefix]netip.Prefix
	out  *Applied
}

// created is what one resource's create returned.
type created struct {
	// id is what Pulumi records as its ID; arn its ARN, when references
	// to it use the ARN (load balancers, target groups).
	id, arn string
	// name is its physical name, when it has one.
	name string
}

// Apply creates, in moto_server (or any endpoint cfg points at), every
// resource of the plan of a type in Types, each after the resources its
// inputs name, with those references turned from the mock's IDs and ARNs
// into moto's. Inputs naming resources of other types (instance profiles,
// images, log groups, roles, KMS keys, volumes) are passed as they are:
// moto accepts them without checking.
func Apply(ctx context.Context, cfg aws.Config, resources []mockaws.Resource) (*Applied, error) {
	a := &applier{
		ec2: ec2.NewFromConfig(cfg),
		asg: autoscaling.NewFromConfig(cfg),
		elb: elbv2.NewFromConfig(cfg),
		// Path-style: a local endpoint has no bucket subdomains.
		s3:   s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		live: map[string]string{},
		ipv6: map[netip.Prefix]netip.Prefix{},
		out:  &Applied{Live: map[string]string{}, Names: map[string]string{}},
	}
	order, err := createOrder(resources)
	if err != nil {
		return nil, err
	}
	for _, r := range order {
		in := a.translate(r.Inputs).(map[string]any)
		c, err := a.create(ctx, r, newInputs(in))
		if err != nil {
			return a.out, fmt.Errorf("creating %s: %w", r.URN, err)
		}
		a.out.Live[r.URN] = c.id
		if c.name != "" {
			a.out.Names[r.URN] = c.name
		}
		if r.ID != "" {
			a.live[r.ID] = c.id
		}
		if mockARN, ok := r.State["arn"].(string); ok && c.arn != "" {
			a.live[mockARN] = c.arn
		}
	}
	return a.out, nil
}

func (a *applier) create(ctx context.Context, r mockaws.Resource, in *inputs) (created, error) {
	var c created
	var err error
	switch r.Type {
	case "aws:ec2/vpc:Vpc":
		c, err = a.vpc(ctx, r, in)
	case "aws:ec2/subnet:Subnet":
		c, err = a.subnet(ctx, in)
	case "aws:ec2/internetGateway:InternetGateway":
		c, err = a.internetGateway(ctx, in)
	case "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway":
		c, err = a.egressOnlyGateway(ctx, in)
	case "aws:ec2/eip:Eip":
		c, err = a.eip(ctx, in)
	case "aws:ec2/natGateway:NatGateway":
		c, err = a.natGateway(ctx, in)
	case "aws:ec2/routeTable:RouteTable":
		c, err = a.routeTable(ctx, in)
	case "aws:ec2/route:Route":
		c, err = a.route(ctx, in)
	case "aws:ec2/routeTableAssociation:RouteTableAssociation":
		c, err = a.routeTableAssociation(ctx, in)
	case "aws:ec2/vpcEndpoint:VpcEndpoint":
		c, err = a.vpcEndpoint(ctx, in)
	case "aws:ec2/securityGroup:SecurityGroup":
		c, err = a.securityGroup(ctx, r, in)
	case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
		c, err = a.securityGroupRule(ctx, in, false)
	case "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":
		c, err = a.securityGroupRule(ctx, in, true)
	case "aws:ec2/launchTemplate:LaunchTemplate":
		c, err = a.launchTemplate(ctx, r, in)
	case "aws:autoscaling/group:Group":
		c, err = a.autoScalingGroup(ctx, r, in)
	case "aws:lb/loadBalancer:LoadBalancer":
		c, err = a.loadBalancer(ctx, r, in)
	case "aws:lb/targetGroup:TargetGroup":
		c, err = a.targetGroup(ctx, r, in)
	case "aws:lb/listener:Listener":
		c, err = a.listener(ctx, in)
	case "aws:ec2/flowLog:FlowLog":
		c, err = a.flowLog(ctx, r, in)
	default:
		return c, fmt.Errorf("motoapply does not create %s", r.Type)
	}
	if err != nil {
		return c, err
	}
	// An input no case read would be a part of the plan silently dropped.
	if left := in.unread(); len(left) > 0 {
		return c, fmt.Errorf("inputs %s of %s are not applied: teach motoapply them", strings.Join(left, ", "), r.Type)
	}
	return c, nil
}

// skip records an input left out, and why.
func (a *applier) skip(urn, field, reason string) {
	a.out.Skipped = append(a.out.Skipped, Skip{URN: urn, Field: field, Reason: reason})
}

// createOrder is the plan's resources of the applied types, each after
// those it depends on (its recorded dependencies, and any resource whose
// mock ID or ARN its inputs hold), and otherwise in plan order: the order
// the engine may create them in.
func createOrder(resources []mockaws.Resource) ([]mockaws.Resource, error) {
	var todo []mockaws.Resource
	applied := map[string]bool{}
	byRef := map[string]string{} // mock ID or ARN → URN
	for _, r := range resources {
		if !slices.Contains(Types, r.Type) {
			continue
		}
		todo = append(todo, r)
		applied[r.URN] = true
		if r.ID != "" {
			byRef[r.ID] = r.URN
		}
		if arn, ok := r.State["arn"].(string); ok {
			byRef[arn] = r.URN
		}
	}
	deps := map[string]map[string]bool{}
	for _, r := range todo {
		d := map[string]bool{}
		for _, u := range r.Options.Dependencies {
			d[u] = true
		}
		walkStrings(r.Inputs, func(s string) {
			if u, ok := byRef[s]; ok && u != r.URN {
				d[u] = true
			}
		})
		deps[r.URN] = d
	}
	done := map[string]bool{}
	var order []mockaws.Resource
	for len(todo) > 0 {
		var next []mockaws.Resource
		for _, r := range todo {
			ready := true
			for u := range deps[r.URN] {
				if applied[u] && !done[u] {
					ready = false
				}
			}
			if ready {
				order = append(order, r)
				done[r.URN] = true
			} else {
				next = append(next, r)
			}
		}
		if len(next) == len(todo) {
			var urns []string
			for _, r := range next {
				urns = append(urns, r.URN)
			}
			return nil, fmt.Errorf("the plan's resources depend on each other in a cycle: %s", strings.Join(urns, ", "))
		}
		todo = next
	}
	return order, nil
}

func walkStrings(v any, f func(string)) {
	switch v := v.(type) {
	case string:
		f(v)
	case map[string]any:
		for _, e := range v {
			walkStrings(e, f)
		}
	case []any:
		for _, e := range v {
			walkStrings(e, f)
		}
	}
}

// translate is v with every mock ID and ARN of a created resource replaced
// by moto's, and every IPv6 CIDR carved from a mock VPC's block moved into
// the block moto gave that VPC.
func (a *applier) translate(v any) any {
	switch v := v.(type) {
	case string:
		if live, ok := a.live[v]; ok {
			return live
		}
		return a.rebaseIPv6(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = a.translate(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = a.translate(e)
		}
		return out
	}
	return v
}

// rebaseIPv6 moves an IPv6 CIDR inside a mock VPC's block to the same
// offset in moto's block for that VPC; anything else is returned as is.
func (a *applier) rebaseIPv6(s string) string {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is6() {
		return s
	}
	for mock, live := range a.ipv6 {
		if p.Bits() < mock.Bits() || !mock.Contains(p.Addr()) {
			continue
		}
		l, addr := live.Addr().As16(), p.Addr().As16()
		// Take moto's bits down to the VPC's prefix length, keep the rest.
		for i := range addr {
			bits := min(max(mock.Bits()-8*i, 0), 8)
			mask := byte(0xff << (8 - bits))
			addr[i] = l[i]&mask | addr[i]&^mask
		}
		return netip.PrefixFrom(netip.AddrFrom16(addr), p.Bits()).String()
	}
	return s
}

// physicalName is the resource's name input or, when unset, the name
// Pulumi autonames it with: its logical name, a dash and seven random hex
// digits, within the service's limit (the Pulumi SDK's own function, as
// the provider calls it).
func physicalName(r mockaws.Resource, in *inputs, maxLen int) (string, error) {
	if name := in.str("name"); name != "" {
		return name, nil
	}
	return pulumiresource.NewUniqueName(nil, r.Name+"-", 7, maxLen, nil)
}
