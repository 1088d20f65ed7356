package roll

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.etcd.io/etcd/client/v3/snapshot"
	"go.uber.org/zap"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/etcdops"
)

// S3API is what the snapshotter asks of S3.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

// Snapshotter takes an etcd snapshot from the leader, verifies it (etcd
// appends a SHA-256 of the database, which the client checks) and uploads
// it beside the masters' own backups, under the pre-roll tier, with the
// metadata `kinfra etcd restore` checks.
type Snapshotter struct {
	S3      S3API
	Bucket  string
	Prefix  string
	Cluster string
	// Generation is the cluster record's restore generation; CACertHash
	// the cluster CA's hash (kubeadm's sha256:… form), as the masters
	// record them.
	Generation int
	CACertHash string
	// KubernetesVersion is the version the stack declares for the masters.
	KubernetesVersion string
	// Dir holds the file while it is uploaded. Default: the system's
	// temporary directory.
	Dir string
	// now is the clock, for the key's time.
	now func() time.Time
}

// Take snapshots the leader through g's etcd credentials and returns the
// object's s3:// URL.
func (s *Snapshotter) Take(ctx context.Context, g *ClusterGates) (string, error) {
	leader, name, clusterID, serverVersion, err := s.leader(ctx, g)
	if err != nil {
		return "", err
	}
	cli, err := g.etcdClient([]string{leader})
	if err != nil {
		return "", err
	}
	// The revision the snapshot holds at least: a linearizable read just
	// before it.
	resp, err := cli.Get(ctx, "health")
	cli.Close()
	if err != nil {
		return "", fmt.Errorf("reading the revision from %s: %w", leader, err)
	}
	rev := resp.Header.Revision

	dir, err := os.MkdirTemp(s.Dir, "kinfra-roll-snapshot-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "snapshot.db")
	// The version the masters record is the server's (the image's etcd),
	// not the storage version the snapshot stream reports.
	if _, err := snapshot.SaveWithVersion(ctx, zap.NewNop(), g.etcd().Config(leader), path); err != nil {
		return "", fmt.Errorf("snapshot of %s: %w", leader, err)
	}
	sum, size, err := fileSHA256(path)
	if err != nil {
		return "", err
	}
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	t := now().UTC()
	key := bootstrap.Backup{Prefix: s.Prefix}.TierPrefix(bootstrap.TierPreRoll) + fmt.Sprintf("%s-%s-r%d.db", t.Format(etcdops.KeyTime), name, rev)
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, err = s.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket), Key: aws.String(key), Body: f, ContentLength: aws.Int64(size),
		Metadata: map[string]string{
			etcdops.MetaCluster: s.Cluster, etcdops.MetaClusterID: clusterID,
			etcdops.MetaGeneration: strconv.Itoa(s.Generation), etcdops.MetaRevision: strconv.FormatInt(rev, 10),
			etcdops.MetaEtcdVersion: serverVersion, etcdops.MetaKubernetesVersion: s.KubernetesVersion,
			etcdops.MetaCACertHash: s.CACertHash, etcdops.MetaSHA256: sum,
			etcdops.MetaTakenAt: t.Format(time.RFC3339), etcdops.MetaMember: name,
		},
	})
	if err != nil {
		return "", fmt.Errorf("uploading s3://%s/%s: %w", s.Bucket, key, err)
	}
	head, err := s.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if err != nil {
		return "", fmt.Errorf("reading back s3://%s/%s: %w", s.Bucket, key, err)
	}
	if aws.ToInt64(head.ContentLength) != size || head.Metadata[etcdops.MetaSHA256] != sum {
		return "", fmt.Errorf("s3://%s/%s reads back as %d bytes, sha256 %q; uploaded %d bytes, sha256 %s", s.Bucket, key, aws.ToInt64(head.ContentLength), head.Metadata[etcdops.MetaSHA256], size, sum)
	}
	return fmt.Sprintf("s3://%s/%s (revision %d, %s, sha256 %s)", s.Bucket, key, rev, etcdops.Bytes(size), sum), nil
}

// leader finds the leader's endpoint, member name, the cluster ID (hex, as
// the masters record it) and its etcd version.
func (s *Snapshotter) leader(ctx context.Context, g *ClusterGates) (endpoint, name, clusterID, version string, err error) {
	for _, ep := range g.EtcdEndpoints {
		cli, err := g.etcdClient([]string{ep})
		if err != nil {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, g.timeout())
		st, err := cli.Status(cctx, ep)
		if err == nil && st.Leader != 0 && st.Header.MemberId == st.Leader {
			members, merr := cli.MemberList(cctx)
			cancel()
			cli.Close()
			if merr != nil {
				return "", "", "", "", fmt.Errorf("member list from %s: %w", ep, merr)
			}
			for _, m := range members.Members {
				if m.ID == st.Leader {
					return ep, m.Name, strconv.FormatUint(st.Header.ClusterId, 16), st.Version, nil
				}
			}
			return "", "", "", "", fmt.Errorf("the leader %x is not in the member list", st.Leader)
		}
		cancel()
		cli.Close()
	}
	return "", "", "", "", fmt.Errorf("no endpoint of %v is the etcd leader", g.EtcdEndpoints)
}

func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
