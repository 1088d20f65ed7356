package etcdops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/etcdops"
	"github.com/kinfra-dev/kinfra/internal/etcdops/etcdopstest"
	"github.com/kinfra-dev/kinfra/pki"
)

// ec2Spy is the real EC2 client (moto's), recording the reboots: moto
// keeps no trace of a reboot.
type ec2Spy struct {
	etcdops.EC2API
	mu       sync.Mutex
	rebooted [][]string
}

func (s *ec2Spy) RebootInstances(ctx context.Context, in *ec2.RebootInstancesInput, opts ...func(*ec2.Options)) (*ec2.RebootInstancesOutput, error) {
	s.mu.Lock()
	s.rebooted = append(s.rebooted, in.InstanceIds)
	s.mu.Unlock()
	return s.EC2API.RebootInstances(ctx, in, opts...)
}

func (s *ec2Spy) calls() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]string(nil), s.rebooted...)
}

// base is a whole hour a few hours ago: the snapshots' times.
func base() time.Time { return time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour) }

func ptr(s string) *string { return &s }

type run struct {
	e   *etcdopstest.Env
	spy *ec2Spy
}

func setup(t *testing.T, gen int) run {
	e := etcdopstest.Start(t)
	e.Seed(t, gen)
	spy := &ec2Spy{EC2API: e.Clients.EC2}
	e.Clients.EC2 = spy
	return run{e, spy}
}

func (r run) restore(t *testing.T, o etcdops.RestoreOptions) (etcdops.RestoreResult, string, string, error) {
	t.Helper()
	var out, warn bytes.Buffer
	o.Out, o.Warn = &out, &warn
	if o.Poll == 0 {
		o.Poll = 50 * time.Millisecond
	}
	res, err := etcdops.Restore(context.Background(), r.e.Clients, r.e.Cluster, o)
	t.Logf("output:\n%s%s", out.String(), warn.String())
	return res, out.String(), warn.String(), err
}

func TestBackupsListsEveryTierNewestFirstAndPicksTheLatestAcrossTiers(t *testing.T) {
	r := setup(t, 0)
	e := r.e
	b := base()
	daily := e.PutSnapshot(t, etcdopstest.Snap{Tier: bootstrap.TierDaily, Time: b, Slot: 0, Revision: 100})
	f1 := e.PutSnapshot(t, etcdopstest.Snap{Tier: bootstrap.TierFrequent, Time: b.Add(15 * time.Minute), Slot: 1, Revision: 120})
	f2 := e.PutSnapshot(t, etcdopstest.Snap{Tier: bootstrap.TierFrequent, Time: b.Add(30 * time.Minute), Slot: 2, Revision: 140})
	hourly := e.PutSnapshot(t, etcdopstest.Snap{Tier: bootstrap.TierHourly, Time: b.Add(time.Hour), Slot: 0, Revision: 160, Generation: 2})
	// Not snapshots: left out and counted.
	e.PutSnapshot(t, etcdopstest.Snap{Tier: "weekly", Time: b.Add(2 * time.Hour), Revision: 1})

	now := b.Add(time.Hour + 90*time.Second)
	l, err := etcdops.Backups(context.Background(), e.Clients, e.Cluster, now)
	require.NoError(t, err)
	require.Equal(t, e.Cluster.Name, l.Cluster)
	require.Equal(t, "prod-use1-etcd-123456789012-us-east-1", l.Bucket)
	require.Equal(t, "prod-use1/etcd", l.Prefix)
	var keys []string
	for _, s := range l.Snapshots {
		keys = append(keys, s.Key)
	}
	require.Equal(t, []string{hourly.Key, f2.Key, f1.Key, daily.Key}, keys)
	require.Equal(t, hourly.Key, l.Newest, "the newest is the greatest time in the name, whatever the tier")
	require.Equal(t, int64(90), l.NewestAgeSeconds)

	top := l.Snapshots[0]
	require.Equal(t, bootstrap.TierHourly, top.Tier)
	require.Equal(t, "etcd-0", top.Member)
	require.Equal(t, int64(160), top.Revision)
	require.Equal(t, hourly.Size, top.Size)
	require.Equal(t, hourly.VersionID, top.VersionID)
	require.NotNil(t, top.Generation)
	require.Equal(t, 2, *top.Generation)
	require.Equal(t, etcdopstest.ClusterID, top.ClusterID)
	require.Equal(t, hourly.SHA256, top.Metadata[etcdops.MetaSHA256])
	require.Equal(t, b.Add(time.Hour), top.TakenAt)
	require.Equal(t, 0, l.Ignored, "a tier kinfra does not write is not listed at all")
}

