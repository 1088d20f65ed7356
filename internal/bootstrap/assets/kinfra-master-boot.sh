#!/usr/bin/env bash
# kinfra-master-boot gives this instance its master slot's identity and makes
# it a control-plane node. It runs at every boot (kinfra-master.service) and
# is idempotent:
#   0. install this master's tools (the timers' scripts) from their SSM
#      parameters, each checked against the SHA-256 that names it;
#   1. attach the slot's etcd volume, waiting while a dead predecessor
#      releases it (never force-detached: that risks etcd's data);
#   2. point the slot's DNS record (etcd-<slot>.<domain>) at this instance;
#   3. fetch the etcd CA from SSM and issue this host's etcd certificates
#      (etcd_pki, in the library: kinfra-cert-renew renews them with it);
#   4. format the volume only if it holds no filesystem and its member
#      provably never ran (or a restore was requested), then mount it;
#   5. restore the member from a snapshot if `kinfra etcd restore` asked
#      for a generation it has not restored yet;
#   6. start etcd as the slot's member (same name, same data: no member
#      add/remove when an instance is replaced), and record it in SSM;
#   7. kubeadm init (slot 0, only while no cluster record exists), or build
#      this control-plane node from the cluster's PKI with kubeadm's init
#      phases, which needs no API (every master may be new); record the
#      cluster; start the health, backup, certificate renewal, join token
#      and defragmentation timers; wait for this master's API server;
#   8. bring the cluster's kubeadm configuration to this master's
#      Kubernetes version (upgrade_cluster), once the API answers.
# Every step is safe to run again after a failure at any point: a failed
# boot exits non-zero and kinfra-master.service runs it again (30 s, growing
# to 10 minutes, forever). Each attempt publishes its status (booting, then
# ready or failed with the step and its last lines) to the slot's record in
# SSM, and a failed one a BootFailures metric for the alarm; neither can
# fail the boot. docs/masters.md, 'Boot retries and status'.
# Settings come from /etc/kinfra/master.env, rendered by kinfra per slot.
set -euo pipefail

KINFRA_DIR=${KINFRA_DIR:-/etc/kinfra}
# shellcheck disable=SC2034 # read by the library's log
KINFRA_PROG=kinfra-master-boot
# shellcheck source=/dev/null
. "${KINFRA_ENV:-$KINFRA_DIR/master.env}"
: "${CLUSTER:?}" "${SLOT:?}" "${REGION:?}" "${VOLUME_ID:?}" "${HOSTED_ZONE_ID:?}"
: "${ETCD_NAME:?}" "${ETCD_RECORD:?}" "${PARAMETER_PREFIX:?}" "${API_ENDPOINT:?}"
: "${CLUSTER_RECORD:?}" "${MEMBER_RECORD:?}" "${RESTORE_REQUEST:?}" "${KUBERNETES_VERSION:?}"
: "${MASTER_STATUS_RECORD:?}" "${STATUS_MESSAGE_MAX:?}" "${BOOT_METRIC_NAMESPACE:?}" "${BOOT_FAILURES_METRIC:?}" "${BOOT_METRIC_DIMENSION:?}"
: "${JOIN_TOKEN_PARAMETER:?}" "${JOIN_TOKEN_TTL:?}"
ETCD_PEERS=${ETCD_PEERS:-}
# shellcheck source=/dev/null
. "${KINFRA_LIB:-/usr/local/lib/kinfra/master-lib.sh}"
ENCRYPTION_CONFIG=${ENCRYPTION_CONFIG:-/etc/kubernetes/encryption/config.yaml}
KUBECONFIG_DIR=${KUBECONFIG_DIR:-/etc/kubernetes}
DEVICE_NAME=${DEVICE_NAME:-/dev/xvdf}
ATTACH_TIMEOUT=${ATTACH_TIMEOUT:-1800}
ETCD_TIMEOUT=${ETCD_TIMEOUT:-1800}
JOIN_TIMEOUT=${JOIN_TIMEOUT:-3600}
API_TIMEOUT=${API_TIMEOUT:-900}
CLUSTER_MARKER="$DATA_MOUNT/kinfra-cluster-initialized"
# Slot 0's kubeadm init has started on this volume; with no CLUSTER_MARKER
# it was cut short, and the next attempt resumes it.
INIT_MARKER="$DATA_MOUNT/kinfra-cluster-initializing"
# This instance's control-plane node is built and marked (with its files on
# the root volume: a replacement instance builds its own).
NODE_MARKER=${NODE_MARKER:-$KUBECONFIG_DIR/kinfra-control-plane-node}
# This instance's boot attempts (a tmpfs: a rebooted instance counts from
# 1): their number, the step the current one is in and its output.
BOOT_RUN_DIR=${BOOT_RUN_DIR:-/run/kinfra}
ATTEMPT_FILE="$BOOT_RUN_DIR/boot-attempt"
STEP_FILE="$BOOT_RUN_DIR/boot-step"
ATTEMPT_LOG="$BOOT_RUN_DIR/boot-attempt.log"
ATTEMPT=0
# What a kubeadm init cut short leaves, which its preflight refuses on the
# next attempt: the static pod manifests it wrote, and the ports of the
# components (the kubelet too) that run from them.
INIT_LEFTOVERS=FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml,FileAvailable--etc-kubernetes-manifests-kube-controller-manager.yaml,FileAvailable--etc-kubernetes-manifests-kube-scheduler.yaml,Port-6443,Port-10257,Port-10259,Port-10250

