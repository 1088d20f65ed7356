package findings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/internal/validate"
)

// UnusedAcknowledgement is the rule of the warning an acknowledgement that
// matches no finding raises: the risk it accepted is gone (or its resource
// was renamed), and a stale acceptance would silently cover the next one.
const UnusedAcknowledgement = "acknowledgements/unused"

// Acknowledgement accepts a finding in one stack, with the reason. An
// acknowledged error no longer fails the plan; the plan still shows it,
// with the reason.
type Acknowledgement struct {
	// Rule is the finding's rule ID, e.g. api/world-open.
	Rule string `json:"rule"`
	// Resource is the finding's resource: its URN or its name (the last
	// part of the URN). Empty accepts the rule's findings on every resource.
	Resource string `json:"resource,omitempty"`
	// Reason says why the risk is accepted, and by whom; required.
	Reason string `json:"reason"`
}

// ParseAcknowledgements decodes the value of kinfra:acknowledgements (a
// JSON list, as Pulumi hands objects to programs) and checks every entry:
// a known rule, a reason, no duplicates. All problems are returned at once.
func ParseAcknowledgements(raw string) ([]Acknowledgement, error) {
	acks, errs := decodeAcknowledgements(raw)
	if len(errs) > 0 {
		return nil, errs
	}
	known := map[string]bool{}
	var ids []string
	for _, r := range Rules {
		known[r.ID] = true
		ids = append(ids, r.ID)
	}
	seen := map[[2]string]int{}
	for i, a := range acks {
		path := AcknowledgementPath(i)
		switch {
		case a.Rule == "":
			errs.Addf(path+".rule", "required: the ID of the rule whose finding is accepted (%s)", strings.Join(ids, ", "))
		case !known[a.Rule]:
			errs.Addf(path+".rule", "%q is not a rule; rules are %s", a.Rule, strings.Join(ids, ", "))
		}
		if strings.TrimSpace(a.Reason) == "" {
			errs.Addf(path+".reason", "required: say why this risk is accepted and who decided, so that reviewers can judge it")
		}
		key := [2]string{a.Rule, a.Resource}
		if j, dup := seen[key]; dup {
			errs.Addf(path, "acknowledges the same rule and resource as %s[%d]; keep one", stackfile.AcknowledgementsKey, j)
		} else {
			seen[key] = i
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return acks, nil
}

// Acknowledge marks the findings the acknowledgements accept, and adds a
// warning for each acknowledgement that accepts none. The result is sorted
// as Run sorts.
func Acknowledge(fs []Finding, acks []Acknowledgement) []Finding {
	used := make([]bool, len(acks))
	out := make([]Finding, 0, len(fs))
	for _, f := range fs {
		for i, a := range acks {
			if a.Accepts(f) {
				f.Acknowledged, used[i] = a.Reason, true
				break
			}
		}
		out = append(out, f)
	}
	for i, a := range acks {
		if used[i] || judgedElsewhere[a.Rule] {
			continue
		}
		out = append(out, Finding{Rule: UnusedAcknowledgement, Severity: Warning, Resource: AcknowledgementPath(i),
			Message: fmt.Sprintf("acknowledges %s on %s, but the plan has no such finding; remove it, or fix its resource if the resource was renamed", a.Rule, a.On("any resource"))})
	}
	sortFindings(out)
	return out
}

// AcknowledgementPath is where the i-th acknowledgement is in the stack
// file.
func AcknowledgementPath(i int) string {
	return fmt.Sprintf("%s[%d]", stackfile.AcknowledgementsKey, i)
}

// On is what the acknowledgement covers: its resource, or anything (such
// as "any resource") when it names none.
func (a Acknowledgement) On(anything string) string {
	if a.Resource == "" {
		return anything
	}
	return a.Resource
}

// Accepts reports whether the acknowledgement accepts the finding: the same
// rule, on any resource or on the finding's (by URN or name).
func (a Acknowledgement) Accepts(f Finding) bool {
	return a.Rule == f.Rule && (a.Resource == "" || a.Resource == f.Resource || a.Resource == urnName(f.Resource))
}

// judgedElsewhere are the rules a report judges instead of Run.
var judgedElsewhere = func() map[string]bool {
	m := map[string]bool{}
	for _, r := range Rules {
		if r.JudgedBy != "" {
			m[r.ID] = true
		}
	}
	return m
}()

// urnName is the name part of a URN (after the last "::").
func urnName(urn string) string {
	if i := strings.LastIndex(urn, "::"); i >= 0 {
		return urn[i+2:]
	}
	return urn
}

// decodeAcknowledgements reads the list strictly, describing what is wrong
// in the stack's terms rather than the JSON decoder's.
func decodeAcknowledgements(raw string) ([]Acknowledgement, validate.Errors) {
	var errs validate.Errors
	var v any
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		errs.Addf(stackfile.AcknowledgementsKey, "is not valid JSON; write a YAML list of {rule, resource, reason}")
		return nil, errs
	}
	list, ok := v.([]any)
	if !ok {
		errs.Addf(stackfile.AcknowledgementsKey, "%s is not a list of {rule, resource, reason}", describe(v))
		return nil, errs
	}
	acks := make([]Acknowledgement, len(list))
	for i, e := range list {
		path := AcknowledgementPath(i)
		obj, ok := e.(map[string]any)
		if !ok {
			errs.Addf(path, "%s is not an object {rule, resource, reason}", describe(e))
			continue
		}
		fields := map[string]*string{"rule": &acks[i].Rule, "resource": &acks[i].Resource, "reason": &acks[i].Reason}
		for _, k := range validate.SortedKeys(obj) {
			field, known := fields[k]
			switch s, isString := obj[k].(string); {
			case !known:
				errs.Addf(path+"."+k, "unknown field; an acknowledgement takes reason, resource or rule")
			case obj[k] == nil:
			case !isString:
				errs.Addf(path+"."+k, "%s is not a string; quote it", describe(obj[k]))
			default:
				*field = s
			}
		}
	}
	return acks, errs
}

func describe(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("%q", validate.Shorten(v))
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return validate.Shorten(fmt.Sprint(v))
}
