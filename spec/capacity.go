package spec

import (
	"fmt"
	"net/netip"

	"github.com/kinfra-dev/kinfra/internal/cidr"
	"github.com/kinfra-dev/kinfra/internal/validate"
)

// awsReservedPerSubnet is what AWS keeps of every subnet: network, router,
// DNS, future use and broadcast.
const awsReservedPerSubnet = 5

// MaxNodes is the most nodes the cluster can run: every master plus every
// pool at its maximum size.
func (c Cluster) MaxNodes() int {
	n := c.Masters.Count
	for _, p := range c.NodePools {
		n += p.MaxSize
	}
	return n
}

// ZoneDemand is the number of private addresses each zone's subnet must hold
// for the cluster (addresses other workloads use in an adopted subnet are not
// visible here): the masters placed there; each pool's share of its maxSize
// when one of its zones is lost and its capacity moves to the others, times
// the addresses a node takes (one, plus maxPods when pods take VPC
// addresses); an interface endpoint ENI per service and the API load
// balancer's ENI. zones are the cluster's zone names if pinned.
func (c Cluster) ZoneDemand(zones []string, count int) (nodes, addresses []int, enis int) {
	nodes, addresses = make([]int, count), make([]int, count)
	if count < 1 {
		return nodes, addresses, 0
	}
	for i := range c.Masters.Count {
		nodes[SlotZone(i, count)]++
		addresses[SlotZone(i, count)]++
	}
	for _, p := range c.NodePools {
		in := PoolZones(p, zones, count)
		if len(in) == 0 {
			continue
		}
		share := (p.MaxSize + max(1, len(in)-1) - 1) / max(1, len(in)-1)
		perNode := 1
		if c.CNI.PodsUseVPCAddresses() {
			perNode += p.MaxPods
		}
		for _, z := range in {
			nodes[z] += share
			addresses[z] += share * perNode
		}
	}
	return nodes, addresses, len(c.Network.InterfaceEndpoints) + 1
}

func (c Cluster) validateCapacity(net networkFacts) validate.Errors {
	var errs validate.Errors
	for _, p := range c.NodePools {
		if p.MaxSize < 1 || p.MaxPods < 1 {
			return nil // sizes are wrong; demand cannot be computed
		}
	}
	pod, _ := cidr.ParseNetwork(c.Kubernetes.PodCidr)
	mask := c.Kubernetes.NodeCidrMaskSize
	if total := c.MaxNodes(); c.Kubernetes.nodeMaskFits() && !c.CNI.PodsUseVPCAddresses() && total > 1<<(mask-pod.Bits()) {
		nodeBlocks := 1 << (mask - pod.Bits())
		errs.Addf("cluster.kubernetes.podCidr", "%s holds %d node blocks of /%d, but the cluster can run %d nodes (%d masters + node pool maxSize); %s",
			c.Kubernetes.PodCidr, nodeBlocks, c.Kubernetes.NodeCidrMaskSize, total, c.Masters.Count, c.podBlockAdvice(pod, mask, total))
	}
	if len(net.private) != net.count {
		return errs
	}
	nodes, addresses, enis := c.ZoneDemand(net.zones, net.count)
	reported := map[string]bool{}
	for i, sub := range net.private {
		errs.Append(c.checkSubnet(net, net.paths[i], sub, nodes[i], addresses[i], enis, reported))
	}
	return errs
}

func (c Cluster) checkSubnet(net networkFacts, path string, sub netip.Prefix, nodes, addresses, enis int, reported map[string]bool) validate.Errors {
	var errs validate.Errors
	usable := cidr.Size(sub) - awsReservedPerSubnet
	need := addresses + enis
	if usable >= need || reported[path] {
		return errs
	}
	// Carved subnets share one path and one size: report the first zone
	// short of addresses only.
	reported[path] = true
	pods := ""
	if addresses > nodes {
		pods = fmt.Sprintf(" with their pods' VPC addresses (%d in all)", addresses)
	}
	advice := adoptedSubnetAdvice(net.vpc, need)
	if c.Network.Existing == nil {
		advice = c.Network.carvedSubnetAdvice(net.vpc, net.count, need)
	}
	errs.Addf(path, "private subnet %s holds %d addresses, but its zone needs %d: %d nodes (its masters, and each pool's maxSize spread over the pool's zones left after one zone fails)%s and %d endpoint and load balancer interfaces; %s",
		sub, usable, need, nodes, pods, enis, advice)
	return errs
}
