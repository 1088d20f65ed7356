package importer

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/cidr"
	"github.com/kinfra-dev/kinfra/internal/inventory"
	"github.com/kinfra-dev/kinfra/internal/yamldoc"
	"github.com/kinfra-dev/kinfra/spec"
)

// network is the cluster's network as the import found it.
type network struct {
	spec yamldoc.Map
	// zones in the stack's order, and each zone's node (private) subnet.
	zones        []string
	nodeSubnet   map[string]inventory.Subnet
	publicSubnet map[string]inventory.Subnet
}

// tiers sorts the VPC's subnets into public (a default route to an internet
// gateway) and private, each keyed by zone, one per zone: the one the
// groups use, else the largest, else the lowest.
func (b *builder) tiers() (private, public map[string]inventory.Subnet, extra []inventory.Subnet) {
	used := map[string]int{}
	for _, g := range b.inv.AutoScalingGroups {
		for _, id := range g.SubnetIDs {
			used[id]++
		}
	}
	for _, n := range b.inv.NatGateways {
		used[n.SubnetID]++
	}
	better := func(a, c inventory.Subnet) bool { // a better than c
		if used[a.ID] != used[c.ID] {
			return used[a.ID] > used[c.ID]
		}
		pa, pc := netip.MustParsePrefix(a.Cidr), netip.MustParsePrefix(c.Cidr)
		if pa.Bits() != pc.Bits() {
			return pa.Bits() < pc.Bits()
		}
		return pa.Addr().Less(pc.Addr())
	}
	private, public = map[string]inventory.Subnet{}, map[string]inventory.Subnet{}
	for _, s := range b.inv.Subnets {
		if _, err := netip.ParsePrefix(s.Cidr); err != nil || s.VpcID != b.vpc.ID {
			continue
		}
		tier := private
		if b.isPublic(s) {
			tier = public
		}
		if cur, ok := tier[s.AvailabilityZone]; ok {
			if better(s, cur) {
				extra = append(extra, cur)
				tier[s.AvailabilityZone] = s
			} else {
				extra = append(extra, s)
			}
			continue
		}
		tier[s.AvailabilityZone] = s
	}
	return private, public, extra
}

// routeTable is the table a subnet uses: its explicit association, else the
// VPC's main table.
func (b *builder) routeTable(subnetID string) (inventory.RouteTable, bool) {
	var main *inventory.RouteTable
	for i, rt := range b.inv.RouteTables {
		if slices.Contains(rt.SubnetIDs, subnetID) {
			return rt, true
		}
		if rt.Main && rt.VpcID == b.vpc.ID {
			main = &b.inv.RouteTables[i]
		}
	}
	if main != nil {
		return *main, false
	}
	return inventory.RouteTable{}, false
}

func defaultRoute(rt inventory.RouteTable) string {
	for _, r := range rt.Routes {
		if r.DestinationCidr == "0.0.0.0/0" {
			return r.Target
		}
	}
	return ""
}

// isPublic tells a public subnet: its default route goes to an internet
// gateway. Gateways are looked up, not told by their ID's prefix: a
// template's IDs are logical IDs.
func (b *builder) isPublic(s inventory.Subnet) bool {
	rt, _ := b.routeTable(s.ID)
	target := defaultRoute(rt)
	for _, g := range b.inv.InternetGateways {
		if g.ID == target {
			return true
		}
	}
	return false
}

// isEndpoint tells an endpoint's ID, whose routes (to a gateway endpoint's
// prefix list) AWS adds itself.
func (b *builder) isEndpoint(id string) bool {
	for _, e := range b.inv.Endpoints {
		if e.ID == id {
			return true
		}
	}
	return false
}

