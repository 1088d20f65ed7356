package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// flagContext is what the flag rules read of a change.
type flagContext struct {
	old, new     *Plan
	d            *PlanDiff
	oldBy, newBy map[string]mockaws.Resource
	// diffs are the changed resources by URN, and kinds their kinds
	// (kindOf).
	diffs map[string]ResourceDiff
	kinds map[string]string
	// oldSlots and newSlots are the plans' master groups by slot.
	oldSlots, newSlots map[string]mockaws.Resource
	// subnetUsers are the groups and load balancers whose subnets name a
	// subnet (by URN of the subnet), in either plan.
	subnetUsers map[string][]string
	// notes say what a rule could not check.
	notes []string
}

func newFlagContext(old, new *Plan, d *PlanDiff) *flagContext {
	c := &flagContext{old: old, new: new, d: d, oldBy: byURN(old.Resources), newBy: byURN(new.Resources),
		diffs: map[string]ResourceDiff{}, kinds: map[string]string{},
		oldSlots: slotResources(old.Resources, "aws:autoscaling/group:Group"), newSlots: slotResources(new.Resources, "aws:autoscaling/group:Group"),
		subnetUsers: map[string][]string{}}
	c.findSubnetUsers()
	for _, rd := range d.Resources {
		c.diffs[rd.URN] = rd
		c.kinds[rd.URN] = c.kindOf(c.resource(rd))
	}
	return c
}

// changed are the changed resources of a kind, in the diff's order.
func (c *flagContext) changed(kind string) []ResourceDiff {
	var out []ResourceDiff
	for _, rd := range c.d.Resources {
		if c.kinds[rd.URN] == kind {
			out = append(out, rd)
		}
	}
	return out
}

// findSubnetUsers notes which groups and load balancers use each subnet of
// either plan.
func (c *flagContext) findSubnetUsers() {
	old, new := c.old, c.new
	var subnets []mockaws.Resource
	seen := map[string]bool{}
	for _, p := range []*Plan{old, new} {
		for _, r := range mockaws.OfType(p.Resources, "aws:ec2/subnet:Subnet") {
			if !seen[r.URN] {
				seen[r.URN] = true
				subnets = append(subnets, r)
			}
		}
	}
	users := map[string]map[string]bool{}
	note := func(user mockaws.Resource, refs []string) {
		for _, ref := range refs {
			for _, s := range subnets {
				if referencesID(ref, s) {
					if users[s.URN] == nil {
						users[s.URN] = map[string]bool{}
					}
					users[s.URN][user.Name] = true
				}
			}
		}
	}
	for _, p := range []*Plan{old, new} {
		for _, r := range p.Resources {
			switch r.Type {
			case "aws:autoscaling/group:Group":
				note(r, mockaws.Strings(r.Inputs["vpcZoneIdentifiers"]))
			case "aws:lb/loadBalancer:LoadBalancer":
				refs := mockaws.Strings(r.Inputs["subnets"])
				if l, ok := r.Inputs["subnetMappings"].([]any); ok {
					for _, m := range l {
						if m, ok := m.(map[string]any); ok {
							if s, ok := m["subnetId"].(string); ok {
								refs = append(refs, s)
							}
						}
					}
				}
				note(r, refs)
			}
		}
	}
	for urn, names := range users {
		for n := range names {
			c.subnetUsers[urn] = append(c.subnetUsers[urn], n)
		}
		sort.Strings(c.subnetUsers[urn])
	}
}

// resource is the recorded resource of a diff entry: the new one, or the
// old one for a removal.
func (c *flagContext) resource(rd ResourceDiff) mockaws.Resource {
	if r, ok := c.newBy[rd.URN]; ok {
		return r
	}
	return c.oldBy[rd.URN]
}

