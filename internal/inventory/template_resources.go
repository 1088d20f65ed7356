package inventory

import (
	"slices"
	"strings"
)

// templateBuilder maps a template's evaluated resources to the model.
// Resources that attach to others (routes, associations, rules,
// listeners, …) are applied once every resource is read, since a template
// may declare them in any order.
type templateBuilder struct {
	e   *evaluator
	inv *Inventory

	vpcs      map[string]*VPC
	ipv6VPCs  map[string]bool
	subnets   map[string]*Subnet
	tables    map[string]*RouteTable
	igws      map[string]*InternetGateway
	nats      map[string]*NatGateway
	addresses map[string]*Address
	endpoints map[string]*Endpoint
	groups    map[string]*SecurityGroup
	// inlineEgress are the groups whose template gives egress rules: AWS
	// adds its allow-all egress rules only to the others.
	inlineEgress map[string]bool
	templates    map[string]*LaunchTemplate
	asgs         map[string]*AutoScalingGroup
	lbs          map[string]*LoadBalancer
	tgs          map[string]*TargetGroup
	flowLogs     map[string]*FlowLog

	later []func()
}

func newTemplateBuilder(e *evaluator, inv *Inventory) *templateBuilder {
	return &templateBuilder{
		e: e, inv: inv,
		vpcs: map[string]*VPC{}, ipv6VPCs: map[string]bool{}, subnets: map[string]*Subnet{},
		tables: map[string]*RouteTable{}, igws: map[string]*InternetGateway{}, nats: map[string]*NatGateway{},
		addresses: map[string]*Address{}, endpoints: map[string]*Endpoint{}, groups: map[string]*SecurityGroup{},
		inlineEgress: map[string]bool{}, templates: map[string]*LaunchTemplate{}, asgs: map[string]*AutoScalingGroup{},
		lbs: map[string]*LoadBalancer{}, tgs: map[string]*TargetGroup{}, flowLogs: map[string]*FlowLog{},
	}
}

// add reads one resource.
func (b *templateBuilder) add(id, typ string, m map[string]any, path string) {
	p := props{e: b.e, path: path, m: m}
	switch typ {
	case "AWS::EC2::VPC":
		b.vpc(id, p)
	case "AWS::EC2::VPCCidrBlock":
		b.later = append(b.later, func() { b.vpcCidrBlock(p) })
	case "AWS::EC2::Subnet":
		b.subnet(id, p)
	case "AWS::EC2::RouteTable":
		b.tables[id] = &RouteTable{ID: id, VpcID: p.str("VpcId"), SubnetIDs: []string{}, Routes: []Route{}, Tags: p.tags("Tags")}
	case "AWS::EC2::Route":
		b.later = append(b.later, func() { b.route(p) })
	case "AWS::EC2::SubnetRouteTableAssociation":
		b.later = append(b.later, func() { b.association(p) })
	case "AWS::EC2::InternetGateway":
		b.igws[id] = &InternetGateway{ID: id, VpcIDs: []string{}, Tags: p.tags("Tags")}
	case "AWS::EC2::VPCGatewayAttachment":
		b.later = append(b.later, func() { b.gatewayAttachment(p) })
	case "AWS::EC2::EIP":
		b.addresses[id] = &Address{AllocationID: id, Tags: p.tags("Tags")}
	case "AWS::EC2::NatGateway":
		b.nats[id] = &NatGateway{ID: id, SubnetID: p.str("SubnetId"), AllocationID: p.str("AllocationId"),
			ConnectivityType: p.strOr("ConnectivityType", "public"), State: "available", Tags: p.tags("Tags")}
	case "AWS::EC2::VPCEndpoint":
		b.endpoints[id] = &Endpoint{ID: id, VpcID: p.str("VpcId"), ServiceName: p.str("ServiceName"),
			Type: p.strOr("VpcEndpointType", "Gateway"), RouteTableIDs: p.strs("RouteTableIds"), SubnetIDs: p.strs("SubnetIds"),
			SecurityGroupIDs: p.strs("SecurityGroupIds"), PrivateDNSEnabled: p.boolOr("PrivateDnsEnabled", false), Tags: p.tags("Tags")}
	case "AWS::EC2::SecurityGroup":
		b.securityGroup(id, p)
	case "AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress":
		egress := typ == "AWS::EC2::SecurityGroupEgress"
		b.later = append(b.later, func() { b.ruleResource(p, egress) })
	case "AWS::EC2::LaunchTemplate":
		b.launchTemplate(id, p)
	case "AWS::AutoScaling::AutoScalingGroup":
		b.autoScalingGroup(id, p)
	case "AWS::ElasticLoadBalancingV2::LoadBalancer":
		b.loadBalancer(id, p)
	case "AWS::ElasticLoadBalancingV2::TargetGroup":
		b.tgs[id] = &TargetGroup{ARN: id, Name: p.strOr("Name", id), Protocol: p.str("Protocol"), Port: p.int32("Port"),
			VpcID: p.str("VpcId"), TargetType: p.strOr("TargetType", "instance"), HealthCheckProtocol: p.str("HealthCheckProtocol"),
			HealthCheckPath: p.str("HealthCheckPath"), Tags: p.tags("Tags")}
	case "AWS::ElasticLoadBalancingV2::Listener":
		b.later = append(b.later, func() { b.listener(id, p) })
	case "AWS::EC2::FlowLog":
		b.flowLogs[id] = &FlowLog{ID: id, ResourceID: p.str("ResourceId"), TrafficType: p.str("TrafficType"),
			DestinationType: p.strOr("LogDestinationType", "cloud-watch-logs"),
			Destination:     p.strOr("LogDestination", p.str("LogGroupName")), Tags: p.tags("Tags")}
	default:
		b.inv.Unread = append(b.inv.Unread, Ref{Type: typ, ID: id})
	}
}

