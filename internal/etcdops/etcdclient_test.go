package etcdops

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/pki"
)

func TestTheCommandsClientCertificateLivesAnHourAndIsRenewedBeforeItEnds(t *testing.T) {
	b, err := pki.Generate("prod")
	require.NoError(t, err)
	rc := &RenewingCert{CA: b.ClusterCA, Subject: pkix.Name{CommonName: "kinfra-roll", Organization: []string{pki.AdminGroup}}}
	cfg := rc.TLS(b.ClusterCA.Cert, "api.prod.internal")
	require.Empty(t, cfg.Certificates, "no fixed certificate: each handshake asks for the current one")

	first, err := cfg.GetClientCertificate(nil)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(first.Certificate[0])
	require.NoError(t, err)
	require.Equal(t, "kinfra-roll", leaf.Subject.CommonName)
	require.Equal(t, []string{pki.AdminGroup}, leaf.Subject.Organization)
	require.WithinDuration(t, time.Now().Add(time.Hour), leaf.NotAfter, 2*time.Minute, "an hour, no more")

	again, err := cfg.GetClientCertificate(nil)
	require.NoError(t, err)
	require.Same(t, first, again, "the same certificate while most of its hour is left")

	// Fourteen minutes left: a new one.
	rc.notAfter = time.Now().Add(14 * time.Minute)
	renewed, err := cfg.GetClientCertificate(nil)
	require.NoError(t, err)
	require.NotSame(t, first, renewed)
	next, err := x509.ParseCertificate(renewed.Certificate[0])
	require.NoError(t, err)
	require.NotEqual(t, leaf.SerialNumber, next.SerialNumber)
	require.NotEqual(t, leaf.PublicKey, next.PublicKey, "a new key too")
	require.NoError(t, next.CheckSignatureFrom(mustCA(t, b.ClusterCA.Cert)))
}

func mustCA(t *testing.T, pemCert string) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode([]byte(pemCert))
	require.NotNil(t, block)
	c, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	return c
}