// kindOf is what a resource is to the cluster, "" when the flags do not
// single it out.
func (c *flagContext) kindOf(r mockaws.Resource) string {
	switch r.Type {
	case "aws:ebs/volume:Volume":
		if isEtcdVolume(r) {
			return "etcd-volume"
		}
	case "aws:autoscaling/group:Group":
		if _, slot := masterSlot(r); slot {
			return "master-group"
		}
		if inNodePool(r) {
			return "node-group"
		}
	case "aws:route53/record:Record":
		name, _ := r.Inputs["name"].(string)
		switch {
		case isEtcdRecord(name):
			return "etcd-record"
		case strings.HasPrefix(name, "api."):
			return "api-record"
		}
	case "aws:route53/zone:Zone":
		if vpcs, ok := r.Inputs["vpcs"].([]any); ok && len(vpcs) > 0 {
			return "private-zone"
		}
	case "aws:ec2/vpc:Vpc":
		return "vpc"
	case "aws:ec2/subnet:Subnet":
		if len(c.subnetUsers[r.URN]) > 0 {
			return "subnet"
		}
	case "aws:kms/key:Key":
		return "kms-key"
	case "aws:s3/bucketV2:BucketV2":
		if !isIssuerBucket(r) {
			return "backup-bucket"
		}
	case "aws:ssm/parameter:Parameter":
		// A master tool is named by its content and retained, so the old
		// one stays for the launch template versions that name it
		// (docs/masters.md, "Tools").
		if isKinfraParameter(r) && !isMasterTool(r) {
			return "pki-parameter"
		}
	case "aws:lb/loadBalancer:LoadBalancer":
		return "load-balancer"
	case "aws:lb/listener:Listener":
		return "listener"
	case "aws:lb/targetGroup:TargetGroup":
		return "target-group"
	case "aws:ec2/natGateway:NatGateway":
		return "nat-gateway"
	case "aws:ec2/internetGateway:InternetGateway", "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway":
		return "internet-gateway"
	case "aws:ec2/routeTable:RouteTable":
		return "route-table"
	case "aws:ec2/route:Route":
		return "route"
	case "aws:ec2/routeTableAssociation:RouteTableAssociation":
		return "route-association"
	case "pulumi:providers:kubernetes":
		return "kubernetes-provider"
	}
	return ""
}

