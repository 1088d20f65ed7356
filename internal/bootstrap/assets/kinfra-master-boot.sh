#!/usr/bin/env bash
# kinfra-master-boot gives this instance its master slot's identity and makes
# it a control-plane node. It runs at every boot (kinfra-master.service) and
# is idempotent:
#   1. attach the slot's etcd volume, waiting while a dead predecessor
#      releases it (never force-detached: that risks etcd's data);
#   2. point the slot's DNS record (etcd-<slot>.<domain>) at this instance;
#   3. fetch the etcd CA from SSM and issue this host's etcd certificates;
#   4. format the volume only if it holds no filesystem and its member has
#      never run, then mount it;
#   5. start etcd as the slot's member (same name, same data: no member
#      add/remove when an instance is replaced);
#   6. kubeadm init (slot 0, once per cluster) or kubeadm join --control-plane.
# Settings come from /etc/kinfra/master.env, rendered by kinfra per slot.
set -euo pipefail

KINFRA_DIR=${KINFRA_DIR:-/etc/kinfra}
# shellcheck source=/dev/null
. "${KINFRA_ENV:-$KINFRA_DIR/master.env}"
: "${CLUSTER:?}" "${SLOT:?}" "${REGION:?}" "${VOLUME_ID:?}" "${HOSTED_ZONE_ID:?}"
: "${ETCD_NAME:?}" "${ETCD_RECORD:?}" "${PARAMETER_PREFIX:?}" "${API_ENDPOINT:?}"
ETCD_PEERS=${ETCD_PEERS:-}
DATA_MOUNT=${DATA_MOUNT:-/var/lib/etcd}
PKI_DIR=${PKI_DIR:-/etc/kubernetes/pki}
ETCD_PKI_DIR=${ETCD_PKI_DIR:-$KINFRA_DIR/etcd-pki}
ENCRYPTION_CONFIG=${ENCRYPTION_CONFIG:-/etc/kubernetes/encryption/config.yaml}
KUBECONFIG_DIR=${KUBECONFIG_DIR:-/etc/kubernetes}
DISCOVERY_CONFIG=${DISCOVERY_CONFIG:-$KUBECONFIG_DIR/kinfra-discovery.conf}
DEVICE_NAME=${DEVICE_NAME:-/dev/xvdf}
ATTACH_TIMEOUT=${ATTACH_TIMEOUT:-1800}
ETCD_TIMEOUT=${ETCD_TIMEOUT:-1800}
JOIN_TIMEOUT=${JOIN_TIMEOUT:-3600}
POLL=${POLL:-10}
CLUSTER_MARKER="$DATA_MOUNT/kinfra-cluster-initialized"