# install_tools installs the tools the manifest lists ("<parameter> <mode>
# <path>" a line) from their SSM parameters (gzipped, base64), checking
# each against the SHA-256 its parameter is named by; a tool already in
# place with that hash is left alone. TOOLS_ROOT prefixes the paths (tests).
install_tools() {
	local name mode path sum tmp
	while read -r name mode path; do
		[ -n "$name" ] || continue
		sum=${name##*/}
		path=${TOOLS_ROOT:-}$path
		if [ -f "$path" ] && [ "$(sha256sum <"$path" | cut -d' ' -f1)" = "$sum" ]; then
			continue
		fi
		mkdir -p "$(dirname "$path")"
		tmp="$path.kinfra-tmp"
		param "$name" | base64 -d | gunzip >"$tmp" ||
			die "cannot install $path from $PARAMETER_PREFIX/$name"
		if [ "$(sha256sum <"$tmp" | cut -d' ' -f1)" != "$sum" ]; then
			rm -f "$tmp"
			die "$PARAMETER_PREFIX/$name does not hold the content its name hashes: $path not installed"
		fi
		chmod "$mode" "$tmp"
		mv -f "$tmp" "$path"
		log "installed $path from $PARAMETER_PREFIX/$name"
	done <"${TOOLS_MANIFEST:-$KINFRA_DIR/tools.list}"
}

# attach_volume waits until the slot volume is attached here. A volume still
# attached to another instance belongs to a predecessor that is shutting
# down; AWS releases it when that instance terminates.
attach_volume() {
	local deadline=$((SECONDS + ATTACH_TIMEOUT)) state holder described
	while :; do
		# A failed call (throttling, a network blip) is retried like any
		# other wait: ending the boot here would leave the slot down.
		if described=$(awscli ec2 describe-volumes --volume-ids "$VOLUME_ID" \
			--query 'Volumes[0].[State, Attachments[0].InstanceId]' --output text); then
			read -r state holder <<<"$described"
		else
			state="unknown (describe-volumes failed)" holder=
		fi
		case "$state" in
		in-use)
			if [ "$holder" = "$INSTANCE_ID" ]; then
				log "volume $VOLUME_ID is attached to this instance"
				return 0
			fi
			log "volume $VOLUME_ID is attached to $holder; waiting for it to be released"
			;;
		available)
			log "attaching volume $VOLUME_ID as $DEVICE_NAME"
			awscli ec2 attach-volume --volume-id "$VOLUME_ID" --instance-id "$INSTANCE_ID" \
				--device "$DEVICE_NAME" >/dev/null || log "attach-volume failed; retrying"
			;;
		*)
			log "volume $VOLUME_ID is $state; waiting"
			;;
		esac
		[ "$SECONDS" -lt "$deadline" ] || die "volume $VOLUME_ID was not released within ${ATTACH_TIMEOUT}s; check the instance holding it (never force-detach a live etcd member's volume)"
		sleep "$POLL"
	done
}

