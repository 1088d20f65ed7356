package spec_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/spec"
)

func TestBackupDefaultsToKopsRetentionEveryFifteenMinutesUnderTheClusterPrefix(t *testing.T) {
	eff, err := spec.Resolve(valid())
	require.NoError(t, err)
	b := eff.Backup
	require.True(t, b.On())
	require.Equal(t, 15, b.IntervalMinutes)
	require.Equal(t, spec.BackupRetention{FrequentDays: 1, HourlyDays: 7, DailyDays: 365}, b.Retention)
	require.Equal(t, "prod-use1/etcd", b.Prefix)
	require.Equal(t, "prod-use1-etcd-123456789012-us-east-1", eff.BackupBucketName("123456789012"))
	b.Bucket = "shared-etcd-backups"
	eff.Backup = b
	require.Equal(t, "shared-etcd-backups", eff.BackupBucketName("123456789012"), "an existing bucket is used as named")
}

func TestEachBadBackupSettingHasItsExactMessage(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(b *spec.Backup)
		want   string
	}{
		{"interval not dividing the hour", func(b *spec.Backup) { b.IntervalMinutes = 7 },
			"cluster.backup.intervalMinutes: 7 is not allowed; use 5, 10, 15, 20, 30 or 60 (a divisor of an hour, so every master's timer fires at the same minutes)"},
		{"interval over an hour", func(b *spec.Backup) { b.IntervalMinutes = 120 },
			"cluster.backup.intervalMinutes: 120 is not allowed; use 5, 10, 15, 20, 30 or 60 (a divisor of an hour, so every master's timer fires at the same minutes)"},
		{"negative retention", func(b *spec.Backup) { b.Retention.HourlyDays = -1 },
			"cluster.backup.retention.hourlyDays: -1 is not allowed; use 1 to 3650 days (S3 lifecycle expires whole days)"},
		{"retention beyond ten years", func(b *spec.Backup) { b.Retention.DailyDays = 3651 },
			"cluster.backup.retention.dailyDays: 3651 is not allowed; use 1 to 3650 days (S3 lifecycle expires whole days)"},
		{"frequent outliving hourly", func(b *spec.Backup) { b.Retention.FrequentDays = 10 },
			"cluster.backup.retention.frequentDays: 10 is longer than hourlyDays (7); every snapshot would outlive the hourly ones"},
		{"hourly outliving daily", func(b *spec.Backup) { b.Retention.HourlyDays, b.Retention.DailyDays = 30, 14 },
			"cluster.backup.retention.hourlyDays: 30 is longer than dailyDays (14); hourly snapshots would outlive the daily ones"},
		{"bucket name with capitals", func(b *spec.Backup) { b.Bucket = "Prod-Backups" },
			`cluster.backup.bucket: "Prod-Backups" is not an S3 bucket name; use 3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit`},
		{"bucket name too long", func(b *spec.Backup) {
			b.Bucket = "a" + strings.Repeat("b", 66)
		},
			`cluster.backup.bucket: "abbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" is not an S3 bucket name; use 3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit`},
		{"key for the bucket kinfra creates", func(b *spec.Backup) {
			b.BucketKmsKeyArn = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab"
		}, "cluster.backup.bucketKmsKeyArn: set, but kinfra creates the bucket and encrypts it with the cluster key; remove it, or name the existing bucket in bucket"},
		{"key that is an alias", func(b *spec.Backup) { b.Bucket, b.BucketKmsKeyArn = "shared-etcd", "alias/backups" },
			`cluster.backup.bucketKmsKeyArn: "alias/backups" is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)`},
		{"prefix with a leading slash", func(b *spec.Backup) { b.Prefix = "/etcd" },
			`cluster.backup.prefix: "/etcd" is not allowed; use slash-separated segments of letters, digits, '.', '_' and '-', without leading or trailing '/', at most 200 characters`},
		{"prefix with a space", func(b *spec.Backup) { b.Prefix = "prod etcd" },
			`cluster.backup.prefix: "prod etcd" is not allowed; use slash-separated segments of letters, digits, '.', '_' and '-', without leading or trailing '/', at most 200 characters`},
		{"object lock on an existing bucket", func(b *spec.Backup) { b.Bucket, b.ObjectLockDays = "shared-etcd", 7 },
			"cluster.backup.objectLockDays: set, but bucket names an existing bucket; kinfra sets Object Lock only on the bucket it creates"},
		{"object lock outliving the daily tier", func(b *spec.Backup) { b.ObjectLockDays = 400 },
			"cluster.backup.objectLockDays: 400 is not allowed; use 1 to dailyDays (365): a locked snapshot cannot expire before its lock does"},
		{"alarm action that is no ARN", func(b *spec.Backup) { b.AlarmActions = []string{"oncall@example.com"} },
			`cluster.backup.alarmActions[0]: "oncall@example.com" is not an alarm action ARN (e.g. arn:aws:sns:us-east-1:123456789012:oncall)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.break_(&c.Backup)
			require.Equal(t, []string{tc.want}, messages(t, c))
		})
	}
}

func TestEveryBadBackupSettingIsReportedAtOnce(t *testing.T) {
	c := valid()
	c.Backup = spec.Backup{IntervalMinutes: 7, Prefix: "/x", AlarmActions: []string{"x"}, Retention: spec.BackupRetention{DailyDays: 4000}}
	require.Len(t, messages(t, c), 4)
}

func TestBackupsOffSkipTheirChecks(t *testing.T) {
	c := valid()
	off := false
	c.Backup = spec.Backup{Enabled: &off, IntervalMinutes: 7}
	require.Empty(t, messages(t, c), "turning backups off is a finding (backup/disabled), not a config error")
}
