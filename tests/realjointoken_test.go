package tests

// Node join tokens on real binaries (docs/masters.md, "Join tokens"): a
// committed stack's rendered masters, real etcd, the real kube-apiserver
// v1.37.2 and kubeadm, kubectl and the AWS CLI against moto_server for the
// token's parameter in SSM. The masters' own functions (the library's
// join_token_create, which the first boot's kubeadm_init calls, and the
// rendered kinfra-join-token script's main, which every master's timer
// runs) make and replace the tokens; a node's TLS bootstrap request, a
// CertificateSigningRequest sent with `Authorization: Bearer <token>` as
// the kubelet sends it, shows which tokens the API server accepts.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/testtools"
)

var joinTokenFormat = regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`)

// printedToken is the token a command printed on a line of its own.
func printedToken(t *testing.T, out string) string {
	t.Helper()
	tokens := regexp.MustCompile(`(?m)^[a-z0-9]{6}\.[a-z0-9]{16}$`).FindAllString(out, -1)
	require.Len(t, tokens, 1, out)
	return tokens[0]
}

// bootstrapRequest sends, from the client machine through the API's name,
// the request a kubelet's TLS bootstrap makes with a bootstrap token: it
// creates a CertificateSigningRequest for a node's client certificate. It
// returns the HTTP status and the response body.
func (a *realAPIServer) bootstrapRequest(t *testing.T, token string) (int, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "system:node:kinfra-test-worker", Organization: []string{"system:nodes"}},
	}, key)
	require.NoError(t, err)
	body, err := json.Marshal(map[string]any{
		"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
		"metadata": map[string]any{"generateName": "node-csr-"},
		"spec": map[string]any{
			"request":    base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})),
			"signerName": "kubernetes.io/kube-apiserver-client-kubelet",
			"usages":     []string{"digital signature", "client auth"},
		},
	})
	require.NoError(t, err)
	f, err := os.CreateTemp(a.c.dir, "csr-*.json")
	require.NoError(t, err)
	_, err = f.Write(body)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	url := fmt.Sprintf("https://%s:%d/apis/certificates.k8s.io/v1/certificatesigningrequests", a.c.stack.apiName(), bootstrap.APIPort)
	out, runErr := a.c.client.Run(time.Minute, nil, "curl", "-sS", "--cacert", a.caFile, "-H", "Authorization: Bearer "+token,
		"-H", "Content-Type: application/json", "--data-binary", "@"+f.Name(), "-w", "\n%{http_code}", url)
	// The status is the answer. curl may still exit non-zero after one:
	// 18 (partial file) when the API server refuses the request and closes
	// the connection while the body is on its way.
	i := strings.LastIndex(out, "\n")
	code, err := strconv.Atoi(strings.TrimSpace(out[i+1:]))
	require.NoError(t, err, "curl printed no HTTP status (%v): %s", runErr, out)
	require.NotZero(t, code, "curl reached no API server (%v): %s", runErr, out)
	return code, out[:i]
}

// requireAccepted checks that the API server took token's bootstrap
// request as the bootstrap token's user in kubeadm's node group.
func (a *realAPIServer) requireAccepted(t *testing.T, token, why string) {
	t.Helper()
	code, body := a.bootstrapRequest(t, token)
	require.Equal(t, 201, code, "%s: %s", why, realTruncate(body, 400))
	var csr struct {
		Spec struct {
			Username string   `json:"username"`
			Groups   []string `json:"groups"`
		} `json:"spec"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &csr))
	require.Equal(t, "system:bootstrap:"+strings.Split(token, ".")[0], csr.Spec.Username, why)
	require.Contains(t, csr.Spec.Groups, "system:bootstrappers:kubeadm:default-node-token", why)
}

// requireRefused waits until the API server refuses token's bootstrap
// request as unauthenticated (it caches a good token's authentication for
// ten seconds).
func (a *realAPIServer) requireRefused(t *testing.T, token, why string) {
	t.Helper()
	testtools.WaitFor(t, 2*time.Minute, why, func() error {
		code, body := a.bootstrapRequest(t, token)
		if code != 401 {
			return fmt.Errorf("HTTP %d: %s", code, realTruncate(body, 300))
		}
		return nil
	})
}

// realTokenSecret is what the cluster holds of a bootstrap token.
type realTokenSecret struct {
	exists             bool
	created, expiresAt time.Time // expiresAt zero: never
}

