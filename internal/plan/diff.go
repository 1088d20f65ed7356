package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/components/workers"
	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/findings"
	"github.com/kinfra-dev/kinfra/internal/mdtext"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
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
	// Flags are the dangerous changes, errors first.
	Flags []DiffFlag `json:"flags"`
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

// text renders an option change: a long list by what it gains and loses.
func (o OptionChange) text() string {
	if delta, ok := o.listDelta(); ok {
		return fmt.Sprintf("options.%s: %s", o.Option, delta)
	}
	return fmt.Sprintf("options.%s: %s → %s", o.Option, o.Old, o.New)
}

// listDelta renders a long list option by what it loses and gains
// ("-8 (a, b, c, … 5 more) +1 (d)"); ok is false for other options, which
// are shown as old → new.
func (o OptionChange) listDelta() (string, bool) {
	if len(o.Added)+len(o.Removed) == 0 || len(o.Old)+len(o.New) <= maxValueLen {
		return "", false
	}
	var parts []string
	for _, side := range []struct {
		sign  string
		items []string
	}{{"-", o.Removed}, {"+", o.Added}} {
		if len(side.items) == 0 {
			continue
		}
		names := make([]string, 0, 4)
		for i, u := range side.items {
			if i == 3 {
				names = append(names, fmt.Sprintf("… %d more", len(side.items)-3))
				break
			}
			names = append(names, shortName(u))
		}
		parts = append(parts, fmt.Sprintf("%s%d (%s)", side.sign, len(side.items), strings.Join(names, ", ")))
	}
	return strings.Join(parts, " "), true
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

// subject is what a flag is about: its resource's URN, else its config
// field ("" for the whole stack).
func (f DiffFlag) subject() string {
	if f.Resource != "" {
		return f.Resource
	}
	return f.Path
}

// Errors returns the error flags.
func (d *PlanDiff) Errors() []DiffFlag {
	var out []DiffFlag
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
	d := &PlanDiff{Stack: new.Stack, Flags: []DiffFlag{}, Resources: []ResourceDiff{}, Notes: []string{}}
	if old.Stack != new.Stack && old.Stack != "" && new.Stack != "" {
		// The same stack planned from differently named files: URNs carry
		// the stack name, so read the old plan's as the new stack's (as
		// `pulumi stack rename` would).
		d.OldStack = old.Stack
		old = restack(old, new.Stack)
		d.Notes = append(d.Notes, fmt.Sprintf("the plans are of stacks %s and %s: resources are matched as if both were stack %s", d.OldStack, new.Stack, new.Stack))
	}
	oldBy, newBy := byURN(old.Resources), byURN(new.Resources)
	providers := byURN(append(append([]mockaws.Resource{}, old.Resources...), new.Resources...))

	// Matched resources, compared; the others added or removed.
	type pair struct {
		old, new mockaws.Resource
		eff      map[string]any // new inputs with replaced resources' IDs unknown
		diff     ResourceDiff
	}
	var pairs []*pair
	var added, removed []ResourceDiff
	for _, urn := range unionKeys(oldBy, newBy) {
		o, inOld := oldBy[urn]
		n, inNew := newBy[urn]
		switch {
		case inOld && inNew:
			p := &pair{old: o, new: n, eff: n.Inputs}
			p.diff = compareResource(o, n, p.eff, providers)
			pairs = append(pairs, p)
		case inNew:
			added = append(added, ResourceDiff{URN: urn, Type: n.Type, Name: n.Name, Action: ActionAdd, Changes: []PropertyChange{}, Options: []OptionChange{}})
		default:
			removed = append(removed, ResourceDiff{URN: urn, Type: o.Type, Name: o.Name, Action: ActionRemove, Changes: []PropertyChange{}, Options: []OptionChange{}})
		}
	}

	pairBy := make(map[string]*pair, len(pairs))
	for _, p := range pairs {
		pairBy[p.new.URN] = p
	}

	// A replaced resource gets a new ID (and ARN), unknown until it exists:
	// whatever references it changes too, and is replaced in turn when
	// that input forces replacement. Offline IDs are derived from type and
	// name, so they are the same in both plans; mark them unknown.
	cascaded := false
	for changed := true; changed; {
		changed = false
		// Pulumi replaces every resource of a replaced provider.
		for _, p := range pairs {
			if prov := pairBy[p.new.Options.Provider]; p.diff.Action != ActionReplace && prov != nil && prov.diff.Action == ActionReplace {
				p.diff.ReplaceReasons = appendUnique(p.diff.ReplaceReasons, "provider "+prov.new.Name+" is replaced (a replaced provider replaces every resource it manages)")
				p.diff.Action, p.diff.UpdateFails, changed = ActionReplace, nil, true
			}
		}
		var needles []idNeedle
		for _, p := range pairs {
			if p.diff.Action == ActionReplace && p.new.Custom {
				for _, s := range resourceNeedles(p.new) {
					needles = append(needles, idNeedle{s: s, urn: p.new.URN})
				}
			}
		}
		if len(needles) == 0 {
			break
		}
		for _, p := range pairs {
			if p.diff.Action == ActionReplace {
				continue
			}
			eff, touched := unknownIDs(p.eff, needles, p.new.URN)
			if touched {
				p.eff = eff
				p.diff = compareResource(p.old, p.new, p.eff, providers)
				changed, cascaded = true, true
			}
		}
	}
	if cascaded {
		d.Notes = append(d.Notes, "a replaced resource's new ID and ARN are unknown until it exists: inputs that hold its ID, ARN or outputs are shown as [unknown until … is replaced] and replace their resource when that input forces replacement")
	}

	// Removed and added resources of the same type and (nearly) the same
	// inputs are most likely a rename or re-parent.
	pairRenames(removed, added, oldBy, newBy)

	var replaced, updated []ResourceDiff
	for _, p := range pairs {
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
	d.Summary.Added, d.Summary.Removed = len(added), len(removed)
	for _, group := range [][]ResourceDiff{replaced, removed, added, updated} {
		d.Resources = append(d.Resources, group...)
	}

	skew, note := versionSkew(old, new)
	d.Flags = diffFlags(old, new, d, skew)
	if note != "" {
		d.Notes = append(d.Notes, note)
	}
	d.Notes = append(d.Notes,
		"replacement is decided offline from kinfra's table of the providers' force-new properties (internal/plan/replacements.go), not by the providers themselves; `pulumi preview` against the stack is authoritative",
		"both plans are offline: ignoreChanges is applied against the old plan, not against what is deployed, and IDs are placeholders")
	if len(old.Resources) == 0 && len(new.Resources) > 0 {
		d.Notes = append(d.Notes, "the old plan has no resources (a new stack): every resource is added")
	}
	return d
}

// restack is a copy of p with every URN of its stack (in URNs, parents,
// options and inputs) moved to stack.
func restack(p *Plan, stack string) *Plan {
	from, to := "urn:pulumi:"+p.Stack+"::", "urn:pulumi:"+stack+"::"
	str := func(s string) string { return strings.ReplaceAll(s, from, to) }
	strs := func(l []string) []string {
		if l == nil {
			return nil
		}
		out := make([]string, len(l))
		for i, s := range l {
			out[i] = str(s)
		}
		return out
	}
	var value func(v any) any
	value = func(v any) any {
		switch x := v.(type) {
		case string:
			return str(x)
		case map[string]any:
			out := make(map[string]any, len(x))
			for k, e := range x {
				out[k] = value(e)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = value(e)
			}
			return out
		}
		return v
	}
	out := *p
	out.Stack = stack
	out.Resources = make([]mockaws.Resource, len(p.Resources))
	for i, r := range p.Resources {
		r.URN, r.Parent = str(r.URN), str(r.Parent)
		if in, ok := value(r.Inputs).(map[string]any); ok {
			r.Inputs = in
		}
		o := r.Options
		o.DependsOn, o.Dependencies, o.Provider = strs(o.DependsOn), strs(o.Dependencies), str(o.Provider)
		r.Options = o
		out.Resources[i] = r
	}
	return &out
}

// compareResource diffs a resource present in both plans; eff are the new
// inputs to compare (the recorded ones, with replaced resources' IDs marked
// unknown).
func compareResource(o, n mockaws.Resource, eff map[string]any, all map[string]mockaws.Resource) ResourceDiff {
	rd := ResourceDiff{URN: n.URN, Type: n.Type, Name: n.Name, Action: ActionUnchanged, Changes: []PropertyChange{}, Options: []OptionChange{},
		DeleteBeforeReplace: n.Options.DeleteBeforeReplace}
	var changes []PropertyChange
	diffValue("", o.Inputs, eff, &changes)

	rule, hasRule := ruleFor(n.Type)
	mutable := false
	if hasRule && rule.MutableWithFlag != "" {
		if prov, ok := all[n.Options.Provider]; ok {
			mutable = truthy(prov.Inputs[rule.MutableWithFlag])
		}
	}
	ignore := parsePaths(n.Options.IgnoreChanges)
	effective := false
	for i := range changes {
		c := &changes[i]
		if pathMatchesAny(c.Path, ignore) {
			c.Ignored = true
			continue
		}
		effective = true
		if hasRule {
			if prop, ok := rule.forcesReplacement(c.Path, mutable); ok {
				c.ForcesReplacement = true
				rd.ReplaceReasons = appendUnique(rd.ReplaceReasons, prop)
			}
		}
	}
	if hasRule && rule.When != nil {
		for _, reason := range rule.When(o.Inputs, eff) {
			rd.ReplaceReasons = appendUnique(rd.ReplaceReasons, reason)
		}
	}
	rd.Changes = changes
	if rd.Changes == nil {
		rd.Changes = []PropertyChange{}
	}
	rd.Options = optionChanges(o.Options, n.Options)
	if o.Options.Provider != n.Options.Provider {
		rd.ReplaceReasons = appendUnique(rd.ReplaceReasons, "provider (a resource moved to another provider is replaced)")
	}
	switch {
	case len(rd.ReplaceReasons) > 0:
		rd.Action = ActionReplace
	case effective || len(rd.Options) > 0:
		rd.Action = ActionUpdate
		if hasRule && rule.Fails != nil {
			rd.UpdateFails = rule.Fails(o.Inputs, eff)
		}
	}
	return rd
}

// optionChanges lists the options that differ. Implied dependencies are not
// compared: they follow the inputs.
func optionChanges(o, n mockaws.Options) []OptionChange {
	out := []OptionChange{}
	add := func(name, a, b string) {
		if a != b {
			out = append(out, OptionChange{Option: name, Old: a, New: b})
		}
	}
	add("protect", strconv.FormatBool(o.Protect), strconv.FormatBool(n.Protect))
	add("retainOnDelete", strconv.FormatBool(o.RetainOnDelete), strconv.FormatBool(n.RetainOnDelete))
	add("deleteBeforeReplace", strconv.FormatBool(o.DeleteBeforeReplace), strconv.FormatBool(n.DeleteBeforeReplace))
	addList := func(name string, a, b []string) {
		a, b = sortedCopy(a), sortedCopy(b)
		if slices.Equal(a, b) {
			return
		}
		c := OptionChange{Option: name, Old: shorten(listText(a)), New: shorten(listText(b))}
		for _, v := range b {
			if !slices.Contains(a, v) {
				c.Added = append(c.Added, v)
			}
		}
		for _, v := range a {
			if !slices.Contains(b, v) {
				c.Removed = append(c.Removed, v)
			}
		}
		out = append(out, c)
	}
	addList("ignoreChanges", o.IgnoreChanges, n.IgnoreChanges)
	addList("dependsOn", o.DependsOn, n.DependsOn)
	add("import", o.Import, n.Import)
	add("provider", o.Provider, n.Provider)
	return out
}

func listText(s []string) string {
	b, _ := json.Marshal(s)
	if len(s) == 0 {
		return "[]"
	}
	return string(b)
}

func sortedCopy(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return out
}

// --- values and paths ------------------------------------------------------

// diffValue appends the changes between a and b at path.
func diffValue(path string, a, b any, out *[]PropertyChange) {
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	if aIsMap && bIsMap {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			av, inA := am[k]
			bv, inB := bm[k]
			p := joinKey(path, k)
			switch {
			case inA && inB:
				diffValue(p, av, bv, out)
			case inB && bv != nil:
				*out = append(*out, PropertyChange{Path: p, Kind: "add", New: display(p, bv)})
			case inA && av != nil:
				*out = append(*out, PropertyChange{Path: p, Kind: "remove", Old: display(p, av)})
			}
		}
		return
	}
	al, aIsList := a.([]any)
	bl, bIsList := b.([]any)
	if aIsList && bIsList {
		for i := 0; i < max(len(al), len(bl)); i++ {
			p := path + "[" + strconv.Itoa(i) + "]"
			switch {
			case i < len(al) && i < len(bl):
				diffValue(p, al[i], bl[i], out)
			case i < len(bl):
				*out = append(*out, PropertyChange{Path: p, Kind: "add", New: display(p, bl[i])})
			default:
				*out = append(*out, PropertyChange{Path: p, Kind: "remove", Old: display(p, al[i])})
			}
		}
		return
	}
	if !diffEqual(a, b) {
		c := PropertyChange{Path: path, Kind: "change", Old: display(path, a), New: display(path, b)}
		if s, ok := b.(string); ok && strings.HasPrefix(s, unknownPrefix) {
			c.Via = strings.TrimSuffix(strings.TrimPrefix(s, unknownPrefix), "]")
			c.New = "[unknown until " + shortName(c.Via) + " is replaced]"
		}
		*out = append(*out, c)
	}
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// joinKey appends a map key to a path: tags.Name, tags["kinfra.dev/role"].
func joinKey(path, key string) string {
	if identifier.MatchString(key) {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	q, _ := json.Marshal(key)
	return path + "[" + string(q) + "]"
}

// parsePath splits a Pulumi property path (a.b, a[0], a["k.x"], a[*]) into
// its segments.
func parsePath(p string) []string {
	var out []string
	for i := 0; i < len(p); {
		switch p[i] {
		case '.':
			i++
		case '[':
			j := i + 1
			if j < len(p) && p[j] == '"' {
				// A quoted key: find the closing quote.
				k := j + 1
				for k < len(p) && (p[k] != '"' || p[k-1] == '\\') {
					k++
				}
				var key string
				if err := json.Unmarshal([]byte(p[j:min(k+1, len(p))]), &key); err != nil {
					key = p[j+1 : min(k, len(p))]
				}
				out = append(out, key)
				i = min(k+2, len(p)) // past `"]`
			} else {
				k := strings.IndexByte(p[j:], ']')
				if k < 0 {
					out = append(out, p[j:])
					return out
				}
				out = append(out, p[j:j+k])
				i = j + k + 1
			}
		default:
			j := i
			for j < len(p) && p[j] != '.' && p[j] != '[' {
				j++
			}
			out = append(out, p[i:j])
			i = j
		}
	}
	return out
}

func parsePaths(ps []string) [][]string {
	out := make([][]string, len(ps))
	for i, p := range ps {
		out[i] = parsePath(p)
	}
	return out
}

// pathMatchesAny says whether path is at or below one of the prefixes ("*"
// matches any one segment).
func pathMatchesAny(path string, prefixes [][]string) bool {
	segs := parsePath(path)
	for _, pre := range prefixes {
		if len(pre) == 0 || len(pre) > len(segs) {
			continue
		}
		match := true
		for i, s := range pre {
			if s != "*" && s != segs[i] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// diffUnderPath says whether path is prop or below it.
func diffUnderPath(path, prop string) bool { return pathMatchesAny(path, [][]string{parsePath(prop)}) }

// forcesReplacement says whether a change at path forces replacement, and
// which listed property it is; mutable drops FlagMutable (the provider sets
// the rule's flag).
func (r ReplaceRule) forcesReplacement(path string, mutable bool) (string, bool) {
	for _, p := range r.Properties {
		if mutable && slices.Contains(r.FlagMutable, p) {
			continue
		}
		if diffUnderPath(path, p) {
			return p, true
		}
	}
	return "", false
}

// diffCanonical is a value's canonical JSON, for comparisons between plans
// read from JSON and plans made in process.
func diffCanonical(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func diffEqual(a, b any) bool { return diffCanonical(a) == diffCanonical(b) }

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x == "true"
	}
	return false
}

// Value rendering limits.
const (
	maxValueLen = 80
	keepLen     = 48
)

// display renders a value for a reviewer: JSON, shortened; user data
// (base64 gzip) by its length and hash.
func display(path string, v any) string {
	if v == nil {
		return "null"
	}
	segs := parsePath(path)
	last := ""
	if len(segs) > 0 {
		last = segs[len(segs)-1]
	}
	if s, ok := v.(string); ok {
		if s == mockaws.Secret || s == mockaws.Unknown {
			return s
		}
		if last == "userData" || last == "userDataBase64" {
			return fmt.Sprintf("<user data: %d bytes, sha256 %s>", len(s), shortHash(s))
		}
		if len(s) > maxValueLen {
			q, _ := json.Marshal(s[:keepLen])
			return fmt.Sprintf("%s… (%d chars, sha256 %s)", strings.TrimSuffix(string(q), `"`), len(s), shortHash(s))
		}
		q, _ := json.Marshal(s)
		return string(q)
	}
	return shorten(diffCanonical(v))
}

// shorten cuts a rendered value as display does.
func shorten(c string) string {
	if len(c) > maxValueLen {
		return fmt.Sprintf("%s… (%d chars, sha256 %s)", c[:keepLen], len(c), shortHash(c))
	}
	return c
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:12]
}

// --- replaced IDs ------------------------------------------------------------

// unknownPrefix marks an input that takes a replaced resource's new ID:
// "[unknown-id-of:<urn>]".
const unknownPrefix = "[unknown-id-of:"

type idNeedle struct{ s, urn string }

// imageBuilderKinds are the kinds in Image Builder ARNs, which carry the
// resource's name rather than its ID.
var imageBuilderKinds = map[string]string{
	"aws:imagebuilder/component:Component":                                     "component",
	"aws:imagebuilder/imageRecipe:ImageRecipe":                                 "image-recipe",
	"aws:imagebuilder/infrastructureConfiguration:InfrastructureConfiguration": "infrastructure-configuration",
	"aws:imagebuilder/distributionConfiguration:DistributionConfiguration":     "distribution-configuration",
	"aws:imagebuilder/imagePipeline:ImagePipeline":                             "image-pipeline",
	"aws:imagebuilder/image:Image":                                             "image",
}

// resourceNeedles are strings that occur in the offline ID of a resource
// and in what the mock monitor computes from it, and so in every input that
// holds its ID, ARN or output: the mock derives an ID from the type and name
// (a type prefix and 17 hex digits of their SHA-256, or the name, "-" and 8
// of them) or takes the import ID; an Image Builder ARN carries the
// lower-cased name, and an image's AMI 17 hex digits of its name's SHA-256.
func resourceNeedles(r mockaws.Resource) []string {
	if r.Options.Import != "" {
		return []string{r.Options.Import}
	}
	sum := sha256.Sum256([]byte(r.Type + "\x00" + r.Name))
	h := hex.EncodeToString(sum[:])
	out := []string{h[:17], r.Name + "-" + h[:8]}
	if kind, ok := imageBuilderKinds[r.Type]; ok {
		name, _ := r.Inputs["name"].(string)
		if name == "" {
			name = r.Name + "-" + h[:8]
		}
		out = append(out, ":"+kind+"/"+strings.ToLower(name))
		if kind == "image" {
			ami := sha256.Sum256([]byte(r.Name))
			out = append(out, "ami-"+hex.EncodeToString(ami[:])[:17])
		}
	}
	return out
}

// containsNeedle says whether s holds needle as a whole: not followed by
// another name character (so "x-a" is not found in "x-ab").
func containsNeedle(s, needle string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], needle)
		if j < 0 {
			return false
		}
		end := i + j + len(needle)
		if end == len(s) || !isNameChar(s[end]) {
			return true
		}
		i += j + 1
	}
}

func isNameChar(c byte) bool {
	return c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// referencesID says whether s holds one of r's offline IDs.
func referencesID(s string, r mockaws.Resource) bool {
	for _, n := range resourceNeedles(r) {
		if containsNeedle(s, n) {
			return true
		}
	}
	return false
}

// unknownIDs replaces every string in v that holds a needle (of a resource
// other than self) with the unknown marker of that resource; it copies only
// what it changes.
func unknownIDs(v map[string]any, needles []idNeedle, self string) (map[string]any, bool) {
	out, touched := unknownIn(v, needles, self)
	if !touched {
		return v, false
	}
	return out.(map[string]any), true
}

func unknownIn(v any, needles []idNeedle, self string) (any, bool) {
	switch x := v.(type) {
	case string:
		if strings.HasPrefix(x, unknownPrefix) {
			return x, false
		}
		for _, n := range needles {
			if n.urn != self && containsNeedle(x, n.s) {
				return unknownPrefix + n.urn + "]", true
			}
		}
	case map[string]any:
		var out map[string]any
		for k, e := range x {
			if ne, ok := unknownIn(e, needles, self); ok {
				if out == nil {
					out = make(map[string]any, len(x))
					for k2, e2 := range x {
						out[k2] = e2
					}
				}
				out[k] = ne
			}
		}
		if out != nil {
			return out, true
		}
	case []any:
		var out []any
		for i, e := range x {
			if ne, ok := unknownIn(e, needles, self); ok {
				if out == nil {
					out = append([]any{}, x...)
				}
				out[i] = ne
			}
		}
		if out != nil {
			return out, true
		}
	}
	return v, false
}

// --- renames -------------------------------------------------------------------

// pairRenames marks each added resource that matches a removed one of the
// same type: identical inputs, or at least 90% of their input paths equal.
func pairRenames(removed, added []ResourceDiff, oldBy, newBy map[string]mockaws.Resource) {
	used := map[int]bool{}
	removedLeaves := make([]map[string]string, len(removed))
	for ri := range removed {
		removedLeaves[ri] = map[string]string{}
		leaves("", oldBy[removed[ri].URN].Inputs, removedLeaves[ri])
	}
	for ai := range added {
		al := map[string]string{}
		leaves("", newBy[added[ai].URN].Inputs, al)
		best, bestScore := -1, 0.0
		for ri := range removed {
			if used[ri] || removed[ri].Type != added[ai].Type {
				continue
			}
			score := similarity(removedLeaves[ri], al)
			if score > bestScore {
				best, bestScore = ri, score
			}
		}
		if best >= 0 && bestScore >= 0.9 {
			used[best] = true
			added[ai].RenamedFrom = removed[best].URN
			removed[best].RenamedTo = added[ai].URN
		}
	}
}

// similarity is the share of input leaves (paths and values) two resources
// have in common: 1 for equal inputs (including two empty ones).
func similarity(la, lb map[string]string) float64 {
	if len(la) == 0 && len(lb) == 0 {
		return 1
	}
	same := 0
	for k, v := range la {
		if w, ok := lb[k]; ok && w == v {
			same++
		}
	}
	return float64(same) / float64(max(len(la), len(lb)))
}

func leaves(path string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			leaves(joinKey(path, k), e, out)
		}
	case []any:
		for i, e := range x {
			leaves(path+"["+strconv.Itoa(i)+"]", e, out)
		}
	default:
		out[path] = diffCanonical(v)
	}
}

