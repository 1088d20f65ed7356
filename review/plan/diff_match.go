package plan

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// matching is two plans' resources matched by URN: the pairs in both,
// compared, and the resources added and removed.
type matching struct {
	oldBy, newBy map[string]mockaws.Resource
	// all is every resource of both plans by URN (for their providers).
	all            map[string]mockaws.Resource
	pairs          []*pair
	added, removed []ResourceDiff
}

// pair is a resource in both plans.
type pair struct {
	old, new mockaws.Resource
	eff      map[string]any // new inputs with replaced resources' IDs unknown
	diff     ResourceDiff
}

// matchResources matches the plans' resources by URN and compares each
// pair: a resource only in new is added, only in old removed.
func matchResources(old, new *Plan) *matching {
	m := &matching{oldBy: byURN(old.Resources), newBy: byURN(new.Resources),
		all: byURN(append(append([]mockaws.Resource{}, old.Resources...), new.Resources...))}
	for _, urn := range unionKeys(m.oldBy, m.newBy) {
		o, inOld := m.oldBy[urn]
		n, inNew := m.newBy[urn]
		switch {
		case inOld && inNew:
			p := &pair{old: o, new: n, eff: n.Inputs}
			p.diff = compareResource(o, n, p.eff, m.all)
			m.pairs = append(m.pairs, p)
		case inNew:
			m.added = append(m.added, ResourceDiff{URN: urn, Type: n.Type, Name: n.Name, Action: ActionAdd, Changes: []PropertyChange{}, Options: []OptionChange{}})
		default:
			m.removed = append(m.removed, ResourceDiff{URN: urn, Type: o.Type, Name: o.Name, Action: ActionRemove, Changes: []PropertyChange{}, Options: []OptionChange{}})
		}
	}
	return m
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
