package spec

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Backup is how the masters back up etcd: the etcd leader snapshots it on a
// timer, verifies the snapshot and uploads it to S3; the bucket's lifecycle
// keeps tiers of them. See docs/masters.md ("Backups").
type Backup struct {
	// Enabled turns backups on. Default true. Turning them off is an error
	// finding (backup/disabled) unless the stack acknowledges it.
	Enabled *bool `json:"enabled,omitempty"`
	// IntervalMinutes between snapshots, the recovery point: 5, 10, 15, 20,
	// 30 or 60. Default [DefaultBackupInterval].
	IntervalMinutes int `json:"intervalMinutes,omitempty"`
	// Retention of each tier, in days: every snapshot (frequent), the first
	// of each hour (hourly) and the first of each UTC day (daily). Defaults
	// [DefaultBackupFrequentDays], [DefaultBackupHourlyDays] and
	// [DefaultBackupDailyDays] (kops' etcd-manager keeps the same).
	Retention BackupRetention `json:"retention"`
	// Bucket is an existing bucket to use instead of the one kinfra creates
	// (<cluster>-etcd-<account>-<region>). kinfra then creates no bucket,
	// and sets none of its versioning, encryption, lifecycle or policy.
	Bucket string `json:"bucket,omitempty"`
	// BucketKmsKeyArn is the KMS key an existing bucket encrypts with, if
	// it uses SSE-KMS; the masters are allowed to use it through S3 only.
	BucketKmsKeyArn string `json:"bucketKmsKeyArn,omitempty"`
	// Prefix is the key prefix the snapshots go under, and the only place
	// the masters may write. Default <cluster>/etcd (backupPrefixSuffix).
	Prefix string `json:"prefix,omitempty"`
	// ObjectLockDays, when set, creates the bucket with S3 Object Lock in
	// governance mode, retaining each snapshot version this many days (at
	// most the daily retention). Only for a bucket kinfra creates; it can
	// only be chosen when the bucket is created.
	ObjectLockDays int `json:"objectLockDays,omitempty"`
	// AlarmActions are ARNs (e.g. SNS topics) notified when the newest
	// snapshot is too old. Unset, the alarm notifies cluster.alarms.actions;
	// an empty list notifies nobody.
	AlarmActions []string `json:"alarmActions,omitempty"`
}

// BackupRetention is each backup tier's retention in days.
type BackupRetention struct {
	FrequentDays int `json:"frequentDays,omitempty"`
	HourlyDays   int `json:"hourlyDays,omitempty"`
	DailyDays    int `json:"dailyDays,omitempty"`
}

// Backup defaults.
const (
	DefaultBackupInterval     = 15
	DefaultBackupFrequentDays = 1
	DefaultBackupHourlyDays   = 7
	DefaultBackupDailyDays    = 365
	backupPrefixSuffix        = "/etcd" // after the cluster name
)

// BackupIntervals are the intervals the masters' timer supports (divisors
// of an hour, so that each hour's first snapshot is well defined).
var BackupIntervals = []int{5, 10, 15, 20, 30, 60}

// On reports whether backups are enabled.
func (b Backup) On() bool { return b.Enabled == nil || *b.Enabled }

// withDefaults applies the backup defaults for cluster name.
func (b Backup) withDefaults(name string) Backup {
	b.Enabled = boolOr(b.Enabled, true)
	if b.IntervalMinutes == 0 {
		b.IntervalMinutes = DefaultBackupInterval
	}
	r := &b.Retention
	for _, d := range []struct {
		field *int
		value int
	}{{&r.FrequentDays, DefaultBackupFrequentDays}, {&r.HourlyDays, DefaultBackupHourlyDays}, {&r.DailyDays, DefaultBackupDailyDays}} {
		if *d.field == 0 {
			*d.field = d.value
		}
	}
	if b.Prefix == "" && name != "" {
		b.Prefix = name + backupPrefixSuffix
	}
	b.AlarmActions = slices.Clone(b.AlarmActions)
	return b
}

