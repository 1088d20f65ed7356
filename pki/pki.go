// Package pki makes and checks a cluster's long-lived secrets: the cluster,
// etcd and front-proxy CAs, the service-account signing key, an admin client
// certificate, the worker bootstrap token and the Secrets encryption key.
// `kinfra pki init` stores a Bundle as the stack's secret config kinfra:pki;
// the program checks it and hands it to SSM. kubeadm and the master boot
// script issue every leaf certificate on the hosts from these CAs.
package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"regexp"
	"time"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Version is the Bundle format this code writes and reads.
const Version = 1

// Lifetimes. CAs outlive any cluster we expect; the admin certificate is
// short enough that its renewal is routine (docs/pki.md).
const (
	CALifetime    = 10 * 365 * 24 * time.Hour
	AdminLifetime = 365 * 24 * time.Hour
	// AdminGroup is bound to cluster-admin by kubeadm (kubeadm:cluster-admins),
	// which, unlike system:masters, can be revoked.
	AdminGroup = "kubeadm:cluster-admins"
	// OfflineMarker is in the subject of every throwaway bundle's CA, so it
	// can be recognised and refused by a real deployment.
	OfflineMarker = "kinfra offline plan throwaway"
)

// KeyPair is a PEM certificate and its PEM private key.
type KeyPair struct {
	Cert string `json:"cert"`
	Key  string `json:"key"`
}

// ServiceAccountKeys sign and verify service-account tokens.
type ServiceAccountKeys struct {
	Key    string `json:"key"`
	Public string `json:"public"`
}

// Bundle is the value of kinfra:pki.
type Bundle struct {
	Version        int                `json:"version"`
	ClusterCA      KeyPair            `json:"clusterCA"`
	EtcdCA         KeyPair            `json:"etcdCA"`
	FrontProxyCA   KeyPair            `json:"frontProxyCA"`
	ServiceAccount ServiceAccountKeys `json:"serviceAccount"`
	// Admin is a client certificate for kubernetes-admin in AdminGroup, signed
	// by the cluster CA: what the add-ons provider and operators use.
	Admin KeyPair `json:"admin"`
	// BootstrapToken lets nodes join (kubeadm token, [a-z0-9]{6}.[a-z0-9]{16}).
	BootstrapToken string `json:"bootstrapToken"`
	// EncryptionKey is the 32-byte secretbox key, base64, for Secrets at rest.
	EncryptionKey string `json:"encryptionKey"`
}

