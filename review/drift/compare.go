package drift

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/inventory"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/review/plan"
)

// planned is a plan resource of a compared type.
type planned struct {
	r mockaws.Resource
	// name is its Name tag, which is its logical name for everything
	// kinfra tags; the logical name for what has no tags.
	name string
	live *live
}

// live is one top-level resource of the inventory.
type live struct {
	typ  string
	id   string // the ID a plan reference resolves to (an ARN for LBs and target groups)
	name string // Name tag
	tags inventory.Tags
	obj  any // pointer into the inventory
	used bool
}

// comparison is the state of one Compare.
type comparison struct {
	p       *plan.Plan
	inv     *inventory.Inventory
	cluster string

	planned []*planned
	byType  map[string][]*planned
	// byRef finds a plan resource by its mock ID or mock ARN, the values
	// other resources' inputs hold.
	byRef map[string]*planned
	// otherIDs are the mock IDs of plan resources of other types, which a
	// compared resource may reference but drift does not read.
	otherIDs map[string]bool
	lives    []*live

	// vpc6 maps the plan VPC's mock IPv6 /56 to the live one.
	vpc6 map[netip.Prefix]netip.Prefix

	// used are the input paths compared, by type, for NotCompared.
	used map[string]map[string]bool

	drifts  []Drift
	matches []Match
}

func newComparison(p *plan.Plan, inv *inventory.Inventory) *comparison {
	c := &comparison{p: p, inv: inv, cluster: p.Config.Name, byType: map[string][]*planned{},
		byRef: map[string]*planned{}, otherIDs: map[string]bool{}, vpc6: map[netip.Prefix]netip.Prefix{}, used: map[string]map[string]bool{}}
	for _, r := range p.Resources {
		if !comparedTypes[r.Type] {
			if r.ID != "" {
				c.otherIDs[r.ID] = true
			}
			continue
		}
		pr := &planned{r: r, name: r.Name}
		if n := mockaws.Tags(r.Inputs)["Name"]; n != "" {
			pr.name = n
		}
		c.planned = append(c.planned, pr)
		c.byType[r.Type] = append(c.byType[r.Type], pr)
		if r.ID != "" {
			c.byRef[r.ID] = pr
		}
		if arn, ok := r.State["arn"].(string); ok && (r.Type == tLB || r.Type == tTG) {
			c.byRef[arn] = pr
		}
	}
	c.lives = liveResources(inv)
	return c
}

// run matches and compares everything.
func (c *comparison) run() {
	c.matchTopLevel()
	c.mapIPv6()
	for _, pr := range c.planned {
		if childTypes[pr.r.Type] {
			continue
		}
		if pr.live == nil {
			c.add(Drift{Kind: Missing, Type: pr.r.Type, Name: pr.name,
				Message: fmt.Sprintf("the plan's %s %s is not in the account", shortType(pr.r.Type), pr.name)})
			continue
		}
		c.matches = append(c.matches, Match{Type: pr.r.Type, Name: pr.name, ID: pr.live.id})
		compareTop[pr.r.Type](c, pr)
	}
	c.compareRouteTables()
	c.compareSecurityGroups()
	c.compareListeners()
	c.unplanned()
}

