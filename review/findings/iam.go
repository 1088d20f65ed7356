package findings

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// Resources whose inputs hold identity policies (what a role, user or group
// may do). Trust and resource policies (KMS key policies, queue policies)
// name a Principal, and their "*" means the resource itself.
var policyInputs = map[string]string{
	"aws:iam/policy:Policy":           "policy",
	"aws:iam/rolePolicy:RolePolicy":   "policy",
	"aws:iam/userPolicy:UserPolicy":   "policy",
	"aws:iam/groupPolicy:GroupPolicy": "policy",
}

// onlyStarActions are the actions IAM authorizes only on Resource "*": they
// have no resource type and no condition that narrows them (the Service
// Authorization Reference lists no resource for them). Describe calls of
// these services are all of that kind.
var (
	onlyStarDescribeServices = map[string]bool{"ec2": true, "autoscaling": true, "elasticloadbalancing": true}
	onlyStarActions          = map[string]bool{
		"ecr:GetAuthorizationToken":                    true,
		"ec2:GetInstanceTypesFromInstanceRequirements": true,
		"sts:GetCallerIdentity":                        true,
		"ssm:DescribeParameters":                       true,
		"kms:ListKeys":                                 true,
		"kms:ListAliases":                              true,
		"route53:ListHostedZones":                      true,
		"s3:ListAllMyBuckets":                          true,
		"sqs:ListQueues":                               true,
		"cloudwatch:GetMetricData":                     true,
		"cloudwatch:ListMetrics":                       true,
		"tag:GetResources":                             true,
		"iam:ListRoles":                                true,
	}
	// conditionScoped are actions IAM authorizes only on Resource "*" but
	// narrows by a condition key; on "*" they need that condition.
	conditionScoped = map[string]string{
		"cloudwatch:PutMetricData": "cloudwatch:namespace",
	}
	// broadManagedPolicies are AWS-managed policies that grant every action
	// of one service or more.
	broadManagedPolicies = []string{"AdministratorAccess", "PowerUserAccess", "IAMFullAccess"}
)

// onlyStar reports whether IAM authorizes action only on Resource "*".
func onlyStar(action string) bool {
	service, verb, ok := strings.Cut(action, ":")
	if !ok {
		return false
	}
	// A Describe* wildcard of these services matches only such calls.
	if onlyStarDescribeServices[service] && strings.HasPrefix(verb, "Describe") {
		return true
	}
	return onlyStarActions[action]
}

// policyStatement is a statement as IAM reads it: Action, NotAction and
// Resource may each be a string or a list.
type policyStatement struct {
	Sid       string          `json:"Sid"`
	Effect    string          `json:"Effect"`
	Principal json.RawMessage `json:"Principal"`
	Action    stringOrList    `json:"Action"`
	NotAction stringOrList    `json:"NotAction"`
	Resource  stringOrList    `json:"Resource"`
	Condition json.RawMessage `json:"Condition"`
}

// scopingOperators are the condition operators that limit a request to
// the values they list (a missing key does not match them).
var scopingOperators = []string{"StringEquals", "StringLike", "StringEqualsIgnoreCase"}

// conditions reports whether the statement limits key to listed values.
func (s policyStatement) conditions(key string) bool {
	var c map[string]map[string]json.RawMessage
	if json.Unmarshal(s.Condition, &c) != nil {
		return false
	}
	for _, op := range scopingOperators {
		if _, ok := c[op][key]; ok {
			return true
		}
	}
	return false
}

type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	err := json.Unmarshal(b, &many)
	*s = many
	return err
}