func (b *templateBuilder) vpc(id string, p props) {
	if !p.has("CidrBlock") {
		if p.has("Ipv4IpamPoolId") {
			b.e.problem(p.at("Ipv4IpamPoolId"), "the VPC's block comes from an IPAM pool when the stack is deployed; a template alone does not give it")
		} else if _, u := p.m["CidrBlock"].(unknown); !u {
			b.e.problem(p.at("CidrBlock"), "a VPC needs a CidrBlock")
		}
	}
	b.vpcs[id] = &VPC{ID: id, Cidr: p.str("CidrBlock"), EnableDNSSupport: p.boolOr("EnableDnsSupport", true),
		EnableDNSHostnames: p.boolOr("EnableDnsHostnames", false), Tags: p.tags("Tags")}
}

func (b *templateBuilder) vpcCidrBlock(p props) {
	v, ok := b.vpcs[p.str("VpcId")]
	if !ok {
		b.notHere(p, "VpcId", "VPC", "the block")
		return
	}
	if c := p.str("CidrBlock"); c != "" {
		v.SecondaryCidrs = append(v.SecondaryCidrs, c)
	}
	if c := p.str("Ipv6CidrBlock"); c != "" {
		v.Ipv6Cidrs = append(v.Ipv6Cidrs, c)
		b.ipv6VPCs[v.ID] = true
	}
	if p.boolOr("AmazonProvidedIpv6CidrBlock", false) {
		b.ipv6VPCs[v.ID] = true
		b.e.problem(p.at("AmazonProvidedIpv6CidrBlock"), "Amazon assigns the IPv6 block when the stack is deployed; a template alone does not give it")
	}
}

// notHere reports an attachment to a resource the template does not
// declare (an ID written literally, or a parameter).
func (b *templateBuilder) notHere(p props, key, kind, what string) {
	if _, u := p.m[key].(unknown); u {
		return
	}
	b.e.problem(p.at(key), "%q is not a %s of this template, so %s is not read", p.str(key), kind, what)
}

