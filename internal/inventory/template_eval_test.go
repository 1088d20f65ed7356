package inventory

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/regions"
)

// evalTemplate is the frame the intrinsic-function tests evaluate their
// expression in: parameters, a mapping, conditions and a few resources.
const evalTemplate = `
Parameters:
  Name: {Type: String, Default: legacy}
  Size: {Type: Number, Default: 3}
  Zones: {Type: CommaDelimitedList, Default: "us-east-1a, us-east-1b"}
  NoDefault: {Type: String}
  Image: {Type: "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>", Default: /aws/service/ami}
Mappings:
  Sizes:
    us-east-1: {Master: m6i.xlarge, Count: 3}
Conditions:
  IsLegacy: !Equals [!Ref Name, legacy]
  IsOther: !Not [!Condition IsLegacy]
  Both: !And [!Condition IsLegacy, !Equals [!Ref Size, "3"]]
  Either: !Or [!Condition IsOther, !Equals [a, a]]
  Loop: !Not [!Condition Loop]
  Unknowable: !Equals [!Ref NoDefault, x]
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.20.0.0/16}
  Sub:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: !Select [1, !Cidr [!GetAtt Vpc.CidrBlock, 4, 12]], AvailabilityZone: us-east-1b}
  Eip:
    Type: AWS::EC2::EIP
  Skipped:
    Type: AWS::EC2::EIP
    Condition: IsOther
  X:
    Type: AWS::IAM::Role
    Properties:
      V: %s
`

// eval evaluates expr (YAML) as a property of the frame, with params.
func eval(t *testing.T, expr string, params map[string]string) (any, []Problem) {
	t.Helper()
	doc, err := parseTemplate([]byte(fmt.Sprintf(evalTemplate, expr)))
	require.NoError(t, err)
	r, err := regions.Lookup("us-east-1")
	require.NoError(t, err)
	var problems []Problem
	e := newEvaluator(doc, doc["Resources"].(map[string]any), r, params, &problems)
	props := doc["Resources"].(map[string]any)["X"].(map[string]any)["Properties"].(map[string]any)
	v := e.eval(props["V"], "Resources.X.Properties.V")
	return v, sortProblems(problems)
}

