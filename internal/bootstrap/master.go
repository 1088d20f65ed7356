// Package bootstrap renders what a node runs at boot: cloud-init user data
// that writes kinfra's configuration files (kubeadm v1beta4, etcd, audit and
// authentication policy), its boot script and systemd units. Rendering is
// pure Go, so the offline plan shows exactly what an instance gets, and the
// tests hand every artifact to the real tool that reads it (kubeadm,
// cloud-init, shellcheck).
//
// No secret is rendered here: user data is readable by anyone who can
// describe the launch template. Hosts fetch the PKI from SSM at boot.
package bootstrap

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/base64"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/internal/irsa"
	"github.com/kinfra-dev/kinfra/internal/ports"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/yamldoc"
)

//go:embed assets
var assets embed.FS

// Paths on the masters. The boot script reads the same defaults.
const (
	KinfraDir           = "/etc/kinfra"
	MasterEnvPath       = KinfraDir + "/master.env"
	EtcdConfigPath      = KinfraDir + "/etcd.yaml"
	KubeadmInitPath     = KinfraDir + "/kubeadm-init.yaml"
	APIServerDir        = KinfraDir + "/apiserver"
	AuditPolicyPath     = APIServerDir + "/audit-policy.yaml"
	AuthnConfigPath     = APIServerDir + "/authentication.yaml"
	EtcdPKIDir          = KinfraDir + "/etcd-pki"
	BootScriptPath      = "/usr/local/sbin/kinfra-master-boot"
	MasterLibPath       = "/usr/local/lib/kinfra/master-lib.sh"
	BackupScriptPath    = "/usr/local/sbin/kinfra-etcd-backup"
	BackupUnitPath      = "/etc/systemd/system/kinfra-etcd-backup.service"
	BackupTimerPath     = "/etc/systemd/system/kinfra-etcd-backup.timer"
	JoinTokenScriptPath = "/usr/local/sbin/kinfra-join-token"
	JoinTokenUnitPath   = "/etc/systemd/system/kinfra-join-token.service"
	JoinTokenTimerPath  = "/etc/systemd/system/kinfra-join-token.timer"
	BootUnitPath        = "/etc/systemd/system/kinfra-master.service"
	RenewScriptPath     = "/usr/local/sbin/kinfra-cert-renew"
	RenewUnitPath       = "/etc/systemd/system/kinfra-cert-renew.service"
	RenewTimerPath      = "/etc/systemd/system/kinfra-cert-renew.timer"
	EtcdUnitPath        = "/etc/systemd/system/etcd.service"
	EncryptionDir       = "/etc/kubernetes/encryption"
	EncryptionPath      = EncryptionDir + "/config.yaml"
	AuditLogDir         = "/var/log/kubernetes/audit"
	EtcdDataMount       = "/var/lib/etcd"
	EtcdDataDir         = EtcdDataMount + "/data"
	ContainerdSocket    = "unix:///run/containerd/containerd.sock"
)

// Ports come from the one table the security groups are built from.
const (
	APIPort        = ports.API
	EtcdClientPort = ports.EtcdClient
	EtcdPeerPort   = ports.EtcdPeer
)

// Master is everything one master slot's user data depends on. All values
// are plain: the component resolves resource IDs before rendering.
type Master struct {
	ClusterName string
	Region      string
	// Slot is this master's index; Count is the number of slots.
	Slot, Count int
	// Domain is the cluster's private zone; etcd-<i>.<Domain> are the slots.
	Domain string
	// APIName is the API's stable DNS name (api.<Domain>); ExtraSANs are
	// more names the API certificate must carry (a public record).
	APIName   string
	ExtraSANs []string
	// KubernetesVersion, e.g. v1.37.2.
	KubernetesVersion string
	PodCidr           string
	ServiceCidr       string
	NodeCidrMaskSize  int
	// VolumeID is the slot's etcd volume; HostedZoneID the private zone.
	VolumeID     string
	HostedZoneID string
	// ParameterPrefix is the SSM path of the cluster's PKI (/kinfra/<name>)
	// and of its etcd record (<prefix>/etcd/...).
	ParameterPrefix string
	// EtcdVersion is the etcd the image installs, recorded with each
	// snapshot.
	EtcdVersion string
	// Backup is where the masters snapshot etcd; nil renders no backups.
	Backup *Backup
	// JoinToken is how the masters keep the node join token.
	JoinToken JoinToken
	// ServiceAccountIssuer is the issuer the API server signs tokens as,
	// published where AWS STS reads it (internal/irsa), and
	// ServiceAccountJWKSURI where its key set is.
	ServiceAccountIssuer  string
	ServiceAccountJWKSURI string
}