// liveResources lists the inventory's top-level resources under the plan
// type each corresponds to.
func liveResources(inv *inventory.Inventory) []*live {
	var out []*live
	add := func(typ, id string, t inventory.Tags, obj any) {
		out = append(out, &live{typ: typ, id: id, name: t["Name"], tags: t, obj: obj})
	}
	for i := range inv.VPCs {
		add(tVPC, inv.VPCs[i].ID, inv.VPCs[i].Tags, &inv.VPCs[i])
	}
	for i := range inv.Subnets {
		add(tSubnet, inv.Subnets[i].ID, inv.Subnets[i].Tags, &inv.Subnets[i])
	}
	for i := range inv.InternetGateways {
		add(tIGW, inv.InternetGateways[i].ID, inv.InternetGateways[i].Tags, &inv.InternetGateways[i])
	}
	for i := range inv.Addresses {
		add(tEIP, inv.Addresses[i].AllocationID, inv.Addresses[i].Tags, &inv.Addresses[i])
	}
	for i := range inv.NatGateways {
		add(tNAT, inv.NatGateways[i].ID, inv.NatGateways[i].Tags, &inv.NatGateways[i])
	}
	for i := range inv.RouteTables {
		add(tRouteTable, inv.RouteTables[i].ID, inv.RouteTables[i].Tags, &inv.RouteTables[i])
	}
	for i := range inv.Endpoints {
		add(tEndpoint, inv.Endpoints[i].ID, inv.Endpoints[i].Tags, &inv.Endpoints[i])
	}
	for i := range inv.SecurityGroups {
		add(tSG, inv.SecurityGroups[i].ID, inv.SecurityGroups[i].Tags, &inv.SecurityGroups[i])
	}
	for i := range inv.LaunchTemplates {
		add(tLT, inv.LaunchTemplates[i].ID, inv.LaunchTemplates[i].Tags, &inv.LaunchTemplates[i])
	}
	for i := range inv.AutoScalingGroups {
		add(tASG, inv.AutoScalingGroups[i].Name, inv.AutoScalingGroups[i].Tags, &inv.AutoScalingGroups[i])
	}
	for i := range inv.LoadBalancers {
		add(tLB, inv.LoadBalancers[i].ARN, inv.LoadBalancers[i].Tags, &inv.LoadBalancers[i])
	}
	for i := range inv.TargetGroups {
		add(tTG, inv.TargetGroups[i].ARN, inv.TargetGroups[i].Tags, &inv.TargetGroups[i])
	}
	for i := range inv.FlowLogs {
		add(tFlowLog, inv.FlowLogs[i].ID, inv.FlowLogs[i].Tags, &inv.FlowLogs[i])
	}
	// Deterministic matching when two live resources share a Name tag.
	sort.SliceStable(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// matchTopLevel pairs each plan resource with a live one of its type: by
// its import ID when it has one (an adopted resource), else by Name tag.
func (c *comparison) matchTopLevel() {
	find := func(typ string, ok func(*live) bool) *live {
		for _, l := range c.lives {
			if l.typ == typ && !l.used && ok(l) {
				return l
			}
		}
		return nil
	}
	for _, pass := range []func(*planned) func(*live) bool{
		func(pr *planned) func(*live) bool {
			if pr.r.Options.Import == "" {
				return nil
			}
			return func(l *live) bool { return l.id == pr.r.Options.Import || l.arnOrName() == pr.r.Options.Import }
		},
		func(pr *planned) func(*live) bool { return func(l *live) bool { return l.name == pr.name } },
	} {
		for _, pr := range c.planned {
			if pr.live != nil || childTypes[pr.r.Type] {
				continue
			}
			if ok := pass(pr); ok != nil {
				if l := find(pr.r.Type, ok); l != nil {
					l.used, pr.live = true, l
				}
			}
		}
	}
}

// arnOrName is what else an import ID may be: an Auto Scaling group is
// imported by name (its live ID here), the rest by ID or ARN.
func (l *live) arnOrName() string {
	if g, ok := l.obj.(*inventory.AutoScalingGroup); ok {
		return g.ARN
	}
	return l.id
}

// refState is what a plan value that may reference another resource
// resolves to.
type refState int

const (
	// literal: not a reference to a plan resource (an adopted network's
	// real ID, a value from config).
	literal refState = iota
	// resolved: a plan resource found in the account; the live ID.
	resolved
	// dangling: a plan resource of a compared type that is missing (its
	// absence is the drift to report, not every reference to it).
	dangling
	// unknowable: a plan resource of a type drift does not read.
	unknowable
)

// ref translates a plan value to the live value it stands for.
func (c *comparison) ref(v string) (string, refState) {
	pr, ok := c.byRef[v]
	switch {
	case !ok && c.otherIDs[v]:
		return v, unknowable
	case !ok:
		return v, literal
	case pr.live != nil:
		return pr.live.id, resolved
	case comparedTypes[pr.r.Type]:
		return "", dangling
	}
	return v, unknowable
}

// refs translates a list of plan values; references to missing resources
// are left out.
func (c *comparison) refs(vs []string) []string {
	out := []string{}
	for _, v := range vs {
		if t, st := c.ref(v); st != dangling {
			out = append(out, t)
		}
	}
	return out
}

// mapIPv6 pairs the plan VPC's mock IPv6 block with the live VPC's, so
// that subnet blocks and rules inside it compare by their place in it.
func (c *comparison) mapIPv6() {
	for _, pr := range c.byType[tVPC] {
		mock, err := netip.ParsePrefix(mockaws.Str(pr.r.State["ipv6CidrBlock"]))
		if err != nil || pr.live == nil {
			continue
		}
		if v := pr.live.obj.(*inventory.VPC); len(v.Ipv6Cidrs) > 0 {
			if l, err := netip.ParsePrefix(v.Ipv6Cidrs[0]); err == nil && l.Bits() == mock.Bits() {
				c.vpc6[mock] = l
			}
		}
	}
}

// cidr translates a plan CIDR: one inside the plan VPC's Amazon-provided
// IPv6 block (which the mock invents) becomes the same place in the live
// VPC's block. ok is false when the block cannot be known (the live VPC has
// none, or is missing).
func (c *comparison) cidr(v string) (string, bool) {
	p, err := netip.ParsePrefix(v)
	if err != nil || !p.Addr().Is6() {
		return v, true
	}
	for mock, l := range c.vpc6 {
		if mock.Bits() <= p.Bits() && mock.Contains(p.Addr()) {
			a, b := p.Addr().As16(), l.Addr().As16()
			for i := range a {
				bits := min(max(mock.Bits()-8*i, 0), 8)
				mask := byte(0xff << (8 - bits))
				a[i] = b[i]&mask | a[i]&^mask
			}
			return netip.PrefixFrom(netip.AddrFrom16(a), p.Bits()).String(), true
		}
	}
	for _, pr := range c.byType[tVPC] {
		if mock, err := netip.ParsePrefix(mockaws.Str(pr.r.State["ipv6CidrBlock"])); err == nil && mock.Contains(p.Addr()) {
			return "", false
		}
	}
	return v, true
}

// add records a drift.
func (c *comparison) add(d Drift) { c.drifts = append(c.drifts, d) }

// use records that a type's input path is compared.
func (c *comparison) use(typ string, paths ...string) {
	if c.used[typ] == nil {
		c.used[typ] = map[string]bool{}
	}
	for _, p := range paths {
		c.used[typ][p] = true
	}
}

// attr compares one attribute of a matched resource. The path is the plan
// input path; one under the resource's ignoreChanges is not compared
// (Pulumi keeps whatever is live), nor one the plan does not set (AWS's
// default applies, which the account may show differently).
func (c *comparison) attr(pr *planned, path, planV, liveV string) {
	c.use(pr.r.Type, path)
	if ignored(pr.r, path) || planV == liveV {
		return
	}
	c.add(Drift{Kind: Changed, Type: pr.r.Type, Name: pr.name, ID: pr.live.id, Path: path, Plan: planV, Live: liveV,
		Message: fmt.Sprintf("%s differs from the plan", path)})
}

// attrIf compares an attribute the plan may leave unset.
func (c *comparison) attrIf(pr *planned, path string, liveV string) {
	c.use(pr.r.Type, path)
	if v, ok := at(pr.r.Inputs, path); ok {
		c.attr(pr, path, text(v), liveV)
	}
}

// attrOr compares an attribute whose absence from the plan means the
// API's default, def.
func (c *comparison) attrOr(pr *planned, path, def, liveV string) {
	want := text(at1(pr.r.Inputs, path))
	if want == "" {
		want = def
	}
	c.attr(pr, path, want, liveV)
}

// set compares an unordered list of references.
func (c *comparison) set(pr *planned, path string, liveV []string) {
	c.use(pr.r.Type, path)
	v, ok := at(pr.r.Inputs, path)
	if !ok {
		return
	}
	c.attr(pr, path, setText(c.refs(mockaws.Strings(v))), setText(liveV))
}

// ref1 compares one reference.
func (c *comparison) ref1(pr *planned, path, liveV string) {
	c.use(pr.r.Type, path)
	v, ok := at(pr.r.Inputs, path)
	if !ok {
		return
	}
	if t, st := c.ref(mockaws.Str(v)); st != dangling && st != unknowable {
		c.attr(pr, path, t, liveV)
	}
}

// ignored reports whether path is under the resource's ignoreChanges.
func ignored(r mockaws.Resource, path string) bool {
	for _, ig := range r.Options.IgnoreChanges {
		if path == ig || strings.HasPrefix(path, ig+".") || strings.HasPrefix(path, ig+"[") {
			return true
		}
	}
	return false
}

// --- tags ------------------------------------------------------------------------

// ignoredTag is a tag the plan cannot know: AWS's own. AWS reserves the
// aws: prefix (users cannot create such tags; CloudFormation, Auto Scaling
// and others add them). No controller kinfra installs tags the resources
// kinfra makes: the cloud controller manager and the EBS CSI driver tag
// what they create (volumes, load balancers, their security groups), the
// cluster autoscaler and the node termination handler only read tags.
func ignoredTag(k string) bool { return strings.HasPrefix(k, "aws:") }

// tagDrift compares a resource's tags, one drift per key.
func (c *comparison) tagDrift(pr *planned, liveTags inventory.Tags) {
	c.use(pr.r.Type, "tags", "tags[].key", "tags[].value")
	want := mockaws.Tags(pr.r.Inputs)
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range liveTags {
		if !ignoredTag(k) {
			keys[k] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		path := fmt.Sprintf("tags[%q]", k)
		if ignored(pr.r, "tags") || ignored(pr.r, path) {
			continue
		}
		pv, inPlan := want[k]
		lv, inLive := liveTags[k]
		var msg string
		switch {
		case inPlan && !inLive:
			msg = fmt.Sprintf("tag %s was removed", k)
		case !inPlan && inLive:
			msg = fmt.Sprintf("tag %s was added outside code", k)
		case pv != lv:
			msg = fmt.Sprintf("tag %s was changed", k)
		default:
			continue
		}
		c.add(Drift{Kind: Changed, Type: pr.r.Type, Name: pr.name, ID: pr.live.id, Path: path, Plan: pv, Live: lv, Message: msg})
	}
}

// taggedForCluster: the live resource carries kinfra.dev/cluster: <name>.
func (c *comparison) taggedForCluster(t inventory.Tags) bool { return t[tags.Cluster] == c.cluster }

// --- values ----------------------------------------------------------------------

// at reads a dotted input path (a.b.c).
func at(m map[string]any, path string) (any, bool) {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// text renders a plan value as the account's values are rendered: numbers
// without a fraction, booleans (which some providers' inputs hold as
// "true") as true/false.
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case int:
		return strconv.Itoa(v)
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(v)
}

func num[T ~int32 | ~int64](n T) string { return strconv.FormatInt(int64(n), 10) }

func boolText(b bool) string { return strconv.FormatBool(b) }

// setText renders an unordered list.
func setText(l []string) string {
	s := append([]string{}, l...)
	sort.Strings(s)
	return strings.Join(s, ", ")
}
