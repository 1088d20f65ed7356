// Package etcdopstest builds, in moto_server (the AWS emulator), what a
// running cluster leaves in AWS for `kinfra etcd`: a versioned backup
// bucket with snapshots, the etcd record and the cluster CA in SSM, and
// master instances. Its writes are the masters' (their scripts'
// formats, internal/bootstrap/assets), made with the AWS SDK.
package etcdopstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/etcdops"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/testtools"
	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/spec"
)

// Stack is the committed stack the fixtures use, and Account moto's.
const (
	Stack   = "us-east-1"
	Account = "123456789012"
)

// Env is one moto_server seeded as a cluster's AWS account.
type Env struct {
	Moto    *testtools.Moto
	Cluster spec.Cluster
	// StackFile is the stack file Cluster comes from.
	StackFile string
	Clients   etcdops.Clients
	S3        *s3.Client
	SSM       *ssm.Client
	EC2       *ec2.Client
	Loc       etcdops.Location
	Names     etcdops.Names
	// PKI is the cluster's, CAHash its CA's discovery hash.
	PKI    *pki.Bundle
	CAHash string
}

// Start starts moto_server, points the AWS SDK's environment at it (the
// test may not run in parallel) and loads the committed stack's cluster.
// Like every tool, a missing moto_server skips the test or, with
// KINFRA_REQUIRE_TOOLS=1, fails it.
func Start(t *testing.T) *Env {
	t.Helper()
	m := testtools.StartMoto(t)
	home := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":            m.Endpoint,
		"AWS_ACCESS_KEY_ID":           "testing",
		"AWS_SECRET_ACCESS_KEY":       "testing",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	root := repoRoot(t)
	e := &Env{Moto: m, StackFile: filepath.Join(root, "stacks", "Pulumi."+Stack+".yaml")}
	sf, err := stackfile.Load(e.StackFile)
	require.NoError(t, err)
	e.Cluster, err = spec.Load([]byte(sf.Config[stackfile.ClusterKey]), sf.Config[stackfile.RegionKey])
	require.NoError(t, err)
	require.GreaterOrEqual(t, e.Cluster.Masters.Count, 3)

	ctx := context.Background()
	e.Clients, err = etcdops.NewClients(ctx, e.Cluster.Region, "")
	require.NoError(t, err)
	e.S3, e.SSM, e.EC2 = e.Clients.S3.(*s3.Client), e.Clients.SSM.(*ssm.Client), e.Clients.EC2.(*ec2.Client)
	e.Loc = etcdops.BackupLocation(e.Cluster, Account)
	e.Names = etcdops.ParameterNames(e.Cluster)
	e.PKI, err = pki.Generate(e.Cluster.Name)
	require.NoError(t, err)
	e.CAHash, err = e.PKI.CACertHash()
	require.NoError(t, err)
	return e
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.mod above the test's directory")
		dir = parent
	}
}

// Cluster IDs of the fixtures' clusters.
const (
	ClusterID      = "8e9e05c52164694d"
	OtherClusterID = "cdf818194e3a8c32"
)

// Seed creates the bucket (versioned), the CA (SecureString), a cluster
// record at generation gen and every member's record at gen.
func (e *Env) Seed(t *testing.T, gen int) {
	t.Helper()
	ctx := context.Background()
	_, err := e.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(e.Loc.Bucket)})
	require.NoError(t, err)
	_, err = e.S3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(e.Loc.Bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	})
	require.NoError(t, err)
	_, err = e.SSM.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(e.Names.CACert), Value: aws.String(e.PKI.ClusterCA.Cert), Type: ssmtypes.ParameterTypeSecureString,
	})
	require.NoError(t, err)
	e.PutCluster(t, gen, ClusterID)
	for i := range e.Cluster.Masters.Count {
		e.PutMember(t, i, gen, ClusterID)
	}
}

func (e *Env) put(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = e.SSM.PutParameter(context.Background(), &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(string(b)), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true),
	})
	return err
}

// PutCluster writes the cluster record as a master does.
func (e *Env) PutCluster(t *testing.T, gen int, clusterID string) {
	t.Helper()
	require.NoError(t, e.putCluster(gen, clusterID))
}

func (e *Env) putCluster(gen int, clusterID string) error {
	token := e.Cluster.Name
	if gen > 0 {
		token = etcdops.RestoreToken(e.Cluster.Name, gen)
	}
	var members []string
	for i := range e.Cluster.Masters.Count {
		members = append(members, tags.EtcdMember(i))
	}
	return e.put(e.Names.Record, etcdops.ClusterRecord{
		Cluster: e.Cluster.Name, ClusterID: clusterID, Generation: gen, Token: token, Members: members,
		CACertHash: e.CAHash, WrittenBy: "etcd-0", Time: time.Now().UTC().Format(time.RFC3339),
	})
}

// PutMember writes slot's member record as the member does.
func (e *Env) PutMember(t *testing.T, slot, gen int, clusterID string) {
	t.Helper()
	require.NoError(t, e.putMember(slot, gen, clusterID))
}

func (e *Env) putMember(slot, gen int, clusterID string) error {
	return e.put(e.Names.Members[slot], etcdops.MemberRecord{
		Member: tags.EtcdMember(slot), MemberID: fmt.Sprintf("%x", 0xa1b2c3d4+slot), ClusterID: clusterID,
		Generation: gen, Time: time.Now().UTC().Format(time.RFC3339),
	})
}

// Snap is one snapshot to upload; Meta overrides (or, set to "", removes)
// metadata the masters would set.
type Snap struct {
	Tier       string
	Time       time.Time
	Slot       int
	Revision   int64
	Generation int
	Meta       map[string]*string
}

