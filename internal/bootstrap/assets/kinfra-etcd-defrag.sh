#!/usr/bin/env bash
# kinfra-etcd-defrag defragments this master's etcd member when that is
# worth it and safe. etcd's quota counts its database file, free pages
# included: the space that compaction frees inside the file is reused, but
# given back (to the quota and the disk) only by a defragmentation, which
# blocks the member while it runs. Each slot's timer
# (kinfra-etcd-defrag.timer) fires daily at its own hour, so that no two
# members defragment together. It:
#   1. checks that every member is healthy (etcdctl endpoint health
#      --cluster: a linearizable read through each, and no alarm raised);
#      if one is not, it changes nothing and fails;
#   2. reads this member's database size and the part in use, and stops
#      unless at least DEFRAG_MIN_BYTES and DEFRAG_MIN_PERCENT of the file
#      are free (docs/masters.md, "etcd maintenance");
#   3. defragments this member only and checks that it is healthy again.
# Settings come from /etc/kinfra/master.env, rendered by kinfra per slot.
set -euo pipefail

KINFRA_DIR=${KINFRA_DIR:-/etc/kinfra}
# shellcheck disable=SC2034 # read by the library's log
KINFRA_PROG=kinfra-etcd-defrag
# shellcheck source=/dev/null
. "${KINFRA_ENV:-$KINFRA_DIR/master.env}"
: "${ETCD_NAME:?}"
# shellcheck source=/dev/null
. "${KINFRA_LIB:-/usr/local/lib/kinfra/master-lib.sh}"
DEFRAG_MIN_BYTES=${DEFRAG_MIN_BYTES:-104857600}
DEFRAG_MIN_PERCENT=${DEFRAG_MIN_PERCENT:-25}
LOCAL=https://127.0.0.1:2379

# db_sizes reads this member's database size and the part in use into SIZE
# and USED.
db_sizes() {
	local status
	status=$(etcdctl_at "$LOCAL" endpoint status -w json) || die "the local etcd member gives no status"
	SIZE=$(jq -r '.[0].Status.dbSize // empty' <<<"$status")
	USED=$(jq -r '.[0].Status.dbSizeInUse // 0' <<<"$status")
	[[ "$SIZE" =~ ^[0-9]+$ && "$USED" =~ ^[0-9]+$ ]] || die "etcdctl endpoint status gave no database size: $status"
}

main() {
	local health free before
	health=$(etcdctl_at "$LOCAL" endpoint health --cluster 2>&1) ||
		die "not every etcd member is healthy; not defragmenting: $(grep -E 'unhealthy|Error' <<<"$health" | tr '\n' ' ')"
	db_sizes
	free=$((SIZE - USED))
	if ((free < DEFRAG_MIN_BYTES || free * 100 < SIZE * DEFRAG_MIN_PERCENT)); then
		log "database $SIZE bytes, $free free: less than $DEFRAG_MIN_BYTES bytes or $DEFRAG_MIN_PERCENT% free; not defragmenting"
		return 0
	fi
	before=$SIZE
	log "every member is healthy; defragmenting: database $SIZE bytes, $free free"
	etcdctl_at "$LOCAL" --command-timeout 15m defrag >&2 || die "etcdctl defrag failed"
	etcdctl_at "$LOCAL" endpoint health >&2 || die "the member is not healthy after its defragmentation"
	db_sizes
	log "defragmented: database $before -> $SIZE bytes"
}

main "$@"
