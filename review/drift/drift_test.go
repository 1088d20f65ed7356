package drift

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/inventory"
	"github.com/kinfra-dev/kinfra/review/plan"
)

var (
	testPlanOnce sync.Once
	testPlan     *plan.Plan
)

// sharedPlan plans the test stack once: every case reads it, none changes it.
func sharedPlan(t *testing.T) *plan.Plan {
	testPlanOnce.Do(func() { testPlan = planTestStack(t) })
	require.NotNil(t, testPlan)
	return testPlan
}

func compare(t *testing.T, inv *inventory.Inventory) *Report {
	t.Helper()
	r, err := Compare(sharedPlan(t), inv)
	require.NoError(t, err)
	return r
}

func TestAnAccountAsPlannedIsCleanAndEveryComparedResourceIsFound(t *testing.T) {
	p := sharedPlan(t)
	r := compare(t, liveAccount(t, p))
	require.Empty(t, r.Drifts)
	require.True(t, r.Clean())

	// Every plan resource of a compared type was found, each once: a
	// comparison that matched nothing would be clean too.
	var want, got []string
	for _, res := range p.Resources {
		if comparedTypes[res.Type] {
			want = append(want, res.Type+" "+res.Name)
		}
	}
	for _, m := range r.Compared {
		require.NotEmpty(t, m.ID, "%s %s", m.Type, m.Name)
		got = append(got, m.Type+" "+m.Name)
	}
	slices.Sort(want)
	slices.Sort(got)
	require.Equal(t, want, got)
	for _, typ := range slices.Sorted(maps.Keys(comparedTypes)) {
		require.True(t, slices.ContainsFunc(r.Compared, func(m Match) bool { return m.Type == typ }), "the test stack has no %s", typ)
	}
	require.Equal(t, "drift-test", r.Cluster)
}

// find finds one resource of the live account by Name tag.
func find[T any](t *testing.T, items []T, tags func(*T) inventory.Tags, name string) *T {
	t.Helper()
	for i := range items {
		if tags(&items[i])["Name"] == name {
			return &items[i]
		}
	}
	t.Fatalf("no live resource named %s", name)
	return nil
}

func group(t *testing.T, inv *inventory.Inventory, name string) *inventory.AutoScalingGroup {
	return find(t, inv.AutoScalingGroups, func(g *inventory.AutoScalingGroup) inventory.Tags { return g.Tags }, name)
}

func securityGroup(t *testing.T, inv *inventory.Inventory, name string) *inventory.SecurityGroup {
	return find(t, inv.SecurityGroups, func(g *inventory.SecurityGroup) inventory.Tags { return g.Tags }, name)
}

func launchTemplate(t *testing.T, inv *inventory.Inventory, name string) *inventory.LaunchTemplate {
	return find(t, inv.LaunchTemplates, func(l *inventory.LaunchTemplate) inventory.Tags { return l.Tags }, name)
}

func subnet(t *testing.T, inv *inventory.Inventory, name string) *inventory.Subnet {
	return find(t, inv.Subnets, func(s *inventory.Subnet) inventory.Tags { return s.Tags }, name)
}

func routeTable(t *testing.T, inv *inventory.Inventory, name string) *inventory.RouteTable {
	return find(t, inv.RouteTables, func(r *inventory.RouteTable) inventory.Tags { return r.Tags }, name)
}

// liveRuleNamed finds a live rule by its Name tag.
func liveRuleNamed(t *testing.T, g *inventory.SecurityGroup, name string) *inventory.Rule {
	for _, rs := range [][]inventory.Rule{g.Ingress, g.Egress} {
		for i := range rs {
			if rs[i].Tags["Name"] == name {
				return &rs[i]
			}
		}
	}
	t.Fatalf("group %s has no rule named %s", g.ID, name)
	return nil
}

// removeID drops an ID from a list.
func removeID(l []string, id string) []string {
	return slices.DeleteFunc(slices.Clone(l), func(s string) bool { return s == id })
}

