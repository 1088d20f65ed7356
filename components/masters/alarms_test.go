package masters_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
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
			a := m.MustNamed(t, alarmType, "prod-masters-boot-failed")
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
				require.Equal(t, tc.actions, mockaws.Strings(in["alarmActions"]))
				require.Equal(t, tc.actions, mockaws.Strings(in["okActions"]))
			}
			require.Empty(t, a.Options.DependsOn, "not after the master groups")
			for i := range 3 {
				require.NotContains(t, a.Options.Dependencies, m.MustNamed(t, asgType, fmt.Sprintf("prod-masters-master-%d", i)).URN)
			}
			// The masters may publish the metric, to its namespace only.
			shared := policies(t, m)["prod-masters-masters"]
			st := statement(t, shared, "MasterMetrics")
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
			in := m.MustNamed(t, alarmType, "prod-masters-backup-age").Inputs
			if tc.want == nil {
				require.Nil(t, in["alarmActions"])
				require.Nil(t, in["okActions"])
			} else {
				require.Equal(t, tc.want, mockaws.Strings(in["alarmActions"]))
				require.Equal(t, tc.want, mockaws.Strings(in["okActions"]))
			}
			require.Equal(t, tc.cluster, mockaws.Strings(m.MustNamed(t, alarmType, "prod-masters-boot-failed").Inputs["alarmActions"]), "the boot alarm always has the cluster's")
		})
	}
}

// The health alarms: every one in the plan with its metric, threshold and
// periods, on what the masters' health report publishes, notifying
// cluster.alarms.actions, created once the masters answer.
func TestHealthAlarmsWatchTheMastersReportsWithTheirThresholds(t *testing.T) {
	c := clusterSpec(5, 3)
	c.Alarms.Actions = []string{oncallTopic}
	c.JoinTokens.TTLHours = 12
	m := plan(t, c)
	want := map[string]struct {
		metric, statistic, comparison, missing string
		threshold                              float64
		period, periods, datapoints            float64
	}{
		"prod-etcd-member-unhealthy":       {bootstrap.UnhealthyMembersMetric, "Maximum", "GreaterThanOrEqualToThreshold", "breaching", 1, 60, 10, 10},
		"prod-etcd-database-quota":         {bootstrap.DatabaseQuotaMetric, "Maximum", "GreaterThanThreshold", "notBreaching", 80, 300, 2, 2},
		"prod-etcd-leader-changes":         {bootstrap.LeaderChangesMetric, "Sum", "GreaterThanThreshold", "notBreaching", 15, 900, 1, 1},
		"prod-master-certificate-expiring": {bootstrap.CertificateDaysMetric, "Minimum", "LessThanThreshold", "notBreaching", 30, 3600, 1, 1},
		"prod-join-token-expiring":         {bootstrap.JoinTokenHoursMetric, "Minimum", "LessThanThreshold", "breaching", 4, 1800, 2, 2}, // a third of the TTL
	}
	require.Len(t, masters.HealthAlarms(5, 12), len(want))
	for _, a := range masters.HealthAlarms(5, 12) {
		w, ok := want["prod-"+a.Name]
		require.True(t, ok, a.Name)
		in := m.MustNamed(t, alarmType, "prod-masters-"+a.Name).Inputs
		require.Equal(t, "prod-"+a.Name, in["name"])
		require.Equal(t, bootstrap.HealthMetricNamespace, in["namespace"])
		require.Equal(t, map[string]any{bootstrap.HealthMetricDimension: "prod"}, in["dimensions"])
		require.Equal(t, w.metric, in["metricName"])
		require.Equal(t, w.statistic, in["statistic"])
		require.Equal(t, w.comparison, in["comparisonOperator"])
		require.Equal(t, w.threshold, in["threshold"], a.Name)
		require.Equal(t, w.period, in["period"])
		require.Equal(t, w.periods, in["evaluationPeriods"])
		require.Equal(t, w.datapoints, in["datapointsToAlarm"])
		require.Equal(t, w.missing, in["treatMissingData"])
		require.Equal(t, []string{oncallTopic}, mockaws.Strings(in["alarmActions"]))
		require.Equal(t, []string{oncallTopic}, mockaws.Strings(in["okActions"]))
		require.Contains(t, in["alarmDescription"], "docs/masters.md#health-alarms")
		for i := range 5 {
			require.Contains(t, m.MustNamed(t, alarmType, "prod-masters-"+a.Name).Options.Dependencies, m.MustNamed(t, asgType, fmt.Sprintf("prod-masters-master-%d", i)).URN, "after the masters answer")
		}
	}
	// A roll takes a member down for about 5 minutes: the member alarm
	// waits longer.
}
