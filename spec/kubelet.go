package spec

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/instancetypes"
	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Taint is a node taint.
type Taint struct {
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
	// Effect is NoSchedule, PreferNoSchedule or NoExecute.
	Effect string `json:"effect"`
}

// The kubelet's reservations: memory for Kubernetes daemons is a base and a
// share per pod (the kubelet, container runtime and CNI agent grow with the
// pod count).
const (
	kubeReservedMemoryMi       = 255
	kubeReservedMemoryPerPodMi = 11
	reservedEphemeralStorage   = "1Gi"
)

// defaultKubeReserved is what a pool's kubeReserved gives each key it leaves
// unset.
func defaultKubeReserved(types []string, maxPods int) map[string]string {
	return map[string]string{
		"cpu":               defaultKubeReservedCPU(types),
		"memory":            fmt.Sprintf("%dMi", kubeReservedMemoryMi+kubeReservedMemoryPerPodMi*maxPods),
		"ephemeral-storage": reservedEphemeralStorage,
	}
}

// defaultSystemReserved is what a pool's systemReserved gives each key it
// leaves unset.
func defaultSystemReserved() map[string]string {
	return map[string]string{"cpu": "100m", "memory": "200Mi", "ephemeral-storage": reservedEphemeralStorage}
}

// defaultEvictionHard is a pool's evictionHard when it sets none.
func defaultEvictionHard() map[string]string {
	return map[string]string{
		"memory.available": "500Mi", "nodefs.available": "10%",
		"nodefs.inodesFree": "5%", "imagefs.available": "15%", "imagefs.inodesFree": "5%",
	}
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

// Kubernetes qualified names: an optional DNS subdomain prefix and a
// name of at most 63 characters.
var labelName = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)

var labelPrefix = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

var labelValue = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)

var quantity = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?)(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$`)

var percentage = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?)%$`)

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
