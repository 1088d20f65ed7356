package findings_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/review/findings"
)

func TestPKIExpiryWarnsNinetyDaysBeforeACAOrTheAdminCertificateExpiresAndFailsOnceExpired(t *testing.T) {
	b, err := pki.Generate("prod")
	require.NoError(t, err)
	byPath := func(fs []findings.Finding) map[string]findings.Finding {
		out := map[string]findings.Finding{}
		for _, f := range fs {
			require.Equal(t, "pki/expiry", f.Rule)
			out[f.Resource] = f
		}
		return out
	}
	ca := b.Expiries()[0].NotAfter

	require.Empty(t, findings.RunPKI(b, time.Now()), "a new bundle: nothing expires within 90 days")

	// 89 days before the CAs expire, the admin certificate (a year) long gone.
	got := byPath(findings.RunPKI(b, ca.Add(-89*24*time.Hour)))
	require.Len(t, got, 4)
	for _, p := range []string{"kinfra:pki.clusterCA.cert", "kinfra:pki.etcdCA.cert", "kinfra:pki.frontProxyCA.cert"} {
		require.Equal(t, findings.Warning, got[p].Severity, p)
		require.Contains(t, got[p].Message, "expires on "+ca.UTC().Format(time.RFC3339)+" (in 89 days)", p)
		require.Contains(t, got[p].Message, "kinfra cannot rotate a CA of a running cluster (out of scope)", p)
	}
	admin := got["kinfra:pki.admin.cert"]
	require.Equal(t, findings.Error, admin.Severity)
	require.Contains(t, admin.Message, `"kubernetes-admin" expired on `)
	require.Contains(t, admin.Message, "Renewing the admin certificate")

	// 91 days before: nothing about the CAs.
	got = byPath(findings.RunPKI(b, ca.Add(-91*24*time.Hour)))
	require.Len(t, got, 1)
	require.Contains(t, got, "kinfra:pki.admin.cert")

	// The admin certificate 30 days before its expiry: a warning.
	got = byPath(findings.RunPKI(b, b.AdminExpiry().Add(-30*24*time.Hour)))
	require.Len(t, got, 1)
	require.Equal(t, findings.Warning, got["kinfra:pki.admin.cert"].Severity)
	require.Contains(t, got["kinfra:pki.admin.cert"].Message, "(in 30 days)")

	// Expired CAs: errors.
	got = byPath(findings.RunPKI(b, ca.Add(time.Hour)))
	require.Equal(t, findings.Error, got["kinfra:pki.etcdCA.cert"].Severity)
	require.Contains(t, got["kinfra:pki.etcdCA.cert"].Message, "expired on "+ca.UTC().Format(time.RFC3339))
}
