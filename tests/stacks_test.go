// Package tests holds stack-level tests: every committed stack plans cleanly
// and keeps its invariants, and the library can be consumed on its own.
package tests

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/components/workers"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/review/findings"
	"github.com/kinfra-dev/kinfra/review/plan"
	"github.com/kinfra-dev/kinfra/spec"
)

func committedStacks(t *testing.T) []string {
	t.Helper()
	files, err := stackfile.Files("../stacks")
	require.NoError(t, err)
	sort.Strings(files)
	return files
}

// planStackFile loads a stack file and plans it.
func planStackFile(t testing.TB, file string) (stackfile.File, *plan.Plan) {
	t.Helper()
	sf, err := stackfile.Load(file)
	require.NoError(t, err)
	p, err := plan.Run(sf)
	require.NoError(t, err)
	return sf, p
}

func TestTheThreeProductionRegionsAreCommitted(t *testing.T) {
	var names []string
	for _, f := range committedStacks(t) {
		names = append(names, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Pulumi."), ".yaml"))
	}
	require.Subset(t, names, []string{"us-east-1", "eu-west-1", "ap-southeast-2"})
}

func TestEveryCommittedStackPlansCleanlyAndKeepsItsInvariants(t *testing.T) {
	for _, file := range committedStacks(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			sf, p := planStackFile(t, file)
			require.Empty(t, findings.Errors(p.Findings), "no error findings")
			require.NotNil(t, p.Config)
			require.Equal(t, sf.Config["aws:region"], p.Config.Region)
			require.Equal(t, strings.TrimPrefix(strings.TrimSuffix(filepath.Base(file), ".yaml"), "Pulumi."), p.Config.Region,
				"stacks are named after their region")
			checkInvariants(t, p)
		})
	}
}

// checkInvariants asserts what must hold for any stack kinfra plans.
func checkInvariants(t *testing.T, p *plan.Plan) {
	c := p.Config
	zones := c.Network.AvailabilityZones
	byURN := map[string]mockaws.Resource{}
	for _, r := range p.Resources {
		require.NotContains(t, byURN, r.URN, "URNs are unique")
		byURN[r.URN] = r
	}
	// One tree under the cluster component, every name prefixed by the cluster's.
	roots := 0
	for _, r := range p.Resources {
		if _, ok := byURN[r.Parent]; !ok {
			roots++
			require.Equal(t, "kinfra:cluster:Cluster", r.Type)
		}
		require.True(t, strings.HasPrefix(r.Name, c.Name), "%s is prefixed by the cluster name", r.Name)
	}
	require.Equal(t, 1, roots)
	checkMasters(t, p)
	checkAddons(t, p)

	if c.Network.Existing != nil {
		require.Empty(t, mockaws.OfType(p.Resources, "aws:ec2/vpc:Vpc"))
		return
	}
	vpcs := mockaws.OfType(p.Resources, "aws:ec2/vpc:Vpc")
	require.Len(t, vpcs, 1)
	vpc := netip.MustParsePrefix(vpcs[0].Inputs["cidrBlock"].(string))
	subnets := mockaws.OfType(p.Resources, "aws:ec2/subnet:Subnet")
	require.Len(t, subnets, 2*len(zones), "a private and a public subnet per zone")
	var blocks []netip.Prefix
	for _, s := range subnets {
		b := netip.MustParsePrefix(s.Inputs["cidrBlock"].(string))
		require.True(t, vpc.Contains(b.Addr()) && b.Bits() > vpc.Bits(), "%s inside %s", b, vpc)
		for _, o := range blocks {
			require.False(t, o.Overlaps(b), "%s overlaps %s", o, b)
		}
		blocks = append(blocks, b)
		require.Contains(t, zones, s.Inputs["availabilityZone"])
	}
	// Pods and Services never overlap the VPC.
	for _, k := range []string{c.Kubernetes.PodCidr, c.Kubernetes.ServiceCidr} {
		require.False(t, netip.MustParsePrefix(k).Overlaps(vpc))
	}

	nats := mockaws.OfType(p.Resources, "aws:ec2/natGateway:NatGateway")
	want := map[string]int{spec.NATPerAZ: len(zones), spec.NATSingle: 1, spec.NATNone: 0}[c.Network.NatGateways]
	require.Len(t, nats, want, "NAT gateways for mode %s", c.Network.NatGateways)
	natZone := map[string]string{}
	for _, n := range nats {
		natZone[n.ID] = n.Name[strings.LastIndex(n.Name, "-nat-")+5:]
	}
	for _, r := range mockaws.OfType(p.Resources, "aws:ec2/route:Route") {
		nat, _ := r.Inputs["natGatewayId"].(string)
		if nat == "" || c.Network.NatGateways != spec.NATPerAZ {
			continue
		}
		require.True(t, strings.Contains(r.Name, "-private-"+natZone[nat]+"-"), "route %s uses the NAT of its own zone", r.Name)
	}
	if c.Network.FlowLogs.On() {
		logs := mockaws.OfType(p.Resources, "aws:ec2/flowLog:FlowLog")
		require.Len(t, logs, 1)
		require.Equal(t, vpcs[0].ID, logs[0].Inputs["vpcId"])
	}
}

