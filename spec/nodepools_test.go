package spec_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/spec"
)

func ptr[T any](v T) *T { return &v }

func TestNodePoolDefaults(t *testing.T) {
	eff, err := spec.Resolve(valid())
	require.NoError(t, err)
	p := eff.NodePools[0]
	require.Equal(t, []string{spec.DefaultNodeType}, p.InstanceTypes)
	require.Equal(t, 3, *p.DesiredSize, "desired starts at minSize")
	require.Equal(t, 110, p.MaxPods)
	require.Equal(t, 100, *p.OnDemandPercentageAboveBase)
	require.False(t, *p.CapacityRebalance, "no spot, no rebalancing")
	require.True(t, p.Image.Pipeline, "images are built in the stack by default")
	require.True(t, eff.Masters.Image.Pipeline)
	// EKS formulas: 255Mi + 11Mi per pod; cpu for 8 vCPUs = 60+10+5+5+4*2.5.
	require.Equal(t, map[string]string{"cpu": "90m", "memory": "1465Mi", "ephemeral-storage": "1Gi"}, p.KubeReserved)
	require.Equal(t, "500Mi", p.EvictionHard["memory.available"])
	require.Equal(t, 90, *p.InstanceRefresh.MinHealthyPercentage)
	require.True(t, *p.InstanceRefresh.SkipMatching)
	require.True(t, p.AutoscalerOn())
	require.Equal(t, spec.ProxyNFTables, eff.KubeProxy.Mode)

	spot := valid()
	spot.NodePools[0].OnDemandPercentageAboveBase = ptr(0)
	spot.NodePools[0].InstanceTypes = []string{"m7i.2xlarge", "m6i.2xlarge"}
	eff, err = spec.Resolve(spot)
	require.NoError(t, err)
	require.True(t, *eff.NodePools[0].CapacityRebalance, "spot pools rebalance by default")

	// A pool's own image selection switches the pipeline default off, and
	// a stack without the pipeline looks the node image up by name.
	off := valid()
	off.Images.Enabled = ptr(false)
	eff, err = spec.Resolve(off)
	require.NoError(t, err)
	require.False(t, eff.NodePools[0].Image.Pipeline)
	require.Equal(t, "kinfra-node-k8s-v1.37.2-*", eff.NodePools[0].Image.Name)
	require.Equal(t, "kinfra-master-k8s-v1.37.2-*", eff.Masters.Image.Name)
}

