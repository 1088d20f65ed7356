package findings

import (
	"fmt"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/tags"
)

const metricAlarmType = "aws:cloudwatch/metricAlarm:MetricAlarm"

// BackupDisabled is the rule ID of backupDisabled's findings.
const BackupDisabled = "backup/disabled"

// IsBackupAgeAlarm reports whether a recorded resource is the alarm on the
// age of the newest etcd snapshot, which kinfra creates exactly when
// backups are on (so the failure report reads the interval from it too).
func IsBackupAgeAlarm(r mockaws.Resource) bool {
	return r.Type == metricAlarmType && mockaws.Str(r.Inputs["namespace"]) == bootstrap.BackupMetricNamespace &&
		mockaws.Str(r.Inputs["metricName"]) == bootstrap.BackupAgeMetric
}

// backupDisabled flags a control plane whose etcd is not backed up: etcd
// volumes and no backup-age alarm. Without backups, losing a majority of
// the volumes, or a bad delete, loses the cluster's state for good.
func backupDisabled(rs []mockaws.Resource) []Finding {
	members := 0
	for _, v := range mockaws.OfType(rs, ebsVolumeType) {
		if tags.IsEtcdVolume(mockaws.Tags(v.Inputs)) {
			members++
		}
	}
	if members == 0 {
		return nil
	}
	for _, a := range mockaws.OfType(rs, metricAlarmType) {
		if IsBackupAgeAlarm(a) {
			return nil
		}
	}
	return []Finding{{Message: fmt.Sprintf("etcd is not backed up (%d members, no snapshots, no %s/%s alarm): losing a majority of the etcd volumes, or a bad delete, loses the cluster's state for good. "+
		"Set cluster.backup.enabled: true (the default), or, for a cluster whose state may be lost, acknowledge backup/disabled in kinfra:acknowledgements with the reason",
		members, bootstrap.BackupMetricNamespace, bootstrap.BackupAgeMetric)}}
}
