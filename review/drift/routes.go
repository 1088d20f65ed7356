package drift

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/inventory"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// routeTargets are the route inputs that name its target.
var routeTargets = []string{"natGatewayId", "gatewayId", "egressOnlyGatewayId", "transitGatewayId",
	"vpcPeeringConnectionId", "networkInterfaceId", "vpcEndpointId", "carrierGatewayId", "localGatewayId"}

// routeDestinations are the route inputs that name its destination.
var routeDestinations = []string{"destinationCidrBlock", "destinationIpv6CidrBlock", "destinationPrefixListId"}

// parentOf resolves a child's parent reference to the matched live
// resource; nil when the parent is missing (reported itself) or is not a
// plan resource.
func (c *comparison) parentOf(pr *planned, key string) *live {
	c.use(pr.r.Type, key)
	if p, ok := c.byRef[mockaws.Str(pr.r.Inputs[key])]; ok {
		return p.live
	}
	return nil
}

// compareRouteTables compares the plan's routes and associations with
// their tables' and reports the tables' unplanned ones.
func (c *comparison) compareRouteTables() {
	seenRoutes := map[*inventory.RouteTable]map[string]bool{}
	seenSubnets := map[*inventory.RouteTable]map[string]bool{}
	for _, pr := range c.byType[tRoute] {
		parent := c.parentOf(pr, "routeTableId")
		if parent == nil {
			continue
		}
		t := parent.obj.(*inventory.RouteTable)
		if seenRoutes[t] == nil {
			seenRoutes[t] = map[string]bool{}
		}
		c.use(tRoute, routeDestinations...)
		dest := ""
		for _, k := range routeDestinations {
			if v := mockaws.Str(pr.r.Inputs[k]); v != "" {
				dest = v
			}
		}
		dest, ok := c.cidr(dest)
		if !ok {
			continue
		}
		seenRoutes[t][dest] = true
		i := slices.IndexFunc(t.Routes, func(r inventory.Route) bool { return r.Destination() == dest })
		if i < 0 {
			c.add(Drift{Kind: Missing, Type: tRoute, Name: pr.name, Path: "routes", Plan: dest,
				Message: fmt.Sprintf("route table %s has no route to %s", parent.name, dest)})
			continue
		}
		pr.live = &live{typ: tRoute, id: t.ID + "/" + dest}
		c.matches = append(c.matches, Match{Type: tRoute, Name: pr.name, ID: pr.live.id})
		c.use(tRoute, routeTargets...)
		for _, k := range routeTargets {
			v := mockaws.Str(pr.r.Inputs[k])
			if v == "" {
				continue
			}
			want, st := c.ref(v)
			switch st {
			case dangling:
				continue
			case unknowable:
				// A target of a type drift does not read (an egress-only
				// internet gateway): its kind is compared, from its ID's
				// prefix.
				c.attr(pr, k, idKind(v)+"-…", idKind(t.Routes[i].Target)+"-…")
				continue
			}
			c.attr(pr, k, want, t.Routes[i].Target)
		}
	}
	for _, pr := range c.byType[tAssociation] {
		parent := c.parentOf(pr, "routeTableId")
		subnet, st := c.ref(mockaws.Str(pr.r.Inputs["subnetId"]))
		c.use(tAssociation, "subnetId", "gatewayId")
		if parent == nil || st == dangling || subnet == "" {
			continue
		}
		t := parent.obj.(*inventory.RouteTable)
		if seenSubnets[t] == nil {
			seenSubnets[t] = map[string]bool{}
		}
		seenSubnets[t][subnet] = true
		if !slices.Contains(t.SubnetIDs, subnet) {
			c.add(Drift{Kind: Missing, Type: tAssociation, Name: pr.name, Path: "subnetIds", Plan: subnet,
				Message: fmt.Sprintf("subnet %s is not associated with route table %s", subnet, parent.name)})
			continue
		}
		pr.live = &live{typ: tAssociation, id: t.ID + "/" + subnet}
		c.matches = append(c.matches, Match{Type: tAssociation, Name: pr.name, ID: pr.live.id})
	}
	for _, pr := range c.byType[tRouteTable] {
		if pr.live == nil {
			continue
		}
		t := pr.live.obj.(*inventory.RouteTable)
		for _, r := range t.Routes {
			if seenRoutes[t][r.Destination()] || c.awsRoute(t, r) {
				continue
			}
			c.add(Drift{Kind: Unplanned, Type: tRoute, Name: pr.name, ID: t.ID, Path: "routes", Live: r.Destination() + " → " + r.Target,
				Message: fmt.Sprintf("route table %s has a route to %s that the plan does not have", pr.name, r.Destination())})
		}
		for _, s := range t.SubnetIDs {
			if !seenSubnets[t][s] {
				c.add(Drift{Kind: Unplanned, Type: tAssociation, Name: pr.name, ID: t.ID, Path: "subnetIds", Live: s,
					Message: fmt.Sprintf("subnet %s is associated with route table %s outside the plan", s, pr.name)})
			}
		}
	}
}

