package irsa_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/iampolicy"
	"github.com/kinfra-dev/kinfra/internal/irsa"
)

var issuer = irsa.Issuer{Bucket: "prod-oidc-123456789012-us-east-1", Region: "us-east-1", Partition: "aws"}

func publicPEM(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func b64(t *testing.T, s string) []byte {
	t.Helper()
	require.NotContains(t, s, "=", "base64url without padding")
	b, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(t, err)
	return b
}

// A relying party (AWS STS) verifies a token with the published key: the
// key set's key is the signing key's public half, under the kid
// kube-apiserver puts in the token's header, for every key kind
// kube-apiserver signs with.
func TestTheKeySetVerifiesTokensSignedWithTheServiceAccountKey(t *testing.T) {
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		t.Run(curve.Params().Name, func(t *testing.T) {
			for range 8 { // coordinates with leading zero bytes must keep their length
				key, err := ecdsa.GenerateKey(curve, rand.Reader)
				require.NoError(t, err)
				jwk := onlyKey(t, publicPEM(t, &key.PublicKey))
				require.Equal(t, "EC", jwk.Kty)
				require.Equal(t, "sig", jwk.Use)
				require.Equal(t, curve.Params().Name, jwk.Crv)
				require.Equal(t, map[int]string{256: "ES256", 384: "ES384", 521: "ES512"}[curve.Params().BitSize], jwk.Alg)
				size := (curve.Params().BitSize + 7) / 8
				x, y := b64(t, jwk.X), b64(t, jwk.Y)
				require.Len(t, x, size)
				require.Len(t, y, size)
				pub := &ecdsa.PublicKey{Curve: curve, X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
				digest := sha256.Sum256([]byte("header.payload"))
				sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
				require.NoError(t, err)
				require.True(t, ecdsa.VerifyASN1(pub, digest[:], sig))
				requireKid(t, &key.PublicKey, jwk.Kid)
			}
		})
	}
	t.Run("RSA", func(t *testing.T) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		jwk := onlyKey(t, publicPEM(t, &key.PublicKey))
		require.Equal(t, "RSA", jwk.Kty)
		require.Equal(t, "RS256", jwk.Alg)
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(b64(t, jwk.N)), E: int(new(big.Int).SetBytes(b64(t, jwk.E)).Int64())}
		digest := sha256.Sum256([]byte("header.payload"))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
		require.NoError(t, err)
		require.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig))
		requireKid(t, &key.PublicKey, jwk.Kid)
	})
}

// requireKid: the kid is the unpadded base64url SHA-256 of the key's DER
// (k8s.io/kubernetes pkg/serviceaccount/jwt.go keyIDFromPublicKey; the real
// API server's own kid is compared in tests/realirsa_test.go).
func requireKid(t *testing.T, pub crypto.PublicKey, kid string) {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	sum := sha256.Sum256(der)
	require.Equal(t, sum[:], b64(t, kid))
}

func onlyKey(t *testing.T, pemKey string) irsa.JWK {
	t.Helper()
	s, err := irsa.JWKS(pemKey)
	require.NoError(t, err)
	var set struct{ Keys []irsa.JWK }
	require.NoError(t, json.Unmarshal([]byte(s), &set))
	require.Len(t, set.Keys, 1)
	return set.Keys[0]
}

func TestTheDiscoveryDocumentNamesTheIssuerItsKeySetAndAlgorithm(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	doc, err := issuer.Discovery(publicPEM(t, &key.PublicKey))
	require.NoError(t, err)
	require.JSONEq(t, `{
		"issuer": "https://prod-oidc-123456789012-us-east-1.s3.us-east-1.amazonaws.com",
		"jwks_uri": "https://prod-oidc-123456789012-us-east-1.s3.us-east-1.amazonaws.com/openid/v1/jwks",
		"response_types_supported": ["id_token"],
		"subject_types_supported": ["public"],
		"id_token_signing_alg_values_supported": ["ES256"]
	}`, doc)
	cn := irsa.Issuer{Bucket: "b", Region: "cn-northwest-1", Partition: "aws-cn"}
	require.Equal(t, "https://b.s3.cn-northwest-1.amazonaws.com.cn", cn.URL())
	require.Equal(t, "arn:aws-cn:s3:::b", cn.BucketArn())
}

