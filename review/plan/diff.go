package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/review/findings"
	"github.com/kinfra-dev/kinfra/spec"
)

// Action is what applying the new plan over the old one does to a resource.
type Action string

const (
	ActionAdd       Action = "add"
	ActionRemove    Action = "remove"
	ActionReplace   Action = "replace"
	ActionUpdate    Action = "update"
	ActionUnchanged Action = "unchanged"
)

// PlanDiff is the difference between two offline plans of a stack: what
// `pulumi up` of the new program would do to a stack deployed from the old
// one, as far as it can be known offline, and the flags that call out the
// dangerous changes.
type PlanDiff struct {
	Stack string `json:"stack"`
	// OldStack is the old plan's stack name when it differs.
	OldStack string      `json:"oldStack,omitempty"`
	Summary  DiffSummary `json:"summary"`
	// Flags are the dangerous changes (flagRules), errors first.
	Flags []findings.Finding `json:"flags"`
	// Resources are the resources that change (unchanged ones are only
	// counted): replacements, removals, additions, then updates, each in
	// URN order.
	Resources []ResourceDiff `json:"resources"`
	// Notes say what an offline diff cannot know.
	Notes []string `json:"notes"`
}

// DiffSummary counts the resources by action.
type DiffSummary struct {
	Added     int `json:"added"`
	Removed   int `json:"removed"`
	Replaced  int `json:"replaced"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// ResourceDiff is one resource's change.
type ResourceDiff struct {
	URN    string `json:"urn"`
	Type   string `json:"type"`
	Name   string `json:"name"`
	Action Action `json:"action"`
	// Changes are the changed input paths (for adds and removes: none).
	Changes []PropertyChange `json:"changes"`
	// Options are the changed resource options.
	Options []OptionChange `json:"options"`
	// ReplaceReasons say what forces the replacement.
	ReplaceReasons []string `json:"replaceReasons,omitempty"`
	// DeleteBeforeReplace: a replacement deletes the old resource before it
	// creates the new one (otherwise the new one is created first).
	DeleteBeforeReplace bool `json:"deleteBeforeReplace,omitempty"`
	// UpdateFails say why AWS will refuse an update the provider makes in
	// place (replacements.go, ReplaceRule.Fails).
	UpdateFails []string `json:"updateFails,omitempty"`
	// RenamedFrom (on an add) and RenamedTo (on a remove) pair a removed and
	// an added resource of the same type and (nearly) the same inputs: most
	// likely a rename or re-parent, which Pulumi still deletes and creates
	// unless the new one has an alias.
	RenamedFrom string `json:"renamedFrom,omitempty"`
	RenamedTo   string `json:"renamedTo,omitempty"`
}

// PropertyChange is one changed input path.
type PropertyChange struct {
	// Path is the input path: tags.Name, blockDeviceMappings[0].ebs.volumeSize,
	// tags["kinfra.dev/role"].
	Path string `json:"path"`
	// Kind is "add", "remove" or "change".
	Kind string `json:"kind"`
	// Old and New are the values, rendered and shortened ("" when absent);
	// user data is summarised by its length and hash.
	Old string `json:"old"`
	New string `json:"new"`
	// ForcesReplacement: the change replaces the resource.
	ForcesReplacement bool `json:"forcesReplacement,omitempty"`
	// Ignored: the path is under the resource's ignoreChanges, so Pulumi
	// keeps the deployed value.
	Ignored bool `json:"ignored,omitempty"`
	// Via is the URN of the replaced resource whose new, unknown ID or ARN
	// this input takes.
	Via string `json:"via,omitempty"`
}

// OptionChange is one changed resource option.
type OptionChange struct {
	Option string `json:"option"`
	// Old and New are the values, shortened like input values.
	Old string `json:"old"`
	New string `json:"new"`
	// Added and Removed are the elements a list option (ignoreChanges,
	// dependsOn) gains and loses.
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
}

// Errors returns the error flags.
func (d *PlanDiff) Errors() []findings.Finding {
	var out []findings.Finding
	for _, f := range d.Flags {
		if f.Severity == findings.Error {
			out = append(out, f)
		}
	}
	return out
}

// ExitCode is kinfra plan diff's exit status for the diff: 1 with any
// error flag, else 0.
func (d *PlanDiff) ExitCode() int {
	if len(d.Errors()) > 0 {
		return 1
	}
	return 0
}

// ReadPlanJSON reads a `kinfra plan --json` output. The effective config is
// optional (an older kinfra's config that no longer decodes is dropped).
func ReadPlanJSON(r io.Reader) (*Plan, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not a kinfra plan --json output: %v", err)
	}
	if _, ok := raw["resources"]; !ok {
		return nil, errors.New("not a kinfra plan --json output: no \"resources\"")
	}
	var doc struct {
		Stack     string             `json:"stack"`
		Resources []mockaws.Resource `json:"resources"`
		Findings  []findings.Finding `json:"findings"`
		Notes     []string           `json:"notes"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not a kinfra plan --json output: %v", err)
	}
	p := &Plan{Stack: doc.Stack, Resources: doc.Resources, Findings: doc.Findings, Notes: doc.Notes}
	if p.Resources == nil {
		p.Resources = []mockaws.Resource{}
	}
	if c, ok := raw["config"]; ok && string(c) != "null" {
		var cfg spec.Cluster
		if json.Unmarshal(c, &cfg) == nil {
			p.Config = &cfg
		}
	}
	return p, nil
}

