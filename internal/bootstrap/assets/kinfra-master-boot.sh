#!/usr/bin/env bash
# kinfra-master-boot gives this instance its master slot's identity and makes
# it a control-plane node. It runs at every boot (kinfra-master.service) and
# is idempotent:
#   1. attach the slot's etcd volume, waiting while a dead predecessor
#      releases it (never force-detached: that risks etcd's data);
#   2. point the slot's DNS record (etcd-<slot>.<domain>) at this instance;
#   3. fetch the etcd CA from SSM and issue this host's etcd certificates;
#   4. format the volume only if it holds no filesystem and its member
#      provably never ran (or a restore was requested), then mount it;
#   5. restore the member from a snapshot if `kinfra etcd restore` asked
#      for a generation it has not restored yet;
#   6. start etcd as the slot's member (same name, same data: no member
#      add/remove when an instance is replaced), and record it in SSM;
#   7. kubeadm init (slot 0, only while no cluster record exists), or build
#      this control-plane node from the cluster's PKI with kubeadm's init
#      phases, which needs no API (every master may be new); record the
#      cluster; start backups;
#   8. bring the cluster's kubeadm configuration to this master's
#      Kubernetes version (upgrade_cluster), once the API answers.
# Settings come from /etc/kinfra/master.env, rendered by kinfra per slot.
set -euo pipefail

KINFRA_DIR=${KINFRA_DIR:-/etc/kinfra}
# shellcheck disable=SC2034 # read by the library's log
KINFRA_PROG=kinfra-master-boot
# shellcheck source=/dev/null
. "${KINFRA_ENV:-$KINFRA_DIR/master.env}"
: "${CLUSTER:?}" "${SLOT:?}" "${REGION:?}" "${VOLUME_ID:?}" "${HOSTED_ZONE_ID:?}"
: "${ETCD_NAME:?}" "${ETCD_RECORD:?}" "${PARAMETER_PREFIX:?}" "${API_ENDPOINT:?}"
: "${CLUSTER_RECORD:?}" "${MEMBER_RECORD:?}" "${RESTORE_REQUEST:?}"
ETCD_PEERS=${ETCD_PEERS:-}
# shellcheck source=/dev/null
. "${KINFRA_LIB:-/usr/local/lib/kinfra/master-lib.sh}"
ENCRYPTION_CONFIG=${ENCRYPTION_CONFIG:-/etc/kubernetes/encryption/config.yaml}
KUBECONFIG_DIR=${KUBECONFIG_DIR:-/etc/kubernetes}
DEVICE_NAME=${DEVICE_NAME:-/dev/xvdf}
ATTACH_TIMEOUT=${ATTACH_TIMEOUT:-1800}
ETCD_TIMEOUT=${ETCD_TIMEOUT:-1800}
JOIN_TIMEOUT=${JOIN_TIMEOUT:-3600}
CLUSTER_MARKER="$DATA_MOUNT/kinfra-cluster-initialized"

imds() {
	local token
	token=$(curl -sSf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token)
	curl -sSf -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
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

param() {
	awscli ssm get-parameter --with-decryption --name "$PARAMETER_PREFIX/$1" \
		--query Parameter.Value --output text
}

# fetch NAME FILE MODE writes an SSM parameter to a file atomically.
fetch() {
	local dir
	dir=$(dirname "$2")
	mkdir -p "$dir"
	(
		umask 077
		param "$1" >"$2.tmp"
	)
	chmod "$3" "$2.tmp"
	mv -f "$2.tmp" "$2"
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

# issue NAME CN EXTKEYUSAGE SANS signs a leaf with the etcd CA.
issue() {
	local name=$1 cn=$2 usage=$3 sans=$4 dir=$ETCD_PKI_DIR
	(
		umask 077
		openssl ecparam -name prime256v1 -genkey -noout -out "$dir/$name.key"
	)
	openssl req -new -key "$dir/$name.key" -subj "/CN=$cn" -out "$dir/$name.csr"
	openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
		-set_serial "0x$(openssl rand -hex 16)" -days 365 -out "$dir/$name.crt" \
		-extfile <(printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n%s' \
			"$usage" "${sans:+subjectAltName=$sans}") 2>/dev/null
	rm -f "$dir/$name.csr"
}

etcd_pki() {
	fetch control-plane/etcd-ca.crt "$ETCD_PKI_DIR/ca.crt" 0644
	fetch control-plane/etcd-ca.key "$ETCD_PKI_DIR/ca.key" 0600
	local sans="DNS:$ETCD_RECORD,DNS:localhost,IP:127.0.0.1,IP:$PRIVATE_IP"
	issue server "$ETCD_NAME" serverAuth,clientAuth "$sans"
	issue peer "$ETCD_NAME" serverAuth,clientAuth "$sans"
	issue apiserver-etcd-client kube-apiserver-etcd-client clientAuth ""
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

kubeadm_init() {
	local token
	token=$(param join/bootstrap-token)
	log "first boot of slot 0: kubeadm init"
	kubeadm init --config "$KINFRA_DIR/kubeadm-init.yaml" --skip-token-print
	# The join token from kinfra:pki never expires: replacement nodes and
	# masters use it. Recreate it so its settings are always ours.
	kubeadm token delete "${token%%.*}" --kubeconfig "$KUBECONFIG_DIR/admin.conf" >/dev/null 2>&1 || true
	kubeadm token create "$token" --ttl 0 --kubeconfig "$KUBECONFIG_DIR/admin.conf" \
		--description "kinfra node join token (kinfra:pki)" >/dev/null
	touch "$CLUSTER_MARKER"
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

# enable_backups starts the etcd backup timer (every master runs it; only
# the leader snapshots).
enable_backups() {
	[ -n "${BACKUP_BUCKET:-}" ] || return 0
	systemctl enable --now kinfra-etcd-backup.timer
}

main() {
	INSTANCE_ID=${INSTANCE_ID:-$(imds instance-id)}
	PRIVATE_IP=${PRIVATE_IP:-$(imds local-ipv4)}
	log "instance $INSTANCE_ID ($PRIVATE_IP) takes slot $SLOT of cluster $CLUSTER"
	attach_volume
	local dev
	dev=$(volume_device)
	upsert_record
	mkdir -p "$PKI_DIR" "$ETCD_PKI_DIR"
	chmod 0700 "$ETCD_PKI_DIR"
	etcd_pki
	prepare_volume "$dev"
	if pending_restore; then
		restore_member "$RESTORE"
	fi
	start_etcd
	record_member
	if [ -f "$KUBECONFIG_DIR/manifests/kube-apiserver.yaml" ]; then
		log "this instance is already a control-plane node"
		record_cluster
		enable_backups
		upgrade_cluster
		return 0
	fi
	place_pki
	# kubeadm init creates a cluster: never once the cluster's record
	# exists, whatever this slot's volume or etcd say.
	if [ "$SLOT" = 0 ] && [ ! -e "$CLUSTER_MARKER" ] && ! record_read "$CLUSTER_RECORD" && ! cluster_exists; then
		kubeadm_init
	else
		wait_for_cluster
		control_plane
		mark_control_plane
		touch "$CLUSTER_MARKER"
	fi
	record_cluster
	enable_backups
	upgrade_cluster
	log "slot $SLOT is a control-plane node"
}

main "$@"
