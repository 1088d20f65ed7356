package masters

import (
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
			m := b.master(1, "vol-1", "Z1")
			require.Equal(t, spec.DefaultEtcd, m.EtcdVersion, "the etcd the image installs")
			require.Equal(t, tc.want, m.Backup)
		})
	}
}
