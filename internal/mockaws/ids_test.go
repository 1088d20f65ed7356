package mockaws_test

import (
	"regexp"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/imagebuilder"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// The exported scheme is the one the mock answers with, so code that
// recognises an offline ID (the plan diff) need not derive it again.
func TestTheExportedIDSchemeIsTheOneTheMockAnswersWith(t *testing.T) {
	m := mockaws.New("eu-west-1")
	require.NoError(t, m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		if _, err := ec2.NewVpc(ctx, "v", &ec2.VpcArgs{CidrBlock: pulumi.String("10.0.0.0/16")}); err != nil {
			return err
		}
		if _, err := sqs.NewQueue(ctx, "q", &sqs.QueueArgs{}); err != nil {
			return err
		}
		_, err := imagebuilder.NewImage(ctx, "img", &imagebuilder.ImageArgs{ImageRecipeArn: pulumi.String("arn:recipe"), InfrastructureConfigurationArn: pulumi.String("arn:infra")})
		return err
	}))
	rs := m.Resources()
	require.Len(t, rs, 3)
	for _, r := range rs {
		require.Equal(t, mockaws.IDFor(r.Type, r.Name), r.ID, r.Type)
	}
	vpc, _ := m.Named("aws:ec2/vpc:Vpc", "v")
	p, ok := mockaws.IDPrefix(vpc.Type)
	require.True(t, ok)
	require.Regexp(t, "^"+regexp.QuoteMeta(p)+"[0-9a-f]{17}$", vpc.ID)
	q, _ := m.Named("aws:sqs/queue:Queue", "q")
	_, ok = mockaws.IDPrefix(q.Type)
	require.False(t, ok)
	require.Regexp(t, `^q-[0-9a-f]{8}$`, q.ID)
	require.NotEqual(t, mockaws.IDFor(vpc.Type, "w"), vpc.ID, "the name makes the ID")
	require.NotEqual(t, mockaws.IDFor("aws:ec2/subnet:Subnet", "v")[len("subnet-"):], vpc.ID[len(p):], "so does the type")

	img, _ := m.Named("aws:imagebuilder/image:Image", "img")
	kind, ok := mockaws.ImageBuilderKind(img.Type)
	require.True(t, ok)
	require.Equal(t, "image", kind)
	require.Contains(t, img.State["arn"], ":"+kind+"/")
	amis := mockaws.List(mockaws.Object(mockaws.List(img.State["outputResources"])[0])["amis"])
	require.Equal(t, mockaws.ImageAMI("img"), mockaws.Object(amis[0])["image"])
	require.Regexp(t, `^ami-[0-9a-f]{17}$`, mockaws.ImageAMI("img"))
	_, ok = mockaws.ImageBuilderKind(vpc.Type)
	require.False(t, ok)
}