func TestAStackWithOverlappingOrUndersizedNetworksRegistersNothing(t *testing.T) {
	file := writeStack(t, `
config:
  aws:region: us-east-1
  kinfra:cluster:
    name: broken
    network:
      vpcCidr: 10.0.0.0/16
      availabilityZones: [us-east-1a, us-east-1b, us-east-1c]
      privateSubnetPrefixLength: 24
    kubernetes:
      podCidr: 10.0.128.0/17
      nodeCidrMaskSize: 24
    nodePools:
      - name: general
        maxSize: 600
`)
	sf, err := stackfile.Load(file)
	require.NoError(t, err)
	p, err := plan.Run(sf)
	require.Error(t, err)
	// Both problems in one run.
	require.ErrorContains(t, err, "cluster.kubernetes.podCidr: 10.0.128.0/17 overlaps cluster.network.vpcCidr 10.0.0.0/16; pods, Services and the VPC need disjoint blocks or traffic is misrouted")
	require.ErrorContains(t, err, "cluster.network.privateSubnetPrefixLength: private subnet 10.0.0.0/24 holds 251 addresses, but its zone needs 302: 301 nodes (its masters, and each pool's maxSize spread over the pool's zones left after one zone fails) and 1 endpoint and load balancer interfaces; use a /23 or larger")
	require.ErrorContains(t, err, "cluster.kubernetes.podCidr: 10.0.128.0/17 holds 128 node blocks of /24, but the cluster can run 603 nodes (3 masters + node pool maxSize); use a /14 or larger pod block")
	require.Empty(t, p.Resources, "an invalid stack registers nothing")

	// With the network fixed, the same stack plans.
	fixed := strings.NewReplacer("10.0.128.0/17", "10.128.0.0/14", "privateSubnetPrefixLength: 24", "privateSubnetPrefixLength: 22").Replace(mustRead(t, file))
	sf, err = stackfile.Load(writeStack(t, fixed))
	require.NoError(t, err)
	p, err = plan.Run(sf)
	require.NoError(t, err)
	require.NotEmpty(t, p.Resources)
}

// checkMasters asserts the control plane's safety invariants: one protected,
// retained etcd volume and one single-instance group per slot, slot i in
// zone i mod zones, no zone with a majority, IMDSv2 on every launch template.
func checkMasters(t *testing.T, p *plan.Plan) {
	c := p.Config
	zones := c.Network.AvailabilityZones
	vols := mockaws.OfType(p.Resources, "aws:ebs/volume:Volume")
	require.Len(t, vols, c.Masters.Count)
	perZone := map[string]int{}
	for i := range c.Masters.Count {
		var vol mockaws.Resource
		for _, v := range vols {
			if strings.HasSuffix(v.Name, fmt.Sprintf("-etcd-%d", i)) {
				vol = v
			}
		}
		require.NotEmpty(t, vol.Name, "slot %d has an etcd volume", i)
		require.True(t, vol.Options.Protect && vol.Options.RetainOnDelete, "%s is protected and retained", vol.Name)
		require.Equal(t, zones[i%len(zones)], vol.Inputs["availabilityZone"], "slot %d lives in zone %d", i, i%len(zones))
		perZone[vol.Inputs["availabilityZone"].(string)]++
	}
	if c.Masters.Count >= 3 {
		for z, n := range perZone {
			require.LessOrEqual(t, n, c.Masters.Count/2, "zone %s holds no majority", z)
		}
	}
	groups := 0
	for _, g := range mockaws.OfType(p.Resources, "aws:autoscaling/group:Group") {
		if strings.Contains(g.Name, "-masters-master-") {
			groups++
			require.Equal(t, 1.0, g.Inputs["maxSize"])
		}
	}
	require.Equal(t, c.Masters.Count, groups)
	for _, lt := range mockaws.OfType(p.Resources, "aws:ec2/launchTemplate:LaunchTemplate") {
		md := lt.Inputs["metadataOptions"].(map[string]any)
		require.Equal(t, "required", md["httpTokens"], "%s requires IMDSv2", lt.Name)
	}
}

