package masters

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/spec"
)

// The boot scripts render what master() hands them; these are the backup
// settings and the etcd version they record with every snapshot.
func TestEachSlotIsToldTheEtcdVersionAndWhereToBackUp(t *testing.T) {
	off := false
	for _, tc := range []struct {
		name   string
		backup spec.Backup
		want   *bootstrap.Backup
	}{
		{"defaults", spec.Backup{}, &bootstrap.Backup{Bucket: "prod-etcd-123456789012-us-east-1", Prefix: "prod/etcd", IntervalMinutes: 15}},
		{"existing bucket", spec.Backup{Bucket: "central", Prefix: "k8s/prod", IntervalMinutes: 5}, &bootstrap.Backup{Bucket: "central", Prefix: "k8s/prod", IntervalMinutes: 5}},
		{"off", spec.Backup{Enabled: &off}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := spec.Resolve(spec.Cluster{Name: "prod", Region: "us-east-1",
				Network: spec.Network{AvailabilityZones: []string{"us-east-1a", "us-east-1b", "us-east-1c"}},
				Masters: spec.Masters{Count: 3}, Backup: tc.backup})
			require.NoError(t, err)
			b := &builder{c: c, account: "123456789012", partition: "aws", out: &ControlPlane{APIName: "api.prod.k8s.internal", ParameterPrefix: "/kinfra/prod"}}
			if c.Backup.On() {
				b.out.BackupBucket = c.BackupBucketName(b.account)
			}
			m := b.master(1, "vol-1", "Z1", testKeyArn)
			require.Equal(t, spec.DefaultEtcd, m.EtcdVersion, "the etcd the image installs")
			require.Equal(t, tc.want, m.Backup)
		})
	}
}

const testKeyArn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

// Each slot is told the join token's lifetime from the spec and the cluster
// key it writes the token's parameter with.
func TestEachSlotIsToldTheJoinTokenTTLAndTheClusterKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec spec.JoinTokens
		want int
	}{
		{"default", spec.JoinTokens{}, 24},
		{"set", spec.JoinTokens{TTLHours: 12}, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := spec.Resolve(spec.Cluster{Name: "prod", Region: "us-east-1",
				Network: spec.Network{AvailabilityZones: []string{"us-east-1a", "us-east-1b", "us-east-1c"}},
				Masters: spec.Masters{Count: 3}, JoinTokens: tc.spec})
			require.NoError(t, err)
			b := &builder{c: c, account: "123456789012", partition: "aws", out: &ControlPlane{APIName: "api.prod.k8s.internal", ParameterPrefix: "/kinfra/prod"}}
			b.out.BackupBucket = c.BackupBucketName(b.account)
			m := b.master(0, "vol-1", "Z1", testKeyArn)
			require.Equal(t, bootstrap.JoinToken{TTLHours: tc.want, KMSKeyArn: testKeyArn}, m.JoinToken)
			r, err := m.Render()
			require.NoError(t, err)
			env := r.Files[bootstrap.MasterEnvPath].Content
			require.Contains(t, env, fmt.Sprintf("JOIN_TOKEN_TTL='%d'\n", tc.want*3600))
			require.Contains(t, env, "JOIN_TOKEN_PARAMETER='join/bootstrap-token'\n")
			require.Contains(t, env, "KMS_KEY_ARN='"+testKeyArn+"'\n")
		})
	}
}
