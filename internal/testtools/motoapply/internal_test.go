package motoapply

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// IPv6 CIDRs carved from the mock VPC's /56 land at the same offset in
// moto's; anything else is left alone.
func TestRebaseIPv6MovesOnlyCIDRsInsideAMockVPCBlock(t *testing.T) {
	a := &applier{ipv6: map[netip.Prefix]netip.Prefix{
		netip.MustParsePrefix("2600:1f18:d55f:bf00::/56"): netip.MustParsePrefix("2400:6500:ab12:cd00::/56"),
	}}
	for in, want := range map[string]string{
		"2600:1f18:d55f:bf00::/56":   "2400:6500:ab12:cd00::/56",   // the block itself
		"2600:1f18:d55f:bf10::/64":   "2400:6500:ab12:cd10::/64",   // a subnet
		"2600:1f18:d55f:bfff::/64":   "2400:6500:ab12:cdff::/64",   // the last subnet
		"2600:1f18:d55f:bf01::5/128": "2400:6500:ab12:cd01::5/128", // one address
		"2600:1f18:d55f:be00::/56":   "2600:1f18:d55f:be00::/56",   // the neighbouring block
		"2600:1f18:d55f::/48":        "2600:1f18:d55f::/48",        // wider than the block
		"::/0":                       "::/0",
		"10.40.0.0/16":               "10.40.0.0/16",
		"sg-0123":                    "sg-0123",
	} {
		require.Equal(t, want, a.rebaseIPv6(in), in)
	}
}

func TestTranslateReplacesReferencesAtAnyDepth(t *testing.T) {
	a := &applier{live: map[string]string{"subnet-mock": "subnet-live", "arn:mock": "arn:live"}}
	got := a.translate(map[string]any{
		"subnetId": "subnet-mock", "n": 3.0, "flag": true,
		"list":   []any{"subnet-mock", "subnet-other"},
		"nested": map[string]any{"targetGroupArn": "arn:mock"},
	})
	require.Equal(t, map[string]any{
		"subnetId": "subnet-live", "n": 3.0, "flag": true,
		"list":   []any{"subnet-live", "subnet-other"},
		"nested": map[string]any{"targetGroupArn": "arn:live"},
	}, got)
}

func res(typ, name, id string, inputs map[string]any, deps ...string) mockaws.Resource {
	return mockaws.Resource{URN: "urn:" + name, Type: typ, Name: name, ID: id, Inputs: inputs, Options: mockaws.Options{Dependencies: deps}}
}

// A resource comes after what its inputs or dependencies name, whatever
// the plan's (URN) order; types not applied are left out.
func TestCreateOrderPutsEachResourceAfterWhatItNames(t *testing.T) {
	order, err := createOrder([]mockaws.Resource{
		res("aws:ec2/route:Route", "a-route", "", map[string]any{"routeTableId": "rtb-1", "natGatewayId": "nat-1"}),
		res("aws:ec2/natGateway:NatGateway", "b-nat", "nat-1", map[string]any{"subnetId": "subnet-1"}),
		res("aws:iam/role:Role", "c-role", "role-1", nil),
		res("aws:ec2/routeTable:RouteTable", "d-rtb", "rtb-1", map[string]any{"vpcId": "vpc-1"}),
		res("aws:ec2/subnet:Subnet", "e-subnet", "subnet-1", map[string]any{"vpcId": "vpc-1"}, "urn:c-role"),
		res("aws:ec2/vpc:Vpc", "f-vpc", "vpc-1", nil),
		res("aws:ec2/flowLog:FlowLog", "g-flow", "fl-1", nil, "urn:f-vpc"),
	})
	require.NoError(t, err)
	at := map[string]int{}
	for i, r := range order {
		at[r.Name] = i
	}
	require.Len(t, order, 6, "the role is not applied")
	require.NotContains(t, at, "c-role")
	for before, after := range map[string][]string{
		"f-vpc":    {"d-rtb", "e-subnet", "g-flow"},
		"e-subnet": {"b-nat"},
		"b-nat":    {"a-route"},
		"d-rtb":    {"a-route"},
	} {
		for _, a := range after {
			require.Less(t, at[before], at[a], "%s before %s", before, a)
		}
	}
}

func TestCreateOrderRefusesACycle(t *testing.T) {
	_, err := createOrder([]mockaws.Resource{
		res("aws:ec2/vpc:Vpc", "vpc", "vpc-1", nil),
		res("aws:ec2/securityGroup:SecurityGroup", "a", "sg-a", map[string]any{"vpcId": "vpc-1"}, "urn:b"),
		res("aws:ec2/securityGroup:SecurityGroup", "b", "sg-b", map[string]any{"vpcId": "vpc-1"}, "urn:a"),
	})
	require.EqualError(t, err, "the plan's resources depend on each other in a cycle: urn:a, urn:b")
}

// An input no create reads, or one the plan did not know, is an error,
// never a silent difference between the plan and the account.
func TestUnreadAndUnknownInputsAreReported(t *testing.T) {
	in := newInputs(map[string]any{
		"cidrBlock": "10.0.0.0/16", "userData": mockaws.Unknown, "extra": 1.0,
		"ebs": map[string]any{"volumeSize": 8.0, "kmsKeyId": "k"},
	})
	in.str("cidrBlock")
	in.str("userData")
	in.object("ebs").num("volumeSize")
	require.Equal(t, []string{"ebs.kmsKeyId", "extra", "userData ([unknown] in the plan)"}, in.unread())
}
