package spec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/instancetypes"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/validate"
)

// NodePool is one worker group: an Auto Scaling Group over the private
// subnets of its zones, launched from a baked node AMI, joining the cluster
// with kubeadm. See docs/workers.md.
type NodePool struct {
	// Name is a DNS label, unique in the cluster, of at most
	// MaxNodePoolName(cluster name) characters: 45 less the cluster name's
	// length (the node IAM role <cluster>-pool-<name>-node and its 8
	// character autoname suffix must fit IAM's 64).
	// Required. Resource names, the ASG and the kinfra.dev/node-pool node
	// label derive from it.
	Name string `json:"name"`
	// Zones the pool runs in, from the cluster's zones. Default: every zone.
	Zones []string `json:"zones,omitempty"`
	// MinSize of the group. Default 0.
	MinSize int `json:"minSize,omitempty"`
	// MaxSize of the group, at least 1 and at least minSize. Required.
	MaxSize int `json:"maxSize"`
	// DesiredSize is the group's size when it is created. Default minSize.
	// With the autoscaler on, later changes are ignored (the autoscaler owns
	// the desired capacity); with it off, Pulumi sets it on every update.
	DesiredSize *int `json:"desiredSize,omitempty"`
	// InstanceTypes the group may launch, most preferred first: real EC2
	// types of one architecture. Default: only [DefaultNodeType]
	// ([DefaultNodeTypeARM] on the pipeline's arm64 image). With spot, list
	// several of the same size and architecture so that spot capacity can be
	// found.
	InstanceTypes []string `json:"instanceTypes,omitempty"`
	// Image selects the pool's AMI. Default: this stack's images pipeline
	// build of the node image when images are enabled, else the most recent
	// kinfra-node-k8s-<nodeVersion>-* image owned by the account.
	Image Image `json:"image"`
	// RootVolume is each node's encrypted root volume (container images and
	// logs live there). Default [DefaultRootVolumeGiB] and the Volume
	// defaults.
	RootVolume Volume `json:"rootVolume"`
	// OnDemandBase is how many nodes are always on-demand. Default 0.
	OnDemandBase int `json:"onDemandBase,omitempty"`
	// OnDemandPercentageAboveBase is the on-demand share, 0 to 100, of nodes
	// beyond onDemandBase; the rest are spot. Default
	// [DefaultOnDemandPercentage] (no spot).
	OnDemandPercentageAboveBase *int `json:"onDemandPercentageAboveBase,omitempty"`
	// SpotAllocationStrategy is price-capacity-optimized, capacity-optimized,
	// capacity-optimized-prioritized or lowest-price. Default
	// [DefaultSpotStrategy].
	SpotAllocationStrategy string `json:"spotAllocationStrategy,omitempty"`
	// CapacityRebalance replaces spot nodes at elevated risk of interruption
	// before they are interrupted. Default true when the pool uses spot.
	CapacityRebalance *bool `json:"capacityRebalance,omitempty"`
	// MaxPods is the kubelet's pod limit. Default [DefaultMaxPods]. Must fit the node's
	// pod block (kubernetes.nodeCidrMaskSize) and, with native routing, the
	// instance type's ENI addresses.
	MaxPods int `json:"maxPods,omitempty"`
	// Labels are node labels set by the kubelet at registration. Keys in the
	// kubernetes.io and k8s.io namespaces are limited to those a kubelet may
	// set (node.kubernetes.io/*, kubelet.kubernetes.io/* and the well-known
	// topology and instance labels).
	Labels map[string]string `json:"labels,omitempty"`
	// Taints are registered with the node.
	Taints []Taint `json:"taints,omitempty"`
	// KubeReserved is reserved for Kubernetes daemons: cpu, memory,
	// ephemeral-storage, pid. Each unset key takes defaultKubeReserved's
	// value: memory grows with maxPods, cpu follows the EKS AMI's formula
	// for the pool's smallest known instance type.
	KubeReserved map[string]string `json:"kubeReserved,omitempty"`
	// SystemReserved is reserved for the OS. Each unset key takes
	// defaultSystemReserved's value.
	SystemReserved map[string]string `json:"systemReserved,omitempty"`
	// EvictionHard are the kubelet's hard eviction thresholds. Default, when
	// the map is unset: defaultEvictionHard.
	EvictionHard map[string]string `json:"evictionHard,omitempty"`
	// InstanceRefresh bounds how `kinfra roll` replaces the pool's nodes
	// once their launch template changed.
	InstanceRefresh InstanceRefresh `json:"instanceRefresh"`
	// DrainTimeoutSeconds is how long a terminating node waits in the
	// lifecycle hook for the termination handler to drain it, 30 to 7200.
	// Default [DefaultDrainTimeout].
	DrainTimeoutSeconds int `json:"drainTimeoutSeconds,omitempty"`
	// Autoscaler lets cluster-autoscaler manage the pool: discovery and
	// node-template tags on the group, and Pulumi ignores desired capacity.
	// Default true.
	Autoscaler *bool `json:"autoscaler,omitempty"`
}