func (b *templateBuilder) subnet(id string, p props) {
	zone := p.str("AvailabilityZone")
	if zone != "" && !b.e.region.HasZone(zone) {
		b.e.problem(p.at("AvailabilityZone"), "%s is not a zone of %s (its zones: %s)", zone, b.e.region.Name, b.e.region.DescribeZones())
	}
	if zone == "" && p.has("AvailabilityZoneId") {
		b.e.problem(p.at("AvailabilityZoneId"), "zone ID %s names a different zone in each account; a template alone does not say which", p.str("AvailabilityZoneId"))
	}
	b.subnets[id] = &Subnet{ID: id, VpcID: p.str("VpcId"), AvailabilityZone: zone, Cidr: p.str("CidrBlock"),
		Ipv6Cidr: p.str("Ipv6CidrBlock"), MapPublicIPOnLaunch: p.boolOr("MapPublicIpOnLaunch", false), Tags: p.tags("Tags")}
}

// routeTargets are a route's target properties.
var routeTargets = []string{"GatewayId", "NatGatewayId", "EgressOnlyInternetGatewayId", "TransitGatewayId",
	"VpcPeeringConnectionId", "NetworkInterfaceId", "VpcEndpointId", "InstanceId", "CarrierGatewayId",
	"LocalGatewayId", "CoreNetworkArn"}

func (b *templateBuilder) route(p props) {
	t, ok := b.tables[p.str("RouteTableId")]
	if !ok {
		b.notHere(p, "RouteTableId", "route table", "the route")
		return
	}
	r := Route{DestinationCidr: p.str("DestinationCidrBlock"), DestinationIpv6Cidr: p.str("DestinationIpv6CidrBlock"),
		DestinationPrefixID: p.str("DestinationPrefixListId")}
	for _, k := range routeTargets {
		if s := p.str(k); s != "" {
			r.Target = s
			break
		}
	}
	if r.Destination() == "" || r.Target == "" {
		if !hasUnknown(p.m) {
			b.e.problem(p.path, "a route needs a destination and a target")
		}
		return
	}
	t.Routes = append(t.Routes, r)
}

// hasUnknown reports whether any value of m is unknown (and so already
// reported).
func hasUnknown(m map[string]any) bool {
	for _, v := range m {
		if _, u := v.(unknown); u {
			return true
		}
	}
	return false
}

func (b *templateBuilder) association(p props) {
	t, ok := b.tables[p.str("RouteTableId")]
	if !ok {
		b.notHere(p, "RouteTableId", "route table", "the association")
		return
	}
	if s := p.str("SubnetId"); s != "" {
		t.SubnetIDs = append(t.SubnetIDs, s)
	}
}

func (b *templateBuilder) gatewayAttachment(p props) {
	if !p.has("InternetGatewayId") {
		return // a VPN gateway's, which the model does not have
	}
	g, ok := b.igws[p.str("InternetGatewayId")]
	if !ok {
		b.notHere(p, "InternetGatewayId", "internet gateway", "the attachment")
		return
	}
	if v := p.str("VpcId"); v != "" {
		g.VpcIDs = append(g.VpcIDs, v)
	}
}

func (b *templateBuilder) securityGroup(id string, p props) {
	g := &SecurityGroup{ID: id, Name: p.strOr("GroupName", id), Description: p.str("GroupDescription"),
		VpcID: p.str("VpcId"), Ingress: []Rule{}, Egress: []Rule{}, Tags: p.tags("Tags")}
	for _, r := range p.objs("SecurityGroupIngress") {
		if rule, ok := b.rule(r, false); ok {
			g.Ingress = append(g.Ingress, rule)
		}
	}
	if _, given := p.m["SecurityGroupEgress"]; given {
		b.inlineEgress[id] = true
	}
	for _, r := range p.objs("SecurityGroupEgress") {
		if rule, ok := b.rule(r, true); ok {
			g.Egress = append(g.Egress, rule)
		}
	}
	b.groups[id] = g
}

