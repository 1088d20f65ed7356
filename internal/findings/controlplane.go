package findings

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/tags"
)

const (
	groupType = "aws:autoscaling/group:Group"
	// autoscalerEnabledTag marks a group cluster-autoscaler's auto-discovery
	// scales.
	autoscalerEnabledTag = tags.AutoscalerEnabled
)

// frozenLaunchSettings are the launch template properties a master slot
// that is not rolling keeps.
var frozenLaunchSettings = masters.FrozenLaunchSettings

// isEtcdVolume reports whether a volume is a master slot's etcd volume.
func isEtcdVolume(v mockaws.Resource) bool {
	t := tagsOf(v)
	_, slot := t[masterSlotTag]
	return t[roleTag] == "etcd" || slot
}

// etcdVolumeProtected flags etcd volumes that Pulumi could delete: without
// protect, a `pulumi destroy` or a replacing change deletes the cluster's
// state; without retainOnDelete, so does removing the volume from the
// program or the stack.
func etcdVolumeProtected(rs []mockaws.Resource) []Finding {
	var out []Finding
	for _, v := range mockaws.OfType(rs, ebsVolumeType) {
		if !isEtcdVolume(v) {
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

// oneRefreshAtATime flags control planes where a single change could
// replace several masters: more than one master group with an instance
// refresh or a launch template that follows image, type and user data
// changes, or master groups sharing a launch template.
func oneRefreshAtATime(rs []mockaws.Resource) []Finding {
	templates := map[string]mockaws.Resource{}
	for _, lt := range mockaws.OfType(rs, launchTemplate) {
		templates[lt.ID] = lt
	}
	var rolling []string
	byTemplate := map[string][]string{}
	var out []Finding
	for _, g := range mockaws.OfType(rs, groupType) {
		if _, master := tagsOf(g)[masterSlotTag]; !master {
			continue
		}
		ltID := groupLaunchTemplate(g)
		if ltID != "" {
			byTemplate[ltID] = append(byTemplate[ltID], g.Name)
		}
		var why []string
		if g.Inputs["instanceRefresh"] != nil {
			why = append(why, "an instance refresh")
		}
		if lt, ok := templates[ltID]; ok {
			if follows := followedSettings(lt); len(follows) > 0 {
				why = append(why, "a launch template that follows "+strings.Join(follows, ", "))
			}
		}
		if len(why) > 0 {
			rolling = append(rolling, g.Name+" ("+strings.Join(why, " and ")+")")
			if len(rolling) == 2 {
				// Reported once, on the second group, naming them all.
				out = append(out, Finding{Resource: g.URN})
			}
		}
	}
	if len(out) > 0 {
		sort.Strings(rolling)
		out[0].Message = fmt.Sprintf("%d master groups would replace their instances on the same change: %s. Changing the image, type or configuration would take several etcd members down at once; roll one slot at a time with cluster.masters.roll (README: Rolling the masters)", len(rolling), strings.Join(rolling, "; "))
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
	if id := str(obj(g.Inputs["launchTemplate"]), "id"); id != "" {
		return id
	}
	spec := obj(obj(obj(g.Inputs["mixedInstancesPolicy"])["launchTemplate"])["launchTemplateSpecification"])
	return str(spec, "launchTemplateId")
}

// followedSettings are the frozen settings a launch template does not
// ignore changes of.
func followedSettings(lt mockaws.Resource) []string {
	var out []string
	for _, s := range frozenLaunchSettings {
		if !slices.Contains(lt.Options.IgnoreChanges, s) {
			out = append(out, s)
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
		enabled := tagsOf(g)[autoscalerEnabledTag] == "true"
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
