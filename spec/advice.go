package spec

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/cidr"
	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Capacity advice: every size a message suggests must pass validation
// itself; where none would, the message says so and why, and names the
// setting that can give (usually a pool's maxSize).

// Bounds the suggestions respect, as validation checks them.
const (
	largestPodBlock     = 8  // kubernetes.podCidr: /8 to /24
	largestServiceBlock = 12 // kubernetes.serviceCidr: /12 to /24 (kube-apiserver's largest)
	largestVPC          = 16 // AWS's largest VPC block
	smallestSubnet      = 28 // AWS's smallest subnet
	maxNodeMaskBits     = 16 // kube-controller-manager: node mask at most 16 bits past podCidr's
)

// prefixFor is the longest IPv4 prefix that holds n addresses.
func prefixFor(n int) int {
	bits := 32
	for bits > 0 && 1<<(32-bits) < n {
		bits--
	}
	return bits
}

// bitsFor is the number of bits needed to count n things.
func bitsFor(n int) int {
	b := 0
	for 1<<b < n {
		b++
	}
	return b
}

// podBlockAdvice is what to change when pod, cut into /mask node blocks,
// cannot give total nodes a block each.
func (c Cluster) podBlockAdvice(pod netip.Prefix, mask, total int) string {
	bits := bitsFor(total)
	if bits > maxNodeMaskBits {
		return fmt.Sprintf("no pod block or node block size fits: kube-controller-manager cuts at most %d node blocks from a pod block (%d bits). Lower the node pools' maxSize to %d in all",
			1<<maxNodeMaskBits, maxNodeMaskBits, 1<<maxNodeMaskBits-c.Masters.Count)
	}
	larger := mask-bits >= largestPodBlock
	smaller := c.nodeMaskHoldsPods(pod.Bits() + bits)
	switch {
	case larger && smaller:
		return fmt.Sprintf("use a /%d or larger pod block, or a nodeCidrMaskSize of /%d (smaller node blocks)", mask-bits, pod.Bits()+bits)
	case larger:
		return fmt.Sprintf("use a /%d or larger pod block", mask-bits)
	case smaller:
		return fmt.Sprintf("use a nodeCidrMaskSize of /%d (smaller node blocks; no pod block larger than /%d is allowed)", pod.Bits()+bits, largestPodBlock)
	}
	return fmt.Sprintf("no pod block or node block size fits: no pod block larger than /%d is allowed, and node blocks smaller than /%d would not hold the pools' maxPods. Lower the node pools' maxSize to %d in all",
		largestPodBlock, mask, 1<<(mask-pod.Bits())-c.Masters.Count)
}

// nodeMaskHoldsPods reports whether /mask node blocks are allowed and hold
// every overlay pool's maxPods.
func (c Cluster) nodeMaskHoldsPods(mask int) bool {
	if mask > smallestSubnet || (c.CNI.Provider == CNICalico && mask < 20) {
		return false
	}
	for _, p := range c.NodePools {
		if p.MaxPods > 1<<(32-mask)-2 {
			return false
		}
	}
	return true
}

// serviceBlockAdvice is what to change when the service block cannot hold
// maxServices.
func serviceBlockAdvice(maxServices int) string {
	if p := prefixFor(maxServices + 2); p >= largestServiceBlock {
		return fmt.Sprintf("use a /%d or larger", p)
	}
	most := 1<<(32-largestServiceBlock) - 2
	return fmt.Sprintf("no service block fits: kube-apiserver's largest, a /%d, holds %d. Lower maxServices to %d or fewer", largestServiceBlock, most, most)
}