func (b *builder) network() (*network, error) {
	private, public, extra := b.tiers()
	if len(private) == 0 {
		return nil, fmt.Errorf("VPC %s has no private subnet (one whose default route is not an internet gateway) for the nodes", b.vpc.ID)
	}
	if len(private) > spec.MaxZones {
		return nil, fmt.Errorf("VPC %s has private subnets in %d zones; kinfra spreads a cluster over at most %d", b.vpc.ID, len(private), spec.MaxZones)
	}
	// Zones in the order of their private subnets' addresses: kinfra carves
	// a zone's blocks by its position.
	n := &network{nodeSubnet: private, publicSubnet: public}
	for z := range private {
		n.zones = append(n.zones, z)
	}
	sort.Slice(n.zones, func(i, j int) bool {
		return netip.MustParsePrefix(private[n.zones[i]].Cidr).Addr().Less(netip.MustParsePrefix(private[n.zones[j]].Cidr).Addr())
	})
	for _, s := range extra {
		b.unexpressed("subnet", s.ID, "%s in %s is a second subnet of its tier in its zone; kinfra has one private and one public subnet per zone and leaves this one as it is", s.Cidr, s.AvailabilityZone)
	}
	for z, s := range public {
		if _, ok := private[z]; !ok {
			b.unexpressed("subnet", s.ID, "public subnet %s in %s, a zone with no private subnet; kinfra leaves it as it is", s.Cidr, z)
		}
	}
	if b.inv.FromTemplate {
		why := b.importable(n)
		if why != "" {
			return nil, fmt.Errorf("the template's network is not kinfra's layout (%s), and adopting it needs its deployed IDs: import from the deployed stack with --cloudformation-stack", why)
		}
		n.spec = b.createSpec(n, false)
		b.r.Mode = ModeCreate
		b.note("the template's IDs are logical IDs, not AWS's: the stack file describes its network but imports nothing; to take over a deployed stack's resources, import with --cloudformation-stack")
		return n, nil
	}
	why := b.importable(n)
	switch {
	case b.opts.Adopt:
		b.note("the VPC is adopted as --adopt asks (cluster.network.existing)")
	case why != "":
		b.note("the VPC is adopted, not imported: %s", why)
	default:
		n.spec = b.createSpec(n, true)
		b.r.Mode = ModeImport
		return n, nil
	}
	n.spec = b.adoptSpec(n)
	b.r.Mode = ModeAdopt
	return n, nil
}

// layout is what kinfra's network would be for these zones: the prefix
// lengths found, and the NAT mode and route tables as kinfra makes them.
type layout struct {
	privateBits, publicBits int
	nat                     string
	publicTable             inventory.RouteTable
	privateTables           map[string]inventory.RouteTable
	nats                    map[string]inventory.NatGateway
	igw                     string
}

// importable says why the network cannot be imported into the one kinfra
// would create, or "" if it can: the same blocks in the same places, one
// shared public route table to the internet gateway, a private table per
// zone to its NAT gateway (or all to one).
func (b *builder) importable(n *network) string {
	l, why := b.layout(n)
	if why != "" {
		return why
	}
	b.lay = l
	return ""
}

func (b *builder) layout(n *network) (*layout, string) {
	vpc, err := netip.ParsePrefix(b.vpc.Cidr)
	if err != nil || vpc.Bits() < 16 || vpc.Bits() > 24 {
		return nil, fmt.Sprintf("its block %s is not a /16 to /24", b.vpc.Cidr)
	}
	if len(b.vpc.SecondaryCidrs) > 0 {
		return nil, fmt.Sprintf("it has secondary blocks (%s), which kinfra does not create", strings.Join(b.vpc.SecondaryCidrs, ", "))
	}
	if len(b.vpc.Ipv6Cidrs) > 0 {
		return nil, "it has IPv6 blocks, whose subnet numbering kinfra would choose itself"
	}
	l := &layout{privateTables: map[string]inventory.RouteTable{}, nats: map[string]inventory.NatGateway{}}
	for _, z := range n.zones {
		if _, ok := n.publicSubnet[z]; !ok {
			return nil, fmt.Sprintf("zone %s has no public subnet, and kinfra makes one in every zone", z)
		}
	}
	l.privateBits = netip.MustParsePrefix(n.nodeSubnet[n.zones[0]].Cidr).Bits()
	l.publicBits = netip.MustParsePrefix(n.publicSubnet[n.zones[0]].Cidr).Bits()
	carved, err := cidr.Carve(vpc, len(n.zones), l.privateBits, l.publicBits)
	if err != nil {
		return nil, err.Error()
	}
	for i, z := range n.zones {
		if got, want := n.nodeSubnet[z].Cidr, carved.Private[i].String(); got != want {
			return nil, fmt.Sprintf("the private subnet of %s is %s where kinfra would carve %s", z, got, want)
		}
		if got, want := n.publicSubnet[z].Cidr, carved.Public[i].String(); got != want {
			return nil, fmt.Sprintf("the public subnet of %s is %s where kinfra would carve %s", z, got, want)
		}
	}
	for i, z := range n.zones {
		pub := n.publicSubnet[z]
		rt, explicit := b.routeTable(pub.ID)
		if !explicit || rt.Main {
			return nil, fmt.Sprintf("public subnet %s uses the main route table, and kinfra's public subnets are associated with their own", pub.ID)
		}
		if i == 0 {
			l.publicTable = rt
			l.igw = defaultRoute(rt)
		} else if rt.ID != l.publicTable.ID {
			return nil, fmt.Sprintf("the public subnets use several route tables (%s, %s), and kinfra's share one", l.publicTable.ID, rt.ID)
		}
	}
	usedTables := map[string]string{}
	for _, z := range n.zones {
		s := n.nodeSubnet[z]
		rt, explicit := b.routeTable(s.ID)
		if !explicit || rt.Main {
			return nil, fmt.Sprintf("private subnet %s uses the main route table, and kinfra gives each zone its own", s.ID)
		}
		if other, ok := usedTables[rt.ID]; ok {
			return nil, fmt.Sprintf("zones %s and %s share route table %s, and kinfra gives each zone its own", other, z, rt.ID)
		}
		usedTables[rt.ID] = z
		l.privateTables[z] = rt
	}
	natByID := map[string]inventory.NatGateway{}
	for _, g := range b.inv.NatGateways {
		natByID[g.ID] = g
	}
	zoneOf := map[string]string{}
	for z, s := range n.publicSubnet {
		zoneOf[s.ID] = z
	}
	targets := map[string]bool{}
	for _, z := range n.zones {
		t := defaultRoute(l.privateTables[z])
		g, ok := natByID[t]
		if !ok {
			return nil, fmt.Sprintf("the private route table of %s (%s) routes 0.0.0.0/0 to %q, not a NAT gateway of the VPC", z, l.privateTables[z].ID, t)
		}
		if g.ConnectivityType == "private" || g.AllocationID == "" {
			return nil, fmt.Sprintf("NAT gateway %s is private, and kinfra's are public", g.ID)
		}
		natZone, ok := zoneOf[g.SubnetID]
		if !ok || n.publicSubnet[natZone].ID != g.SubnetID {
			return nil, fmt.Sprintf("NAT gateway %s is not in a zone's public subnet", g.ID)
		}
		targets[g.ID] = true
		l.nats[natZone] = g
	}
	switch {
	case len(targets) == 1 && len(n.zones) > 1:
		l.nat = spec.NATSingle
		if _, ok := l.nats[n.zones[0]]; !ok {
			return nil, "the one NAT gateway is not in the first zone, where kinfra's single NAT gateway is"
		}
	default:
		l.nat = spec.NATPerAZ
		for _, z := range n.zones {
			if g, ok := l.nats[z]; !ok || defaultRoute(l.privateTables[z]) != g.ID {
				return nil, fmt.Sprintf("the private route table of %s does not route to the NAT gateway of its own zone", z)
			}
		}
	}
	return l, ""
}