// BackupBucketName is the bucket kinfra creates for a cluster's backups:
// S3 names are global, so the account and region make it unique; the
// cluster name's limit (MaxClusterName) keeps it within S3's 63.
func BackupBucketName(cluster, account, region string) string {
	return fmt.Sprintf("%s-etcd-%s-%s", cluster, account, region)
}

// BucketName is the bucket the backups go to: the existing one, or the one
// kinfra creates in account.
func (c Cluster) BackupBucketName(account string) string {
	if c.Backup.Bucket != "" {
		return c.Backup.Bucket
	}
	return BackupBucketName(c.Name, account, c.Region)
}

var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

var backupPrefix = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`)

func (b Backup) check(path string) validate.Errors {
	var errs validate.Errors
	if !b.On() {
		return errs
	}
	if !slices.Contains(BackupIntervals, b.IntervalMinutes) {
		errs.Addf(path+".intervalMinutes", "%d is not allowed; use 5, 10, 15, 20, 30 or 60 (a divisor of an hour, so every master's timer fires at the same minutes)", b.IntervalMinutes)
	}
	r := b.Retention
	for _, f := range []struct {
		name string
		days int
	}{{"frequentDays", r.FrequentDays}, {"hourlyDays", r.HourlyDays}, {"dailyDays", r.DailyDays}} {
		if f.days < 1 || f.days > 3650 {
			errs.Addf(path+".retention."+f.name, "%d is not allowed; use 1 to 3650 days (S3 lifecycle expires whole days)", f.days)
		}
	}
	if r.HourlyDays >= 1 && r.FrequentDays > r.HourlyDays {
		errs.Addf(path+".retention.frequentDays", "%d is longer than hourlyDays (%d); every snapshot would outlive the hourly ones", r.FrequentDays, r.HourlyDays)
	}
	if r.DailyDays >= 1 && r.HourlyDays > r.DailyDays {
		errs.Addf(path+".retention.hourlyDays", "%d is longer than dailyDays (%d); hourly snapshots would outlive the daily ones", r.HourlyDays, r.DailyDays)
	}
	if b.Bucket != "" && (!bucketName.MatchString(b.Bucket) || strings.Contains(b.Bucket, "..") || strings.HasPrefix(b.Bucket, "xn--")) {
		errs.Addf(path+".bucket", "%q is not an S3 bucket name; use 3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit", b.Bucket)
	}
	if b.BucketKmsKeyArn != "" {
		if b.Bucket == "" {
			errs.Addf(path+".bucketKmsKeyArn", "set, but kinfra creates the bucket and encrypts it with the cluster key; remove it, or name the existing bucket in bucket")
		} else if !kmsKeyArn.MatchString(b.BucketKmsKeyArn) {
			errs.Addf(path+".bucketKmsKeyArn", "%q is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)", b.BucketKmsKeyArn)
		}
	}
	// An empty prefix is left when the cluster has no name, reported there.
	if b.Prefix != "" && (!backupPrefix.MatchString(b.Prefix) || len(b.Prefix) > 200) {
		errs.Addf(path+".prefix", "%q is not allowed; use slash-separated segments of letters, digits, '.', '_' and '-', without leading or trailing '/', at most 200 characters", b.Prefix)
	}
	if b.ObjectLockDays != 0 {
		switch {
		case b.Bucket != "":
			errs.Addf(path+".objectLockDays", "set, but bucket names an existing bucket; kinfra sets Object Lock only on the bucket it creates")
		case b.ObjectLockDays < 1 || (r.DailyDays >= 1 && b.ObjectLockDays > r.DailyDays):
			errs.Addf(path+".objectLockDays", "%d is not allowed; use 1 to dailyDays (%d): a locked snapshot cannot expire before its lock does", b.ObjectLockDays, r.DailyDays)
		}
	}
	errs.Append(checkAlarmActions(path+".alarmActions", b.AlarmActions))
	return errs
}
