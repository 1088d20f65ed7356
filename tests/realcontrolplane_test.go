package tests

// The control plane from the rendered configuration (docs/real-binaries.md):
// slot 0's rendered kubeadm-init.yaml, with the cluster's CAs placed by the
// boot script's place_pki, goes through the real kubeadm's certificate,
// kubeconfig and control-plane phases; the real kube-apiserver then runs
// exactly the static pod's command, on the stack's real etcd cluster.

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/kubeconfig"
	"github.com/kinfra-dev/kinfra/internal/testtools"
)

// realControlPlaneTools are the binaries the control-plane tests run.
func realControlPlaneTools(t *testing.T) {
	testtools.RequireNetns(t)
	for _, tool := range []string{"etcd", "etcdctl", "kubeadm", "kube-apiserver", "kubectl"} {
		testtools.Path(t, tool)
	}
}

// adminKubeconfig is the kubeconfig the program gives the add-ons
// (components/cluster: kubeconfig.Admin from the bundle's admin
// certificate), for endpoint: the API's names are the ones the API server
// certificate carries, and the TLS server name is set when endpoint is not
// one of them (a tunnel, or here the test's address for slot 0).
func (a *realAPIServer) adminKubeconfig(t testing.TB, endpoint string) (path, serverName string) {
	t.Helper()
	st := a.c.stack
	names := []string{st.apiName()}
	if st.cluster.API.PublicName != "" {
		names = append(names, st.cluster.API.PublicName)
	}
	serverName = kubeconfig.ServerName(endpoint, names...)
	kc, err := kubeconfig.Admin{
		Cluster: st.cluster.Name, Server: endpoint, TLSServerName: serverName,
		CACert: st.bundle.ClusterCA.Cert, ClientCert: st.bundle.Admin.Cert, ClientKey: st.bundle.Admin.Key,
	}.Render()
	require.NoError(t, err)
	u, err := url.Parse(endpoint)
	require.NoError(t, err)
	path = filepath.Join(a.c.dir, "admin-"+u.Hostname()+".kubeconfig")
	require.NoError(t, os.WriteFile(path, []byte(kc), 0o600))
	return path, serverName
}

func TestRealControlPlaneFromRenderedConfigs(t *testing.T) {
	realControlPlaneTools(t)
	st := loadRealStack(t, "us-east-1")
	c := newRealCluster(t, st)
	a := c.startControlPlane(t)
	m := a.m

	// The static pod carries every flag kinfra renders, and the API server
	// runs with them.
	var init struct {
		APIServer struct {
			ExtraArgs []bootstrap.Arg `yaml:"extraArgs"`
		} `yaml:"apiServer"`
	}
	docs := strings.Split(m.slot.files[bootstrap.KubeadmInitPath].Content, "\n---\n")
	require.Len(t, docs, 2)
	require.NoError(t, yaml.Unmarshal([]byte(docs[1]), &init))
	require.NotEmpty(t, init.APIServer.ExtraArgs)
	command := a.manifest.Spec.Containers[0].Command
	for _, arg := range init.APIServer.ExtraArgs {
		require.Contains(t, command, "--"+arg.Name+"="+arg.Value)
	}
	var endpoints []string
	for i := range st.slots {
		endpoints = append(endpoints, c.endpoint(i))
	}
	require.Contains(t, command, "--etcd-servers="+strings.Join(endpoints, ","), "the API server uses every slot's etcd member")

	// /readyz for the load balancer's anonymous health check, and the other
	// health paths; anything else anonymous is refused.
	for _, path := range []string{"/readyz", "/livez", "/healthz"} {
		code, body, err := a.anonymous(path)
		require.NoError(t, err)
		require.Equal(t, 200, code, path)
		require.Equal(t, "ok", strings.TrimSpace(body), path)
	}
	for _, path := range []string{"/api", "/version", "/metrics", "/api/v1/namespaces/kube-system/secrets"} {
		code, body, err := a.anonymous(path)
		require.NoError(t, err)
		require.Equal(t, 401, code, "anonymous %s must be refused: %s", path, body)
	}

	// The add-ons' admin kubeconfig, as rendered for the stack (the API's
	// name, which the test network resolves to slot 0, as the load
	// balancer would route it) and as for a tunnel (slot 0's address, the
	// TLS server name kept).
	byName, noName := a.adminKubeconfig(t, fmt.Sprintf("https://%s:%d", st.apiName(), bootstrap.APIPort))
	require.Empty(t, noName)
	byAddress, serverName := a.adminKubeconfig(t, fmt.Sprintf("https://%s:%d", m.host.IP(), bootstrap.APIPort))
	require.Equal(t, st.apiName(), serverName)
	for _, kc := range []string{byName, byAddress} {
		out, err := a.run(kc, "get", "--raw", "/readyz")
		require.NoError(t, err)
		require.Equal(t, "ok", strings.TrimSpace(out))
		out, err = a.run(kc, "auth", "can-i", "*", "*")
		require.NoError(t, err)
		require.Equal(t, "yes", strings.TrimSpace(out))
		out, err = a.run(kc, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}")
		require.NoError(t, err)
		require.Equal(t, `kubernetes-admin ["kubeadm:cluster-admins","system:authenticated"]`, out)
	}
	// profiling: false took effect: no profiler, even for cluster-admin.
	_, err := a.run(byName, "get", "--raw", "/debug/pprof/")
	require.ErrorContains(t, err, "NotFound")

	// Secrets are encrypted at rest: what etcd holds is sealed by the
	// rendered encryption configuration's secretbox key.
	plaintext := "kinfra-real-test-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	_, err = a.run(byName, "create", "secret", "generic", "kinfra-real-test", "-n", "default", "--from-literal=password="+plaintext)
	require.NoError(t, err)
	raw, err := m.etcdctl(c.endpoint(0), "get", "/registry/secrets/default/kinfra-real-test", "--print-value-only")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(raw, "k8s:enc:secretbox:v1:kinfra-1:"), "etcd holds %q", realTruncate(raw, 60))
	require.NotContains(t, raw, plaintext)
	out, err := a.run(byName, "get", "secret", "kinfra-real-test", "-n", "default", "-o", "jsonpath={.data.password}")
	require.NoError(t, err)
	require.Equal(t, realB64(plaintext), out, "the API server decrypts it")
	// Other resources are stored as they are (identity).
	_, err = a.run(byName, "create", "configmap", "kinfra-real-test", "-n", "default", "--from-literal=k=v")
	require.NoError(t, err)
	raw, err = m.etcdctl(c.endpoint(0), "get", "/registry/configmaps/default/kinfra-real-test", "--print-value-only")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(raw, "k8s\x00"), "configmaps are not encrypted")

	// Audit logging, with the rendered policy: the Secret's creation at
	// Metadata (no payload, so no plaintext), an RBAC change with request
	// and response, health checks not at all.
	_, err = a.run(byName, "create", "clusterrole", "kinfra-real-test", "--verb=get", "--resource=pods")
	require.NoError(t, err)
	auditLog := m.path(bootstrap.AuditLogDir + "/audit.log")
	var secretEvent, roleEvent map[string]any
	testtools.WaitFor(t, 30*time.Second, "audit events", func() error {
		secretEvent = auditEvent(t, auditLog, "create", "secrets", "kinfra-real-test")
		roleEvent = auditEvent(t, auditLog, "create", "clusterroles", "kinfra-real-test")
		if secretEvent == nil || roleEvent == nil {
			return fmt.Errorf("no audit event yet for the Secret (%v) or the ClusterRole (%v) in %s", secretEvent != nil, roleEvent != nil, auditLog)
		}
		return nil
	})
	require.Equal(t, "Metadata", secretEvent["level"])
	require.NotContains(t, secretEvent, "requestObject")
	require.Equal(t, "kubernetes-admin", secretEvent["user"].(map[string]any)["username"])
	require.Equal(t, "RequestResponse", roleEvent["level"])
	require.Contains(t, roleEvent, "requestObject")
	require.Contains(t, roleEvent, "responseObject")
	logText := mustRead(t, auditLog)
	require.NotContains(t, logText, plaintext)
	require.NotContains(t, logText, realB64(plaintext))
	require.NotContains(t, logText, `"requestURI":"/readyz"`)
}