var tokenFormat = regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`)

// Generate makes a new bundle for the named cluster.
func Generate(clusterName string) (*Bundle, error) {
	return generate(clusterName, "", time.Now(), randomKey)
}

// Offline makes a throwaway bundle for the offline plan: real keys (so every
// rendered artifact is well-formed) whose CA subjects carry OfflineMarker.
func Offline(clusterName string) (*Bundle, error) {
	return generate(clusterName, OfflineMarker, time.Now(), derivedKeys(clusterName))
}

// keySource makes the bundle's P-256 keys; purpose names the key.
type keySource func(purpose string) (*ecdsa.PrivateKey, error)

// randomKey is every real bundle's key source.
func randomKey(string) (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// derivedKeys derives the throwaway bundle's keys from the cluster's name,
// so that offline plans are reproducible: the cluster CA's hash, which node
// user data pins, is the same on every run, and golden plans and plan diffs
// show only real changes. Never used for a bundle that is deployed (the
// offline marker keeps those out, see IsOffline).
func derivedKeys(clusterName string) keySource {
	return func(purpose string) (*ecdsa.PrivateKey, error) {
		for i := 0; ; i++ {
			seed := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%s\x00%d", OfflineMarker, clusterName, purpose, i)))
			// A scalar of zero or beyond the group order is refused;
			// the next counter value gives another.
			if k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), seed[:]); err == nil {
				return k, nil
			}
		}
	}
}

func generate(clusterName, marker string, now time.Time, keys keySource) (*Bundle, error) {
	b := &Bundle{Version: Version}
	org := []string{"kinfra " + clusterName}
	if marker != "" {
		org = append(org, marker)
	}
	var err error
	var caKey crypto.Signer
	var caCert *x509.Certificate
	for _, ca := range []struct {
		dst *KeyPair
		cn  string
	}{{&b.ClusterCA, "kubernetes"}, {&b.EtcdCA, "etcd-ca"}, {&b.FrontProxyCA, "front-proxy-ca"}} {
		key, err := keys(ca.cn)
		if err != nil {
			return nil, err
		}
		cert, err := newCA(pkix.Name{CommonName: ca.cn, Organization: org}, key, now)
		if err != nil {
			return nil, err
		}
		*ca.dst, err = encode(cert, key)
		if err != nil {
			return nil, err
		}
		if ca.dst == &b.ClusterCA {
			caCert, caKey = cert, key
		}
	}
	saKey, err := keys("service-account")
	if err != nil {
		return nil, err
	}
	if b.ServiceAccount.Key, err = pemKey(saKey); err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}
	b.ServiceAccount.Public = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))

	adminKey, err := keys("admin")
	if err != nil {
		return nil, err
	}
	adminCert, err := newClient(pkix.Name{CommonName: "kubernetes-admin", Organization: []string{AdminGroup}}, adminKey, caCert, caKey, now)
	if err != nil {
		return nil, err
	}
	if b.Admin, err = encode(adminCert, adminKey); err != nil {
		return nil, err
	}
	b.BootstrapToken = randomString(6) + "." + randomString(16)
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	b.EncryptionKey = base64.StdEncoding.EncodeToString(key)
	return b, nil
}

func newCA(subject pkix.Name, key *ecdsa.PrivateKey, now time.Time) (*x509.Certificate, error) {
	return issue(&x509.Certificate{
		Subject:               subject,
		NotAfter:              now.Add(CALifetime).UTC(),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, key, nil, nil, now)
}

func newClient(subject pkix.Name, key *ecdsa.PrivateKey, ca *x509.Certificate, caKey crypto.Signer, now time.Time) (*x509.Certificate, error) {
	return issue(&x509.Certificate{
		Subject:     subject,
		NotAfter:    now.Add(AdminLifetime).UTC(),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, key, ca, caKey, now)
}

// issue makes a certificate for key from tmpl, signed by parent, or
// self-signed when parent is nil.
func issue(tmpl *x509.Certificate, key *ecdsa.PrivateKey, parent *x509.Certificate, parentKey crypto.Signer, now time.Time) (*x509.Certificate, error) {
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = now.Add(-time.Hour).UTC()
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n.Add(n, big.NewInt(1))
}

func encode(cert *x509.Certificate, key crypto.Signer) (KeyPair, error) {
	k, err := pemKey(key)
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{Cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})), Key: k}, nil
}

// pemKey writes an EC key as "EC PRIVATE KEY", the form kubeadm and openssl
// read without options.
func pemKey(key crypto.Signer) (string, error) {
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return "", fmt.Errorf("pki: unexpected key type %T", key)
	}
	der, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})), nil
}

func randomString(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, n)
	for i := range out {
		v, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		out[i] = alphabet[v.Int64()]
	}
	return string(out)
}

// JSON is the bundle as stored in kinfra:pki.
func (b *Bundle) JSON() ([]byte, error) { return json.MarshalIndent(b, "", "  ") }

// Parse reads and checks a kinfra:pki value: every problem is reported, with
// its path, before anything uses the bundle.
func Parse(data []byte, now time.Time) (*Bundle, error) {
	var b Bundle
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		// The decoder's words (Go types, offsets) say nothing to the user:
		// the bundle is written by kinfra pki init, never by hand.
		return nil, validate.Errors{{Path: "kinfra:pki", Message: "not a kinfra PKI bundle (it is not the JSON `kinfra pki init` writes); create one with `kinfra pki init`"}}
	}
	if errs := b.Check(now); len(errs) > 0 {
		return nil, errs
	}
	return &b, nil
}

// Check validates every part of the bundle.
func (b *Bundle) Check(now time.Time) validate.Errors {
	var errs validate.Errors
	const p = "kinfra:pki"
	if b.Version != Version {
		errs.Addf(p+".version", "%d is not supported; this kinfra reads version %d", b.Version, Version)
	}
	var cluster *x509.Certificate
	for _, ca := range []struct {
		name string
		kp   KeyPair
	}{{"clusterCA", b.ClusterCA}, {"etcdCA", b.EtcdCA}, {"frontProxyCA", b.FrontProxyCA}} {
		cert := checkPair(&errs, p+"."+ca.name, ca.kp, now)
		if cert != nil && !cert.IsCA {
			errs.Addf(p+"."+ca.name+".cert", "%q is not a CA certificate", cert.Subject.CommonName)
		}
		if ca.name == "clusterCA" {
			cluster = cert
		}
	}
	if _, err := parseKey(b.ServiceAccount.Key); err != nil {
		errs.Addf(p+".serviceAccount.key", "%v", err)
	} else if pub, err := parsePublic(b.ServiceAccount.Public); err != nil {
		errs.Addf(p+".serviceAccount.public", "%v", err)
	} else if key, _ := parseKey(b.ServiceAccount.Key); !pub.Equal(key.Public()) {
		errs.Addf(p+".serviceAccount.public", "does not match serviceAccount.key")
	}
	if admin := checkPair(&errs, p+".admin", b.Admin, now); admin != nil && cluster != nil {
		if err := admin.CheckSignatureFrom(cluster); err != nil {
			errs.Addf(p+".admin.cert", "is not signed by clusterCA: %v", err)
		}
	}
	if !tokenFormat.MatchString(b.BootstrapToken) {
		errs.Addf(p+".bootstrapToken", "is not a kubeadm token ([a-z0-9]{6}.[a-z0-9]{16})")
	}
	if key, err := base64.StdEncoding.DecodeString(b.EncryptionKey); err != nil || len(key) != 32 {
		errs.Addf(p+".encryptionKey", "must be 32 random bytes, base64-encoded (a secretbox key)")
	}
	return errs
}

func checkPair(errs *validate.Errors, path string, kp KeyPair, now time.Time) *x509.Certificate {
	cert, err := parseCert(kp.Cert)
	if err != nil {
		errs.Addf(path+".cert", "%v", err)
		return nil
	}
	key, err := parseKey(kp.Key)
	if err != nil {
		errs.Addf(path+".key", "%v", err)
		return nil
	}
	if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(cert.PublicKey) {
		errs.Addf(path+".key", "does not match the certificate %q", cert.Subject.CommonName)
	}
	if now.After(cert.NotAfter) {
		errs.Addf(path+".cert", "%q expired on %s", cert.Subject.CommonName, cert.NotAfter.Format(time.DateOnly))
	}
	return cert
}

func parseCert(s string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("not a PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func parseKey(s string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, fmt.Errorf("not a PEM private key")
	}
	switch block.Type {
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
	}
	return nil, fmt.Errorf("a %s block is not a supported private key (EC, RSA or PKCS#8)", block.Type)
}

func parsePublic(s string) (interface{ Equal(crypto.PublicKey) bool }, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("not a PEM public key")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	eq, ok := k.(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return nil, fmt.Errorf("unsupported public key type %T", k)
	}
	return eq, nil
}

// IsOffline reports whether the bundle is a throwaway from Offline.
func (b *Bundle) IsOffline() bool {
	cert, err := parseCert(b.ClusterCA.Cert)
	if err != nil {
		return false
	}
	for _, o := range cert.Subject.Organization {
		if o == OfflineMarker {
			return true
		}
	}
	return false
}

// AdminExpiry is when the admin certificate expires (zero if unreadable).
func (b *Bundle) AdminExpiry() time.Time {
	cert, err := parseCert(b.Admin.Cert)
	if err != nil {
		return time.Time{}
	}
	return cert.NotAfter
}

// CACertHash is the cluster CA's public-key pin as kubeadm discovery takes it
// (sha256:<hex of the SubjectPublicKeyInfo digest>).
func (b *Bundle) CACertHash() (string, error) {
	cert, err := parseCert(b.ClusterCA.Cert)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}