// ClusterDNSDomain is the cluster's Service DNS domain.
const ClusterDNSDomain = "cluster.local"

// File is one file cloud-init writes.
type File struct {
	Path        string `yaml:"path"`
	Permissions string `yaml:"permissions"`
	Owner       string `yaml:"owner"`
	Content     string `yaml:"content"`
}

// Rendered is a master's boot configuration.
type Rendered struct {
	// UserData is the #cloud-config document.
	UserData string
	// Files are the files the master has once its boot installed its
	// tools, by path: those the user data writes, and the tools.
	Files map[string]File
	// Tools are the files the boot installs from SSM parameters, which
	// must exist before an instance boots from UserData.
	Tools []Tool
}

var safeValue = regexp.MustCompile(`^[A-Za-z0-9._:/@ -]*$`)

// envValue is what a single-quoted shell value may hold: safeValue and the
// separators of etcd's initial-cluster list.
var envValue = regexp.MustCompile(`^[A-Za-z0-9._:/@ ,=-]*$`)

// Render renders slot m.Slot's user data.
func (m Master) Render() (Rendered, error) {
	if err := m.check(); err != nil {
		return Rendered{}, err
	}
	env, err := m.env()
	if err != nil {
		return Rendered{}, err
	}
	etcd, err := m.etcdConfig()
	if err != nil {
		return Rendered{}, err
	}
	initDoc, err := m.kubeadmInit()
	if err != nil {
		return Rendered{}, err
	}
	files := []File{
		{MasterEnvPath, "0644", "root:root", env},
		{EtcdConfigPath, "0644", "root:root", etcd},
		{KubeadmInitPath, "0600", "root:root", initDoc},
		{AuditPolicyPath, "0644", "root:root", asset("audit-policy.yaml")},
		{AuthnConfigPath, "0644", "root:root", authenticationConfig},
		{MasterLibPath, "0644", "root:root", MasterScript("kinfra-master-lib.sh")},
		{BootScriptPath, "0755", "root:root", MasterScript("kinfra-master-boot.sh")},
		{BootUnitPath, "0644", "root:root", asset("kinfra-master.service")},
		{EtcdUnitPath, "0644", "root:root", asset("etcd.service")},
		// The timers' units; their scripts are tools.
		{HealthUnitPath, "0644", "root:root", asset("kinfra-master-health.service")},
		{HealthTimerPath, "0644", "root:root", healthTimer},
		{DefragUnitPath, "0644", "root:root", asset("kinfra-etcd-defrag.service")},
		{DefragTimerPath, "0644", "root:root", defragTimer(m.Slot)},
		{RenewUnitPath, "0644", "root:root", asset("kinfra-cert-renew.service")},
		{RenewTimerPath, "0644", "root:root", RenewTimer(m.Slot)},
		{JoinTokenUnitPath, "0644", "root:root", asset("kinfra-join-token.service")},
		{JoinTokenTimerPath, "0644", "root:root", joinTokenTimer()},
	}
	if m.Backup != nil {
		files = append(files,
			File{BackupUnitPath, "0644", "root:root", asset("kinfra-etcd-backup.service")},
			File{BackupTimerPath, "0644", "root:root", m.Backup.timer()},
		)
	}
	tools, err := MasterTools(m.Backup != nil)
	if err != nil {
		return Rendered{}, err
	}
	files = append(files, File{ToolsManifestPath, "0644", "root:root", ToolsManifest(tools)})
	r, err := cloudConfig(files, "kinfra-master.service")
	if err != nil {
		return Rendered{}, err
	}
	r.Tools = tools
	for _, t := range tools {
		r.Files[t.Path] = t.File
	}
	return r, nil
}

// RenewHour is the hour (UTC) at which slot's certificate renewal runs: one
// hour apart per slot from 02:30, so that no two masters renew at once
// (a renewal takes seconds to a minute).
func RenewHour(slot int) int { return (2 + slot) % 24 }

