package tests

// Certificate renewal on real etcd (issue 15's proof): us-east-1's rendered
// three-member etcd, with leaf certificates issued by the boot's own
// etcd_pki to expire in minutes, renewed by the rendered renewal script on
// each slot in turn while a writer writes, then checked after the original
// certificates have expired. docs/real-binaries.md says what it proves.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/roll"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/testtools"
	"github.com/kinfra-dev/kinfra/pki"
)

var etcdLeaves = []string{"server", "peer", "apiserver-etcd-client"}

// etcdLeaf reads one of the machine's etcd leaf certificates.
func (m *realMaster) etcdLeaf(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode([]byte(mustRead(t, m.path(bootstrap.EtcdPKIDir)+"/"+name+".crt")))
	require.NotNil(t, block, name)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err, name)
	return cert
}

// served is the certificate the member presents on port, to a client with
// an etcd client certificate, on a new TLS connection.
func (c *realCluster) served(t *testing.T, slot, port int, client *tls.Config) *x509.Certificate {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr := fmt.Sprintf("%s:%d", tags.EtcdRecord(slot, c.stack.domain()), port)
	raw, err := c.client.DialContext(ctx, "tcp", addr)
	require.NoError(t, err, addr)
	cfg := client.Clone()
	cfg.ServerName = tags.EtcdRecord(slot, c.stack.domain())
	conn := tls.Client(raw, cfg)
	defer conn.Close()
	require.NoError(t, conn.HandshakeContext(ctx), "a new TLS connection to %s", addr)
	return conn.ConnectionState().PeerCertificates[0]
}