func TestUSEast1RunsThreeMasterGroupsAcrossThreeZones(t *testing.T) {
	sf, err := stackfile.Load("../stacks/Pulumi.us-east-1.yaml")
	require.NoError(t, err)
	p, err := plan.Run(sf)
	require.NoError(t, err)
	zones := map[string]bool{}
	for _, v := range mockaws.OfType(p.Resources, "aws:ebs/volume:Volume") {
		zones[v.Inputs["availabilityZone"].(string)] = true
	}
	require.Equal(t, map[string]bool{"us-east-1a": true, "us-east-1b": true, "us-east-1c": true}, zones)
	for _, typ := range []string{"aws:autoscaling/group:Group", "aws:ec2/launchTemplate:LaunchTemplate", "aws:iam/instanceProfile:InstanceProfile"} {
		var masters []string
		for _, r := range mockaws.OfType(p.Resources, typ) {
			if strings.HasSuffix(r.Parent, "kinfra:masters:ControlPlane::prod-use1-masters") {
				masters = append(masters, r.Name)
			}
		}
		require.Len(t, masters, 3, typ)
	}
	require.Len(t, mockaws.OfType(p.Resources, "aws:lb/loadBalancer:LoadBalancer"), 1)
	records := map[string]bool{}
	for _, r := range mockaws.OfType(p.Resources, "aws:route53/record:Record") {
		records[r.Inputs["name"].(string)] = true
	}
	require.Equal(t, map[string]bool{
		"api.prod-use1.k8s.internal": true, "etcd-0.prod-use1.k8s.internal": true,
		"etcd-1.prod-use1.k8s.internal": true, "etcd-2.prod-use1.k8s.internal": true,
	}, records)
}

// us-east-1 runs the pool kinds a production cluster needs: on-demand
// general capacity, spot above a small on-demand base, and tainted dedicated
// nodes. Every pool's group waits for the control plane.
func TestUSEast1RunsOnDemandSpotAndDedicatedPools(t *testing.T) {
	sf, err := stackfile.Load("../stacks/Pulumi.us-east-1.yaml")
	require.NoError(t, err)
	p, err := plan.Run(sf)
	require.NoError(t, err)
	groups := map[string]mockaws.Resource{}
	var masterGroups []string
	for _, g := range mockaws.OfType(p.Resources, "aws:autoscaling/group:Group") {
		if strings.Contains(g.Parent, "kinfra:workers:NodePool") {
			groups[g.Name] = g
		} else {
			masterGroups = append(masterGroups, g.URN)
		}
	}
	require.Len(t, groups, 4)
	for name, g := range groups {
		require.Equal(t, []string{workers.RolledGroupSetting, "desiredCapacity"}, g.Options.IgnoreChanges, "%s: kinfra roll replaces its nodes, cluster-autoscaler sizes it", name)
		require.Subset(t, g.Options.Dependencies, masterGroups, "%s launches nodes once the API answers", name)
	}
	dist := func(name string) map[string]any {
		return groups[name].Inputs["mixedInstancesPolicy"].(map[string]any)["instancesDistribution"].(map[string]any)
	}
	require.EqualValues(t, 100, dist("prod-use1-pool-general")["onDemandPercentageAboveBaseCapacity"])
	require.EqualValues(t, 0, dist("prod-use1-pool-batch-spot")["onDemandPercentageAboveBaseCapacity"])
	require.EqualValues(t, 2, dist("prod-use1-pool-batch-spot")["onDemandBaseCapacity"])
	require.Equal(t, true, groups["prod-use1-pool-batch-spot"].Inputs["capacityRebalance"])
	require.Len(t, groups["prod-use1-pool-ingress"].Inputs["vpcZoneIdentifiers"], 3, "the ingress pool runs in three of six zones")
	require.Len(t, mockaws.OfType(p.Resources, "aws:autoscaling/lifecycleHook:LifecycleHook"), 4)
	require.Len(t, mockaws.OfType(p.Resources, "aws:imagebuilder/image:Image"), 2, "a master and a node image are built in the stack")
}

