package spec

import (
	"net/netip"

	"github.com/kinfra-dev/kinfra/internal/cidr"
	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Kubernetes is the cluster's version and address plan.
type Kubernetes struct {
	// Version of Kubernetes the masters run (the control plane),
	// vMAJOR.MINOR.PATCH; kubeadm must support it. Default [DefaultKubernetes].
	Version string `json:"version,omitempty"`
	// NodeVersion is the Kubernetes version of the node pools' kubelets,
	// kube-proxy and the add-ons that follow Kubernetes (cluster-autoscaler):
	// never a newer minor than Version, at most three minors older. Default:
	// Version. Pin it to the old version while raising Version, and raise it
	// once the masters run the new one (docs/workers.md, "Version skew").
	NodeVersion string `json:"nodeVersion,omitempty"`
	// PodCidr is the cluster pod block. Default [DefaultPodCidr] (4096 nodes
	// of /24). Must not overlap the VPC or the service block.
	PodCidr string `json:"podCidr,omitempty"`
	// ServiceCidr is the Service ClusterIP block, /12 to /24. Default
	// [DefaultServiceCidr] (65534 Services).
	ServiceCidr string `json:"serviceCidr,omitempty"`
	// NodeCidrMaskSize is the pod block each node gets. Default
	// [DefaultNodeCidrMaskSize].
	NodeCidrMaskSize int `json:"nodeCidrMaskSize,omitempty"`
	// MaxServices is the number of Services the cluster must be able to hold;
	// the service block is checked against it. Default 0 (not checked).
	MaxServices int `json:"maxServices,omitempty"`
}

// Kubernetes defaults (nodeVersion: version; maxServices: 0).
const (
	DefaultKubernetes       = "v1.37.2"
	DefaultPodCidr          = "10.128.0.0/12"
	DefaultServiceCidr      = "172.20.0.0/16"
	DefaultNodeCidrMaskSize = 24
)

// WithDefaults returns k with its defaults applied.
func (k Kubernetes) WithDefaults() Kubernetes {
	if k.Version == "" {
		k.Version = DefaultKubernetes
	}
	if k.NodeVersion == "" {
		k.NodeVersion = k.Version
	}
	if k.PodCidr == "" {
		k.PodCidr = DefaultPodCidr
	}
	if k.ServiceCidr == "" {
		k.ServiceCidr = DefaultServiceCidr
	}
	if k.NodeCidrMaskSize == 0 {
		k.NodeCidrMaskSize = DefaultNodeCidrMaskSize
	}
	return k
}

var linkLocal = netip.MustParsePrefix("169.254.0.0/16")

// check validates the address plan; calico narrows the node mask to what
// Calico's IP pool takes.
func (k Kubernetes) check(path string, vpc netip.Prefix, calico bool) validate.Errors {
	var errs validate.Errors
	type block struct {
		field string
		p     netip.Prefix
	}
	var blocks []block
	if vpc.IsValid() {
		blocks = append(blocks, block{"cluster.network.vpcCidr", vpc})
	}
	pod, err := cidr.ParseNetwork(k.PodCidr)
	switch {
	case err != nil:
		errs.Addf(path+".podCidr", "%v", err)
	case !pod.Addr().Is4() || pod.Bits() < 8 || pod.Bits() > 24:
		errs.Addf(path+".podCidr", "%s is not allowed; use an IPv4 block from /8 to /24", k.PodCidr)
	default:
		blocks = append(blocks, block{path + ".podCidr", pod})
		if k.NodeCidrMaskSize <= pod.Bits() || k.NodeCidrMaskSize > 28 || k.NodeCidrMaskSize-pod.Bits() > 16 {
			lo, why := pod.Bits()+1, ""
			if calico && lo < 20 {
				lo, why = 20, ", and Calico's blockSize is /20 or smaller"
			}
			errs.Addf(path+".nodeCidrMaskSize", "%d is not allowed with podCidr %s; use /%d to /%d (smaller than the pod block, at most 16 bits smaller as kube-controller-manager requires, and at least 16 addresses%s)",
				k.NodeCidrMaskSize, k.PodCidr, lo, min(28, pod.Bits()+16), why)
		}
	}
	svc, err := cidr.ParseNetwork(k.ServiceCidr)
	switch {
	case err != nil:
		errs.Addf(path+".serviceCidr", "%v", err)
	case !svc.Addr().Is4() || svc.Bits() < 12 || svc.Bits() > 24:
		errs.Addf(path+".serviceCidr", "%s is not allowed; use an IPv4 block from /12 (kube-apiserver's largest) to /24", k.ServiceCidr)
	default:
		blocks = append(blocks, block{path + ".serviceCidr", svc})
		// The allocator hands out every address but the network and broadcast ones.
		if capacity := cidr.Size(svc) - 2; k.MaxServices > capacity {
			errs.Addf(path+".serviceCidr", "%s holds %d Service IPs, fewer than maxServices %d; %s",
				k.ServiceCidr, capacity, k.MaxServices, serviceBlockAdvice(k.MaxServices))
		}
	}
	if k.MaxServices < 0 {
		errs.Addf(path+".maxServices", "%d is negative; give the number of Services the cluster must hold, or 0 not to check", k.MaxServices)
	}
	for i := range blocks {
		for j := i + 1; j < len(blocks); j++ {
			if blocks[i].p.Overlaps(blocks[j].p) {
				errs.Addf(blocks[j].field, "%s overlaps %s %s; pods, Services and the VPC need disjoint blocks or traffic is misrouted",
					blocks[j].p, blocks[i].field, blocks[i].p)
			}
		}
		if blocks[i].p.Overlaps(linkLocal) {
			errs.Addf(blocks[i].field, "%s overlaps the link-local block 169.254.0.0/16 (instance metadata, DNS)", blocks[i].p)
		}
	}
	return errs
}

// nodeMaskFits reports whether the pod block and node mask are valid
// together, so that checks built on them do not echo their errors.
func (k Kubernetes) nodeMaskFits() bool {
	pod, err := cidr.ParseNetwork(k.PodCidr)
	mask := k.NodeCidrMaskSize
	return err == nil && pod.Addr().Is4() && mask > pod.Bits() && mask-pod.Bits() <= 16 && mask <= 28
}
