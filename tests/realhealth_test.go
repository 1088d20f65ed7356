package tests

// The masters' health report (kinfra-master-health, docs/masters.md,
// "Health alarms") on real etcd: us-east-1's rendered members, the rendered
// script run as its timer runs it, its metrics published to moto_server's
// CloudWatch and read back, where the alarms (components/masters/alarms.go)
// would read them.

import (
	"encoding/json"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/internal/bootstrap"
)

// healthReport is what one run of the report published.
type healthReport map[string]float64

// report runs the health script's main on m and returns the data points it
// logged as published.
func (m *realMaster) healthReport(t *testing.T, lib string) healthReport {
	t.Helper()
	out, err := m.runScript(t, 2*time.Minute, lib, "main 2>&1")
	require.NoError(t, err, out)
	line := realLine(out, "published ")
	require.NotEmpty(t, line, out)
	r := healthReport{}
	for _, kv := range strings.Fields(line[strings.Index(line, "published ")+len("published "):]) {
		k, v, ok := strings.Cut(kv, "=")
		require.True(t, ok, kv)
		f, err := strconv.ParseFloat(v, 64)
		require.NoError(t, err, kv)
		r[k] = f
	}
	return r
}

// metric reads a metric's data points of the last minutes from CloudWatch
// with the alarm's statistic, as the alarm would.
func (a *realAWS) metric(t *testing.T, name, statistic string) []float64 {
	t.Helper()
	now := time.Now().UTC()
	out := a.must(t, "cloudwatch", "get-metric-statistics", "--namespace", bootstrap.HealthMetricNamespace, "--metric-name", name,
		"--dimensions", "Name="+bootstrap.HealthMetricDimension+",Value="+a.c.stack.cluster.Name,
		"--start-time", now.Add(-30*time.Minute).Format(time.RFC3339), "--end-time", now.Add(time.Minute).Format(time.RFC3339),
		"--period", "3600", "--statistics", statistic, "--output", "json")
	var resp struct{ Datapoints []map[string]any }
	require.NoError(t, json.Unmarshal([]byte(out), &resp), out)
	var vs []float64
	for _, d := range resp.Datapoints {
		vs = append(vs, d[statistic].(float64))
	}
	return vs
}

func TestRealMasterHealthReportPublishesWhatTheAlarmsWatch(t *testing.T) {
	t.Parallel()
	realSafetyTools(t)
	st := loadRealStack(t, "us-east-1")
	c := newRealCluster(t, st)
	aws := c.useAWS(t)
	c.startEtcdCluster(t)
	lib := c.scriptLib(t, bootstrap.HealthScriptPath)
	m0 := c.masters[0]

	// Every member healthy: none unhealthy, a database far below its 8 GiB
	// quota, certificates issued for a year, and no leader change count on
	// the first run (it has nothing to count from).
	first := m0.healthReport(t, lib)
	require.Equal(t, 0.0, first[bootstrap.UnhealthyMembersMetric])
	require.Greater(t, first[bootstrap.DatabaseQuotaMetric], 0.0)
	require.Less(t, first[bootstrap.DatabaseQuotaMetric], 1.0)
	require.InDelta(t, 365, first[bootstrap.CertificateDaysMetric], 1, "the boot issues etcd's certificates for a year")
	require.NotContains(t, first, bootstrap.LeaderChangesMetric)
	require.Equal(t, 0.0, m0.healthReport(t, lib)[bootstrap.LeaderChangesMetric], "no leader change since")

	// A hung member is unhealthy, seen from the others.
	require.NoError(t, c.masters[2].etcd.Signal(syscall.SIGSTOP))
	hung := m0.healthReport(t, lib)
	require.NoError(t, c.masters[2].etcd.Signal(syscall.SIGCONT))
	require.Equal(t, 1.0, hung[bootstrap.UnhealthyMembersMetric])

	// The leader goes away and comes back: a member that stayed counts the
	// change.
	leader := c.leader(t, c.masters)
	other := c.masters[(leader.slot.index+1)%len(c.masters)]
	other.healthReport(t, lib) // its count before
	leader.etcd.Stop()
	c.leader(t, []*realMaster{other, c.masters[(leader.slot.index+2)%len(c.masters)]})
	leader.startEtcd(t, nil)
	leader.waitEtcdHealthy(t)
	changed := other.healthReport(t, lib)
	require.GreaterOrEqual(t, changed[bootstrap.LeaderChangesMetric], 1.0)
	require.Equal(t, 0.0, changed[bootstrap.UnhealthyMembersMetric])

	// CloudWatch holds what the alarms read, under their namespace and
	// dimension, with their statistics; the thresholds are not reached on
	// this healthy cluster, and were for the hung member.
	alarms := map[string]masters.HealthAlarm{}
	for _, a := range masters.HealthAlarms(len(c.masters), st.cluster.JoinTokens.TTLHours) {
		alarms[a.Metric] = a
	}
	// And the join token's, which its own script publishes.
	require.Len(t, alarms, 5)
	require.Equal(t, []float64{1}, aws.metric(t, bootstrap.UnhealthyMembersMetric, alarms[bootstrap.UnhealthyMembersMetric].Statistic), "the hung member, once")
	quota := aws.metric(t, bootstrap.DatabaseQuotaMetric, alarms[bootstrap.DatabaseQuotaMetric].Statistic)
	require.Len(t, quota, 1)
	require.Less(t, quota[0], alarms[bootstrap.DatabaseQuotaMetric].Threshold)
	changes := aws.metric(t, bootstrap.LeaderChangesMetric, alarms[bootstrap.LeaderChangesMetric].Statistic)
	require.Len(t, changes, 1)
	require.GreaterOrEqual(t, changes[0], 1.0)
	days := aws.metric(t, bootstrap.CertificateDaysMetric, alarms[bootstrap.CertificateDaysMetric].Statistic)
	require.Len(t, days, 1)
	require.Greater(t, days[0], alarms[bootstrap.CertificateDaysMetric].Threshold)
}
