package tests

// The kubeadm half of certificate renewal on real binaries: the rendered
// renewal script renews kubeadm's certificates and kubeconfigs with the
// real kubeadm, and the real kube-apiserver serves its new certificate
// without a restart. docs/real-binaries.md says what it proves.

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
)

// kubeadmLeaves are the certificates the renewal renews with kubeadm, by
// path on a master: the API server's and its clients', and the client
// certificates of the kubeconfigs kubeadm wrote.
var kubeadmLeaves = []string{
	"/etc/kubernetes/pki/apiserver.crt",
	"/etc/kubernetes/pki/apiserver-kubelet-client.crt",
	"/etc/kubernetes/pki/front-proxy-client.crt",
	"/etc/kubernetes/admin.conf",
	"/etc/kubernetes/super-admin.conf",
	"/etc/kubernetes/controller-manager.conf",
	"/etc/kubernetes/scheduler.conf",
}

var kubeconfigClientCert = regexp.MustCompile(`(?m)^\s*client-certificate-data:\s*(\S+)$`)

// kubeadmLeaf reads a certificate on the machine, or a kubeconfig's client
// certificate.
func (m *realMaster) kubeadmLeaf(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data := []byte(mustRead(t, m.path(path)))
	if strings.HasSuffix(path, ".conf") {
		match := kubeconfigClientCert.FindSubmatch(data)
		require.NotNil(t, match, "%s has a client certificate", path)
		var err error
		data, err = base64.StdEncoding.DecodeString(string(match[1]))
		require.NoError(t, err, path)
	}
	block, _ := pem.Decode(data)
	require.NotNil(t, block, path)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err, path)
	return cert
}

// servedAPI is the certificate the API server presents on a new TLS
// connection to its name, checked against the cluster CA.
func (a *realAPIServer) servedAPI(t *testing.T) *x509.Certificate {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr := fmt.Sprintf("%s:%d", a.c.stack.apiName(), bootstrap.APIPort)
	raw, err := a.c.client.DialContext(ctx, "tcp", addr)
	require.NoError(t, err, addr)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM([]byte(a.c.stack.bundle.ClusterCA.Cert)))
	conn := tls.Client(raw, &tls.Config{ServerName: a.c.stack.apiName(), RootCAs: roots, MinVersion: tls.VersionTLS12})
	defer conn.Close()
	require.NoError(t, conn.HandshakeContext(ctx), "a new TLS connection to %s", addr)
	return conn.ConnectionState().PeerCertificates[0]
}

func TestRealCertRenewalRenewsKubeadmsCertificatesAndTheAPIServerServesThem(t *testing.T) {
	t.Parallel()
	realControlPlaneTools(t)
	st := loadRealStack(t, "us-east-1")
	c := newRealCluster(t, st)
	c.useKubeadm(t)
	a := c.startControlPlane(t)
	m := a.m
	// The controller manager's and scheduler's kubeconfigs and static
	// pods, as the boot's control-plane phases write them (no kubelet runs
	// them here).
	for _, phase := range [][]string{{"kubeconfig", "controller-manager"}, {"kubeconfig", "scheduler"},
		{"control-plane", "controller-manager"}, {"control-plane", "scheduler"}} {
		m.initPhase(t, phase...)
	}
	// The renewal renews kubeadm's certificates only on a built
	// control-plane node, as the boot marks it.
	require.NoError(t, os.WriteFile(m.path("/etc/kubernetes/kinfra-control-plane-node"), nil, 0o644))
	before := map[string]*x509.Certificate{}
	for _, p := range kubeadmLeaves {
		before[p] = m.kubeadmLeaf(t, p)
	}
	etcdBefore := m.etcdLeaf(t, "server")
	require.Equal(t, before["/etc/kubernetes/pki/apiserver.crt"].SerialNumber, a.servedAPI(t).SerialNumber)

	// Nothing is due on a new master.
	out, err := m.renew(t)
	require.NoError(t, err, out)
	require.Contains(t, out, "nothing is due; the first to expire: ")

	// kubeadm's certificates due (the script's own cert_due, which the
	// etcd half proves with certificates that really expire, is replaced
	// here: kubeadm issues for a year), etcd's not.
	out, err = m.runScript(t, 5*time.Minute, c.renewLib, `cert_due() { case "$1" in "$ETCD_PKI_DIR"/*) return 1 ;; *) return 0 ;; esac; }
main 2>&1`)
	require.NoError(t, err, out)
	require.Contains(t, out, "renewing kubeadm's certificates")
	require.NotContains(t, out, "renewing etcd's certificates")
	require.Equal(t, etcdBefore.SerialNumber, m.etcdLeaf(t, "server").SerialNumber, "etcd's were not due")
	for _, p := range kubeadmLeaves {
		was, now := before[p], m.kubeadmLeaf(t, p)
		require.NotEqual(t, was.SerialNumber, now.SerialNumber, "%s renewed", p)
		require.Equal(t, was.Subject.String(), now.Subject.String(), p)
		require.Equal(t, was.DNSNames, now.DNSNames, p)
		require.Equal(t, len(was.IPAddresses), len(now.IPAddresses), p)
		require.Equal(t, was.ExtKeyUsage, now.ExtKeyUsage, p)
		require.WithinDuration(t, time.Now().Add(365*24*time.Hour), now.NotAfter, 48*time.Hour, "%s: kubeadm's lifetime", p)
	}
	require.NoFileExists(t, m.path("/etc/kubernetes/.kinfra-renew"), "the staging copy is gone")
	// The controller manager and the scheduler read their kubeconfigs only
	// when they start: their static pods now name the new ones, which
	// makes the kubelet restart them.
	manifests := map[string]string{}
	for _, name := range []string{"controller-manager", "scheduler"} {
		sum := sha256.Sum256([]byte(mustRead(t, m.path("/etc/kubernetes/"+name+".conf"))))
		manifest := mustRead(t, m.path("/etc/kubernetes/manifests/kube-"+name+".yaml"))
		var pod struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(manifest), &pod), name)
		require.Equal(t, hex.EncodeToString(sum[:])[:16], pod.Metadata.Labels["kinfra.dev/kubeconfig"], "kube-%s names its new kubeconfig", name)
		require.Equal(t, "kube-"+name, pod.Metadata.Labels["component"], "kubeadm's own labels stay")
		manifests[name] = manifest
	}

	// The API server reloads its serving certificate: new connections get
	// the new one, from the same process.
	renewed := m.kubeadmLeaf(t, "/etc/kubernetes/pki/apiserver.crt").SerialNumber
	require.Eventually(t, func() bool { return a.servedAPI(t).SerialNumber.Cmp(renewed) == 0 }, 3*time.Minute, 2*time.Second,
		"the API server serves its renewed certificate")
	exited, _ := a.proc.Exited()
	require.False(t, exited, "the API server was never restarted")
	// The renewed admin kubeconfig authenticates.
	out, err = a.run(m.path("/etc/kubernetes/admin.conf"), "get", "--raw", "/api/v1/namespaces/kube-system")
	require.NoError(t, err, out)
	require.Contains(t, out, `"name":"kube-system"`)

	// And now nothing is due, and nothing changes.
	out, err = m.renew(t)
	require.NoError(t, err, out)
	require.Contains(t, out, "nothing is due")
	for name, manifest := range manifests {
		require.Equal(t, manifest, mustRead(t, m.path("/etc/kubernetes/manifests/kube-"+name+".yaml")), name)
	}
}