# volume_device prints the block device of the slot volume: its NVMe by-id
# link on Nitro instances, else the requested device name.
volume_device() {
	local deadline=$((SECONDS + 300)) dev
	if [ -n "${VOLUME_DEVICE:-}" ]; then
		printf '%s\n' "$VOLUME_DEVICE"
		return 0
	fi
	while [ "$SECONDS" -lt "$deadline" ]; do
		for dev in "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${VOLUME_ID//-/}" "$DEVICE_NAME"; do
			if [ -b "$dev" ]; then
				readlink -f "$dev"
				return 0
			fi
		done
		sleep 2
	done
	die "volume $VOLUME_ID is attached but no block device appeared"
}

# volume_is_blank succeeds when blkid positively finds no filesystem
# signature (exit 2); it fails when there is one, and stops the boot on any
# other answer rather than risk etcd's data.
volume_is_blank() {
	local dev=$1 fstype rc=0
	fstype=$(blkid -p -s TYPE -o value "$dev") || rc=$?
	case "$rc" in
	0)
		[ -n "$fstype" ] || die "blkid found a signature on $dev but no filesystem type; refusing to format"
		log "$dev holds an existing $fstype filesystem; keeping it"
		return 1
		;;
	2) return 0 ;;
	*) die "blkid -p $dev exited $rc; refusing to format a volume whose contents are unknown" ;;
	esac
}

# prepare_volume formats a blank volume, only when a restore was requested
# for this member or guard_blank_volume has shown that the member never
# ran, and mounts it.
prepare_volume() {
	local dev=$1
	if volume_is_blank "$dev"; then
		if pending_restore; then
			log "$dev has no filesystem and a restore to generation $(json_field "$RESTORE" generation) is requested; formatting"
		else
			guard_blank_volume
			log "$dev has no filesystem (the slot's first boot); formatting"
		fi
		mkfs.ext4 -q -L "$ETCD_NAME" "$dev"
	fi
	mkdir -p "$DATA_MOUNT"
	if ! mountpoint -q "$DATA_MOUNT"; then
		mount -o noatime "$dev" "$DATA_MOUNT"
	fi
	mkdir -p "$DATA_MOUNT/data"
	chmod 0700 "$DATA_MOUNT/data"
}

upsert_record() {
	local batch change
	batch=$(printf '{"Comment":"kinfra %s slot %s","Changes":[{"Action":"UPSERT","ResourceRecordSet":{"Name":"%s","Type":"A","TTL":30,"ResourceRecords":[{"Value":"%s"}]}}]}' \
		"$CLUSTER" "$SLOT" "$ETCD_RECORD" "$PRIVATE_IP")
	change=$(awscli route53 change-resource-record-sets --hosted-zone-id "$HOSTED_ZONE_ID" \
		--change-batch "$batch" --query 'ChangeInfo.Id' --output text)
	log "pointed $ETCD_RECORD at $PRIVATE_IP ($change)"
	awscli route53 wait resource-record-sets-changed --id "$change"
}

place_pki() {
	fetch control-plane/ca.crt "$PKI_DIR/ca.crt" 0644
	fetch control-plane/ca.key "$PKI_DIR/ca.key" 0600
	fetch control-plane/front-proxy-ca.crt "$PKI_DIR/front-proxy-ca.crt" 0644
	fetch control-plane/front-proxy-ca.key "$PKI_DIR/front-proxy-ca.key" 0600
	fetch control-plane/sa.key "$PKI_DIR/sa.key" 0600
	fetch control-plane/sa.pub "$PKI_DIR/sa.pub" 0644
	fetch control-plane/encryption-config.yaml "$ENCRYPTION_CONFIG" 0600
}

