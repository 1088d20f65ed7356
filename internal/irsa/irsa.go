// Package irsa is what AWS needs to trust the cluster's service-account
// tokens ("IAM roles for service accounts" without EKS, as kops does it):
// the issuer's URL, the two OpenID Connect discovery documents published
// for AWS STS to read, the policy that makes exactly those two public, and
// the trust policy of a role a service account assumes.
//
// The documents are the ones kube-apiserver serves itself at
// /.well-known/openid-configuration and /openid/v1/jwks for the same
// issuer, jwks_uri and signing key (tests/realirsa_test.go compares them
// with the real API server's).
package irsa

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/iampolicy"
	"github.com/kinfra-dev/kinfra/internal/regions"
)

// Object keys of the discovery documents in the issuer's bucket: the paths
// kube-apiserver serves them at, so the issuer URL works for both.
const (
	DiscoveryKey = ".well-known/openid-configuration"
	JWKSKey      = "openid/v1/jwks"
)

// Audience is the audience of the tokens AWS STS accepts, and the client
// ID of the IAM OpenID Connect provider.
const Audience = "sts.amazonaws.com"

// ClusterLocalIssuer is the issuer kubeadm gives kube-apiserver by default
// for the cluster DNS domain: what every token minted before the S3 issuer
// names, kept as an accepted issuer.
func ClusterLocalIssuer(dnsDomain string) string {
	return "https://kubernetes.default.svc." + dnsDomain
}

// Issuer is the service-account issuer of a cluster whose discovery
// documents are in bucket, in region of partition: the bucket's
// virtual-hosted S3 URL.
type Issuer struct {
	Bucket, Region, Partition string
}

// URL is the issuer as tokens name it (iss) and as the IAM OpenID Connect
// provider is registered.
func (i Issuer) URL() string {
	return fmt.Sprintf("https://%s.s3.%s.%s", i.Bucket, i.Region, regions.DNSSuffix(i.Partition))
}

// JWKSURI is where the key set is published.
func (i Issuer) JWKSURI() string { return i.URL() + "/" + JWKSKey }

// BucketArn is the bucket's ARN (S3 ARNs have no region or account).
func (i Issuer) BucketArn() string { return fmt.Sprintf("arn:%s:s3:::%s", i.Partition, i.Bucket) }

// Discovery is the OpenID Connect discovery document for the issuer, whose
// tokens are signed by the PEM public key saPublic.
func (i Issuer) Discovery(saPublic string) (string, error) {
	k, err := parseKey(saPublic)
	if err != nil {
		return "", err
	}
	return marshal(struct {
		Issuer        string   `json:"issuer"`
		JWKSURI       string   `json:"jwks_uri"`
		ResponseTypes []string `json:"response_types_supported"`
		SubjectTypes  []string `json:"subject_types_supported"`
		SigningAlgs   []string `json:"id_token_signing_alg_values_supported"`
	}{i.URL(), i.JWKSURI(), []string{"id_token"}, []string{"public"}, []string{k.Alg}})
}

// JWK is one JSON Web Key of a key set, as kube-apiserver publishes it.
type JWK struct {
	Use string `json:"use"`
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Crv string `json:"crv,omitempty"`
	Alg string `json:"alg"`
	// X and Y are an EC key's point; N and E an RSA key's.
	X string `json:"x,omitempty"`
	Y string `json:"y,omitempty"`
	N string `json:"n,omitempty"`
	E string `json:"e,omitempty"`
}

// JWKS is the key set with the PEM public key saPublic.
func JWKS(saPublic string) (string, error) {
	k, err := parseKey(saPublic)
	if err != nil {
		return "", err
	}
	return marshal(struct {
		Keys []JWK `json:"keys"`
	}{[]JWK{k}})
}