func TestRestoreWritesTheNextGenerationsRequestRebootsTheMastersAndWaitsForThem(t *testing.T) {
	r := setup(t, 1)
	e := r.e
	// The highest generation anywhere is a member's: the next is 3.
	e.PutMember(t, 2, 2, etcdopstest.ClusterID)
	b := base()
	e.PutSnapshot(t, etcdopstest.Snap{Tier: bootstrap.TierDaily, Time: b, Slot: 0, Revision: 100, Generation: 1})
	latest := e.PutSnapshot(t, etcdopstest.Snap{Tier: bootstrap.TierFrequent, Time: b.Add(20 * time.Minute), Slot: 1, Revision: 150, Generation: 1})
	masters := e.RunMasters(t)
	e.Masters(t, 3, []int{0, 1, 2}, "feedfacecafe0003")

	now := b.Add(2 * time.Hour)
	res, out, warn, err := r.restore(t, etcdops.RestoreOptions{Snapshot: "latest", Wait: time.Minute, Now: func() time.Time { return now }})
	require.NoError(t, err)
	require.Empty(t, warn)
	require.True(t, res.Written)
	require.False(t, res.Resumed)

	id, err := e.Clients.STS.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	raw, ok := e.Request(t)
	require.True(t, ok)
	require.Equal(t, fmt.Sprintf(`{"generation":3,"token":"prod-use1-g3","bucket":"prod-use1-etcd-123456789012-us-east-1","key":%q,"versionId":%q,"sha256":%q,"size":%d,"requestedAt":%q,"requestedBy":%q}`,
		latest.Key, latest.VersionID, latest.SHA256, latest.Size, now.Format(time.RFC3339), *id.Arn), raw)

	require.Equal(t, [][]string{masters}, r.spy.calls(), "one reboot of every master, and of nothing else")
	require.Len(t, res.Rebooted, 3)
	for i, inst := range res.Rebooted {
		require.Equal(t, etcdops.Instance{ID: masters[i], Slot: i}, inst)
		require.Contains(t, out, inst.String())
	}
	require.Contains(t, out, "taken "+b.Add(20*time.Minute).Format(time.RFC3339)+" (1h40m0s ago)")
	require.Contains(t, out, "revision 150")
	require.Contains(t, out, "ca-cert-hash "+e.CAHash)
	require.Contains(t, out, "every member and the cluster record are at generation 3, cluster id feedfacecafe0003")
}

