package drift

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/mdtext"
)

// kindTitles are the report's sections, in order.
var kindTitles = []struct {
	kind  Kind
	title string
}{
	{Missing, "Missing (in the plan, not in the account)"},
	{Changed, "Changed outside code"},
	{Unplanned, "Unplanned (in the account, not in the plan)"},
}

func (r *Report) summary() string {
	n := r.Counts()
	if r.Clean() {
		return fmt.Sprintf("no drift: the account matches the plan in the %d resources compared", len(r.Compared))
	}
	return fmt.Sprintf("%d missing, %d changed, %d unplanned; %d plan resources found in the account",
		n[Missing], n[Changed], n[Unplanned], len(r.Compared))
}

// values renders a drift's plan and live values.
func (d Drift) values() string {
	switch {
	case d.Plan != "" && d.Live != "":
		return fmt.Sprintf("plan %s, live %s", d.Plan, d.Live)
	case d.Plan != "":
		return "plan " + d.Plan + ", live: none"
	case d.Live != "":
		return "plan: none, live " + d.Live
	}
	return ""
}

// Text writes the report for a terminal.
func (r *Report) Text(w io.Writer) {
	fmt.Fprintf(w, "Drift of stack %s (cluster %s, %s): %s\n", r.Stack, r.Cluster, r.Region, r.summary())
	for _, k := range kindTitles {
		ds := r.of(k.kind)
		if len(ds) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", k.title)
		for _, d := range ds {
			subject := d.Name
			if d.ID != "" {
				subject += " " + d.ID
			}
			fmt.Fprintf(w, "  %s  (%s)\n", subject, d.Type)
			line := d.Message
			if d.Path != "" {
				line = d.Path + ": " + line
			}
			if v := d.values(); v != "" {
				line += " (" + v + ")"
			}
			fmt.Fprintf(w, "      %s\n", line)
		}
	}
	if len(r.NotCompared) > 0 {
		fmt.Fprintln(w, "\nNot compared:")
		for _, o := range r.NotCompared {
			fmt.Fprintf(w, "  - %s:\n      %s\n", o.Reason, strings.Join(o.Items, "\n      "))
		}
	}
}

// JSON writes the report as one indented JSON object.
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// markdownLimit keeps a Markdown report inside a GitHub comment (65536
// characters), like plan diff's.
const markdownLimit = 60000

// Markdown writes the report as a GitHub comment: the counts, a table per
// kind, and what was not compared, collapsed.
func (r *Report) Markdown(w io.Writer) {
	var b bytes.Buffer
	n := r.Counts()
	fmt.Fprintf(&b, "## kinfra drift: `%s`\n\nCluster `%s` in `%s`: %s.\n\n", r.Stack, r.Cluster, r.Region, mdtext.Text(r.summary()))
	fmt.Fprintf(&b, "| missing | changed | unplanned | compared |\n|---:|---:|---:|---:|\n| %d | %d | %d | %d |\n\n",
		n[Missing], n[Changed], n[Unplanned], len(r.Compared))
	var notes bytes.Buffer
	if len(r.NotCompared) > 0 {
		notes.WriteString("<details><summary>Not compared</summary>\n\n")
		for _, o := range r.NotCompared {
			fmt.Fprintf(&notes, "- %s: %s\n", mdtext.Text(o.Reason), mdtext.Text(strings.Join(o.Items, ", ")))
		}
		notes.WriteString("\n</details>\n")
	}
	written := 0
	for _, k := range kindTitles {
		ds := r.of(k.kind)
		if len(ds) == 0 {
			continue
		}
		fmt.Fprintf(&b, "### %s\n\n| resource | type | live ID | attribute | plan | live | |\n|---|---|---|---|---|---|---|\n", k.title)
		for _, d := range ds {
			row := fmt.Sprintf("| `%s` | `%s` | %s | %s | %s | %s | %s |\n", mdtext.Cell(d.Name), mdtext.Cell(shortType(d.Type)),
				mdtext.Value(d.ID), mdtext.Value(d.Path), mdtext.Value(d.Plan), mdtext.Value(d.Live), mdtext.Cell(d.Message))
			// Room is kept for the line that says how many were left out.
			if b.Len()+len(row)+notes.Len()+200 > markdownLimit {
				fmt.Fprintf(&b, "\n…and %d more drifts, left out to fit a comment: run `kinfra drift` for the full list.\n\n", len(r.Drifts)-written)
				b.Write(notes.Bytes())
				_, _ = w.Write(b.Bytes())
				return
			}
			b.WriteString(row)
			written++
		}
		b.WriteString("\n")
	}
	b.Write(notes.Bytes())
	_, _ = w.Write(b.Bytes())
}

// of returns the drifts of one kind, in report order.
func (r *Report) of(k Kind) []Drift {
	var out []Drift
	for _, d := range r.Drifts {
		if d.Kind == k {
			out = append(out, d)
		}
	}
	return out
}
