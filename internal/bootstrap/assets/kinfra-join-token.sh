#!/usr/bin/env bash
# kinfra-join-token keeps the node join token (a kubeadm bootstrap token)
# short-lived. Every master's timer (kinfra-join-token.timer) runs it every
# JOIN_TOKEN_CHECK seconds; only the etcd leader acts, so one master at a
# time replaces the token. The leader reads the token nodes read (SSM
# <prefix>/JOIN_TOKEN_PARAMETER) and its Secret in the cluster; when the
# cluster does not hold it (expired and cleaned up, or a restore), it never
# expires (a cluster made before rotation), or less than two thirds of the
# TTL and one check period are left, it:
#   1. gives a token that never expires an expiry two thirds of the TTL
#      away (as if it had lived a third of it);
#   2. creates a new token valid for JOIN_TOKEN_TTL seconds (kubeadm token
#      create, through the admin kubeconfig);
#   3. writes it to SSM (SecureString, the cluster key).
# Either way the leader then publishes the hours the token in SSM stays
# valid (JOIN_TOKEN_METRIC): the join-token-expiring alarm fires when
# rotations keep failing, or stop.
# A replaced token is never deleted: it stays valid for the rest of its TTL
# (at least two thirds of it), so a node that read it still joins, and
# kube-controller-manager's tokencleaner deletes it once it has expired. A
# failure leaves SSM with the token it had, still valid; the next run tries
# again. Two masters that both think they lead (a leader change between
# their checks) make two tokens: SSM keeps one, the other expires unused.
# Settings come from /etc/kinfra/master.env, rendered by kinfra per slot.
set -euo pipefail

KINFRA_DIR=${KINFRA_DIR:-/etc/kinfra}
# shellcheck disable=SC2034 # read by the library's log
KINFRA_PROG=kinfra-join-token
# shellcheck source=/dev/null
. "${KINFRA_ENV:-$KINFRA_DIR/master.env}"
: "${CLUSTER:?}" "${REGION:?}" "${ETCD_NAME:?}" "${PARAMETER_PREFIX:?}"
: "${JOIN_TOKEN_PARAMETER:?}" "${JOIN_TOKEN_TTL:?}" "${JOIN_TOKEN_CHECK:?}" "${KMS_KEY_ARN:?}"
: "${JOIN_TOKEN_METRIC:?}" "${HEALTH_METRIC_NAMESPACE:?}" "${HEALTH_METRIC_DIMENSION:?}"
# shellcheck source=/dev/null
. "${KINFRA_LIB:-/usr/local/lib/kinfra/master-lib.sh}"
KUBECONFIG_DIR=${KUBECONFIG_DIR:-/etc/kubernetes}
TOKEN_RUN_DIR=${TOKEN_RUN_DIR:-/run/kinfra}

# token_left TOKEN prints the seconds the cluster still accepts TOKEN:
# "forever" for a token without expiry, -1 for one it does not hold.
token_left() {
	local fields secret expiration
	fields=$(kube_system get secret "bootstrap-token-${1%%.*}" --ignore-not-found \
		-o 'jsonpath={.data.token-secret} {.data.expiration}') || die "cannot read the join token's Secret"
	read -r secret expiration <<<"$fields"
	if [ "$(base64 -d <<<"$secret")" != "${1#*.}" ]; then
		echo -1
	elif [ -z "$expiration" ]; then
		echo forever
	else
		echo $(($(date -d "$(base64 -d <<<"$expiration")" +%s) - $(date +%s)))
	fi
}

# publish_hours SECONDS publishes the hours the token in SSM stays valid.
# A failure is only logged: the alarm treats a missing report as breaching.
publish_hours() {
	local hours
	hours=$(awk -v s="$1" 'BEGIN { printf "%.2f", s / 3600 }')
	awscli cloudwatch put-metric-data --namespace "$HEALTH_METRIC_NAMESPACE" --metric-name "$JOIN_TOKEN_METRIC" \
		--dimensions "$HEALTH_METRIC_DIMENSION=$CLUSTER" --unit None --value "$hours" ||
		log "WARNING: cannot publish $JOIN_TOKEN_METRIC=$hours"
}

main() {
	local name="$PARAMETER_PREFIX/$JOIN_TOKEN_PARAMETER" ttl=$JOIN_TOKEN_TTL old left new
	local_status || die "the local etcd member does not answer"
	if [ "$STATUS_MEMBER" != "$STATUS_LEADER" ]; then
		log "not the etcd leader; the leader replaces the join token"
		return 0
	fi
	old=$(awscli ssm get-parameter --with-decryption --name "$name" --query Parameter.Value --output text) || die "cannot read $name"
	left=$(token_left "$old")
	if [ "$left" != forever ] && [ "$left" -gt $((ttl * 2 / 3 + JOIN_TOKEN_CHECK)) ]; then
		log "join token ${old%%.*} is valid ${left}s more; kept"
		publish_hours "$left"
		return 0
	fi
	if [ "$left" = forever ]; then
		kube_system patch secret "bootstrap-token-${old%%.*}" --type merge \
			-p "{\"stringData\":{\"expiration\":\"$(date -u -d "+$((ttl * 2 / 3)) sec" +%FT%TZ)\"}}" >/dev/null
		log "join token ${old%%.*} never expired; it now expires in $((ttl * 2 / 3))s"
	fi
	new=$(join_token_create)
	[[ "$new" =~ ^[a-z0-9]{6}\.[a-z0-9]{16}$ ]] || die "kubeadm token create printed no token"
	# To the AWS CLI in a root-only file, never as an argument, which every
	# process on the host can read.
	mkdir -p "$TOKEN_RUN_DIR"
	TOKEN_FILE=$(mktemp "$TOKEN_RUN_DIR/join-token.XXXXXX")
	trap 'rm -f "$TOKEN_FILE"' EXIT
	printf '%s' "$new" >"$TOKEN_FILE"
	awscli ssm put-parameter --name "$PARAMETER_PREFIX/$JOIN_TOKEN_PARAMETER" --type SecureString --key-id "$KMS_KEY_ARN" \
		--value "file://$TOKEN_FILE" --overwrite >/dev/null || die "cannot write $name; ${new%%.*} expires unused"
	log "join token ${new%%.*} (valid ${ttl}s) replaces ${old%%.*} (seconds left: $left) in $name"
	publish_hours "$ttl"
}

main "$@"
