package drift

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/inventory"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/review/plan"
)

// testStack is a small cluster with every compared type: a dual-stack VPC
// in two zones with a NAT gateway each, a gateway and an interface
// endpoint, flow logs, one master behind the API load balancer and one
// mixed-instances pool.
const testStack = `config:
  aws:region: us-east-1
  kinfra:cluster:
    name: drift-test
    tags:
      team: platform
    network:
      vpcCidr: 10.60.0.0/16
      availabilityZones: [us-east-1a, us-east-1b]
      natGateways: perAz
      ipv6: true
      gatewayEndpoints: [s3]
      interfaceEndpoints: [sts]
    masters:
      count: 1
    images:
      enabled: false
    nodePools:
      - name: general
        minSize: 1
        maxSize: 5
        instanceTypes: [m7i.large, m6i.large]
`

func planTestStack(t *testing.T) *plan.Plan {
	t.Helper()
	path := filepath.Join(t.TempDir(), "Pulumi.drift.yaml")
	require.NoError(t, os.WriteFile(path, []byte(testStack), 0o644))
	sf, err := stackfile.Load(path)
	require.NoError(t, err)
	p, err := plan.Run(sf)
	require.NoError(t, err)
	return p
}

// liveAccount is the inventory an account would hold after `pulumi up` of
// the plan: each compared resource as AWS describes it, under fresh IDs
// (not the mock's), with what AWS adds by itself (the VPC's main route
// table and default group, local routes, a gateway endpoint's routes,
// Pulumi's random name suffixes, new image and user data, an autoscaled
// desired capacity). It is written from the plan independently of the
// comparison's own reference translation.
func liveAccount(t *testing.T, p *plan.Plan) *inventory.Inventory {
	t.Helper()
	m := &mirror{t: t, ids: map[string]string{}}
	return m.build(p)
}

type mirror struct {
	t   *testing.T
	n   int
	ids map[string]string // mock ID or ARN → live
	// v6 are the mock VPC's IPv6 /56 prefix (its first 17 characters:
	// 2600:1f18:xxxx:yy) and the live one's.
	mock6, live6 string
}

const liveAccountID = "111122223333"

func (m *mirror) fresh(prefix string) string {
	m.n++
	return fmt.Sprintf("%s%017x", prefix, 0xabc000+m.n)
}

func (m *mirror) tr(v any) string {
	s, _ := v.(string)
	if l, ok := m.ids[s]; ok {
		return l
	}
	if m.mock6 != "" && strings.HasPrefix(s, m.mock6) {
		return m.live6 + strings.TrimPrefix(s, m.mock6)
	}
	return s
}

func (m *mirror) trs(v any) []string {
	var out []string
	for _, e := range mockaws.Strings(v) {
		out = append(out, m.tr(e))
	}
	return out
}

func liveTags(r mockaws.Resource) inventory.Tags {
	out := inventory.Tags{}
	for k, v := range mockaws.Tags(r.Inputs) {
		out[k] = v
	}
	return out
}

