package mockaws_test

import (
	"encoding/json"

	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

type comp struct{ pulumi.ResourceState }

// The harness is what every safety assertion relies on, so it is proven to
// record the options exactly as the program set them.
func TestRecordsParentsInputsAndRegistrationOptions(t *testing.T) {
	m := mockaws.New("eu-west-1")
	err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		c := &comp{}
		if err := ctx.RegisterComponentResource("kinfra:test:Thing", "thing", c); err != nil {
			return err
		}
		vpc, err := ec2.NewVpc(ctx, "thing-vpc", &ec2.VpcArgs{CidrBlock: pulumi.String("10.0.0.0/16")}, pulumi.Parent(c))
		if err != nil {
			return err
		}
		_, err = ec2.NewSubnet(ctx, "thing-data", &ec2.SubnetArgs{
			VpcId: pulumi.String("vpc-0123456789abcdef0"), CidrBlock: pulumi.String("10.0.0.0/24"), MapPublicIpOnLaunch: pulumi.Bool(false),
			Tags: pulumi.StringMap{"name": pulumi.String("data")},
		}, pulumi.Parent(c), pulumi.Protect(true), pulumi.RetainOnDelete(true),
			pulumi.IgnoreChanges([]string{"snapshotId"}), pulumi.DeleteBeforeReplace(true),
			pulumi.DependsOn([]pulumi.Resource{vpc}), pulumi.Import(pulumi.ID("subnet-0123456789abcdef0")))
		return err
	})
	require.NoError(t, err)

	thing, ok := m.Named("kinfra:test:Thing", "thing")
	require.True(t, ok)
	require.False(t, thing.Custom)
	vpc, _ := m.Named("aws:ec2/vpc:Vpc", "thing-vpc")
	require.Regexp(t, `^vpc-[0-9a-f]{17}$`, vpc.ID)
	require.Equal(t, thing.URN, vpc.Parent)
	require.Equal(t, "urn:pulumi:test::kinfra::kinfra:test:Thing$aws:ec2/vpc:Vpc::thing-vpc", vpc.URN)
	require.Equal(t, mockaws.Options{IgnoreChanges: []string{}, DependsOn: []string{}, Dependencies: []string{}}, vpc.Options)

	vol, _ := m.Named("aws:ec2/subnet:Subnet", "thing-data")
	require.Equal(t, mockaws.Options{
		Protect: true, RetainOnDelete: true, IgnoreChanges: []string{"snapshotId"}, DeleteBeforeReplace: true,
		DependsOn: []string{vpc.URN}, Dependencies: []string{vpc.URN}, Import: "subnet-0123456789abcdef0",
	}, vol.Options)
	require.Equal(t, "subnet-0123456789abcdef0", vol.ID, "an imported resource keeps its ID")
	require.Equal(t, false, vol.Inputs["mapPublicIpOnLaunch"])
	require.Equal(t, "10.0.0.0/24", vol.Inputs["cidrBlock"])
}

func TestDependenciesSeparateExplicitFromImplied(t *testing.T) {
	m := mockaws.New("eu-west-1")
	require.NoError(t, m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		vpc, err := ec2.NewVpc(ctx, "v", &ec2.VpcArgs{CidrBlock: pulumi.String("10.0.0.0/16")})
		if err != nil {
			return err
		}
		igw, err := ec2.NewInternetGateway(ctx, "g", &ec2.InternetGatewayArgs{VpcId: vpc.ID()})
		if err != nil {
			return err
		}
		_, err = ec2.NewSubnet(ctx, "s", &ec2.SubnetArgs{VpcId: vpc.ID(), CidrBlock: pulumi.String("10.0.0.0/24")},
			pulumi.DependsOn([]pulumi.Resource{igw}))
		return err
	}))
	vpc, _ := m.Named("aws:ec2/vpc:Vpc", "v")
	igw, _ := m.Named("aws:ec2/internetGateway:InternetGateway", "g")
	s, _ := m.Named("aws:ec2/subnet:Subnet", "s")
	require.Equal(t, []string{igw.URN}, s.Options.DependsOn, "only the explicit one")
	require.ElementsMatch(t, []string{igw.URN, vpc.URN}, s.Options.Dependencies, "the engine waits for both")
	require.Equal(t, []string{vpc.URN}, igw.Options.Dependencies)
	require.Empty(t, igw.Options.DependsOn)
}

