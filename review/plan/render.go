package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// JSON writes the plan as one indented JSON object.
func (p *Plan) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// Counts returns the number of resources of each type.
func (p *Plan) Counts() map[string]int {
	counts := map[string]int{}
	for _, r := range p.Resources {
		counts[r.Type]++
	}
	return counts
}

// Text writes the resource tree, the counts per type, the notes and the
// findings for a person to read.
func (p *Plan) Text(w io.Writer) {
	children := map[string][]mockaws.Resource{}
	known := map[string]bool{}
	for _, r := range p.Resources {
		known[r.URN] = true
	}
	var roots []mockaws.Resource
	for _, r := range p.Resources {
		if known[r.Parent] {
			children[r.Parent] = append(children[r.Parent], r)
		} else {
			roots = append(roots, r)
		}
	}
	order := func(rs []mockaws.Resource) {
		sort.Slice(rs, func(i, j int) bool {
			if rs[i].Custom != rs[j].Custom {
				return !rs[i].Custom // components first
			}
			if rs[i].Type != rs[j].Type {
				return rs[i].Type < rs[j].Type
			}
			return rs[i].Name < rs[j].Name
		})
	}
	region, cluster := "", ""
	if p.Config != nil {
		region, cluster = p.Config.Region, p.Config.Name
	}
	fmt.Fprintf(w, "Stack %s  (cluster %s, region %s)\n\n", p.Stack, cluster, region)
	var walk func(r mockaws.Resource, prefix string, last bool)
	walk = func(r mockaws.Resource, prefix string, last bool) {
		branch, next := "├─ ", "│  "
		if last {
			branch, next = "└─ ", "   "
		}
		flags := ""
		if r.Options.Protect {
			flags += " [protect]"
		}
		if r.Options.RetainOnDelete {
			flags += " [retain]"
		}
		if len(r.Options.IgnoreChanges) > 0 {
			flags += " [ignore " + strings.Join(r.Options.IgnoreChanges, ",") + "]"
		}
		if r.Options.Import != "" {
			flags += " [import " + r.Options.Import + "]"
		}
		fmt.Fprintf(w, "%s%s%s  %s%s\n", prefix, branch, r.Name, r.Type, flags)
		kids := children[r.URN]
		order(kids)
		for i, k := range kids {
			walk(k, prefix+next, i == len(kids)-1)
		}
	}
	order(roots)
	for i, r := range roots {
		walk(r, "", i == len(roots)-1)
	}

	counts := p.Counts()
	types := make([]string, 0, len(counts))
	for t := range counts {
		types = append(types, t)
	}
	sort.Strings(types)
	fmt.Fprintf(w, "\n%d resources:\n", len(p.Resources))
	for _, t := range types {
		fmt.Fprintf(w, "  %4d  %s\n", counts[t], t)
	}
	if len(p.Notes) > 0 {
		fmt.Fprintln(w, "\nOffline assumptions and unconfirmed facts:")
		for _, n := range p.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	fmt.Fprintf(w, "\nFindings: %d\n", len(p.Findings))
	for _, f := range p.Findings {
		fmt.Fprintf(w, "  %-7s %s  %s\n          %s\n", f.Severity, f.Rule, f.Resource, f.Message)
		if f.Acknowledged != "" {
			fmt.Fprintf(w, "          acknowledged: %s\n", f.Acknowledged)
		}
	}
}