// --- helpers --------------------------------------------------------------------

func byURN(rs []mockaws.Resource) map[string]mockaws.Resource {
	out := make(map[string]mockaws.Resource, len(rs))
	for _, r := range rs {
		out[r.URN] = r
	}
	return out
}

func unionKeys(a, b map[string]mockaws.Resource) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// shortName is the resource name at the end of a URN.
func shortName(urn string) string {
	if i := strings.LastIndex(urn, "::"); i >= 0 {
		return urn[i+2:]
	}
	return urn
}

// --- output ------------------------------------------------------------------------

// JSON writes the diff as one indented JSON object.
func (d *PlanDiff) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

var actionMark = map[Action]string{ActionAdd: "+", ActionRemove: "-", ActionReplace: "+-", ActionUpdate: "~", ActionUnchanged: " "}

func (d *PlanDiff) title() string {
	s := "stack " + d.Stack
	if d.OldStack != "" {
		s += " (old plan: stack " + d.OldStack + ")"
	}
	return s
}

// changeText renders one property change for text output.
func (c PropertyChange) text() string {
	var s string
	switch c.Kind {
	case "add":
		s = fmt.Sprintf("%s: + %s", c.Path, c.New)
	case "remove":
		s = fmt.Sprintf("%s: - %s", c.Path, c.Old)
	default:
		if strings.HasPrefix(c.Old, "<user data") && strings.HasPrefix(c.New, "<user data") {
			s = fmt.Sprintf("%s: changed, %s → %s", c.Path, strings.TrimPrefix(c.Old, "<user data: "), strings.TrimPrefix(c.New, "<user data: "))
			s = strings.ReplaceAll(s, ">", "")
		} else {
			s = fmt.Sprintf("%s: %s → %s", c.Path, c.Old, c.New)
		}
	}
	switch {
	case c.Ignored:
		s += "  (ignored: under ignoreChanges)"
	case c.ForcesReplacement:
		s += "  [forces replacement]"
	}
	return s
}

