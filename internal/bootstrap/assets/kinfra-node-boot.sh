#!/usr/bin/env bash
# kinfra-node-boot joins this instance to its cluster as a worker of its node
# pool. It runs at every boot (kinfra-node.service) and is idempotent: once
# the kubelet has its own credentials, there is nothing left to do.
#   1. read the node name from instance metadata (the EC2 private DNS name,
#      which the AWS cloud-controller-manager looks instances up by);
#   2. fetch the bootstrap token from SSM (never in user data);
#   3. render the kubeadm JoinConfiguration into a root-only tmpfs file;
#   4. kubeadm join: token discovery against the API name, pinned to the
#      cluster CA's hash; the kubelet patch sets maxPods, reservations and
#      eviction thresholds.
# A node that cannot join marks itself unhealthy, so its Auto Scaling Group
# replaces it instead of keeping a machine that runs nothing.
#
#   kinfra-node-boot                          join (the service)
#   kinfra-node-boot render-join TOKEN NAME   print the JoinConfiguration
# Settings come from /etc/kinfra/node.env, rendered by kinfra per pool.
set -euo pipefail

KINFRA_DIR=${KINFRA_DIR:-/etc/kinfra}
# shellcheck source=/dev/null
. "${KINFRA_ENV:-$KINFRA_DIR/node.env}"
: "${CLUSTER:?}" "${POOL:?}" "${REGION:?}" "${PARAMETER_PREFIX:?}"
JOIN_TEMPLATE=${JOIN_TEMPLATE:-$KINFRA_DIR/kubeadm-join.yaml.tmpl}
RUN_DIR=${RUN_DIR:-/run/kinfra}
KUBELET_KUBECONFIG=${KUBELET_KUBECONFIG:-/etc/kubernetes/kubelet.conf}
JOIN_ATTEMPTS=${JOIN_ATTEMPTS:-20}
POLL=${POLL:-15}

log() { printf '%s kinfra-node-boot[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$POOL" "$*" >&2; }
awscli() { aws --region "$REGION" "$@"; }

imds() {
	local token
	token=$(curl -sSf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token)
	curl -sSf -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
}

# retry runs a command until it succeeds, at most JOIN_ATTEMPTS times.
retry() {
	local n=1
	until "$@"; do
		[ "$n" -lt "$JOIN_ATTEMPTS" ] || return 1
		n=$((n + 1))
		sleep "$POLL"
	done
}

# render_join TOKEN NAME prints the JoinConfiguration, refusing values that
# are not what kubeadm and the template expect.
render_join() {
	local token=$1 name=$2
	if ! [[ $token =~ ^[a-z0-9]{6}\.[a-z0-9]{16}$ ]]; then
		log "the bootstrap token in $PARAMETER_PREFIX/join/bootstrap-token is not a kubeadm token"
		return 1
	fi
	if ! [[ $name =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]]; then
		log "node name '$name' is not a DNS name"
		return 1
	fi
	sed -e "s/@BOOTSTRAP_TOKEN@/$token/g" -e "s/@NODE_NAME@/$name/g" "$JOIN_TEMPLATE"
}

give_up() {
	local instance
	log "FATAL: $*; marking this instance unhealthy so that its group replaces it"
	if ! instance=$(imds instance-id) ||
		! awscli autoscaling set-instance-health --instance-id "$instance" --health-status Unhealthy --no-should-respect-grace-period; then
		log "could not mark the instance unhealthy"
	fi
	exit 1
}

join() {
	if [ -s "$KUBELET_KUBECONFIG" ]; then
		log "already joined; the kubelet runs with its own credentials"
		return 0
	fi
	local name token config="$RUN_DIR/kubeadm-join.yaml"
	name=$(retry imds local-hostname) || give_up "instance metadata did not answer"
	token=$(retry awscli ssm get-parameter --with-decryption --name "$PARAMETER_PREFIX/join/bootstrap-token" \
		--query Parameter.Value --output text) || give_up "cannot read the bootstrap token from SSM"
	umask 077
	mkdir -p "$RUN_DIR"
	trap 'rm -f "$config"' EXIT
	render_join "$token" "$name" >"$config" || give_up "cannot render the join configuration"
	local n=1
	until kubeadm join --config "$config"; do
		[ "$n" -lt "$JOIN_ATTEMPTS" ] || give_up "kubeadm join failed $n times"
		log "kubeadm join failed (attempt $n); resetting and retrying"
		kubeadm reset --force --cri-socket "${CRI_SOCKET:-unix:///run/containerd/containerd.sock}" || true
		n=$((n + 1))
		sleep "$POLL"
	done
	log "joined $CLUSTER as $name"
}

case "${1:-join}" in
join) join ;;
render-join)
	[ "$#" -eq 3 ] || {
		echo "usage: $0 render-join TOKEN NAME" >&2
		exit 2
	}
	render_join "$2" "$3"
	;;
*)
	echo "usage: $0 [join | render-join TOKEN NAME]" >&2
	exit 2
	;;
esac
