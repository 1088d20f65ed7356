package spec

import (
	"net/netip"
	"slices"
)

// Defaults, in one place. docs/config.md lists the same values.
const (
	DefaultVpcCidr          = "10.0.0.0/16"
	DefaultAzCount          = 3
	DefaultPodCidr          = "10.128.0.0/12"
	DefaultServiceCidr      = "172.20.0.0/16"
	DefaultNodeCidrMaskSize = 24
	DefaultMasterCount      = 3
	DefaultFlowLogRetention = 365
	DefaultFlowLogInterval  = 600
	privateSubnetExtraBits  = 3 // a /19 in a /16: 8187 node addresses per zone
	publicSubnetExtraBits   = 6 // a /22 in a /16: room for NAT and load balancers
)

// WithDefaults returns c with every unset field given its default. Fields that
// do not apply to the chosen mode (e.g. natGateways when adopting a VPC) are
// left unset, so that Validate can tell the user set them.
func (c Cluster) WithDefaults() Cluster {
	c.Network = c.Network.WithDefaults()
	c.Kubernetes = c.Kubernetes.WithDefaults()
	if c.Masters.Count == 0 {
		c.Masters.Count = DefaultMasterCount
	}
	c.Tags = cloneMap(c.Tags)
	c.NodePools = slices.Clone(c.NodePools)
	return c
}

// WithDefaults returns n with its defaults applied.
func (n Network) WithDefaults() Network {
	n.AvailabilityZones = slices.Clone(n.AvailabilityZones)
	n.FlowLogs = n.FlowLogs.WithDefaults()
	if n.InterfaceEndpoints == nil {
		n.InterfaceEndpoints = []string{}
	}
	if n.Existing != nil {
		e := *n.Existing
		n.Existing = &e
		if n.GatewayEndpoints == nil {
			n.GatewayEndpoints = []string{}
		}
		if len(n.AvailabilityZones) == 0 {
			for _, s := range e.PrivateSubnets {
				n.AvailabilityZones = append(n.AvailabilityZones, s.AvailabilityZone)
			}
		}
		if n.AzCount == 0 {
			n.AzCount = len(e.PrivateSubnets)
		}
		return n
	}
	if n.GatewayEndpoints == nil {
		n.GatewayEndpoints = []string{"s3"}
	}
	if n.VpcCidr == "" {
		n.VpcCidr = DefaultVpcCidr
	}
	if n.AzCount == 0 {
		n.AzCount = len(n.AvailabilityZones)
		if n.AzCount == 0 {
			n.AzCount = DefaultAzCount
		}
	}
	if n.NatGateways == "" {
		n.NatGateways = NATPerAZ
	}
	if vpc, err := netip.ParsePrefix(n.VpcCidr); err == nil {
		// Never smaller than AWS's minimum subnet, /28.
		if n.PrivateSubnetPrefixLength == 0 {
			n.PrivateSubnetPrefixLength = min(vpc.Bits()+privateSubnetExtraBits, 28)
		}
		if n.PublicSubnetPrefixLength == 0 {
			n.PublicSubnetPrefixLength = min(vpc.Bits()+publicSubnetExtraBits, 28)
		}
	}
	return n
}

// WithDefaults returns f with its defaults applied.
func (f FlowLogs) WithDefaults() FlowLogs {
	if f.Enabled == nil {
		on := true
		f.Enabled = &on
	}
	if f.Destination == "" {
		f.Destination = "cloudwatch"
	}
	if f.TrafficType == "" {
		f.TrafficType = "ALL"
	}
	if f.RetentionDays == 0 && f.Destination == "cloudwatch" {
		f.RetentionDays = DefaultFlowLogRetention
	}
	if f.MaxAggregationIntervalSeconds == 0 {
		f.MaxAggregationIntervalSeconds = DefaultFlowLogInterval
	}
	return f
}

// On reports whether flow logs are enabled.
func (f FlowLogs) On() bool { return f.Enabled == nil || *f.Enabled }

// WithDefaults returns k with its defaults applied.
func (k Kubernetes) WithDefaults() Kubernetes {
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

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
