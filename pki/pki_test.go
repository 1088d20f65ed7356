package pki_test

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/validate"
	"github.com/kinfra-dev/kinfra/pki"
)

func TestGeneratedBundleRoundTripsAndChecksClean(t *testing.T) {
	b, err := pki.Generate("prod")
	require.NoError(t, err)
	raw, err := b.JSON()
	require.NoError(t, err)
	back, err := pki.Parse(raw, time.Now())
	require.NoError(t, err)
	require.Equal(t, b, back)
	require.False(t, back.IsOffline())

	admin := cert(t, b.Admin.Cert)
	require.Equal(t, []string{pki.AdminGroup}, admin.Subject.Organization)
	require.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, admin.ExtKeyUsage)
	require.NoError(t, admin.CheckSignatureFrom(cert(t, b.ClusterCA.Cert)))
	for _, ca := range []string{b.ClusterCA.Cert, b.EtcdCA.Cert, b.FrontProxyCA.Cert} {
		require.True(t, cert(t, ca).IsCA)
	}
	hash, err := b.CACertHash()
	require.NoError(t, err)
	require.Regexp(t, `^sha256:[0-9a-f]{64}$`, hash)
}

func TestOfflineBundlesAreMarked(t *testing.T) {
	b, err := pki.Offline("prod")
	require.NoError(t, err)
	require.True(t, b.IsOffline())
}

func TestEveryBrokenPartIsReportedWithItsPath(t *testing.T) {
	b, err := pki.Generate("prod")
	require.NoError(t, err)
	other, err := pki.Generate("other")
	require.NoError(t, err)
	broken := *b
	broken.Version = 2
	broken.EtcdCA.Key = other.EtcdCA.Key
	broken.FrontProxyCA = b.Admin
	broken.Admin = other.Admin
	broken.ServiceAccount.Public = other.ServiceAccount.Public
	broken.BootstrapToken = "ABCDEF.0123456789abcdef"
	broken.EncryptionKey = "c2hvcnQ="
	errs := broken.Check(time.Now())
	require.Equal(t, []string{
		"kinfra:pki.version: 2 is not supported; this kinfra reads version 1",
		`kinfra:pki.etcdCA.key: does not match the certificate "etcd-ca"`,
		`kinfra:pki.frontProxyCA.cert: "kubernetes-admin" is not a CA certificate`,
		"kinfra:pki.serviceAccount.public: does not match serviceAccount.key",
		"kinfra:pki.admin.cert: is not signed by clusterCA: x509: ECDSA verification failure",
		"kinfra:pki.bootstrapToken: is not a kubeadm token ([a-z0-9]{6}.[a-z0-9]{16})",
		"kinfra:pki.encryptionKey: must be 32 random bytes, base64-encoded (a secretbox key)",
	}, errs.Messages())
}

func TestExpiredCertificatesAreRejected(t *testing.T) {
	b, err := pki.Generate("prod")
	require.NoError(t, err)
	errs := b.Check(time.Now().Add(pki.AdminLifetime + 24*time.Hour))
	require.Len(t, errs, 1)
	require.Contains(t, errs[0].Error(), `kinfra:pki.admin.cert: "kubernetes-admin" expired on`)
}

func TestParseRejectsWhatIsNotABundle(t *testing.T) {
	_, err := pki.Parse([]byte(`{"version":1,"rootCA":{}}`), time.Now())
	var errs validate.Errors
	require.ErrorAs(t, err, &errs)
	require.Equal(t, "kinfra:pki: not a kinfra PKI bundle (it is not the JSON `kinfra pki init` writes); create one with `kinfra pki init`", errs[0].Error())
}

func cert(t *testing.T, s string) *x509.Certificate {
	block, _ := pem.Decode([]byte(s))
	require.NotNil(t, block)
	c, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	return c
}

func TestAdminExpiryIsTheAdminCertificatesNotAfter(t *testing.T) {
	b, err := pki.Generate("prod")
	require.NoError(t, err)
	require.Equal(t, cert(t, b.Admin.Cert).NotAfter, b.AdminExpiry())
	require.WithinDuration(t, time.Now().Add(pki.AdminLifetime), b.AdminExpiry(), time.Minute)
}

func TestOfflineBundlesAreReproducibleAndRealOnesAreNot(t *testing.T) {
	hash := func(b *pki.Bundle, err error) string {
		require.NoError(t, err)
		h, err := b.CACertHash()
		require.NoError(t, err)
		return h
	}
	require.Equal(t, hash(pki.Offline("prod")), hash(pki.Offline("prod")), "offline plans pin the same CA")
	require.NotEqual(t, hash(pki.Offline("prod")), hash(pki.Offline("staging")))
	require.NotEqual(t, hash(pki.Generate("prod")), hash(pki.Generate("prod")), "a real PKI's keys are random")
}