// RenewTimer is slot's certificate renewal timer: daily at its own hour,
// never catching up a missed run (which could meet another slot's).
func RenewTimer(slot int) string {
	return fmt.Sprintf(`[Unit]
Description=kinfra certificate renewal, daily at %02d:30 UTC (slot %d)

[Timer]
OnCalendar=*-*-* %02d:30:00 UTC
AccuracySec=1s
Persistent=false

[Install]
WantedBy=timers.target
`, RenewHour(slot), slot, RenewHour(slot))
}

// cloudConfig is the user data that writes files and starts unit, the boot
// service, without waiting for it (cloud-init must finish for it to run).
func cloudConfig(files []File, unit string) (Rendered, error) {
	doc := struct {
		WriteFiles []File     `yaml:"write_files"`
		Runcmd     [][]string `yaml:"runcmd"`
	}{
		WriteFiles: files,
		Runcmd: [][]string{
			{"systemctl", "daemon-reload"},
			{"systemctl", "enable", unit},
			{"systemctl", "start", "--no-block", unit},
		},
	}
	body, err := yamldoc.Marshal(doc)
	if err != nil {
		return Rendered{}, err
	}
	out := Rendered{UserData: "#cloud-config\n" + body, Files: map[string]File{}}
	for _, f := range files {
		out.Files[f.Path] = f
	}
	return out, nil
}

// envFile is a shell settings file for a boot script: one single-quoted
// assignment per variable, refusing values a single-quoted string cannot
// hold safely.
func envFile(header string, vars [][2]string) (string, error) {
	var b strings.Builder
	b.WriteString(header + "\n")
	for _, kv := range vars {
		if !envValue.MatchString(kv[1]) {
			return "", fmt.Errorf("bootstrap: %s %q has characters a shell file cannot hold safely", kv[0], kv[1])
		}
		fmt.Fprintf(&b, "%s='%s'\n", kv[0], kv[1])
	}
	return b.String(), nil
}

func (m Master) check() error {
	var problems []string
	if m.Count < 1 || m.Slot < 0 || m.Slot >= m.Count {
		problems = append(problems, fmt.Sprintf("slot %d of %d", m.Slot, m.Count))
	}
	for name, v := range map[string]string{
		"ClusterName": m.ClusterName, "Region": m.Region, "Domain": m.Domain, "APIName": m.APIName,
		"KubernetesVersion": m.KubernetesVersion, "PodCidr": m.PodCidr, "ServiceCidr": m.ServiceCidr,
		"VolumeID": m.VolumeID, "HostedZoneID": m.HostedZoneID, "ParameterPrefix": m.ParameterPrefix,
		"EtcdVersion": m.EtcdVersion, "ServiceAccountIssuer": m.ServiceAccountIssuer, "ServiceAccountJWKSURI": m.ServiceAccountJWKSURI,
	} {
		if v == "" || !safeValue.MatchString(v) {
			problems = append(problems, fmt.Sprintf("%s %q", name, v))
		}
	}
	if m.Backup != nil {
		problems = append(problems, m.Backup.check()...)
	}
	problems = append(problems, m.JoinToken.check()...)
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("bootstrap: cannot render master: bad %s", strings.Join(problems, ", "))
	}
	return nil
}

