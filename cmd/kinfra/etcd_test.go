package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/etcdops"
	"github.com/kinfra-dev/kinfra/internal/etcdops/etcdopstest"
)

func TestEtcdUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{"etcd"},
		{"etcd", "snapshot"},
		{"etcd", "backups"},
		{"etcd", "backups", "--stack", "us-east-1", "--stack-file", "x.yaml", "--dir", "../.."},
		{"etcd", "backups", "--stack", "nowhere", "--dir", "../.."},
		{"etcd", "restore", "--stack", "us-east-1", "--dir", "../.."},
		{"etcd", "restore", "--stack", "us-east-1", "--dir", "../..", "--snapshot", "latest", "--wait", "-1s"},
		{"etcd", "restore", "--stack", "us-east-1", "--dir", "../..", "--snapshot", "latest", "extra"},
		{"etcd", "recover-space"},
		{"etcd", "recover-space", "--stack", "us-east-1", "--dir", "../..", "--wait", "0s"},
		{"etcd", "recover-space", "--stack", "us-east-1", "--dir", "../..", "--defrag-timeout", "-1m"},
		{"etcd", "recover-space", "--stack", "us-east-1", "--dir", "../..", "--yes"},
	} {
		code, _, errOut := kinfra(args...)
		require.Equal(t, 2, code, "%v: %s", args, errOut)
		require.NotEmpty(t, errOut)
	}
}

// cliEnv is moto seeded with a cluster at generation 0, two snapshots and
// the masters; poll is short so that the health gate answers quickly.
func cliEnv(t *testing.T) (*etcdopstest.Env, etcdopstest.Uploaded) {
	e := etcdopstest.Start(t)
	e.Seed(t, 0)
	b := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	e.PutSnapshot(t, etcdopstest.Snap{Tier: bootstrap.TierDaily, Time: b, Slot: 0, Revision: 10})
	latest := e.PutSnapshot(t, etcdopstest.Snap{Tier: bootstrap.TierFrequent, Time: b.Add(15 * time.Minute), Slot: 1, Revision: 20})
	e.RunMasters(t)
	poll := etcdPoll
	etcdPoll = 50 * time.Millisecond
	t.Cleanup(func() { etcdPoll = poll })
	return e, latest
}

func TestEtcdBackupsListsTheSnapshotsNewestFirst(t *testing.T) {
	e, latest := cliEnv(t)
	code, out, errOut := kinfra("etcd", "backups", "--stack", "us-east-1", "--dir", "../..")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Snapshots of cluster prod-use1 in s3://prod-use1-etcd-123456789012-us-east-1/prod-use1/etcd/ (newest first): 2")
	require.Contains(t, out, "TAKEN AT")
	lines := strings.Split(out, "\n")
	require.Contains(t, lines[2], latest.Key, "the newest first")
	require.Contains(t, lines[2], "frequent  etcd-1  20")
	require.Regexp(t, `Newest: `+latest.Key+`, \d+h\d+m\d+s old`, out)

	code, out, errOut = kinfra("etcd", "backups", "--stack-file", e.StackFile, "--json")
	require.Equal(t, 0, code, errOut)
	var l etcdops.Listing
	require.NoError(t, json.Unmarshal([]byte(out), &l))
	require.Len(t, l.Snapshots, 2)
	require.Equal(t, latest.Key, l.Newest)
	require.Equal(t, etcdopstest.ClusterID, l.Snapshots[0].ClusterID)
}

func TestEtcdRestoreNeedsConfirmation(t *testing.T) {
	e, _ := cliEnv(t)
	args := []string{"etcd", "restore", "--stack", "us-east-1", "--dir", "../..", "--snapshot", "latest", "--no-reboot", "--wait", "0"}

	terminal, stdin := stdinIsTerminal, etcdStdin
	t.Cleanup(func() { stdinIsTerminal, etcdStdin = terminal, stdin })
	stdinIsTerminal = func() bool { return false }
	code, _, errOut := kinfra(args...)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "pass --yes to confirm")
	_, ok := e.Request(t)
	require.False(t, ok, "nothing written without confirmation")

	stdinIsTerminal = func() bool { return true }
	etcdStdin = strings.NewReader("prod-euw1\n")
	code, _, errOut = kinfra(args...)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `confirmation "prod-euw1" is not the cluster name "prod-use1"`)
	_, ok = e.Request(t)
	require.False(t, ok)

	etcdStdin = strings.NewReader("prod-use1\n")
	code, out, errOut := kinfra(args...)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "Type the cluster name to continue")
	require.Contains(t, out, "Requested generation 1")
	raw, ok := e.Request(t)
	require.True(t, ok)
	require.Contains(t, raw, `"generation":1,"token":"prod-use1-g1"`)
}

