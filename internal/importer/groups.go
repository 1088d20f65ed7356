package importer

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/instancetypes"
	"github.com/kinfra-dev/kinfra/internal/inventory"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/yamldoc"
	"github.com/kinfra-dev/kinfra/spec"
)

// masterTags mark a control-plane group, as kops, kubeadm-era tooling and
// kinfra itself tag them.
var masterTags = []string{
	"k8s.io/role/master", "kubernetes.io/role/master",
	"node-role.kubernetes.io/master", "node-role.kubernetes.io/control-plane",
	"k8s.io/cluster-autoscaler/node-template/label/node-role.kubernetes.io/control-plane",
	"k8s.io/cluster-autoscaler/node-template/label/node-role.kubernetes.io/master",
	tags.MasterSlot,
}

var masterName = regexp.MustCompile(`(?i)(^|[^a-z])(master|control-?plane)s?([^a-z]|$)`)

func isMaster(g inventory.AutoScalingGroup) bool {
	for _, k := range masterTags {
		if _, ok := g.Tags[k]; ok {
			return true
		}
	}
	return masterName.MatchString(g.Name)
}

const (
	labelTag = "k8s.io/cluster-autoscaler/node-template/label/"
	taintTag = "k8s.io/cluster-autoscaler/node-template/taint/"
)

// groups describes the masters and the node pools; the groups themselves
// are not imported: kinfra's are made from its own launch templates, so
// the new ones come up beside the old, and the old are removed by hand once
// the workloads have moved.
func (b *builder) groups(n *network) (masters yamldoc.Map, pools []any) {
	lts := map[string]inventory.LaunchTemplate{}
	for _, lt := range b.inv.LaunchTemplates {
		lts[lt.ID], lts[lt.Name] = lt, lt
	}
	var ms []inventory.AutoScalingGroup
	names := map[string]bool{}
	for _, g := range b.inv.AutoScalingGroups {
		if isMaster(g) {
			ms = append(ms, g)
			continue
		}
		if p := b.pool(g, n, lts, names); p != nil {
			pools = append(pools, p)
		}
	}
	if len(ms) > 0 {
		masters = b.masters(ms, lts)
	}
	return masters, pools
}

// template is the launch template data a group launches, and its ref.
func template(g inventory.AutoScalingGroup, lts map[string]inventory.LaunchTemplate) (inventory.LaunchTemplate, bool) {
	ref := g.LaunchTemplate
	if g.MixedInstances != nil {
		ref = &g.MixedInstances.LaunchTemplate
	}
	if ref == nil {
		return inventory.LaunchTemplate{}, false
	}
	if lt, ok := lts[ref.ID]; ok && ref.ID != "" {
		return lt, true
	}
	lt, ok := lts[ref.Name]
	return lt, ok
}

func (b *builder) masters(ms []inventory.AutoScalingGroup, lts map[string]inventory.LaunchTemplate) yamldoc.Map {
	out := yamldoc.Map{}
	count := 0
	types := map[string]bool{}
	var lt inventory.LaunchTemplate
	for _, g := range ms {
		count += int(max(g.DesiredCapacity, g.MinSize))
		t, ok := template(g, lts)
		if !ok {
			b.unexpressed("Auto Scaling group", g.Name, "a master group with no launch template (a launch configuration?); its instance type and volumes are not read")
			continue
		}
		lt = t
		types[t.Data.InstanceType] = true
		b.unexpressed("Auto Scaling group", g.Name, "a master group: kinfra's masters are new groups from its own images and PKI, with a new etcd; this group keeps running until it is removed by hand (etcd data is not moved: see docs/import-drift.md)")
	}
	switch count {
	case 1, 3, 5, 7:
		out = append(out, [2]any{"count", count})
	default:
		b.note("%d masters found over %d groups; etcd needs 1, 3, 5 or 7, so the stack file keeps kinfra's default (3)", count, len(ms))
	}
	if len(types) == 1 && lt.Data.InstanceType != "" {
		if msg := instancetypes.Check(lt.Data.InstanceType); msg != "" {
			b.note("the masters' instance type %s is not kept: %s", lt.Data.InstanceType, msg)
		} else {
			out = append(out, [2]any{"instanceType", lt.Data.InstanceType})
		}
	} else if len(types) > 1 {
		b.note("the master groups launch several instance types (%s); the stack file keeps kinfra's default", strings.Join(sortedKeys(types), ", "))
	}
	if lt.ID != "" {
		root, etcd := volumes(lt)
		if v := volume(root); v != nil {
			out = append(out, [2]any{"rootVolume", v})
		}
		if v := volume(etcd); v != nil {
			out = append(out, [2]any{"etcdVolume", v})
		}
	}
	return out
}

