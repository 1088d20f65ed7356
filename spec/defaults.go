package spec

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/kinfra-dev/kinfra/internal/instancetypes"
)

const DefaultVpcCidr = "10.0.0.0/16"

const DefaultAzCount = 3

const DefaultPodCidr = "10.128.0.0/12"

const DefaultServiceCidr = "172.20.0.0/16"

const DefaultNodeCidrMaskSize = 24

const DefaultMasterCount = 3

const DefaultKubernetes = "v1.37.2"

const DefaultMasterType = "m7i.2xlarge"

const DefaultMasterTypeARM = "m7g.2xlarge" // on the pipeline's arm64 image

const DefaultRootVolumeGiB = 100

const DefaultEtcdVolumeGiB = 64

const DefaultGp3Iops = 3000

const DefaultGp3Throughput = 125

const DefaultFlowLogRetention = 365

const DefaultFlowLogInterval = 600

const DefaultNodeType = "m7i.2xlarge"

const DefaultNodeTypeARM = "m7g.2xlarge" // on the pipeline's arm64 image

const DefaultMaxPods = 110

const DefaultDrainTimeout = 900

const DefaultSpotStrategy = "price-capacity-optimized"

const DefaultContainerd = "2.4.2"

const DefaultRunc = "1.5.2"

const DefaultCNIPlugins = "1.9.1"

const DefaultEtcd = "3.7.3"

const privateSubnetExtraBits = 3 // a /19 in a /16: 8187 node addresses per zone

const publicSubnetExtraBits = 6 // a /22 in a /16: room for NAT and load balancers

// WithDefaults returns c with every unset field given its default. Fields that
// do not apply to the chosen mode (e.g. natGateways when adopting a VPC) are
// left unset, so that Validate can tell the user set them.
func (c Cluster) WithDefaults() Cluster {
	c.Network = c.Network.WithDefaults()
	c.Kubernetes = c.Kubernetes.WithDefaults()
	if c.PrivateDomain == "" && dnsLabel.MatchString(c.Name) {
		c.PrivateDomain = c.Name + ".k8s.internal"
	}
	c.Images = c.Images.WithDefaults()
	c.Masters = c.Masters.WithDefaults(c.Kubernetes.Version, c.Images)
	c.Backup = c.Backup.withDefaults(c.Name)
	c.Alarms = c.Alarms.withDefaults()
	c.JoinTokens = c.JoinTokens.withDefaults()
	c.API = c.API.WithDefaults(c.Network.VpcCidr)
	c.CNI = c.CNI.WithDefaults()
	if c.CNI.Provider == CNICalico && c.CNI.Dataplane == "" {
		c.CNI.Dataplane = DataplaneIPTables
		if c.KubeProxy.Mode == ProxyNone {
			c.CNI.Dataplane = DataplaneBPF
		}
	}
	c.KubeProxy = c.KubeProxy.withDefaults(c.CNI, c.Kubernetes.NodeVersion)
	c.Tags = cloneMap(c.Tags)
	pools := make([]NodePool, len(c.NodePools))
	for i, p := range c.NodePools {
		pools[i] = p.WithDefaults(c.Kubernetes.NodeVersion, c.Images)
	}
	c.NodePools = pools
	autoscaled := false
	for _, p := range pools {
		autoscaled = autoscaled || p.AutoscalerOn()
	}
	c.Addons = c.Addons.withDefaults(len(pools) > 0, autoscaled)
	return c
}

// WithDefaults returns p with its defaults applied; version, the cluster's
// effective nodeVersion, names the default AMI, and images (defaulted) say
// whether this stack builds the images and for which architecture.
func (p NodePool) WithDefaults(version string, images Images) NodePool {
	p.Zones = slices.Clone(p.Zones)
	if p.DesiredSize != nil {
		d := *p.DesiredSize
		p.DesiredSize = &d
	} else {
		d := p.MinSize
		p.DesiredSize = &d
	}
	p.Image = p.Image.resolve("node", version, images.On())
	p.InstanceTypes = slices.Clone(p.InstanceTypes)
	if len(p.InstanceTypes) == 0 {
		p.InstanceTypes = []string{images.defaultType(p.Image, DefaultNodeType, DefaultNodeTypeARM)}
	}
	p.RootVolume = p.RootVolume.WithDefaults(DefaultRootVolumeGiB)
	p.OnDemandPercentageAboveBase = intOr(p.OnDemandPercentageAboveBase, 100)
	if p.SpotAllocationStrategy == "" {
		p.SpotAllocationStrategy = DefaultSpotStrategy
	}
	p.CapacityRebalance = boolOr(p.CapacityRebalance, p.UsesSpot())
	if p.MaxPods == 0 {
		p.MaxPods = DefaultMaxPods
	}
	p.Labels = cloneMap(p.Labels)
	p.Taints = slices.Clone(p.Taints)
	p.KubeReserved = withDefaultKeys(p.KubeReserved, map[string]string{
		"cpu":               defaultKubeReservedCPU(p.InstanceTypes),
		"memory":            fmt.Sprintf("%dMi", 255+11*p.MaxPods),
		"ephemeral-storage": "1Gi",
	})
	p.SystemReserved = withDefaultKeys(p.SystemReserved, map[string]string{
		"cpu": "100m", "memory": "200Mi", "ephemeral-storage": "1Gi",
	})
	if p.EvictionHard == nil {
		// Unlike the reservations, the kubelet replaces its whole default
		// set when any threshold is given, so only a wholly unset map is
		// defaulted.
		p.EvictionHard = map[string]string{
			"memory.available": "500Mi", "nodefs.available": "10%",
			"nodefs.inodesFree": "5%", "imagefs.available": "15%", "imagefs.inodesFree": "5%",
		}
	} else {
		p.EvictionHard = cloneMap(p.EvictionHard)
	}
	r := p.InstanceRefresh
	r.MinHealthyPercentage = intOr(r.MinHealthyPercentage, 90)
	if r.MaxHealthyPercentage == 0 {
		r.MaxHealthyPercentage = 110
	}
	if r.InstanceWarmupSeconds == 0 {
		r.InstanceWarmupSeconds = 300
	}
	r.SkipMatching = boolOr(r.SkipMatching, true)
	p.InstanceRefresh = r
	if p.DrainTimeoutSeconds == 0 {
		p.DrainTimeoutSeconds = DefaultDrainTimeout
	}
	p.Autoscaler = boolOr(p.Autoscaler, true)
	return p
}