// InstanceRefresh bounds how `kinfra roll` replaces a pool's nodes, batch
// by batch (internal/roll).
type InstanceRefresh struct {
	// MinHealthyPercentage of the pool kept in service during a roll: at
	// most the rest is drained at once. 0 to 100. Default
	// [DefaultMinHealthyPercentage].
	MinHealthyPercentage *int `json:"minHealthyPercentage,omitempty"`
	// MaxHealthyPercentage, 100 to 200: above 100 the roll launches
	// replacements before the nodes they replace are drained. Default
	// [DefaultMaxHealthyPercentage].
	MaxHealthyPercentage int `json:"maxHealthyPercentage,omitempty"`
	// InstanceWarmupSeconds the roll waits after a batch's new nodes are
	// Ready; also the group's default instance warmup. Default
	// [DefaultInstanceWarmup].
	InstanceWarmupSeconds int `json:"instanceWarmupSeconds,omitempty"`
	// SkipMatching leaves nodes that already run the declared launch
	// template version and a listed type. Default true, the only value the
	// roll allows.
	SkipMatching *bool `json:"skipMatching,omitempty"`
}

// Node pool defaults (minSize and onDemandBase: 0; desiredSize: minSize;
// autoscaler: true; the kubelet's reservations and thresholds: kubelet.go).
const (
	DefaultNodeType           = "m7i.2xlarge"
	DefaultNodeTypeARM        = "m7g.2xlarge" // on the pipeline's arm64 image
	DefaultOnDemandPercentage = 100
	DefaultSpotStrategy       = "price-capacity-optimized"
	DefaultMaxPods            = 110
	DefaultDrainTimeout       = 900
	nodeRole                  = "node" // names the nodes' image
)

// Instance refresh defaults (skipMatching: true).
const (
	DefaultMinHealthyPercentage = 90
	DefaultMaxHealthyPercentage = 110
	DefaultInstanceWarmup       = 300
)

