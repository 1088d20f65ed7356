package masters

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/after"
	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/iampolicy"
)

// Backups: the etcd leader snapshots etcd every cluster.backup.intervalMinutes,
// verifies the snapshot and uploads it under <prefix>/<tier>/; every master
// then publishes the newest snapshot's age. This file makes where they go
// (the bucket, unless the cluster names an existing one) and the alarm on
// their age. The masters' permissions are in iam.go (backupStatements).

// BackupAlarmPeriods is how many consecutive intervals the newest snapshot
// must be too old (or unreported) before the backup-age alarm fires: two,
// so that one late or lost data point (a timer run that straddles a period
// boundary, a CloudWatch ingestion delay) is not a page.
const BackupAlarmPeriods = 2

// BackupAgeThreshold is the newest snapshot's age, in seconds, beyond which
// the alarm counts a period as breaching: two intervals and ten minutes, so
// that one failed snapshot, and a slow upload after it, do not count.
func BackupAgeThreshold(intervalMinutes int) int { return (2*intervalMinutes + 10) * 60 }

// backupLayout is the snapshots' key layout as the masters use it.
func (b *builder) backupLayout() bootstrap.Backup {
	return bootstrap.Backup{Bucket: b.out.BackupBucket, Prefix: b.c.Backup.Prefix, IntervalMinutes: b.c.Backup.IntervalMinutes}
}

// bucketArn is the backup bucket's ARN (S3 ARNs have no region or account).
func (b *builder) bucketArn() string {
	return fmt.Sprintf("arn:%s:s3:::%s", b.partition, b.out.BackupBucket)
}

// backupBucket creates the bucket the masters back etcd up to, unless the
// cluster names an existing one: private, versioned, encrypted with the
// cluster key, TLS only, each tier expired after its retention, and
// optionally under Object Lock. The master groups wait for its
// configuration (b.backupDeps), so that no snapshot is uploaded before the
// bucket encrypts and expires it. S3 refuses concurrent changes to one
// bucket's configuration (OperationAborted), so each part waits for the
// one before.
func (b *builder) backupBucket() error {
	bk := b.c.Backup
	b.out.BackupBucket = b.c.BackupBucketName(b.account)
	if bk.Bucket != "" {
		return nil
	}
	name := b.name + "-backup"
	bucketArgs := &s3.BucketV2Args{
		Bucket: pulumi.String(b.out.BackupBucket),
		// Never emptied by Pulumi: a destroy fails on a bucket with
		// snapshots instead of deleting them.
		ForceDestroy: pulumi.Bool(false),
		Tags:         b.tags.For(name),
	}
	if bk.ObjectLockDays > 0 {
		// Object Lock can only be chosen when the bucket is created: a
		// later change would replace the bucket, which protect refuses.
		bucketArgs.ObjectLockEnabled = pulumi.Bool(true)
	}
	// The cluster's backups: never deleted by Pulumi, and kept in AWS even
	// if the bucket leaves the stack.
	bucket, err := s3.NewBucketV2(b.ctx, name, bucketArgs, b.parent, pulumi.Protect(true), pulumi.RetainOnDelete(true))
	if err != nil {
		return err
	}
	// The bucket's name (its ID too), as an output: the parts wait for it.
	id := bucket.Bucket
	add := func(r pulumi.CustomResource, err error) error {
		if err == nil {
			b.backupDeps = append(b.backupDeps, r)
		}
		return err
	}
	// afterPrevious orders a configuration part after the previous one.
	afterPrevious := func() pulumi.ResourceOption {
		if len(b.backupDeps) == 0 {
			return after.All()
		}
		return after.All(b.backupDeps[len(b.backupDeps)-1])
	}
	if err := add(s3.NewBucketOwnershipControls(b.ctx, name+"-ownership", &s3.BucketOwnershipControlsArgs{
		Bucket: id,
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, b.parent, afterPrevious())); err != nil {
		return err
	}
	if err := add(s3.NewBucketPublicAccessBlock(b.ctx, name+"-public-access", &s3.BucketPublicAccessBlockArgs{
		Bucket:                id,
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, b.parent, afterPrevious())); err != nil {
		return err
	}
	versioning, err := s3.NewBucketVersioningV2(b.ctx, name+"-versioning", &s3.BucketVersioningV2Args{
		Bucket:                  id,
		VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String("Enabled")},
	}, b.parent, afterPrevious())
	if err := add(versioning, err); err != nil {
		return err
	}
	if err := add(s3.NewBucketServerSideEncryptionConfigurationV2(b.ctx, name+"-encryption", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: id,
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
				SseAlgorithm:   pulumi.String("aws:kms"),
				KmsMasterKeyId: b.kmsKeyArn,
			},
			// One data key per bucket instead of one KMS call per object;
			// the KMS encryption context is then the bucket's ARN.
			BucketKeyEnabled: pulumi.Bool(true),
		}},
	}, b.parent, afterPrevious())); err != nil {
		return err
	}
	policy := b.kmsKeyArn.ApplyT(func(key string) (string, error) {
		return b.bucketPolicy(key).JSON()
	}).(pulumi.StringOutput)
	if err := add(s3.NewBucketPolicy(b.ctx, name+"-policy", &s3.BucketPolicyArgs{Bucket: id, Policy: policy}, b.parent, afterPrevious())); err != nil {
		return err
	}
	// After versioning (above): the rules expire noncurrent versions.
	if err := add(s3.NewBucketLifecycleConfigurationV2(b.ctx, name+"-lifecycle", &s3.BucketLifecycleConfigurationV2Args{
		Bucket: id,
		Rules:  b.lifecycleRules(),
	}, b.parent, afterPrevious())); err != nil {
		return err
	}
	if bk.ObjectLockDays > 0 {
		if err := add(s3.NewBucketObjectLockConfigurationV2(b.ctx, name+"-object-lock", &s3.BucketObjectLockConfigurationV2Args{
			Bucket: id,
			Rule: &s3.BucketObjectLockConfigurationV2RuleArgs{
				DefaultRetention: &s3.BucketObjectLockConfigurationV2RuleDefaultRetentionArgs{
					// Governance: an administrator with
					// s3:BypassGovernanceRetention can still remove a
					// version; no master can.
					Mode: pulumi.String("GOVERNANCE"),
					Days: pulumi.Int(bk.ObjectLockDays),
				},
			},
		}, b.parent, afterPrevious())); err != nil {
			return err
		}
	}
	return nil
}