// endpointServices are the VPC's endpoints by kinfra's short service name
// (com.amazonaws.<region>.ecr.api is ecr.api), of the kinds kinfra makes.
func (b *builder) endpointServices() (gateway, iface map[string]inventory.Endpoint) {
	gateway, iface = map[string]inventory.Endpoint{}, map[string]inventory.Endpoint{}
	prefix := "com.amazonaws." + b.opts.Region + "."
	for _, e := range b.inv.Endpoints {
		svc := strings.TrimPrefix(e.ServiceName, prefix)
		switch {
		case e.Type == "Gateway" && strings.HasPrefix(e.ServiceName, prefix) && slices.Contains(spec.GatewayEndpointServices, svc):
			gateway[svc] = e
		case e.Type == "Interface" && strings.HasPrefix(e.ServiceName, prefix) && slices.Contains(spec.InterfaceEndpointServices, svc) && e.PrivateDNSEnabled:
			iface[svc] = e
		default:
			b.unexpressed("VPC endpoint", e.ID, "%s endpoint of %s, which kinfra does not make; it stays as it is", strings.ToLower(e.Type), e.ServiceName)
		}
	}
	return gateway, iface
}

// createSpec is the network kinfra creates, with the found resources'
// IDs to import when withIDs.
func (b *builder) createSpec(n *network, withIDs bool) yamldoc.Map {
	l := b.lay
	out := yamldoc.Map{
		{"vpcCidr", b.vpc.Cidr},
		{"availabilityZones", toAny(n.zones)},
		{"privateSubnetPrefixLength", l.privateBits},
		{"publicSubnetPrefixLength", l.publicBits},
		{"natGateways", l.nat},
	}
	gateway, iface := b.endpointServices()
	if len(gateway) > 0 {
		out = append(out, [2]any{"gatewayEndpoints", toAny(sortedKeys(gateway))})
	}
	if len(iface) > 0 {
		out = append(out, [2]any{"interfaceEndpoints", toAny(sortedKeys(iface))})
	}
	b.flowLogs()
	// From a template, the same resources are described but not imported:
	// their IDs are logical IDs.
	im := yamldoc.Map{}
	add := func(key, id string) {
		b.express(id)
		if withIDs {
			im = append(im, [2]any{key, id})
			b.r.Imports["cluster.network.import."+key] = id
		}
	}
	perZone := func(key string, ids map[string]string) {
		m := yamldoc.Map{}
		for _, z := range n.zones {
			if id := ids[z]; id != "" {
				b.express(id)
				m = append(m, [2]any{z, id})
				if withIDs {
					b.r.Imports[fmt.Sprintf("cluster.network.import.%s[%q]", key, z)] = id
				}
			}
		}
		im = append(im, [2]any{key, m})
	}
	add("vpc", b.vpc.ID)
	add("internetGateway", l.igw)
	pub, priv, rts, nats, eips := map[string]string{}, map[string]string{}, map[string]string{}, map[string]string{}, map[string]string{}
	for _, z := range n.zones {
		pub[z], priv[z], rts[z] = n.publicSubnet[z].ID, n.nodeSubnet[z].ID, l.privateTables[z].ID
		if g, ok := l.nats[z]; ok {
			nats[z], eips[z] = g.ID, g.AllocationID
		}
	}
	perZone("publicSubnets", pub)
	perZone("privateSubnets", priv)
	add("publicRouteTable", l.publicTable.ID)
	perZone("privateRouteTables", rts)
	perZone("natGateways", nats)
	perZone("elasticIps", eips)
	if len(gateway)+len(iface) > 0 {
		m := yamldoc.Map{}
		for _, e := range []map[string]inventory.Endpoint{gateway, iface} {
			for _, svc := range sortedKeys(e) {
				m = append(m, [2]any{svc, e[svc].ID})
				b.express(e[svc].ID)
				if withIDs {
					b.r.Imports[fmt.Sprintf("cluster.network.import.endpoints[%q]", svc)] = e[svc].ID
				}
			}
		}
		im = append(im, [2]any{"endpoints", m})
	}
	b.extraRoutes(append([]inventory.RouteTable{l.publicTable}, mapValues(l.privateTables, n.zones)...))
	if !withIDs {
		return out
	}
	return append(out, [2]any{"import", im})
}

