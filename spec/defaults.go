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
	DefaultKubernetes       = "v1.37.2"
	DefaultMasterType       = "m7i.2xlarge"
	DefaultRootVolumeGiB    = 100
	DefaultEtcdVolumeGiB    = 64
	DefaultGp3Iops          = 3000
	DefaultGp3Throughput    = 125
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
	if c.PrivateDomain == "" && dnsLabel.MatchString(c.Name) {
		c.PrivateDomain = c.Name + ".k8s.internal"
	}
	c.Masters = c.Masters.WithDefaults(c.Kubernetes.Version)
	c.API = c.API.WithDefaults(c.Network.VpcCidr)
	c.CNI = c.CNI.WithDefaults()
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
	if k.Version == "" {
		k.Version = DefaultKubernetes
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

// WithDefaults returns m with its defaults applied; version is the
// effective Kubernetes version, which names the default AMI.
func (m Masters) WithDefaults(version string) Masters {
	if m.Count == 0 {
		m.Count = DefaultMasterCount
	}
	if m.InstanceType == "" {
		m.InstanceType = DefaultMasterType
	}
	m.Image = m.Image.WithDefaults("master", version)
	m.RootVolume = m.RootVolume.WithDefaults(DefaultRootVolumeGiB)
	m.EtcdVolume = m.EtcdVolume.WithDefaults(DefaultEtcdVolumeGiB)
	if m.Roll != nil {
		r := *m.Roll
		m.Roll = &r
	}
	return m
}

// WithDefaults returns i with its lookup defaults applied, unless it names an
// explicit AMI.
func (i Image) WithDefaults(role, version string) Image {
	i.Owners = slices.Clone(i.Owners)
	i.Tags = cloneMap(i.Tags)
	if i.ID != "" {
		return i
	}
	if len(i.Owners) == 0 {
		i.Owners = []string{"self"}
	}
	if i.Name == "" {
		i.Name = "kinfra-" + role + "-k8s-" + version + "-*"
	}
	return i
}

// WithDefaults returns v with its defaults applied.
func (v Volume) WithDefaults(sizeGiB int) Volume {
	if v.SizeGiB == 0 {
		v.SizeGiB = sizeGiB
	}
	if v.Type == "" {
		v.Type = "gp3"
	}
	if v.Type == "gp3" {
		if v.Iops == 0 {
			v.Iops = DefaultGp3Iops
		}
		if v.ThroughputMiBps == 0 {
			v.ThroughputMiBps = DefaultGp3Throughput
		}
	}
	return v
}

// WithDefaults returns a with its defaults applied; vpcCidr is the
// effective VPC block, the default access range.
func (a API) WithDefaults(vpcCidr string) API {
	if a.Scheme == "" {
		a.Scheme = SchemeInternal
	}
	a.AccessCidrs = slices.Clone(a.AccessCidrs)
	if vpc, err := netip.ParsePrefix(vpcCidr); err == nil && vpc == vpc.Masked() && len(a.AccessCidrs) == 0 {
		a.AccessCidrs = []string{vpcCidr}
	}
	return a
}

// WithDefaults returns c with its defaults applied.
func (c CNI) WithDefaults() CNI {
	if c.Provider == "" {
		c.Provider = CNICilium
	}
	if c.Tunnel == "" {
		c.Tunnel = TunnelVXLAN
	}
	return c
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
