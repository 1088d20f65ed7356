package plan

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/internal/findings"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// Kinds of resources the flags know, with the severity of replacing or
// removing one.
var flagKinds = map[string]findings.Severity{
	"etcd-volume":       findings.Error,
	"master-group":      findings.Error,
	"etcd-record":       findings.Error,
	"private-zone":      findings.Error,
	"vpc":               findings.Error,
	"subnet":            findings.Error,
	"kms-key":           findings.Error,
	"backup-bucket":     findings.Error,
	"pki-parameter":     findings.Error,
	"load-balancer":     findings.Warning,
	"listener":          findings.Warning,
	"target-group":      findings.Warning,
	"api-record":        findings.Warning,
	"nat-gateway":       findings.Warning,
	"internet-gateway":  findings.Warning,
	"route-table":       findings.Warning,
	"route":             findings.Warning,
	"route-association": findings.Warning,
	// Replacing the add-ons' provider replaces every Kubernetes object.
	"kubernetes-provider": findings.Error,
}

// diffFlags calls out the dangerous changes of a diff, with the extra flags
// found elsewhere, sorted.
func diffFlags(old, new *Plan, d *PlanDiff, extra []DiffFlag) []DiffFlag {
	c := newFlagContext(old, new)
	out := extra
	flag := func(rule string, sev findings.Severity, urn, msg string) {
		out = append(out, DiffFlag{Rule: rule, Severity: sev, Resource: urn, Message: msg})
	}
	diffs := map[string]ResourceDiff{}
	for _, rd := range d.Resources {
		diffs[rd.URN] = rd
	}

	for _, rd := range d.Resources {
		r := c.resource(rd)
		kind := c.kindOf(r)
		if sev, ok := flagKinds[kind]; ok && (rd.Action == ActionReplace || rd.Action == ActionRemove) {
			verb := "replaced"
			if rd.Action == ActionRemove {
				verb = "removed"
			}
			flag("diff/"+kind+"-"+verb, sev, rd.URN, c.message(kind, rd, r))
		}
		for _, why := range rd.UpdateFails {
			flag("diff/update-fails", findings.Error, rd.URN, fmt.Sprintf("AWS will refuse this update of %s (%s): %s", rd.Name, rd.Type, why))
		}
		switch kind {
		case "etcd-volume":
			for _, o := range rd.Options {
				if (o.Option == "protect" || o.Option == "retainOnDelete") && o.Old == "true" && o.New == "false" {
					flag("diff/etcd-volume-unprotected", findings.Error, rd.URN, fmt.Sprintf(
						"this change turns %s off on %s: a later change could then delete the member's data (Pulumi refuses to delete a protected resource, and a retained one stays in AWS). Keep both on: etcd volumes outlive their instances and the stack (docs/masters.md).",
						o.Option, slotText(r)))
				}
			}
			if ch := findChange(rd, "availabilityZone"); ch != nil {
				flag("diff/etcd-volume-zone-changed", findings.Error, rd.URN, fmt.Sprintf(
					"%s's etcd volume would move from %s to %s. A volume cannot move: it would be a new, blank volume in the other zone while the member's data stays behind, and the slot's instance cannot attach a volume in another zone. Each slot's zone is fixed (slot i lives in zone i mod zones): only ever append to cluster.network.availabilityZones, never reorder or remove zones.",
					slotText(r), ch.Old, ch.New))
			}
		case "master-group":
			for _, p := range []string{"vpcZoneIdentifiers", "availabilityZones"} {
				if ch := findChange(rd, p); ch != nil {
					flag("diff/master-slot-moved", findings.Error, rd.URN, fmt.Sprintf(
						"%s's group would launch its instance in other subnets or zones (%s: %s → %s). AWS updates the group in place, but the slot's etcd volume stays in its zone: the next instance waits for a volume it can never attach, and the member stays down. Never move a slot: keep cluster.network.availabilityZones in order and only append to it.",
						slotText(r), ch.Path, c.subnetText(ch.Old), c.subnetText(ch.New)))
					break
				}
			}
		case "node-group":
			o, inOld := c.oldBy[rd.URN]
			n, inNew := c.newBy[rd.URN]
			if inOld && inNew && ignores(o.Options.IgnoreChanges, "desiredCapacity") && !ignores(n.Options.IgnoreChanges, "desiredCapacity") {
				flag("diff/autoscaler-desired-capacity", findings.Warning, rd.URN, fmt.Sprintf(
					"node pool group %s no longer ignores desiredCapacity: `pulumi up` would reset it to the configured size, undoing cluster-autoscaler's scaling (terminating nodes it added, or adding nodes it removed). Keep cluster.nodePools[].autoscaler on for pools the autoscaler scales; turn it off only for a pool whose size you manage yourself, and set desiredSize to its current size first.",
					n.Name))
			}
		}
	}

	// The number of master slots.
	oldSlots, newSlots := slotResources(old.Resources, "aws:autoscaling/group:Group"), slotResources(new.Resources, "aws:autoscaling/group:Group")
	if len(oldSlots) > 0 && len(oldSlots) != len(newSlots) {
		flag("diff/master-count-changed", findings.Error, "", fmt.Sprintf(
			"the number of master slots changes from %d to %d. Every slot's etcd configuration names a static initial cluster of %d members: new slots' members cannot join the running cluster by themselves, and removed slots' members stay in etcd (and their protected volumes cannot be deleted). cluster.masters.count is fixed once the cluster exists; growing it is manual etcd work (docs/masters.md, 'Changing the number of masters').",
			len(oldSlots), len(newSlots), len(oldSlots)))
	}

	// Masters are never replaced together.
	if rolling := rollingSlots(diffs, oldSlots, newSlots); len(rolling) > 1 {
		flag("diff/masters-rolled-together", findings.Error, "", fmt.Sprintf(
			"%d master slots would replace their instances in this one change: %s. Masters are never replaced together: each replacement takes an etcd member out until its successor has rejoined, and with three members two at once lose quorum. A master group leaves its launch template version to `kinfra roll`, which replaces one slot at a time once the one before is healthy (README, 'Upgrading a cluster').",
			len(rolling), strings.Join(rolling, "; ")))
	}

	rank := map[findings.Severity]int{findings.Error: 0, findings.Warning: 1, findings.Info: 2}
	sort.SliceStable(out, func(i, j int) bool {
		if rank[out[i].Severity] != rank[out[j].Severity] {
			return rank[out[i].Severity] < rank[out[j].Severity]
		}
		if out[i].Rule != out[j].Rule {
			return out[i].Rule < out[j].Rule
		}
		return out[i].Resource < out[j].Resource
	})
	if out == nil {
		out = []DiffFlag{}
	}
	return out
}

