#!/usr/bin/env bash
# kinfra-master-health publishes, every minute from every master, what the
# control plane's alarms watch (components/masters/alarms.go), in one
# PutMetricData call:
#   UnhealthyMembers      etcd members that fail a health check from here (a
#                         linearizable read through each, which needs a
#                         quorum, as etcdctl endpoint health and kinfra roll
#                         ask)
#   DatabaseQuotaPercent  this member's database size, in percent of its quota
#   LeaderChanges         leader changes this member saw since the last run
#   CertificateDaysLeft   days until the first of this master's leaf
#                         certificates expires (etcd's, kubeadm's, and the
#                         client certificates in kubeadm's kubeconfigs)
# A member that does not answer publishes the first and the last only.
# Settings come from /etc/kinfra/master.env, rendered by kinfra per slot.
set -euo pipefail

KINFRA_DIR=${KINFRA_DIR:-/etc/kinfra}
# shellcheck disable=SC2034 # read by the library's log
KINFRA_PROG=kinfra-master-health
# shellcheck source=/dev/null
. "${KINFRA_ENV:-$KINFRA_DIR/master.env}"
: "${CLUSTER:?}" "${REGION:?}" "${ETCD_NAME:?}" "${ETCD_INITIAL_CLUSTER:?}" "${ETCD_QUOTA_BYTES:?}" "${DATA_MOUNT:?}"
: "${HEALTH_METRIC_NAMESPACE:?}" "${HEALTH_METRIC_DIMENSION:?}"
# shellcheck source=/dev/null
. "${KINFRA_LIB:-/usr/local/lib/kinfra/master-lib.sh}"
KUBECONFIG_DIR=${KUBECONFIG_DIR:-/etc/kubernetes}
ETCD_METRICS_URL=${ETCD_METRICS_URL:-http://127.0.0.1:2381/metrics}

unhealthy_members() {
	local member url n=0
	for member in ${ETCD_INITIAL_CLUSTER//,/ }; do
		url=${member#*=}
		etcdctl_at "${url%:2380}:2379" endpoint health >/dev/null 2>&1 || n=$((n + 1))
	done
	echo "$n"
}

quota_percent() {
	local size
	size=$(etcdctl_at https://127.0.0.1:2379 endpoint status -w json | jq -r '.[0].Status.dbSize') || return 1
	awk -v s="$size" -v q="$ETCD_QUOTA_BYTES" 'BEGIN { printf "%.6f", 100 * s / q }'
}

# leader_changes prints the changes since the last run's count (kept beside
# etcd's data); nothing on the first run, and the whole count after etcd
# restarted (its counter starts again).
leader_changes() {
	local now last='' state=$DATA_MOUNT/kinfra-leader-changes
	now=$(curl -sSf --max-time 5 "$ETCD_METRICS_URL" | awk '$1 == "etcd_server_leader_changes_seen_total" { printf "%d", $2 }') || return 1
	[ -n "$now" ] || return 1
	[ -f "$state" ] && last=$(<"$state")
	echo "$now" >"$state.new" && mv "$state.new" "$state"
	[ -n "$last" ] || return 0
	if [ "$now" -ge "$last" ]; then echo $((now - last)); else echo "$now"; fi
}

# certificate_days_left prints the days until the first of the master's
# certificates expires (the library's cert_soonest, which the renewal
# reads too; one it cannot read counts as expired).
certificate_days_left() {
	local na _
	read -r na _ < <(cert_soonest) || return 1
	awk -v e="$na" -v n="$(date -u +%s)" 'BEGIN { printf "%.3f", (e - n) / 86400 }'
}

# add NAME VALUE UNIT adds a data point to DATA.
add() { DATA=$(jq -c --arg m "$1" --argjson v "$2" --arg u "$3" '. + [{MetricName: $m, Value: $v, Unit: $u}]' <<<"$DATA"); }

main() {
	local value
	DATA='[]'
	add UnhealthyMembers "$(unhealthy_members)" Count
	if value=$(quota_percent); then add DatabaseQuotaPercent "$value" Percent; else log "the local etcd member does not answer its status"; fi
	if value=$(leader_changes) && [ -n "$value" ]; then add LeaderChanges "$value" Count; fi
	if value=$(certificate_days_left); then add CertificateDaysLeft "$value" None; fi
	DATA=$(jq -c --arg d "$HEALTH_METRIC_DIMENSION" --arg c "$CLUSTER" 'map(. + {Dimensions: [{Name: $d, Value: $c}]})' <<<"$DATA")
	awscli cloudwatch put-metric-data --namespace "$HEALTH_METRIC_NAMESPACE" --metric-data "$DATA" || die "cannot publish the health metrics"
	log "published $(jq -r 'map("\(.MetricName)=\(.Value)") | join(" ")' <<<"$DATA")"
}

main "$@"
