package main

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/etcdops/etcdopstest"
	"github.com/kinfra-dev/kinfra/internal/roll/rolltest"
)

func TestRollUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{"roll"},
		{"roll", "--stack", "us-east-1", "--stack-file", "x.yaml", "--dir", "../.."},
		{"roll", "--stack", "nowhere", "--dir", "../.."},
		{"roll", "--stack", "us-east-1", "--dir", "../..", "--timeout", "0s"},
		{"roll", "--stack", "us-east-1", "--dir", "../..", "--poll", "1h", "--timeout", "1m"},
		{"roll", "--stack", "us-east-1", "--dir", "../..", "extra"},
		{"roll", "--stack", "us-east-1", "--dir", "../..", "--pools", "general,gpu"},
		{"roll", "--stack", "us-east-1", "--dir", "../..", "--pools", "general", "--masters-only"},
	} {
		code, _, errOut := kinfra(args...)
		require.Equal(t, 2, code, "%v: %s", args, errOut)
		require.NotEmpty(t, errOut)
	}
}

// rollEnv is moto seeded with a running cluster: its record, bucket and
// CAs in SSM, its master groups, and a group of two nodes per pool.
func rollEnv(t *testing.T, withCAs bool) (*etcdopstest.Env, *rolltest.Masters, map[string]rolltest.Pool) {
	e := etcdopstest.Start(t)
	e.Seed(t, 0)
	ctx := context.Background()
	if withCAs {
		prefix := bootstrap.ParameterPrefix(e.Cluster.Name) + "/" + bootstrap.ControlPlaneParameters + "/"
		for name, v := range map[string]string{"ca.crt": e.PKI.ClusterCA.Cert, "ca.key": e.PKI.ClusterCA.Key,
			"etcd-ca.crt": e.PKI.EtcdCA.Cert, "etcd-ca.key": e.PKI.EtcdCA.Key} {
			_, err := e.SSM.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(prefix + name), Value: aws.String(v), Type: ssmtypes.ParameterTypeSecureString})
			require.NoError(t, err)
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(e.Cluster.Region))
	require.NoError(t, err)
	m := rolltest.CreateMasters(t, cfg, e.Cluster.Name, e.Cluster.Masters.Count)
	pools := map[string]rolltest.Pool{}
	for _, p := range e.Cluster.NodePools {
		pools[p.Name] = m.CreatePool(t, cfg, e.Cluster.Name, p.Name, 2, 4)
	}
	return e, m, pools
}

func TestRollDryRunPrintsEverySlotAndChangesNothing(t *testing.T) {
	e, m, pools := rollEnv(t, true)
	code, out, errOut := kinfra("roll", "--stack-file", e.StackFile, "--dry-run")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Rolling the masters of cluster prod-use1 (us-east-1)")
	require.Contains(t, out, "every master is on its declared launch template version; nothing to roll")

	m.Declare(t, "m7i.4xlarge")
	code, out, errOut = kinfra("roll", "--stack-file", e.StackFile, "--dry-run")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "slot 0 (prod-use1-masters-master-0): to roll: instance i-")
	require.Contains(t, out, "runs launch template version 1, the stack declares 2")
	require.Contains(t, out, "2. take an etcd snapshot into the backup bucket")
	for i, g := range m.Groups {
		require.Contains(t, out, "slot "+string(rune('0'+i))+": point "+g+" at launch template version 2, replace its instance")
	}
	groups, err := m.ASG.DescribeAutoScalingGroups(context.Background(), nil)
	require.NoError(t, err)
	for _, g := range groups.AutoScalingGroups {
		lt := g.LaunchTemplate
		if g.MixedInstancesPolicy != nil {
			lt = g.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification
		}
		require.Equal(t, "1", aws.ToString(lt.Version), "a dry run changes no group")
	}
	require.Contains(t, out, "Rolling the node pools of cluster prod-use1: general, memory, batch-spot, ingress")
	require.Contains(t, out, "pool general (prod-use1-pool-general): every node on declared version 1, skipped")

	// The pools follow, in the stack's order or the operator's.
	m.DeclarePool(t, pools["ingress"])
	code, out, errOut = kinfra("roll", "--stack-file", e.StackFile, "--dry-run", "--pools", "ingress,general")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Rolling the node pools of cluster prod-use1: ingress, general\n")
	require.Contains(t, out, "pool ingress (prod-use1-pool-ingress): 2 of 2 nodes to replace (launch template version 2 declared)")
	require.Contains(t, out, "pool ingress: point prod-use1-pool-ingress at launch template version 2; then in batches of 1 nodes (1 replacements launched first)")
	code, out, errOut = kinfra("roll", "--stack-file", e.StackFile, "--dry-run", "--masters-only")
	require.Equal(t, 0, code, errOut)
	require.NotContains(t, out, "node pools")
}

func TestRollNamesTheParametersItCannotRead(t *testing.T) {
	e, _, _ := rollEnv(t, false)
	code, _, errOut := kinfra("roll", "--stack-file", e.StackFile, "--dry-run")
	require.Equal(t, 1, code)
	for _, name := range []string{"ca.crt", "ca.key", "etcd-ca.crt", "etcd-ca.key"} {
		require.Contains(t, errOut, "reading /kinfra/prod-use1/control-plane/"+name+" (the roll needs ssm:GetParameter and kms:Decrypt on the cluster's PKI)")
	}
}