// KeyID is the kid kube-apiserver gives tokens signed with pub's private
// key (k8s.io/kubernetes pkg/serviceaccount/jwt.go keyIDFromPublicKey):
// the unpadded base64url SHA-256 of the key's DER PKIX encoding.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// parseKey is the JWK of a PEM public key: ECDSA on P-256, P-384 or P-521,
// or RSA (kube-apiserver signs RSA keys with RS256 only).
func parseKey(s string) (JWK, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "PUBLIC KEY" {
		return JWK{}, fmt.Errorf("irsa: the service-account public key is not a PEM PUBLIC KEY")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return JWK{}, fmt.Errorf("irsa: the service-account public key: %w", err)
	}
	kid, err := KeyID(pub)
	if err != nil {
		return JWK{}, err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		alg, ok := map[elliptic.Curve]string{elliptic.P256(): "ES256", elliptic.P384(): "ES384", elliptic.P521(): "ES512"}[k.Curve]
		if !ok {
			return JWK{}, fmt.Errorf("irsa: the service-account key's curve %s is not P-256, P-384 or P-521", k.Curve.Params().Name)
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		return JWK{Use: "sig", Kty: "EC", Kid: kid, Crv: k.Curve.Params().Name, Alg: alg,
			X: b64(k.X.FillBytes(make([]byte, size))), Y: b64(k.Y.FillBytes(make([]byte, size)))}, nil
	case *rsa.PublicKey:
		return JWK{Use: "sig", Kty: "RSA", Kid: kid, Alg: "RS256",
			N: b64(k.N.Bytes()), E: b64(big.NewInt(int64(k.E)).Bytes())}, nil
	}
	return JWK{}, fmt.Errorf("irsa: the service-account key is a %T; kube-apiserver signs with ECDSA or RSA keys", pub)
}

func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// PublicKeys are the object keys anyone may read.
var PublicKeys = []string{DiscoveryKey, JWKSKey}

// BucketPolicy makes the two discovery documents readable by anyone (AWS
// STS fetches them unauthenticated) and nothing else in the bucket, and
// refuses requests without TLS.
func (i Issuer) BucketPolicy() iampolicy.Document {
	objects := make([]string, 0, len(PublicKeys))
	for _, k := range PublicKeys {
		objects = append(objects, i.BucketArn()+"/"+k)
	}
	anyone := &iampolicy.Principal{AWS: []string{"*"}}
	return iampolicy.New(
		iampolicy.Statement{Sid: "PublicDiscoveryDocuments", Effect: "Allow", Principal: anyone,
			Action: []string{"s3:GetObject"}, Resource: objects},
		iampolicy.Statement{Sid: "TLSOnly", Effect: "Deny", Principal: anyone,
			Action: []string{"s3:*"}, Resource: []string{i.BucketArn(), i.BucketArn() + "/*"},
			Condition: map[string]map[string]any{"Bool": {"aws:SecureTransport": "false"}}},
	)
}

// ServiceAccountSubject is the sub of namespace/name's tokens.
func ServiceAccountSubject(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// ConditionPrefix is the prefix of the condition keys IAM gives the claims
// of the issuer at issuerURL (<host and path>:sub, :aud): the URL without
// its scheme.
func ConditionPrefix(issuerURL string) string { return strings.TrimPrefix(issuerURL, "https://") }

// TrustPolicy lets the service account namespace/name assume a role with
// its tokens for AWS (audience Audience) from the issuer at issuerURL,
// registered as the IAM OpenID Connect provider providerArn; no other
// service account, and no token of another audience.
func TrustPolicy(issuerURL, providerArn, namespace, name string) iampolicy.Document {
	prefix := ConditionPrefix(issuerURL)
	return iampolicy.New(iampolicy.Statement{
		Effect:    "Allow",
		Principal: &iampolicy.Principal{Federated: []string{providerArn}},
		Action:    []string{"sts:AssumeRoleWithWebIdentity"},
		Condition: map[string]map[string]any{"StringEquals": {
			prefix + ":sub": ServiceAccountSubject(namespace, name),
			prefix + ":aud": Audience,
		}},
	})
}