func TestRestoreRefusesASnapshotOfAnotherClusterUnlessForced(t *testing.T) {
	r := setup(t, 0)
	e := r.e
	other, err := pki.Generate(e.Cluster.Name)
	require.NoError(t, err)
	otherHash, err := other.CACertHash()
	require.NoError(t, err)
	e.RunMasters(t)
	b := base()
	cases := []struct {
		name, why string
		meta      map[string]*string
	}{
		{"another PKI", "is not the hash of the cluster CA", map[string]*string{etcdops.MetaCACertHash: &otherHash}},
		{"another cluster name", `it is a snapshot of cluster "prod-euw1"`, map[string]*string{etcdops.MetaCluster: ptr("prod-euw1")}},
		{"metadata missing", "its metadata lacks generation, ca-cert-hash", map[string]*string{etcdops.MetaGeneration: nil, etcdops.MetaCACertHash: nil}},
		{"another cluster ID at the record's generation", "differs from the cluster record's " + etcdopstest.ClusterID, map[string]*string{etcdops.MetaClusterID: ptr(etcdopstest.OtherClusterID)}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			snap := e.PutSnapshot(t, etcdopstest.Snap{Tier: bootstrap.TierFrequent, Time: b.Add(time.Duration(i) * time.Minute), Revision: int64(10 + i), Meta: c.meta})
			before := e.ParameterVersions(t)
			calls := len(r.spy.calls())
			_, _, _, err := r.restore(t, etcdops.RestoreOptions{Snapshot: snap.Key, Wait: time.Minute})
			require.ErrorIs(t, err, etcdops.ErrRefused)
			require.ErrorContains(t, err, c.why)
			require.ErrorContains(t, err, "pass --force if you are sure")
			require.Equal(t, before, e.ParameterVersions(t), "a refused restore writes nothing")
			require.Len(t, r.spy.calls(), calls, "a refused restore reboots nothing")

			res, _, warn, err := r.restore(t, etcdops.RestoreOptions{Snapshot: snap.Key, Force: true, NoReboot: true})
			require.NoError(t, err)
			require.Contains(t, warn, "WARNING: --force")
			require.Contains(t, warn, c.why)
			require.True(t, res.Written)
			require.Equal(t, i+1, res.Request.Generation)
			raw, _ := e.Request(t)
			var got etcdops.RestoreRequest
			require.NoError(t, json.Unmarshal([]byte(raw), &got))
			require.Equal(t, snap.Key, got.Key)
			require.Equal(t, snap.SHA256, got.SHA256)
			require.Len(t, r.spy.calls(), calls, "--no-reboot")
		})
	}
}

func TestRestoreRefusesEvenForcedASnapshotWithoutItsChecksum(t *testing.T) {
	r := setup(t, 0)
	snap := r.e.PutSnapshot(t, etcdopstest.Snap{Tier: bootstrap.TierDaily, Time: base(), Revision: 5, Meta: map[string]*string{etcdops.MetaSHA256: nil}})
	_, _, _, err := r.restore(t, etcdops.RestoreOptions{Snapshot: snap.Key, Force: true, NoReboot: true})
	require.ErrorIs(t, err, etcdops.ErrRefused)
	require.ErrorContains(t, err, "the masters verify the file against it")
	_, ok := r.e.Request(t)
	require.False(t, ok)
}

func TestRestoreDryRunPrintsEveryStepAndChangesNothing(t *testing.T) {
	r := setup(t, 0)
	e := r.e
	snap := e.PutSnapshot(t, etcdopstest.Snap{Tier: bootstrap.TierHourly, Time: base(), Slot: 2, Revision: 77})
	masters := e.RunMasters(t)
	before := e.ParameterVersions(t)
	confirmed := false
	res, out, _, err := r.restore(t, etcdops.RestoreOptions{Snapshot: "latest", DryRun: true, Wait: time.Minute, Confirm: func() error { confirmed = true; return nil }})
	require.NoError(t, err)
	require.False(t, res.Written)
	require.False(t, confirmed, "nothing to confirm on a dry run")
	require.Equal(t, before, e.ParameterVersions(t))
	require.Empty(t, r.spy.calls())
	require.Equal(t, 1, res.Request.Generation)
	for _, s := range []string{
		"nothing is written and no instance is rebooted",
		"s3://prod-use1-etcd-123456789012-us-east-1/" + snap.Key + " (version " + snap.VersionID + ")",
		"would write generation 1 to /kinfra/prod-use1/etcd/restore:",
		`"token":"prod-use1-g1"`,
		"would reboot " + masters[0] + " (etcd-0), " + masters[1] + " (etcd-1), " + masters[2] + " (etcd-2)",
		"would wait up to 1m0s until the 3 member records and the cluster record show generation 1",
	} {
		require.Contains(t, out, s)
	}
}

