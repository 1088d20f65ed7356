package pki

import (
	"fmt"
	"time"
)

// ExpiryWarning is how long before a CA or the admin certificate expires
// that kinfra warns: time for a planned renewal (the admin certificate) or
// a planned new cluster (a CA: kinfra cannot rotate one).
const ExpiryWarning = 90 * 24 * time.Hour

// Expiry is one certificate of the bundle that only an operator can renew:
// the three CAs and the admin certificate. The masters renew every leaf
// certificate they issue themselves (docs/masters.md).
type Expiry struct {
	// Path is the certificate's place in kinfra:pki, e.g.
	// kinfra:pki.etcdCA.cert.
	Path string
	// Name is its subject's common name.
	Name     string
	NotAfter time.Time
	// CA is set for a certificate authority.
	CA bool
}

// Expiries are the bundle's CAs and admin certificate, in that order; an
// unreadable certificate is left out (Check reports it).
func (b *Bundle) Expiries() []Expiry {
	var out []Expiry
	for _, c := range []struct {
		path string
		kp   KeyPair
		ca   bool
	}{
		{"clusterCA", b.ClusterCA, true},
		{"etcdCA", b.EtcdCA, true},
		{"frontProxyCA", b.FrontProxyCA, true},
		{"admin", b.Admin, false},
	} {
		cert, err := parseCert(c.kp.Cert)
		if err != nil {
			continue
		}
		out = append(out, Expiry{Path: "kinfra:pki." + c.path + ".cert", Name: cert.Subject.CommonName, NotAfter: cert.NotAfter, CA: c.ca})
	}
	return out
}

// Expired says whether the certificate has expired at now.
func (e Expiry) Expired(now time.Time) bool { return now.After(e.NotAfter) }

// Due says whether the certificate expires within ExpiryWarning of now (or
// has expired).
func (e Expiry) Due(now time.Time) bool { return e.NotAfter.Sub(now) < ExpiryWarning }

// Message says when the certificate expires, or expired, and what to do.
func (e Expiry) Message(now time.Time) string {
	when := fmt.Sprintf("%q expires on %s (in %d days)", e.Name, e.NotAfter.UTC().Format(time.RFC3339), int(e.NotAfter.Sub(now).Hours()/24))
	if e.Expired(now) {
		when = fmt.Sprintf("%q expired on %s", e.Name, e.NotAfter.UTC().Format(time.RFC3339))
	}
	if e.CA {
		return when + "; kinfra cannot rotate a CA of a running cluster (out of scope): every certificate it signed stops being trusted then. " +
			"Plan a new cluster with a new PKI (kinfra pki init) and move the workloads before that date (docs/pki.md, 'Certificate lifetimes and renewal')"
	}
	return when + "; renew it with the cluster CA and store the bundle again: once it has expired, pulumi preview and pulumi up refuse the stack (docs/pki.md, 'Renewing the admin certificate')"
}