// checkAddons asserts what must hold for any stack's add-ons.
func checkAddons(t *testing.T, p *plan.Plan) {
	c := p.Config
	providers := mockaws.OfType(p.Resources, "pulumi:providers:kubernetes")
	if !c.Addons.On() {
		require.Empty(t, providers)
		return
	}
	require.Len(t, providers, 1)
	provider := providers[0]
	require.Equal(t, mockaws.Secret, provider.Inputs["kubeconfig"], "the admin kubeconfig is a secret")
	// Created after every master group, which completes once its master
	// answers behind the load balancer.
	for _, g := range mockaws.OfType(p.Resources, "aws:autoscaling/group:Group") {
		if strings.Contains(g.Name, "-masters-") {
			require.Contains(t, provider.Options.Dependencies, g.URN)
		}
	}
	kube := 0
	for _, r := range p.Resources {
		if strings.HasPrefix(r.Type, "kubernetes:") {
			kube++
			// Never the default provider, which would deploy to whatever
			// cluster the runner's kubeconfig names.
			require.Equal(t, provider.URN, r.Options.Provider, "%s %s uses the cluster's provider", r.Type, r.Name)
		}
	}
	require.NotZero(t, kube)
	proxy := mockaws.OfType(p.Resources, "kubernetes:apps/v1:DaemonSet")
	require.Equal(t, c.ProxyDeployed(), len(proxy) == 1, "kube-proxy runs exactly when the CNI does not replace it")
}

// release is the Helm release named name in a plan.
func release(t *testing.T, p *plan.Plan, name string) map[string]any {
	t.Helper()
	for _, r := range mockaws.OfType(p.Resources, "kubernetes:helm.sh/v3:Release") {
		if r.Name == name {
			return r.Inputs
		}
	}
	t.Fatalf("no release %s", name)
	return nil
}

func planStack(t testing.TB, name string) *plan.Plan {
	t.Helper()
	_, p := planStackFile(t, filepath.Join("..", "stacks", "Pulumi."+name+".yaml"))
	return p
}

func TestAPSoutheast2RunsCiliumInPlaceOfKubeProxy(t *testing.T) {
	p := planStack(t, "ap-southeast-2")
	values := release(t, p, "prod-apse2-addons-cilium")["values"].(map[string]any)
	require.Equal(t, "true", values["kubeProxyReplacement"])
	require.Equal(t, "api.prod-apse2.k8s.internal", values["k8sServiceHost"], "Cilium reaches the API without the Service it implements")
	require.Equal(t, "crd", values["identityAllocationMode"])
	require.Empty(t, mockaws.OfType(p.Resources, "kubernetes:apps/v1:DaemonSet"), "no kube-proxy")
	for _, cm := range mockaws.OfType(p.Resources, "kubernetes:core/v1:ConfigMap") {
		require.NotContains(t, cm.Name, "kube-proxy")
	}
}