// carvedSubnetAdvice is what to change when the carved private subnets
// cannot hold need addresses: a larger private subnet if it still fits in
// the VPC beside the others, else a larger VPC, else fewer nodes.
func (n Network) carvedSubnetAdvice(vpc netip.Prefix, zones, need int) string {
	want := prefixFor(need + awsReservedPerSubnet)
	fits := func(v netip.Prefix) bool {
		_, err := cidr.Carve(v, zones, want, n.PublicSubnetPrefixLength)
		return want > v.Bits() && n.PublicSubnetPrefixLength > v.Bits() && err == nil
	}
	if want <= smallestSubnet && fits(vpc) {
		return fmt.Sprintf("use a /%d or larger", want)
	}
	for bits := min(vpc.Bits()-1, want-1); bits >= largestVPC; bits-- {
		if larger := netip.PrefixFrom(vpc.Addr(), bits).Masked(); fits(larger) {
			return fmt.Sprintf("a /%d is needed, which does not fit beside the other zones' subnets in the /%d VPC: use a /%d private subnet in a /%d vpcCidr, or lower the node pools' maxSize", want, vpc.Bits(), want, bits)
		}
	}
	return fmt.Sprintf("a /%d is needed, and no VPC holds %d of them (AWS's largest VPC block is a /%d): lower the node pools' maxSize", want, zones, largestVPC)
}

// nativeMaxPodsAdvice is what to change when an instance type's network
// interfaces hold only addresses pods: dropping the type only if the pool
// lists others.
func nativeMaxPodsAdvice(addresses int, typ string, types int) string {
	other := "use a type with more network interfaces"
	if types > 1 {
		other = "drop " + typ
	}
	if addresses < 1 {
		return strings.ToUpper(other[:1]) + other[1:]
	}
	return fmt.Sprintf("Lower maxPods to %d or fewer, or %s", addresses, other)
}

// adoptedSubnetAdvice is what to change when an adopted subnet cannot hold
// need addresses: only a subnet the VPC (and AWS) allows is suggested.
func adoptedSubnetAdvice(vpc netip.Prefix, need int) string {
	want := prefixFor(need + awsReservedPerSubnet)
	if want >= largestVPC && (!vpc.IsValid() || want > vpc.Bits()) {
		return fmt.Sprintf("use a /%d or larger", want)
	}
	return fmt.Sprintf("a /%d is needed, larger than any subnet of the /%d VPC can be (and AWS's largest subnet is a /%d): lower the node pools' maxSize", want, vpc.Bits(), largestVPC)
}

// carveAdvice is what to change when the zones' subnets do not fit the VPC.
func carveAdvice(vpc netip.Prefix, zones, private, public int) string {
	var options []string
	if vpc.Bits() > largestVPC {
		options = append(options, "a larger VPC")
	}
	if zones > 1 {
		options = append(options, "fewer zones")
	}
	if private < smallestSubnet || public < smallestSubnet {
		options = append(options, "smaller subnets")
	}
	advice := "use " + validate.Join(options)
	if vpc.Bits() <= largestVPC {
		advice += fmt.Sprintf(" (AWS's largest VPC block is a /%d)", largestVPC)
	}
	return advice
}

// maxPodsAdvice is what to change when maxPods does not fit the node
// blocks (usable addresses each): larger node blocks only if the pod block
// still gives every node one and they are allowed.
func (c Cluster) maxPodsAdvice(maxPods, usable int) string {
	want := 32 - bitsFor(maxPods+2)
	pod, _ := cidr.ParseNetwork(c.Kubernetes.PodCidr)
	blocks, nodes := 0, c.MaxNodes()
	if want > pod.Bits() {
		blocks = 1 << min(want-pod.Bits(), 30)
	}
	switch {
	case want > pod.Bits() && want-pod.Bits() <= maxNodeMaskBits && blocks >= nodes && (c.CNI.Provider != CNICalico || want >= 20):
		return fmt.Sprintf("lower maxPods or use a kubernetes.nodeCidrMaskSize of /%d", want)
	case want <= pod.Bits():
		return fmt.Sprintf("lower maxPods to %d or fewer (node blocks of /%d, which would hold them, cannot be cut from podCidr %s)", usable, want, c.Kubernetes.PodCidr)
	}
	return fmt.Sprintf("lower maxPods to %d or fewer (podCidr %s holds only %d node blocks of /%d, fewer than the cluster's %d nodes)", usable, c.Kubernetes.PodCidr, blocks, want, nodes)
}
