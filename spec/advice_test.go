package spec_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/spec"
)

// only returns the messages at path.
func only(msgs []string, path string) []string {
	var out []string
	for _, m := range msgs {
		if strings.HasPrefix(m, path+": ") {
			out = append(out, m)
		}
	}
	return out
}

// Capacity advice names only values that would pass validation themselves,
// or says plainly that none fits and why.
func TestCapacityAdviceIsAlwaysAValueThatPasses(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(c *spec.Cluster)
		path string
		want string
	}{
		"pod block: a larger one is allowed": {
			edit: func(c *spec.Cluster) { c.Kubernetes.PodCidr = "10.96.0.0/16"; c.NodePools[0].MaxSize = 1200 },
			path: "cluster.kubernetes.podCidr",
			want: "cluster.kubernetes.podCidr: 10.96.0.0/16 holds 256 node blocks of /24, but the cluster can run 1203 nodes (3 masters + node pool maxSize); use a /13 or larger pod block",
		},
		"pod block: only smaller node blocks fit (a /7 is not allowed)": {
			edit: func(c *spec.Cluster) {
				c.Kubernetes.PodCidr, c.Kubernetes.NodeCidrMaskSize = "11.0.0.0/8", 20
				c.NodePools[0].MaxSize = 5000
			},
			path: "cluster.kubernetes.podCidr",
			want: "cluster.kubernetes.podCidr: 11.0.0.0/8 holds 4096 node blocks of /20, but the cluster can run 5003 nodes (3 masters + node pool maxSize); use a nodeCidrMaskSize of /21 (smaller node blocks; no pod block larger than /8 is allowed)",
		},
		"pod block: nothing fits past 65536 nodes": {
			edit: func(c *spec.Cluster) {
				c.Kubernetes.PodCidr = "11.0.0.0/8"
				c.NodePools[0].MaxSize = 70000
			},
			path: "cluster.kubernetes.podCidr",
			want: "cluster.kubernetes.podCidr: 11.0.0.0/8 holds 65536 node blocks of /24, but the cluster can run 70003 nodes (3 masters + node pool maxSize); no pod block or node block size fits: kube-controller-manager cuts at most 65536 node blocks from a pod block (16 bits). Lower the node pools' maxSize to 65533 in all",
		},
		"service block: nothing holds more than a /12": {
			edit: func(c *spec.Cluster) { c.Kubernetes.MaxServices = 2_000_000_000 },
			path: "cluster.kubernetes.serviceCidr",
			want: "cluster.kubernetes.serviceCidr: 172.20.0.0/16 holds 65534 Service IPs, fewer than maxServices 2000000000; no service block fits: kube-apiserver's largest, a /12, holds 1048574. Lower maxServices to 1048574 or fewer",
		},
		"service block: a larger one is allowed": {
			edit: func(c *spec.Cluster) { c.Kubernetes.ServiceCidr, c.Kubernetes.MaxServices = "172.21.0.0/18", 20000 },
			path: "cluster.kubernetes.serviceCidr",
			want: "cluster.kubernetes.serviceCidr: 172.21.0.0/18 holds 16382 Service IPs, fewer than maxServices 20000; use a /17 or larger",
		},
		"carved subnet: a /16 cannot be cut from a /16 VPC, a larger VPC is allowed": {
			edit: func(c *spec.Cluster) {
				c.Network.VpcCidr = "10.0.0.0/18"
				c.NodePools[0].MaxSize = 19990
				c.Kubernetes.PodCidr = "100.64.0.0/10"
				c.Kubernetes.NodeCidrMaskSize = 26
			},
			path: "cluster.network.privateSubnetPrefixLength",
			want: "cluster.network.privateSubnetPrefixLength: private subnet 10.0.0.0/21 holds 2043 addresses, but its zone needs 9997: 9996 nodes (its masters, and each pool's maxSize spread over the pool's zones left after one zone fails) and 1 endpoint and load balancer interfaces; a /18 is needed, which does not fit beside the other zones' subnets in the /18 VPC: use a /18 private subnet in a /16 vpcCidr, or lower the node pools' maxSize",
		},
		"carved subnet: nothing fits in any VPC": {
			edit: func(c *spec.Cluster) {
				c.NodePools[0].MaxSize = 200000
				c.Kubernetes.PodCidr = "100.64.0.0/10"
				c.Kubernetes.NodeCidrMaskSize = 26
			},
			path: "cluster.network.privateSubnetPrefixLength",
			want: "cluster.network.privateSubnetPrefixLength: private subnet 10.0.0.0/19 holds 8187 addresses, but its zone needs 100002: 100001 nodes (its masters, and each pool's maxSize spread over the pool's zones left after one zone fails) and 1 endpoint and load balancer interfaces; a /15 is needed, and no VPC holds 3 of them (AWS's largest VPC block is a /16): lower the node pools' maxSize",
		},
		"overlay maxPods: larger node blocks would not fit the pod block": {
			edit: func(c *spec.Cluster) {
				c.Kubernetes.PodCidr, c.Kubernetes.NodeCidrMaskSize = "10.96.0.0/16", 25
				c.NodePools[0].MaxSize, c.NodePools[0].MaxPods = 400, 200
			},
			path: "cluster.nodePools[0].maxPods",
			want: "cluster.nodePools[0].maxPods: 200 pods cannot fit a node's /25 pod block (126 addresses); lower maxPods to 126 or fewer (podCidr 10.96.0.0/16 holds only 256 node blocks of /24, fewer than the cluster's 403 nodes)",
		},
		"overlay maxPods: larger node blocks are allowed": {
			edit: func(c *spec.Cluster) { c.Kubernetes.NodeCidrMaskSize = 25; c.NodePools[0].MaxPods = 200 },
			path: "cluster.nodePools[0].maxPods",
			want: "cluster.nodePools[0].maxPods: 200 pods cannot fit a node's /25 pod block (126 addresses); lower maxPods or use a kubernetes.nodeCidrMaskSize of /24",
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := valid()
			tc.edit(&c)
			require.Equal(t, []string{tc.want}, only(messages(t, c), tc.path))
		})
	}
}