// env is the boot script's settings.
func (m Master) env() (string, error) {
	var peers, members []string
	for i := range m.Count {
		members = append(members, tags.EtcdMember(i))
		if i != m.Slot {
			peers = append(peers, fmt.Sprintf("https://%s:%d", tags.EtcdRecord(i, m.Domain), EtcdClientPort))
		}
	}
	vars := [][2]string{
		{"CLUSTER", m.ClusterName},
		{"SLOT", strconv.Itoa(m.Slot)},
		{"REGION", m.Region},
		{"VOLUME_ID", m.VolumeID},
		{"HOSTED_ZONE_ID", m.HostedZoneID},
		{"ETCD_NAME", tags.EtcdMember(m.Slot)},
		{"ETCD_RECORD", tags.EtcdRecord(m.Slot, m.Domain)},
		{"ETCD_PEERS", strings.Join(peers, " ")},
		{"PARAMETER_PREFIX", m.ParameterPrefix},
		{"API_ENDPOINT", fmt.Sprintf("%s:%d", m.APIName, APIPort)},
		{"DATA_MOUNT", EtcdDataMount},
		{"ETCD_PKI_DIR", EtcdPKIDir},
		{"ENCRYPTION_CONFIG", EncryptionPath},
		// The etcd cluster: every member's name, the static initial
		// cluster and this member's peer URL, as etcd.yaml has them (a
		// restore recreates the member from them).
		{"ETCD_MEMBERS", strings.Join(members, " ")},
		{"ETCD_INITIAL_CLUSTER", m.initialCluster()},
		{"ETCD_PEER_URL", m.peerURL(m.Slot)},
		// The cluster's durable record, below PARAMETER_PREFIX.
		{"CLUSTER_RECORD", ClusterRecord},
		{"MEMBER_RECORD", MemberRecord(m.Slot)},
		{"RESTORE_REQUEST", RestoreRequest},
		{"ETCD_VERSION", m.EtcdVersion},
		{"KUBERNETES_VERSION", m.KubernetesVersion},
		// The boot's status record, below PARAMETER_PREFIX, and the
		// metric each failed attempt publishes (masterstatus.go).
		{"MASTER_STATUS_RECORD", MasterStatusRecord(m.Slot)},
		{"STATUS_MESSAGE_MAX", strconv.Itoa(MaxStatusMessage)},
		{"BOOT_METRIC_NAMESPACE", BootMetricNamespace},
		{"BOOT_FAILURES_METRIC", BootFailuresMetric},
		{"BOOT_METRIC_DIMENSION", BootMetricDimension},
		// The health report (health.go).
		{"ETCD_QUOTA_BYTES", strconv.Itoa(EtcdQuotaBytes)},
		{"HEALTH_METRIC_NAMESPACE", HealthMetricNamespace},
		{"HEALTH_METRIC_DIMENSION", HealthMetricDimension},
		// The node join token: its parameter, its lifetime and the
		// timer's period in seconds, the key it is encrypted with.
		{"JOIN_TOKEN_PARAMETER", JoinTokenParameter},
		{"JOIN_TOKEN_TTL", strconv.Itoa(m.JoinToken.ttlSeconds())},
		{"JOIN_TOKEN_CHECK", strconv.Itoa(JoinTokenCheckSeconds)},
		{"JOIN_TOKEN_METRIC", JoinTokenHoursMetric},
		{"KMS_KEY_ARN", m.JoinToken.KMSKeyArn},
	}
	if b := m.Backup; b != nil {
		vars = append(vars,
			[2]string{"BACKUP_BUCKET", b.Bucket},
			[2]string{"BACKUP_PREFIX", b.Prefix},
			[2]string{"BACKUP_METRIC_NAMESPACE", BackupMetricNamespace},
			[2]string{"BACKUP_AGE_METRIC", BackupAgeMetric},
			[2]string{"BACKUP_METRIC_DIMENSION", BackupMetricDimension},
		)
	}
	return envFile("# kinfra master slot settings, read by "+BootScriptPath+".", vars)
}

// etcdConfig is the member's configuration file. Every value is static for
// the slot (it listens on every address and advertises its DNS name), so a
// replacement instance gets the very same file and rejoins as the same
// member from its data directory.
func (m Master) etcdConfig() (string, error) {
	tls := func(name string) map[string]any {
		return map[string]any{
			"cert-file":        EtcdPKIDir + "/" + name + ".crt",
			"key-file":         EtcdPKIDir + "/" + name + ".key",
			"trusted-ca-file":  EtcdPKIDir + "/ca.crt",
			"client-cert-auth": true,
			"auto-tls":         false,
		}
	}
	record := tags.EtcdRecord(m.Slot, m.Domain)
	cfg := yaml.Node{}
	if err := cfg.Encode(yamldoc.Map{
		{"name", tags.EtcdMember(m.Slot)},
		{"data-dir", EtcdDataDir},
		{"listen-peer-urls", fmt.Sprintf("https://0.0.0.0:%d", EtcdPeerPort)},
		{"listen-client-urls", fmt.Sprintf("https://0.0.0.0:%d", EtcdClientPort)},
		{"listen-metrics-urls", "http://127.0.0.1:2381"},
		{"initial-advertise-peer-urls", m.peerURL(m.Slot)},
		{"advertise-client-urls", fmt.Sprintf("https://%s:%d", record, EtcdClientPort)},
		{"initial-cluster", m.initialCluster()},
		{"initial-cluster-state", "new"},
		{"initial-cluster-token", m.ClusterName},
		{"client-transport-security", tls("server")},
		{"peer-transport-security", tls("peer")},
		{"tls-min-version", "TLS1.2"},
		// Large clusters: 8 GiB backend (etcd's recommended maximum), hourly
		// compaction on top of the API server's own.
		{"quota-backend-bytes", EtcdQuotaBytes},
		{"auto-compaction-mode", "periodic"},
		{"auto-compaction-retention", "1h"},
		{"snapshot-count", 10000},
		// Members span zones: allow for cross-zone latency spikes.
		{"heartbeat-interval", 250},
		{"election-timeout", 2500},
		{"logger", "zap"},
		{"log-outputs", []string{"stderr"}},
	}); err != nil {
		return "", err
	}
	return yamldoc.Marshal(&cfg)
}