func TestIDsAreStableAcrossRuns(t *testing.T) {
	ids := func() string {
		m := mockaws.New("eu-west-1")
		require.NoError(t, m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
			_, err := ec2.NewVpc(ctx, "v", &ec2.VpcArgs{CidrBlock: pulumi.String("10.0.0.0/16")})
			return err
		}))
		return m.Resources()[0].ID
	}
	require.Equal(t, ids(), ids())
}

func TestInvokesAreAnsweredFromTheOfflineAccount(t *testing.T) {
	m := mockaws.New("ap-southeast-2")
	m.Account.Zones = []string{"ap-southeast-2a", "ap-southeast-2b", "ap-southeast-2c"}
	var zones []string
	var account, partition, region string
	require.NoError(t, m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		az, err := aws.GetAvailabilityZones(ctx, nil)
		if err != nil {
			return err
		}
		id, err := aws.GetCallerIdentity(ctx, nil)
		if err != nil {
			return err
		}
		p, err := aws.GetPartition(ctx, nil)
		if err != nil {
			return err
		}
		r, err := aws.GetRegion(ctx, nil)
		if err != nil {
			return err
		}
		ami, err := ec2.LookupAmi(ctx, &ec2.LookupAmiArgs{Owners: []string{"self"}, Filters: []ec2.GetAmiFilter{{Name: "name", Values: []string{"kinfra-node-*"}}}})
		if err != nil {
			return err
		}
		require.Regexp(t, `^ami-[0-9a-f]{17}$`, ami.Id)
		zones, account, partition, region = az.Names, id.AccountId, p.Partition, r.Name
		return nil
	}))
	require.Equal(t, []string{"ap-southeast-2a", "ap-southeast-2b", "ap-southeast-2c"}, zones)
	require.Equal(t, "123456789012", account)
	require.Equal(t, "aws", partition)
	require.Equal(t, "ap-southeast-2", region)
	require.Len(t, m.Invokes(), 5)
}

func TestUnknownInvokesFailLoudly(t *testing.T) {
	m := mockaws.New("us-east-1")
	err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		_, err := ec2.LookupSubnet(ctx, &ec2.LookupSubnetArgs{Id: pulumi.StringRef("subnet-0000000000000dead")})
		return err
	})
	require.ErrorContains(t, err, `no subnet "subnet-0000000000000dead" in us-east-1`)
}

// State is what the mock answered, so that a test can tell which resource
// a computed value in another's inputs (a target group's ARN in a group's
// targetGroupArns) came from; plans do not carry it.
func TestStateHoldsTheComputedOutputsOtherResourcesReference(t *testing.T) {
	m := mockaws.New("us-east-1")
	require.NoError(t, m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		tg, err := lb.NewTargetGroup(ctx, "api", &lb.TargetGroupArgs{Port: pulumi.Int(6443), Protocol: pulumi.String("TCP")})
		if err != nil {
			return err
		}
		_, err = ec2.NewVpc(ctx, "net", &ec2.VpcArgs{CidrBlock: pulumi.String("10.0.0.0/16"), AssignGeneratedIpv6CidrBlock: pulumi.Bool(true),
			Tags: pulumi.StringMap{"ref": tg.Arn}})
		return err
	}))
	tg, _ := m.Named("aws:lb/targetGroup:TargetGroup", "api")
	vpc, _ := m.Named("aws:ec2/vpc:Vpc", "net")
	require.Equal(t, tg.State["arn"], vpc.Inputs["tags"].(map[string]any)["ref"])
	require.Equal(t, "10.0.0.0/16", vpc.State["cidrBlock"], "the inputs are part of the state")
	require.Regexp(t, `^2600:1f18:[0-9a-f]{4}:[0-9a-f]{2}00::/56$`, vpc.State["ipv6CidrBlock"])
	out, err := json.Marshal(vpc)
	require.NoError(t, err)
	require.NotContains(t, string(out), "ipv6CidrBlock", "plans and goldens do not carry the state")
}