// findChange is the first effective (not ignored) change at or below prop.
func findChange(rd ResourceDiff, prop string) *PropertyChange {
	for i, c := range rd.Changes {
		if !c.Ignored && diffUnderPath(c.Path, prop) {
			return &rd.Changes[i]
		}
	}
	return nil
}

// ignores says whether ignoreChanges covers a property.
func ignores(ignoreChanges []string, prop string) bool {
	return pathMatchesAny(prop, parsePaths(ignoreChanges))
}

// slotResources are a plan's resources of a type that carry the master
// slot tag (its master groups, its master launch templates), by slot.
func slotResources(rs []mockaws.Resource, typ string) map[string]mockaws.Resource {
	out := map[string]mockaws.Resource{}
	for _, r := range mockaws.OfType(rs, typ) {
		if s, ok := inputTag(r.Inputs, masters.SlotTag); ok {
			out[s] = r
		}
	}
	return out
}

// rollingSlots are the master slots whose instance this change replaces,
// now or at their next launch, each with why: a group that gains an
// instance refresh, stops leaving its launch template version to `kinfra
// roll`, or is replaced. A launch template change alone replaces nothing:
// the group keeps launching the version the roll last moved it to. Slots
// that exist in one plan only are the count flag's business.
func rollingSlots(diffs map[string]ResourceDiff, oldSlots, newSlots map[string]mockaws.Resource) []string {
	var slots []string
	for s := range newSlots {
		if _, ok := oldSlots[s]; ok {
			slots = append(slots, s)
		}
	}
	sort.Slice(slots, func(i, j int) bool {
		a, errA := strconv.Atoi(slots[i])
		b, errB := strconv.Atoi(slots[j])
		if errA == nil && errB == nil {
			return a < b
		}
		return slots[i] < slots[j]
	})
	var out []string
	for _, s := range slots {
		var why []string
		go_, gn := oldSlots[s], newSlots[s]
		if _, had := go_.Inputs["instanceRefresh"]; !had {
			if _, has := gn.Inputs["instanceRefresh"]; has {
				why = append(why, "its group gains an instance refresh")
			}
		}
		if ignores(go_.Options.IgnoreChanges, masters.RolledGroupSetting) && !ignores(gn.Options.IgnoreChanges, masters.RolledGroupSetting) {
			why = append(why, "its group stops leaving "+masters.RolledGroupSetting+" to kinfra roll")
		}
		if go_.URN == gn.URN && diffs[gn.URN].Action == ActionReplace {
			why = append(why, "its group is replaced")
		}
		if len(why) > 0 {
			out = append(out, "slot "+s+" ("+strings.Join(why, ", ")+")")
		}
	}
	return out
}

// DiffFlag is a dangerous change: what would happen and how to make the
// change safely.
type DiffFlag struct {
	Rule     string            `json:"rule"`
	Severity findings.Severity `json:"severity"`
	// Resource is the URN the flag is about ("" for the whole stack).
	Resource string `json:"resource"`
	// Path is the config field a flag of the whole stack is about, e.g.
	// cluster.kubernetes.nodeVersion.
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}
