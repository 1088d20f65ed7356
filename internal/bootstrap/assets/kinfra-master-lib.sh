# shellcheck shell=bash
# kinfra-master-lib: functions the master's scripts share (the boot script,
# the etcd backup), sourced after /etc/kinfra/master.env. It holds what
# decides about etcd data: the cluster's durable record in SSM, restores and
# snapshots. Every decision that could lose data fails closed: an answer
# that cannot be read is never taken for "no". It also brings the cluster's
# kubeadm configuration to a newer master's version (upgrade_cluster), and
# issues and reads the master's certificates (etcd_pki, cert_due,
# cert_soonest), for the boot and the renewal (kinfra-cert-renew).

DATA_MOUNT=${DATA_MOUNT:-/var/lib/etcd}
ETCD_DATA_DIR=${ETCD_DATA_DIR:-$DATA_MOUNT/data}
ETCD_PKI_DIR=${ETCD_PKI_DIR:-${KINFRA_DIR:-/etc/kinfra}/etcd-pki}
PKI_DIR=${PKI_DIR:-/etc/kubernetes/pki}
KUBECONFIG_DIR=${KUBECONFIG_DIR:-/etc/kubernetes}
POLL=${POLL:-10}
RECORD_ATTEMPTS=${RECORD_ATTEMPTS:-6}
# The volume's restore generation: which restore its data comes from (none:
# generation 0, the cluster as first created).
GENERATION_FILE="$DATA_MOUNT/kinfra-generation"
# Where the refusals tell the operator to look.
# shellcheck disable=SC2034 # read by the scripts that source this library
RECOVERY_DOC="docs/masters.md, 'etcd data safety'"

log() { printf '%s %s[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${KINFRA_PROG:-kinfra}" "$ETCD_NAME" "$*" >&2; }
die() {
	log "FATAL: $*"
	exit 1
}
awscli() { aws --region "$REGION" "$@"; }

etcdctl_at() {
	local endpoint=$1
	shift
	ETCDCTL_API=3 etcdctl --endpoints "$endpoint" --cacert "$ETCD_PKI_DIR/ca.crt" \
		--cert "$ETCD_PKI_DIR/apiserver-etcd-client.crt" --key "$ETCD_PKI_DIR/apiserver-etcd-client.key" \
		--dial-timeout 5s --command-timeout 10s "$@"
}

imds() {
	local token
	token=$(curl -sSf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token)
	curl -sSf -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
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

# issue NAME CN EXTKEYUSAGE SANS signs a leaf with the etcd CA, valid for
# ETCD_CERT_SECONDS (365 days; the real-binary tests make it minutes),
# into new files renamed into place, so that a reader never finds half of
# them. openssl ca, because openssl x509 of OpenSSL 3.0 takes whole days.
issue() {
	local name=$1 cn=$2 usage=$3 sans=$4 dir=$ETCD_PKI_DIR ca now
	ca=$(mktemp -d)
	now=$(date +%s)
	(
		umask 077
		openssl ecparam -name prime256v1 -genkey -noout -out "$dir/$name.key.new"
	)
	openssl req -new -key "$dir/$name.key.new" -subj "/CN=$cn" -out "$dir/$name.csr"
	: >"$ca/index"
	# shellcheck disable=SC2016 # openssl's variable
	printf '[ca]\ndefault_ca=c\n[c]\ndir=%s\ndatabase=$dir/index\nnew_certs_dir=$dir\nserial=$dir/serial\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n' "$ca" >"$ca/cnf"
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n%s' \
		"$usage" "${sans:+subjectAltName=$sans}" >"$ca/ext"
	openssl ca -batch -notext -config "$ca/cnf" -in "$dir/$name.csr" -cert "$dir/ca.crt" -keyfile "$dir/ca.key" \
		-rand_serial -startdate "$(date -u -d "@$now" +%Y%m%d%H%M%SZ)" -enddate "$(date -u -d "@$((now + ${ETCD_CERT_SECONDS:-31536000}))" +%Y%m%d%H%M%SZ)" \
		-extfile "$ca/ext" -out "$dir/$name.crt.new" 2>/dev/null
	rm -rf "$dir/$name.csr" "$ca"
	mv -f "$dir/$name.key.new" "$dir/$name.key"
	mv -f "$dir/$name.crt.new" "$dir/$name.crt"
}

# cert_pem FILE prints FILE's certificate: a PEM file's, or the client
# certificate a kubeconfig embeds.
cert_pem() {
	case "$1" in
	*.conf) awk '$1 == "client-certificate-data:" { print $2; exit }' "$1" | base64 -d ;;
	*) cat "$1" ;;
	esac
}

