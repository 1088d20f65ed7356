// Package drift compares a stack's offline plan with what the account holds
// (an inventory.Inventory): resources the plan has and the account lacks,
// attributes changed outside code, and resources tagged for the cluster that
// the plan does not have. `kinfra drift` renders its Report.
//
// It compares only what the plan can know offline: everything else (other
// resource types, attributes the account does not show, values AWS or a
// controller decides) is listed in Report.NotCompared with the reason, so a
// clean report says exactly what it vouches for (docs/import-drift.md).
package drift

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/inventory"
	"github.com/kinfra-dev/kinfra/review/plan"
)

// Kind is what sort of difference a Drift is.
type Kind string

const (
	// Missing: the plan has the resource, the account does not.
	Missing Kind = "missing"
	// Changed: an attribute differs from the plan's.
	Changed Kind = "changed"
	// Unplanned: the account has a resource tagged for the cluster, or a
	// rule, route, association or listener inside a resource of the plan,
	// that the plan does not have.
	Unplanned Kind = "unplanned"
)

// kindOrder orders a report: what is missing first, then what changed, then
// what was added.
var kindOrder = map[Kind]int{Missing: 0, Changed: 1, Unplanned: 2}

// Drift is one difference between the plan and the account.
type Drift struct {
	Kind Kind `json:"kind"`
	// Type is the plan's type token (aws:ec2/subnet:Subnet), also for a
	// live resource the plan does not have.
	Type string `json:"type"`
	// Name is the plan's logical name, or the live resource's Name tag
	// (for a rule, route or listener: its parent's name).
	Name string `json:"name"`
	// ID is the live ID ("" when missing).
	ID string `json:"id,omitempty"`
	// Path is the attribute, as a plan input path (tags["team"], maxSize).
	Path string `json:"path,omitempty"`
	// Plan and Live are the values, rendered ("" when absent).
	Plan    string `json:"plan,omitempty"`
	Live    string `json:"live,omitempty"`
	Message string `json:"message"`
}

// Match is a plan resource and the live resource it was compared with.
type Match struct {
	Type string `json:"type"`
	Name string `json:"name"`
	// ID is the live ID; for things without one of their own (routes,
	// associations) the parent's ID and the key: rtb-…/0.0.0.0/0.
	ID string `json:"id"`
}

// Omission is one reason something was not compared, with what it covers.
type Omission struct {
	Reason string `json:"reason"`
	// Items are types or type-and-attribute pairs, each with the number of
	// plan resources it applies to.
	Items []string `json:"items"`
}

// Report is the outcome of a comparison.
type Report struct {
	Stack   string `json:"stack"`
	Cluster string `json:"cluster"`
	Region  string `json:"region"`
	// Drifts are ordered by kind (missing, changed, unplanned), type, name,
	// path, ID.
	Drifts []Drift `json:"drifts"`
	// Compared are the plan resources found in the account, by type and
	// name.
	Compared []Match `json:"compared"`
	// NotCompared is what was deliberately left out, and why.
	NotCompared []Omission `json:"notCompared"`
}

// Clean reports whether the account matches the plan in everything
// compared.
func (r *Report) Clean() bool { return len(r.Drifts) == 0 }

// Counts are the drifts by kind.
func (r *Report) Counts() map[Kind]int {
	out := map[Kind]int{Missing: 0, Changed: 0, Unplanned: 0}
	for _, d := range r.Drifts {
		out[d.Kind]++
	}
	return out
}

// Compare compares a stack's plan with the account's inventory of the
// cluster's region. The plan must have been made without error (its
// config names the cluster); the inventory must be read from an account,
// not a template, whose IDs are logical IDs.
func Compare(p *plan.Plan, inv *inventory.Inventory) (*Report, error) {
	if p == nil || p.Config == nil {
		return nil, errors.New("drift needs a plan made without error: the plan has no cluster configuration")
	}
	if inv == nil {
		return nil, errors.New("drift needs an inventory of the account")
	}
	if inv.FromTemplate {
		return nil, errors.New("drift compares a plan with an account: this inventory was read from a CloudFormation template, whose IDs are logical IDs")
	}
	if inv.Region != "" && p.Config.Region != "" && inv.Region != p.Config.Region {
		return nil, fmt.Errorf("the inventory is of %s, the stack's region is %s", inv.Region, p.Config.Region)
	}
	c := newComparison(p, inv)
	c.run()
	r := &Report{Stack: p.Stack, Cluster: p.Config.Name, Region: p.Config.Region,
		Drifts: c.drifts, Compared: c.matches, NotCompared: c.omissions()}
	sortReport(r)
	return r, nil
}

func sortReport(r *Report) {
	sort.SliceStable(r.Drifts, func(i, j int) bool {
		a, b := r.Drifts[i], r.Drifts[j]
		if a.Kind != b.Kind {
			return kindOrder[a.Kind] < kindOrder[b.Kind]
		}
		for _, p := range [][2]string{{a.Type, b.Type}, {a.Name, b.Name}, {a.Path, b.Path}, {a.ID, b.ID}, {a.Live, b.Live}, {a.Plan, b.Plan}} {
			if p[0] != p[1] {
				return p[0] < p[1]
			}
		}
		return false
	})
	r.Drifts = slices.Compact(r.Drifts)
	sort.Slice(r.Compared, func(i, j int) bool {
		a, b := r.Compared[i], r.Compared[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.ID < b.ID
	})
	if r.Drifts == nil {
		r.Drifts = []Drift{}
	}
	if r.Compared == nil {
		r.Compared = []Match{}
	}
}

// shortType is a type token's last part (aws:ec2/subnet:Subnet → Subnet),
// for prose.
func shortType(t string) string { return t[strings.LastIndex(t, ":")+1:] }