# member_state prints what a member list (etcdctl -w simple) says of this
# member: ran (listed with client URLs, which a member publishes when it
# first starts), new (listed without them: it never started), or absent.
member_state() {
	awk -F', ' -v name="$ETCD_NAME" '$3 == name { print ($5 == "" ? "new" : "ran"); found = 1; exit } END { if (!found) print "absent" }' <<<"$1"
}

# guard_blank_volume stops the boot unless this member's blank volume may
# be formatted: a member that forgot its raft log must not vote, and two
# blank members must never form a quorum of their own. Once the cluster
# exists (its record is in SSM), only a live quorum saying that the member
# never started lets it format: `member list` is linearizable, so any
# answer comes from a quorum. No answer is no consent. Before the cluster
# exists, no answer is the normal case: every member is new. It runs
# before formatting, so a refusal holds across reboots and replacements.
guard_blank_volume() {
	local peer members exists=false
	if record_read "$CLUSTER_RECORD"; then
		exists=true
	fi
	# shellcheck disable=SC2153 # RECORD is set by record_read
	local record=$RECORD
	for peer in $ETCD_PEERS; do
		members=$(etcdctl_at "$peer" member list -w simple --consistency=l 2>/dev/null) || continue
		case "$(member_state "$members")" in
		ran) die "etcd member $ETCD_NAME has run before but volume $VOLUME_ID is blank: its data is lost. Replace the member by hand (docs/masters.md, 'Lost etcd volume'); not formatting, not starting etcd" ;;
		new)
			log "a quorum lists etcd member $ETCD_NAME as never started: this is its first volume"
			return 0
			;;
		*)
			$exists || return 0
			die "the etcd cluster does not list member $ETCD_NAME, and volume $VOLUME_ID is blank: add it first (docs/masters.md, 'Lost etcd volume'); not formatting, not starting etcd"
			;;
		esac
	done
	$exists || return 0
	die "etcd cluster $CLUSTER exists (cluster ID $(json_field "$record" clusterId), generation $(json_field "$record" generation): SSM $PARAMETER_PREFIX/$CLUSTER_RECORD) but volume $VOLUME_ID is blank and no peer answered with a quorum, so nothing shows that member $ETCD_NAME never ran: not formatting, not starting etcd. If the other members are only down, bring them back, then: systemctl restart kinfra-master. If a majority of the members lost their data, restore the cluster from a backup: kinfra etcd restore --stack <stack> --snapshot latest ($RECOVERY_DOC)"
}

start_etcd() {
	local deadline=$((SECONDS + ETCD_TIMEOUT))
	# etcd is started here, never enabled: it must not run before the slot
	# volume is mounted.
	systemctl daemon-reload
	systemctl start --no-block etcd.service
	until etcdctl_at https://127.0.0.1:2379 endpoint health >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || die "etcd member $ETCD_NAME is not healthy after ${ETCD_TIMEOUT}s (quorum needs a majority of slots up)"
		log "waiting for etcd quorum"
		sleep "$POLL"
	done
	log "etcd member $ETCD_NAME is healthy"
}

