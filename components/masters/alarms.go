package masters

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/after"
	"github.com/kinfra-dev/kinfra/internal/bootstrap"
)

// The control plane's alarms other than the backups' (backup.go): a master
// whose boot failed. Each failed attempt of kinfra-master-boot publishes one
// BootFailures data point (the boot retries forever, 30 s growing to 10
// minutes apart), which EC2's health check of the master's group does not
// see. docs/masters.md ("Boot retries and status").

// BootFailedAlarmName is the AWS name of a cluster's boot-failure alarm.
func BootFailedAlarmName(cluster string) string { return cluster + "-master-boot-failed" }

// The boot-failure alarm fires on the first 5-minute period with a failed
// boot attempt, and clears after BootFailedAlarmPeriods periods without
// one: a master that keeps failing retries at least every 10 minutes (plus
// its attempt), so the alarm stays in ALARM, and notifies once, rather than
// clearing between attempts.
const (
	BootFailedAlarmPeriod  = 300
	BootFailedAlarmPeriods = 3
)

// alarmActions are ARNs as an alarm's actions (nil for none).
func alarmActions(arns []string) pulumi.Array {
	var actions pulumi.Array
	for _, a := range arns {
		actions = append(actions, pulumi.String(a))
	}
	return actions
}

// bootFailedAlarm alarms when any master's boot attempt failed. It depends
// on nothing the masters build, so that a new cluster's first failed boot
// alarms while `pulumi up` still waits for the API.
func (b *builder) bootFailedAlarm() error {
	name := b.name + "-boot-failed"
	actions := alarmActions(b.c.Alarms.Actions)
	_, err := cloudwatch.NewMetricAlarm(b.ctx, name, &cloudwatch.MetricAlarmArgs{
		Name: pulumi.String(BootFailedAlarmName(b.c.Name)),
		AlarmDescription: pulumi.String(fmt.Sprintf(
			"kinfra %s: a master's boot failed (it retries, 30 s growing to 10 minutes apart); "+
				"aws ssm get-parameter --name %s/%s/master-<slot> says which step and why; see docs/masters.md#boot-retries-and-status",
			b.c.Name, b.out.ParameterPrefix, bootstrap.StatusGroup)),
		Namespace:          pulumi.String(bootstrap.BootMetricNamespace),
		MetricName:         pulumi.String(bootstrap.BootFailuresMetric),
		Dimensions:         pulumi.StringMap{bootstrap.BootMetricDimension: pulumi.String(b.c.Name)},
		Statistic:          pulumi.String("Sum"),
		Period:             pulumi.Int(BootFailedAlarmPeriod),
		EvaluationPeriods:  pulumi.Int(BootFailedAlarmPeriods),
		DatapointsToAlarm:  pulumi.Int(1),
		Threshold:          pulumi.Float64(1),
		ComparisonOperator: pulumi.String("GreaterThanOrEqualToThreshold"),
		// No data is no failure: masters publish only failed attempts.
		TreatMissingData: pulumi.String("notBreaching"),
		AlarmActions:     actions,
		OkActions:        actions,
		Tags:             b.tags.For(name),
	}, b.parent)
	return err
}

// HealthAlarm is one of the alarms on the masters' health metrics
// (bootstrap/health.go; every master reports every minute).
type HealthAlarm struct {
	// Name follows the cluster's name in the alarm's AWS name.
	Name       string
	Metric     string
	Statistic  string
	Comparison string
	Threshold  float64
	// Period in seconds; it fires when Datapoints of Periods periods breach.
	Period, Periods, Datapoints int
	// Missing is how CloudWatch treats periods without data.
	Missing string
	// Why is the alarm's description, after "kinfra <cluster>: ".
	Why string
}