func (a *realAPIServer) tokenSecret(t *testing.T, kc, token string) realTokenSecret {
	t.Helper()
	out, err := a.run(kc, "-n", "kube-system", "get", "secret", "bootstrap-token-"+strings.Split(token, ".")[0], "--ignore-not-found", "-o", "json")
	require.NoError(t, err, out)
	if strings.TrimSpace(out) == "" {
		return realTokenSecret{}
	}
	var s struct {
		Metadata struct {
			CreationTimestamp time.Time `json:"creationTimestamp"`
		} `json:"metadata"`
		Data map[string][]byte `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &s), out)
	require.Equal(t, strings.Split(token, ".")[1], string(s.Data["token-secret"]), "the Secret is this token's")
	r := realTokenSecret{exists: true, created: s.Metadata.CreationTimestamp}
	if e := string(s.Data["expiration"]); e != "" {
		r.expiresAt, err = time.Parse(time.RFC3339, e)
		require.NoError(t, err)
	}
	return r
}

// The proof: join tokens live the configured TTL (24 hours in
// us-east-1, the default), the etcd leader's timer replaces the token nodes
// read once a third of its TTL has passed, a replaced token still admits a
// node's bootstrap for the rest of its TTL, and a token whose TTL has
// passed, or that is deleted, is refused. A cluster made before rotation
// (its token never expires) gets a new token, and the old one an expiry.
func TestRealJoinTokensRotateWithoutBreakingAJoinAndExpire(t *testing.T) {
	// Waits more than it computes: it runs beside the other slow tests.
	t.Parallel()
	realSafetyTools(t)
	realControlPlaneTools(t)
	st := loadRealStack(t, "us-east-1")
	require.Equal(t, 24, st.cluster.JoinTokens.TTLHours)
	c := newRealCluster(t, st)
	a := c.useAWS(t)
	c.useKubeadm(t)
	api := c.startControlPlane(t)
	m0 := api.m
	require.Contains(t, api.args, "--enable-bootstrap-token-auth=true", "kubeadm's API server flags enable the bootstrap token authenticator")
	// What kubeadm init does besides: the RBAC rules that let the node
	// token group create CSRs. (The phase also makes a token of its own,
	// which nobody knows.)
	m0.initPhase(t, "bootstrap-token", "--skip-token-print")
	// Every master holds its admin kubeconfig, as its boot's kubeconfig
	// phase writes it.
	admin := mustRead(t, m0.path("/etc/kubernetes/admin.conf"))
	for _, m := range c.masters[1:] {
		require.NoError(t, os.MkdirAll(m.path("/etc/kubernetes"), 0o755))
		require.NoError(t, os.WriteFile(m.path("/etc/kubernetes/admin.conf"), []byte(admin), 0o600))
	}
	kc, _ := api.adminKubeconfig(t, fmt.Sprintf("https://%s:%d", st.apiName(), bootstrap.APIPort))
	env := st.slots[0].env
	require.Equal(t, "86400", env["JOIN_TOKEN_TTL"])
	param := env["PARAMETER_PREFIX"] + "/" + bootstrap.JoinTokenParameter
	ssmToken := func() string {
		t.Helper()
		return strings.TrimSpace(a.must(t, "ssm", "get-parameter", "--with-decryption", "--name", param, "--query", "Parameter.Value", "--output", "text"))
	}
	const day = 24 * time.Hour
	requireTTL := func(token string, ttl time.Duration) {
		t.Helper()
		s := api.tokenSecret(t, kc, token)
		require.True(t, s.exists, "the cluster holds %s", token)
		require.False(t, s.expiresAt.IsZero(), "%s expires", token)
		require.InDelta(t, ttl.Seconds(), s.expiresAt.Sub(s.created).Seconds(), 60, "%s lives the TTL", token)
	}
	leader := c.leader(t, c.masters)
	// timers runs every master's timer once and returns the leader's log.
	timers := func() string {
		t.Helper()
		var led string
		for _, m := range c.masters {
			out, err := m.joinToken(t, "main 2>&1")
			require.NoError(t, err, "%s:\n%s", m.host.Name, out)
			if m == leader {
				led = out
			} else {
				require.Contains(t, out, "not the etcd leader; the leader replaces the join token", m.host.Name)
				require.NotContains(t, out, ") replaces ", m.host.Name)
			}
		}
		return led
	}

	// The first boot's kubeadm_init makes kinfra:pki's token, the one in
	// SSM, with the TTL: no longer one that never expires.
	first := ssmToken()
	require.Equal(t, st.bundle.BootstrapToken, first)
	out, err := m0.boot(t, 2*time.Minute, `join_token_create "$(param "$JOIN_TOKEN_PARAMETER")" >/dev/null`)
	require.NoError(t, err, out)
	requireTTL(first, day)
	api.requireAccepted(t, first, "the first token")

	// A fresh token is kept, and the leader alone reports how long it
	// stays valid, far above the alarm's threshold.
	out = timers()
	require.Contains(t, out, "join token "+strings.Split(first, ".")[0]+" is valid ")
	require.Contains(t, out, "s more; kept")
	require.Equal(t, first, ssmToken())
	var alarm masters.HealthAlarm
	for _, al := range masters.HealthAlarms(len(c.masters), st.cluster.JoinTokens.TTLHours) {
		if al.Metric == bootstrap.JoinTokenHoursMetric {
			alarm = al
		}
	}
	require.Equal(t, 8.0, alarm.Threshold)
	hours := a.metric(t, bootstrap.JoinTokenHoursMetric, alarm.Statistic)
	require.Len(t, hours, 1, "one data point: the leader's")
	require.InDelta(t, 24, hours[0], 0.1)

	// Eight hours later (a third of the TTL: the token's expiry is what
	// the script reads, so it is moved to where it would then be), the
	// leader replaces it.
	later := time.Now().UTC().Add(16*time.Hour - time.Minute).Format(time.RFC3339)
	out, err = api.run(kc, "-n", "kube-system", "patch", "secret", "bootstrap-token-"+strings.Split(first, ".")[0],
		"--type", "merge", "-p", `{"stringData":{"expiration":"`+later+`"}}`)
	require.NoError(t, err, out)
	out = timers()
	second := ssmToken()
	require.NotEqual(t, first, second, "the leader replaced the token:\n%s", out)
	require.Regexp(t, joinTokenFormat, second)
	require.Contains(t, out, "join token "+strings.Split(second, ".")[0]+" (valid 86400s) replaces "+strings.Split(first, ".")[0]+" (seconds left: ")
	requireTTL(second, day)
	var described struct {
		Parameters []struct{ Type, KeyId string }
	}
	require.NoError(t, json.Unmarshal([]byte(a.must(t, "ssm", "describe-parameters", "--parameter-filters", "Key=Name,Values="+param)), &described))
	require.Len(t, described.Parameters, 1)
	require.Equal(t, "SecureString", described.Parameters[0].Type)
	require.Equal(t, env["KMS_KEY_ARN"], described.Parameters[0].KeyId, "written with the cluster key")
	// A join in progress with the token it replaced goes on: it is
	// accepted until its own expiry, untouched.
	api.requireAccepted(t, second, "the new token")
	api.requireAccepted(t, first, "the replaced token, for the rest of its TTL")
	require.Equal(t, later, api.tokenSecret(t, kc, first).expiresAt.Format(time.RFC3339))
	// The next runs keep the new token.
	out = timers()
	require.Contains(t, out, "s more; kept")
	require.Equal(t, second, ssmToken())

	// A token whose TTL has passed is refused: one the masters' own
	// function makes with a TTL of 20 seconds, accepted, then refused.
	out, err = m0.boot(t, 2*time.Minute, `JOIN_TOKEN_TTL=20 join_token_create`)
	require.NoError(t, err, out)
	short := printedToken(t, out)
	requireTTL(short, 20*time.Second)
	api.requireAccepted(t, short, "a token within its TTL")
	api.requireRefused(t, short, "a token whose TTL has passed is refused")
	require.True(t, api.tokenSecret(t, kc, short).exists, "refused by its expiry alone (no controller manager runs here to delete it)")

	// A replaced token once deleted (kube-controller-manager's tokencleaner
	// deletes it when it expires; `kubeadm token delete` at once) is
	// refused.
	out, err = m0.kubeadm(t, "token", "delete", strings.Split(first, ".")[0], "--kubeconfig", "/etc/kubernetes/admin.conf")
	require.NoError(t, err, out)
	api.requireRefused(t, first, "a rotated-out token, deleted, is refused")
	api.requireAccepted(t, second, "the current token")

	// A cluster made before rotation: its token never expires. The next
	// run replaces it and gives it an expiry two thirds of the TTL away.
	out, err = m0.kubeadm(t, "token", "create", "--ttl", "0", "--kubeconfig", "/etc/kubernetes/admin.conf")
	require.NoError(t, err, out)
	forever := printedToken(t, out)
	require.True(t, api.tokenSecret(t, kc, forever).expiresAt.IsZero())
	a.must(t, "ssm", "put-parameter", "--name", param, "--type", "SecureString", "--key-id", env["KMS_KEY_ARN"], "--overwrite", "--value", forever)
	before := time.Now()
	out = timers()
	third := ssmToken()
	require.NotEqual(t, forever, third, out)
	require.Contains(t, out, "join token "+strings.Split(forever, ".")[0]+" never expired; it now expires in 57600s")
	require.Contains(t, out, "replaces "+strings.Split(forever, ".")[0]+" (seconds left: forever)")
	requireTTL(third, day)
	expires := api.tokenSecret(t, kc, forever).expiresAt
	require.False(t, expires.IsZero(), "the old token now expires")
	require.WithinRange(t, expires, before.Add(16*time.Hour-time.Minute), time.Now().Add(16*time.Hour+time.Minute))
	api.requireAccepted(t, forever, "the old token, until its new expiry")

	// The script never left the token in a file.
	for _, m := range c.masters {
		entries, _ := os.ReadDir(m.path("/run/kinfra"))
		for _, e := range entries {
			require.NotContains(t, e.Name(), "join-token", filepath.Join(m.host.Name, e.Name()))
		}
	}
}