func (rd ResourceDiff) header() string {
	s := fmt.Sprintf("%-2s %-7s %s  (%s)", actionMark[rd.Action], rd.Action, rd.Name, rd.Type)
	if rd.RenamedFrom != "" {
		s += "  likely rename of " + shortName(rd.RenamedFrom)
	}
	if rd.RenamedTo != "" {
		s += "  likely renamed to " + shortName(rd.RenamedTo)
	}
	return s
}

func (rd ResourceDiff) replaceNote() string {
	if rd.Action != ActionReplace {
		return ""
	}
	order := "creates the new one, then deletes the old one"
	if rd.DeleteBeforeReplace {
		order = "deletes the old one first (deleteBeforeReplace), then creates the new one"
	}
	return "replaced because of " + strings.Join(rd.ReplaceReasons, ", ") + "; Pulumi " + order
}

// Text writes the diff for a person to read: counts, the dangerous changes,
// then every changed resource with its changed paths and options.
func (d *PlanDiff) Text(w io.Writer) {
	s := d.Summary
	fmt.Fprintf(w, "Plan diff of %s: %d to add, %d to remove, %d to replace, %d to update, %d unchanged\n",
		d.title(), s.Added, s.Removed, s.Replaced, s.Updated, s.Unchanged)
	errs := len(d.Errors())
	fmt.Fprintf(w, "\nDangerous changes: %d errors, %d warnings\n", errs, len(d.Flags)-errs)
	for _, f := range d.Flags {
		subject := f.subject()
		if subject == "" {
			subject = "(stack)"
		}
		fmt.Fprintf(w, "  %-7s %s  %s\n          %s\n", f.Severity, f.Rule, subject, f.Message)
	}
	if len(d.Resources) > 0 {
		fmt.Fprintln(w, "\nChanges:")
	}
	for _, rd := range d.Resources {
		fmt.Fprintf(w, "  %s\n", rd.header())
		fmt.Fprintf(w, "      urn: %s\n", rd.URN)
		if n := rd.replaceNote(); n != "" {
			fmt.Fprintf(w, "      %s\n", n)
		}
		for _, c := range rd.Changes {
			fmt.Fprintf(w, "      %s\n", c.text())
		}
		for _, o := range rd.Options {
			fmt.Fprintf(w, "      %s\n", o.text())
		}
	}
	if len(d.Notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range d.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
}

// markdownLimit keeps a Markdown diff inside a GitHub comment (65536
// characters).
const markdownLimit = 60000

// Markdown writes the diff as a GitHub comment: a header with the stack, a
// table of counts, the dangerous changes, then a collapsible section per
// changed resource.
func (d *PlanDiff) Markdown(w io.Writer) {
	var b bytes.Buffer
	s := d.Summary
	fmt.Fprintf(&b, "## kinfra plan diff: `%s`\n\n", d.Stack)
	if d.OldStack != "" {
		fmt.Fprintf(&b, "Old plan: stack `%s`.\n\n", d.OldStack)
	}
	fmt.Fprintf(&b, "| added | removed | replaced | updated | unchanged |\n|---:|---:|---:|---:|---:|\n| %d | %d | %d | %d | %d |\n\n",
		s.Added, s.Removed, s.Replaced, s.Updated, s.Unchanged)
	b.WriteString("### Dangerous changes\n\n")
	if len(d.Flags) == 0 {
		b.WriteString("None.\n\n")
	}
	for _, f := range d.Flags {
		icon := ":warning:"
		if f.Severity == findings.Error {
			icon = ":x:"
		}
		res := "the stack"
		if f.Resource != "" {
			res = "`" + shortName(f.Resource) + "`"
		} else if f.Path != "" {
			res = "`" + f.Path + "`"
		}
		fmt.Fprintf(&b, "- %s **%s** `%s` %s: %s\n", icon, f.Severity, f.Rule, res, mdtext.Text(f.Message))
	}
	if len(d.Flags) > 0 {
		b.WriteString("\n")
	}
	if len(d.Resources) > 0 {
		b.WriteString("### Changes\n\n")
	}
	footer := "\n" + strings.Join(mdNotes(d.Notes), "")
	for i, rd := range d.Resources {
		var sec bytes.Buffer
		fmt.Fprintf(&sec, "<details><summary><code>%s %s</code> <b>%s</b> <code>%s</code>", actionMark[rd.Action], rd.Action, mdtext.HTML(rd.Name), mdtext.HTML(rd.Type))
		if rd.RenamedFrom != "" {
			fmt.Fprintf(&sec, " (likely rename of <code>%s</code>)", mdtext.HTML(shortName(rd.RenamedFrom)))
		}
		if rd.RenamedTo != "" {
			fmt.Fprintf(&sec, " (likely renamed to <code>%s</code>)", mdtext.HTML(shortName(rd.RenamedTo)))
		}
		fmt.Fprintf(&sec, "</summary>\n\n`%s`\n\n", rd.URN)
		if n := rd.replaceNote(); n != "" {
			fmt.Fprintf(&sec, "%s.\n\n", mdtext.Text(strings.ToUpper(n[:1])+n[1:]))
		}
		if len(rd.Changes)+len(rd.Options) > 0 {
			sec.WriteString("| property | old | new | |\n|---|---|---|---|\n")
			for _, c := range rd.Changes {
				note := ""
				switch {
				case c.Ignored:
					note = "ignored"
				case c.ForcesReplacement:
					note = "**forces replacement**"
				}
				fmt.Fprintf(&sec, "| `%s` | %s | %s | %s |\n", mdtext.Cell(c.Path), mdtext.Value(c.Old), mdtext.Value(c.New), note)
			}
			for _, o := range rd.Options {
				if delta, ok := o.listDelta(); ok {
					fmt.Fprintf(&sec, "| option `%s` | %s | | |\n", o.Option, mdtext.Value(delta))
					continue
				}
				fmt.Fprintf(&sec, "| option `%s` | %s | %s | |\n", o.Option, mdtext.Value(o.Old), mdtext.Value(o.New))
			}
			sec.WriteString("\n")
		}
		sec.WriteString("</details>\n")
		if b.Len()+sec.Len()+len(footer) > markdownLimit {
			fmt.Fprintf(&b, "\n…and %d more changed resources, left out to fit a comment: run `kinfra plan diff` for the full list.\n", len(d.Resources)-i)
			break
		}
		b.Write(sec.Bytes())
	}
	b.WriteString(footer)
	_, _ = w.Write(b.Bytes())
}

func mdNotes(notes []string) []string {
	if len(notes) == 0 {
		return nil
	}
	out := []string{"<sub>\n\n"}
	for _, n := range notes {
		out = append(out, "- "+mdtext.Text(n)+"\n")
	}
	return append(out, "\n</sub>\n")
}

// --- flags -------------------------------------------------------------------------

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

var etcdRecordName = regexp.MustCompile(`^etcd-[0-9]+\.`)

// flagContext is what the flags read of both plans.
type flagContext struct {
	oldBy, newBy map[string]mockaws.Resource
	// subnetUsers are the groups and load balancers whose subnets name a
	// subnet (by URN of the subnet), in either plan.
	subnetUsers map[string][]string
}

func newFlagContext(old, new *Plan) *flagContext {
	c := &flagContext{oldBy: byURN(old.Resources), newBy: byURN(new.Resources), subnetUsers: map[string][]string{}}
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
	return c
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
	_, slot := inputTag(r.Inputs, masters.SlotTag)
	switch r.Type {
	case "aws:ebs/volume:Volume":
		if role, _ := inputTag(r.Inputs, "kinfra.dev/role"); role == "etcd" || slot {
			return "etcd-volume"
		}
	case "aws:autoscaling/group:Group":
		if slot {
			return "master-group"
		}
		if _, pool := inputTag(r.Inputs, workers.PoolTag); pool {
			return "node-group"
		}
	case "aws:ec2/launchTemplate:LaunchTemplate":
		if slot {
			return "master-launch-template"
		}
	case "aws:route53/record:Record":
		name, _ := r.Inputs["name"].(string)
		switch {
		case etcdRecordName.MatchString(name):
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
		name, _ := r.Inputs["name"].(string)
		if strings.Contains(name, "/"+bootstrap.ToolsGroup+"/") && r.Options.RetainOnDelete {
			// A master tool: named by its content and retained, so the
			// old one stays for the launch template versions that name
			// it (docs/masters.md, "Tools").
			return ""
		}
		if _, group := inputTag(r.Inputs, "kinfra.dev/parameter-group"); group || strings.HasPrefix(name, "/kinfra/") {
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

// message says what replacing or removing a resource of a kind would do, and
// how to make the change safely.
func (c *flagContext) message(kind string, rd ResourceDiff, r mockaws.Resource) string {
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
	if s, ok := inputTag(r.Inputs, masters.SlotTag); ok {
		return "master slot " + s
	}
	return r.Name
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
