package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"time"
)

// ShortLivedClient issues, in memory, a client certificate signed by ca for
// subject, valid for lifetime from now: what an operator's command (`kinfra
// roll`) presents to etcd or the API instead of a long-lived credential.
// Nothing is written anywhere; the key dies with the process.
func ShortLivedClient(ca KeyPair, subject pkix.Name, lifetime time.Duration, now time.Time) (tls.Certificate, error) {
	caCert, err := parseCert(ca.Cert)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("CA certificate: %w", err)
	}
	caKey, err := parseKey(ca.Key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("CA key: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		Subject:     subject,
		NotAfter:    now.Add(lifetime).UTC(),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	cert, err := issue(tmpl, key, caCert, caKey, now)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}, nil
}