# cert_dates FILE prints its certificate's NotBefore and NotAfter, in
# seconds since the epoch.
cert_dates() {
	local d
	d=$(cert_pem "$1" 2>/dev/null | openssl x509 -noout -startdate -enddate 2>/dev/null) || return 1
	echo "$(date -u -d "$(sed -n 's/^notBefore=//p' <<<"$d")" +%s) $(date -u -d "$(sed -n 's/^notAfter=//p' <<<"$d")" +%s)"
}

# cert_due FILE succeeds when its certificate has less than a third of its
# lifetime left, cannot be read, or (FILE.crt) FILE.key is not its key:
# then the boot and the renewal issue it anew (docs/masters.md,
# 'Certificate renewal').
cert_due() {
	local nb na
	read -r nb na < <(cert_dates "$1") || return 0
	[ "$1" = "${1%.crt}" ] || [ "$(openssl x509 -in "$1" -noout -pubkey)" = "$(openssl pkey -in "${1%.crt}.key" -pubout 2>/dev/null)" ] || return 0
	[ $(($(date +%s) * 3)) -gt $((nb + 2 * na)) ]
}

# cert_files prints the master's certificate files that exist: etcd's, and
# kubeadm's once it built the node.
cert_files() {
	local f
	for f in "$ETCD_PKI_DIR"/{server,peer,apiserver-etcd-client}.crt "$PKI_DIR"/{apiserver,apiserver-kubelet-client,front-proxy-client}.crt \
		"$KUBECONFIG_DIR"/{admin,super-admin,controller-manager,scheduler}.conf; do
		[ ! -s "$f" ] || echo "$f"
	done
}

# cert_soonest prints the soonest NotAfter of the master's certificates (in
# seconds since the epoch; 0 for one that cannot be read) and its file.
cert_soonest() {
	local f nb na
	for f in $(cert_files); do
		read -r nb na < <(cert_dates "$f") || na=0
		echo "$na $f"
	done | sort -n | head -n 1
}