// volumes are a template's root device and its one other EBS volume (on a
// master, etcd's), by the device names images boot from.
func volumes(lt inventory.LaunchTemplate) (root, other *inventory.BlockDevice) {
	for i, d := range lt.Data.BlockDevices {
		switch d.DeviceName {
		case "/dev/sda1", "/dev/xvda":
			root = &lt.Data.BlockDevices[i]
		default:
			if other == nil {
				other = &lt.Data.BlockDevices[i]
			}
		}
	}
	return root, other
}

func volume(d *inventory.BlockDevice) yamldoc.Map {
	if d == nil || d.SizeGiB == 0 {
		return nil
	}
	v := yamldoc.Map{{"sizeGiB", int(d.SizeGiB)}}
	if slices.Contains([]string{"gp3", "io1", "io2"}, d.VolumeType) {
		v = append(v, [2]any{"type", d.VolumeType})
		if d.Iops > 0 {
			v = append(v, [2]any{"iops", int(d.Iops)})
		}
		if d.VolumeType == "gp3" && d.Throughput > 0 {
			v = append(v, [2]any{"throughputMiBps", int(d.Throughput)})
		}
	}
	return v
}

// pool describes a worker group as a node pool.
func (b *builder) pool(g inventory.AutoScalingGroup, n *network, lts map[string]inventory.LaunchTemplate, names map[string]bool) yamldoc.Map {
	name := poolName(g.Name, b.r.Name)
	if max := spec.MaxNodePoolName(b.r.Name); len(name) > max {
		name = strings.TrimRight(name[:max], "-")
	}
	for base, i := name, 2; names[name] || name == ""; i++ {
		name = fmt.Sprintf("%s-%d", strings.TrimRight(base, "-"), i)
		if base == "" {
			name = fmt.Sprintf("pool-%d", i)
		}
	}
	names[name] = true
	b.unexpressed("Auto Scaling group", g.Name, "described as node pool %q: kinfra makes a new group from its own launch template beside this one; move the workloads, then remove this group by hand", name)
	p := yamldoc.Map{{"name", name}}
	if zones := b.groupZones(g, n); len(zones) < len(n.zones) && len(zones) > 0 {
		p = append(p, [2]any{"zones", toAny(zones)})
	}
	if g.MinSize > 0 {
		p = append(p, [2]any{"minSize", int(g.MinSize)})
	}
	if g.MaxSize < 1 {
		// kinfra's pools take at least one node; say so rather than change
		// the size silently.
		b.note("node pool %s: group %s has a maximum size of %d; the pool's maxSize is 1, the least kinfra takes", name, g.Name, g.MaxSize)
	}
	p = append(p, [2]any{"maxSize", int(max(g.MaxSize, 1))})

	lt, hasLT := template(g, lts)
	var types []string
	if m := g.MixedInstances; m != nil && len(m.InstanceTypes) > 0 {
		types = m.InstanceTypes
	} else if hasLT && lt.Data.InstanceType != "" {
		types = []string{lt.Data.InstanceType}
	}
	var kept []string
	for _, t := range types {
		if msg := instancetypes.Check(t); msg != "" {
			b.note("node pool %s: instance type %s is not kept: %s", name, t, msg)
			continue
		}
		kept = append(kept, t)
	}
	if len(kept) > 0 {
		p = append(p, [2]any{"instanceTypes", toAny(kept)})
	}
	if m := g.MixedInstances; m != nil {
		if m.OnDemandBaseCapacity > 0 {
			p = append(p, [2]any{"onDemandBase", int(m.OnDemandBaseCapacity)})
		}
		p = append(p, [2]any{"onDemandPercentageAboveBase", int(m.OnDemandPercentageAboveBaseCapacity)})
		if slices.Contains(spec.SpotAllocationStrategies, m.SpotAllocationStrategy) {
			p = append(p, [2]any{"spotAllocationStrategy", m.SpotAllocationStrategy})
		}
	}
	if hasLT {
		if root, _ := volumes(lt); root != nil {
			if v := volume(root); v != nil {
				p = append(p, [2]any{"rootVolume", v})
			}
		}
	}
	flags := kubeletFlags(lt.Data.UserData)
	if mp, err := strconv.Atoi(flags["max-pods"]); err == nil && mp > 0 {
		p = append(p, [2]any{"maxPods", mp})
	}
	if labels := b.labels(g, flags); len(labels) > 0 {
		p = append(p, [2]any{"labels", yamldoc.Sorted(labels)})
	}
	if taints := b.taints(g, flags); len(taints) > 0 {
		p = append(p, [2]any{"taints", taints})
	}
	return p
}

