// Package importer turns what an account (or a CloudFormation template)
// holds of a cluster into a kinfra stack file: the network imported or
// adopted, the masters and node pools described, and a report of everything
// it could not express, by resource ID, so that nothing is dropped silently
// (`kinfra import`, docs/import-drift.md).
//
// It only describes; it never calls AWS. What it writes is planned by the
// caller (kinfra plan's code) before it is kept.
package importer

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/inventory"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/yamldoc"
)

// Options steer an import.
type Options struct {
	// Region is the stack's aws:region.
	Region string
	// Name is the cluster's name; empty takes the one name the resources'
	// kubernetes.io/cluster/<name> (or kinfra.dev/cluster) tags agree on.
	Name string
	// Adopt adopts the VPC (cluster.network.existing) even when its layout
	// is kinfra's and it could be imported.
	Adopt bool
}

// Network modes of a result.
const (
	ModeImport = "import" // kinfra's layout: the resources are imported by ID
	ModeAdopt  = "adopt"  // another layout: the VPC and subnets are adopted as they are
	ModeCreate = "create" // from a template: kinfra's layout, with no IDs to import
)

// Result is an import's outcome: the cluster spec as the stack file will
// hold it, and what could not be expressed.
type Result struct {
	Name   string `json:"name"`
	Region string `json:"region"`
	// Mode is how the network is taken over: import, adopt or create.
	Mode string `json:"mode"`
	// Cluster is the value of kinfra:cluster, keys in a reviewer's order.
	Cluster yamldoc.Map `json:"-"`
	// Imports are the import IDs written, by config path.
	Imports map[string]string `json:"imports"`
	// Unexpressed are the resources, or parts of them, the stack file does
	// not hold, each with why and what becomes of it.
	Unexpressed []Item `json:"unexpressed"`
	// Notes are decisions the import made that a reviewer should see.
	Notes []string `json:"notes"`
}

// Item is one thing the stack file does not express.
type Item struct {
	// Kind is what it is: "security group rule", "load balancer", an
	// unread CloudFormation type…
	Kind string `json:"kind"`
	// ID is its AWS ID (or logical ID, from a template).
	ID string `json:"id"`
	// Why it is not expressed, and what becomes of it.
	Why string `json:"why"`
}