func TestEachBadNodePoolHasItsExactMessage(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(p *spec.NodePool, c *spec.Cluster)
		want   []string
	}{
		{"desired above max", func(p *spec.NodePool, _ *spec.Cluster) { p.DesiredSize = ptr(500) },
			[]string{"cluster.nodePools[0].desiredSize: 500 is not allowed; use minSize (3) to maxSize (100)"}},
		{"zone not in cluster", func(p *spec.NodePool, _ *spec.Cluster) { p.Zones = []string{"us-east-1a", "us-east-1d"} },
			[]string{`cluster.nodePools[0].zones[1]: "us-east-1d" is not one of the cluster's zones (us-east-1a, us-east-1b, us-east-1c)`}},
		{"zones without pinned cluster zones", func(p *spec.NodePool, c *spec.Cluster) {
			c.Network.AvailabilityZones = nil
			p.Zones = []string{"us-east-1a"}
		}, []string{`cluster.nodePools[0].zones[0]: "us-east-1a" names a zone, but cluster.network.availabilityZones is not pinned; pin the cluster's zones to place pools in some of them`}},
		{"bad instance type", func(p *spec.NodePool, _ *spec.Cluster) { p.InstanceTypes = []string{"m7i 2xlarge"} },
			[]string{`cluster.nodePools[0].instanceTypes[0]: "m7i 2xlarge" is not an EC2 instance type (e.g. m7i.2xlarge)`}},
		{"mixed architectures", func(p *spec.NodePool, _ *spec.Cluster) {
			p.InstanceTypes = []string{"m7i.2xlarge", "m7g.2xlarge"}
			p.Image = spec.Image{ID: "ami-0123456789abcdef0"}
		}, []string{"cluster.nodePools[0].instanceTypes[1]: m7g.2xlarge is arm64, but m7i.2xlarge is x86_64; one pool launches one AMI, so its types must share an architecture"}},
		{"arm pool on the x86 pipeline", func(p *spec.NodePool, _ *spec.Cluster) { p.InstanceTypes = []string{"m7g.2xlarge"} },
			[]string{"cluster.nodePools[0].instanceTypes[0]: m7g.2xlarge is arm64, but the pipeline builds x86_64 images (cluster.images.architecture); use x86_64 types or give the pool its own image"}},
		{"pipeline image without a pipeline", func(p *spec.NodePool, c *spec.Cluster) {
			c.Images.Enabled = ptr(false)
			p.Image = spec.Image{Pipeline: true}
		}, []string{"cluster.nodePools[0].image.pipeline: true, but this stack builds no images (cluster.images.enabled is false); give an id or a lookup"}},
		{"spot with one type", func(p *spec.NodePool, _ *spec.Cluster) { p.OnDemandPercentageAboveBase = ptr(20) },
			[]string{"cluster.nodePools[0].instanceTypes: one type for a spot pool; list several of the same size and architecture (e.g. m7i, m6i, m6a) so that a spot shortage of one type does not empty the pool"}},
		{"on-demand percentage", func(p *spec.NodePool, _ *spec.Cluster) { p.OnDemandPercentageAboveBase = ptr(150) },
			[]string{"cluster.nodePools[0].onDemandPercentageAboveBase: 150 is not allowed; use 0 (all spot above the base) to 100 (no spot)"}},
		{"spot strategy", func(p *spec.NodePool, _ *spec.Cluster) { p.SpotAllocationStrategy = "cheapest" },
			[]string{`cluster.nodePools[0].spotAllocationStrategy: "cheapest" is not allowed; use price-capacity-optimized, capacity-optimized, capacity-optimized-prioritized or lowest-price`}},
		{"rebalance without spot", func(p *spec.NodePool, _ *spec.Cluster) { p.CapacityRebalance = ptr(true) },
			[]string{"cluster.nodePools[0].capacityRebalance: true, but the pool runs no spot nodes (onDemandPercentageAboveBase is 100); capacity rebalancing only replaces spot nodes"}},
		{"maxPods beyond the node pod block", func(p *spec.NodePool, _ *spec.Cluster) { p.MaxPods = 300 },
			[]string{"cluster.nodePools[0].maxPods: 300 pods cannot fit a node's /24 pod block (254 addresses); lower maxPods or use a kubernetes.nodeCidrMaskSize of /23"}},
		{"maxPods beyond the instance's ENI addresses", func(p *spec.NodePool, c *spec.Cluster) {
			c.CNI = spec.CNI{Provider: spec.CNICilium, Tunnel: spec.TunnelNone}
			p.InstanceTypes = []string{"m7i.large"}
			p.MaxPods = 50
			p.KubeReserved = map[string]string{"memory": "500Mi"}
		}, []string{"cluster.nodePools[0].maxPods: 50 pods cannot fit m7i.large: with native routing each pod takes a VPC address, and its 3 network interfaces hold 27 secondary addresses. Lower maxPods to 27 or fewer, or use a type with more network interfaces"}},
		{"restricted label namespace", func(p *spec.NodePool, _ *spec.Cluster) {
			p.Labels = map[string]string{"node-role.kubernetes.io/worker": "", "node.kubernetes.io/lifecycle": "spot"}
		}, []string{`cluster.nodePools[0].labels["node-role.kubernetes.io/worker"]: is in a namespace the kubelet may not set (the node would fail to register); use node.kubernetes.io/..., node-role labels set by an admin afterwards, or your own prefix`}},
		{"kinfra's own label", func(p *spec.NodePool, _ *spec.Cluster) { p.Labels = map[string]string{"kinfra.dev/node-pool": "x"} },
			[]string{`cluster.nodePools[0].labels["kinfra.dev/node-pool"]: is set by kinfra to the pool's name; remove it`}},
		{"bad label value", func(p *spec.NodePool, _ *spec.Cluster) { p.Labels = map[string]string{"team": "data platform"} },
			[]string{`cluster.nodePools[0].labels["team"]: value "data platform" is not a label value: at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit`}},
		{"taint effect", func(p *spec.NodePool, _ *spec.Cluster) {
			p.Taints = []spec.Taint{{Key: "dedicated", Value: "ingress", Effect: "NoRun"}}
		}, []string{`cluster.nodePools[0].taints[0].effect: "NoRun" is not allowed; use NoSchedule, PreferNoSchedule or NoExecute`}},
		{"duplicate taint", func(p *spec.NodePool, _ *spec.Cluster) {
			p.Taints = []spec.Taint{{Key: "dedicated", Effect: "NoSchedule"}, {Key: "dedicated", Value: "x", Effect: "NoSchedule"}}
		}, []string{"cluster.nodePools[0].taints[1]: dedicated with effect NoSchedule is listed twice"}},
		{"taint key with two effects under the autoscaler", func(p *spec.NodePool, _ *spec.Cluster) {
			p.Taints = []spec.Taint{{Key: "dedicated", Effect: "NoSchedule"}, {Key: "dedicated", Effect: "NoExecute"}}
		}, []string{"cluster.nodePools[0].taints[1]: dedicated is listed with two effects, but cluster-autoscaler's node-template tag holds one effect per key, so it would plan nodes without one of them; use one effect or turn the pool's autoscaler off"}},
		{"reserved resource", func(p *spec.NodePool, _ *spec.Cluster) {
			p.SystemReserved = map[string]string{"gpu": "1", "memory": "lots"}
		},
			[]string{
				`cluster.nodePools[0].systemReserved["gpu"]: is not a resource the kubelet reserves; use cpu, ephemeral-storage, memory or pid`,
				`cluster.nodePools[0].systemReserved["memory"]: "lots" is not a quantity (e.g. 500m, 1Gi)`,
			}},
		{"eviction threshold", func(p *spec.NodePool, _ *spec.Cluster) {
			p.EvictionHard = map[string]string{"memory.free": "1Gi", "nodefs.available": "120%"}
		}, []string{
			`cluster.nodePools[0].evictionHard["memory.free"]: is not an eviction signal; use imagefs.available, imagefs.inodesFree, containerfs.available, containerfs.inodesFree, memory.available, nodefs.available, nodefs.inodesFree or pid.available`,
			`cluster.nodePools[0].evictionHard["nodefs.available"]: "120%" is not allowed; a percentage threshold is above 0% and below 100%`,
		}},
		{"reservations leave no room for pods", func(p *spec.NodePool, _ *spec.Cluster) {
			p.InstanceTypes = []string{"t3.medium"}
			p.MaxPods = 110
		}, []string{"cluster.nodePools[0].instanceTypes: t3.medium has 4096 MiB of memory, and kubeReserved, systemReserved and the memory eviction threshold hold back 2165 MiB of it, leaving less than half for pods; use a larger type or lower the reservations (kubeReserved memory grows with maxPods)"}},
		{"refresh range", func(p *spec.NodePool, _ *spec.Cluster) {
			p.InstanceRefresh = spec.InstanceRefresh{MinHealthyPercentage: ptr(50), MaxHealthyPercentage: 200}
		}, []string{"cluster.nodePools[0].instanceRefresh.maxHealthyPercentage: 200 is more than 100 above minHealthyPercentage (50); AWS refuses a wider range"}},
		{"replacing matching nodes", func(p *spec.NodePool, _ *spec.Cluster) { p.InstanceRefresh.SkipMatching = ptr(false) },
			[]string{"cluster.nodePools[0].instanceRefresh.skipMatching: false is not allowed: kinfra roll replaces only the nodes that do not run the declared launch template version or a listed instance type, and it runs after every `pulumi up`, which must not replace the others each time; remove the key"}},
		{"drain timeout", func(p *spec.NodePool, _ *spec.Cluster) { p.DrainTimeoutSeconds = 10 },
			[]string{"cluster.nodePools[0].drainTimeoutSeconds: 10 is not allowed; use 30 to 7200 (the lifecycle hook's heartbeat timeout)"}},
		{"too many group tags", func(p *spec.NodePool, _ *spec.Cluster) {
			p.Labels = map[string]string{}
			for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "aa", "ab", "ac", "ad", "ae", "af", "ag", "ah", "ai", "aj", "ak", "al", "am", "an"} {
				p.Labels["example.com/"+k] = "x"
			}
		}, []string{"cluster.nodePools[0]: its Auto Scaling Group would carry 51 tags (kinfra's, cluster.tags, and a cluster-autoscaler node-template tag per label and taint); AWS allows 50. Use fewer labels, taints or cluster tags"}},
		{"cluster pod block too small for the pools", func(p *spec.NodePool, c *spec.Cluster) {
			c.Kubernetes.PodCidr = "10.128.0.0/16"
			p.MaxSize = 300
		}, []string{"cluster.kubernetes.podCidr: 10.128.0.0/16 holds 256 node blocks of /24, but the cluster can run 303 nodes (3 masters + node pool maxSize); use a /15 or larger pod block, or a nodeCidrMaskSize of /25 (smaller node blocks)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.break_(&c.NodePools[0], &c)
			require.Equal(t, tc.want, messages(t, c))
		})
	}
}

