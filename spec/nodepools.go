package spec

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/cidr"
	"github.com/kinfra-dev/kinfra/internal/instancetypes"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/validate"
)

// NodePoolLabel is the label every node of a pool carries, with the pool's
// name; kinfra sets it, so pools may not.
const NodePoolLabel = tags.NodePool

// MaxInstanceTypes is the most instance types one pool may list (an Auto
// Scaling Group's mixed instances policy takes at most 40 overrides; fewer
// keep the group reviewable).
const MaxInstanceTypes = 20

// MaxGroupTags is the most tags AWS allows on an Auto Scaling Group.
const MaxGroupTags = 50

// AutoscalerTemplateTag is the prefix of cluster-autoscaler's node-template
// tags, which tell it what a node of an empty pool would look like.
const AutoscalerTemplateTag = "k8s.io/cluster-autoscaler/node-template/"

// AutoscalerLabelTag is the node-template tag key of a node label.
func AutoscalerLabelTag(key string) string { return AutoscalerTemplateTag + "label/" + key }

// AutoscalerTaintTag is the node-template tag key of a taint.
func AutoscalerTaintTag(key string) string { return AutoscalerTemplateTag + "taint/" + key }

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

// SpotAllocationStrategies are the strategies an Auto Scaling Group takes.
var SpotAllocationStrategies = []string{"price-capacity-optimized", "capacity-optimized", "capacity-optimized-prioritized", "lowest-price"}

var (
	// Kubernetes qualified names: an optional DNS subdomain prefix and a
	// name of at most 63 characters.
	labelName   = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	labelPrefix = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	labelValue  = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
	quantity    = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?)(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$`)
	percentage  = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?)%$`)
	accountID   = regexp.MustCompile(`^[0-9]{12}$`)
	imageCron   = regexp.MustCompile(`^cron\([^()]+\)$`)
	versionPin  = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
)

// reservedResources are the keys kubeReserved and systemReserved take.
var reservedResources = []string{"cpu", "ephemeral-storage", "memory", "pid"}

// evictionSignals are the kubelet's hard eviction signals on Linux.
var evictionSignals = []string{
	"imagefs.available", "imagefs.inodesFree", "containerfs.available", "containerfs.inodesFree",
	"memory.available", "nodefs.available", "nodefs.inodesFree", "pid.available",
}

// kubeletLabelPrefixes are the kubernetes.io and k8s.io label namespaces a
// kubelet may set on its own node (the NodeRestriction admission plugin and
// the kubelet itself refuse the rest).
var kubeletLabelPrefixes = []string{"kubelet.kubernetes.io/", "node.kubernetes.io/"}

// kubeletLabels are the well-known labels a kubelet may set.
var kubeletLabels = []string{
	"kubernetes.io/hostname", "kubernetes.io/arch", "kubernetes.io/os",
	"beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type",
	"topology.kubernetes.io/region", "topology.kubernetes.io/zone",
	"failure-domain.beta.kubernetes.io/region", "failure-domain.beta.kubernetes.io/zone",
}

// PodsUseVPCAddresses reports whether pods take addresses from the node
// subnets: native routing (tunnel none) with Cilium is its ENI IPAM mode.
func (c CNI) PodsUseVPCAddresses() bool { return c.Provider == CNICilium && c.Tunnel == TunnelNone }

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

