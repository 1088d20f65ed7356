package drift

import (
	"strings"

	"github.com/kinfra-dev/kinfra/internal/inventory"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// compareTop compares a matched top-level resource's own attributes (not
// its children: routes, associations, rules and listeners are compared
// through their parents afterwards).
var compareTop = map[string]func(*comparison, *planned){
	tVPC:        (*comparison).vpc,
	tSubnet:     (*comparison).subnet,
	tIGW:        (*comparison).internetGateway,
	tEIP:        (*comparison).address,
	tNAT:        (*comparison).natGateway,
	tRouteTable: (*comparison).routeTable,
	tEndpoint:   (*comparison).endpoint,
	tSG:         (*comparison).securityGroup,
	tLT:         (*comparison).launchTemplate,
	tASG:        (*comparison).autoScalingGroup,
	tLB:         (*comparison).loadBalancer,
	tTG:         (*comparison).targetGroup,
	tFlowLog:    (*comparison).flowLog,
}

func (c *comparison) vpc(pr *planned) {
	v := pr.live.obj.(*inventory.VPC)
	c.attrIf(pr, "cidrBlock", v.Cidr)
	c.attrIf(pr, "enableDnsSupport", boolText(v.EnableDNSSupport))
	c.attrIf(pr, "enableDnsHostnames", boolText(v.EnableDNSHostnames))
	// The block itself is Amazon's pick; whether there is one is the plan's.
	c.attr(pr, "assignGeneratedIpv6CidrBlock", boolText(truthy(pr.r.Inputs["assignGeneratedIpv6CidrBlock"])), boolText(len(v.Ipv6Cidrs) > 0))
	c.tagDrift(pr, v.Tags)
}

func (c *comparison) subnet(pr *planned) {
	s := pr.live.obj.(*inventory.Subnet)
	c.ref1(pr, "vpcId", s.VpcID)
	c.attrIf(pr, "cidrBlock", s.Cidr)
	c.attrIf(pr, "availabilityZone", s.AvailabilityZone)
	c.attr(pr, "mapPublicIpOnLaunch", boolText(truthy(pr.r.Inputs["mapPublicIpOnLaunch"])), boolText(s.MapPublicIPOnLaunch))
	c.use(tSubnet, "ipv6CidrBlock")
	if v := mockaws.Str(pr.r.Inputs["ipv6CidrBlock"]); v != "" {
		if want, ok := c.cidr(v); ok {
			c.attr(pr, "ipv6CidrBlock", want, s.Ipv6Cidr)
		}
	}
	c.tagDrift(pr, s.Tags)
}

func (c *comparison) internetGateway(pr *planned) {
	g := pr.live.obj.(*inventory.InternetGateway)
	c.use(tIGW, "vpcId")
	if v, st := c.ref(mockaws.Str(pr.r.Inputs["vpcId"])); st != dangling && v != "" {
		c.attr(pr, "vpcId", v, setText(g.VpcIDs))
	}
	c.tagDrift(pr, g.Tags)
}

func (c *comparison) address(pr *planned) {
	c.tagDrift(pr, pr.live.obj.(*inventory.Address).Tags)
}

func (c *comparison) natGateway(pr *planned) {
	n := pr.live.obj.(*inventory.NatGateway)
	c.ref1(pr, "subnetId", n.SubnetID)
	c.ref1(pr, "allocationId", n.AllocationID)
	c.attrOr(pr, "connectivityType", "public", n.ConnectivityType)
	c.tagDrift(pr, n.Tags)
}

func (c *comparison) routeTable(pr *planned) {
	t := pr.live.obj.(*inventory.RouteTable)
	c.ref1(pr, "vpcId", t.VpcID)
	c.tagDrift(pr, t.Tags)
}

func (c *comparison) endpoint(pr *planned) {
	e := pr.live.obj.(*inventory.Endpoint)
	c.ref1(pr, "vpcId", e.VpcID)
	c.attrIf(pr, "serviceName", e.ServiceName)
	c.attrOr(pr, "vpcEndpointType", "Gateway", e.Type)
	c.set(pr, "routeTableIds", e.RouteTableIDs)
	c.set(pr, "subnetIds", e.SubnetIDs)
	c.set(pr, "securityGroupIds", e.SecurityGroupIDs)
	c.attrIf(pr, "privateDnsEnabled", boolText(e.PrivateDNSEnabled))
	c.tagDrift(pr, e.Tags)
}

func (c *comparison) flowLog(pr *planned) {
	f := pr.live.obj.(*inventory.FlowLog)
	for _, k := range []string{"vpcId", "subnetId", "eniId"} {
		if _, ok := pr.r.Inputs[k]; ok {
			c.ref1(pr, k, f.ResourceID)
		}
	}
	c.attrIf(pr, "trafficType", f.TrafficType)
	c.attrOr(pr, "logDestinationType", "cloud-watch-logs", f.DestinationType)
	c.use(tFlowLog, "logDestination", "logGroupName")
	dest := mockaws.Str(pr.r.Inputs["logDestination"])
	if dest == "" {
		dest = mockaws.Str(pr.r.Inputs["logGroupName"])
	}
	if dest != "" {
		// A log group is compared by name: the plan's ARN holds the
		// offline placeholder account.
		c.attr(pr, "logDestination", logGroupName(dest), logGroupName(f.Destination))
	}
	c.tagDrift(pr, f.Tags)
}

// logGroupName is a CloudWatch Logs destination's group name, from its ARN
// (arn:…:log-group:NAME[:*]) or as given; other destinations unchanged.
func logGroupName(dest string) string {
	if i := strings.Index(dest, ":log-group:"); i >= 0 {
		return strings.TrimSuffix(dest[i+len(":log-group:"):], ":*")
	}
	return dest
}

// truthy reads a boolean input, which some providers' schemas hold as the
// string "true".
func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}