// lossMessage says what replacing or removing a resource of a kind would
// do, and how to make the change safely.
func (c *flagContext) lossMessage(kind string, rd ResourceDiff, r mockaws.Resource) string {
	what := "Replacing"
	if rd.Action == ActionRemove {
		what = "Removing"
	}
	because := ""
	if rd.Action == ActionReplace {
		because = " (because of " + strings.Join(rd.ReplaceReasons, ", ") + ")"
	}
	rename := ""
	if rd.RenamedTo != "" {
		rename = fmt.Sprintf(" This looks like a rename or re-parent to %s: Pulumi still deletes the old resource and creates a new one unless the new one carries an alias of the old name and parent (pulumi.Aliases).", shortName(rd.RenamedTo))
	}
	var msg string
	switch kind {
	case "etcd-volume":
		if rd.Action == ActionReplace {
			msg = fmt.Sprintf("Replacing %s's etcd volume%s would give the slot a new, blank volume: the member's data is lost, and the slot's boot stops rather than rejoin under its old identity (docs/masters.md, 'Lost etcd volume'). The volume is protected, so `pulumi up` fails on it. Don't change an existing volume's zone, encryption, KMS key or snapshot; if a member's volume really must be replaced, replace the member by hand while the others keep quorum, one slot at a time.",
				slotText(r), because)
		} else {
			msg = fmt.Sprintf("Removing %s's etcd volume takes the member's data out of the stack: the volume is protected, so `pulumi up` fails on it, and once unprotected it is retained in AWS but orphaned; a slot that stays gets a new, blank volume and its boot stops (docs/masters.md, 'Lost etcd volume'). Never remove a slot's volume of a running cluster; the number of masters is fixed once it exists (docs/masters.md, 'Changing the number of masters').",
				slotText(r))
		}
	case "master-group":
		msg = fmt.Sprintf("%s %s's Auto Scaling Group%s terminates its instance: an etcd member and an API server go down, and with another slot down etcd loses quorum. Change master groups only in place; `kinfra roll` replaces instances one slot at a time (README, 'Upgrading a cluster').",
			what, slotText(r), because)
	case "etcd-record":
		name, _ := r.Inputs["name"].(string)
		msg = fmt.Sprintf("%s the record %s%s deletes the name etcd members and API servers use to reach that slot; until a new one exists and the slot's instance upserts it, the member is unreachable. The record is the slot's identity: cluster.privateDomain must never change.",
			what, name, because)
	case "private-zone":
		msg = fmt.Sprintf("%s the cluster's private hosted zone%s deletes every name in it (api. and every etcd-<i>.): the API endpoint and the etcd peers stop resolving, and a replacement zone has a new ID that every master's rendered configuration would need. cluster.privateDomain must never change.",
			what, because)
	case "vpc":
		msg = fmt.Sprintf("%s the VPC%s replaces every subnet, gateway, endpoint and security group in it, and terminates every instance: the cluster is rebuilt, and the etcd volumes (which outlive it) end up attached to nothing. cluster.network.vpcCidr (and an adopted vpcId) are fixed once the cluster exists.",
			what, because)
	case "subnet":
		msg = fmt.Sprintf("%s subnet %s%s, which %s launch or serve in, terminates what runs in it and moves their network interfaces. Subnets are fixed per zone: never change cluster.network.vpcCidr, the subnet prefix lengths or the zone order; only append zones.",
			what, r.Name, because, strings.Join(c.subnetUsers[r.URN], ", "))
	case "kms-key":
		msg = fmt.Sprintf("%s the cluster's KMS key%s schedules its deletion: the PKI parameters encrypted under it can no longer be decrypted, so no master (or replacement master) can fetch the cluster's CAs and keys at boot. Keep the key; change its policy or rotation in place.",
			what, because)
	case "backup-bucket":
		name, _ := r.Inputs["bucket"].(string)
		msg = fmt.Sprintf("%s the etcd backup bucket %s%s: it holds every snapshot the cluster can be restored from. Pulumi refuses while it is protected, and a retained bucket stays in AWS, but a new bucket starts empty and the masters' backups and `kinfra etcd restore` follow the new name. Its name derives from cluster.name, the account and the region, and Object Lock is chosen at creation: change neither.",
			what, name, because)
	case "pki-parameter":
		name, _ := r.Inputs["name"].(string)
		msg = fmt.Sprintf("%s the PKI parameter %s%s deletes it (a replacement is recreated afterwards): a master that boots meanwhile cannot fetch it and stops. Parameter names derive from cluster.name: never rename a cluster that exists.",
			what, name, because)
	case "load-balancer":
		msg = fmt.Sprintf("%s the API load balancer%s changes the API's address: clients and nodes lose the API until the new one is up and api.<privateDomain> points at it. Change its scheme, subnets or name only in a maintenance window.", what, because)
	case "listener", "target-group":
		msg = fmt.Sprintf("%s the API %s %s%s interrupts API traffic until its replacement is registered and healthy.", what, strings.ReplaceAll(kind, "-", " "), r.Name, because)
	case "api-record":
		name, _ := r.Inputs["name"].(string)
		msg = fmt.Sprintf("%s the record %s%s makes the API endpoint unresolvable until the new record exists.", what, name, because)
	case "kubernetes-provider":
		managed := c.newBy
		if rd.Action == ActionRemove {
			managed = c.oldBy
		}
		n := 0
		for _, o := range managed {
			if o.Options.Provider == r.URN {
				n++
			}
		}
		msg = fmt.Sprintf("%s the Kubernetes provider %s%s replaces every one of the %d Kubernetes objects it manages: Pulumi deletes and recreates each (the CNI, the cloud controller manager, the CSI driver and their RBAC), so pods lose networking and volumes their driver until the new objects are up. kinfra's provider carries a clusterIdentifier of the cluster's name and CA, which only a new cluster changes: keep cluster.name and the cluster CA of kinfra:pki, or plan a new cluster. A provider of your own needs a clusterIdentifier that stays the same (pulumi-kubernetes then keeps it whatever its kubeconfig does).",
			what, r.Name, because, n)
	case "nat-gateway", "internet-gateway", "route-table", "route", "route-association":
		msg = fmt.Sprintf("%s %s (%s)%s cuts egress for the zones that use it until its replacement is in place: nodes cannot pull images or reach AWS APIs meanwhile.", what, r.Name, strings.ReplaceAll(kind, "-", " "), because)
	default:
		msg = fmt.Sprintf("%s %s%s.", what, r.Name, because)
	}
	return msg + rename
}

// subnetText adds the subnet's name and zone to a displayed value that
// holds a subnet's offline ID.
func (c *flagContext) subnetText(v string) string {
	for _, by := range []map[string]mockaws.Resource{c.newBy, c.oldBy} {
		for _, r := range by {
			if r.Type == "aws:ec2/subnet:Subnet" && referencesID(v, r) {
				return fmt.Sprintf("%s (%s, %v)", v, r.Name, r.Inputs["availabilityZone"])
			}
		}
	}
	return v
}

// slotText names a master slot by its tag.
func slotText(r mockaws.Resource) string {
	if s, ok := masterSlot(r); ok {
		return "master slot " + s
	}
	return r.Name
}