func TestKeysKubeAPIServerCannotSignWithAreRefused(t *testing.T) {
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	require.NoError(t, err)
	for name, tc := range map[string]struct{ pem, want string }{
		"empty":       {"", "not a PEM PUBLIC KEY"},
		"private key": {"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "not a PEM PUBLIC KEY"},
		"garbage DER": {"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "the service-account public key:"},
		"P-224":       {publicPEM(t, &p224.PublicKey), "curve P-224 is not P-256, P-384 or P-521"},
	} {
		_, err := irsa.JWKS(tc.pem)
		require.ErrorContains(t, err, tc.want, name)
		_, err = issuer.Discovery(tc.pem)
		require.ErrorContains(t, err, tc.want, name)
	}
}

// allows evaluates a resource policy as S3 does for one request: an
// explicit Deny wins, then an Allow whose principal, action and resource
// match; nothing else is allowed.
func allows(d iampolicy.Document, anonymous bool, action, resource string, tls bool) bool {
	match := func(patterns []string, v string) bool {
		return slices.ContainsFunc(patterns, func(p string) bool { return globMatch(p, v) })
	}
	applies := func(s iampolicy.Statement) bool {
		if s.Principal == nil || !(slices.Contains(s.Principal.AWS, "*") || !anonymous) {
			return false
		}
		if !match(s.Action, action) || !match(s.Resource, resource) {
			return false
		}
		for op, keys := range s.Condition {
			for k, v := range keys {
				if op != "Bool" || k != "aws:SecureTransport" {
					return false // a condition this evaluator does not know never matches
				}
				if (v == "true") != tls {
					return false
				}
			}
		}
		return true
	}
	allowed := false
	for _, s := range d.Statement {
		if !applies(s) {
			continue
		}
		if s.Effect == "Deny" {
			return false
		}
		allowed = true
	}
	return allowed
}

// globMatch is IAM's wildcard match: * is any run of characters, / included.
func globMatch(pattern, v string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == v
	}
	if !strings.HasPrefix(v, parts[0]) {
		return false
	}
	v = v[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(v, p)
		if i < 0 {
			return false
		}
		v = v[i+len(p):]
	}
	return strings.HasSuffix(v, parts[len(parts)-1])
}

// Anyone may read the two discovery documents, over TLS; nothing else in
// the bucket, and no other action, is public.
func TestTheBucketPolicyMakesOnlyTheTwoDocumentsPublic(t *testing.T) {
	d := issuer.BucketPolicy()
	arn := issuer.BucketArn()
	for _, key := range []string{".well-known/openid-configuration", "openid/v1/jwks"} {
		require.True(t, allows(d, true, "s3:GetObject", arn+"/"+key, true), key)
		require.False(t, allows(d, true, "s3:GetObject", arn+"/"+key, false), "%s without TLS", key)
		for _, action := range []string{"s3:PutObject", "s3:DeleteObject", "s3:GetObjectAcl", "s3:PutObjectAcl", "s3:GetObjectVersion"} {
			require.False(t, allows(d, true, action, arn+"/"+key, true), "%s %s", action, key)
		}
	}
	for _, key := range []string{
		"", ".well-known", ".well-known/", ".well-known/openid-configuration2", ".well-known/openid-configuration/x",
		"openid/v1/jwks/", "openid/v1/jwks.bak", "openid/v1/", "openid", "x/openid/v1/jwks", "secret", "sa.key",
	} {
		require.False(t, allows(d, true, "s3:GetObject", arn+"/"+key, true), "key %q", key)
	}
	for _, action := range []string{"s3:ListBucket", "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:GetBucketAcl"} {
		require.False(t, allows(d, true, action, arn, true), action)
	}
	// The allow names exact keys, no wildcard.
	for _, s := range d.Statement {
		if s.Effect == "Allow" {
			for _, r := range s.Resource {
				require.NotContains(t, r, "*")
			}
		}
	}
}

func TestTheTrustPolicyAdmitsOneServiceAccountsTokensForSTS(t *testing.T) {
	d := irsa.TrustPolicy(issuer.URL(), "arn:aws:iam::123456789012:oidc-provider/x", "kube-system", "ebs-csi-controller-sa")
	got, err := d.JSON()
	require.NoError(t, err)
	require.JSONEq(t, `{"Version":"2012-10-17","Statement":[{
		"Effect":"Allow",
		"Principal":{"Federated":["arn:aws:iam::123456789012:oidc-provider/x"]},
		"Action":["sts:AssumeRoleWithWebIdentity"],
		"Condition":{"StringEquals":{
			"prod-oidc-123456789012-us-east-1.s3.us-east-1.amazonaws.com:sub":"system:serviceaccount:kube-system:ebs-csi-controller-sa",
			"prod-oidc-123456789012-us-east-1.s3.us-east-1.amazonaws.com:aud":"sts.amazonaws.com"}}}]}`, got)
}
