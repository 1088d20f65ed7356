// Package kubeconfig renders the kubeconfig files kinfra writes: the admin
// kubeconfig the add-ons' Kubernetes provider uses, and the in-cluster
// kubeconfig kube-proxy reads its service account token with.
package kubeconfig

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/url"

	"github.com/kinfra-dev/kinfra/internal/yamldoc"
)

// Admin is a kubeconfig for a client certificate.
type Admin struct {
	// Cluster names the cluster, context and user entries.
	Cluster string
	// Server is the API URL, https://host:port.
	Server string
	// TLSServerName is the name the API certificate is checked against when
	// Server's host is not one of its names (a tunnel or VPN address).
	// Empty: Server's host.
	TLSServerName string
	// CACert, ClientCert and ClientKey are PEM.
	CACert, ClientCert, ClientKey string
}

// Render returns the kubeconfig. It holds the client key: treat it as a
// secret.
func (a Admin) Render() (string, error) {
	cluster := yamldoc.Map{
		{"server", a.Server},
		{"certificate-authority-data", b64(a.CACert)},
	}
	if a.TLSServerName != "" {
		cluster = append(cluster, [2]any{"tls-server-name", a.TLSServerName})
	}
	user := "kubernetes-admin@" + a.Cluster
	return yamldoc.Marshal(yamldoc.Map{
		{"apiVersion", "v1"},
		{"kind", "Config"},
		{"clusters", []yamldoc.Map{{{"name", a.Cluster}, {"cluster", cluster}}}},
		{"users", []yamldoc.Map{{{"name", user}, {"user", yamldoc.Map{
			{"client-certificate-data", b64(a.ClientCert)},
			{"client-key-data", b64(a.ClientKey)},
		}}}}},
		{"contexts", []yamldoc.Map{{{"name", a.Cluster}, {"context", yamldoc.Map{{"cluster", a.Cluster}, {"user", user}}}}}},
		{"current-context", a.Cluster},
	})
}

// InCluster is a kubeconfig for a pod that reaches the API by name rather
// than through the kubernetes Service (kube-proxy implements that Service,
// so it cannot depend on it), authenticating with its service account.
func InCluster(server string) (string, error) {
	const sa = "/var/run/secrets/kubernetes.io/serviceaccount/"
	return yamldoc.Marshal(yamldoc.Map{
		{"apiVersion", "v1"},
		{"kind", "Config"},
		{"clusters", []yamldoc.Map{{{"name", "default"}, {"cluster", yamldoc.Map{
			{"server", server},
			{"certificate-authority", sa + "ca.crt"},
		}}}}},
		{"users", []yamldoc.Map{{{"name", "default"}, {"user", yamldoc.Map{{"tokenFile", sa + "token"}}}}}},
		{"contexts", []yamldoc.Map{{{"name", "default"}, {"context", yamldoc.Map{{"cluster", "default"}, {"user", "default"}, {"namespace", "default"}}}}}},
		{"current-context", "default"},
	})
}

// ServerName returns the name to verify the API certificate against for
// endpoint: "" when endpoint's host is one of names, else names[0].
func ServerName(endpoint string, names ...string) string {
	u, err := url.Parse(endpoint)
	if err != nil || len(names) == 0 {
		return ""
	}
	for _, n := range names {
		if u.Hostname() == n {
			return ""
		}
	}
	return names[0]
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// ClusterIdentity names the cluster a kubeconfig reaches for as long as it
// is that cluster: its name and the fingerprint of its CA's public key (a
// new CA key is a new cluster; the CA's certificate re-signed with the same
// key, or a plan's, is not). The add-ons' provider carries it as its
// clusterIdentifier, so that pulumi-kubernetes replaces the provider, and
// every object under it, only for another cluster, not when the way to the
// same one changes or is unknown at preview.
func ClusterIdentity(cluster, caCertPEM string) (string, error) {
	block, _ := pem.Decode([]byte(caCertPEM))
	if block == nil {
		return "", fmt.Errorf("kubeconfig: the cluster CA of %s is not a PEM certificate", cluster)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", fmt.Errorf("kubeconfig: the cluster CA of %s is not a certificate: %v", cluster, err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return cluster + "/" + hex.EncodeToString(sum[:8]), nil
}
