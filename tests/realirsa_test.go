package tests

// IAM roles for service accounts, on the real kube-apiserver
// (docs/addons.md, "EBS CSI credentials"): the API server started from
// slot 0's rendered configuration publishes the same discovery documents
// kinfra puts in the issuer's bucket, and the tokens it mints for the EBS
// CSI controller verify against that key set and carry the issuer and
// subject the controller's role trusts. Tokens of the cluster-local issuer
// (every token minted before the issuer moved) stay valid.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/components/addons"
	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/iampolicy"
	"github.com/kinfra-dev/kinfra/internal/irsa"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/pki"
)

// planObject is the content of the issuer bucket's object key in a plan.
func planObject(t *testing.T, rs []mockaws.Resource, key string) string {
	t.Helper()
	for _, r := range mockaws.OfType(rs, "aws:s3/bucketObjectv2:BucketObjectv2") {
		if r.Inputs["key"] == key {
			return r.Inputs["content"].(string)
		}
	}
	t.Fatalf("the plan publishes no %s", key)
	return ""
}

// jwt is a decoded compact JWS.
type jwt struct {
	header, claims map[string]any
	signed         string // header.payload
	sig            []byte
}

func parseJWT(t *testing.T, token string) jwt {
	t.Helper()
	parts := strings.Split(strings.TrimSpace(token), ".")
	require.Len(t, parts, 3, "a compact JWS")
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		require.NoError(t, err)
		return b
	}
	var out jwt
	require.NoError(t, json.Unmarshal(dec(parts[0]), &out.header))
	require.NoError(t, json.Unmarshal(dec(parts[1]), &out.claims))
	out.signed, out.sig = parts[0]+"."+parts[1], dec(parts[2])
	return out
}

// verifyES256 verifies t's signature with the key of the key set jwks that
// its kid names, as a relying party (AWS STS) does.
func verifyES256(t *testing.T, jwks string, tok jwt) {
	t.Helper()
	var set struct{ Keys []irsa.JWK }
	require.NoError(t, json.Unmarshal([]byte(jwks), &set))
	i := slices.IndexFunc(set.Keys, func(k irsa.JWK) bool { return k.Kid == tok.header["kid"] })
	require.GreaterOrEqual(t, i, 0, "the key set has the token's kid %v", tok.header["kid"])
	k := set.Keys[i]
	require.Equal(t, "ES256", tok.header["alg"])
	require.Equal(t, "P-256", k.Crv)
	coord := func(s string) *big.Int {
		b, err := base64.RawURLEncoding.DecodeString(s)
		require.NoError(t, err)
		return new(big.Int).SetBytes(b)
	}
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: coord(k.X), Y: coord(k.Y)}
	require.Len(t, tok.sig, 64, "ES256: r and s, 32 bytes each")
	digest := sha256.Sum256([]byte(tok.signed))
	require.True(t, ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(tok.sig[:32]), new(big.Int).SetBytes(tok.sig[32:])),
		"the token verifies against kinfra's published key set")
}

