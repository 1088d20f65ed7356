package masters_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/internal/bootstrap"
)

const (
	oncallTopic = "arn:aws:sns:us-east-1:123456789012:oncall"
	etcdTopic   = "arn:aws:sns:us-east-1:123456789012:etcd"
)

// One alarm over every master's failed boot attempts: it fires on the first
// 5-minute period with a failure, stays in alarm while a master keeps
// failing (its retries are at most 10 minutes apart), and treats no data as
// no failure. It notifies cluster.alarms.actions, and is created without
// waiting for the master groups, so a new cluster's failed first boot
// alarms while `pulumi up` still waits for the API.
func TestBootFailedAlarmSumsTheMastersFailedBootsAndNotifiesTheClusterActions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		actions []string
		backups bool
	}{
		{"no actions", nil, true},
		{"the cluster's actions", []string{oncallTopic, etcdTopic}, true},
		{"backups off", []string{oncallTopic}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := clusterSpec(3, 3)
			c.Alarms.Actions = tc.actions
			on := tc.backups
			c.Backup.Enabled = &on
			m := plan(t, c)
			a := get(t, m, alarmType, "prod-masters-boot-failed")
			in := a.Inputs
			require.Equal(t, "prod-master-boot-failed", in["name"])
			require.Equal(t, masters.BootFailedAlarmName("prod"), in["name"])
			require.Equal(t, bootstrap.BootMetricNamespace, in["namespace"])
			require.Equal(t, bootstrap.BootFailuresMetric, in["metricName"])
			require.Equal(t, map[string]any{bootstrap.BootMetricDimension: "prod"}, in["dimensions"], "the dimension the boot publishes")
			require.Equal(t, "Sum", in["statistic"])
			require.Equal(t, 300.0, in["period"], "5 minutes")
			require.Equal(t, 1.0, in["threshold"])
			require.Equal(t, "GreaterThanOrEqualToThreshold", in["comparisonOperator"], "one failed attempt is enough")
			require.Equal(t, 1.0, in["datapointsToAlarm"], "fires on the first period with a failure")
			require.Equal(t, float64(masters.BootFailedAlarmPeriods), in["evaluationPeriods"])
			require.Greater(t, masters.BootFailedAlarmPeriods*masters.BootFailedAlarmPeriod, 10*60, "longer than the longest retry delay")
			require.Equal(t, "notBreaching", in["treatMissingData"], "masters publish failures only")
			require.Contains(t, in["alarmDescription"], "/kinfra/prod/masters/master-<slot>")
			if tc.actions == nil {
				require.Nil(t, in["alarmActions"])
				require.Nil(t, in["okActions"])
			} else {
				require.Equal(t, tc.actions, strs(in["alarmActions"]))
				require.Equal(t, tc.actions, strs(in["okActions"]))
			}
			require.Empty(t, a.Options.DependsOn, "not after the master groups")
			for i := range 3 {
				require.NotContains(t, a.Options.Dependencies, get(t, m, asgType, fmt.Sprintf("prod-masters-master-%d", i)).URN)
			}
			// The masters may publish the metric, to its namespace only.
			shared := policies(t, m)["prod-masters-masters"]
			st := statement(t, shared, "BootMetrics")
			require.Equal(t, []string{"cloudwatch:PutMetricData"}, st.Action)
			require.Equal(t, []string{"*"}, st.Resource)
			require.Equal(t, map[string]any{"cloudwatch:namespace": bootstrap.BootMetricNamespace}, st.Condition["StringEquals"])
		})
	}
}

// The backup-age alarm notifies cluster.alarms.actions unless
// cluster.backup.alarmActions is set.
func TestBackupAlarmNotifiesTheClusterActionsUnlessItHasItsOwn(t *testing.T) {
	for _, tc := range []struct {
		name            string
		cluster, backup []string
		want            []string
	}{
		{"the cluster's", []string{oncallTopic}, nil, []string{oncallTopic}},
		{"its own", []string{oncallTopic}, []string{etcdTopic}, []string{etcdTopic}},
		{"its own, explicitly none", []string{oncallTopic}, []string{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := clusterSpec(3, 3)
			c.Alarms.Actions, c.Backup.AlarmActions = tc.cluster, tc.backup
			m := plan(t, c)
			in := get(t, m, alarmType, "prod-masters-backup-age").Inputs
			if tc.want == nil {
				require.Nil(t, in["alarmActions"])
				require.Nil(t, in["okActions"])
			} else {
				require.Equal(t, tc.want, strs(in["alarmActions"]))
				require.Equal(t, tc.want, strs(in["okActions"]))
			}
			require.Equal(t, tc.cluster, strs(get(t, m, alarmType, "prod-masters-boot-failed").Inputs["alarmActions"]), "the boot alarm always has the cluster's")
		})
	}
}