// lifecycleRules expire each tier's snapshots after its retention, the
// versions expiry leaves behind a day later (or once their lock has run
// out), and abandoned multipart uploads after a day. The tiers' prefixes
// are disjoint, so no two rules act on the same object.
func (b *builder) lifecycleRules() s3.BucketLifecycleConfigurationV2RuleArray {
	r := b.c.Backup.Retention
	// The roll's snapshots live as long as the daily ones.
	days := map[string]int{bootstrap.TierFrequent: r.FrequentDays, bootstrap.TierHourly: r.HourlyDays, bootstrap.TierDaily: r.DailyDays, bootstrap.TierPreRoll: r.DailyDays}
	noncurrent := max(1, b.c.Backup.ObjectLockDays)
	layout := b.backupLayout()
	var rules s3.BucketLifecycleConfigurationV2RuleArray
	for _, tier := range []string{bootstrap.TierFrequent, bootstrap.TierHourly, bootstrap.TierDaily, bootstrap.TierPreRoll} {
		rules = append(rules, &s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:         pulumi.String("expire-" + tier),
			Status:     pulumi.String("Enabled"),
			Filter:     &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String(layout.TierPrefix(tier))},
			Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(days[tier])},
			NoncurrentVersionExpiration: &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
				NoncurrentDays: pulumi.Int(noncurrent),
			},
			AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
				DaysAfterInitiation: pulumi.Int(1),
			},
		})
	}
	return rules
}

// bucketPolicy refuses requests without TLS, and uploads that ask for an
// encryption other than SSE-KMS under the cluster key (uploads that ask
// for none get the bucket's default: the cluster key).
func (b *builder) bucketPolicy(keyArn string) iampolicy.Document {
	arn := b.bucketArn()
	anyone := &iampolicy.Principal{AWS: []string{"*"}}
	objects := []string{arn + "/*"}
	return iampolicy.New(
		iampolicy.Statement{Sid: "DenyInsecureTransport", Effect: "Deny", Principal: anyone,
			Action: []string{"s3:*"}, Resource: []string{arn, arn + "/*"},
			Condition: map[string]map[string]any{"Bool": {"aws:SecureTransport": "false"}}},
		iampolicy.Statement{Sid: "DenyOtherEncryption", Effect: "Deny", Principal: anyone,
			Action: []string{"s3:PutObject"}, Resource: objects,
			Condition: map[string]map[string]any{
				"Null":            {"s3:x-amz-server-side-encryption": "false"},
				"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
			}},
		iampolicy.Statement{Sid: "DenyOtherKMSKey", Effect: "Deny", Principal: anyone,
			Action: []string{"s3:PutObject"}, Resource: objects,
			Condition: map[string]map[string]any{
				"Null":            {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
				"StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": keyArn},
			}},
	)
}

// backupAlarm alarms when the newest snapshot is too old, or when no master
// reports its age at all: no report means no one is taking backups. It is
// created once the masters answer, so a new cluster does not alarm before
// its first snapshot is due.
func (b *builder) backupAlarm() error {
	bk := b.c.Backup
	name := b.name + "-backup-age"
	// cluster.backup.alarmActions, else the cluster's alarm actions.
	actions := alarmActions(b.c.BackupAlarmActions())
	period := bk.IntervalMinutes * 60
	_, err := cloudwatch.NewMetricAlarm(b.ctx, name, &cloudwatch.MetricAlarmArgs{
		Name: pulumi.String(b.c.Name + "-etcd-backup-age"),
		AlarmDescription: pulumi.String(fmt.Sprintf(
			"kinfra %s: the newest etcd snapshot in s3://%s/%s/ is older than %d minutes, or no master reports it; see docs/masters.md#backups",
			b.c.Name, b.out.BackupBucket, bk.Prefix, BackupAgeThreshold(bk.IntervalMinutes)/60)),
		Namespace:          pulumi.String(bootstrap.BackupMetricNamespace),
		MetricName:         pulumi.String(bootstrap.BackupAgeMetric),
		Dimensions:         pulumi.StringMap{bootstrap.BackupMetricDimension: pulumi.String(b.c.Name)},
		Statistic:          pulumi.String("Minimum"),
		Period:             pulumi.Int(period),
		EvaluationPeriods:  pulumi.Int(BackupAlarmPeriods),
		DatapointsToAlarm:  pulumi.Int(BackupAlarmPeriods),
		Threshold:          pulumi.Float64(float64(BackupAgeThreshold(bk.IntervalMinutes))),
		ComparisonOperator: pulumi.String("GreaterThanThreshold"),
		TreatMissingData:   pulumi.String("breaching"),
		AlarmActions:       actions,
		OkActions:          actions,
		Tags:               b.tags.For(name),
	}, b.parent, after.All(b.out.Ready...))
	return err
}