// resign is tok with claims changed by edit, signed with the cluster's
// service-account key (kinfra:pki): a token as another issuer would have
// minted it with the same key.
func resign(t *testing.T, b *pki.Bundle, tok jwt, edit func(map[string]any)) string {
	t.Helper()
	claims := map[string]any{}
	for k, v := range tok.claims {
		claims[k] = v
	}
	edit(claims)
	h, err := json.Marshal(tok.header)
	require.NoError(t, err)
	c, err := json.Marshal(claims)
	require.NoError(t, err)
	signed := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	key := saPrivateKey(t, b)
	digest := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	require.NoError(t, err)
	sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// review asks the API server whether it authenticates token, as admin.
func (a *realAPIServer) review(t *testing.T, admin, token string) (bool, string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": map[string]any{"token": token}})
	require.NoError(t, err)
	path := filepath.Join(a.c.dir, fmt.Sprintf("tokenreview-%d.json", time.Now().UnixNano()))
	require.NoError(t, os.WriteFile(path, body, 0o600))
	out, err := a.run(admin, "create", "--raw", "/apis/authentication.k8s.io/v1/tokenreviews", "-f", path)
	require.NoError(t, err, out)
	var r struct {
		Status struct {
			Authenticated bool
			User          struct{ Username string }
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &r), out)
	return r.Status.Authenticated, r.Status.User.Username
}

func TestRealAPIServerPublishesKinfrasIssuerAndItsTokensSatisfyTheEBSRolesTrust(t *testing.T) {
	realControlPlaneTools(t)
	st := loadRealStack(t, "us-east-1")
	rs := st.plan.Resources
	discovery := planObject(t, rs, irsa.DiscoveryKey)
	jwks := planObject(t, rs, irsa.JWKSKey)
	var published struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	require.NoError(t, json.Unmarshal([]byte(discovery), &published))

	c := newRealCluster(t, st)
	a := c.startControlPlane(t)
	// The static pod signs as the published issuer and accepts the
	// cluster-local one after it: kubeadm kept both flags, in order.
	var issuers []string
	for _, arg := range a.manifest.Spec.Containers[0].Command {
		if v, ok := strings.CutPrefix(arg, "--service-account-issuer="); ok {
			issuers = append(issuers, v)
		}
	}
	require.Equal(t, []string{published.Issuer, "https://kubernetes.default.svc.cluster.local"}, issuers)
	require.Contains(t, a.manifest.Spec.Containers[0].Command, "--service-account-jwks-uri="+published.JWKSURI)

	// The API server's own discovery documents are the ones kinfra
	// publishes for STS.
	admin, _ := a.adminKubeconfig(t, fmt.Sprintf("https://%s:%d", st.apiName(), bootstrap.APIPort))
	served, err := a.run(admin, "get", "--raw", "/.well-known/openid-configuration")
	require.NoError(t, err, served)
	require.JSONEq(t, discovery, served)
	servedKeys, err := a.run(admin, "get", "--raw", "/openid/v1/jwks")
	require.NoError(t, err, servedKeys)
	require.JSONEq(t, jwks, servedKeys)

	// A token the API server mints for the EBS CSI controller, for STS,
	// verifies against the published keys and names what the role's trust
	// policy requires.
	var trust iampolicy.Document
	for _, r := range mockaws.OfType(rs, "aws:iam/role:Role") {
		if strings.HasSuffix(r.Name, "-addons-ebs-csi") {
			require.NoError(t, json.Unmarshal([]byte(r.Inputs["assumeRolePolicy"].(string)), &trust))
		}
	}
	require.Len(t, trust.Statement, 1, "the plan has the EBS CSI controller's role")
	cond := trust.Statement[0].Condition["StringEquals"]
	prefix := irsa.ConditionPrefix(published.Issuer)
	out, err := a.run(admin, "create", "serviceaccount", addons.EBSControllerServiceAccount, "-n", "kube-system")
	require.NoError(t, err, out)
	token, err := a.run(admin, "create", "token", addons.EBSControllerServiceAccount, "-n", "kube-system",
		"--audience", irsa.Audience, "--duration", fmt.Sprintf("%ds", addons.EBSTokenSeconds))
	require.NoError(t, err, token)
	tok := parseJWT(t, token)
	verifyES256(t, jwks, tok)
	require.Equal(t, "https://"+prefix, tok.claims["iss"], "the issuer the role's conditions are keyed by")
	require.Equal(t, cond[prefix+":sub"], tok.claims["sub"])
	require.Equal(t, []any{cond[prefix+":aud"]}, tok.claims["aud"])
	require.InDelta(t, float64(addons.EBSTokenSeconds), tok.claims["exp"].(float64)-tok.claims["iat"].(float64), 1, "the token expires")
	// Tokens for STS are not tokens for the API.
	ok, _ := a.review(t, admin, token)
	require.False(t, ok, "a token for sts.amazonaws.com does not authenticate to the API")

	// Tokens of the cluster-local issuer, as every master signed them
	// before this one, and as masters not yet rolled still do, are still
	// accepted; another issuer's are not.
	apiToken, err := a.run(admin, "create", "token", addons.EBSControllerServiceAccount, "-n", "kube-system")
	require.NoError(t, err, apiToken)
	api := parseJWT(t, apiToken)
	require.Equal(t, published.Issuer, api.claims["iss"], "new tokens are signed as the published issuer")
	user := "system:serviceaccount:kube-system:" + addons.EBSControllerServiceAccount
	ok, name := a.review(t, admin, apiToken)
	require.True(t, ok)
	require.Equal(t, user, name)
	for iss, want := range map[string]bool{"https://kubernetes.default.svc.cluster.local": true, "https://elsewhere.example.com": false} {
		old := resign(t, st.bundle, api, func(c map[string]any) { c["iss"], c["aud"] = iss, []any{iss} })
		ok, name := a.review(t, admin, old)
		require.Equal(t, want, ok, "a token of issuer %s", iss)
		if want {
			require.Equal(t, user, name)
		}
	}
}

// saPrivateKey is the bundle's service-account signing key.
func saPrivateKey(t *testing.T, b *pki.Bundle) *ecdsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode([]byte(b.ServiceAccount.Key))
	require.NotNil(t, block, "kinfra:pki serviceAccount.key is PEM")
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return k
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	require.NoError(t, err)
	ec, ok := k.(*ecdsa.PrivateKey)
	require.True(t, ok, "the service-account key is ECDSA")
	return ec
}