func (b *templateBuilder) ruleResource(p props, egress bool) {
	g, ok := b.groups[p.str("GroupId")]
	if !ok && p.has("GroupName") {
		for _, id := range sortedKeys(b.groups) {
			if b.groups[id].Name == p.str("GroupName") {
				g, ok = b.groups[id], true
				break
			}
		}
		if !ok {
			b.notHere(p, "GroupName", "security group", "the rule")
			return
		}
	}
	if !ok {
		b.notHere(p, "GroupId", "security group", "the rule")
		return
	}
	rule, ok := b.rule(p, egress)
	if !ok {
		return
	}
	if egress {
		g.Egress = append(g.Egress, rule)
	} else {
		g.Ingress = append(g.Ingress, rule)
	}
}

// rule reads one rule, inline or a resource's, as AWS stores it.
func (b *templateBuilder) rule(p props, egress bool) (Rule, bool) {
	r := Rule{Protocol: protocolName(p.str("IpProtocol")), FromPort: p.int32Or("FromPort", -1),
		ToPort: p.int32Or("ToPort", -1), Description: p.str("Description")}
	if r.Protocol == "-1" {
		r.FromPort, r.ToPort = -1, -1 // AWS keeps no ports for all protocols
	}
	peers := []string{"CidrIp", "CidrIpv6", "SourcePrefixListId", "SourceSecurityGroupId"}
	if egress {
		peers = []string{"CidrIp", "CidrIpv6", "DestinationPrefixListId", "DestinationSecurityGroupId"}
	}
	fields := []*string{&r.CidrIPv4, &r.CidrIPv6, &r.PrefixListID, &r.ReferencedGroupID}
	var given []string
	for i, k := range peers {
		if s := p.str(k); s != "" {
			*fields[i] = s
			given = append(given, k)
		}
	}
	switch {
	case hasUnknown(p.m):
		return Rule{}, false
	case r.Protocol == "":
		b.e.problem(p.at("IpProtocol"), "a rule needs an IpProtocol")
		return Rule{}, false
	case !egress && p.has("SourceSecurityGroupName") && len(given) == 0:
		b.e.problem(p.at("SourceSecurityGroupName"), "a source group by name is EC2-Classic's or the default VPC's; the rule is not read")
		return Rule{}, false
	case len(given) != 1:
		b.e.problem(p.path, "a rule needs exactly one of %s (it has %s)", strings.Join(peers, ", "), describeGiven(given))
		return Rule{}, false
	}
	return r, true
}

func describeGiven(given []string) string {
	if len(given) == 0 {
		return "none"
	}
	return strings.Join(given, " and ")
}

// protocolName is the protocol as AWS answers it: the names of the
// protocols it names, -1 for all.
func protocolName(p string) string {
	switch strings.ToLower(p) {
	case "6", "tcp":
		return "tcp"
	case "17", "udp":
		return "udp"
	case "1", "icmp":
		return "icmp"
	case "-1", "all":
		return "-1"
	}
	return strings.ToLower(p)
}

