package plan

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/review/findings"
)

// flagRule is one dangerous change kinfra plan diff calls out, as a
// findings.Rule is one safety rule of a plan, and its flags are
// findings.Findings. A rule either flags the loss of a kind of resource
// (Kind, Lost) or runs Check.
type flagRule struct {
	ID       string
	Severity findings.Severity
	// Doc says when the rule fires.
	Doc string
	// Kind and Lost: the rule flags every resource of the kind (kindOf)
	// that the change replaces (ActionReplace) or removes (ActionRemove),
	// saying what that loses (lossMessage).
	Kind string
	Lost Action
	// Check finds the rule's flags in the change.
	Check func(c *flagContext) []findings.Finding
}

// flagRules are kinfra plan diff's flags, in report order of
// docs/plan-diff.md, which has the same table with how to make each change
// safely.
var flagRules = []flagRule{
	{ID: "diff/etcd-volume-replaced", Severity: findings.Error, Doc: "an etcd volume would be replaced", Kind: "etcd-volume", Lost: ActionReplace},
	{ID: "diff/etcd-volume-removed", Severity: findings.Error, Doc: "an etcd volume would be removed", Kind: "etcd-volume", Lost: ActionRemove},
	{ID: "diff/etcd-volume-unprotected", Severity: findings.Error, Doc: "protect or retainOnDelete turns off on an etcd volume", Check: etcdVolumeUnprotected},
	{ID: "diff/etcd-volume-zone-changed", Severity: findings.Error, Doc: "an etcd volume's availabilityZone changes", Check: etcdVolumeZoneChanged},
	{ID: "diff/master-group-replaced", Severity: findings.Error, Doc: "a master group would be replaced", Kind: "master-group", Lost: ActionReplace},
	{ID: "diff/master-group-removed", Severity: findings.Error, Doc: "a master group would be removed", Kind: "master-group", Lost: ActionRemove},
	{ID: "diff/master-slot-moved", Severity: findings.Error, Doc: "a master group's subnets or zones change, though AWS updates them in place", Check: masterSlotMoved},
	{ID: "diff/master-count-changed", Severity: findings.Error, Doc: "the number of master slots of an existing cluster changes", Check: masterCountChanged},
	{ID: "diff/masters-rolled-together", Severity: findings.Error, Doc: "more than one master slot would replace its instance in the one change", Check: mastersRolledTogether},
	{ID: "diff/etcd-record-replaced", Severity: findings.Error, Doc: "an etcd-<i>.<privateDomain> record would be replaced", Kind: "etcd-record", Lost: ActionReplace},
	{ID: "diff/etcd-record-removed", Severity: findings.Error, Doc: "an etcd-<i>.<privateDomain> record would be removed", Kind: "etcd-record", Lost: ActionRemove},
	{ID: "diff/private-zone-replaced", Severity: findings.Error, Doc: "the private hosted zone would be replaced", Kind: "private-zone", Lost: ActionReplace},
	{ID: "diff/private-zone-removed", Severity: findings.Error, Doc: "the private hosted zone would be removed", Kind: "private-zone", Lost: ActionRemove},
	{ID: "diff/vpc-replaced", Severity: findings.Error, Doc: "the VPC would be replaced", Kind: "vpc", Lost: ActionReplace},
	{ID: "diff/vpc-removed", Severity: findings.Error, Doc: "the VPC would be removed", Kind: "vpc", Lost: ActionRemove},
	{ID: "diff/subnet-replaced", Severity: findings.Error, Doc: "a subnet a group or load balancer uses would be replaced", Kind: "subnet", Lost: ActionReplace},
	{ID: "diff/subnet-removed", Severity: findings.Error, Doc: "a subnet a group or load balancer uses would be removed", Kind: "subnet", Lost: ActionRemove},
	{ID: "diff/kms-key-replaced", Severity: findings.Error, Doc: "the cluster's KMS key would be replaced", Kind: "kms-key", Lost: ActionReplace},
	{ID: "diff/kms-key-removed", Severity: findings.Error, Doc: "the cluster's KMS key would be removed", Kind: "kms-key", Lost: ActionRemove},
	{ID: "diff/backup-bucket-replaced", Severity: findings.Error, Doc: "the etcd backup bucket would be replaced", Kind: "backup-bucket", Lost: ActionReplace},
	{ID: "diff/backup-bucket-removed", Severity: findings.Error, Doc: "the etcd backup bucket would be removed", Kind: "backup-bucket", Lost: ActionRemove},
	{ID: "diff/pki-parameter-replaced", Severity: findings.Error, Doc: "a PKI parameter in SSM would be replaced", Kind: "pki-parameter", Lost: ActionReplace},
	{ID: "diff/pki-parameter-removed", Severity: findings.Error, Doc: "a PKI parameter in SSM would be removed", Kind: "pki-parameter", Lost: ActionRemove},
	{ID: RuleVersionSkew, Severity: findings.Error, Doc: "the change of the Kubernetes versions breaks the version-skew rules", Check: versionSkewFlags},
	{ID: "diff/kubernetes-provider-replaced", Severity: findings.Error, Doc: "the add-ons' Kubernetes provider would be replaced, and every object it manages with it", Kind: "kubernetes-provider", Lost: ActionReplace},
	{ID: "diff/kubernetes-provider-removed", Severity: findings.Error, Doc: "the add-ons' Kubernetes provider would be removed, and every object it manages with it", Kind: "kubernetes-provider", Lost: ActionRemove},
	{ID: "diff/update-fails", Severity: findings.Error, Doc: "AWS will refuse an update the provider makes in place", Check: updateFails},

	{ID: "diff/load-balancer-replaced", Severity: findings.Warning, Doc: "the API load balancer would be replaced", Kind: "load-balancer", Lost: ActionReplace},
	{ID: "diff/load-balancer-removed", Severity: findings.Warning, Doc: "the API load balancer would be removed", Kind: "load-balancer", Lost: ActionRemove},
	{ID: "diff/listener-replaced", Severity: findings.Warning, Doc: "the API listener would be replaced", Kind: "listener", Lost: ActionReplace},
	{ID: "diff/listener-removed", Severity: findings.Warning, Doc: "the API listener would be removed", Kind: "listener", Lost: ActionRemove},
	{ID: "diff/target-group-replaced", Severity: findings.Warning, Doc: "the API target group would be replaced", Kind: "target-group", Lost: ActionReplace},
	{ID: "diff/target-group-removed", Severity: findings.Warning, Doc: "the API target group would be removed", Kind: "target-group", Lost: ActionRemove},
	{ID: "diff/api-record-replaced", Severity: findings.Warning, Doc: "the api.<privateDomain> record would be replaced", Kind: "api-record", Lost: ActionReplace},
	{ID: "diff/api-record-removed", Severity: findings.Warning, Doc: "the api.<privateDomain> record would be removed", Kind: "api-record", Lost: ActionRemove},
	{ID: "diff/nat-gateway-replaced", Severity: findings.Warning, Doc: "a NAT gateway would be replaced", Kind: "nat-gateway", Lost: ActionReplace},
	{ID: "diff/nat-gateway-removed", Severity: findings.Warning, Doc: "a NAT gateway would be removed", Kind: "nat-gateway", Lost: ActionRemove},
	{ID: "diff/internet-gateway-replaced", Severity: findings.Warning, Doc: "an internet gateway would be replaced", Kind: "internet-gateway", Lost: ActionReplace},
	{ID: "diff/internet-gateway-removed", Severity: findings.Warning, Doc: "an internet gateway would be removed", Kind: "internet-gateway", Lost: ActionRemove},
	{ID: "diff/route-table-replaced", Severity: findings.Warning, Doc: "a route table would be replaced", Kind: "route-table", Lost: ActionReplace},
	{ID: "diff/route-table-removed", Severity: findings.Warning, Doc: "a route table would be removed", Kind: "route-table", Lost: ActionRemove},
	{ID: "diff/route-replaced", Severity: findings.Warning, Doc: "a route would be replaced", Kind: "route", Lost: ActionReplace},
	{ID: "diff/route-removed", Severity: findings.Warning, Doc: "a route would be removed", Kind: "route", Lost: ActionRemove},
	{ID: "diff/route-association-replaced", Severity: findings.Warning, Doc: "a route table association would be replaced", Kind: "route-association", Lost: ActionReplace},
	{ID: "diff/route-association-removed", Severity: findings.Warning, Doc: "a route table association would be removed", Kind: "route-association", Lost: ActionRemove},
	{ID: "diff/autoscaler-desired-capacity", Severity: findings.Warning, Doc: "an autoscaled node pool's group stops ignoring desiredCapacity", Check: autoscalerDesiredCapacity},
}

