package bootstrap

// The masters' health metrics (assets/kinfra-master-health.sh, every
// minute from every master), which the control plane's alarms watch
// (components/masters/alarms.go; docs/masters.md, "Health alarms"). They
// share the boot failures' namespace and dimension, which every master may
// publish to.
const (
	HealthMetricNamespace = BootMetricNamespace
	HealthMetricDimension = BootMetricDimension
	// UnhealthyMembersMetric counts the etcd members that fail a health
	// check (a linearizable read through each) from a master.
	UnhealthyMembersMetric = "UnhealthyMembers"
	// DatabaseQuotaMetric is a member's database size in percent of
	// EtcdQuotaBytes.
	DatabaseQuotaMetric = "DatabaseQuotaPercent"
	// LeaderChangesMetric counts the leader changes a member saw since its
	// previous report.
	LeaderChangesMetric = "LeaderChanges"
	// CertificateDaysMetric is the days until the first of a master's
	// certificates expires.
	CertificateDaysMetric = "CertificateDaysLeft"

	HealthScriptPath = "/usr/local/sbin/kinfra-master-health"
	HealthUnitPath   = "/etc/systemd/system/kinfra-master-health.service"
	HealthTimerPath  = "/etc/systemd/system/kinfra-master-health.timer"
)

// EtcdQuotaBytes is every member's backend quota: 8 GiB, etcd's
// recommended maximum, for large clusters.
const EtcdQuotaBytes = 8 << 30

// healthTimer runs the health report at the start of every minute.
const healthTimer = `[Unit]
Description=kinfra master health metrics every minute

[Timer]
OnCalendar=*:*:00
AccuracySec=5s
Persistent=false

[Install]
WantedBy=timers.target
`