log() { printf '%s kinfra-master-boot[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$ETCD_NAME" "$*" >&2; }
die() {
	log "FATAL: $*"
	exit 1
}
awscli() { aws --region "$REGION" "$@"; }

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

# prepare_volume formats a blank volume (after refuse_lost_member has ruled
# out a member whose data was lost) and mounts it.
prepare_volume() {
	local dev=$1
	if volume_is_blank "$dev"; then
		refuse_lost_member
		log "$dev has no filesystem (the slot's first boot); formatting"
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

etcdctl_at() {
	local endpoint=$1
	shift
	ETCDCTL_API=3 etcdctl --endpoints "$endpoint" --cacert "$ETCD_PKI_DIR/ca.crt" \
		--cert "$ETCD_PKI_DIR/apiserver-etcd-client.crt" --key "$ETCD_PKI_DIR/apiserver-etcd-client.key" \
		--dial-timeout 5s --command-timeout 10s "$@"
}

# refuse_lost_member stops a blank volume from becoming a member that has
# run before: its data is gone, and a member that forgot its raft log must
# not vote. A member publishes its client URLs when it first starts, so a
# member listed without them has never run. It runs before formatting, so a
# refusal holds across reboots and replacement instances.
refuse_lost_member() {
	local peer members
	for peer in $ETCD_PEERS; do
		if members=$(etcdctl_at "$peer" member list -w simple 2>/dev/null); then
			if printf '%s\n' "$members" | awk -F', ' -v name="$ETCD_NAME" '$3 == name && $5 != "" { found = 1 } END { exit !found }'; then
				die "etcd member $ETCD_NAME has run before but volume $VOLUME_ID is blank: its data is lost. Replace the member by hand (docs/masters.md, 'Lost etcd volume'); not formatting, not starting etcd"
			fi
			return 0
		fi
	done
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

write_discovery() {
	local ca
	ca=$(base64 -w0 <"$PKI_DIR/ca.crt")
	(
		umask 077
		cat >"$DISCOVERY_CONFIG" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: $CLUSTER
  cluster:
    server: https://$API_ENDPOINT
    certificate-authority-data: $ca
users:
- name: tls-bootstrap
  user:
    token: $TOKEN
contexts:
- name: join
  context:
    cluster: $CLUSTER
    user: tls-bootstrap
current-context: join
KUBECONFIG
	)
}

# cluster_exists asks etcd, the source of truth, whether an API server has
# ever stored the cluster: then slot 0 joins, whatever its volume says.
cluster_exists() {
	local keys
	keys=$(etcdctl_at https://127.0.0.1:2379 get /registry/namespaces/kube-system --keys-only) ||
		die "cannot read etcd to tell a new cluster from an existing one"
	[ -n "$keys" ]
}

kubeadm_init() {
	log "first boot of slot 0: kubeadm init"
	kubeadm init --config "$KINFRA_DIR/kubeadm-init.yaml" --skip-token-print
	# The join token from kinfra:pki never expires: replacement nodes and
	# masters use it. Recreate it so its settings are always ours.
	kubeadm token delete "${TOKEN%%.*}" --kubeconfig "$KUBECONFIG_DIR/admin.conf" >/dev/null 2>&1 || true
	kubeadm token create "$TOKEN" --ttl 0 --kubeconfig "$KUBECONFIG_DIR/admin.conf" \
		--description "kinfra node join token (kinfra:pki)" >/dev/null
	touch "$CLUSTER_MARKER"
}

kubeadm_join() {
	local deadline=$((SECONDS + JOIN_TIMEOUT))
	log "joining the control plane through $API_ENDPOINT"
	until kubeadm join --config "$KINFRA_DIR/kubeadm-join.yaml"; do
		[ "$SECONDS" -lt "$deadline" ] || die "kubeadm join did not succeed within ${JOIN_TIMEOUT}s"
		log "kubeadm join failed (is slot 0 initialised?); resetting and retrying"
		kubeadm reset --force >/dev/null 2>&1 || true
		place_pki
		write_discovery
		sleep "$POLL"
	done
	rm -f "$DISCOVERY_CONFIG"
	# The cluster's stored ClusterConfiguration is the one slot 0 was created
	# with; this master serves the certificate names and runs the flags
	# rendered in its own user data, so a roll applies a changed config.
	rm -f "$PKI_DIR/apiserver.crt" "$PKI_DIR/apiserver.key"
	kubeadm init phase certs apiserver --config "$KINFRA_DIR/kubeadm-init.yaml"
	kubeadm init phase control-plane all --config "$KINFRA_DIR/kubeadm-init.yaml"
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
	start_etcd
	if [ -f "$KUBECONFIG_DIR/manifests/kube-apiserver.yaml" ]; then
		log "this instance is already a control-plane node"
		return 0
	fi
	TOKEN=$(param join/bootstrap-token)
	place_pki
	if [ "$SLOT" = 0 ] && [ ! -e "$CLUSTER_MARKER" ] && ! cluster_exists; then
		kubeadm_init
	else
		write_discovery
		kubeadm_join
		touch "$CLUSTER_MARKER"
	fi
	log "slot $SLOT is a control-plane node"
}

main "$@"
