#!/usr/bin/env bash
# kinfra-cert-renew renews this master's leaf certificates long before they
# expire. kinfra-cert-renew.timer runs it daily, each slot at its own hour,
# so that no two masters renew at once. It:
#   1. finds what is due (cert_due: less than a third of its lifetime left,
#      or unreadable): etcd's server, peer and API server client
#      certificates, and, on a control-plane node, kubeadm's: the API
#      server's serving, kubelet client and front-proxy client certificates
#      and the client certificates of the admin, super-admin, controller
#      manager and scheduler kubeconfigs (the kubelet rotates its own);
#   2. renews only while every etcd member is healthy, else changes nothing
#      (the timer tries again the next day);
#   3. issues etcd's with the boot's own etcd_pki. etcd reads its server
#      and peer files at every new TLS connection, the API server its etcd
#      client files likewise: neither restarts;
#   4. renews kubeadm's with kubeadm certs renew, on a copy (kubeadm writes
#      in place), then renames each file into place. The API server reloads
#      its files; the controller manager and the scheduler read their
#      kubeconfigs only when they start, so their static pods' manifests
#      get a label naming the new kubeconfig, and the kubelet restarts them;
#   5. waits until every member, this one too, is healthy again.
# Safe to repeat and to interrupt: files are written aside and renamed, and
# a run finds due whatever an earlier one left undone (a key that is not its
# certificate's is due). docs/masters.md, 'Certificate renewal'.
# Settings come from /etc/kinfra/master.env, rendered by kinfra per slot.
set -euo pipefail

KINFRA_DIR=${KINFRA_DIR:-/etc/kinfra}
# shellcheck disable=SC2034 # read by the library's log
KINFRA_PROG=kinfra-cert-renew
# shellcheck source=/dev/null
. "${KINFRA_ENV:-$KINFRA_DIR/master.env}"
: "${CLUSTER:?}" "${REGION:?}" "${ETCD_NAME:?}" "${ETCD_RECORD:?}" "${PARAMETER_PREFIX:?}"
# shellcheck source=/dev/null
. "${KINFRA_LIB:-/usr/local/lib/kinfra/master-lib.sh}"
RENEW_TIMEOUT=${RENEW_TIMEOUT:-600}
NODE_MARKER=${NODE_MARKER:-$KUBECONFIG_DIR/kinfra-control-plane-node}
KUBEADM_CERTS="apiserver apiserver-kubelet-client front-proxy-client"
KUBECONFIGS="admin super-admin controller-manager scheduler"

# healthy succeeds when every member answers healthy, on new connections.
healthy() { etcdctl_at https://127.0.0.1:2379 endpoint health --cluster >/dev/null 2>&1; }

# renew_kubeadm runs kubeadm certs renew on a copy of the certificates and
# kubeconfigs, which its own mount namespace sees at the real path, and
# renames what it renewed into place.
renew_kubeadm() {
	local stage="$KUBECONFIG_DIR/.kinfra-renew" f
	rm -rf "$stage"
	(
		umask 077
		mkdir -p "$stage/pki"
	)
	cp -p "$PKI_DIR"/*.crt "$PKI_DIR"/*.key "$stage/pki/"
	cp -p "$KUBECONFIG_DIR"/*.conf "$stage/"
	# shellcheck disable=SC2016 # the inner shell expands them
	unshare -m bash -c 'mount --bind "$0" "$1" && shift && exec "$@"' "$stage" "$KUBECONFIG_DIR" \
		kubeadm certs renew all --config "$KINFRA_DIR/kubeadm-init.yaml" >&2 || die "kubeadm certs renew failed"
	for f in $KUBEADM_CERTS; do
		[ ! -s "$stage/pki/$f.crt" ] || mv -f "$stage/pki/$f.key" "$stage/pki/$f.crt" "$PKI_DIR/"
	done
	for f in $KUBECONFIGS; do
		[ ! -s "$stage/$f.conf" ] || mv -f "$stage/$f.conf" "$KUBECONFIG_DIR/"
	done
	rm -rf "$stage"
}

# restart_pod NAME has the kubelet restart the static pod kube-NAME, which
# reads NAME.conf only when it starts: its manifest (written aside, renamed)
# gets a label with that kubeconfig's hash, so a second run changes nothing.
restart_pod() {
	local m="$KUBECONFIG_DIR/manifests/kube-$1.yaml" sum
	[ -f "$m" ] || return 0
	sum=$(sha256sum <"$KUBECONFIG_DIR/$1.conf")
	sed -e '/^    kinfra.dev\/kubeconfig:/d' -e "/^  labels:/a\\    kinfra.dev/kubeconfig: \"${sum:0:16}\"" "$m" >"$KUBECONFIG_DIR/.kube-$1.yaml"
	grep -q "kinfra.dev/kubeconfig: \"${sum:0:16}\"" "$KUBECONFIG_DIR/.kube-$1.yaml" || die "$m has no labels"
	cmp -s "$m" "$KUBECONFIG_DIR/.kube-$1.yaml" || mv -f "$KUBECONFIG_DIR/.kube-$1.yaml" "$m"
	rm -f "$KUBECONFIG_DIR/.kube-$1.yaml"
}

main() {
	local due f deadline=$((SECONDS + RENEW_TIMEOUT))
	due=$(for f in $(cert_files); do ! cert_due "$f" || echo "$f"; done)
	if [ -z "$due" ]; then
		log "nothing is due; the first to expire: $(cert_soonest)"
		return 0
	fi
	healthy || die "not every etcd member is healthy: renewing nothing"
	if [[ "$due" == *"$ETCD_PKI_DIR/"* ]]; then
		log "renewing etcd's certificates"
		PRIVATE_IP=${PRIVATE_IP:-$(imds local-ipv4)}
		etcd_pki
	fi
	if [[ "$due" == *"$KUBECONFIG_DIR/"* ]] && [ -e "$NODE_MARKER" ]; then
		log "renewing kubeadm's certificates"
		renew_kubeadm
		restart_pod controller-manager
		restart_pod scheduler
	fi
	until healthy; do
		[ "$SECONDS" -lt "$deadline" ] || die "etcd is not healthy ${RENEW_TIMEOUT}s after the renewal"
		sleep "$POLL"
	done
	log "renewed; the first to expire: $(cert_soonest)"
}

main "$@"
