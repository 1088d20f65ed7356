package bootstrap

import (
	"fmt"
	"strconv"

	"github.com/kinfra-dev/kinfra/internal/tags"
)

// The etcd cluster's durable record and its backups: what the masters write
// outside their instances, so that a decision that could lose data (format a
// blank volume, run kubeadm init, restore a snapshot) rests on evidence that
// survives every instance. docs/masters.md ("etcd data safety").
//
// The record is SSM String parameters under <ParameterPrefix>/etcd/ (no
// secrets: IDs, names, generations). The masters write them at run time;
// Pulumi does not manage them, so no `pulumi up` or refresh can reset them.
const (
	// StateGroup is the parameter group of the record, beside the PKI's
	// control-plane and join groups.
	StateGroup = "etcd"
	// ClusterRecord is written once the cluster exists (after kubeadm init,
	// or by the first member that finds the cluster without one): its etcd
	// cluster ID, restore generation and cluster token.
	ClusterRecord = StateGroup + "/cluster"
	// RestoreRequest is written by `kinfra etcd restore`: which snapshot
	// every member restores, for which generation.
	RestoreRequest = StateGroup + "/restore"
	// membersRecord holds one parameter per member, written by the member
	// once it is healthy: its member ID and generation.
	membersRecord = StateGroup + "/members"
)

// ParameterPrefix is the SSM path under which a cluster's PKI groups and
// its etcd record live.
func ParameterPrefix(cluster string) string { return "/kinfra/" + cluster }

// The PKI's parameter groups below the prefix: the masters read both, nodes
// only the join group.
const (
	ControlPlaneParameters = "control-plane"
	JoinParameters         = "join"
)

// MemberRecord is slot i's member parameter below the parameter prefix.
func MemberRecord(slot int) string { return membersRecord + "/" + tags.EtcdMember(slot) }

// Backups: the CloudWatch metric every master publishes after each timer
// run, and the alarm reads.
const (
	BackupMetricNamespace = "kinfra/etcd"
	// BackupAgeMetric is the age in seconds of the newest snapshot in the
	// bucket, as a master sees it (dimension ClusterName).
	BackupAgeMetric = "NewestSnapshotAgeSeconds"
	// BackupMetricDimension names the cluster in the metric.
	BackupMetricDimension = "ClusterName"
)

// Backup tiers: a snapshot goes under <prefix>/<tier>/, and the bucket's
// lifecycle expires each tier after its own retention. The first snapshot
// of a UTC day is daily, the first of an hour hourly, every other frequent.
const (
	TierFrequent = "frequent"
	TierHourly   = "hourly"
	TierDaily    = "daily"
)

// BackupTiers are every tier a snapshot may be under: the masters' three,
// in the order a snapshot is classified, then the roll's.
var BackupTiers = []string{TierDaily, TierHourly, TierFrequent, TierPreRoll}

// Backup is where and how often the masters snapshot etcd. A nil
// Master.Backup renders no backup timer.
type Backup struct {
	// Bucket is the S3 bucket; Prefix the key prefix (no leading or
	// trailing slash) under which the masters may write, and nowhere else.
	Bucket string
	Prefix string
	// IntervalMinutes between snapshots; divides 60.
	IntervalMinutes int
}

// TierPrefix is the key prefix of one tier's snapshots.
func (b Backup) TierPrefix(tier string) string { return b.Prefix + "/" + tier + "/" }

func (b Backup) check() []string {
	var problems []string
	// The timer fires on the minutes that are multiples of the interval
	// (timer()): the interval must divide the hour. Which of those the
	// cluster may choose is the spec's (spec.BackupIntervals).
	if b.IntervalMinutes < 1 || b.IntervalMinutes > 60 || 60%b.IntervalMinutes != 0 {
		problems = append(problems, "Backup.IntervalMinutes "+strconv.Itoa(b.IntervalMinutes))
	}
	for name, v := range map[string]string{"Backup.Bucket": b.Bucket, "Backup.Prefix": b.Prefix} {
		if v == "" || !safeValue.MatchString(v) || v[0] == '/' || v[len(v)-1] == '/' {
			problems = append(problems, fmt.Sprintf("%s %q", name, v))
		}
	}
	return problems
}

// timer is the backup timer: every master fires at the same wall-clock
// minutes (the leader snapshots), never catching up missed runs.
func (b Backup) timer() string {
	calendar := fmt.Sprintf("*:00/%02d", b.IntervalMinutes)
	if b.IntervalMinutes == 60 {
		calendar = "hourly"
	}
	return `[Unit]
Description=kinfra etcd backup every ` + strconv.Itoa(b.IntervalMinutes) + ` minutes

[Timer]
OnCalendar=` + calendar + `
AccuracySec=1s
Persistent=false

[Install]
WantedBy=timers.target
`
}

// TierPreRoll holds the snapshot `kinfra roll` takes before it replaces the
// first master. The masters never write it; the bucket expires it with the
// daily tier's retention.
const TierPreRoll = "pre-roll"