// peerURL is slot i's etcd peer URL, on its stable DNS name.
func (m Master) peerURL(slot int) string {
	return fmt.Sprintf("https://%s:%d", tags.EtcdRecord(slot, m.Domain), EtcdPeerPort)
}

// initialCluster is etcd's static initial-cluster: every slot by name.
func (m Master) initialCluster() string {
	var initial []string
	for i := range m.Count {
		initial = append(initial, tags.EtcdMember(i)+"="+m.peerURL(i))
	}
	return strings.Join(initial, ",")
}

func (m Master) clusterConfiguration() clusterConfiguration {
	var endpoints []string
	for i := range m.Count {
		endpoints = append(endpoints, fmt.Sprintf("https://%s:%d", tags.EtcdRecord(i, m.Domain), EtcdClientPort))
	}
	sans := append([]string{m.APIName}, m.ExtraSANs...)
	return clusterConfiguration{
		typeMeta:             typeMeta{kubeadmAPIVersion, "ClusterConfiguration"},
		ClusterName:          m.ClusterName,
		KubernetesVersion:    m.KubernetesVersion,
		ControlPlaneEndpoint: fmt.Sprintf("%s:%d", m.APIName, APIPort),
		CertificatesDir:      "/etc/kubernetes/pki",
		EncryptionAlgorithm:  "ECDSA-P256",
		Networking:           networking{ServiceSubnet: m.ServiceCidr, PodSubnet: m.PodCidr, DNSDomain: ClusterDNSDomain},
		Etcd: etcdConfig{External: externalEtcd{
			Endpoints: endpoints,
			CAFile:    EtcdPKIDir + "/ca.crt",
			CertFile:  EtcdPKIDir + "/apiserver-etcd-client.crt",
			KeyFile:   EtcdPKIDir + "/apiserver-etcd-client.key",
		}},
		APIServer: apiServer{
			CertSANs: sans,
			controlPlaneComponent: controlPlaneComponent{
				ExtraArgs: []Arg{
					{"audit-policy-file", AuditPolicyPath},
					{"audit-log-path", AuditLogDir + "/audit.log"},
					{"audit-log-maxage", "30"},
					{"audit-log-maxbackup", "10"},
					{"audit-log-maxsize", "100"},
					{"authentication-config", AuthnConfigPath},
					{"encryption-provider-config", EncryptionPath},
					{"encryption-provider-config-automatic-reload", "true"},
					{"profiling", "false"},
					{"tls-min-version", "VersionTLS12"},
					// Tokens are signed as the first issuer, the one AWS
					// trusts; the second is kubeadm's default, which
					// tokens minted before it still name, kept accepted.
					// With no --api-audiences, both are the API's
					// audiences, as the one was.
					{"service-account-issuer", m.ServiceAccountIssuer},
					{"service-account-issuer", irsa.ClusterLocalIssuer(ClusterDNSDomain)},
					{"service-account-jwks-uri", m.ServiceAccountJWKSURI},
				},
				ExtraVolumes: []hostPathMount{
					{Name: "kinfra-apiserver", HostPath: APIServerDir, MountPath: APIServerDir, ReadOnly: true, PathType: "DirectoryOrCreate"},
					{Name: "encryption-config", HostPath: EncryptionDir, MountPath: EncryptionDir, ReadOnly: true, PathType: "DirectoryOrCreate"},
					{Name: "audit-log", HostPath: AuditLogDir, MountPath: AuditLogDir, PathType: "DirectoryOrCreate"},
				},
			},
		},
		ControllerManager: controlPlaneComponent{ExtraArgs: []Arg{
			{"cloud-provider", "external"},
			{"node-cidr-mask-size-ipv4", strconv.Itoa(m.NodeCidrMaskSize)},
			{"profiling", "false"},
		}},
		Scheduler: controlPlaneComponent{ExtraArgs: []Arg{{"profiling", "false"}}},
	}
}