func TestRealCertRenewalKeepsQuorumAcrossExpiry(t *testing.T) {
	// Waits for the certificates' time to pass: it runs beside the others.
	t.Parallel()
	testtools.RequireNetns(t)
	for _, tool := range []string{"etcd", "etcdctl", "openssl"} {
		testtools.Path(t, tool)
	}
	st := loadRealStack(t, "us-east-1")
	c := newRealCluster(t, st)

	// Leaf certificates that expire in six minutes, issued by the boot's
	// etcd_pki (as at boot, with the lifetime the tests may set).
	const lifetime = 6 * time.Minute
	original := map[int]map[string]*x509.Certificate{}
	var expiry, issued time.Time
	for _, m := range c.masters {
		out, err := m.boot(t, time.Minute, fmt.Sprintf(`rm -f "$ETCD_PKI_DIR"/{server,peer,apiserver-etcd-client}.{crt,key}
ETCD_CERT_SECONDS=%d etcd_pki`, int(lifetime.Seconds())))
		require.NoError(t, err, out)
		original[m.slot.index] = map[string]*x509.Certificate{}
		for _, name := range etcdLeaves {
			cert := m.etcdLeaf(t, name)
			require.Equal(t, lifetime, cert.NotAfter.Sub(cert.NotBefore), "%s's lifetime", name)
			original[m.slot.index][name] = cert
			if cert.NotAfter.After(expiry) {
				expiry = cert.NotAfter
			}
			if cert.NotBefore.After(issued) {
				issued = cert.NotBefore
			}
		}
	}
	// Slot 0's original client certificate, to show that it has expired.
	old := filepath.Join(c.dir, "old-client")
	require.NoError(t, os.MkdirAll(old, 0o700))
	for _, f := range []string{"apiserver-etcd-client.crt", "apiserver-etcd-client.key"} {
		require.NoError(t, os.WriteFile(filepath.Join(old, f), []byte(mustRead(t, c.masters[0].path(bootstrap.EtcdPKIDir)+"/"+f)), 0o600))
	}
	c.startEtcdCluster(t)

	cert, err := pki.ShortLivedClient(st.bundle.EtcdCA, pkix.Name{CommonName: roll.ClientName}, time.Hour, time.Now())
	require.NoError(t, err)
	gates := &roll.ClusterGates{EtcdEndpoints: roll.EtcdEndpoints(st.cluster), EtcdTLS: roll.ClientTLS(st.bundle.EtcdCA.Cert, cert, ""),
		Dial: c.client.DialContext}
	w := startRealWriter(t, gates)

	// Nothing is due while more than a third of the lifetime is left: the
	// renewal changes nothing.
	out, err := c.masters[0].renew(t)
	require.NoError(t, err, out)
	require.Contains(t, out, "nothing is due; the first to expire: ")
	for _, name := range etcdLeaves {
		require.Equal(t, original[0][name].SerialNumber, c.masters[0].etcdLeaf(t, name).SerialNumber, name)
	}

	// Then every slot's certificates are due.
	time.Sleep(time.Until(issued.Add(lifetime * 2 / 3).Add(2 * time.Second)))

	// The health gate: with a member down, a due renewal changes nothing.
	c.masters[2].etcd.Stop()
	out, err = c.masters[0].renew(t)
	require.Error(t, err, out)
	require.Contains(t, out, "not every etcd member is healthy: renewing nothing")
	for _, name := range etcdLeaves {
		require.Equal(t, original[0][name].SerialNumber, c.masters[0].etcdLeaf(t, name).SerialNumber, name)
	}
	c.masters[2].startEtcd(t, nil)
	c.masters[2].waitEtcdHealthy(t)

	// Each slot in turn, as the timers' hours stagger them: new
	// certificates for a year, served at once on new connections (etcd
	// reads its files at every handshake: no restart), the cluster healthy.
	for _, m := range c.masters {
		i := m.slot.index
		proc := m.etcd
		out, err := m.renew(t)
		require.NoError(t, err, out)
		require.Contains(t, out, "renewing etcd's certificates", "slot %d", i)
		require.Contains(t, out, "renewed; the first to expire: ", "slot %d", i)
		for _, name := range etcdLeaves {
			renewed := m.etcdLeaf(t, name)
			was := original[i][name]
			require.NotEqual(t, was.SerialNumber, renewed.SerialNumber, "slot %d %s renewed", i, name)
			require.Equal(t, 365*24*time.Hour, renewed.NotAfter.Sub(renewed.NotBefore), "slot %d %s: the boot's lifetime", i, name)
			require.Equal(t, was.Subject.CommonName, renewed.Subject.CommonName, "slot %d %s", i, name)
			require.Equal(t, was.DNSNames, renewed.DNSNames, "slot %d %s", i, name)
			require.Equal(t, was.IPAddresses, renewed.IPAddresses, "slot %d %s", i, name)
			require.Equal(t, was.ExtKeyUsage, renewed.ExtKeyUsage, "slot %d %s", i, name)
		}
		require.Equal(t, m.etcdLeaf(t, "server").SerialNumber, c.served(t, i, bootstrap.EtcdClientPort, gates.EtcdTLS).SerialNumber,
			"slot %d serves its new server certificate to clients, without a restart", i)
		require.Equal(t, m.etcdLeaf(t, "peer").SerialNumber, c.served(t, i, bootstrap.EtcdPeerPort, gates.EtcdTLS).SerialNumber,
			"slot %d serves its new peer certificate to peers, without a restart", i)
		exited, _ := m.etcd.Exited()
		require.True(t, proc == m.etcd && !exited, "slot %d's etcd runs on, never restarted", i)
		// Safe to repeat: a second run finds nothing due.
		again, err := m.renew(t)
		require.NoError(t, err, again)
		require.Contains(t, again, "nothing is due", "slot %d", i)
	}
	require.True(t, time.Now().Before(expiry), "the scenario needs every renewal done before the original certificates expire (%s)", expiry)

	// After the original certificates' expiry.
	time.Sleep(time.Until(expiry.Add(5 * time.Second)))
	_, err = c.masters[0].host.Run(30*time.Second, []string{"ETCDCTL_API=3"}, c.etcdctl, "--endpoints", c.endpoint(0),
		"--cacert", c.masters[0].path(bootstrap.EtcdPKIDir)+"/ca.crt", "--cert", filepath.Join(old, "apiserver-etcd-client.crt"),
		"--key", filepath.Join(old, "apiserver-etcd-client.key"), "--dial-timeout", "5s", "--command-timeout", "5s", "endpoint", "health")
	require.Error(t, err, "the original client certificate has expired: etcd refuses it")

	// Quorum, and new client connections with the renewed certificates,
	// to every member from every master.
	for _, m := range c.masters {
		out, err := m.etcdctl(c.endpoint(m.slot.index), "endpoint", "health", "--cluster")
		require.NoError(t, err, out)
		require.Equal(t, 3, strings.Count(out, "is healthy"), out)
	}
	// New peer connections: a restarted member rejoins, its peers and it
	// authenticating with the renewed certificates only.
	c.masters[1].etcd.Stop()
	c.masters[1].startEtcd(t, nil)
	c.masters[1].waitEtcdHealthy(t)
	for _, m := range c.masters {
		out, err := m.renew(t)
		require.NoError(t, err, out)
		require.Contains(t, out, "nothing is due", "slot %d", m.slot.index)
	}

	// Every acknowledged write is there, read through every member.
	w.requireEveryAckedWriteOn(t, c.masters)
}