func (m *mirror) build(p *plan.Plan) *inventory.Inventory {
	inv := &inventory.Inventory{Region: "us-east-1"}
	// Live IDs first: references may point forward.
	prefixes := map[string]string{tVPC: "vpc-", tSubnet: "subnet-", tIGW: "igw-", tEIP: "eipalloc-", tNAT: "nat-",
		tRouteTable: "rtb-", tEndpoint: "vpce-", tSG: "sg-", tLT: "lt-", tFlowLog: "fl-",
		"aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway": "eigw-"}
	for _, r := range p.Resources {
		if mock := mockaws.Str(r.State["ipv6CidrBlock"]); r.Type == tVPC && mock != "" {
			m.mock6, m.live6 = mock[:17], "2600:1f18:4a2b:c3"
		}
		switch {
		case prefixes[r.Type] != "":
			m.ids[r.ID] = m.fresh(prefixes[r.Type])
		case r.Type == tLB || r.Type == tTG:
			kind := "loadbalancer/net"
			if r.Type == tTG {
				kind = "targetgroup"
			}
			arn := fmt.Sprintf("arn:aws:elasticloadbalancing:us-east-1:%s:%s/%s/%s", liveAccountID, kind, r.Name, m.fresh("")[8:])
			m.ids[r.ID] = arn
			m.ids[r.State["arn"].(string)] = arn
		}
	}
	for _, r := range p.Resources {
		switch r.Type {
		case tVPC:
			v := inventory.VPC{ID: m.tr(r.ID), Cidr: mockaws.Str(r.Inputs["cidrBlock"]), EnableDNSSupport: truthy(r.Inputs["enableDnsSupport"]),
				EnableDNSHostnames: truthy(r.Inputs["enableDnsHostnames"]), Tags: liveTags(r)}
			if mock := mockaws.Str(r.State["ipv6CidrBlock"]); mock != "" {
				v.Ipv6Cidrs = []string{m.tr(mock)}
			}
			inv.VPCs = append(inv.VPCs, v)
			// AWS's own, untagged: the main route table and the default group.
			inv.RouteTables = append(inv.RouteTables, inventory.RouteTable{ID: m.fresh("rtb-"), VpcID: v.ID, Main: true,
				Routes: []inventory.Route{{DestinationCidr: v.Cidr, Target: "local"}}, Tags: inventory.Tags{}})
			inv.SecurityGroups = append(inv.SecurityGroups, inventory.SecurityGroup{ID: m.fresh("sg-"), Name: "default",
				Description: "default VPC security group", VpcID: v.ID, Tags: inventory.Tags{},
				Egress: []inventory.Rule{{ID: m.fresh("sgr-"), Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0"}}})
		case tSubnet:
			inv.Subnets = append(inv.Subnets, inventory.Subnet{ID: m.tr(r.ID), VpcID: m.tr(r.Inputs["vpcId"]),
				AvailabilityZone: mockaws.Str(r.Inputs["availabilityZone"]), Cidr: mockaws.Str(r.Inputs["cidrBlock"]),
				Ipv6Cidr: m.tr(r.Inputs["ipv6CidrBlock"]), MapPublicIPOnLaunch: truthy(r.Inputs["mapPublicIpOnLaunch"]), Tags: liveTags(r)})
		case tIGW:
			inv.InternetGateways = append(inv.InternetGateways, inventory.InternetGateway{ID: m.tr(r.ID), VpcIDs: []string{m.tr(r.Inputs["vpcId"])}, Tags: liveTags(r)})
		case tEIP:
			inv.Addresses = append(inv.Addresses, inventory.Address{AllocationID: m.tr(r.ID), PublicIP: fmt.Sprintf("203.0.113.%d", m.n%250), Tags: liveTags(r)})
		case tNAT:
			ct := mockaws.Str(r.Inputs["connectivityType"])
			if ct == "" {
				ct = "public"
			}
			inv.NatGateways = append(inv.NatGateways, inventory.NatGateway{ID: m.tr(r.ID), SubnetID: m.tr(r.Inputs["subnetId"]),
				AllocationID: m.tr(r.Inputs["allocationId"]), ConnectivityType: ct, State: "available", Tags: liveTags(r)})
		case tRouteTable:
			inv.RouteTables = append(inv.RouteTables, m.routeTable(p, r))
		case tEndpoint:
			typ := mockaws.Str(r.Inputs["vpcEndpointType"])
			if typ == "" {
				typ = "Gateway"
			}
			inv.Endpoints = append(inv.Endpoints, inventory.Endpoint{ID: m.tr(r.ID), VpcID: m.tr(r.Inputs["vpcId"]), ServiceName: mockaws.Str(r.Inputs["serviceName"]),
				Type: typ, RouteTableIDs: m.trs(r.Inputs["routeTableIds"]), SubnetIDs: m.trs(r.Inputs["subnetIds"]),
				SecurityGroupIDs: m.trs(r.Inputs["securityGroupIds"]), PrivateDNSEnabled: truthy(r.Inputs["privateDnsEnabled"]), Tags: liveTags(r)})
		case tSG:
			inv.SecurityGroups = append(inv.SecurityGroups, m.securityGroup(p, r))
		case tLT:
			inv.LaunchTemplates = append(inv.LaunchTemplates, m.launchTemplate(r))
		case tASG:
			inv.AutoScalingGroups = append(inv.AutoScalingGroups, m.group(r))
		case tLB:
			inv.LoadBalancers = append(inv.LoadBalancers, m.loadBalancer(p, r))
		case tTG:
			inv.TargetGroups = append(inv.TargetGroups, inventory.TargetGroup{ARN: m.tr(r.ID), Name: r.Name[:20] + "-7f3a2b1",
				Protocol: mockaws.Str(r.Inputs["protocol"]), Port: int32(num64(r.Inputs["port"])), VpcID: m.tr(r.Inputs["vpcId"]),
				TargetType: mockaws.Str(r.Inputs["targetType"]), HealthCheckProtocol: mockaws.Str(at1(r.Inputs, "healthCheck.protocol")),
				HealthCheckPath: mockaws.Str(at1(r.Inputs, "healthCheck.path")), Tags: liveTags(r)})
		case tFlowLog:
			dest := mockaws.Str(r.Inputs["logDestination"])
			if i := strings.Index(dest, ":log-group:"); i >= 0 {
				dest = "arn:aws:logs:us-east-1:" + liveAccountID + dest[i:]
			}
			inv.FlowLogs = append(inv.FlowLogs, inventory.FlowLog{ID: m.tr(r.ID), ResourceID: m.tr(r.Inputs["vpcId"]),
				TrafficType: mockaws.Str(r.Inputs["trafficType"]), DestinationType: mockaws.Str(r.Inputs["logDestinationType"]), Destination: dest, Tags: liveTags(r)})
		}
	}
	// A NAT gateway's VPC is its subnet's.
	for i, n := range inv.NatGateways {
		for _, s := range inv.Subnets {
			if s.ID == n.SubnetID {
				inv.NatGateways[i].VpcID = s.VpcID
			}
		}
	}
	return inv
}

func (m *mirror) routeTable(p *plan.Plan, r mockaws.Resource) inventory.RouteTable {
	t := inventory.RouteTable{ID: m.tr(r.ID), VpcID: m.tr(r.Inputs["vpcId"]), Tags: liveTags(r), SubnetIDs: []string{}}
	for _, v := range p.Resources {
		if v.Type == tVPC && v.ID == r.Inputs["vpcId"] {
			t.Routes = append(t.Routes, inventory.Route{DestinationCidr: mockaws.Str(v.Inputs["cidrBlock"]), Target: "local"})
			if six := mockaws.Str(v.State["ipv6CidrBlock"]); six != "" {
				t.Routes = append(t.Routes, inventory.Route{DestinationIpv6Cidr: m.tr(six), Target: "local"})
			}
		}
	}
	for _, x := range p.Resources {
		if x.Inputs["routeTableId"] != r.ID {
			continue
		}
		switch x.Type {
		case tRoute:
			rt := inventory.Route{DestinationCidr: mockaws.Str(x.Inputs["destinationCidrBlock"]), DestinationIpv6Cidr: mockaws.Str(x.Inputs["destinationIpv6CidrBlock"])}
			for _, k := range routeTargets {
				if v := mockaws.Str(x.Inputs[k]); v != "" {
					rt.Target = m.tr(v)
				}
			}
			t.Routes = append(t.Routes, rt)
		case tAssociation:
			t.SubnetIDs = append(t.SubnetIDs, m.tr(x.Inputs["subnetId"]))
		}
	}
	// A gateway endpoint adds a route to its service's prefix list.
	for _, e := range mockaws.OfType(p.Resources, tEndpoint) {
		for _, id := range mockaws.Strings(e.Inputs["routeTableIds"]) {
			if id == r.ID {
				t.Routes = append(t.Routes, inventory.Route{DestinationPrefixID: "pl-63a5400a", Target: m.tr(e.ID)})
			}
		}
	}
	return t
}

func (m *mirror) securityGroup(p *plan.Plan, r mockaws.Resource) inventory.SecurityGroup {
	g := inventory.SecurityGroup{ID: m.tr(r.ID), Name: r.Name + "-20240101", Description: mockaws.Str(r.Inputs["description"]),
		VpcID: m.tr(r.Inputs["vpcId"]), Tags: liveTags(r), Ingress: []inventory.Rule{}, Egress: []inventory.Rule{}}
	for _, x := range p.Resources {
		if (x.Type != tIngress && x.Type != tEgress) || x.Inputs["securityGroupId"] != r.ID {
			continue
		}
		l := inventory.Rule{ID: m.fresh("sgr-"), Protocol: mockaws.Str(x.Inputs["ipProtocol"]), FromPort: -1, ToPort: -1,
			CidrIPv4: mockaws.Str(x.Inputs["cidrIpv4"]), CidrIPv6: m.tr(x.Inputs["cidrIpv6"]), PrefixListID: mockaws.Str(x.Inputs["prefixListId"]),
			ReferencedGroupID: m.tr(x.Inputs["referencedSecurityGroupId"]), Description: mockaws.Str(x.Inputs["description"]), Tags: liveTags(x)}
		if l.Protocol != "-1" {
			l.FromPort, l.ToPort = int32(num64(x.Inputs["fromPort"])), int32(num64(x.Inputs["toPort"]))
		}
		if x.Type == tIngress {
			g.Ingress = append(g.Ingress, l)
		} else {
			g.Egress = append(g.Egress, l)
		}
	}
	// Inline blocks: one rule per peer, untagged.
	for _, dir := range []string{"ingress", "egress"} {
		for _, b := range list(r.Inputs[dir]) {
			for _, cidr := range append(mockaws.Strings(b["cidrBlocks"]), mockaws.Strings(b["ipv6CidrBlocks"])...) {
				l := inventory.Rule{ID: m.fresh("sgr-"), Protocol: mockaws.Str(b["protocol"]), FromPort: int32(num64(b["fromPort"])),
					ToPort: int32(num64(b["toPort"])), Description: mockaws.Str(b["description"])}
				if strings.Contains(cidr, ":") {
					l.CidrIPv6 = m.tr(cidr)
				} else {
					l.CidrIPv4 = cidr
				}
				if dir == "ingress" {
					g.Ingress = append(g.Ingress, l)
				} else {
					g.Egress = append(g.Egress, l)
				}
			}
		}
	}
	return g
}

func (m *mirror) launchTemplate(r mockaws.Resource) inventory.LaunchTemplate {
	d := inventory.LaunchTemplateData{ImageID: "ami-0live0000000001", InstanceType: mockaws.Str(r.Inputs["instanceType"]),
		IamInstanceProfile: "arn:aws:iam::" + liveAccountID + ":instance-profile/" + r.Name + "-9c1d2e3",
		SecurityGroupIDs:   m.trs(r.Inputs["vpcSecurityGroupIds"]), UserData: "#!/bin/bash\n# the stack's real PKI\n",
		HTTPTokens: mockaws.Str(at1(r.Inputs, "metadataOptions.httpTokens")), HTTPHopLimit: int32(num64(at1(r.Inputs, "metadataOptions.httpPutResponseHopLimit")))}
	for _, b := range list(r.Inputs["blockDeviceMappings"]) {
		e, _ := b["ebs"].(map[string]any)
		d.BlockDevices = append(d.BlockDevices, inventory.BlockDevice{DeviceName: mockaws.Str(b["deviceName"]), VolumeType: mockaws.Str(e["volumeType"]),
			SizeGiB: int32(num64(e["volumeSize"])), Iops: int32(num64(e["iops"])), Throughput: int32(num64(e["throughput"])), Encrypted: truthy(e["encrypted"])})
	}
	// Three updates made through code: each version became the default.
	return inventory.LaunchTemplate{ID: m.tr(r.ID), Name: r.Name + "-20240101", DefaultVersion: 3, LatestVersion: 3, Data: d, Tags: liveTags(r)}
}

func (m *mirror) group(r mockaws.Resource) inventory.AutoScalingGroup {
	name := r.Name + "-5d6e7f8"
	g := inventory.AutoScalingGroup{Name: name, ARN: "arn:aws:autoscaling:us-east-1:" + liveAccountID + ":autoScalingGroup:0000:autoScalingGroupName/" + name,
		MinSize: int32(num64(r.Inputs["minSize"])), MaxSize: int32(num64(r.Inputs["maxSize"])),
		// The autoscaler's business: never the plan's.
		DesiredCapacity: int32(num64(r.Inputs["maxSize"])),
		SubnetIDs:       m.trs(r.Inputs["vpcZoneIdentifiers"]), TargetGroupARNs: m.trs(r.Inputs["targetGroupArns"]),
		HealthCheckType: mockaws.Str(r.Inputs["healthCheckType"]), HealthCheckGracePeriod: int32(num64(r.Inputs["healthCheckGracePeriod"])), Tags: liveTags(r)}
	if lt, ok := r.Inputs["launchTemplate"].(map[string]any); ok {
		g.LaunchTemplate = &inventory.LaunchTemplateRef{ID: m.tr(lt["id"]), Version: "3"}
	}
	if _, ok := r.Inputs["mixedInstancesPolicy"]; ok {
		const lt, dist = "mixedInstancesPolicy.launchTemplate.", "mixedInstancesPolicy.instancesDistribution."
		mi := &inventory.MixedInstances{LaunchTemplate: inventory.LaunchTemplateRef{ID: m.tr(at1(r.Inputs, lt+"launchTemplateSpecification.launchTemplateId")), Version: "3"},
			OnDemandBaseCapacity:                int32(num64(at1(r.Inputs, dist+"onDemandBaseCapacity"))),
			OnDemandPercentageAboveBaseCapacity: int32(num64(at1(r.Inputs, dist+"onDemandPercentageAboveBaseCapacity"))),
			SpotAllocationStrategy:              mockaws.Str(at1(r.Inputs, dist+"spotAllocationStrategy"))}
		for _, o := range list(at1(r.Inputs, lt+"overrides")) {
			mi.InstanceTypes = append(mi.InstanceTypes, mockaws.Str(o["instanceType"]))
		}
		g.MixedInstances = mi
	}
	return g
}

func (m *mirror) loadBalancer(p *plan.Plan, r mockaws.Resource) inventory.LoadBalancer {
	scheme := "internet-facing"
	if truthy(r.Inputs["internal"]) {
		scheme = "internal"
	}
	lb := inventory.LoadBalancer{ARN: m.tr(r.ID), Name: mockaws.Str(r.Inputs["name"]), Type: mockaws.Str(r.Inputs["loadBalancerType"]), Scheme: scheme,
		SubnetIDs: m.trs(r.Inputs["subnets"]), SecurityGroupIDs: m.trs(r.Inputs["securityGroups"]), Tags: liveTags(r)}
	for _, l := range mockaws.OfType(p.Resources, tListener) {
		if l.Inputs["loadBalancerArn"] != r.State["arn"] {
			continue
		}
		var tgs []string
		for _, a := range list(l.Inputs["defaultActions"]) {
			tgs = append(tgs, m.tr(a["targetGroupArn"]))
		}
		lb.Listeners = append(lb.Listeners, inventory.Listener{ARN: strings.Replace(lb.ARN, ":loadbalancer/", ":listener/", 1) + "/0a1b2c3d",
			Port: int32(num64(l.Inputs["port"])), Protocol: mockaws.Str(l.Inputs["protocol"]), TargetGroupARNs: tgs})
	}
	return lb
}