func TestEUWest1RunsCalicoNFTablesBesideNFTablesKubeProxy(t *testing.T) {
	p := planStack(t, "eu-west-1")
	release(t, p, "prod-euw1-addons-calico")
	installations := mockaws.OfType(p.Resources, "kubernetes:operator.tigera.io/v1:Installation")
	require.Len(t, installations, 1)
	network := installations[0].Inputs["spec"].(map[string]any)["calicoNetwork"].(map[string]any)
	require.Equal(t, "Nftables", network["linuxDataplane"])
	require.Equal(t, p.Config.Kubernetes.PodCidr, network["ipPools"].([]any)[0].(map[string]any)["cidr"])
	var config string
	for _, cm := range mockaws.OfType(p.Resources, "kubernetes:core/v1:ConfigMap") {
		if cm.Name == "prod-euw1-addons-kube-proxy" {
			config = cm.Inputs["data"].(map[string]any)["config.conf"].(string)
		}
	}
	require.Contains(t, config, "\nmode: nftables\n")
	require.Len(t, mockaws.OfType(p.Resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy"), 2, "default-deny and DNS in default")
}

// Every committed stack's plan has every control-plane alarm issue 15
// asks for, with its threshold, notifying the stack's alarm actions; and
// the backup-age alarm when it takes backups.
func TestEveryCommittedStackHasTheControlPlaneAlarms(t *testing.T) {
	for _, name := range stackNames(t) {
		p := planStack(t, name)
		c := p.Config.WithDefaults()
		alarms := map[string]map[string]any{}
		for _, r := range mockaws.OfType(p.Resources, "aws:cloudwatch/metricAlarm:MetricAlarm") {
			alarms[r.Inputs["name"].(string)] = r.Inputs
		}
		want := map[string]float64{c.Name + "-master-boot-failed": 1}
		for _, a := range masters.HealthAlarms(c.Masters.Count, c.JoinTokens.TTLHours) {
			want[c.Name+"-"+a.Name] = a.Threshold
		}
		require.Equal(t, 1.0, want[c.Name+"-etcd-member-unhealthy"], name)
		require.Equal(t, 80.0, want[c.Name+"-etcd-database-quota"], "%s: percent of the quota", name)
		require.Equal(t, float64(3*c.Masters.Count), want[c.Name+"-etcd-leader-changes"], "%s: 3 changes, counted by every member", name)
		require.Equal(t, 30.0, want[c.Name+"-master-certificate-expiring"], "%s: days", name)
		require.Equal(t, float64(c.JoinTokens.TTLHours)/3, want[c.Name+"-join-token-expiring"], "%s: hours, a third of the TTL", name)
		if c.Backup.On() {
			want[c.Name+"-etcd-backup-age"] = float64(masters.BackupAgeThreshold(c.Backup.IntervalMinutes))
		}
		for alarm, threshold := range want {
			in, ok := alarms[alarm]
			require.True(t, ok, "%s: no alarm %s", name, alarm)
			require.Equal(t, threshold, in["threshold"], "%s: %s", name, alarm)
			actions := c.Alarms.Actions
			if alarm == c.Name+"-etcd-backup-age" {
				actions = c.BackupAlarmActions()
			}
			if len(actions) == 0 {
				require.Nil(t, in["alarmActions"], "%s: %s", name, alarm)
			} else {
				var got []string
				for _, a := range in["alarmActions"].([]any) {
					got = append(got, a.(string))
				}
				require.Equal(t, actions, got, "%s: %s", name, alarm)
			}
		}
	}
}

// cluster.New resolves the spec once and hands each component its resolved
// sections. network.New and workers.New, which library callers use on their
// own, apply their section's defaults again; that is safe only because a
// resolved spec is a fixed point of its defaults, which this holds.
func TestAResolvedSpecIsAFixedPointOfItsDefaults(t *testing.T) {
	for _, file := range committedStacks(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, p := planStackFile(t, file)
			eff := *p.Config
			again, err := spec.Resolve(eff)
			require.NoError(t, err)
			require.Equal(t, eff, again, "resolving a resolved spec changes nothing")
			require.Equal(t, eff.Network, eff.Network.WithDefaults(), "network.New's defaults")
			for _, pool := range eff.NodePools {
				require.Equal(t, pool, pool.WithDefaults(eff.Kubernetes.NodeVersion, eff.Images), "workers.New's defaults of pool %s", pool.Name)
			}
			withoutPools := eff
			withoutPools.NodePools = nil
			resolvedWithoutPools := withoutPools.WithDefaults()
			// The add-ons' defaults follow the pools, which workers.New does
			// not read.
			resolvedWithoutPools.Addons, resolvedWithoutPools.NodePools = eff.Addons, nil
			require.Equal(t, withoutPools, resolvedWithoutPools, "workers.New's defaults of the cluster")
		})
	}
}