func TestIntrinsicFunctions(t *testing.T) {
	usEast1, err := regions.Lookup("us-east-1")
	require.NoError(t, err)
	euWest1, err := regions.Lookup("eu-west-1")
	require.NoError(t, err)
	zones := func(r regions.Region) []any {
		var out []any
		for _, z := range r.Zones {
			out = append(out, z)
		}
		return out
	}
	for _, c := range []struct {
		name, expr string
		params     map[string]string
		want       any
	}{
		{"Ref a parameter's Default", "!Ref Name", nil, "legacy"},
		{"Ref a parameter given", "!Ref Name", map[string]string{"Name": "prod"}, "prod"},
		{"Ref a number parameter", "!Ref Size", nil, "3"},
		{"Ref a list parameter", "!Ref Zones", nil, []any{"us-east-1a", "us-east-1b"}},
		{"Ref a resource", "!Ref Vpc", nil, "Vpc"},
		{"Ref long form", "{Ref: Vpc}", nil, "Vpc"},
		{"Ref AWS::Region", "!Ref AWS::Region", nil, "us-east-1"},
		{"Ref AWS::Partition", "!Ref AWS::Partition", nil, "aws"},
		{"Ref AWS::URLSuffix", "!Ref AWS::URLSuffix", nil, "amazonaws.com"},
		{"Ref AWS::AccountId given", "!Ref AWS::AccountId", map[string]string{"AWS::AccountId": "111122223333"}, "111122223333"},
		{"Ref an SSM parameter given", "!Ref Image", map[string]string{"Image": "ami-1"}, "ami-1"},
		{"AWS::NoValue removes the key", "{A: 1, B: !Ref AWS::NoValue}", nil, map[string]any{"A": int64(1)}},
		{"AWS::NoValue removes the element", "[1, !Ref AWS::NoValue, 2]", nil, []any{int64(1), int64(2)}},
		{"GetAtt an ID attribute", "!GetAtt Eip.AllocationId", nil, "Eip"},
		{"GetAtt another attribute", "!GetAtt Eip.PublicIp", nil, "Eip.PublicIp"},
		{"GetAtt list form", "{'Fn::GetAtt': [Vpc, VpcId]}", nil, "Vpc"},
		{"GetAtt an attribute that echoes a property", "!GetAtt Vpc.CidrBlock", nil, "10.20.0.0/16"},
		{"GetAtt echoes through functions", "!GetAtt Sub.CidrBlock", nil, "10.20.16.0/20"},
		{"GetAtt an attribute with dots", "!GetAtt Eip.A.B", nil, "Eip.A.B"},
		{"Sub parameters, resources, attributes, pseudo parameters", "!Sub '${Name}-${Vpc}-${Eip.AllocationId}-${Eip.PublicIp}-${AWS::Region}'", nil, "legacy-Vpc-Eip-Eip.PublicIp-us-east-1"},
		{"Sub keeps ${!Literal}", "!Sub 'echo ${!HOME} ${Name}'", nil, "echo ${HOME} legacy"},
		{"Sub with variables", "!Sub ['${A}-${Name}-${N}', {A: !Ref Vpc, N: 7}]", nil, "Vpc-legacy-7"},
		{"Sub without variables", "!Sub plain", nil, "plain"},
		{"Join", "!Join [',', [a, !Ref Name, 3, true]]", nil, "a,legacy,3,true"},
		{"Join a function's list", "!Join ['', !Ref Zones]", nil, "us-east-1aus-east-1b"},
		{"Join nothing", "!Join ['-', []]", nil, ""},
		{"Select", "!Select [1, [a, b, c]]", nil, "b"},
		{"Select with a string index", "!Select ['2', [a, b, c]]", nil, "c"},
		{"GetAZs of the region", "!GetAZs ''", nil, zones(usEast1)},
		{"GetAZs of AWS::Region", "!GetAZs {Ref: 'AWS::Region'}", nil, zones(usEast1)},
		{"GetAZs of another region", "!GetAZs eu-west-1", nil, zones(euWest1)},
		{"Select a zone", "!Select [2, !GetAZs '']", nil, "us-east-1c"},
		{"Split", "!Split [',', 'a,b,,c']", nil, []any{"a", "b", "", "c"}},
		{"Base64 keeps the text", "!Base64 'echo ${x}'", nil, plainText("echo ${x}")},
		{"Base64 of Sub", "{'Fn::Base64': !Sub 'cluster=${Name}'}", nil, plainText("cluster=legacy")},
		{"Cidr", "!Cidr [10.0.0.0/16, 3, 8]", nil, []any{"10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"}},
		{"Cidr of a VPC's block", "!Cidr [!GetAtt Vpc.CidrBlock, 2, 14]", nil, []any{"10.20.0.0/18", "10.20.64.0/18"}},
		{"Cidr IPv6", "!Cidr ['2600:1f18::/56', 2, 64]", nil, []any{"2600:1f18::/64", "2600:1f18:0:1::/64"}},
		{"FindInMap", "!FindInMap [Sizes, !Ref AWS::Region, Master]", nil, "m6i.xlarge"},
		{"FindInMap a number", "!FindInMap [Sizes, us-east-1, Count]", nil, int64(3)},
		{"If true", "!If [IsLegacy, yes, no]", nil, "yes"},
		{"If false", "!If [IsLegacy, yes, no]", map[string]string{"Name": "prod"}, "no"},
		{"If Not", "!If [IsOther, yes, no]", nil, "no"},
		{"If And", "!If [Both, yes, no]", nil, "yes"},
		{"If And false", "!If [Both, yes, no]", map[string]string{"Size": "4"}, "no"},
		{"If Or", "!If [Either, yes, no]", nil, "yes"},
		{"If to AWS::NoValue", "{A: !If [IsOther, x, !Ref AWS::NoValue]}", nil, map[string]any{}},
		{"nested", "!Join ['/', [!Select [0, !Split ['-', !Sub '${Name}-x']], !Select [0, !GetAZs '']]]", nil, "legacy/us-east-1a"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, problems := eval(t, c.expr, c.params)
			require.Empty(t, problems)
			require.Equal(t, c.want, got)
		})
	}
}