const (
	pool      = "drift-test-pool-general"
	master    = "drift-test-masters-master-0"
	mastersSG = "drift-test-masters-masters"
	apiLBSG   = "drift-test-masters-api-lb"
	subnetA   = "drift-test-network-private-us-east-1a"
	subnetB   = "drift-test-network-private-us-east-1b"
	privRTB   = "drift-test-network-private-us-east-1a"
)

func TestEachChangeIsOneDriftOfItsKind(t *testing.T) {
	cases := []struct {
		name   string
		change func(t *testing.T, inv *inventory.Inventory)
		// want is the one drift: kind, type, name, path.
		kind             Kind
		typ, named, path string
		planV, liveV     string
	}{
		{name: "an ingress rule added by hand, untagged",
			change: func(t *testing.T, inv *inventory.Inventory) {
				g := securityGroup(t, inv, mastersSG)
				g.Ingress = append(g.Ingress, inventory.Rule{ID: "sgr-0hand0000000001", Protocol: "tcp", FromPort: 22, ToPort: 22, CidrIPv4: "0.0.0.0/0"})
			},
			kind: Unplanned, typ: tIngress, named: mastersSG, path: "ingress", liveV: "tcp 22 from 0.0.0.0/0"},
		{name: "an egress rule added by hand, untagged",
			change: func(t *testing.T, inv *inventory.Inventory) {
				g := securityGroup(t, inv, mastersSG)
				g.Egress = append(g.Egress, inventory.Rule{ID: "sgr-0hand0000000002", Protocol: "udp", FromPort: 53, ToPort: 53, CidrIPv4: "10.0.0.2/32"})
			},
			kind: Unplanned, typ: tEgress, named: mastersSG, path: "egress", liveV: "udp 53 to 10.0.0.2/32"},
		{name: "a rule's port changed",
			change: func(t *testing.T, inv *inventory.Inventory) {
				r := liveRuleNamed(t, securityGroup(t, inv, apiLBSG), "drift-test-masters-api-lb-from-masters-api")
				r.FromPort, r.ToPort = 6444, 6444
			},
			kind: Changed, typ: tIngress, named: "drift-test-masters-api-lb-from-masters-api", path: "ports", planV: "6443", liveV: "6444"},
		{name: "a rule deleted",
			change: func(t *testing.T, inv *inventory.Inventory) {
				g := securityGroup(t, inv, mastersSG)
				g.Ingress = slices.DeleteFunc(g.Ingress, func(r inventory.Rule) bool { return r.Tags["Name"] == "drift-test-masters-masters-from-nodes-kubelet" })
			},
			kind: Missing, typ: tIngress, named: "drift-test-masters-masters-from-nodes-kubelet"},
		{name: "a rule's Name tag removed: still found by content, the tag is the drift",
			change: func(t *testing.T, inv *inventory.Inventory) {
				delete(liveRuleNamed(t, securityGroup(t, inv, mastersSG), "drift-test-masters-masters-from-nodes-kubelet").Tags, "Name")
			},
			kind: Changed, typ: tIngress, named: "drift-test-masters-masters-from-nodes-kubelet", path: `tags["Name"]`, planV: "drift-test-masters-masters-from-nodes-kubelet"},
		{name: "a pool's maxSize changed",
			change: func(t *testing.T, inv *inventory.Inventory) { group(t, inv, pool).MaxSize = 50 },
			kind:   Changed, typ: tASG, named: pool, path: "maxSize", planV: "5", liveV: "50"},
		{name: "a pool's minSize changed",
			change: func(t *testing.T, inv *inventory.Inventory) { group(t, inv, pool).MinSize = 0 },
			kind:   Changed, typ: tASG, named: pool, path: "minSize", planV: "1", liveV: "0"},
		{name: "a pool's instance types reordered",
			change: func(t *testing.T, inv *inventory.Inventory) {
				slices.Reverse(group(t, inv, pool).MixedInstances.InstanceTypes)
			},
			kind: Changed, typ: tASG, named: pool, path: "mixedInstancesPolicy.launchTemplate.overrides", planV: "m7i.large, m6i.large", liveV: "m6i.large, m7i.large"},
		{name: "a tag's value changed",
			change: func(t *testing.T, inv *inventory.Inventory) { subnet(t, inv, subnetA).Tags["team"] = "data" },
			kind:   Changed, typ: tSubnet, named: subnetA, path: `tags["team"]`, planV: "platform", liveV: "data"},
		{name: "a tag added",
			change: func(t *testing.T, inv *inventory.Inventory) { group(t, inv, pool).Tags["owner"] = "alice" },
			kind:   Changed, typ: tASG, named: pool, path: `tags["owner"]`, liveV: "alice"},
		{name: "a tag removed",
			change: func(t *testing.T, inv *inventory.Inventory) { delete(inv.VPCs[0].Tags, "team") },
			kind:   Changed, typ: tVPC, named: "drift-test-network-vpc", path: `tags["team"]`, planV: "platform"},
		{name: "a launch template's instance type changed",
			change: func(t *testing.T, inv *inventory.Inventory) {
				launchTemplate(t, inv, master).Data.InstanceType = "m7i.4xlarge"
			},
			kind: Changed, typ: tLT, named: master, path: "instanceType", planV: "m7i.2xlarge", liveV: "m7i.4xlarge"},
		{name: "a launch template's root volume grown",
			change: func(t *testing.T, inv *inventory.Inventory) {
				launchTemplate(t, inv, master).Data.BlockDevices[0].SizeGiB += 10
			},
			kind: Changed, typ: tLT, named: master, path: `blockDeviceMappings["/dev/sda1"].ebs.volumeSize`, planV: "100", liveV: "110"},
		{name: "a launch template's metadata opened to IMDSv1",
			change: func(t *testing.T, inv *inventory.Inventory) {
				launchTemplate(t, inv, master).Data.HTTPTokens = "optional"
			},
			kind: Changed, typ: tLT, named: master, path: "metadataOptions.httpTokens", planV: "required", liveV: "optional"},
		{name: "a launch template version made outside code",
			change: func(t *testing.T, inv *inventory.Inventory) { launchTemplate(t, inv, pool).LatestVersion = 4 },
			kind:   Changed, typ: tLT, named: pool, path: "latestVersion", planV: "3", liveV: "4"},
		{name: "a subnet missing (and with it, its uses)",
			change: func(t *testing.T, inv *inventory.Inventory) {
				id := subnet(t, inv, subnetB).ID
				inv.Subnets = slices.DeleteFunc(inv.Subnets, func(s inventory.Subnet) bool { return s.ID == id })
				for i := range inv.RouteTables {
					inv.RouteTables[i].SubnetIDs = removeID(inv.RouteTables[i].SubnetIDs, id)
				}
				for i := range inv.AutoScalingGroups {
					inv.AutoScalingGroups[i].SubnetIDs = removeID(inv.AutoScalingGroups[i].SubnetIDs, id)
				}
				for i := range inv.LoadBalancers {
					inv.LoadBalancers[i].SubnetIDs = removeID(inv.LoadBalancers[i].SubnetIDs, id)
				}
				for i := range inv.Endpoints {
					inv.Endpoints[i].SubnetIDs = removeID(inv.Endpoints[i].SubnetIDs, id)
				}
			},
			kind: Missing, typ: tSubnet, named: subnetB},
		{name: "an unplanned security group tagged for the cluster",
			change: func(t *testing.T, inv *inventory.Inventory) {
				inv.SecurityGroups = append(inv.SecurityGroups, inventory.SecurityGroup{ID: "sg-0hand0000000003", Name: "debug", VpcID: inv.VPCs[0].ID,
					Tags: inventory.Tags{"Name": "drift-test-debug", "kinfra.dev/cluster": "drift-test"}})
			},
			kind: Unplanned, typ: tSG, named: "drift-test-debug"},
		{name: "a route's target changed",
			change: func(t *testing.T, inv *inventory.Inventory) {
				rt := routeTable(t, inv, privRTB)
				for i, r := range rt.Routes {
					if r.DestinationCidr == "0.0.0.0/0" {
						rt.Routes[i].Target = inv.InternetGateways[0].ID
					}
				}
			},
			kind: Changed, typ: tRoute, named: "drift-test-network-private-us-east-1a-default", path: "natGatewayId"},
		{name: "a route added by hand",
			change: func(t *testing.T, inv *inventory.Inventory) {
				rt := routeTable(t, inv, privRTB)
				rt.Routes = append(rt.Routes, inventory.Route{DestinationCidr: "192.168.0.0/16", Target: "pcx-0123456789abcdef0"})
			},
			kind: Unplanned, typ: tRoute, named: privRTB, path: "routes", liveV: "192.168.0.0/16 → pcx-0123456789abcdef0"},
		{name: "the IPv6 default route's egress-only gateway swapped for an internet gateway",
			change: func(t *testing.T, inv *inventory.Inventory) {
				rt := routeTable(t, inv, privRTB)
				for i, r := range rt.Routes {
					if r.DestinationIpv6Cidr == "::/0" {
						rt.Routes[i].Target = inv.InternetGateways[0].ID
					}
				}
			},
			kind: Changed, typ: tRoute, named: "drift-test-network-private-us-east-1a-default-v6", path: "egressOnlyGatewayId", planV: "eigw-…", liveV: "igw-…"},
		{name: "a listener added by hand",
			change: func(t *testing.T, inv *inventory.Inventory) {
				lb := &inv.LoadBalancers[0]
				lb.Listeners = append(lb.Listeners, inventory.Listener{ARN: lb.ARN + "/l2", Port: 22, Protocol: "TCP"})
			},
			kind: Unplanned, typ: tListener, named: "drift-test-masters-api", path: "listeners", liveV: "TCP 22"},
		{name: "a subnet associated with a kinfra route table by hand",
			change: func(t *testing.T, inv *inventory.Inventory) {
				rt := routeTable(t, inv, privRTB)
				rt.SubnetIDs = append(rt.SubnetIDs, "subnet-0hand000000000004")
			},
			kind: Unplanned, typ: tAssociation, named: privRTB, path: "subnetIds", liveV: "subnet-0hand000000000004"},
		{name: "a subnet's CIDR differs",
			change: func(t *testing.T, inv *inventory.Inventory) { subnet(t, inv, subnetA).Cidr = "10.60.200.0/22" },
			kind:   Changed, typ: tSubnet, named: subnetA, path: "cidrBlock", liveV: "10.60.200.0/22"},
		{name: "the VPC's DNS hostnames turned off",
			change: func(t *testing.T, inv *inventory.Inventory) { inv.VPCs[0].EnableDNSHostnames = false },
			kind:   Changed, typ: tVPC, named: "drift-test-network-vpc", path: "enableDnsHostnames", planV: "true", liveV: "false"},
		{name: "a pool's launch template swapped",
			change: func(t *testing.T, inv *inventory.Inventory) {
				group(t, inv, pool).MixedInstances.LaunchTemplate.ID = launchTemplate(t, inv, master).ID
			},
			kind: Changed, typ: tASG, named: pool, path: "mixedInstancesPolicy.launchTemplate.launchTemplateSpecification.launchTemplateId"},
		{name: "the master group detached from the API target group",
			change: func(t *testing.T, inv *inventory.Inventory) { group(t, inv, master).TargetGroupARNs = nil },
			kind:   Changed, typ: tASG, named: master, path: "targetGroupArns", liveV: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := liveAccount(t, sharedPlan(t))
			tc.change(t, inv)
			r := compare(t, inv)
			require.Len(t, r.Drifts, 1, "%+v", r.Drifts)
			d := r.Drifts[0]
			require.Equal(t, tc.kind, d.Kind, "%+v", d)
			require.Equal(t, tc.typ, d.Type, "%+v", d)
			require.Equal(t, tc.named, d.Name, "%+v", d)
			if tc.path != "" {
				require.Equal(t, tc.path, d.Path, "%+v", d)
			}
			if tc.planV != "" {
				require.Equal(t, tc.planV, d.Plan, "%+v", d)
			}
			if tc.liveV != "" {
				require.Equal(t, tc.liveV, d.Live, "%+v", d)
			}
			require.NotEmpty(t, d.Message)
			if d.Kind != Missing {
				require.NotEmpty(t, d.ID, "%+v", d)
			}
			require.False(t, r.Clean())
		})
	}
}