func TestPodsWithVPCAddressesCountAgainstTheSubnets(t *testing.T) {
	c := valid()
	c.Network.PrivateSubnetPrefixLength = 21 // 2043 usable addresses per zone
	c.CNI = spec.CNI{Provider: spec.CNICilium, Tunnel: spec.TunnelNone}
	c.NodePools[0].MaxPods = 50
	require.Equal(t, []string{
		"cluster.network.privateSubnetPrefixLength: private subnet 10.0.0.0/21 holds 2043 addresses, but its zone needs 2552: 51 nodes (its masters, and each pool's maxSize spread over the pool's zones left after one zone fails) with their pods' VPC addresses (2551 in all) and 1 endpoint and load balancer interfaces; use a /20 or larger",
	}, messages(t, c))
	// Overlay pods use the pod block, not the subnet.
	c.CNI.Tunnel = spec.TunnelVXLAN
	require.Empty(t, messages(t, c))
}

func TestPoolsInSomeZonesLoadOnlyThoseSubnets(t *testing.T) {
	c := valid().WithDefaults()
	c.NodePools = []spec.NodePool{{Name: "a", MaxSize: 100, Zones: []string{"us-east-1a", "us-east-1b"}}}
	nodes, _, _ := c.ZoneDemand(c.Network.AvailabilityZones, 3)
	// Each of two zones must carry all 100 when the other fails.
	require.Equal(t, []int{101, 101, 1}, nodes)
}
