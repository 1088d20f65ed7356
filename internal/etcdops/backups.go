package etcdops

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/spec"
)

// Snapshot metadata keys (x-amz-meta-*), as the masters set them.
const (
	MetaCluster           = "kinfra-cluster"
	MetaClusterID         = "cluster-id"
	MetaGeneration        = "generation"
	MetaRevision          = "revision"
	MetaEtcdVersion       = "etcd-version"
	MetaKubernetesVersion = "kubernetes-version"
	MetaCACertHash        = "ca-cert-hash"
	MetaSHA256            = "sha256"
	MetaTakenAt           = "taken-at"
	MetaMember            = "member"
)

// KeyTime is the layout of the timestamp that starts a snapshot's base name.
const KeyTime = "20060102T150405Z"

// snapshotName is a snapshot's base name:
// <YYYYMMDDTHHMMSSZ>-etcd-<i>-r<revision>.db.
var snapshotName = regexp.MustCompile(`^(\d{8}T\d{6}Z)-(etcd-\d+)-r(\d+)\.db$`)

// Location is where a cluster's snapshots are.
type Location struct {
	Bucket, Prefix string
}

// BackupLocation is the bucket and prefix of cluster c's snapshots in
// account.
func BackupLocation(c spec.Cluster, account string) Location {
	return Location{Bucket: c.BackupBucketName(account), Prefix: c.Backup.Prefix}
}

func (l Location) String() string { return "s3://" + l.Bucket + "/" + l.Prefix + "/" }