// UsesSpot reports whether any of the pool's nodes can be spot.
func (p NodePool) UsesSpot() bool {
	return p.OnDemandPercentageAboveBase != nil && *p.OnDemandPercentageAboveBase < 100
}

// AutoscalerOn reports whether cluster-autoscaler manages the pool.
func (p NodePool) AutoscalerOn() bool { return p.Autoscaler == nil || *p.Autoscaler }

// WithDefaults returns i with its defaults applied.
func (i Images) WithDefaults() Images {
	i.Enabled = boolOr(i.Enabled, true)
	if i.Parent == "" {
		i.Parent = ParentUbuntu2404
	}
	if i.Architecture == "" {
		i.Architecture = ArchX86
	}
	i.BuildInstanceTypes = slices.Clone(i.BuildInstanceTypes)
	if len(i.BuildInstanceTypes) == 0 {
		if i.Architecture == ArchARM {
			i.BuildInstanceTypes = []string{"m7g.large"}
		} else {
			i.BuildInstanceTypes = []string{"m7i.large"}
		}
	}
	v := &i.Versions
	for _, d := range []struct {
		field *string
		value string
	}{
		{&v.Containerd, DefaultContainerd}, {&v.Runc, DefaultRunc},
		{&v.CNIPlugins, DefaultCNIPlugins}, {&v.Etcd, DefaultEtcd},
	} {
		if *d.field == "" {
			*d.field = d.value
		}
	}
	i.DistributeTo = slices.Clone(i.DistributeTo)
	i.ShareWith = slices.Clone(i.ShareWith)
	return i
}

// On reports whether this stack builds the images.
func (i Images) On() bool { return i.Enabled == nil || *i.Enabled }

// defaultType is the instance type a role gets when it names none: of the
// pipeline's architecture when it boots the pipeline's image, else x86_64.
func (i Images) defaultType(img Image, x86, arm string) string {
	if img.Pipeline && i.Architecture == ArchARM {
		return arm
	}
	return x86
}

// defaultKubeReservedCPU is the EKS AMI's reservation for the smallest
// vCPU count among types (6% of the first core, 1% of the second, 0.5% of
// the next two, 0.25% of the rest), or for 2 vCPUs if no type is known.
func defaultKubeReservedCPU(types []string) string {
	cpus := 0
	for _, t := range types {
		if it, ok := instancetypes.Lookup(t); ok && (cpus == 0 || it.VCPUs < cpus) {
			cpus = it.VCPUs
		}
	}
	if cpus == 0 {
		cpus = 2
	}
	milli := 0.0
	for core := 1; core <= cpus; core++ {
		switch {
		case core == 1:
			milli += 60
		case core == 2:
			milli += 10
		case core <= 4:
			milli += 5
		default:
			milli += 2.5
		}
	}
	return fmt.Sprintf("%dm", int(milli+0.5))
}

func withDefaultKeys(m, defaults map[string]string) map[string]string {
	out := cloneMap(m)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range defaults {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return out
}

func intOr(p *int, def int) *int {
	v := def
	if p != nil {
		v = *p
	}
	return &v
}

func boolOr(p *bool, def bool) *bool {
	v := def
	if p != nil {
		v = *p
	}
	return &v
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

// WithDefaults returns m with its defaults applied; version is the
// effective Kubernetes version, which names the default AMI, and images
// (defaulted) say whether this stack builds the images and for which
// architecture.
func (m Masters) WithDefaults(version string, images Images) Masters {
	if m.Count == 0 {
		m.Count = DefaultMasterCount
	}
	m.Image = m.Image.resolve("master", version, images.On())
	if m.InstanceType == "" {
		m.InstanceType = images.defaultType(m.Image, DefaultMasterType, DefaultMasterTypeARM)
	}
	m.RootVolume = m.RootVolume.WithDefaults(DefaultRootVolumeGiB)
	m.EtcdVolume = m.EtcdVolume.WithDefaults(DefaultEtcdVolumeGiB)
	if m.Roll != nil {
		r := *m.Roll
		m.Roll = &r
	}
	return m
}

// resolve is i's effective selection: the pipeline's build when the stack
// builds images and i selects nothing itself, else i with its lookup
// defaults.
func (i Image) resolve(role, version string, pipeline bool) Image {
	if pipeline && i.ID == "" && len(i.Owners) == 0 && i.Name == "" && len(i.Tags) == 0 {
		i.Pipeline = true
	}
	if i.Pipeline {
		return i
	}
	return i.WithDefaults(role, version)
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