func (r InstanceRefresh) withDefaults() InstanceRefresh {
	r.MinHealthyPercentage = intOr(r.MinHealthyPercentage, DefaultMinHealthyPercentage)
	if r.MaxHealthyPercentage == 0 {
		r.MaxHealthyPercentage = DefaultMaxHealthyPercentage
	}
	if r.InstanceWarmupSeconds == 0 {
		r.InstanceWarmupSeconds = DefaultInstanceWarmup
	}
	r.SkipMatching = boolOr(r.SkipMatching, true)
	return r
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
	p.Image = p.Image.resolve(nodeRole, version, images.On())
	p.InstanceTypes = slices.Clone(p.InstanceTypes)
	if len(p.InstanceTypes) == 0 {
		p.InstanceTypes = []string{images.defaultType(p.Image, DefaultNodeType, DefaultNodeTypeARM)}
	}
	p.RootVolume = p.RootVolume.WithDefaults(DefaultRootVolumeGiB)
	p.OnDemandPercentageAboveBase = intOr(p.OnDemandPercentageAboveBase, DefaultOnDemandPercentage)
	if p.SpotAllocationStrategy == "" {
		p.SpotAllocationStrategy = DefaultSpotStrategy
	}
	p.CapacityRebalance = boolOr(p.CapacityRebalance, p.UsesSpot())
	if p.MaxPods == 0 {
		p.MaxPods = DefaultMaxPods
	}
	p.Labels = cloneMap(p.Labels)
	p.Taints = slices.Clone(p.Taints)
	p.KubeReserved = withDefaultKeys(p.KubeReserved, defaultKubeReserved(p.InstanceTypes, p.MaxPods))
	p.SystemReserved = withDefaultKeys(p.SystemReserved, defaultSystemReserved())
	if p.EvictionHard == nil {
		// Unlike the reservations, the kubelet replaces its whole default
		// set when any threshold is given, so only a wholly unset map is
		// defaulted.
		p.EvictionHard = defaultEvictionHard()
	} else {
		p.EvictionHard = cloneMap(p.EvictionHard)
	}
	p.InstanceRefresh = p.InstanceRefresh.withDefaults()
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

// NodePoolLabel is the label every node of a pool carries, with the pool's
// name; kinfra sets it, so pools may not.
const NodePoolLabel = tags.NodePool

// MaxInstanceTypes is the most instance types one pool may list (an Auto
// Scaling Group's mixed instances policy takes at most 40 overrides; fewer
// keep the group reviewable).
const MaxInstanceTypes = 20

// MaxGroupTags is the most tags AWS allows on an Auto Scaling Group.
const MaxGroupTags = 50

// SpotAllocationStrategies are the strategies an Auto Scaling Group takes.
var SpotAllocationStrategies = []string{"price-capacity-optimized", "capacity-optimized", "capacity-optimized-prioritized", "lowest-price"}

// PoolZones returns the zone indexes pool p runs in, given the cluster's
// zone names (empty when they are not pinned) and count.
func PoolZones(p NodePool, zones []string, count int) []int {
	if len(p.Zones) == 0 {
		out := make([]int, count)
		for i := range out {
			out[i] = i
		}
		return out
	}
	var out []int
	for _, z := range p.Zones {
		if i := slices.Index(zones, z); i >= 0 {
			out = append(out, i)
		}
	}
	return out
}

func (c Cluster) validateNodePools(net networkFacts) validate.Errors {
	var errs validate.Errors
	seen := map[string]bool{}
	for i, p := range c.NodePools {
		path := fmt.Sprintf("cluster.nodePools[%d]", i)
		switch {
		case p.Name == "":
			errs.Addf(path+".name", "required; a DNS label such as general or gpu")
		case !dnsLabel.MatchString(p.Name):
			errs.Addf(path+".name", "%q is not allowed; use a DNS label of lowercase letters, digits and '-', starting with a letter", p.Name)
		case seen[p.Name]:
			errs.Addf(path+".name", "%q is used by another node pool; names must be unique", p.Name)
		}
		seen[p.Name] = true
		errs.Append(c.checkPool(path, p, net))
	}
	return errs
}

func (c Cluster) checkPool(path string, p NodePool, net networkFacts) validate.Errors {
	var errs validate.Errors
	if p.MaxSize < 1 {
		errs.Addf(path+".maxSize", "%d is not allowed; a node pool holds at least 1 node", p.MaxSize)
	}
	if p.MinSize < 0 || p.MinSize > p.MaxSize {
		errs.Addf(path+".minSize", "%d is not allowed; use 0 to maxSize (%d)", p.MinSize, p.MaxSize)
	} else if d := p.DesiredSize; d != nil && (*d < p.MinSize || *d > p.MaxSize) {
		errs.Addf(path+".desiredSize", "%d is not allowed; use minSize (%d) to maxSize (%d)", *d, p.MinSize, p.MaxSize)
	}
	errs.Append(checkPoolZones(path, p, net))
	types := c.checkInstanceTypes(&errs, path, p)
	errs.Append(p.Image.check(path+".image", c.Images.On()))
	errs.Append(p.RootVolume.check(path+".rootVolume", MinRootVolumeGiB))

	if p.OnDemandBase < 0 || p.OnDemandBase > p.MaxSize {
		errs.Addf(path+".onDemandBase", "%d is not allowed; use 0 to maxSize (%d)", p.OnDemandBase, p.MaxSize)
	}
	if pct := p.OnDemandPercentageAboveBase; pct != nil && (*pct < 0 || *pct > 100) {
		errs.Addf(path+".onDemandPercentageAboveBase", "%d is not allowed; use 0 (all spot above the base) to 100 (no spot)", *pct)
	}
	if !slices.Contains(SpotAllocationStrategies, p.SpotAllocationStrategy) {
		errs.Addf(path+".spotAllocationStrategy", "%q is not allowed; use %s", p.SpotAllocationStrategy, validate.Join(SpotAllocationStrategies))
	}
	if p.CapacityRebalance != nil && *p.CapacityRebalance && !p.UsesSpot() {
		errs.Addf(path+".capacityRebalance", "true, but the pool runs no spot nodes (onDemandPercentageAboveBase is 100); capacity rebalancing only replaces spot nodes")
	}
	if p.UsesSpot() && len(p.InstanceTypes) < 2 {
		errs.Addf(path+".instanceTypes", "one type for a spot pool; list several of the same size and architecture (e.g. m7i, m6i, m6a) so that a spot shortage of one type does not empty the pool")
	}

	errs.Append(c.checkMaxPods(path, p, types))
	errs.Append(checkLabels(path+".labels", p.Labels))
	errs.Append(checkTaints(path+".taints", p.Taints, p.AutoscalerOn()))
	errs.Append(checkTemplateTags(path, p))
	errs.Append(checkReserved(path+".kubeReserved", p.KubeReserved))
	errs.Append(checkReserved(path+".systemReserved", p.SystemReserved))
	errs.Append(checkEviction(path+".evictionHard", p.EvictionHard))
	errs.Append(checkReservedMemory(path, p, types))

	r := p.InstanceRefresh
	if r.MinHealthyPercentage != nil && (*r.MinHealthyPercentage < 0 || *r.MinHealthyPercentage > 100) {
		errs.Addf(path+".instanceRefresh.minHealthyPercentage", "%d is not allowed; use 0 to 100", *r.MinHealthyPercentage)
	}
	if r.MaxHealthyPercentage < 100 || r.MaxHealthyPercentage > 200 {
		errs.Addf(path+".instanceRefresh.maxHealthyPercentage", "%d is not allowed; use 100 to 200", r.MaxHealthyPercentage)
	} else if r.MinHealthyPercentage != nil && r.MaxHealthyPercentage-*r.MinHealthyPercentage > 100 {
		errs.Addf(path+".instanceRefresh.maxHealthyPercentage", "%d is more than 100 above minHealthyPercentage (%d); AWS refuses a wider range", r.MaxHealthyPercentage, *r.MinHealthyPercentage)
	}
	if r.SkipMatching != nil && !*r.SkipMatching {
		errs.Addf(path+".instanceRefresh.skipMatching", "false is not allowed: kinfra roll replaces only the nodes that do not run the declared launch template version or a listed instance type, and it runs after every `pulumi up`, which must not replace the others each time; remove the key")
	}
	if r.InstanceWarmupSeconds < 0 || r.InstanceWarmupSeconds > 3600 {
		errs.Addf(path+".instanceRefresh.instanceWarmupSeconds", "%d is not allowed; use 1 to 3600", r.InstanceWarmupSeconds)
	}
	if p.DrainTimeoutSeconds < 30 || p.DrainTimeoutSeconds > 7200 {
		errs.Addf(path+".drainTimeoutSeconds", "%d is not allowed; use 30 to 7200 (the lifecycle hook's heartbeat timeout)", p.DrainTimeoutSeconds)
	}
	if n := c.PoolGroupTags(p); n > MaxGroupTags {
		errs.Addf(path, "its Auto Scaling Group would carry %d tags (kinfra's, cluster.tags, and a cluster-autoscaler node-template tag per label and taint); AWS allows %d. Use fewer labels, taints or cluster tags", n, MaxGroupTags)
	}
	return errs
}

// ValidateNodePool checks one defaulted pool against the cluster it joins
// (its zones, address plan, CNI and images), as workers.New does for a pool
// added from another stack. zones are the cluster's, in order, as its
// network made them.
func (c Cluster) ValidateNodePool(path string, p NodePool, zones []string) validate.Errors {
	var errs validate.Errors
	if p.Name == "" || !dnsLabel.MatchString(p.Name) {
		errs.Addf(path+".name", "%q is not allowed; use a DNS label of lowercase letters, digits and '-', starting with a letter", p.Name)
	} else if room := MaxNodePoolName(c.Name); len(p.Name) > room {
		n, _ := binding(poolNames, "{pool}", c.Name, "", c.Region)
		errs.Addf(path+".name", "%q is %d characters; with cluster name %q at most %d are allowed, because %s", p.Name, len(p.Name), c.Name, room, n.explain(c.Name, p.Name, c.Region))
	}
	errs.Append(c.checkPool(path, p, networkFacts{zones: zones, count: len(zones)}))
	return errs
}

func checkPoolZones(path string, p NodePool, net networkFacts) validate.Errors {
	var errs validate.Errors
	seen := map[string]bool{}
	for j, z := range p.Zones {
		zp := fmt.Sprintf("%s.zones[%d]", path, j)
		switch {
		case len(net.zones) == 0:
			errs.Addf(zp, "%q names a zone, but cluster.network.availabilityZones is not pinned; pin the cluster's zones to place pools in some of them", z)
		case !slices.Contains(net.zones, z):
			errs.Addf(zp, "%q is not one of the cluster's zones (%s)", z, strings.Join(net.zones, ", "))
		case seen[z]:
			errs.Addf(zp, "%q is listed twice", z)
		}
		seen[z] = true
	}
	return errs
}

// checkInstanceTypes checks the list (one architecture, the pipeline's when
// the pool boots its image) and returns the known types' figures.
func (c Cluster) checkInstanceTypes(errs *validate.Errors, path string, p NodePool) []instancetypes.Type {
	var known []instancetypes.Type
	if len(p.InstanceTypes) > MaxInstanceTypes {
		errs.Addf(path+".instanceTypes", "%d types listed; use at most %d", len(p.InstanceTypes), MaxInstanceTypes)
	}
	seen := map[string]bool{}
	arch, first := "", ""
	for j, t := range p.InstanceTypes {
		tp := fmt.Sprintf("%s.instanceTypes[%d]", path, j)
		a, ok := checkInstanceType(errs, tp, t)
		switch {
		case !ok:
			continue
		case seen[t]:
			errs.Addf(tp, "%s is listed twice", t)
			continue
		}
		seen[t] = true
		if p.Image.Pipeline {
			c.Images.checkPipelineArch(errs, tp, t, a, "give the pool its own image")
		}
		if arch == "" {
			arch, first = a, t
		} else if a != arch {
			errs.Addf(tp, "%s is %s, but %s is %s; one pool launches one AMI, so its types must share an architecture", t, a, first, arch)
		}
		if it, ok := instancetypes.Lookup(t); ok {
			known = append(known, it)
		}
	}
	return known
}

// AutoscalerTemplateTag is the prefix of cluster-autoscaler's node-template
// tags, which tell it what a node of an empty pool would look like.
const AutoscalerTemplateTag = "k8s.io/cluster-autoscaler/node-template/"

// AutoscalerLabelTag is the node-template tag key of a node label.
func AutoscalerLabelTag(key string) string { return AutoscalerTemplateTag + "label/" + key }

// AutoscalerTaintTag is the node-template tag key of a taint.
func AutoscalerTaintTag(key string) string { return AutoscalerTemplateTag + "taint/" + key }

// PoolGroupTags is how many tags the workers component puts on a pool's
// Auto Scaling Group: Name and kinfra's four, the cluster ownership tag, the
// pool tag, the termination handler's tag, the user's, and with the
// autoscaler its two discovery tags and a node-template tag per label (the
// pool label included) and taint.
func (c Cluster) PoolGroupTags(p NodePool) int {
	n := 8 + len(c.Tags)
	if p.AutoscalerOn() {
		n += 2 + len(p.Labels) + 1 + len(p.Taints)
	}
	return n
}

// checkTemplateTags: with the autoscaler on, every label and taint key
// becomes an Auto Scaling Group tag key, which AWS limits to MaxTagKey.
func checkTemplateTags(path string, p NodePool) validate.Errors {
	var errs validate.Errors
	if !p.AutoscalerOn() {
		return errs
	}
	check := func(fieldPath, key, tag, kind string) {
		if qualifiedName(key) != "" || len(tag) <= MaxTagKey {
			return // an invalid key is reported as such
		}
		errs.Addf(fieldPath, "%q is %d characters; with the pool's autoscaler on, its Auto Scaling Group carries cluster-autoscaler's node-template tag %q (%d characters), and AWS allows tag keys of at most %d. Use a %s key of at most %d characters, or set autoscaler: false",
			key, len(key), tag, len(tag), MaxTagKey, kind, MaxTagKey-len(tag)+len(key))
	}
	for _, k := range validate.SortedKeys(p.Labels) {
		check(fmt.Sprintf("%s.labels[%q]", path, k), k, AutoscalerLabelTag(k), "label")
	}
	for j, t := range p.Taints {
		check(fmt.Sprintf("%s.taints[%d].key", path, j), t.Key, AutoscalerTaintTag(t.Key), "taint")
	}
	return errs
}