func (m Master) nodeRegistration() nodeRegistration {
	return nodeRegistration{
		CRISocket:        ContainerdSocket,
		KubeletExtraArgs: []Arg{{"cloud-provider", "external"}},
		Taints:           []taint{{Key: "node-role.kubernetes.io/control-plane", Effect: "NoSchedule"}},
	}
}

// kubeadmInit is slot 0's first boot (kubeadm init): InitConfiguration and
// the ClusterConfiguration. Every other master, and slot 0 once the cluster
// exists, builds its control-plane node from the same file with kubeadm's
// init phases (no join: it needs no API).
func (m Master) kubeadmInit() (string, error) {
	init := initConfiguration{
		typeMeta:         typeMeta{kubeadmAPIVersion, "InitConfiguration"},
		NodeRegistration: m.nodeRegistration(),
		// kube-proxy is ours (the add-ons component), not kubeadm's.
		SkipPhases: []string{"addon/kube-proxy"},
	}
	return yamldoc.MarshalDocs(init, m.clusterConfiguration())
}

// authenticationConfig admits anonymous requests to the health endpoints,
// which the load balancer's /readyz check and the kubelet's probes make
// without credentials, and to the cluster-info ConfigMap, which a joining
// node's token discovery reads before it has any (it checks the ConfigMap
// against the CA hash and the token's signature; RBAC lets system:anonymous
// get that one object only). Everything else must authenticate.
const authenticationConfig = `apiVersion: apiserver.config.k8s.io/v1
kind: AuthenticationConfiguration
anonymous:
  enabled: true
  conditions:
  - path: /livez
  - path: /readyz
  - path: /healthz
  - path: /api/v1/namespaces/kube-public/configmaps/cluster-info
`

// EncryptionConfig is the API server's encryption-at-rest configuration for
// a base64 32-byte key: Secrets are sealed with secretbox; reads of data
// written before encryption was on still work (identity last).
func EncryptionConfig(key string) string {
	return `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources:
  - secrets
  providers:
  - secretbox:
      keys:
      - name: kinfra-1
        secret: ` + key + `
  - identity: {}
`
}

// EncodeUserData is user data as a launch template takes it: gzipped
// (cloud-init reads gzip natively, and it keeps a master's user data well
// inside EC2's 16 KiB limit), then base64. Too large is an error.
func EncodeUserData(s string) (string, error) {
	gz, err := Gzip(s)
	if err != nil {
		return "", err
	}
	if len(gz) > UserDataLimit {
		return "", fmt.Errorf("bootstrap: user data is %d bytes gzipped; EC2 allows %d", len(gz), UserDataLimit)
	}
	return base64.StdEncoding.EncodeToString(gz), nil
}

// DecodeUserData reverses EncodeUserData (and reads plain base64 user data
// too), for review and tests.
func DecodeUserData(encoded string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return "", fmt.Errorf("bootstrap: user data is not base64: %w", err)
	}
	if len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
		return string(raw), nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	return string(out), nil
}

// Gzip compresses s deterministically (no name or time in the header).
func Gzip(s string) ([]byte, error) {
	var buf bytes.Buffer
	// A writer's compression state is large: reuse them across the many
	// launch templates of one plan.
	w := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(w)
	w.Reset(&buf)
	if _, err := w.Write([]byte(s)); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// UserDataLimit is EC2's limit on user data, before base64.
const UserDataLimit = 16 * 1024

// MasterScript is one of the masters' shell scripts as their user data
// carries it: without its comment lines, which keeps a master's user data
// within EC2's 16 KiB (the commented source is assets/<name>). The shebang
// and shellcheck's directives stay; code, and comments after code, are
// untouched. No script has a multi-line string or here-document in which a
// line could start with '#' (the tests compare bash's own reading of every
// function).
func MasterScript(name string) string {
	var b strings.Builder
	for i, line := range strings.SplitAfter(asset(name), "\n") {
		text := strings.TrimLeft(line, " \t")
		if strings.HasPrefix(text, "#") && !(i == 0 && strings.HasPrefix(text, "#!")) && !strings.HasPrefix(text, "# shellcheck ") {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

func asset(name string) string {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		panic("bootstrap: missing embedded asset " + name) // a build defect, not input
	}
	return string(b)
}
