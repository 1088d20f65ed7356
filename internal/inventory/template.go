package inventory

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/regions"
)

// Problem is a part of a CloudFormation template the reader could not
// evaluate: Path is where (Resources.Vpc.Properties.CidrBlock), Message
// why. The value is left out of the inventory.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

// FromTemplate reads a CloudFormation template (YAML, short-form tags
// included, or JSON) as the inventory it would create in region: the
// resource types the model has are mapped to it, with logical IDs as IDs;
// every other resource is listed in Unread. Intrinsic functions are
// evaluated offline: params give parameters' values (and may give
// AWS::AccountId, AWS::StackName and AWS::StackId), parameters' Defaults
// the rest. Every value that cannot be evaluated is a Problem and is left
// out; all of them are returned at once. The error is for a document that
// is not a template at all (or an unknown region).
func FromTemplate(data []byte, region string, params map[string]string) (*Inventory, []Problem, error) {
	r, err := regions.Lookup(region)
	if err != nil {
		return nil, nil, err
	}
	doc, err := parseTemplate(data)
	if err != nil {
		return nil, nil, err
	}
	rawResources, ok := doc["Resources"].(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("the template has no Resources mapping (%s)", describeResources(doc["Resources"]))
	}
	var problems []Problem
	e := newEvaluator(doc, rawResources, r, params, &problems)
	inv := &Inventory{Region: r.Name, FromTemplate: true}
	b := newTemplateBuilder(e, inv)
	for _, id := range sortedKeys(e.resources) {
		res := e.resources[id]
		if !e.created(res) {
			continue
		}
		path := "Resources." + id + ".Properties"
		var props map[string]any
		switch v := e.eval(res.Properties, path).(type) {
		case map[string]any:
			props = v
		case nil:
		default:
			if _, u := v.(unknown); !u {
				e.problem(path, "Properties is a %s, not a mapping", kindOf(v))
			}
		}
		b.add(id, res.Type, props, path)
	}
	b.finish()
	return inv, sortProblems(problems), nil
}

// sortProblems orders problems by path, without repeats: evaluation
// visits a mapping's keys in no fixed order.
func sortProblems(problems []Problem) []Problem {
	sort.SliceStable(problems, func(i, j int) bool {
		if problems[i].Path != problems[j].Path {
			return problems[i].Path < problems[j].Path
		}
		return problems[i].Message < problems[j].Message
	})
	return slices.Compact(problems)
}

// newEvaluator loads a template's parameters, mappings, conditions and
// resources for evaluation.
func newEvaluator(doc, rawResources map[string]any, r regions.Region, params map[string]string, problems *[]Problem) *evaluator {
	e := &evaluator{
		region:     r,
		params:     map[string]any{},
		missing:    map[string]string{},
		resources:  map[string]templateResource{},
		decided:    map[string]bool{},
		deciding:   map[string]bool{},
		echoing:    map[string]bool{},
		problems:   problems,
		mappings:   mappingOr(doc["Mappings"]),
		conditions: mappingOr(doc["Conditions"]),
	}
	e.loadParameters(mappingOr(doc["Parameters"]), params)
	for _, id := range sortedKeys(rawResources) {
		m, ok := rawResources[id].(map[string]any)
		typ, _ := m["Type"].(string)
		if !ok || typ == "" {
			e.problem("Resources."+id+".Type", "a resource needs a Type")
			continue
		}
		cond, _ := m["Condition"].(string)
		if _, given := m["Condition"]; given && cond == "" {
			e.problem("Resources."+id+".Condition", "a resource's Condition is a condition's name")
		}
		e.resources[id] = templateResource{Type: typ, Condition: cond, Properties: m["Properties"]}
	}
	return e
}

func describeResources(v any) string {
	if v == nil {
		return "it is missing"
	}
	return "it is a " + kindOf(v)
}

func mappingOr(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// pseudoParameters a template alone does not give; params may.
var pseudoFromParams = []string{"AWS::AccountId", "AWS::StackName", "AWS::StackId"}

// loadParameters resolves each declared parameter from params or its
// Default, and the pseudo parameters from the region.
func (e *evaluator) loadParameters(declared map[string]any, given map[string]string) {
	e.params["AWS::Region"] = e.region.Name
	e.params["AWS::Partition"] = e.region.Partition
	e.params["AWS::URLSuffix"] = regions.DNSSuffix(e.region.Partition)
	e.params["AWS::NoValue"] = noValue{}
	for _, name := range pseudoFromParams {
		e.missing[name] = "a template alone does not give it (pass it as a parameter)"
	}
	e.missing["AWS::NotificationARNs"] = "a template alone does not give it"
	for _, name := range sortedKeys(given) {
		_, isParam := declared[name]
		switch {
		case isParam:
		case slices.Contains(pseudoFromParams, name):
			e.params[name] = given[name]
			delete(e.missing, name)
		default:
			e.problem("Parameters."+name, "a value is given, but the template declares no parameter %q", name)
		}
	}
	for _, name := range sortedKeys(declared) {
		path := "Parameters." + name
		def, _ := declared[name].(map[string]any)
		typ, _ := def["Type"].(string)
		value, ok := given[name]
		if !ok {
			d, hasDefault := def["Default"]
			text, isText := e.text(d)
			switch {
			case !hasDefault:
				e.missing[name] = "the parameter has no Default and no value was given"
				continue
			case strings.HasPrefix(typ, "AWS::SSM::Parameter::"):
				e.missing[name] = fmt.Sprintf("its value is read from SSM parameter %q when the stack is deployed (pass the value as a parameter)", text)
				continue
			case !isText:
				if l, isList := d.([]any); isList {
					e.params[name] = l
					continue
				}
				e.problem(path+".Default", "a Default is a string, not a %s", kindOf(d))
				e.missing[name] = "its Default is not a string"
				continue
			}
			value = text
		}
		if allowed, ok := def["AllowedValues"].([]any); ok && !slices.ContainsFunc(allowed, func(a any) bool { s, _ := e.text(a); return s == value }) {
			e.problem(path, "%q is not one of its AllowedValues", value)
		}
		if typ == "CommaDelimitedList" || strings.HasPrefix(typ, "List<") || strings.HasPrefix(typ, "AWS::SSM::Parameter::Value<List<") {
			var l []any
			for _, s := range strings.Split(value, ",") {
				l = append(l, strings.TrimSpace(s))
			}
			e.params[name] = l
			continue
		}
		e.params[name] = value
	}
}