func (b *templateBuilder) launchTemplate(id string, p props) {
	d := p.obj("LaunchTemplateData")
	profile := d.obj("IamInstanceProfile")
	meta := d.obj("MetadataOptions")
	data := LaunchTemplateData{ImageID: d.str("ImageId"), InstanceType: d.str("InstanceType"),
		IamInstanceProfile: profile.strOr("Arn", profile.str("Name")),
		SecurityGroupIDs:   append(d.strs("SecurityGroupIds"), d.strs("SecurityGroups")...),
		HTTPTokens:         meta.str("HttpTokens"), HTTPHopLimit: meta.int32("HttpPutResponseHopLimit")}
	for _, ni := range d.objs("NetworkInterfaces") {
		data.SecurityGroupIDs = append(data.SecurityGroupIDs, ni.strs("Groups")...)
	}
	for _, m := range d.objs("BlockDeviceMappings") {
		if !m.has("Ebs") {
			continue // instance store or NoDevice: not an EBS volume
		}
		ebs := m.obj("Ebs")
		data.BlockDevices = append(data.BlockDevices, BlockDevice{DeviceName: m.str("DeviceName"),
			VolumeType: ebs.str("VolumeType"), SizeGiB: ebs.int32("VolumeSize"), Iops: ebs.int32("Iops"),
			Throughput: ebs.int32("Throughput"), Encrypted: ebs.boolOr("Encrypted", false)})
	}
	switch u := d.m["UserData"].(type) {
	case plainText:
		data.UserData = string(u)
	case string:
		text, ok := decodeUserData(u)
		if !ok {
			b.e.problem(d.at("UserData"), "user data is base64: write it through Fn::Base64 or encoded")
		}
		data.UserData = text
	case nil, unknown:
	default:
		d.wrong("UserData", "a string", u)
	}
	tags := Tags{}
	for _, spec := range p.objs("TagSpecifications") {
		if spec.str("ResourceType") == "launch-template" {
			for k, v := range spec.tags("Tags") {
				tags[k] = v
			}
		}
	}
	b.templates[id] = &LaunchTemplate{ID: id, Name: p.strOr("LaunchTemplateName", id), Data: data, Tags: tags}
}

func launchTemplateRef(p props) *LaunchTemplateRef {
	return &LaunchTemplateRef{ID: p.str("LaunchTemplateId"), Name: p.str("LaunchTemplateName"), Version: p.str("Version")}
}

func (b *templateBuilder) autoScalingGroup(id string, p props) {
	g := &AutoScalingGroup{Name: p.strOr("AutoScalingGroupName", id), ARN: id, MinSize: p.int32("MinSize"),
		MaxSize: p.int32("MaxSize"), SubnetIDs: p.strs("VPCZoneIdentifier"), TargetGroupARNs: p.strs("TargetGroupARNs"),
		HealthCheckType: p.str("HealthCheckType"), HealthCheckGracePeriod: p.int32("HealthCheckGracePeriod"),
		Tags: p.tags("Tags")}
	// Without a desired capacity, AWS starts the group at its minimum.
	g.DesiredCapacity = p.int32Or("DesiredCapacity", g.MinSize)
	if g.SubnetIDs == nil {
		g.SubnetIDs = []string{}
	}
	if p.has("LaunchTemplate") {
		g.LaunchTemplate = launchTemplateRef(p.obj("LaunchTemplate"))
	}
	if p.has("MixedInstancesPolicy") {
		mp := p.obj("MixedInstancesPolicy")
		lt := mp.obj("LaunchTemplate")
		dist := mp.obj("InstancesDistribution")
		mi := &MixedInstances{LaunchTemplate: *launchTemplateRef(lt.obj("LaunchTemplateSpecification")),
			InstanceTypes:        []string{},
			OnDemandBaseCapacity: dist.int32Or("OnDemandBaseCapacity", 0),
			// AWS's default: all on-demand.
			OnDemandPercentageAboveBaseCapacity: dist.int32Or("OnDemandPercentageAboveBaseCapacity", 100),
			SpotAllocationStrategy:              dist.str("SpotAllocationStrategy")}
		for _, o := range lt.objs("Overrides") {
			if o.has("InstanceRequirements") {
				b.e.problem(o.at("InstanceRequirements"), "instance types chosen by attributes are not read; only InstanceType overrides are")
			}
			if t := o.str("InstanceType"); t != "" {
				mi.InstanceTypes = append(mi.InstanceTypes, t)
			}
		}
		g.MixedInstances = mi
	}
	b.asgs[id] = g
}