# cluster_exists asks etcd, the source of truth, whether an API server has
# ever stored the cluster: then slot 0 builds its control plane like the
# others, whatever its volume says.
cluster_exists() {
	local keys
	keys=$(etcdctl_at https://127.0.0.1:2379 get /registry/namespaces/kube-system --keys-only) ||
		die "cannot read etcd to tell a new cluster from an existing one"
	[ -n "$keys" ]
}

# kubeadm_init [resume] creates the cluster. Its marker goes on the volume
# first, so that an init cut short (kubeadm stopped after its API server
# had stored the cluster, before its configuration, RBAC, token and
# CoreDNS) is resumed by the next attempt, never taken for a finished node
# or a cluster to join. Resumed, init runs again past what it left behind;
# each of its phases keeps what is done.
kubeadm_init() {
	local token
	local -a resume=()
	token=$(param "$JOIN_TOKEN_PARAMETER")
	if [ "${1:-}" = resume ]; then
		log "resuming kubeadm init, which an earlier attempt started and did not finish ($INIT_MARKER)"
		resume=(--ignore-preflight-errors="$INIT_LEFTOVERS")
	else
		log "first boot of slot 0: kubeadm init"
	fi
	touch "$INIT_MARKER"
	kubeadm init --config "$KINFRA_DIR/kubeadm-init.yaml" --skip-token-print "${resume[@]}"
	# The first node join token, kinfra:pki's (in SSM), lives the TTL like
	# every later one the leader's kinfra-join-token makes. Recreated so
	# that its settings are always ours.
	kubeadm token delete "${token%%.*}" --kubeconfig "$KUBECONFIG_DIR/admin.conf" >/dev/null 2>&1 || true
	join_token_create "$token" >/dev/null
	touch "$CLUSTER_MARKER"
	rm -f "$INIT_MARKER"
}

# wait_for_cluster waits until etcd holds the cluster (when a new cluster
# is created, the other slots start before slot 0 has run kubeadm init).
wait_for_cluster() {
	local deadline=$((SECONDS + JOIN_TIMEOUT))
	until cluster_exists; do
		[ "$SECONDS" -lt "$deadline" ] || die "etcd holds no cluster after ${JOIN_TIMEOUT}s: slot 0 creates it with kubeadm init (journalctl -u kinfra-master on slot 0's master)"
		log "waiting for slot 0 to create the cluster"
		sleep "$POLL"
	done
}

# control_plane builds this control-plane node from the cluster's PKI,
# which every master holds, with kubeadm's init phases and this master's
# own rendered configuration: certificates (the API server's with its own
# names), kubeconfigs (the kubelet's with its own client certificate), the
# kubelet's settings and the static pods. It needs neither the API nor
# another master, so a cluster whose every master is new (all replaced, or
# restored) comes back by itself; kubeadm join would wait for an API
# server that no master runs.
control_plane() {
	local phase
	log "building this control-plane node from the cluster's PKI"
	for phase in "certs all" "kubeconfig all" "kubelet-start" "control-plane all"; do
		# shellcheck disable=SC2086 # a phase is one or two words
		kubeadm init phase $phase --config "$KINFRA_DIR/kubeadm-init.yaml"
	done
}

# mark_control_plane labels and taints this node once its kubelet has
# registered it, through the API (this master's own, once it serves).
mark_control_plane() {
	local deadline=$((SECONDS + JOIN_TIMEOUT))
	until kubeadm init phase mark-control-plane --config "$KINFRA_DIR/kubeadm-init.yaml"; do
		[ "$SECONDS" -lt "$deadline" ] || die "the API did not take this node's control-plane label and taint within ${JOIN_TIMEOUT}s"
		log "waiting for the API and this node's registration"
		sleep "$POLL"
	done
}

# enable_backups starts the certificate renewal timer and the etcd backup
# timer (every master runs it; only the leader snapshots).
enable_backups() {
	systemctl enable --now kinfra-cert-renew.timer
	[ -n "${BACKUP_BUCKET:-}" ] || return 0
	systemctl enable --now kinfra-etcd-backup.timer
}

# wait_for_api_server waits until this master's API server answers /readyz
# (anonymously, as the load balancer's health check asks), reached on
# 127.0.0.1 under the API's name so that its certificate is checked against
# the cluster CA. A master is ready only then.
wait_for_api_server() {
	local deadline=$((SECONDS + API_TIMEOUT))
	until curl -sSf --max-time 5 --cacert "$PKI_DIR/ca.crt" --connect-to "$API_ENDPOINT:127.0.0.1:${API_ENDPOINT##*:}" \
		"https://$API_ENDPOINT/readyz" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || die "the API server on this master is not ready after ${API_TIMEOUT}s (crictl ps -a; journalctl -u kubelet)"
		log "waiting for this master's API server"
		sleep "$POLL"
	done
	log "this master's API server is ready"
}

# publish_status STATE STEP MESSAGE writes the slot's boot status record
# (bootstrap.MasterStatus). It never fails the boot: a master that cannot
# write its status must still boot, so a write is tried twice, briefly.
publish_status() {
	local value try out
	if ! value=$(jq -cn --arg c "$CLUSTER" --argjson slot "$SLOT" --arg i "${INSTANCE_ID:-}" --arg s "$1" \
		--argjson a "$ATTEMPT" --arg step "$2" --arg m "$3" --arg kv "$KUBERNETES_VERSION" --arg t "$(now)" \
		'{cluster: $c, slot: $slot, instanceId: $i, state: $s, attempt: $a, step: $step, message: $m, kubernetesVersion: $kv, time: $t}'); then
		log "WARNING: cannot encode the boot status ($1, step $2); not publishing it"
		return 0
	fi
	for try in 1 2; do
		if out=$(awscli ssm put-parameter --name "$PARAMETER_PREFIX/$MASTER_STATUS_RECORD" --type String --value "$value" \
			--overwrite --cli-connect-timeout 5 --cli-read-timeout 10 2>&1 >/dev/null); then
			return 0
		fi
		log "writing the boot status $PARAMETER_PREFIX/$MASTER_STATUS_RECORD failed (try $try of 2): $out"
		[ "$try" = 2 ] || sleep 2
	done
	log "WARNING: the boot status ($1, step $2) is not published; booting on"
	return 0
}

# publish_failure counts one failed attempt for the boot-failure alarm. It
# never fails anything either.
publish_failure() {
	local out
	if ! out=$(awscli cloudwatch put-metric-data --namespace "$BOOT_METRIC_NAMESPACE" --metric-name "$BOOT_FAILURES_METRIC" \
		--dimensions "$BOOT_METRIC_DIMENSION=$CLUSTER" --unit Count --value 1 \
		--cli-connect-timeout 5 --cli-read-timeout 10 2>&1 >/dev/null); then
		log "WARNING: cannot publish $BOOT_METRIC_NAMESPACE $BOOT_FAILURES_METRIC: $out"
	fi
}

# step NAME marks the step this attempt is in, for its failure report. The
# first step and those that may wait long (for a predecessor's volume,
# quorum, the cluster, the API) are published, so that the record says what
# a boot waits for; the journal has every step.
step() {
	printf '%s\n' "$1" 2>/dev/null >"$STEP_FILE" || true
	log "step: $1"
	case "$1" in
	identity | volume | etcd | control-plane | mark-control-plane | api-server | upgrade-cluster) publish_status booting "$1" "" ;;
	esac
}