// EmptyPlan is the plan of a stack that does not exist yet.
func EmptyPlan(stack string) *Plan {
	return &Plan{Stack: stack, Resources: []mockaws.Resource{}, Findings: []findings.Finding{}, Notes: []string{}}
}

// Diff compares two plans of a stack. Resources match by URN: a resource
// only in new is added, only in old removed; a resource in both is replaced
// when a changed input forces replacement for its type (Replacements), when
// its provider changes, or when it takes the new ID of a replaced resource
// in such an input; updated when other inputs or options differ; else
// unchanged.
func Diff(old, new *Plan) *PlanDiff {
	d := &PlanDiff{Stack: new.Stack, Resources: []ResourceDiff{}, Notes: []string{}}
	if old.Stack != new.Stack && old.Stack != "" && new.Stack != "" {
		// The same stack planned from differently named files: URNs carry
		// the stack name, so read the old plan's as the new stack's (as
		// `pulumi stack rename` would).
		d.OldStack = old.Stack
		old = restack(old, new.Stack)
		d.Notes = append(d.Notes, fmt.Sprintf("the plans are of stacks %s and %s: resources are matched as if both were stack %s", d.OldStack, new.Stack, new.Stack))
	}
	m := matchResources(old, new)
	if m.cascadeReplacements() {
		d.Notes = append(d.Notes, "a replaced resource's new ID and ARN are unknown until it exists: inputs that hold its ID, ARN or outputs are shown as [unknown until … is replaced] and replace their resource when that input forces replacement")
	}

	// Removed and added resources of the same type and (nearly) the same
	// inputs are most likely a rename or re-parent.
	pairRenames(m.removed, m.added, m.oldBy, m.newBy)

	var replaced, updated []ResourceDiff
	for _, p := range m.pairs {
		switch p.diff.Action {
		case ActionReplace:
			replaced = append(replaced, p.diff)
			d.Summary.Replaced++
		case ActionUpdate:
			updated = append(updated, p.diff)
			d.Summary.Updated++
		default:
			d.Summary.Unchanged++
		}
	}
	d.Summary.Added, d.Summary.Removed = len(m.added), len(m.removed)
	for _, group := range [][]ResourceDiff{replaced, m.removed, m.added, updated} {
		d.Resources = append(d.Resources, group...)
	}

	var notes []string
	d.Flags, notes = diffFlags(old, new, d)
	d.Notes = append(d.Notes, notes...)
	d.Notes = append(d.Notes,
		"replacement is decided offline from kinfra's table of the providers' force-new properties (review/plan/replacements.go), not by the providers themselves; `pulumi preview` against the stack is authoritative",
		"both plans are offline: ignoreChanges is applied against the old plan, not against what is deployed, and IDs are placeholders")
	if len(old.Resources) == 0 && len(new.Resources) > 0 {
		d.Notes = append(d.Notes, "the old plan has no resources (a new stack): every resource is added")
	}
	return d
}