// ValidateNodePool checks one defaulted pool against the cluster it joins
// (its zones, address plan, CNI and images), as workers.New does for a pool
// added from another stack.
func (c Cluster) ValidateNodePool(path string, p NodePool) validate.Errors {
	var errs validate.Errors
	if p.Name == "" || !dnsLabel.MatchString(p.Name) {
		errs.Addf(path+".name", "%q is not allowed; use a DNS label of lowercase letters, digits and '-', starting with a letter", p.Name)
	} else if room := MaxNodePoolName(c.Name); len(p.Name) > room {
		n, _ := binding(poolNames, "{pool}", c.Name, "", c.Region)
		errs.Addf(path+".name", "%q is %d characters; with cluster name %q at most %d are allowed, because %s", p.Name, len(p.Name), c.Name, room, n.explain(c.Name, p.Name, c.Region))
	}
	zones := c.Network.AvailabilityZones
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

// checkMaxPods: the kubelet's limit must fit the node's pod addresses.
func (c Cluster) checkMaxPods(path string, p NodePool, types []instancetypes.Type) validate.Errors {
	var errs validate.Errors
	if p.MaxPods < 1 || p.MaxPods > 1000 {
		errs.Addf(path+".maxPods", "%d is not allowed; use 1 to 1000", p.MaxPods)
		return errs
	}
	if c.CNI.PodsUseVPCAddresses() {
		for _, t := range types {
			if n := t.PodAddresses(); p.MaxPods > n {
				errs.Addf(path+".maxPods", "%d pods cannot fit %s: with native routing each pod takes a VPC address, and its %d network interfaces hold %d secondary addresses. %s", p.MaxPods, t.Name, t.ENIs, n, nativeMaxPodsAdvice(n, t.Name, len(p.InstanceTypes)))
			}
		}
		return errs
	}
	mask := c.Kubernetes.NodeCidrMaskSize
	if !c.Kubernetes.nodeMaskFits() {
		return errs // reported by the kubernetes checks
	}
	// The node's pod block, less its network and broadcast addresses (the
	// CNI's IPAM hands out neither).
	usable := 1<<(32-mask) - 2
	if p.MaxPods > usable {
		errs.Addf(path+".maxPods", "%d pods cannot fit a node's /%d pod block (%d addresses); %s", p.MaxPods, mask, usable, c.maxPodsAdvice(p.MaxPods, usable))
	}
	return errs
}

func checkLabels(path string, labels map[string]string) validate.Errors {
	var errs validate.Errors
	for _, k := range validate.SortedKeys(labels) {
		kp := fmt.Sprintf("%s[%q]", path, k)
		if msg := qualifiedName(k); msg != "" {
			errs.Addf(kp, "%s", msg)
			continue
		}
		if k == NodePoolLabel {
			errs.Addf(kp, "is set by kinfra to the pool's name; remove it")
			continue
		}
		prefix, _, _ := strings.Cut(k, "/")
		if strings.Contains(k, "/") && (prefix == "kubernetes.io" || prefix == "k8s.io" || strings.HasSuffix(prefix, ".kubernetes.io") || strings.HasSuffix(prefix, ".k8s.io")) &&
			!slices.Contains(kubeletLabels, k) && !slices.ContainsFunc(kubeletLabelPrefixes, func(pre string) bool { return strings.HasPrefix(k, pre) }) {
			errs.Addf(kp, "is in a namespace the kubelet may not set (the node would fail to register); use node.kubernetes.io/..., node-role labels set by an admin afterwards, or your own prefix")
			continue
		}
		if v := labels[k]; len(v) > 63 || !labelValue.MatchString(v) {
			errs.Addf(kp, "value %q is not a label value: at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit", v)
		}
	}
	return errs
}

// qualifiedName checks a label or taint key; "" if it is valid.
func qualifiedName(k string) string {
	prefix, name, found := strings.Cut(k, "/")
	if !found {
		name, prefix = prefix, ""
	}
	switch {
	case found && (len(prefix) == 0 || len(prefix) > 253 || !labelPrefix.MatchString(prefix)):
		return fmt.Sprintf("%q has a prefix that is not a DNS subdomain", validate.Shorten(k))
	case len(name) == 0 || len(name) > 63 || !labelName.MatchString(name):
		return fmt.Sprintf("%q is not a qualified name: at most 63 letters, digits, '-', '_' and '.', with an optional DNS subdomain prefix and '/'", validate.Shorten(k))
	}
	return ""
}

func checkTaints(path string, taints []Taint, autoscaler bool) validate.Errors {
	var errs validate.Errors
	seen, keys := map[string]bool{}, map[string]bool{}
	for j, t := range taints {
		tp := fmt.Sprintf("%s[%d]", path, j)
		if msg := qualifiedName(t.Key); msg != "" {
			errs.Addf(tp+".key", "%s", msg)
		}
		if len(t.Value) > 63 || !labelValue.MatchString(t.Value) {
			errs.Addf(tp+".value", "%q is not a taint value: at most 63 letters, digits, '-', '_' and '.'", t.Value)
		}
		if !slices.Contains([]string{"NoSchedule", "PreferNoSchedule", "NoExecute"}, t.Effect) {
			errs.Addf(tp+".effect", "%q is not allowed; use NoSchedule, PreferNoSchedule or NoExecute", t.Effect)
		}
		if id := t.Key + ":" + t.Effect; seen[id] {
			errs.Addf(tp, "%s with effect %s is listed twice", t.Key, t.Effect)
		} else if autoscaler && keys[t.Key] {
			errs.Addf(tp, "%s is listed with two effects, but cluster-autoscaler's node-template tag holds one effect per key, so it would plan nodes without one of them; use one effect or turn the pool's autoscaler off", t.Key)
		} else {
			seen[id] = true
		}
		keys[t.Key] = true
	}
	return errs
}

func checkReserved(path string, m map[string]string) validate.Errors {
	var errs validate.Errors
	for _, k := range validate.SortedKeys(m) {
		kp := fmt.Sprintf("%s[%q]", path, k)
		switch {
		case !slices.Contains(reservedResources, k):
			errs.Addf(kp, "is not a resource the kubelet reserves; use %s", validate.Join(reservedResources))
		case k == "pid" && !isInteger(m[k]):
			errs.Addf(kp, "%q is not a process count", m[k])
		case k != "pid" && !quantity.MatchString(m[k]):
			errs.Addf(kp, "%q is not a quantity (e.g. 500m, 1Gi)", m[k])
		}
	}
	return errs
}

func checkEviction(path string, m map[string]string) validate.Errors {
	var errs validate.Errors
	for _, k := range validate.SortedKeys(m) {
		kp := fmt.Sprintf("%s[%q]", path, k)
		v := m[k]
		switch {
		case !slices.Contains(evictionSignals, k):
			errs.Addf(kp, "is not an eviction signal; use %s", validate.Join(evictionSignals))
		case percentage.MatchString(v):
			if f, _ := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64); f <= 0 || f >= 100 {
				errs.Addf(kp, "%q is not allowed; a percentage threshold is above 0%% and below 100%%", v)
			}
		case !quantity.MatchString(v):
			errs.Addf(kp, "%q is not a quantity or percentage (e.g. 500Mi, 10%%)", v)
		}
	}
	return errs
}