// iamWildcard flags identity policies that allow every action (or every
// action of a service), allow by NotAction, or allow actions that IAM can
// scope on Resource "*" with no condition; and attachments of AWS-managed
// policies that grant whole services.
func iamWildcard(rs []mockaws.Resource) []Finding {
	var out []Finding
	types := make([]string, 0, len(policyInputs))
	for t := range policyInputs {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, typ := range types {
		for _, r := range mockaws.OfType(rs, typ) {
			doc, ok := r.Inputs[policyInputs[typ]].(string)
			if !ok {
				continue // not known offline
			}
			for _, msg := range policyProblems(doc) {
				out = append(out, Finding{Resource: r.URN, Message: msg})
			}
		}
	}
	for _, r := range mockaws.OfType(rs, "aws:iam/role:Role") {
		for _, raw := range mockaws.List(r.Inputs["inlinePolicies"]) {
			if doc, ok := mockaws.Object(raw)["policy"].(string); ok {
				for _, msg := range policyProblems(doc) {
					out = append(out, Finding{Resource: r.URN, Message: "inline policy " + mockaws.Str(mockaws.Object(raw)["name"]) + ": " + msg})
				}
			}
		}
	}
	for _, typ := range []string{"aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/userPolicyAttachment:UserPolicyAttachment", "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"} {
		for _, r := range mockaws.OfType(rs, typ) {
			arn := mockaws.Str(r.Inputs["policyArn"])
			name := arn[strings.LastIndex(arn, "/")+1:]
			if strings.Contains(arn, ":iam::aws:policy/") && (strings.HasSuffix(name, "FullAccess") || slices.Contains(broadManagedPolicies, name)) {
				out = append(out, Finding{Resource: r.URN, Message: fmt.Sprintf("attaches the AWS-managed policy %s, which allows every action of one or more services; write a policy with the actions the role needs", name)})
			}
		}
	}
	return out
}

// policyProblems lists what is too broad in a policy document.
func policyProblems(doc string) []string {
	var d struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return []string{fmt.Sprintf("the policy is not valid JSON (%v), so IAM would refuse it", err)}
	}
	var statements []policyStatement
	if err := json.Unmarshal(d.Statement, &statements); err != nil {
		var one policyStatement
		if err := json.Unmarshal(d.Statement, &one); err != nil {
			return []string{"the policy's Statement is neither a statement nor a list of them"}
		}
		statements = []policyStatement{one}
	}
	var out []string
	for i, s := range statements {
		if s.Effect != "Allow" || len(s.Principal) > 0 {
			continue
		}
		name := s.Sid
		if name == "" {
			name = fmt.Sprintf("#%d", i)
		}
		if len(s.NotAction) > 0 {
			out = append(out, fmt.Sprintf("statement %s allows by NotAction, which allows every action not listed, including those added to AWS later; list the allowed actions in Action", name))
		}
		var wild, scopable, unconditioned []string
		for _, a := range s.Action {
			_, verb, _ := strings.Cut(a, ":")
			switch {
			case a == "*" || verb == "*":
				wild = append(wild, a)
			case strings.Contains(verb, "*") && !strings.HasPrefix(verb, "Describe"):
				wild = append(wild, a)
			case conditionScoped[a] != "":
				if slices.Contains(s.Resource, "*") && !s.conditions(conditionScoped[a]) {
					unconditioned = append(unconditioned, a+" (by "+conditionScoped[a]+")")
				}
			case !onlyStar(a):
				scopable = append(scopable, a)
			}
		}
		if len(unconditioned) > 0 {
			out = append(out, fmt.Sprintf("statement %s allows %s on every resource without the condition that scopes it; add the condition", name, strings.Join(unconditioned, ", ")))
		}
		if len(wild) > 0 {
			out = append(out, fmt.Sprintf("statement %s allows %s: every matching action, present and future; list the actions the role calls", name, strings.Join(wild, ", ")))
		}
		if slices.Contains(s.Resource, "*") && len(s.Condition) == 0 && len(scopable) > 0 {
			out = append(out, fmt.Sprintf("statement %s allows %s on every resource (\"*\") with no condition, though IAM can scope them; name the resources by ARN, or add a condition on tags or the VPC", name, strings.Join(scopable, ", ")))
		}
	}
	return out
}

// accessKeys flags every IAM access key: its secret never expires, is kept
// in the Pulumi state, and is handed to whatever uses it. kinfra's
// controllers use instance roles or a role assumed with a service-account
// token (docs/addons.md), whose credentials expire.
func accessKeys(rs []mockaws.Resource) []Finding {
	var out []Finding
	for _, r := range mockaws.OfType(rs, "aws:iam/accessKey:AccessKey") {
		user := mockaws.Str(r.Inputs["user"])
		if user == "" {
			user = "its user"
		}
		out = append(out, Finding{Resource: r.URN, Message: fmt.Sprintf("creates an access key for IAM user %s: a credential that never expires, stored in the Pulumi state and in what it is given to; give the workload a role instead (an instance role, or a role its service account assumes with its token, as the EBS CSI controller does)", user)})
	}
	return out
}