// Build describes inv as a kinfra cluster. It fails only when there is no
// cluster to describe (no VPC, no private subnets, no name); everything else
// it cannot express is an Item.
func Build(inv *inventory.Inventory, o Options) (*Result, error) {
	if len(inv.VPCs) != 1 {
		return nil, fmt.Errorf("the inventory has %d VPCs; import reads one (give --vpc-id, or a stack or template with one VPC)", len(inv.VPCs))
	}
	name, err := clusterName(inv, o.Name)
	if err != nil {
		return nil, err
	}
	r := &Result{Name: name, Region: o.Region, Imports: map[string]string{}, Unexpressed: []Item{}, Notes: []string{}}
	b := &builder{inv: inv, r: r, opts: o, vpc: inv.VPCs[0]}
	net, err := b.network()
	if err != nil {
		return nil, err
	}
	masters, pools := b.groups(net)
	b.rest()

	r.Cluster = yamldoc.Map{{"name", name}, {"network", net.spec}}
	if len(masters) > 0 {
		r.Cluster = append(r.Cluster, [2]any{"masters", masters})
	}
	if len(pools) > 0 {
		r.Cluster = append(r.Cluster, [2]any{"nodePools", pools})
	}
	sort.SliceStable(r.Unexpressed, func(i, j int) bool {
		a, b := r.Unexpressed[i], r.Unexpressed[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.ID < b.ID
	})
	return r, nil
}

type builder struct {
	inv  *inventory.Inventory
	r    *Result
	opts Options
	vpc  inventory.VPC
	// expressed are the IDs the stack file takes over (imported, adopted or
	// described), so that rest() reports only the others.
	expressed map[string]bool
	// lay is the network's layout, when it is kinfra's.
	lay *layout
}

func (b *builder) express(ids ...string) {
	if b.expressed == nil {
		b.expressed = map[string]bool{}
	}
	for _, id := range ids {
		if id != "" {
			b.expressed[id] = true
		}
	}
}

func (b *builder) unexpressed(kind, id, why string, args ...any) {
	b.r.Unexpressed = append(b.r.Unexpressed, Item{Kind: kind, ID: id, Why: fmt.Sprintf(why, args...)})
}

func (b *builder) note(format string, args ...any) {
	b.r.Notes = append(b.r.Notes, fmt.Sprintf(format, args...))
}

// clusterName is the name given, or the one the resources' cluster tags
// agree on.
func clusterName(inv *inventory.Inventory, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	seen := map[string]int{}
	count := func(t inventory.Tags) {
		for k, v := range t {
			switch {
			case strings.HasPrefix(k, "kubernetes.io/cluster/"):
				seen[strings.TrimPrefix(k, "kubernetes.io/cluster/")]++
			case k == tags.Cluster:
				seen[v]++
			}
		}
	}
	for _, v := range inv.VPCs {
		count(v.Tags)
	}
	for _, s := range inv.Subnets {
		count(s.Tags)
	}
	for _, g := range inv.AutoScalingGroups {
		count(g.Tags)
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	switch len(names) {
	case 1:
		return names[0], nil
	case 0:
		return "", fmt.Errorf("no resource carries a kubernetes.io/cluster/<name> or %s tag to take the cluster's name from; give it with --name", tags.Cluster)
	}
	return "", fmt.Errorf("the resources are tagged for %d clusters (%s); give the one to import with --name", len(names), strings.Join(names, ", "))
}

// notLabel are the characters a node pool's name may not hold.
var notLabel = regexp.MustCompile(`[^a-z0-9-]+`)

// label makes s a DNS label: lowercase letters, digits and '-', starting
// with a letter.
func label(s string) string {
	s = notLabel.ReplaceAllString(strings.ToLower(s), "-")
	s = strings.Trim(s, "-")
	for len(s) > 0 && (s[0] < 'a' || s[0] > 'z') {
		s = strings.TrimLeft(s[1:], "-")
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// rest reports every resource of the inventory the stack file does not take
// over.
func (b *builder) rest() {
	adopted := b.r.Mode == ModeAdopt
	keep := func(kind, id, what string) {
		if b.expressed[id] {
			return
		}
		if adopted {
			b.unexpressed(kind, id, "%spart of the adopted VPC: kinfra leaves it as it is and does not manage it", what)
			return
		}
		b.unexpressed(kind, id, "%snot part of kinfra's network; it stays as it is, unmanaged", what)
	}
	for _, g := range b.inv.InternetGateways {
		keep("internet gateway", g.ID, "")
	}
	for _, rt := range b.inv.RouteTables {
		if !rt.Main {
			keep("route table", rt.ID, "")
		}
	}
	for _, g := range b.inv.NatGateways {
		keep("NAT gateway", g.ID, "")
	}
	for _, a := range b.inv.Addresses {
		what := ""
		if a.PublicIP != "" {
			what = a.PublicIP + ": "
		}
		keep("Elastic IP", a.AllocationID, what)
	}
	for _, sg := range b.inv.SecurityGroups {
		if sg.Name == "default" {
			continue
		}
		b.unexpressed("security group", sg.ID, "%q (%d ingress, %d egress rules): kinfra makes its own groups for masters, nodes and the API; rules this group has that kinfra's lack are lost to the new instances (%s)",
			sg.Name, len(sg.Ingress), len(sg.Egress), describeRules(sg.Ingress))
	}
	for _, lt := range b.inv.LaunchTemplates {
		b.unexpressed("launch template", lt.ID, "%q (%s, %s): kinfra launches from its own templates and baked images; the user data is read for kubelet labels, taints and max pods only", lt.Name, lt.Data.InstanceType, orNone(lt.Data.ImageID))
	}
	for _, lb := range b.inv.LoadBalancers {
		b.unexpressed("load balancer", lb.ARN, "%s %s %q: kinfra makes its own API load balancer (cluster.api); repoint clients to api.<privateDomain>, then remove this one", lb.Scheme, lb.Type, lb.Name)
	}
	for _, tg := range b.inv.TargetGroups {
		b.unexpressed("target group", tg.ARN, "%q (%s %d): goes with its load balancer", tg.Name, tg.Protocol, tg.Port)
	}
	for _, u := range b.inv.Unread {
		why := "a type kinfra import does not read; kinfra makes what the cluster needs of it (roles, records, parameters) itself"
		if u.Note != "" {
			why = u.Note
		}
		b.unexpressed(u.Type, u.ID, "%s", why)
	}
}

// describeRules lists rules briefly: tcp/22 from 203.0.113.0/24.
func describeRules(rules []inventory.Rule) string {
	if len(rules) == 0 {
		return "no ingress"
	}
	var out []string
	for _, r := range rules {
		proto := r.Protocol
		if proto == "-1" {
			proto = "all"
		}
		ports := ""
		if r.FromPort >= 0 && proto != "all" {
			ports = fmt.Sprintf("/%d", r.FromPort)
			if r.ToPort != r.FromPort {
				ports += fmt.Sprintf("-%d", r.ToPort)
			}
		}
		out = append(out, fmt.Sprintf("%s%s from %s", proto, ports, r.Peer()))
	}
	return "ingress " + strings.Join(out, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "no image"
	}
	return s
}
