package inventory

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/cidr"
	"github.com/kinfra-dev/kinfra/internal/regions"
)

// unknown is a value the template reader could not evaluate; the Problem
// that says why is already reported, and readers of the value skip it.
type unknown struct{}

// noValue is AWS::NoValue: the property it is given to is removed.
type noValue struct{}

// plainText is what Fn::Base64 gives: its argument, not encoded, since
// the model keeps user data decoded. It tells user data written through
// Fn::Base64 from user data written already encoded.
type plainText string

// templateResource is one entry of a template's Resources.
type templateResource struct {
	Type       string
	Condition  string
	Properties any
}

// evaluator evaluates a template's intrinsic functions offline. Refs to
// resources give their logical IDs, since nothing is deployed.
type evaluator struct {
	region    regions.Region
	params    map[string]any // resolved parameters and pseudo parameters
	missing   map[string]string
	mappings  map[string]any
	resources map[string]templateResource
	// conditions are the raw Conditions; decided their values once known.
	conditions map[string]any
	decided    map[string]bool
	deciding   map[string]bool
	// echoing are the GetAtts being resolved from a resource's properties,
	// against cycles.
	echoing  map[string]bool
	depth    int
	problems *[]Problem
}

func (e *evaluator) problem(path, format string, args ...any) {
	*e.problems = append(*e.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// eval evaluates v, found at path: intrinsic functions are applied,
// AWS::NoValue removes what it is given to, and what cannot be evaluated
// becomes unknown{} with a Problem.
func (e *evaluator) eval(v any, path string) any {
	if e.depth++; e.depth > maxTemplateDepth {
		e.depth--
		e.problem(path, "values nest more than %d deep", maxTemplateDepth)
		return unknown{}
	}
	defer func() { e.depth-- }()
	switch v := v.(type) {
	case map[string]any:
		if fn, arg, ok := intrinsic(v); ok {
			return e.call(fn, arg, path)
		}
		out := make(map[string]any, len(v))
		for k, el := range v {
			r := e.eval(el, path+"."+k)
			if _, drop := r.(noValue); !drop {
				out[k] = r
			}
		}
		return out
	case []any:
		out := make([]any, 0, len(v))
		for i, el := range v {
			r := e.eval(el, fmt.Sprintf("%s[%d]", path, i))
			if _, drop := r.(noValue); !drop {
				out = append(out, r)
			}
		}
		return out
	}
	return v
}

// intrinsic reports whether m is a function call: a mapping of one key,
// Ref or Fn::….
func intrinsic(m map[string]any) (string, any, bool) {
	if len(m) != 1 {
		return "", nil, false
	}
	for k, v := range m {
		if k == "Ref" || strings.HasPrefix(k, "Fn::") {
			return k, v, true
		}
	}
	return "", nil, false
}

func (e *evaluator) call(fn string, arg any, path string) any {
	switch fn {
	case "Ref":
		name, ok := e.eval(arg, path).(string)
		if !ok {
			return e.bad(path, fn, "takes a name")
		}
		return e.ref(name, path)
	case "Fn::GetAtt":
		return e.getAtt(arg, path)
	case "Fn::Sub":
		return e.sub(arg, path)
	case "Fn::Join":
		return e.join(arg, path)
	case "Fn::Select":
		return e.selectFn(arg, path)
	case "Fn::Split":
		return e.split(arg, path)
	case "Fn::GetAZs":
		return e.getAZs(arg, path)
	case "Fn::Base64":
		v := e.eval(arg, path)
		if _, u := v.(unknown); u {
			return v
		}
		s, ok := e.text(v)
		if !ok {
			return e.bad(path, fn, "takes a string")
		}
		return plainText(s)
	case "Fn::Cidr":
		return e.cidrFn(arg, path)
	case "Fn::FindInMap":
		return e.findInMap(arg, path)
	case "Fn::If":
		return e.ifFn(arg, path)
	case "Fn::ImportValue":
		e.problem(path, "Fn::ImportValue reads another stack's export, which a template alone does not give")
		return unknown{}
	}
	e.problem(path, "%s is not an intrinsic function the template reader evaluates (it evaluates Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select, Fn::Split, Fn::GetAZs, Fn::Base64, Fn::Cidr, Fn::FindInMap and Fn::If)", fn)
	return unknown{}
}

// bad reports a function given arguments of the wrong shape.
func (e *evaluator) bad(path, fn, want string) any {
	e.problem(path, "%s %s", fn, want)
	return unknown{}
}

// args evaluates a function's list of arguments, which must have n
// elements; ok is false (and a Problem reported) otherwise, or when one
// of them is unknown.
func (e *evaluator) args(arg any, n int, fn, want, path string) ([]any, bool) {
	l, isList := arg.([]any)
	if !isList || len(l) != n {
		e.bad(path, fn, want)
		return nil, false
	}
	out := make([]any, n)
	for i, a := range l {
		out[i] = e.eval(a, path)
		if _, u := out[i].(unknown); u {
			return nil, false
		}
	}
	return out, true
}

func (e *evaluator) ref(name, path string) any {
	if v, ok := e.params[name]; ok {
		return v
	}
	if why, ok := e.missing[name]; ok {
		e.problem(path, "Ref %s: %s", name, why)
		return unknown{}
	}
	if r, ok := e.resources[name]; ok {
		if !e.created(r) {
			e.problem(path, "Ref %s: the resource is not created (its condition %s is false)", name, r.Condition)
			return unknown{}
		}
		return name
	}
	e.problem(path, "Ref %s: no parameter, pseudo parameter or resource has that name", name)
	return unknown{}
}

// idAttributes are the attributes that are a resource's own ID: the
// template's model uses logical IDs for those, as Ref gives.
var idAttributes = map[string]string{
	"AWS::EC2::VPC":                             "VpcId",
	"AWS::EC2::Subnet":                          "SubnetId",
	"AWS::EC2::RouteTable":                      "RouteTableId",
	"AWS::EC2::InternetGateway":                 "InternetGatewayId",
	"AWS::EC2::EIP":                             "AllocationId",
	"AWS::EC2::NatGateway":                      "NatGatewayId",
	"AWS::EC2::VPCEndpoint":                     "Id",
	"AWS::EC2::SecurityGroup":                   "GroupId",
	"AWS::EC2::LaunchTemplate":                  "LaunchTemplateId",
	"AWS::EC2::FlowLog":                         "Id",
	"AWS::ElasticLoadBalancingV2::LoadBalancer": "LoadBalancerArn",
	"AWS::ElasticLoadBalancingV2::TargetGroup":  "TargetGroupArn",
	"AWS::ElasticLoadBalancingV2::Listener":     "ListenerArn",
}

// echoedAttributes are attributes that repeat one of the resource's own
// properties (a VPC's CidrBlock, a subnet's zone): GetAtt gives the
// property's value, so that !Cidr [!GetAtt Vpc.CidrBlock, …] evaluates.
var echoedAttributes = map[string]map[string]string{
	"AWS::EC2::VPC":           {"CidrBlock": "CidrBlock"},
	"AWS::EC2::Subnet":        {"AvailabilityZone": "AvailabilityZone", "CidrBlock": "CidrBlock", "VpcId": "VpcId"},
	"AWS::EC2::SecurityGroup": {"VpcId": "VpcId"},
}

// getAtt gives an ID attribute as the logical ID, an echoed attribute as
// its property's value, and any other as "<logical ID>.<attribute>".
func (e *evaluator) getAtt(arg any, path string) any {
	var res, attr string
	switch a := arg.(type) {
	case string:
		res, attr, _ = strings.Cut(a, ".")
	case []any:
		if len(a) != 2 {
			return e.bad(path, "Fn::GetAtt", "takes a resource's logical ID and an attribute")
		}
		r, ok1 := a[0].(string)
		at, ok2 := e.eval(a[1], path).(string)
		if !ok1 || !ok2 {
			return e.bad(path, "Fn::GetAtt", "takes a resource's logical ID and an attribute")
		}
		res, attr = r, at
	default:
		return e.bad(path, "Fn::GetAtt", "takes a resource's logical ID and an attribute")
	}
	r, ok := e.resources[res]
	if !ok || res == "" || attr == "" {
		e.problem(path, "Fn::GetAtt %s.%s: the template has no resource %q", res, attr, res)
		return unknown{}
	}
	if !e.created(r) {
		e.problem(path, "Fn::GetAtt %s.%s: the resource is not created (its condition %s is false)", res, attr, r.Condition)
		return unknown{}
	}
	if idAttributes[r.Type] == attr {
		return res
	}
	if prop, ok := echoedAttributes[r.Type][attr]; ok {
		key := res + "." + attr
		if e.echoing[key] {
			e.problem(path, "Fn::GetAtt %s: the attribute refers to itself", key)
			return unknown{}
		}
		e.echoing[key] = true
		defer delete(e.echoing, key)
		props, _ := r.Properties.(map[string]any)
		if v, ok := props[prop]; ok {
			return e.eval(v, path)
		}
	}
	return res + "." + attr
}

func (e *evaluator) sub(arg any, path string) any {
	var format string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		format = a
	case []any:
		if len(a) != 2 {
			return e.bad(path, "Fn::Sub", "takes a string, or a string and a mapping of variables")
		}
		f, ok1 := a[0].(string)
		m, ok2 := a[1].(map[string]any)
		if !ok1 || !ok2 {
			return e.bad(path, "Fn::Sub", "takes a string, or a string and a mapping of variables")
		}
		format = f
		for k, v := range m {
			vars[k] = e.eval(v, path)
		}
	default:
		return e.bad(path, "Fn::Sub", "takes a string, or a string and a mapping of variables")
	}
	var b strings.Builder
	known := true
	for {
		i := strings.Index(format, "${")
		if i < 0 {
			b.WriteString(format)
			break
		}
		b.WriteString(format[:i])
		end := strings.IndexByte(format[i:], '}')
		if end < 0 {
			e.problem(path, "Fn::Sub: %q opens ${ without closing it", format[i:])
			return unknown{}
		}
		name := format[i+2 : i+end]
		format = format[i+end+1:]
		if lit, ok := strings.CutPrefix(name, "!"); ok {
			b.WriteString("${" + lit + "}")
			continue
		}
		v, ok := vars[name]
		if !ok {
			if res, attr, dotted := strings.Cut(name, "."); dotted && !strings.HasPrefix(name, "AWS::") {
				v = e.getAtt([]any{res, attr}, path)
			} else {
				v = e.ref(name, path)
			}
		}
		s, ok := e.text(v)
		if !ok {
			if _, u := v.(unknown); !u {
				e.problem(path, "Fn::Sub: ${%s} is a %s, not a string", name, kindOf(v))
			}
			known = false
			continue
		}
		b.WriteString(s)
	}
	if !known {
		return unknown{}
	}
	return b.String()
}

// text is a scalar as CloudFormation writes it into a string.
func (e *evaluator) text(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case plainText:
		return string(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

func (e *evaluator) join(arg any, path string) any {
	a, ok := arg.([]any)
	if !ok || len(a) != 2 {
		return e.bad(path, "Fn::Join", "takes a delimiter and a list")
	}
	delim, ok := e.text(e.eval(a[0], path))
	if !ok {
		return e.bad(path, "Fn::Join", "takes a delimiter and a list")
	}
	list, ok := e.eval(a[1], path).([]any)
	if !ok {
		return e.bad(path, "Fn::Join", "takes a delimiter and a list")
	}
	parts := make([]string, 0, len(list))
	for _, el := range list {
		if _, u := el.(unknown); u {
			return unknown{}
		}
		s, ok := e.text(el)
		if !ok {
			return e.bad(path, "Fn::Join", "joins strings, not a "+kindOf(el))
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, delim)
}

func (e *evaluator) selectFn(arg any, path string) any {
	a, ok := arg.([]any)
	if !ok || len(a) != 2 {
		return e.bad(path, "Fn::Select", "takes an index and a list")
	}
	idx := e.eval(a[0], path)
	list, ok := e.eval(a[1], path).([]any)
	if !ok {
		return e.bad(path, "Fn::Select", "takes an index and a list")
	}
	i, ok := toInt(idx)
	if !ok {
		return e.bad(path, "Fn::Select", "takes an index and a list")
	}
	if i < 0 || i >= int64(len(list)) {
		e.problem(path, "Fn::Select: index %d is outside the list of %d", i, len(list))
		return unknown{}
	}
	return list[i]
}

func (e *evaluator) split(arg any, path string) any {
	a, ok := e.args(arg, 2, "Fn::Split", "takes a delimiter and a string", path)
	if !ok {
		return unknown{}
	}
	delim, ok1 := a[0].(string)
	s, ok2 := a[1].(string)
	if !ok1 || !ok2 || delim == "" {
		return e.bad(path, "Fn::Split", "takes a delimiter and a string")
	}
	var out []any
	for _, p := range strings.Split(s, delim) {
		out = append(out, p)
	}
	return out
}

func (e *evaluator) getAZs(arg any, path string) any {
	name, ok := e.eval(arg, path).(string)
	if !ok {
		return e.bad(path, "Fn::GetAZs", "takes a region's name or \"\"")
	}
	r := e.region
	if name != "" && name != r.Name {
		other, err := regions.Lookup(name)
		if err != nil {
			e.problem(path, "Fn::GetAZs: %v", err)
			return unknown{}
		}
		r = other
	}
	out := make([]any, 0, len(r.Zones))
	for _, z := range r.Zones {
		out = append(out, z)
	}
	return out
}

// cidrFn is Fn::Cidr [block, count, bits]: count blocks with bits host
// bits each, from the bottom of block.
func (e *evaluator) cidrFn(arg any, path string) any {
	const want = "takes an address block, a count (1 to 256) and a number of host bits"
	a, ok := e.args(arg, 3, "Fn::Cidr", want, path)
	if !ok {
		return unknown{}
	}
	block, ok1 := a[0].(string)
	count, ok2 := toInt(a[1])
	hostBits, ok3 := toInt(a[2])
	if !ok1 || !ok2 || !ok3 || count < 1 || count > 256 {
		return e.bad(path, "Fn::Cidr", want)
	}
	p, err := netip.ParsePrefix(block)
	if err != nil {
		e.problem(path, "Fn::Cidr: %q is not an address block", block)
		return unknown{}
	}
	p = p.Masked()
	bits := int64(p.Addr().BitLen()) - hostBits
	if hostBits < 0 || bits < int64(p.Bits()) {
		e.problem(path, "Fn::Cidr: blocks of %d host bits do not fit in %s", hostBits, p)
		return unknown{}
	}
	out := make([]any, 0, count)
	for i := range int(count) {
		s, err := cidr.Subnet(p, int(bits), i)
		if err != nil {
			e.problem(path, "Fn::Cidr: %s has no room for %d blocks of /%d", p, count, bits)
			return unknown{}
		}
		out = append(out, s.String())
	}
	return out
}

func (e *evaluator) findInMap(arg any, path string) any {
	a, ok := e.args(arg, 3, "Fn::FindInMap", "takes a mapping's name and two keys", path)
	if !ok {
		return unknown{}
	}
	var cur any = e.mappings
	trail := "Mappings"
	for _, k := range a {
		key, ok := e.text(k)
		m, isMap := cur.(map[string]any)
		if !ok || !isMap {
			return e.bad(path, "Fn::FindInMap", "takes a mapping's name and two keys")
		}
		if cur, ok = m[key]; !ok {
			e.problem(path, "Fn::FindInMap: %s has no key %q", trail, key)
			return unknown{}
		}
		trail += "." + key
	}
	return e.eval(cur, path)
}

func (e *evaluator) ifFn(arg any, path string) any {
	a, ok := arg.([]any)
	if !ok || len(a) != 3 {
		return e.bad(path, "Fn::If", "takes a condition's name and two values")
	}
	name, ok := a[0].(string)
	if !ok {
		return e.bad(path, "Fn::If", "takes a condition's name and two values")
	}
	v, known := e.condition(name, path)
	if !known {
		return unknown{}
	}
	if v {
		return e.eval(a[1], path)
	}
	return e.eval(a[2], path)
}

// created reports whether a resource exists: it has no condition, or its
// condition is true. An undecidable condition counts as true, so that the
// resource is still read; its Problem says why.
func (e *evaluator) created(r templateResource) bool {
	if r.Condition == "" {
		return true
	}
	v, known := e.condition(r.Condition, "Conditions."+r.Condition)
	return v || !known
}

// condition decides the named condition once; known is false when it
// cannot be decided offline.
func (e *evaluator) condition(name, path string) (value, known bool) {
	if v, ok := e.decided[name]; ok {
		return v, true
	}
	def, ok := e.conditions[name]
	if !ok {
		e.problem(path, "the template has no condition %q", name)
		return false, false
	}
	if e.deciding[name] {
		e.problem("Conditions."+name, "the condition depends on itself")
		return false, false
	}
	e.deciding[name] = true
	defer delete(e.deciding, name)
	v, known := e.decide(def, "Conditions."+name)
	if known {
		e.decided[name] = v
	}
	return v, known
}

func (e *evaluator) decide(def any, path string) (bool, bool) {
	m, ok := def.(map[string]any)
	if !ok || len(m) != 1 {
		e.problem(path, "a condition is one of Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition")
		return false, false
	}
	for fn, arg := range m {
		if fn == "Condition" {
			name, ok := arg.(string)
			if !ok {
				break
			}
			return e.condition(name, path)
		}
		list, ok := arg.([]any)
		if !ok {
			break
		}
		switch fn {
		case "Fn::Equals":
			a, ok := e.args(list, 2, fn, "takes two values", path)
			if !ok {
				return false, false
			}
			x, ok1 := e.text(a[0])
			y, ok2 := e.text(a[1])
			if !ok1 || !ok2 {
				e.problem(path, "Fn::Equals compares strings")
				return false, false
			}
			return x == y, true
		case "Fn::Not", "Fn::And", "Fn::Or":
			if len(list) == 0 || (fn == "Fn::Not" && len(list) != 1) {
				break
			}
			values := make([]bool, 0, len(list))
			for _, c := range list {
				v, known := e.decide(c, path)
				if !known {
					return false, false
				}
				values = append(values, v)
			}
			switch fn {
			case "Fn::Not":
				return !values[0], true
			case "Fn::And":
				return !slices.Contains(values, false), true
			}
			return slices.Contains(values, true), true
		}
	}
	e.problem(path, "a condition is one of Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition, with its arguments")
	return false, false
}

// toInt reads an integer given as a number or a numeric string.
func toInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case float64:
		if v == float64(int64(v)) {
			return int64(v), true
		}
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		return i, err == nil
	}
	return 0, false
}

// decodeUserData decodes user data given as base64 text (a template that
// wrote it encoded rather than through Fn::Base64).
func decodeUserData(s string) (string, bool) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	return string(b), err == nil
}