// auditEvent is the first audit event in the log for verb on resource name.
func auditEvent(t *testing.T, path, verb, resource, name string) map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev))
		ref, _ := ev["objectRef"].(map[string]any)
		if ev["verb"] == verb && ref["resource"] == resource && ref["name"] == name && ev["stage"] == "ResponseComplete" {
			return ev
		}
	}
	return nil
}

func realTruncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func realB64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// A broken rendered artifact stops the real API server: the same harness,
// with one file broken in the machine's copy (the rendered kubeadm
// configuration, audit policy or authentication configuration, or the
// encryption configuration as SSM holds it).
func TestRealControlPlaneRefusesBrokenConfigs(t *testing.T) {
	realControlPlaneTools(t)
	st := loadRealStack(t, "us-east-1")
	c := newRealCluster(t, st)
	// etcd runs, so that only the broken file can stop the API server.
	c.startEtcdCluster(t)
	replace := func(from, to string) func(string) string {
		return func(s string) string { return strings.Replace(s, from, to, 1) }
	}
	for _, tc := range []struct {
		name, path string
		change     func(string) string
		refusal    string
	}{
		{"misspelled API server flag in the kubeadm configuration", bootstrap.KubeadmInitPath,
			replace("name: encryption-provider-config-automatic-reload", "name: encryption-provider-config-automatic-reloads"),
			"unknown flag: --encryption-provider-config-automatic-reloads"},
		{"invalid flag value in the kubeadm configuration", bootstrap.KubeadmInitPath,
			replace("value: VersionTLS12", "value: VersionTLS10.2"),
			`unknown tls version \"VersionTLS10.2\"`},
		{"invalid audit level", bootstrap.AuditPolicyPath,
			replace("- level: Metadata\n", "- level: Metadat\n"),
			`Unsupported value: \"Metadat\"`},
		{"unknown field in the authentication configuration", bootstrap.AuthnConfigPath,
			replace("- path: /readyz", "- paths: /readyz"),
			"strict decoding error: unknown field"},
		{"encryption key of the wrong size", bootstrap.EncryptionPath,
			func(s string) string {
				return regexp.MustCompile(`secret: \S+`).ReplaceAllString(s, "secret: "+realB64("sixteen byte key"))
			},
			"secret is not of the expected length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := c.startAPIServer(t, c.prepareControlPlane(t, map[string]func(string) string{tc.path: tc.change}))
			exited, err := a.proc.WaitExit(2 * time.Minute)
			require.True(t, exited, "kube-apiserver must refuse to start")
			require.Error(t, err)
			log := testtools.Tail(a.proc.Log, 30)
			require.Contains(t, log, tc.refusal)
			for _, line := range strings.Split(log, "\n") {
				if strings.Contains(line, tc.refusal) {
					t.Logf("kube-apiserver refused: %s", realTruncate(line, 400))
					break
				}
			}
		})
	}
}
