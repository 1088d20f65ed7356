package drift

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// unplanned reports the live resources tagged for the cluster that no plan
// resource matched.
func (c *comparison) unplanned() {
	for _, l := range c.lives {
		if l.used || !c.taggedForCluster(l.tags) {
			continue
		}
		name := l.name
		if name == "" {
			name = "(no Name tag)"
		}
		c.add(Drift{Kind: Unplanned, Type: l.typ, Name: name, ID: l.id,
			Message: fmt.Sprintf("%s %s is tagged for cluster %s but the plan has no such %s", shortType(l.typ), l.id, c.cluster, shortType(l.typ))})
	}
}

// deliberate are the inputs of compared types that drift never compares,
// by type and input path (a prefix covers what is under it), with why.
var deliberate = []struct{ typ, path, why string }{
	{tASG, "desiredCapacity", whyDesired},
	{tASG, "launchTemplate.version", whyVersion},
	{tASG, "mixedInstancesPolicy.launchTemplate.launchTemplateSpecification.version", whyVersion},
	{tLT, "imageId", whyImage},
	{tLT, "userData", whyUserData},
	{tLT, "iamInstanceProfile", whyRandomName},
	{tASG, "waitForCapacityTimeout", whyProviderOnly},
	{tASG, "minElbCapacity", whyProviderOnly},
	{tASG, "waitForElbCapacity", whyProviderOnly},
	{tASG, "forceDelete", whyProviderOnly},
	{tSG, "revokeRulesOnDelete", whyProviderOnly},
}

const (
	whyDesired      = "the group's desired capacity belongs to whoever scales it (the cluster autoscaler, for a pool): drift never fights the autoscaler"
	whyVersion      = "a launch template version number counts the versions made since creation (the roll pins groups to them); the plan's is always its first. A version made outside code is caught on the template instead (latest ≠ default)"
	whyImage        = "the plan's image ID is the offline placeholder for the Image Builder pipeline's latest build, which only the account knows"
	whyUserData     = "the plan's user data embeds the offline throwaway PKI (certificates and keys differ from the stack's), so it never matches the live one"
	whyRandomName   = "instance profile names and ARNs carry a random suffix Pulumi picks at creation"
	whyProviderOnly = "settings of the Pulumi AWS provider's own behaviour (how long to wait, what to do on delete), not attributes AWS holds"
	whyIgnored      = "the program marks these ignoreChanges: Pulumi keeps whatever the account holds, so a difference is not drift"
	whyNotRead      = "not read from the account (the inventory has no field for them): a change there is not seen"
	whyOtherType    = "drift compares the network, security groups, launch templates, Auto Scaling groups and load balancers; resources of other types are planned but not compared"
)

// omissions summarises what was not compared, one entry per reason.
func (c *comparison) omissions() []Omission {
	byReason := map[string]map[string]int{}
	note := func(why, item string) {
		if byReason[why] == nil {
			byReason[why] = map[string]int{}
		}
		byReason[why][item]++
	}
	for _, r := range c.p.Resources {
		if !comparedTypes[r.Type] {
			if r.Custom && !strings.HasPrefix(r.Type, "pulumi:") {
				note(whyOtherType, r.Type)
			}
			continue
		}
		seen := map[string]bool{}
		for _, leaf := range leaves("", r.Inputs) {
			if leaf == "" {
				continue
			}
			why := ""
			if d, ok := deliberateFor(r.Type, leaf); ok {
				why = d
			} else if ignoredLeaf(r.Options.IgnoreChanges, leaf) {
				why = whyIgnored
			} else if !c.covered(r.Type, leaf) {
				why = whyNotRead
			}
			item := r.Type + " " + leaf
			if why != "" && !seen[why+item] {
				seen[why+item] = true
				note(why, item)
			}
		}
	}
	var out []Omission
	for _, why := range []string{whyOtherType, whyDesired, whyVersion, whyImage, whyUserData, whyRandomName, whyProviderOnly, whyIgnored, whyNotRead} {
		items := byReason[why]
		if len(items) == 0 {
			continue
		}
		o := Omission{Reason: why}
		for _, k := range slices.Sorted(maps.Keys(items)) {
			o.Items = append(o.Items, fmt.Sprintf("%s (%d)", k, items[k]))
		}
		out = append(out, o)
	}
	if out == nil {
		out = []Omission{}
	}
	return out
}

func deliberateFor(typ, leaf string) (string, bool) {
	for _, d := range deliberate {
		if d.typ == typ && under(leaf, d.path) {
			return d.why, true
		}
	}
	return "", false
}

// ignoredLeaf: the leaf is under one of the resource's ignoreChanges
// paths (which name list elements by index; a leaf by []).
func ignoredLeaf(ignore []string, leaf string) bool {
	for _, ig := range ignore {
		if under(leaf, indexless(ig)) {
			return true
		}
	}
	return false
}

// covered: a compared path is the leaf or above it.
func (c *comparison) covered(typ, leaf string) bool {
	for p := range c.used[typ] {
		if under(leaf, p) {
			return true
		}
	}
	return false
}

// under: path is p or inside it.
func under(path, p string) bool {
	return path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[")
}

// indexless writes list indexes as []: a[0].b → a[].b.
func indexless(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '[' {
			if j := strings.IndexByte(p[i:], ']'); j > 0 {
				b.WriteString("[]")
				i += j
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// leaves are the paths of an input's scalars, list elements as [] (a
// resource's tags map is one leaf: its keys are compared one by one).
func leaves(prefix string, v any) []string {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 || prefix == "tags" {
			break
		}
		var out []string
		for _, k := range slices.Sorted(maps.Keys(v)) {
			out = append(out, leaves(join(k), v[k])...)
		}
		return out
	case []any:
		if len(v) == 0 {
			break
		}
		seen := map[string]bool{}
		var out []string
		for _, e := range v {
			for _, l := range leaves(prefix+"[]", e) {
				if !seen[l] {
					seen[l] = true
					out = append(out, l)
				}
			}
		}
		sort.Strings(out)
		return out
	}
	return []string{prefix}
}