func TestRestoreTimesOutNamingWhatIsMissingThenResumesWithoutANewGeneration(t *testing.T) {
	r := setup(t, 0)
	e := r.e
	snap := e.PutSnapshot(t, etcdopstest.Snap{Tier: bootstrap.TierDaily, Time: base(), Revision: 42})
	e.RunMasters(t)
	// Only etcd-0 and etcd-1 come back restored.
	e.Masters(t, 1, []int{0, 1}, "feedfacecafe0001")
	_, _, _, err := r.restore(t, etcdops.RestoreOptions{Snapshot: "latest", Wait: 2 * time.Second})
	require.ErrorContains(t, err, "timed out after 2s waiting for generation 1")
	require.ErrorContains(t, err, "etcd-2: member record at generation 0")
	require.ErrorContains(t, err, "the cluster record: generation 0, cluster id "+etcdopstest.ClusterID)
	require.ErrorContains(t, err, "journalctl -u kinfra-master")
	require.NotContains(t, err.Error(), "etcd-0:")
	versions := e.ParameterVersions(t)
	require.Len(t, r.spy.calls(), 1)

	// Again, by key this time: the pending request is resumed, not bumped,
	// and no master is rebooted again.
	e.Masters(t, 1, []int{0, 1, 2}, "feedfacecafe0001")
	res, out, _, err := r.restore(t, etcdops.RestoreOptions{Snapshot: snap.Key, Wait: time.Minute})
	require.NoError(t, err)
	require.True(t, res.Resumed)
	require.False(t, res.Written)
	require.Equal(t, 1, res.Request.Generation)
	require.Equal(t, versions[e.Names.Request], e.ParameterVersions(t)[e.Names.Request], "the request was not written again")
	require.Len(t, r.spy.calls(), 1)
	require.Contains(t, out, "request generation 1 for this snapshot")
	require.Contains(t, out, "is still pending (etcd-2)")

	// Once done, the same command does nothing; --again restores once more.
	res, out, _, err = r.restore(t, etcdops.RestoreOptions{Snapshot: snap.Key, Wait: time.Minute})
	require.NoError(t, err)
	require.True(t, res.AlreadyDone)
	require.Contains(t, out, "nothing to do")
	e.Masters(t, 2, []int{0, 1, 2}, "feedfacecafe0002")
	res, _, _, err = r.restore(t, etcdops.RestoreOptions{Snapshot: snap.Key, Again: true, NoReboot: true, Wait: time.Minute})
	require.NoError(t, err)
	require.True(t, res.Written)
	require.Equal(t, 2, res.Request.Generation)
}

func TestRestoreFailsWhenTheRestoredMembersDoNotFormOneCluster(t *testing.T) {
	r := setup(t, 0)
	e := r.e
	e.PutSnapshot(t, etcdopstest.Snap{Tier: bootstrap.TierDaily, Time: base(), Revision: 42})
	e.Masters(t, 1, []int{0, 1, 2}, "feedfacecafe0001")
	_, _, _, err := r.restore(t, etcdops.RestoreOptions{Snapshot: "latest", NoReboot: true, Wait: time.Minute})
	require.NoError(t, err)
	// etcd-1 restored into a cluster of its own.
	e.PutMember(t, 1, 1, "0bad0bad0bad0bad")
	_, _, _, err = r.restore(t, etcdops.RestoreOptions{Snapshot: "latest", Wait: time.Minute})
	require.ErrorContains(t, err, "not one cluster")
}

func TestConfirmationRefusalWritesNothing(t *testing.T) {
	r := setup(t, 0)
	r.e.PutSnapshot(t, etcdopstest.Snap{Tier: bootstrap.TierDaily, Time: base(), Revision: 42})
	r.e.RunMasters(t)
	_, _, _, err := r.restore(t, etcdops.RestoreOptions{Snapshot: "latest", Wait: time.Minute, Confirm: func() error { return fmt.Errorf("no") }})
	require.ErrorIs(t, err, etcdops.ErrRefused)
	_, ok := r.e.Request(t)
	require.False(t, ok)
	require.Empty(t, r.spy.calls())
}