// Snapshot is one snapshot object. The fields from its name are always
// set; those from its metadata only once Head has read it.
type Snapshot struct {
	Tier string `json:"tier"`
	Key  string `json:"key"`
	// Time is the timestamp in its name, which orders the snapshots.
	Time     time.Time `json:"-"`
	Member   string    `json:"member"`
	Revision int64     `json:"revision"`
	Size     int64     `json:"size"`

	VersionID string            `json:"versionId,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	// TakenAt is the metadata's taken-at, else Time.
	TakenAt    time.Time `json:"takenAt"`
	Generation *int      `json:"generation"`
	ClusterID  string    `json:"clusterId"`
}

// ParseSnapshotKey reads the tier, time, member and revision from a key
// under loc; ok is false for any other object.
func ParseSnapshotKey(loc Location, key string) (s Snapshot, ok bool) {
	rest, found := strings.CutPrefix(key, loc.Prefix+"/")
	if !found {
		return s, false
	}
	tier, base, found := strings.Cut(rest, "/")
	if !found || !slices.Contains(bootstrap.BackupTiers, tier) {
		return s, false
	}
	m := snapshotName.FindStringSubmatch(base)
	if m == nil {
		return s, false
	}
	t, err := time.Parse(KeyTime, m[1])
	if err != nil {
		return s, false
	}
	rev, err := strconv.ParseInt(m[3], 10, 64)
	if err != nil {
		return s, false
	}
	return Snapshot{Tier: tier, Key: key, Time: t, TakenAt: t, Member: m[2], Revision: rev}, true
}

// newer orders snapshots newest first: by the time in the name, then by
// revision, then by key, so that the order never depends on the listing.
func newer(a, b Snapshot) int {
	if c := b.Time.Compare(a.Time); c != 0 {
		return c
	}
	if a.Revision != b.Revision {
		if a.Revision > b.Revision {
			return -1
		}
		return 1
	}
	return strings.Compare(path.Base(a.Key), path.Base(b.Key))
}

// List lists every snapshot under loc's tiers, newest first, and counts
// the objects there that are not named like snapshots. It reads no
// metadata (see Head).
func List(ctx context.Context, api S3API, loc Location) (snaps []Snapshot, others int, err error) {
	for _, tier := range bootstrap.BackupTiers {
		prefix := bootstrap.Backup{Prefix: loc.Prefix}.TierPrefix(tier)
		p := s3.NewListObjectsV2Paginator(api, &s3.ListObjectsV2Input{Bucket: aws.String(loc.Bucket), Prefix: aws.String(prefix)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, 0, fmt.Errorf("list s3://%s/%s: %w", loc.Bucket, prefix, err)
			}
			for _, o := range page.Contents {
				s, ok := ParseSnapshotKey(loc, aws.ToString(o.Key))
				if !ok {
					others++
					continue
				}
				s.Size = aws.ToInt64(o.Size)
				snaps = append(snaps, s)
			}
		}
	}
	slices.SortFunc(snaps, newer)
	return snaps, others, nil
}

// Latest is the newest snapshot: the greatest timestamp in its base name
// across every tier.
func Latest(snaps []Snapshot) (Snapshot, bool) {
	if len(snaps) == 0 {
		return Snapshot{}, false
	}
	return slices.MinFunc(snaps, newer), true
}

// Head reads the object's size, version and metadata into s.
func Head(ctx context.Context, api S3API, loc Location, s *Snapshot) error {
	out, err := api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(s.Key)})
	if err != nil {
		return fmt.Errorf("read s3://%s/%s: %w", loc.Bucket, s.Key, err)
	}
	s.Size = aws.ToInt64(out.ContentLength)
	s.VersionID = aws.ToString(out.VersionId)
	if s.VersionID == "null" { // an object written before versioning
		s.VersionID = ""
	}
	s.Metadata = map[string]string{}
	for k, v := range out.Metadata {
		s.Metadata[strings.ToLower(k)] = v
	}
	if t, err := time.Parse(time.RFC3339, s.Metadata[MetaTakenAt]); err == nil {
		s.TakenAt = t.UTC()
	}
	s.Generation = nil
	if g, err := strconv.Atoi(s.Metadata[MetaGeneration]); err == nil {
		s.Generation = &g
	}
	s.ClusterID = s.Metadata[MetaClusterID]
	return nil
}

// HeadAll reads every snapshot's metadata, a few at a time.
func HeadAll(ctx context.Context, api S3API, loc Location, snaps []Snapshot) error {
	const parallel = 8
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		sem   = make(chan struct{}, parallel)
	)
	for i := range snaps {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := Head(ctx, api, loc, &snaps[i]); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// Listing is the answer of `kinfra etcd backups`.
type Listing struct {
	Cluster string `json:"cluster"`
	Bucket  string `json:"bucket"`
	Prefix  string `json:"prefix"`
	// Snapshots newest first, with their metadata.
	Snapshots []Snapshot `json:"snapshots"`
	// Newest is the newest snapshot's key, NewestAgeSeconds its age
	// (both empty without snapshots).
	Newest           string `json:"newest,omitempty"`
	NewestAgeSeconds int64  `json:"newestAgeSeconds,omitempty"`
	// Ignored counts the objects under the tiers not named like snapshots.
	Ignored int `json:"ignored"`
}

// Backups lists cluster c's snapshots with their metadata, as of now.
func Backups(ctx context.Context, cl Clients, c spec.Cluster, now time.Time) (Listing, error) {
	if !c.Backup.On() && c.Backup.Bucket == "" {
		return Listing{}, fmt.Errorf("backups are disabled in this stack (cluster.backup.enabled: false): there is no bucket to list")
	}
	id, err := cl.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Listing{}, fmt.Errorf("who am I (STS GetCallerIdentity): %w; check your AWS credentials", err)
	}
	loc := BackupLocation(c, aws.ToString(id.Account))
	l := Listing{Cluster: c.Name, Bucket: loc.Bucket, Prefix: loc.Prefix, Snapshots: []Snapshot{}}
	snaps, others, err := List(ctx, cl.S3, loc)
	if err != nil {
		return l, err
	}
	if err := HeadAll(ctx, cl.S3, loc, snaps); err != nil {
		return l, err
	}
	l.Snapshots, l.Ignored = snaps, others
	if s, ok := Latest(snaps); ok {
		l.Newest = s.Key
		l.NewestAgeSeconds = int64(now.Sub(s.TakenAt) / time.Second)
	}
	return l, nil
}