// checkReservedMemory: what the kubelet holds back must leave room for pods
// on the smallest known instance type.
func checkReservedMemory(path string, p NodePool, types []instancetypes.Type) validate.Errors {
	var errs validate.Errors
	kube, ok1 := bytesOf(p.KubeReserved["memory"])
	sys, ok2 := bytesOf(p.SystemReserved["memory"])
	evict, ok3 := bytesOf(p.EvictionHard["memory.available"])
	if !ok1 || !ok2 {
		return errs
	}
	if !ok3 {
		evict = 0
	}
	held := kube + sys + evict
	for _, t := range types {
		mem := float64(t.MemoryMiB) * (1 << 20)
		if held >= mem/2 {
			errs.Addf(path+".instanceTypes", "%s has %d MiB of memory, and kubeReserved, systemReserved and the memory eviction threshold hold back %.0f MiB of it, leaving less than half for pods; use a larger type or lower the reservations (kubeReserved memory grows with maxPods)", t.Name, t.MemoryMiB, held/(1<<20))
		}
	}
	return errs
}

func isInteger(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

// bytesOf parses a Kubernetes memory quantity.
func bytesOf(q string) (float64, bool) {
	m := quantity.FindStringSubmatch(q)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	mult := map[string]float64{
		"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
		"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": math.Pow(2, 60),
	}[m[3]]
	return v * mult, true
}

func (c Cluster) validateImages() validate.Errors {
	var errs validate.Errors
	i := c.Images
	if !i.On() {
		return errs
	}
	const path = "cluster.images"
	if !slices.Contains([]string{ParentUbuntu2404, ParentAL2023}, i.Parent) {
		errs.Addf(path+".parent", "%q is not allowed; use ubuntu-24.04 or al2023", i.Parent)
	}
	if !i.archValid() {
		errs.Addf(path+".architecture", "%q is not allowed; use x86_64 or arm64", i.Architecture)
	}
	for j, t := range i.BuildInstanceTypes {
		tp := fmt.Sprintf("%s.buildInstanceTypes[%d]", path, j)
		if a, ok := checkInstanceType(&errs, tp, t); ok && i.archValid() && a != i.Architecture {
			errs.Addf(tp, "%s is %s; builds of %s images need %s instances", t, a, i.Architecture, i.Architecture)
		}
	}
	for name, v := range map[string]string{"containerd": i.Versions.Containerd, "runc": i.Versions.Runc, "cniPlugins": i.Versions.CNIPlugins, "etcd": i.Versions.Etcd} {
		if !versionPin.MatchString(v) {
			errs.Addf(path+".versions."+name, "%q is not a release version; use MAJOR.MINOR.PATCH without a leading v", v)
		}
	}
	if major, _, _ := strings.Cut(i.Versions.Containerd, "."); versionPin.MatchString(i.Versions.Containerd) && major != "2" {
		errs.Addf(path+".versions.containerd", "%s is not supported; the images configure containerd 2.x", i.Versions.Containerd)
	}
	if i.Schedule != "" && !imageCron.MatchString(i.Schedule) {
		errs.Addf(path+".schedule", "%q is not an Image Builder schedule; use a cron expression such as cron(0 4 ? * sun *)", i.Schedule)
	}
	seen := map[string]bool{c.Region: true}
	stack, stackKnown := lookupRegion(c.Region)
	for j, r := range i.DistributeTo {
		rp := fmt.Sprintf("%s.distributeTo[%d]", path, j)
		switch {
		case !checkDistribution(&errs, rp, r, stack, stackKnown):
		case seen[r]:
			errs.Addf(rp, "%s is this stack's region or listed twice", r)
		}
		seen[r] = true
	}
	for j, a := range i.ShareWith {
		if !accountID.MatchString(a) {
			errs.Addf(fmt.Sprintf("%s.shareWith[%d]", path, j), "%q is not an AWS account ID (12 digits)", a)
		}
	}
	return errs
}

// archValid reports whether the images' architecture is one kinfra builds;
// checks that compare with it wait until it is.
func (i Images) archValid() bool { return i.Architecture == ArchX86 || i.Architecture == ArchARM }

// nodeMaskFits reports whether the pod block and node mask are valid
// together, so that checks built on them do not echo their errors.
func (k Kubernetes) nodeMaskFits() bool {
	pod, err := cidr.ParseNetwork(k.PodCidr)
	mask := k.NodeCidrMaskSize
	return err == nil && pod.Addr().Is4() && mask > pod.Bits() && mask-pod.Bits() <= 16 && mask <= 28
}

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