// extraRoutes reports the routes of imported tables that kinfra does not
// make: they stay, unmanaged.
func (b *builder) extraRoutes(tables []inventory.RouteTable) {
	for _, rt := range tables {
		for _, r := range rt.Routes {
			if r.Target == "local" || r.DestinationCidr == "0.0.0.0/0" || b.isEndpoint(r.Target) {
				continue
			}
			b.unexpressed("route", rt.ID+"_"+r.Destination(), "routes %s to %s; kinfra's tables have only their default routes, so this route stays unmanaged (and `kinfra drift` reports it)", r.Destination(), r.Target)
		}
	}
}

// adoptSpec adopts the VPC and its subnets as they are.
func (b *builder) adoptSpec(n *network) yamldoc.Map {
	subnets := func(m map[string]inventory.Subnet) []any {
		var out []any
		for _, z := range n.zones {
			s, ok := m[z]
			if !ok {
				continue
			}
			out = append(out, yamldoc.Map{{"id", s.ID}, {"availabilityZone", z}, {"cidr", s.Cidr}})
			b.r.Imports[fmt.Sprintf("cluster.network.existing.subnet[%q]", s.ID)] = s.ID
			b.express(s.ID)
		}
		return out
	}
	ex := yamldoc.Map{{"vpcId", b.vpc.ID}, {"privateSubnets", subnets(n.nodeSubnet)}}
	b.r.Imports["cluster.network.existing.vpcId"] = b.vpc.ID
	b.express(b.vpc.ID)
	if pub := subnets(n.publicSubnet); len(pub) > 0 {
		ex = append(ex, [2]any{"publicSubnets", pub})
	}
	for _, e := range b.inv.Endpoints {
		b.unexpressed("VPC endpoint", e.ID, "%s, kept as it is: an adopted VPC's endpoints are its own (kinfra adds none, so none is made twice)", e.ServiceName)
	}
	b.flowLogs()
	return yamldoc.Map{{"vpcCidr", b.vpc.Cidr}, {"existing", ex}}
}

func (b *builder) flowLogs() {
	for _, f := range b.inv.FlowLogs {
		b.unexpressed("flow log", f.ID, "%s traffic of %s to %s %s; kinfra adds its own flow log of the VPC (cluster.network.flowLogs), so remove this one once that one delivers", f.TrafficType, f.ResourceID, f.DestinationType, f.Destination)
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func mapValues[V any](m map[string]V, keys []string) []V {
	out := make([]V, 0, len(keys))
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out = append(out, v)
		}
	}
	return out
}