// diffFlags runs every flag rule over a change, sorted as plan findings
// are (errors first, then by rule and resource); notes say what a rule
// could not check.
func diffFlags(old, new *Plan, d *PlanDiff) (flags []findings.Finding, notes []string) {
	c := newFlagContext(old, new, d)
	out := []findings.Finding{}
	for _, r := range flagRules {
		out = append(out, r.stamp(r.flags(c))...)
	}
	return findings.Sorted(out), c.notes
}

// flags are the rule's flags of the change.
func (r flagRule) flags(c *flagContext) []findings.Finding {
	if r.Check != nil {
		return r.Check(c)
	}
	var out []findings.Finding
	for _, rd := range c.changed(r.Kind) {
		if rd.Action == r.Lost {
			out = append(out, findings.Finding{Resource: rd.URN, Message: c.lossMessage(r.Kind, rd, c.resource(rd))})
		}
	}
	return out
}

// stamp marks each flag with the rule's ID and severity.
func (r flagRule) stamp(fs []findings.Finding) []findings.Finding {
	for i := range fs {
		fs[i].Rule, fs[i].Severity = r.ID, r.Severity
	}
	return fs
}

func updateFails(c *flagContext) []findings.Finding {
	var out []findings.Finding
	for _, rd := range c.d.Resources {
		for _, why := range rd.UpdateFails {
			out = append(out, findings.Finding{Resource: rd.URN, Message: fmt.Sprintf("AWS will refuse this update of %s (%s): %s", rd.Name, rd.Type, why)})
		}
	}
	return out
}

