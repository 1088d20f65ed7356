package masters

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

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