// HealthAlarms are the control plane's health alarms for a cluster of
// members masters whose join tokens live tokenTTLHours. An etcd member is
// replaced by `kinfra roll` in about 5 minutes, so the member alarm waits
// 10 before it fires; no report at all (every master down) fires it too.
func HealthAlarms(members, tokenTTLHours int) []HealthAlarm {
	return []HealthAlarm{
		{Name: "etcd-member-unhealthy", Metric: bootstrap.UnhealthyMembersMetric, Statistic: "Maximum", Comparison: "GreaterThanOrEqualToThreshold",
			Threshold: 1, Period: 60, Periods: 10, Datapoints: 10, Missing: "breaching",
			Why: "an etcd member has failed its health check (a linearizable read through it) for 10 minutes, or no master reports: etcdctl endpoint health --cluster on a master says which; see docs/masters.md#health-alarms"},
		{Name: "etcd-database-quota", Metric: bootstrap.DatabaseQuotaMetric, Statistic: "Maximum", Comparison: "GreaterThanThreshold",
			Threshold: 80, Period: 300, Periods: 2, Datapoints: 2, Missing: "notBreaching",
			Why: fmt.Sprintf("an etcd member's database is above 80%% of its %d GiB quota: at 100%% etcd raises NOSPACE and the cluster turns read-only; see docs/masters.md#health-alarms", bootstrap.EtcdQuotaBytes>>30)},
		// Every member counts each leader change it sees.
		{Name: "etcd-leader-changes", Metric: bootstrap.LeaderChangesMetric, Statistic: "Sum", Comparison: "GreaterThanThreshold",
			Threshold: float64(3 * members), Period: 900, Periods: 1, Datapoints: 1, Missing: "notBreaching",
			Why: "etcd changed leaders more than 3 times in 15 minutes (as its members count them): slow disks, a saturated network or overloaded masters; see docs/masters.md#health-alarms"},
		{Name: "master-certificate-expiring", Metric: bootstrap.CertificateDaysMetric, Statistic: "Minimum", Comparison: "LessThanThreshold",
			Threshold: 30, Period: 3600, Periods: 1, Datapoints: 1, Missing: "notBreaching",
			Why: "a master's certificate (etcd's, kubeadm's, or a kubeconfig's) expires within 30 days; see docs/masters.md#health-alarms"},
		// The leader reports every 10 minutes; a healthy rotation keeps
		// the token above two thirds of its TTL. Below a third, rotations
		// have failed for a third of the TTL, and as long is left before
		// nodes can no longer join; an hour without a report is a rotation
		// that no longer runs.
		{Name: "join-token-expiring", Metric: bootstrap.JoinTokenHoursMetric, Statistic: "Minimum", Comparison: "LessThanThreshold",
			Threshold: float64(tokenTTLHours) / 3, Period: 1800, Periods: 2, Datapoints: 2, Missing: "breaching",
			Why: fmt.Sprintf("the node join token in SSM is valid less than %.1f hours more, or the masters stopped checking it: the etcd leader's kinfra-join-token keeps failing, and new nodes cannot join once it expires; see docs/masters.md#health-alarms", float64(tokenTTLHours)/3)},
	}
}

// healthAlarms creates the health alarms once the masters answer, so that
// a new cluster does not alarm before its members report.
func (b *builder) healthAlarms() error {
	actions := alarmActions(b.c.Alarms.Actions)
	for _, a := range HealthAlarms(b.c.Masters.Count, b.c.JoinTokens.TTLHours) {
		name := b.name + "-" + a.Name
		if _, err := cloudwatch.NewMetricAlarm(b.ctx, name, &cloudwatch.MetricAlarmArgs{
			Name:               pulumi.String(b.c.Name + "-" + a.Name),
			AlarmDescription:   pulumi.String(fmt.Sprintf("kinfra %s: %s", b.c.Name, a.Why)),
			Namespace:          pulumi.String(bootstrap.HealthMetricNamespace),
			MetricName:         pulumi.String(a.Metric),
			Dimensions:         pulumi.StringMap{bootstrap.HealthMetricDimension: pulumi.String(b.c.Name)},
			Statistic:          pulumi.String(a.Statistic),
			Period:             pulumi.Int(a.Period),
			EvaluationPeriods:  pulumi.Int(a.Periods),
			DatapointsToAlarm:  pulumi.Int(a.Datapoints),
			Threshold:          pulumi.Float64(a.Threshold),
			ComparisonOperator: pulumi.String(a.Comparison),
			TreatMissingData:   pulumi.String(a.Missing),
			AlarmActions:       actions,
			OkActions:          actions,
			Tags:               b.tags.For(name),
		}, b.parent, after.All(b.out.Ready...)); err != nil {
			return fmt.Errorf("alarm %s: %w", a.Name, err)
		}
	}
	return nil
}