// Uploaded is a snapshot in the bucket.
type Uploaded struct {
	Key, VersionID, SHA256 string
	Size                   int64
}

// PutSnapshot uploads a small fake snapshot with the masters' metadata.
func (e *Env) PutSnapshot(t *testing.T, s Snap) Uploaded {
	t.Helper()
	body := make([]byte, 512+s.Revision%100)
	_, err := rand.Read(body)
	require.NoError(t, err)
	sum := sha256.Sum256(body)
	sha := hex.EncodeToString(sum[:])
	key := fmt.Sprintf("%s%s-%s-r%d.db", bootstrap.Backup{Prefix: e.Loc.Prefix}.TierPrefix(s.Tier), s.Time.UTC().Format(etcdops.KeyTime), tags.EtcdMember(s.Slot), s.Revision)
	meta := map[string]string{
		etcdops.MetaCluster: e.Cluster.Name, etcdops.MetaClusterID: ClusterID,
		etcdops.MetaGeneration: strconv.Itoa(s.Generation), etcdops.MetaRevision: strconv.FormatInt(s.Revision, 10),
		etcdops.MetaEtcdVersion: "3.6.5", etcdops.MetaKubernetesVersion: e.Cluster.Kubernetes.Version,
		etcdops.MetaCACertHash: e.CAHash, etcdops.MetaSHA256: sha,
		etcdops.MetaTakenAt: s.Time.UTC().Format(time.RFC3339), etcdops.MetaMember: tags.EtcdMember(s.Slot),
	}
	for k, v := range s.Meta {
		if v == nil || *v == "" {
			delete(meta, k)
		} else {
			meta[k] = *v
		}
	}
	out, err := e.S3.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(e.Loc.Bucket), Key: aws.String(key), Body: bytes.NewReader(body), Metadata: meta,
		ContentLength: aws.Int64(int64(len(body))),
	}, func(o *s3.Options) { o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired })
	require.NoError(t, err)
	require.NotEmpty(t, aws.ToString(out.VersionId), "the bucket is versioned")
	return Uploaded{Key: key, VersionID: aws.ToString(out.VersionId), SHA256: sha, Size: int64(len(body))}
}

// RunMasters starts one running instance per slot, tagged as the masters
// component tags them, plus one instance of another cluster that must be
// left alone; it returns the masters' IDs by slot.
func (e *Env) RunMasters(t *testing.T) []string {
	t.Helper()
	var ids []string
	for i := range e.Cluster.Masters.Count {
		ids = append(ids, e.run(t, map[string]string{tags.Cluster: e.Cluster.Name, tags.MasterSlot: strconv.Itoa(i), "Name": fmt.Sprintf("%s-master-%d", e.Cluster.Name, i)}))
	}
	e.run(t, map[string]string{tags.Cluster: "another-cluster", tags.MasterSlot: "0"})
	e.run(t, map[string]string{tags.Cluster: e.Cluster.Name, "Name": e.Cluster.Name + "-worker"})
	return ids
}

func (e *Env) run(t *testing.T, tagMap map[string]string) string {
	t.Helper()
	var tt []ec2types.Tag
	for k, v := range tagMap {
		tt = append(tt, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := e.EC2.RunInstances(context.Background(), &ec2.RunInstancesInput{
		ImageId: aws.String("ami-12c6146b"), InstanceType: ec2types.InstanceTypeM6iXlarge, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: tt}},
	})
	require.NoError(t, err)
	require.Len(t, out.Instances, 1)
	return aws.ToString(out.Instances[0].InstanceId)
}

// Request reads the restore request; ok is false if there is none.
func (e *Env) Request(t *testing.T) (raw string, ok bool) {
	t.Helper()
	out, err := e.SSM.GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String(e.Names.Request)})
	var notFound *ssmtypes.ParameterNotFound
	if errors.As(err, &notFound) {
		return "", false
	}
	require.NoError(t, err)
	require.Equal(t, ssmtypes.ParameterTypeString, out.Parameter.Type)
	return aws.ToString(out.Parameter.Value), true
}

// ParameterVersions is how many times each of the record's parameters was
// written (0: never), to show that a command wrote nothing.
func (e *Env) ParameterVersions(t *testing.T) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	for _, name := range append([]string{e.Names.Record, e.Names.Request}, e.Names.Members...) {
		out, err := e.SSM.GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String(name)})
		var notFound *ssmtypes.ParameterNotFound
		if errors.As(err, &notFound) {
			got[name] = 0
			continue
		}
		require.NoError(t, err)
		got[name] = out.Parameter.Version
	}
	return got
}

// Masters simulates the masters carrying out restore request gen: once the
// request for gen is in SSM, each slot in slots writes its member record at
// gen with the restored cluster's new ID, then (if every slot restores) the
// cluster record. It stops when the test ends.
func (e *Env) Masters(t *testing.T, gen int, slots []int, newClusterID string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			out, err := e.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(e.Names.Request)})
			var r etcdops.RestoreRequest
			if err == nil && json.Unmarshal([]byte(aws.ToString(out.Parameter.Value)), &r) == nil && r.Generation == gen {
				break
			}
			sleep(ctx, 50*time.Millisecond)
		}
		if ctx.Err() != nil {
			return
		}
		for _, s := range slots {
			sleep(ctx, 50*time.Millisecond)
			if err := e.putMember(s, gen, newClusterID); err != nil {
				t.Errorf("simulated master %d: %v", s, err)
			}
		}
		if len(slots) == e.Cluster.Masters.Count {
			if err := e.putCluster(gen, newClusterID); err != nil {
				t.Errorf("simulated masters: %v", err)
			}
		}
	}()
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