func TestACarvingThatCannotFitOffersOnlyWhatIsPossible(t *testing.T) {
	c := valid()
	c.Network.AvailabilityZones = nil
	c.Network.AzCount = 6
	c.Network.PrivateSubnetPrefixLength, c.Network.PublicSubnetPrefixLength = 18, 22
	require.Equal(t, []string{
		"cluster.network.vpcCidr: 6 private /18 and 6 public /22 subnets need 104448 addresses, more than the 65536 of 10.0.0.0/16; use fewer zones or smaller subnets (AWS's largest VPC block is a /16)",
	}, only(messages(t, c), "cluster.network.vpcCidr"))
}

func TestAdoptedSubnetAdviceStaysInsideTheVPC(t *testing.T) {
	c := adopted()
	c.NodePools[0].MaxSize = 200000
	c.Kubernetes.PodCidr, c.Kubernetes.NodeCidrMaskSize = "100.64.0.0/10", 26
	require.Equal(t, []string{
		"cluster.network.existing.privateSubnets[0].cidr: private subnet 10.9.0.0/20 holds 4091 addresses, but its zone needs 100002: 100001 nodes (its masters, and each pool's maxSize spread over the pool's zones left after one zone fails) and 1 endpoint and load balancer interfaces; a /15 is needed, larger than any subnet of the /16 VPC can be (and AWS's largest subnet is a /16): lower the node pools' maxSize",
	}, only(messages(t, c), "cluster.network.existing.privateSubnets[0].cidr"))
}

func TestMaxPodsAdviceWhenNodeBlocksCannotGrow(t *testing.T) {
	c := valid()
	c.Kubernetes.PodCidr, c.Kubernetes.NodeCidrMaskSize = "10.96.0.0/24", 26
	c.NodePools[0].MaxSize, c.NodePools[0].MaxPods = 1, 200
	require.Equal(t, []string{
		"cluster.nodePools[0].maxPods: 200 pods cannot fit a node's /26 pod block (62 addresses); lower maxPods to 62 or fewer (node blocks of /24, which would hold them, cannot be cut from podCidr 10.96.0.0/24)",
	}, only(messages(t, c), "cluster.nodePools[0].maxPods"))
}

// With Calico, the node mask's range starts at /20 (its blockSize), and only
// one message names the field.
func TestCalicoNodeMaskAdviceIsWithinCalicosRange(t *testing.T) {
	c := valid()
	c.CNI.Provider = spec.CNICalico
	c.Kubernetes.NodeCidrMaskSize = 29
	require.Equal(t, []string{
		"cluster.kubernetes.nodeCidrMaskSize: 29 is not allowed with podCidr 10.128.0.0/12; use /20 to /28 (smaller than the pod block, at most 16 bits smaller as kube-controller-manager requires, and at least 16 addresses, and Calico's blockSize is /20 or smaller)",
	}, only(messages(t, c), "cluster.kubernetes.nodeCidrMaskSize"))
	c.Kubernetes.PodCidr, c.Kubernetes.NodeCidrMaskSize = "10.128.0.0/24", 16
	require.Equal(t, []string{
		"cluster.kubernetes.nodeCidrMaskSize: 16 is not allowed with podCidr 10.128.0.0/24; use /25 to /28 (smaller than the pod block, at most 16 bits smaller as kube-controller-manager requires, and at least 16 addresses)",
	}, only(messages(t, c), "cluster.kubernetes.nodeCidrMaskSize"))
}