# cert_current NAME SANS succeeds when NAME's certificate and key can be
# kept: the etcd CA issued it for exactly SANS, and it is not due. A retried
# boot then leaves alone the files that the etcd it started reads at every
# connection.
cert_current() {
	local dir=$ETCD_PKI_DIR name=$1 sans=$2 got
	[ -s "$dir/$name.crt" ] && [ -s "$dir/$name.key" ] || return 1
	openssl verify -CAfile "$dir/ca.crt" "$dir/$name.crt" >/dev/null 2>&1 || return 1
	! cert_due "$dir/$name.crt" || return 1
	got=$(openssl x509 -in "$dir/$name.crt" -noout -ext subjectAltName 2>/dev/null | sed -n '2s/^ *//p')
	sans=${sans//IP:/IP Address:}
	[ "$got" = "${sans//,/, }" ]
}

# etcd_pki fetches the etcd CA and issues this host's etcd certificates,
# unless those it has can be kept.
etcd_pki() {
	fetch control-plane/etcd-ca.crt "$ETCD_PKI_DIR/ca.crt" 0644
	fetch control-plane/etcd-ca.key "$ETCD_PKI_DIR/ca.key" 0600
	local sans="DNS:$ETCD_RECORD,DNS:localhost,IP:127.0.0.1,IP:$PRIVATE_IP"
	if cert_current server "$sans" && cert_current peer "$sans" && cert_current apiserver-etcd-client ""; then
		log "keeping the etcd certificates it has"
		return 0
	fi
	issue server "$ETCD_NAME" serverAuth,clientAuth "$sans"
	issue peer "$ETCD_NAME" serverAuth,clientAuth "$sans"
	issue apiserver-etcd-client kube-apiserver-etcd-client clientAuth ""
}

# record_read NAME reads the record parameter <prefix>/NAME into RECORD.
# It returns 1 only when SSM says the parameter does not exist; any other
# failure (throttling, no network, no permission) is retried and then stops
# the script: an unreadable record is never taken for an absent one. Call
# it directly, not in a subshell, so that stopping stops the script.
record_read() {
	local name="$PARAMETER_PREFIX/$1" attempt out err
	RECORD=
	err=$(mktemp)
	for ((attempt = 1; attempt <= RECORD_ATTEMPTS; attempt++)); do
		if out=$(awscli ssm get-parameter --name "$name" --query Parameter.Value --output text 2>"$err"); then
			rm -f "$err"
			RECORD=$out
			return 0
		fi
		if grep -q 'ParameterNotFound' "$err"; then
			rm -f "$err"
			return 1
		fi
		log "reading $name failed (attempt $attempt of $RECORD_ATTEMPTS): $(tr '\n' ' ' <"$err")"
		sleep "$POLL"
	done
	rm -f "$err"
	die "cannot read $name from SSM; refusing to guess whether the etcd cluster exists"
}

# record_put NAME JSON [create] writes the record parameter <prefix>/NAME;
# with create, only if it does not exist yet (then it succeeds either way).
record_put() {
	local name="$PARAMETER_PREFIX/$1" value=$2 mode=${3:-overwrite} attempt out
	local -a flags=(--overwrite)
	[ "$mode" != create ] || flags=(--no-overwrite)
	for ((attempt = 1; attempt <= RECORD_ATTEMPTS; attempt++)); do
		if out=$(awscli ssm put-parameter --name "$name" --type String --value "$value" "${flags[@]}" 2>&1 >/dev/null); then
			return 0
		fi
		if [ "$mode" = create ] && [[ "$out" == *ParameterAlreadyExists* ]]; then
			return 0
		fi
		log "writing $name failed (attempt $attempt of $RECORD_ATTEMPTS): $out"
		sleep "$POLL"
	done
	die "cannot write $name to SSM"
}

# json_field JSON FIELD prints one field of a record ("" when absent).
json_field() { jq -r --arg f "$2" '.[$f] // "" | tostring' <<<"$1"; }

# local_status reads the local member's status: member and cluster IDs in
# hex (as etcdctl member list prints them), its leader (decimal, as
# compared with the member's) and revision.
local_status() {
	local fields
	fields=$(etcdctl_at https://127.0.0.1:2379 endpoint status -w fields) || return 1
	STATUS_CLUSTER_ID=$(printf '%x' "$(awk -F' : ' '$1 == "\"ClusterID\"" { print $2; exit }' <<<"$fields")")
	STATUS_MEMBER=$(awk -F' : ' '$1 == "\"MemberID\"" { print $2; exit }' <<<"$fields")
	STATUS_MEMBER_ID=$(printf '%x' "$STATUS_MEMBER")
	STATUS_LEADER=$(awk -F' : ' '$1 == "\"Leader\"" { print $2; exit }' <<<"$fields")
	STATUS_REVISION=$(awk -F' : ' '$1 == "\"Revision\"" { print $2; exit }' <<<"$fields")
	[ -n "$STATUS_MEMBER" ] && [ -n "$STATUS_LEADER" ] && [ -n "$STATUS_REVISION" ]
}

# ca_cert_hash is kubeadm's discovery hash of the cluster CA (sha256 of its
# public key), which names the cluster in every snapshot's metadata.
ca_cert_hash() {
	local hash
	hash=$(openssl x509 -pubkey -noout -in "$PKI_DIR/ca.crt" | openssl pkey -pubin -outform der | sha256sum)
	printf 'sha256:%s\n' "${hash%% *}"
}

volume_generation() {
	if [ -s "$GENERATION_FILE" ]; then cat "$GENERATION_FILE"; else echo 0; fi
}

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# record_member writes this member's record: its ID, its cluster's and the
# restore generation its data comes from. Run whenever etcd is healthy.
record_member() {
	local_status || die "cannot read the local etcd member's status"
	record_put "$MEMBER_RECORD" "$(jq -cn --arg m "$ETCD_NAME" --arg id "$STATUS_MEMBER_ID" --arg c "$STATUS_CLUSTER_ID" \
		--argjson g "$(volume_generation)" --arg t "$(now)" \
		'{member: $m, memberId: $id, clusterId: $c, generation: $g, time: $t}')"
}

# record_cluster writes the cluster's record once the cluster exists in
# etcd: created once, and rewritten only by a member restored to a newer
# generation (its cluster ID and token are new).
record_cluster() {
	local gen token
	local_status || die "cannot read the local etcd member's status"
	gen=$(volume_generation)
	token=$CLUSTER
	[ "$gen" = 0 ] || token="$CLUSTER-g$gen"
	local value
	value=$(jq -cn --arg c "$CLUSTER" --arg id "$STATUS_CLUSTER_ID" --argjson g "$gen" --arg tok "$token" \
		--arg members "$ETCD_MEMBERS" --arg ca "$(ca_cert_hash)" --arg by "$ETCD_NAME" --arg t "$(now)" \
		'{cluster: $c, clusterId: $id, generation: $g, token: $tok, members: ($members | split(" ")), caCertHash: $ca, writtenBy: $by, time: $t}')
	if record_read "$CLUSTER_RECORD"; then
		[ "$(json_field "$RECORD" generation)" -lt "$gen" ] || return 0
		log "recording the etcd cluster restored to generation $gen ($STATUS_CLUSTER_ID)"
		record_put "$CLUSTER_RECORD" "$value"
		return 0
	fi
	log "recording the etcd cluster $STATUS_CLUSTER_ID in SSM ($PARAMETER_PREFIX/$CLUSTER_RECORD)"
	record_put "$CLUSTER_RECORD" "$value" create
}

# pending_restore reads into RESTORE the restore request this member has
# yet to carry out: one for a generation newer than both its volume's and
# its member record's, so that a member restores exactly once per
# generation, even when its volume is later replaced by a blank one.
pending_restore() {
	local gen mgen=0
	RESTORE=
	record_read "$RESTORE_REQUEST" || return 1
	local request=$RECORD
	gen=$(json_field "$request" generation)
	[[ "$gen" =~ ^[0-9]+$ ]] || die "the restore request $PARAMETER_PREFIX/$RESTORE_REQUEST has no generation: $request"
	if record_read "$MEMBER_RECORD"; then
		mgen=$(json_field "$RECORD" generation)
	fi
	if [ "$gen" -le "$(volume_generation)" ] || [ "$gen" -le "${mgen:-0}" ]; then
		return 1
	fi
	# shellcheck disable=SC2034 # read by the caller
	RESTORE=$request
}

# restore_member replaces this member's data with the requested snapshot:
# downloaded from S3, its SHA-256 checked, restored by etcdutl under the
# member's rendered name and peer URL with the request's new cluster token,
# so that every member restored for the generation forms one new cluster
# and no member of an older generation can join it. The data it replaces is
# moved aside, never deleted. Resumable: a restore cut short runs again.
restore_member() {
	local request=$1 gen token bucket key version sha snap restoring aside got
	gen=$(json_field "$request" generation)
	token=$(json_field "$request" token)
	bucket=$(json_field "$request" bucket)
	key=$(json_field "$request" key)
	version=$(json_field "$request" versionId)
	sha=$(json_field "$request" sha256)
	if [ -z "$token" ] || [ -z "$bucket" ] || [ -z "$key" ] || [ -z "$sha" ]; then
		die "the restore request for generation $gen is incomplete: $request"
	fi
	log "restoring etcd member $ETCD_NAME from s3://$bucket/$key (generation $gen, token $token)"
	snap="$DATA_MOUNT/restore-g$gen.db"
	local -a version_flag=()
	[ -z "$version" ] || version_flag=(--version-id "$version")
	awscli s3api get-object --bucket "$bucket" --key "$key" "${version_flag[@]}" "$snap.tmp" >/dev/null ||
		die "cannot download s3://$bucket/$key"
	got=$(sha256sum "$snap.tmp")
	got=${got%% *}
	[ "$got" = "$sha" ] || die "s3://$bucket/$key has SHA-256 $got, the restore request says $sha; not restoring"
	mv -f "$snap.tmp" "$snap"
	etcdutl snapshot status "$snap" -w table >&2 || die "etcdutl cannot read the snapshot s3://$bucket/$key"
	restoring="$DATA_MOUNT/data.restoring-g$gen"
	rm -rf "$restoring"
	etcdutl snapshot restore "$snap" --name "$ETCD_NAME" --data-dir "$restoring" \
		--initial-cluster "$ETCD_INITIAL_CLUSTER" --initial-cluster-token "$token" \
		--initial-advertise-peer-urls "$ETCD_PEER_URL" >&2 || die "etcdutl snapshot restore failed"
	aside="$DATA_MOUNT/data.before-g$gen"
	if [ -d "$ETCD_DATA_DIR" ] && [ -n "$(ls -A "$ETCD_DATA_DIR")" ]; then
		[ ! -e "$aside" ] || die "$aside exists and $ETCD_DATA_DIR is not empty; move one of them away by hand"
		mv "$ETCD_DATA_DIR" "$aside"
		log "the member's previous data is kept in $aside"
	fi
	rm -rf "$ETCD_DATA_DIR"
	mv "$restoring" "$ETCD_DATA_DIR"
	chmod 0700 "$ETCD_DATA_DIR"
	printf '%s\n' "$gen" >"$GENERATION_FILE.tmp"
	mv -f "$GENERATION_FILE.tmp" "$GENERATION_FILE"
	rm -f "$snap"
	log "etcd member $ETCD_NAME restored to generation $gen"
}

# join_token_create [TOKEN] creates the node join token TOKEN, or a new one
# it prints, valid for JOIN_TOKEN_TTL seconds (docs/masters.md, "Join
# tokens"), with kubeadm's default usages and group for node joins.
join_token_create() {
	kubeadm token create "$@" --ttl "${JOIN_TOKEN_TTL}s" --kubeconfig "$KUBECONFIG_DIR/admin.conf" \
		--description "kinfra node join token, replaced every third of its TTL"
}

# kube_system runs kubectl in kube-system as this master's kubeadm admin.
kube_system() { kubectl --kubeconfig "$KUBECONFIG_DIR/admin.conf" --request-timeout 30s -n kube-system "$@"; }

# coredns_image prints the image CoreDNS's Deployment runs ("" without one).
coredns_image() { kube_system get deployment coredns --ignore-not-found -o 'jsonpath={.spec.template.spec.containers[0].image}'; }

# upgrade_cluster brings what kubeadm keeps in the cluster (kubeadm-config,
# kubelet-config, CoreDNS, the bootstrap-token RBAC rules) to this master's
# version: every join reads kubeadm-config, and kubeadm supports only its
# own minor and the one before (docs/masters.md, "Upgrading the cluster's
# configuration"). As kubeadm upgrade does: the first master of a version
# runs apply's cluster-wide phases (kubeadm-config last, so that a failure
# leaves the old version for the next boot to see); the others run node's
# CoreDNS phase while CoreDNS is behind. kubeadm upgrades CoreDNS once no
# control-plane instance is older. Never kube-proxy (the add-ons' own), never
# a downgrade, never two minors at once.
upgrade_cluster() {
	local want=$KUBERNETES_VERSION admin="$KUBECONFIG_DIR/admin.conf" have config image pinned phase
	local deadline=$((SECONDS + ${KUBE_API_TIMEOUT:-1800}))
	local -a h w phases=(bootstrap-token "addon coredns" "upload-config all")
	until config=$(kube_system get configmap kubeadm-config -o 'jsonpath={.data.ClusterConfiguration}'); do
		[ "$SECONDS" -lt "$deadline" ] || die "cannot read kubeadm-config through the API: the cluster's configuration is not brought to $want"
		log "waiting for the API to read kubeadm-config"
		sleep "$POLL"
	done
	have=$(awk '$1 == "kubernetesVersion:" { print $2 }' <<<"$config")
	[[ "$want" =~ ^v([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || die "this master's version $want is not vMAJOR.MINOR.PATCH"
	w=("${BASH_REMATCH[@]:1}")
	[[ "$have" =~ ^v([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || die "kubeadm-config's kubernetesVersion '$have' is not vMAJOR.MINOR.PATCH; not changing it"
	h=("${BASH_REMATCH[@]:1}")
	if ((h[0] > w[0] || (h[0] == w[0] && (h[1] > w[1] || (h[1] == w[1] && h[2] > w[2]))))); then
		log "kubeadm-config says $have, newer than this master's $want: leaving the cluster's configuration as it is (never downgraded; roll this slot)"
		return 0
	fi
	((h[0] == w[0] && w[1] - h[1] <= 1)) ||
		die "kubeadm-config says $have and this master runs $want: refusing to move the cluster's configuration more than one minor at once (roll the masters one minor at a time: docs/masters.md)"
	image=$(coredns_image) || die "cannot read CoreDNS's Deployment"
	pinned=$(kubeadm config images list --config "$KINFRA_DIR/kubeadm-init.yaml") || die "kubeadm config images list failed"
	pinned=$(grep -m 1 '/coredns:' <<<"$pinned") || die "kubeadm config images list names no CoreDNS image"
	# No CoreDNS Deployment: kubeadm's is not installed and is not brought back.
	[ -n "$image" ] || phases=(bootstrap-token "upload-config all")
	if [ "$have" != "$want" ]; then
		log "bringing the cluster's configuration from $have to $want"
		for phase in "${phases[@]}"; do
			# shellcheck disable=SC2086 # a phase is one or two words
			kubeadm upgrade apply phase $phase "$want" --kubeconfig "$admin" || die "kubeadm upgrade apply phase $phase $want failed; the next boot tries again"
		done
	elif [ -n "$image" ] && [ "$image" != "$pinned" ]; then
		kubeadm upgrade node phase addon coredns --kubeconfig "$admin" || die "kubeadm upgrade node phase addon coredns failed; the next boot tries again"
	fi
	image=$(coredns_image) || die "cannot read CoreDNS's Deployment"
	[ -z "$image" ] || [ "$image" = "$pinned" ] || log "CoreDNS stays at $image until no control-plane instance is older than $want"
}