// poolName is the group's name without the cluster's, as a DNS label.
func poolName(group, cluster string) string {
	n := strings.ToLower(group)
	n = strings.TrimPrefix(n, strings.ToLower(cluster))
	n = strings.TrimSuffix(strings.TrimSuffix(n, "-asg"), "-nodes")
	n = label(n)
	for _, p := range []string{"nodes-", "node-", "workers-", "worker-", "pool-"} {
		if rest, ok := strings.CutPrefix(n, p); ok && rest != "" {
			return rest
		}
	}
	return n
}

// groupZones are the cluster zones of the group's subnets.
func (b *builder) groupZones(g inventory.AutoScalingGroup, n *network) []string {
	var zones []string
	for _, z := range n.zones {
		if slices.Contains(g.SubnetIDs, n.nodeSubnet[z].ID) {
			zones = append(zones, z)
		}
	}
	for _, id := range g.SubnetIDs {
		found := false
		for _, z := range n.zones {
			found = found || n.nodeSubnet[z].ID == id
		}
		if !found {
			b.unexpressed("subnet of a group", g.Name+"/"+id, "group %s launches into subnet %s, which is not a zone's node subnet; kinfra's pool uses the node subnets of its zones", g.Name, id)
		}
	}
	return zones
}

// kubeletFlags are the --flag=value pairs of a boot script's kubelet (or
// kubeadm KUBELET_EXTRA_ARGS) command lines.
func kubeletFlags(userData string) map[string]string {
	out := map[string]string{}
	for _, f := range flagPattern.FindAllStringSubmatch(userData, -1) {
		out[f[1]] = strings.Trim(f[2], `"'`)
	}
	return out
}

var flagPattern = regexp.MustCompile(`--(node-labels|register-with-taints|max-pods)[= ]("[^"]*"|'[^']*'|[^\s\\]+)`)

func (b *builder) labels(g inventory.AutoScalingGroup, flags map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range g.Tags {
		if key, ok := strings.CutPrefix(k, labelTag); ok {
			out[key] = v
		}
	}
	for _, kv := range strings.Split(flags["node-labels"], ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	for k := range out {
		if strings.HasPrefix(k, "node-role.kubernetes.io/") || strings.HasPrefix(k, "kubernetes.io/") || strings.HasPrefix(k, "k8s.io/") {
			b.unexpressed("node label", g.Name+"/"+k, "label %s=%s is in a namespace the kubelet may not set on itself (NodeRestriction); it is left out", k, out[k])
			delete(out, k)
		}
	}
	return out
}

func (b *builder) taints(g inventory.AutoScalingGroup, flags map[string]string) []any {
	found := map[string]spec.Taint{}
	add := func(key, valueEffect, from string) {
		value, effect, ok := strings.Cut(valueEffect, ":")
		if !ok {
			value, effect = "", valueEffect
		}
		if !slices.Contains([]string{"NoSchedule", "PreferNoSchedule", "NoExecute"}, effect) {
			b.unexpressed("node taint", g.Name+"/"+key, "taint %s=%s from %s has no effect kinfra knows; it is left out", key, valueEffect, from)
			return
		}
		found[key+":"+effect] = spec.Taint{Key: key, Value: value, Effect: effect}
	}
	for _, k := range sortedKeys(g.Tags) {
		if key, ok := strings.CutPrefix(k, taintTag); ok {
			add(key, g.Tags[k], "the group's tag")
		}
	}
	for _, t := range strings.Split(flags["register-with-taints"], ",") {
		if k, ve, ok := strings.Cut(t, "="); ok {
			add(k, ve, "--register-with-taints")
		} else if k, e, ok := strings.Cut(t, ":"); ok {
			add(k, ":"+e, "--register-with-taints")
		}
	}
	keys := sortedKeys(found)
	sort.Strings(keys)
	var out []any
	for _, k := range keys {
		t := found[k]
		m := yamldoc.Map{{"key", t.Key}}
		if t.Value != "" {
			m = append(m, [2]any{"value", t.Value})
		}
		out = append(out, append(m, [2]any{"effect", t.Effect}))
	}
	return out
}
