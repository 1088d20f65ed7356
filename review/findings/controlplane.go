package findings

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/components/workers"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/tags"
)

const (
	groupType = "aws:autoscaling/group:Group"
	// autoscalerEnabledTag marks a group cluster-autoscaler's auto-discovery
	// scales.
	autoscalerEnabledTag = tags.AutoscalerEnabled
)

// etcdVolumeProtected flags etcd volumes that Pulumi could delete: without
// protect, a `pulumi destroy` or a replacing change deletes the cluster's
// state; without retainOnDelete, so does removing the volume from the
// program or the stack.
func etcdVolumeProtected(rs []mockaws.Resource) []Finding {
	var out []Finding
	for _, v := range mockaws.OfType(rs, ebsVolumeType) {
		if !tags.IsEtcdVolume(mockaws.Tags(v.Inputs)) {
			continue
		}
		var missing []string
		if !v.Options.Protect {
			missing = append(missing, "protect (a destroy or a replacing change would delete it)")
		}
		if !v.Options.RetainOnDelete {
			missing = append(missing, "retainOnDelete (removing it from the program or the stack would delete it)")
		}
		if len(missing) > 0 {
			out = append(out, Finding{Resource: v.URN, Message: fmt.Sprintf("this etcd volume holds the cluster's state but lacks %s; register it with pulumi.Protect(true) and pulumi.RetainOnDelete(true)", strings.Join(missing, " and "))})
		}
	}
	return out
}

// oneRefreshAtATime flags master groups that a change of the stack could
// make replace their instance without `kinfra roll`: a group with an
// instance refresh (`pulumi up` would start one in every slot whose launch
// template changed, all at once), or one whose launch template version
// Pulumi keeps moving (an instance AWS replaces would boot the new
// configuration before the roll has gated it), and master groups sharing a
// launch template.
func oneRefreshAtATime(rs []mockaws.Resource) []Finding {
	templates := map[string]mockaws.Resource{}
	for _, lt := range mockaws.OfType(rs, launchTemplate) {
		templates[lt.ID] = lt
	}
	byTemplate := map[string][]string{}
	var out []Finding
	for _, g := range mockaws.OfType(rs, groupType) {
		if _, master := tags.Slot(mockaws.Tags(g.Inputs)); !master {
			continue
		}
		if ltID := groupLaunchTemplate(g); ltID != "" {
			byTemplate[ltID] = append(byTemplate[ltID], g.Name)
		}
		var why []string
		if g.Inputs["instanceRefresh"] != nil {
			why = append(why, "has an instance refresh, which `pulumi up` starts in every slot whose launch template changed, all at once")
		}
		if !slices.Contains(g.Options.IgnoreChanges, masters.RolledGroupSetting) {
			why = append(why, "does not ignore "+masters.RolledGroupSetting+", so an instance AWS replaces boots the new configuration before `kinfra roll` has gated it")
		}
		if len(why) > 0 {
			out = append(out, Finding{Resource: g.URN, Message: fmt.Sprintf("master group %s %s. Masters are replaced only by `kinfra roll`, one slot at a time behind health gates; register the group with pulumi.IgnoreChanges([]string{%q}) and no instance refresh", g.Name, strings.Join(why, ", and "), masters.RolledGroupSetting)})
		}
	}
	ids := make([]string, 0, len(byTemplate))
	for id := range byTemplate {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if groups := byTemplate[id]; len(groups) > 1 {
			urn := id
			if lt, ok := templates[id]; ok {
				urn = lt.URN
			}
			out = append(out, Finding{Resource: urn, Message: fmt.Sprintf("master groups %s share this launch template, so a change to it reaches them all at once; give every slot its own launch template", strings.Join(groups, ", "))})
		}
	}
	return out
}

// groupLaunchTemplate is the ID of the launch template a group launches
// from, directly or through a mixed instances policy.
func groupLaunchTemplate(g mockaws.Resource) string {
	if id := mockaws.Str(mockaws.Object(g.Inputs["launchTemplate"])["id"]); id != "" {
		return id
	}
	spec := mockaws.Object(mockaws.Object(mockaws.Object(g.Inputs["mixedInstancesPolicy"])["launchTemplate"])["launchTemplateSpecification"])
	return mockaws.Str(spec["launchTemplateId"])
}

// poolsRolledByKinfraRoll flags node pool groups that `pulumi up` would
// make replace their nodes: an instance refresh (started by a launch
// template change, draining through the termination hook, whose timeout
// terminates a node a PodDisruptionBudget still holds), or a launch
// template version Pulumi keeps moving (nodes the autoscaler or AWS launch
// would run a version the roll has not gated).
func poolsRolledByKinfraRoll(rs []mockaws.Resource) []Finding {
	var out []Finding
	for _, g := range mockaws.OfType(rs, groupType) {
		if _, pool := tags.Pool(mockaws.Tags(g.Inputs)); !pool {
			continue
		}
		var why []string
		if g.Inputs["instanceRefresh"] != nil {
			why = append(why, "has an instance refresh, which `pulumi up` starts when the launch template changes, draining nodes through a hook whose timeout terminates them undrained")
		}
		if !slices.Contains(g.Options.IgnoreChanges, workers.RolledGroupSetting) {
			why = append(why, "does not ignore "+workers.RolledGroupSetting+", so nodes launched after `pulumi up` run a launch template `kinfra roll` has not gated")
		}
		if len(why) > 0 {
			out = append(out, Finding{Resource: g.URN, Message: fmt.Sprintf("node pool group %s %s. Nodes are replaced only by `kinfra roll`, after the masters, draining each node with its PodDisruptionBudgets honoured; register the group with pulumi.IgnoreChanges([]string{%q}) and no instance refresh", g.Name, strings.Join(why, ", and "), workers.RolledGroupSetting)})
		}
	}
	return out
}

// autoscalerDesiredCapacity flags groups cluster-autoscaler scales whose
// desired capacity Pulumi would reset on the next update (an error: it
// scales the pool back to its configured size, evicting pods), and, as a
// warning, groups that ignore their desired capacity while no autoscaler
// discovers them (a changed desiredSize would then never apply).
func autoscalerDesiredCapacity(rs []mockaws.Resource) []Finding {
	var out []Finding
	for _, g := range mockaws.OfType(rs, groupType) {
		enabled := mockaws.Tags(g.Inputs)[autoscalerEnabledTag] == "true"
		ignored := slices.Contains(g.Options.IgnoreChanges, "desiredCapacity")
		switch {
		case enabled && !ignored:
			out = append(out, Finding{Resource: g.URN, Message: "cluster-autoscaler scales this group (tag " + autoscalerEnabledTag + "), but Pulumi does not ignore its desiredCapacity, so every `pulumi up` resets the size the autoscaler chose; register it with pulumi.IgnoreChanges([]string{\"desiredCapacity\"})"})
		case ignored && !enabled:
			out = append(out, Finding{Resource: g.URN, Severity: Warning, Message: "Pulumi ignores this group's desiredCapacity, but no cluster-autoscaler discovers it (no " + autoscalerEnabledTag + " tag), so a changed desired size never applies; drop the ignoreChanges or enable the autoscaler for the pool"})
		}
	}
	return out
}
