#!/usr/bin/env bash
# kinfra-etcd-backup snapshots etcd to S3. Every master's timer
# (kinfra-etcd-backup.timer) runs it at the same wall-clock minutes; only
# the member that is the leader takes the snapshot, so there is one per
# interval, taken where the data is newest. It:
#   1. asks the local member whether it leads; if not, goes to 5;
#   2. takes a snapshot (etcdctl snapshot save, which checks its integrity
#      hash) and verifies it with etcdutl snapshot status;
#   3. picks its tier: daily if the bucket holds none for this UTC day,
#      hourly if none for this hour, else frequent (the bucket's lifecycle
#      keeps each tier for its own time);
#   4. uploads it under the cluster's prefix with its metadata (cluster,
#      cluster ID, generation, revision, versions, CA hash, SHA-256), then
#      reads the object back to check its size and SHA-256;
#   5. publishes the newest snapshot's age to CloudWatch, which alarms when
#      it is too old (also when no master publishes at all).
# It never deletes anything: the masters may not.
# Settings come from /etc/kinfra/master.env, rendered by kinfra per slot.
set -euo pipefail

KINFRA_DIR=${KINFRA_DIR:-/etc/kinfra}
# shellcheck disable=SC2034 # read by the library's log
KINFRA_PROG=kinfra-etcd-backup
# shellcheck source=/dev/null
. "${KINFRA_ENV:-$KINFRA_DIR/master.env}"
: "${CLUSTER:?}" "${REGION:?}" "${ETCD_NAME:?}" "${PARAMETER_PREFIX:?}"
: "${BACKUP_BUCKET:?}" "${BACKUP_PREFIX:?}" "${ETCD_VERSION:?}" "${KUBERNETES_VERSION:?}"
# shellcheck source=/dev/null
. "${KINFRA_LIB:-/usr/local/lib/kinfra/master-lib.sh}"
BACKUP_DIR=${BACKUP_DIR:-$DATA_MOUNT/backup}
# The time of this run, once: it names the snapshot and picks its tier.
NOW=${KINFRA_NOW:-$(date -u +%Y%m%dT%H%M%SZ)}

# has_object PREFIX succeeds when the bucket holds an object under PREFIX.
has_object() {
	local count
	# shellcheck disable=SC2016 # a JMESPath literal, not a shell expansion
	count=$(awscli s3api list-objects-v2 --bucket "$BACKUP_BUCKET" --prefix "$1" --max-items 1 \
		--query 'length(Contents || `[]`)' --output text) || die "cannot list s3://$BACKUP_BUCKET/$1"
	[ "$count" != 0 ]
}

tier() {
	if ! has_object "$BACKUP_PREFIX/daily/${NOW:0:8}"; then
		echo daily
	elif ! has_object "$BACKUP_PREFIX/hourly/${NOW:0:11}"; then
		echo hourly
	else
		echo frequent
	fi
}

snapshot() {
	local snap="$BACKUP_DIR/$NOW.db" status revision sha size tier key got
	mkdir -p "$BACKUP_DIR"
	chmod 0700 "$BACKUP_DIR"
	rm -f "$BACKUP_DIR"/*.db "$BACKUP_DIR"/*.db.part
	etcdctl_at https://127.0.0.1:2379 snapshot save "$snap" >&2 || die "etcdctl snapshot save failed"
	status=$(etcdutl snapshot status "$snap" -w json) || die "etcdutl cannot read the snapshot it just took"
	revision=$(jq -r '.revision' <<<"$status")
	[[ "$revision" =~ ^[0-9]+$ ]] || die "etcdutl snapshot status gave no revision: $status"
	sha=$(sha256sum "$snap")
	sha=${sha%% *}
	size=$(stat -c %s "$snap")
	tier=$(tier)
	key="$BACKUP_PREFIX/$tier/$NOW-$ETCD_NAME-r$revision.db"
	local metadata
	metadata=$(jq -cn --arg c "$CLUSTER" --arg id "$STATUS_CLUSTER_ID" --arg g "$(volume_generation)" \
		--arg r "$revision" --arg ev "$ETCD_VERSION" --arg kv "$KUBERNETES_VERSION" --arg ca "$(ca_cert_hash)" \
		--arg sha "$sha" --arg t "$(date -u -d "${NOW:0:4}-${NOW:4:2}-${NOW:6:2}T${NOW:9:2}:${NOW:11:2}:${NOW:13:2}Z" +%Y-%m-%dT%H:%M:%SZ)" \
		--arg m "$ETCD_NAME" \
		'{"kinfra-cluster": $c, "cluster-id": $id, generation: $g, revision: $r, "etcd-version": $ev,
		  "kubernetes-version": $kv, "ca-cert-hash": $ca, sha256: $sha, "taken-at": $t, member: $m}')
	awscli s3api put-object --bucket "$BACKUP_BUCKET" --key "$key" --body "$snap" \
		--metadata "$metadata" >/dev/null || die "cannot upload s3://$BACKUP_BUCKET/$key"
	got=$(awscli s3api head-object --bucket "$BACKUP_BUCKET" --key "$key" \
		--query '[ContentLength, Metadata.sha256]' --output text) || die "cannot read back s3://$BACKUP_BUCKET/$key"
	[ "$got" = "$size	$sha" ] || die "s3://$BACKUP_BUCKET/$key reads back as '$got', not '$size $sha'"
	rm -f "$snap"
	log "snapshot of revision $revision ($size bytes, sha256 $sha) uploaded to s3://$BACKUP_BUCKET/$key ($tier)"
}

# newest_age prints the age in seconds of the newest snapshot in the bucket
# (its time is in its name), or nothing when there is none.
newest_age() {
	local t newest="" keys name stamp
	for t in daily hourly frequent; do
		keys=$(awscli s3api list-objects-v2 --bucket "$BACKUP_BUCKET" --prefix "$BACKUP_PREFIX/$t/" \
			--query 'Contents[].Key' --output text) || die "cannot list s3://$BACKUP_BUCKET/$BACKUP_PREFIX/$t/"
		for name in $keys; do
			[ "$name" != None ] || continue
			stamp=${name##*/}
			stamp=${stamp:0:16}
			[[ "$stamp" > "$newest" ]] && newest=$stamp
		done
	done
	[ -n "$newest" ] || return 0
	echo $(($(date -u -d "${NOW:0:4}-${NOW:4:2}-${NOW:6:2}T${NOW:9:2}:${NOW:11:2}:${NOW:13:2}Z" +%s) -
		$(date -u -d "${newest:0:4}-${newest:4:2}-${newest:6:2}T${newest:9:2}:${newest:11:2}:${newest:13:2}Z" +%s)))
}

publish_age() {
	local age
	age=$(newest_age)
	if [ -z "$age" ]; then
		log "no snapshot in s3://$BACKUP_BUCKET/$BACKUP_PREFIX yet; publishing nothing (the alarm counts that as too old)"
		return 0
	fi
	awscli cloudwatch put-metric-data --namespace "$BACKUP_METRIC_NAMESPACE" --metric-name "$BACKUP_AGE_METRIC" \
		--dimensions "$BACKUP_METRIC_DIMENSION=$CLUSTER" --unit Seconds --value "$age" ||
		die "cannot publish $BACKUP_AGE_METRIC"
	log "newest snapshot is ${age}s old"
}

main() {
	local_status || die "the local etcd member does not answer; no snapshot from this master"
	if [ "$STATUS_MEMBER" = "$STATUS_LEADER" ]; then
		snapshot
	else
		log "not the etcd leader; the leader takes the snapshot"
	fi
	publish_age
}

main "$@"
