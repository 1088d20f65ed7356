package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/mdtext"
	"github.com/kinfra-dev/kinfra/review/findings"
)

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
		subject := flagSubject(f)
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

// flagSubject is what a flag is about: its resource's URN, else its config
// field ("" for the whole stack).
func flagSubject(f findings.Finding) string {
	if f.Resource != "" {
		return f.Resource
	}
	return f.Path
}