# failure_message prints the last lines of this attempt's output as
# printable ASCII, at most STATUS_MESSAGE_MAX bytes (the record must stay
# within SSM's 4 KB however JSON escapes it).
failure_message() {
	tail -n 12 "$ATTEMPT_LOG" 2>/dev/null | cut -c1-300 | LC_ALL=C tr -cd '\11\12\40-\176' | tail -c "$STATUS_MESSAGE_MAX"
}

# build_control_plane builds this control-plane node from the PKI, once
# etcd holds the cluster, and marks it through the API.
build_control_plane() {
	step control-plane
	wait_for_cluster
	control_plane
	step mark-control-plane
	mark_control_plane
	touch "$CLUSTER_MARKER"
}

# boot is one attempt, run in a subshell by main. Each step is safe to run
# again after an attempt stopped anywhere: a volume attached here or
# mounted is kept, a filesystem is never formatted again, a running etcd is
# left running (and never restored under), certificates it uses are kept,
# records are rewritten or created once, kubeadm's phases keep what they
# did, a kubeadm init cut short is resumed, and a node counts as built only
# once it is marked a control-plane node.
boot() {
	step identity
	[ -n "${INSTANCE_ID:-}" ] || INSTANCE_ID=$(imds instance-id)
	PRIVATE_IP=${PRIVATE_IP:-$(imds local-ipv4)}
	log "instance $INSTANCE_ID ($PRIVATE_IP) takes slot $SLOT of cluster $CLUSTER"
	step tools
	install_tools
	step volume
	attach_volume
	local dev
	dev=$(volume_device)
	step dns
	upsert_record
	step etcd-certificates
	mkdir -p "$PKI_DIR" "$ETCD_PKI_DIR"
	chmod 0700 "$ETCD_PKI_DIR"
	etcd_pki
	step etcd-volume
	prepare_volume "$dev"
	if pending_restore; then
		step etcd-restore
		# An earlier attempt may have started etcd on the data this
		# replaces: never restore under a running member.
		systemctl stop etcd.service
		restore_member "$RESTORE"
	fi
	step etcd
	start_etcd
	record_member
	if [ -e "$NODE_MARKER" ] && [ -f "$KUBECONFIG_DIR/manifests/kube-apiserver.yaml" ]; then
		log "this instance is already a control-plane node"
	else
		step pki
		place_pki
		# kubeadm init creates a cluster: never once the cluster's record
		# exists, whatever this slot's volume or etcd say.
		if [ "$SLOT" = 0 ] && [ ! -e "$CLUSTER_MARKER" ] && ! record_read "$CLUSTER_RECORD"; then
			if [ -e "$INIT_MARKER" ]; then
				step kubeadm-init
				kubeadm_init resume
			elif ! cluster_exists; then
				step kubeadm-init
				kubeadm_init
			else
				build_control_plane
			fi
		else
			build_control_plane
		fi
		touch "$NODE_MARKER"
	fi
	step cluster-record
	record_cluster
	systemctl enable --now kinfra-master-health.timer
	step backups
	enable_backups
	# Every member defragments itself at its slot's hour, when worth it.
	systemctl enable --now kinfra-etcd-defrag.timer
	step join-token
	systemctl enable --now kinfra-join-token.timer
	step api-server
	wait_for_api_server
	step upgrade-cluster
	upgrade_cluster
	log "slot $SLOT is a control-plane node"
}