// What cannot be evaluated is a Problem at the property's path, naming
// what and why; the value is unknown, and nothing panics.
func TestIntrinsicProblems(t *testing.T) {
	for _, c := range []struct {
		name, expr string
		params     map[string]string
		want       string
	}{
		{"unknown parameter", "!Ref Nope", nil, "Ref Nope: no parameter, pseudo parameter or resource has that name"},
		{"parameter without a value", "!Ref NoDefault", nil, "Ref NoDefault: the parameter has no Default and no value was given"},
		{"SSM parameter", "!Ref Image", nil, `its value is read from SSM parameter "/aws/service/ami" when the stack is deployed`},
		{"account ID", "!Ref AWS::AccountId", nil, "Ref AWS::AccountId: a template alone does not give it"},
		{"unsupported function", "{'Fn::Length': [1, 2]}", nil, "Fn::Length is not an intrinsic function the template reader evaluates"},
		{"unsupported short form", "!ToJsonString {a: b}", nil, "Fn::ToJsonString is not an intrinsic function"},
		{"ImportValue", "!ImportValue shared-vpc", nil, "Fn::ImportValue reads another stack's export"},
		{"GetAtt of no resource", "!GetAtt Nope.Arn", nil, `Fn::GetAtt Nope.Arn: the template has no resource "Nope"`},
		{"GetAtt malformed", "{'Fn::GetAtt': [a, b, c]}", nil, "Fn::GetAtt takes a resource's logical ID and an attribute"},
		{"Sub of an unknown name", "!Sub '${Nope}-x'", nil, "Ref Nope: no parameter"},
		{"Sub unterminated", "!Sub 'a ${Name'", nil, "Fn::Sub: \"${Name\" opens ${ without closing it"},
		{"Sub of a list", "!Sub '${Zones}'", nil, "Fn::Sub: ${Zones} is a list, not a string"},
		{"Select out of range", "!Select [3, [a, b, c]]", nil, "Fn::Select: index 3 is outside the list of 3"},
		{"Select negative", "!Select [-1, [a]]", nil, "Fn::Select: index -1 is outside the list of 1"},
		{"Select of no list", "!Select [0, abc]", nil, "Fn::Select takes an index and a list"},
		{"Join of a mapping", "!Join [',', [{a: b}]]", nil, "Fn::Join joins strings, not a mapping"},
		{"GetAZs of an unknown region", "!GetAZs mars-north-1", nil, "Fn::GetAZs: "},
		{"Cidr too many", "!Cidr [10.0.0.0/24, 4, 7]", nil, "Fn::Cidr: 10.0.0.0/24 has no room for 4 blocks of /25"},
		{"Cidr too large", "!Cidr [10.0.0.0/24, 1, 9]", nil, "Fn::Cidr: blocks of 9 host bits do not fit in 10.0.0.0/24"},
		{"Cidr count", "!Cidr [10.0.0.0/16, 257, 8]", nil, "Fn::Cidr takes an address block, a count (1 to 256)"},
		{"Cidr of no block", "!Cidr [ten, 1, 8]", nil, `Fn::Cidr: "ten" is not an address block`},
		{"FindInMap missing key", "!FindInMap [Sizes, eu-west-1, Master]", nil, `Fn::FindInMap: Mappings.Sizes has no key "eu-west-1"`},
		{"If of no condition", "!If [Nope, a, b]", nil, `the template has no condition "Nope"`},
		{"condition on itself", "!If [Loop, a, b]", nil, "the condition depends on itself"},
		{"condition on an unknown value", "!If [Unknowable, a, b]", nil, "Ref NoDefault: the parameter has no Default"},
		{"Ref a resource not created", "!Ref Skipped", nil, "Ref Skipped: the resource is not created (its condition IsOther is false)"},
		{"Base64 of a list", "!Base64 [a]", nil, "Fn::Base64 takes a string"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, problems := eval(t, c.expr, c.params)
			require.Equal(t, unknown{}, got)
			require.NotEmpty(t, problems)
			var messages []string
			for _, p := range problems {
				require.True(t, strings.HasPrefix(p.Path, "Resources.X.Properties.V") || strings.HasPrefix(p.Path, "Conditions."), p.Path)
				messages = append(messages, p.Message)
			}
			require.Contains(t, strings.Join(messages, "\n"), c.want)
		})
	}
}

// An unknown value inside a mapping or list stays unknown there (its
// readers skip it), and the rest evaluates.
func TestUnknownValuesStayInPlace(t *testing.T) {
	got, problems := eval(t, "{A: !Ref Nope, B: [x, !Ref Nope2], C: ok}", nil)
	require.Equal(t, map[string]any{"A": unknown{}, "B": []any{"x", unknown{}}, "C": "ok"}, got)
	require.Equal(t, []Problem{
		{Path: "Resources.X.Properties.V.A", Message: "Ref Nope: no parameter, pseudo parameter or resource has that name"},
		{Path: "Resources.X.Properties.V.B[1]", Message: "Ref Nope2: no parameter, pseudo parameter or resource has that name"},
	}, problems)
}