func TestWhatThePlanCannotKnowIsNotDrift(t *testing.T) {
	cases := []struct {
		name   string
		change func(t *testing.T, inv *inventory.Inventory)
	}{
		{"the autoscaler changed a pool's desired capacity", func(t *testing.T, inv *inventory.Inventory) { group(t, inv, pool).DesiredCapacity = 3 }},
		{"the master group's desired capacity changed", func(t *testing.T, inv *inventory.Inventory) { group(t, inv, master).DesiredCapacity = 0 }},
		{"AWS added an aws: tag", func(t *testing.T, inv *inventory.Inventory) {
			group(t, inv, pool).Tags["aws:cloudformation:stack-name"] = "legacy"
			inv.VPCs[0].Tags["aws:createdBy"] = "someone"
		}},
		{"the roll moved the groups to a newer launch template version", func(t *testing.T, inv *inventory.Inventory) {
			group(t, inv, pool).MixedInstances.LaunchTemplate.Version = "7"
			group(t, inv, master).LaunchTemplate.Version = "7"
			for i := range inv.LaunchTemplates {
				inv.LaunchTemplates[i].DefaultVersion, inv.LaunchTemplates[i].LatestVersion = 7, 7
			}
		}},
		{"a new image and user data", func(t *testing.T, inv *inventory.Inventory) {
			lt := launchTemplate(t, inv, master)
			lt.Data.ImageID, lt.Data.UserData = "ami-0ffffffffffffffff", "#!/bin/bash\necho other\n"
		}},
		{"the cloud controller manager opened a node port for an NLB Service", func(t *testing.T, inv *inventory.Inventory) {
			g := securityGroup(t, inv, "drift-test-masters-nodes")
			g.Ingress = append(g.Ingress, inventory.Rule{ID: "sgr-0ccm000000000001", Protocol: "tcp", FromPort: 31234, ToPort: 31234,
				CidrIPv4: "0.0.0.0/0", Description: "kubernetes.io/rule/nlb/client=a0123456789abcdef"})
		}},
		{"the cloud controller manager admitted a classic load balancer's group", func(t *testing.T, inv *inventory.Inventory) {
			inv.SecurityGroups = append(inv.SecurityGroups, inventory.SecurityGroup{ID: "sg-0elb000000000001", Name: "k8s-elb-a0123456789abcdef",
				VpcID: inv.VPCs[0].ID, Tags: inventory.Tags{"kubernetes.io/cluster/drift-test": "owned"}})
			g := securityGroup(t, inv, "drift-test-masters-nodes")
			g.Ingress = append(g.Ingress, inventory.Rule{ID: "sgr-0ccm000000000002", Protocol: "-1", FromPort: -1, ToPort: -1, ReferencedGroupID: "sg-0elb000000000001"})
		}},
		{"an untagged resource in the VPC that is not the cluster's", func(t *testing.T, inv *inventory.Inventory) {
			inv.SecurityGroups = append(inv.SecurityGroups, inventory.SecurityGroup{ID: "sg-0other00000000001", Name: "bastion", VpcID: inv.VPCs[0].ID, Tags: inventory.Tags{"Name": "bastion"}})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := liveAccount(t, sharedPlan(t))
			tc.change(t, inv)
			r := compare(t, inv)
			require.Empty(t, r.Drifts)
			require.True(t, r.Clean())
		})
	}
}