# main runs one boot attempt and reports how it ended: ready, or failed
# with the step and the attempt's last lines, and one BootFailures data
# point. A failed attempt exits non-zero: kinfra-master.service runs the
# boot again.
main() {
	ATTEMPT=$(cat "$ATTEMPT_FILE" 2>/dev/null || true)
	[[ "$ATTEMPT" =~ ^[0-9]+$ ]] || ATTEMPT=0
	ATTEMPT=$((ATTEMPT + 1))
	# The bookkeeping must not fail the boot either.
	{ mkdir -p "$BOOT_RUN_DIR" && echo "$ATTEMPT" >"$ATTEMPT_FILE" && : >"$ATTEMPT_LOG" && echo identity >"$STEP_FILE"; } 2>/dev/null ||
		log "WARNING: cannot keep the boot's bookkeeping in $BOOT_RUN_DIR; the status will say less"
	# The status names this instance; the boot's first step stops if the
	# instance metadata does not answer.
	INSTANCE_ID=${INSTANCE_ID:-$(imds instance-id 2>/dev/null || true)}
	log "boot attempt $ATTEMPT of this instance"
	local rc last
	# The attempt runs in a subshell with errexit, its output teed to the
	# attempt's log, which the failure report quotes.
	set +e
	(
		set -e
		boot "$@"
	) 2>&1 | tee -a "$ATTEMPT_LOG" 2>/dev/null
	rc=${PIPESTATUS[0]}
	set -e
	last=$(cat "$STEP_FILE" 2>/dev/null || echo unknown)
	if [ "$rc" != 0 ]; then
		log "boot attempt $ATTEMPT failed in step $last (exit $rc); kinfra-master.service runs the boot again"
		publish_status failed "$last" "$(failure_message)"
		publish_failure
		exit "$rc"
	fi
	publish_status ready "$last" ""
}

main "$@"
