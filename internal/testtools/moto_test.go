package testtools

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/stretchr/testify/require"
)

// Each server a test starts is its own, whatever else runs: servers started
// side by side answer on their own ports, and what one holds the others do
// not. (Before, StartMoto chose a free port and handed it over; another
// test binary's server could bind it first, and this one then exited while
// the other answered in its place.)
func TestEachStartedMotoIsItsOwn(t *testing.T) {
	servers := []*Moto{StartMoto(t), StartMoto(t), StartMoto(t)}
	client := func(m *Moto) *ec2.Client {
		return ec2.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(m.Endpoint),
			Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")})
	}
	seen := map[string]bool{}
	for _, m := range servers {
		require.False(t, seen[m.Endpoint], "two servers answer on %s", m.Endpoint)
		seen[m.Endpoint] = true
	}
	ctx := context.Background()
	vpc, err := client(servers[0]).CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16")})
	require.NoError(t, err)
	for i, m := range servers {
		_, err := client(m).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{aws.ToString(vpc.Vpc.VpcId)}})
		if i == 0 {
			require.NoError(t, err, "the VPC is in the server it was made in")
		} else {
			require.Error(t, err, "server %d holds another server's VPC", i)
		}
	}
}