func TestAnEmptyAccountMissesEveryTopLevelResourceAndNothingElse(t *testing.T) {
	p := sharedPlan(t)
	r := compare(t, &inventory.Inventory{Region: "us-east-1"})
	want := 0
	for _, res := range p.Resources {
		if comparedTypes[res.Type] && !childTypes[res.Type] {
			want++
		}
	}
	require.Len(t, r.Drifts, want)
	for _, d := range r.Drifts {
		require.Equal(t, Missing, d.Kind)
		require.False(t, childTypes[d.Type], "a child of a missing parent is not reported again: %+v", d)
	}
	require.Empty(t, r.Compared)
}

func TestNotComparedSaysWhatAndWhy(t *testing.T) {
	r := compare(t, liveAccount(t, sharedPlan(t)))
	reasons := map[string][]string{}
	for _, o := range r.NotCompared {
		require.NotEmpty(t, o.Items, o.Reason)
		reasons[o.Reason] = o.Items
	}
	contains := func(why, item string) {
		t.Helper()
		require.True(t, slices.ContainsFunc(reasons[why], func(s string) bool { return strings.HasPrefix(s, item+" (") }), "%q not under %q: %v", item, why, reasons[why])
	}
	contains(whyOtherType, "aws:iam/role:Role")
	contains(whyOtherType, "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway")
	contains(whyDesired, "aws:autoscaling/group:Group desiredCapacity")
	require.True(t, slices.Contains(reasons[whyDesired], "aws:autoscaling/group:Group desiredCapacity (2)"))
	contains(whyVersion, "aws:autoscaling/group:Group launchTemplate.version")
	contains(whyVersion, "aws:autoscaling/group:Group mixedInstancesPolicy.launchTemplate.launchTemplateSpecification.version")
	contains(whyImage, "aws:ec2/launchTemplate:LaunchTemplate imageId")
	contains(whyUserData, "aws:ec2/launchTemplate:LaunchTemplate userData")
	contains(whyRandomName, "aws:ec2/launchTemplate:LaunchTemplate iamInstanceProfile.arn")
	contains(whyNotRead, "aws:lb/targetGroup:TargetGroup deregistrationDelay")
	contains(whyNotRead, "aws:ec2/launchTemplate:LaunchTemplate metadataOptions.httpEndpoint")
	// What is compared is not listed as not compared.
	for _, items := range reasons {
		for _, it := range items {
			for _, compared := range []string{tASG + " maxSize", tSubnet + " cidrBlock", tLT + " instanceType", tIngress + " fromPort",
				tSG + " tags", tASG + " tags[].key", tLT + " blockDeviceMappings[].ebs.volumeSize", tRoute + " natGatewayId"} {
				require.False(t, strings.HasPrefix(it, compared+" "), "%q is compared but listed: %q", compared, it)
			}
		}
	}
	// A listener's tags are not read: said so.
	contains(whyNotRead, tListener+" tags")
	// Not a Pulumi component or provider.
	for _, it := range reasons[whyOtherType] {
		require.False(t, strings.HasPrefix(it, "kinfra:") || strings.HasPrefix(it, "pulumi:"), it)
	}
}

func TestCompareRefusesWhatItCannotCompare(t *testing.T) {
	p := sharedPlan(t)
	_, err := Compare(&plan.Plan{Stack: "x"}, &inventory.Inventory{})
	require.ErrorContains(t, err, "plan has no cluster configuration")
	_, err = Compare(p, &inventory.Inventory{FromTemplate: true})
	require.ErrorContains(t, err, "CloudFormation template")
	_, err = Compare(p, &inventory.Inventory{Region: "eu-west-1"})
	require.ErrorContains(t, err, "the inventory is of eu-west-1, the stack's region is us-east-1")
	_, err = Compare(p, nil)
	require.Error(t, err)
}