func (b *templateBuilder) loadBalancer(id string, p props) {
	lb := &LoadBalancer{ARN: id, Name: p.strOr("Name", id), Type: p.strOr("Type", "application"),
		Scheme: p.strOr("Scheme", "internet-facing"), SubnetIDs: p.strs("Subnets"),
		SecurityGroupIDs: p.strs("SecurityGroups"), Listeners: []Listener{}, Tags: p.tags("Tags")}
	for _, m := range p.objs("SubnetMappings") {
		lb.SubnetIDs = append(lb.SubnetIDs, m.str("SubnetId"))
	}
	if lb.SubnetIDs == nil {
		lb.SubnetIDs = []string{}
	}
	b.lbs[id] = lb
}

func (b *templateBuilder) listener(id string, p props) {
	lb, ok := b.lbs[p.str("LoadBalancerArn")]
	if !ok {
		b.notHere(p, "LoadBalancerArn", "load balancer", "the listener")
		return
	}
	l := Listener{ARN: id, Port: p.int32("Port"), Protocol: p.str("Protocol"), TargetGroupARNs: []string{}}
	for _, a := range p.objs("DefaultActions") {
		if a.str("Type") != "forward" {
			continue
		}
		if tg := a.str("TargetGroupArn"); tg != "" {
			l.TargetGroupARNs = append(l.TargetGroupARNs, tg)
		}
		for _, tg := range a.obj("ForwardConfig").objs("TargetGroups") {
			if arn := tg.str("TargetGroupArn"); arn != "" && !slices.Contains(l.TargetGroupARNs, arn) {
				l.TargetGroupARNs = append(l.TargetGroupARNs, arn)
			}
		}
	}
	lb.Listeners = append(lb.Listeners, l)
}

// finish applies the attachments, adds what AWS adds by itself (each
// table's local routes, a group's default egress) and fills the
// inventory, sorted by ID.
func (b *templateBuilder) finish() {
	for _, f := range b.later {
		f()
	}
	for _, n := range b.nats {
		if s, ok := b.subnets[n.SubnetID]; ok {
			n.VpcID = s.VpcID
		}
	}
	for _, lb := range b.lbs {
		for _, id := range lb.SubnetIDs {
			if s, ok := b.subnets[id]; ok {
				lb.VpcID = s.VpcID
				break
			}
		}
	}
	for _, t := range b.tables {
		if v, ok := b.vpcs[t.VpcID]; ok {
			var local []Route
			for _, c := range append([]string{v.Cidr}, v.SecondaryCidrs...) {
				if c != "" {
					local = append(local, Route{DestinationCidr: c, Target: "local"})
				}
			}
			for _, c := range v.Ipv6Cidrs {
				local = append(local, Route{DestinationIpv6Cidr: c, Target: "local"})
			}
			t.Routes = append(local, t.Routes...)
		}
	}
	for id, g := range b.groups {
		if b.inlineEgress[id] {
			continue
		}
		// AWS's default egress, added before any rule of the template's
		// SecurityGroupEgress resources.
		def := []Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0"}}
		if b.ipv6VPCs[g.VpcID] {
			def = append(def, Rule{Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv6: "::/0"})
		}
		g.Egress = append(def, g.Egress...)
	}
	inv := b.inv
	inv.VPCs = values(b.vpcs)
	inv.Subnets = values(b.subnets)
	inv.RouteTables = values(b.tables)
	inv.InternetGateways = values(b.igws)
	inv.NatGateways = values(b.nats)
	inv.Addresses = values(b.addresses)
	inv.Endpoints = values(b.endpoints)
	inv.SecurityGroups = values(b.groups)
	inv.LaunchTemplates = values(b.templates)
	inv.AutoScalingGroups = values(b.asgs)
	inv.LoadBalancers = values(b.lbs)
	inv.TargetGroups = values(b.tgs)
	inv.FlowLogs = values(b.flowLogs)
	if inv.Unread == nil {
		inv.Unread = []Ref{}
	}
}

// values are m's values in the order of their logical IDs.
func values[T any](m map[string]*T) []T {
	out := make([]T, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, *m[k])
	}
	return out
}
