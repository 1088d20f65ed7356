package findings

import (
	"fmt"
	"testing"
)

// The docs allow a Describe* wildcard: on "*" where every Describe call of
// the service is authorized only on "*" (EC2, Auto Scaling, Elastic Load
// Balancing), and on named resources anywhere. It is flagged where some
// Describe call of the service could be scoped (KMS's DescribeKey names a
// key), and every other wildcard is flagged as before.
func TestDescribeWildcardIsAllowedWhereTheDocsAllowIt(t *testing.T) {
	cases := []struct {
		action, resource string
		flagged          bool
	}{
		{"ec2:Describe*", "*", false},
		{"autoscaling:Describe*", "*", false},
		{"elasticloadbalancing:Describe*", "*", false},
		{"ec2:DescribeInstance*", "*", false},
		{"kms:Describe*", "*", true},
		{"ssm:Describe*", "*", true},
		{"kms:Describe*", "arn:aws:kms:us-east-1:123456789012:key/k", false},
		{"ec2:Get*", "*", true},
		{"ec2:*", "*", true},
		{"ec2:D*", "*", true},
		{"ec2:*Describe*", "*", true},
	}
	for _, c := range cases {
		doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Allow","Action":[%q],"Resource":%q}]}`, c.action, c.resource)
		got := policyProblems(doc)
		if flagged := len(got) > 0; flagged != c.flagged {
			t.Errorf("%s on %s: flagged %v, want %v (%q)", c.action, c.resource, flagged, c.flagged, got)
		}
	}
}