func TestEtcdRestoreRunsToTheEndAndRefusesAnotherClustersSnapshot(t *testing.T) {
	e, latest := cliEnv(t)
	bad := "prod-euw1"
	other := e.PutSnapshot(t, etcdopstest.Snap{Tier: bootstrap.TierHourly, Time: time.Now().UTC().Add(-time.Hour).Truncate(time.Hour), Slot: 2, Revision: 30,
		Meta: map[string]*string{etcdops.MetaCluster: &bad}})

	code, out, errOut := kinfra("etcd", "restore", "--stack", "us-east-1", "--dir", "../..", "--snapshot", "latest", "--yes")
	require.Equal(t, 1, code, out)
	require.Contains(t, errOut, `it is a snapshot of cluster "prod-euw1"`)
	require.Contains(t, errOut, "pass --force if you are sure")
	_, ok := e.Request(t)
	require.False(t, ok)

	code, out, errOut = kinfra("etcd", "restore", "--stack", "us-east-1", "--dir", "../..", "--snapshot", latest.Key, "--dry-run")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "would write generation 1")
	_, ok = e.Request(t)
	require.False(t, ok)

	e.Masters(t, 1, []int{0, 1, 2}, "feedfacecafe0001")
	code, out, errOut = kinfra("etcd", "restore", "--stack", "us-east-1", "--dir", "../..", "--snapshot", latest.Key, "--yes", "--wait", "1m")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "every member and the cluster record are at generation 1")
	require.NotContains(t, out, other.Key)

	code, _, errOut = kinfra("etcd", "restore", "--stack", "us-east-1", "--dir", "../..", "--snapshot", other.Key, "--yes", "--force", "--no-reboot", "--wait", "1s")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "WARNING: --force")
	require.Contains(t, errOut, "timed out after 1s waiting for generation 2")
	require.Contains(t, errOut, "journalctl -u kinfra-master")
}

// recover-space fails closed, exit 1, when it cannot read the etcd CA or
// reach every member; nothing is changed. tests/realetcdmaint_test.go runs
// its recovery on real etcd.
func TestEtcdRecoverSpaceRefusesWithoutTheEtcdCAOrEveryMember(t *testing.T) {
	e := etcdopstest.Start(t)
	e.Seed(t, 0)
	args := []string{"etcd", "recover-space", "--stack", "us-east-1", "--dir", "../..", "--dry-run"}
	code, out, errOut := kinfra(args...)
	require.Equal(t, 1, code, out)
	require.Contains(t, errOut, "kinfra etcd recover-space: reading /kinfra/prod-use1/control-plane/etcd-ca.crt (kinfra-recover-space needs ssm:GetParameter and kms:Decrypt on the cluster's PKI)")

	prefix := bootstrap.ParameterPrefix(e.Cluster.Name) + "/" + bootstrap.ControlPlaneParameters + "/"
	for name, v := range map[string]string{"etcd-ca.crt": e.PKI.EtcdCA.Cert, "etcd-ca.key": e.PKI.EtcdCA.Key} {
		_, err := e.SSM.PutParameter(context.Background(), &ssm.PutParameterInput{Name: aws.String(prefix + name), Value: aws.String(v), Type: ssmtypes.ParameterTypeSecureString})
		require.NoError(t, err)
	}
	var mu sync.Mutex
	var dialed []string
	etcdDial = func(_ context.Context, _, addr string) (net.Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		dialed = append(dialed, addr)
		return nil, errors.New("no route to the VPC")
	}
	t.Cleanup(func() { etcdDial = nil })
	code, out, errOut = kinfra(args...)
	require.Equal(t, 1, code, out)
	require.Contains(t, errOut, "kinfra etcd recover-space: member list: ")
	require.NotContains(t, out, "Steps:")
	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, dialed, "etcd-0.prod-use1.k8s.internal:2379", "it reaches the members on their stable names")
}