func etcdVolumeUnprotected(c *flagContext) []findings.Finding {
	var out []findings.Finding
	for _, rd := range c.changed("etcd-volume") {
		for _, o := range rd.Options {
			if (o.Option == "protect" || o.Option == "retainOnDelete") && o.Old == "true" && o.New == "false" {
				out = append(out, findings.Finding{Resource: rd.URN, Message: fmt.Sprintf(
					"this change turns %s off on %s: a later change could then delete the member's data (Pulumi refuses to delete a protected resource, and a retained one stays in AWS). Keep both on: etcd volumes outlive their instances and the stack (docs/masters.md).",
					o.Option, slotText(c.resource(rd)))})
			}
		}
	}
	return out
}

func etcdVolumeZoneChanged(c *flagContext) []findings.Finding {
	var out []findings.Finding
	for _, rd := range c.changed("etcd-volume") {
		if ch := findChange(rd, "availabilityZone"); ch != nil {
			out = append(out, findings.Finding{Resource: rd.URN, Message: fmt.Sprintf(
				"%s's etcd volume would move from %s to %s. A volume cannot move: it would be a new, blank volume in the other zone while the member's data stays behind, and the slot's instance cannot attach a volume in another zone. Each slot's zone is fixed (slot i lives in zone i mod zones): only ever append to cluster.network.availabilityZones, never reorder or remove zones.",
				slotText(c.resource(rd)), ch.Old, ch.New)})
		}
	}
	return out
}

func masterSlotMoved(c *flagContext) []findings.Finding {
	var out []findings.Finding
	for _, rd := range c.changed("master-group") {
		for _, p := range []string{"vpcZoneIdentifiers", "availabilityZones"} {
			if ch := findChange(rd, p); ch != nil {
				out = append(out, findings.Finding{Resource: rd.URN, Message: fmt.Sprintf(
					"%s's group would launch its instance in other subnets or zones (%s: %s → %s). AWS updates the group in place, but the slot's etcd volume stays in its zone: the next instance waits for a volume it can never attach, and the member stays down. Never move a slot: keep cluster.network.availabilityZones in order and only append to it.",
					slotText(c.resource(rd)), ch.Path, c.subnetText(ch.Old), c.subnetText(ch.New))})
				break
			}
		}
	}
	return out
}

func autoscalerDesiredCapacity(c *flagContext) []findings.Finding {
	var out []findings.Finding
	for _, rd := range c.changed("node-group") {
		o, inOld := c.oldBy[rd.URN]
		n, inNew := c.newBy[rd.URN]
		if inOld && inNew && ignores(o.Options.IgnoreChanges, "desiredCapacity") && !ignores(n.Options.IgnoreChanges, "desiredCapacity") {
			out = append(out, findings.Finding{Resource: rd.URN, Message: fmt.Sprintf(
				"node pool group %s no longer ignores desiredCapacity: `pulumi up` would reset it to the configured size, undoing cluster-autoscaler's scaling (terminating nodes it added, or adding nodes it removed). Keep cluster.nodePools[].autoscaler on for pools the autoscaler scales; turn it off only for a pool whose size you manage yourself, and set desiredSize to its current size first.",
				n.Name)})
		}
	}
	return out
}

func masterCountChanged(c *flagContext) []findings.Finding {
	if len(c.oldSlots) == 0 || len(c.oldSlots) == len(c.newSlots) {
		return nil
	}
	return []findings.Finding{{Message: fmt.Sprintf(
		"the number of master slots changes from %d to %d. Every slot's etcd configuration names a static initial cluster of %d members: new slots' members cannot join the running cluster by themselves, and removed slots' members stay in etcd (and their protected volumes cannot be deleted). cluster.masters.count is fixed once the cluster exists; growing it is manual etcd work (docs/masters.md, 'Changing the number of masters').",
		len(c.oldSlots), len(c.newSlots), len(c.oldSlots))}}
}

// mastersRolledTogether: masters are never replaced together.
func mastersRolledTogether(c *flagContext) []findings.Finding {
	rolling := rollingSlots(c.diffs, c.oldSlots, c.newSlots)
	if len(rolling) <= 1 {
		return nil
	}
	return []findings.Finding{{Message: fmt.Sprintf(
		"%d master slots would replace their instances in this one change: %s. Masters are never replaced together: each replacement takes an etcd member out until its successor has rejoined, and with three members two at once lose quorum. A master group leaves its launch template version to `kinfra roll`, which replaces one slot at a time once the one before is healthy (README, 'Upgrading a cluster').",
		len(rolling), strings.Join(rolling, "; "))}}
}

// versionSkewFlags are versionSkew's flags; its note, if any, says why the
// versions were not checked.
func versionSkewFlags(c *flagContext) []findings.Finding {
	flags, note := versionSkew(c.old, c.new)
	if note != "" {
		c.notes = append(c.notes, note)
	}
	return flags
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
		if s, ok := masterSlot(r); ok {
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