// awsRoute is a route the plan does not declare because AWS adds it: the
// VPC's local routes, and the routes of a gateway endpoint that lists the
// table (compared as the endpoint's routeTableIds).
func (c *comparison) awsRoute(t *inventory.RouteTable, r inventory.Route) bool {
	if r.Target == "local" {
		return true
	}
	for _, e := range c.inv.Endpoints {
		if e.ID == r.Target && slices.Contains(e.RouteTableIDs, t.ID) {
			return true
		}
	}
	return false
}

// idKind is an AWS ID's kind: its prefix (eigw-0123… → eigw).
func idKind(id string) string {
	if i := strings.Index(id, "-"); i > 0 {
		return id[:i]
	}
	return id
}

// compareListeners compares the plan's listeners with their load
// balancers' by port, and reports the load balancers' unplanned ones.
func (c *comparison) compareListeners() {
	seen := map[*inventory.LoadBalancer]map[int32]bool{}
	for _, pr := range c.byType[tListener] {
		parent := c.parentOf(pr, "loadBalancerArn")
		if parent == nil {
			continue
		}
		lb := parent.obj.(*inventory.LoadBalancer)
		if seen[lb] == nil {
			seen[lb] = map[int32]bool{}
		}
		c.use(tListener, "port", "protocol", "defaultActions[].type", "defaultActions[].targetGroupArn")
		port := int32(num64(pr.r.Inputs["port"]))
		seen[lb][port] = true
		i := slices.IndexFunc(lb.Listeners, func(l inventory.Listener) bool { return l.Port == port })
		if i < 0 {
			c.add(Drift{Kind: Missing, Type: tListener, Name: pr.name, Path: "listeners", Plan: num(port),
				Message: fmt.Sprintf("load balancer %s has no listener on port %d", parent.name, port)})
			continue
		}
		l := lb.Listeners[i]
		pr.live = &live{typ: tListener, id: l.ARN}
		c.matches = append(c.matches, Match{Type: tListener, Name: pr.name, ID: l.ARN})
		c.attrIf(pr, "protocol", l.Protocol)
		var tgs []string
		for _, a := range list(pr.r.Inputs["defaultActions"]) {
			if v := mockaws.Str(a["targetGroupArn"]); v != "" {
				tgs = append(tgs, v)
			}
		}
		c.attr(pr, "defaultActions[].targetGroupArn", setText(c.refs(tgs)), setText(l.TargetGroupARNs))
	}
	for _, pr := range c.byType[tLB] {
		if pr.live == nil {
			continue
		}
		lb := pr.live.obj.(*inventory.LoadBalancer)
		for _, l := range lb.Listeners {
			if !seen[lb][l.Port] {
				c.add(Drift{Kind: Unplanned, Type: tListener, Name: pr.name, ID: l.ARN, Path: "listeners",
					Live:    fmt.Sprintf("%s %d", l.Protocol, l.Port),
					Message: fmt.Sprintf("load balancer %s has a listener on port %d that the plan does not have", pr.name, l.Port)})
			}
		}
	}
}

// num64 reads a number input.
func num64(v any) int64 {
	switch v := v.(type) {
	case float64:
		return int64(v)
	case int:
		return int64(v)
	}
	return -1
}
