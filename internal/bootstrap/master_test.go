package bootstrap_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
)

func sampleMaster(slot, count int) bootstrap.Master {
	return bootstrap.Master{
		ClusterName: "prod-use1", Region: "us-east-1", Slot: slot, Count: count,
		Domain: "prod-use1.k8s.internal", APIName: "api.prod-use1.k8s.internal",
		ExtraSANs:         []string{"api.prod-use1.example.com"},
		KubernetesVersion: "v1.37.2", PodCidr: "10.64.0.0/11", ServiceCidr: "172.20.0.0/16", NodeCidrMaskSize: 24,
		VolumeID: "vol-0123456789abcdef0", HostedZoneID: "Z0123456789ABCDEFGHIJ", ParameterPrefix: "/kinfra/prod-use1",
		EtcdVersion:           "3.7.3",
		JoinToken:             bootstrap.JoinToken{TTLHours: 24, KMSKeyArn: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
		ServiceAccountIssuer:  "https://prod-use1-oidc-123456789012-us-east-1.s3.us-east-1.amazonaws.com",
		ServiceAccountJWKSURI: "https://prod-use1-oidc-123456789012-us-east-1.s3.us-east-1.amazonaws.com/openid/v1/jwks",
	}
}

func TestMasterUserDataIsCloudConfigWithEveryFile(t *testing.T) {
	r, err := sampleMaster(1, 3).Render()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(r.UserData, "#cloud-config\n"))
	var doc struct {
		WriteFiles []bootstrap.File `yaml:"write_files"`
		Runcmd     [][]string       `yaml:"runcmd"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(r.UserData), &doc))
	// The user data writes every file but the tools, and the tools'
	// manifest, which names each by the hash of its content.
	require.Equal(t, len(r.Files)-len(r.Tools), len(doc.WriteFiles))
	for _, f := range doc.WriteFiles {
		if f.Path == bootstrap.ToolsManifestPath {
			require.Equal(t, bootstrap.ToolsManifest(r.Tools), f.Content)
			continue
		}
		require.Equal(t, r.Files[f.Path].Content, f.Content, f.Path)
	}
	require.NotEmpty(t, r.Tools)
	for _, tool := range r.Tools {
		require.Equal(t, r.Files[tool.Path], tool.File, tool.Path)
		require.NotContains(t, r.UserData, tool.Content, "%s travels as a parameter, not in the user data", tool.Path)
		sum := sha256.Sum256([]byte(tool.Content))
		require.Equal(t, bootstrap.ToolsGroup+"/"+hex.EncodeToString(sum[:]), tool.Parameter)
		content, err := bootstrap.ToolContent(tool.Parameter, tool.Value)
		require.NoError(t, err)
		require.Equal(t, tool.Content, content)
		require.LessOrEqual(t, len(tool.Value), bootstrap.ToolParameterLimit, "a Standard parameter")
	}
	entries, err := bootstrap.ParseToolsManifest(bootstrap.ToolsManifest(r.Tools))
	require.NoError(t, err)
	require.Len(t, entries, len(r.Tools))
	encoded, err := bootstrap.EncodeUserData(r.UserData)
	require.NoError(t, err, "within EC2's 16 KiB once gzipped")
	back, err := bootstrap.DecodeUserData(encoded)
	require.NoError(t, err)
	require.Equal(t, r.UserData, back)
	_, err = bootstrap.EncodeUserData(strings.Repeat(r.UserData, 40) + randomText(t, 20000))
	require.ErrorContains(t, err, "EC2 allows 16384")
}

// docs splits a multi-document YAML file into maps.
func docs(t *testing.T, s string) []map[string]any {
	var out []map[string]any
	dec := yaml.NewDecoder(strings.NewReader(s))
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			break
		}
		out = append(out, m)
	}
	return out
}

func args(list any) map[string]string {
	out := map[string]string{}
	for _, a := range list.([]any) {
		m := a.(map[string]any)
		out[m["name"].(string)] = m["value"].(string)
	}
	return out
}

func TestClusterConfigurationUsesTheSlotsAsExternalEtcdAndHardensTheAPIServer(t *testing.T) {
	r, err := sampleMaster(2, 5).Render()
	require.NoError(t, err)
	init := docs(t, r.Files[bootstrap.KubeadmInitPath].Content)
	require.Len(t, init, 2)
	require.Equal(t, "InitConfiguration", init[0]["kind"])
	require.Equal(t, []any{"addon/kube-proxy"}, init[0]["skipPhases"], "kube-proxy is the add-ons component's")
	require.Equal(t, map[string]string{"cloud-provider": "external"}, args(init[0]["nodeRegistration"].(map[string]any)["kubeletExtraArgs"]))

	cc := init[1]
	require.Equal(t, "ClusterConfiguration", cc["kind"])
	require.Equal(t, "kubeadm.k8s.io/v1beta4", cc["apiVersion"])
	require.Equal(t, "api.prod-use1.k8s.internal:6443", cc["controlPlaneEndpoint"])
	ext := cc["etcd"].(map[string]any)["external"].(map[string]any)
	require.Equal(t, []any{
		"https://etcd-0.prod-use1.k8s.internal:2379", "https://etcd-1.prod-use1.k8s.internal:2379",
		"https://etcd-2.prod-use1.k8s.internal:2379", "https://etcd-3.prod-use1.k8s.internal:2379",
		"https://etcd-4.prod-use1.k8s.internal:2379",
	}, ext["endpoints"])
	net := cc["networking"].(map[string]any)
	require.Equal(t, "10.64.0.0/11", net["podSubnet"])
	require.Equal(t, "172.20.0.0/16", net["serviceSubnet"])
	api := args(cc["apiServer"].(map[string]any)["extraArgs"])
	require.Equal(t, bootstrap.AuditPolicyPath, api["audit-policy-file"])
	require.Equal(t, bootstrap.EncryptionPath, api["encryption-provider-config"])
	require.Equal(t, bootstrap.AuthnConfigPath, api["authentication-config"])
	require.NotContains(t, api, "anonymous-auth", "the authentication config decides anonymous access; the flag may not be set with it")
	require.Contains(t, cc["apiServer"].(map[string]any)["certSANs"], "api.prod-use1.example.com")
	cm := args(cc["controllerManager"].(map[string]any)["extraArgs"])
	require.Equal(t, "external", cm["cloud-provider"])
	require.Equal(t, "24", cm["node-cidr-mask-size-ipv4"])

	require.NotContains(t, r.Files, "/etc/kinfra/kubeadm-join.yaml", "masters build their node from the init configuration; no join")
}

// The API server signs tokens as the issuer AWS trusts (the first
// --service-account-issuer) and still accepts kubeadm's default, which
// every token minted before names; kubeadm keeps repeated extraArgs in
// order (tests/realirsa_test.go runs the real ones).
func TestAPIServerSignsAsThePublishedIssuerAndAcceptsTheClusterLocalOne(t *testing.T) {
	m := sampleMaster(0, 3)
	r, err := m.Render()
	require.NoError(t, err)
	cc := docs(t, r.Files[bootstrap.KubeadmInitPath].Content)[1]
	var got [][2]string
	for _, a := range cc["apiServer"].(map[string]any)["extraArgs"].([]any) {
		arg := a.(map[string]any)
		if name := arg["name"].(string); strings.HasPrefix(name, "service-account-") {
			got = append(got, [2]string{name, arg["value"].(string)})
		}
	}
	require.Equal(t, [][2]string{
		{"service-account-issuer", m.ServiceAccountIssuer},
		{"service-account-issuer", "https://kubernetes.default.svc.cluster.local"},
		{"service-account-jwks-uri", m.ServiceAccountJWKSURI},
	}, got)

	for _, broken := range []func(*bootstrap.Master){
		func(m *bootstrap.Master) { m.ServiceAccountIssuer = "" },
		func(m *bootstrap.Master) { m.ServiceAccountJWKSURI = "" },
		func(m *bootstrap.Master) { m.ServiceAccountIssuer = "https://x'; rm -rf /" },
	} {
		b := sampleMaster(0, 3)
		broken(&b)
		_, err := b.Render()
		require.ErrorContains(t, err, "bad ServiceAccount")
	}
}

func TestEtcdConfigurationIsStaticPerSlotWithTLSEverywhere(t *testing.T) {
	a, err := sampleMaster(1, 3).Render()
	require.NoError(t, err)
	b := sampleMaster(1, 3)
	b.VolumeID = "vol-0fedcba9876543210" // a replaced volume changes the env, never the member
	rb, err := b.Render()
	require.NoError(t, err)
	require.Equal(t, a.Files[bootstrap.EtcdConfigPath], rb.Files[bootstrap.EtcdConfigPath])

	var cfg map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(a.Files[bootstrap.EtcdConfigPath].Content), &cfg))
	require.Equal(t, "etcd-1", cfg["name"])
	require.Equal(t, "new", cfg["initial-cluster-state"], "ignored by etcd once the data directory holds a member")
	require.Equal(t, "https://etcd-1.prod-use1.k8s.internal:2380", cfg["initial-advertise-peer-urls"])
	require.Equal(t, bootstrap.EtcdDataDir, cfg["data-dir"])
	for _, k := range []string{"client-transport-security", "peer-transport-security"} {
		tls := cfg[k].(map[string]any)
		require.Equal(t, true, tls["client-cert-auth"], k)
		require.Equal(t, false, tls["auto-tls"], k)
		require.NotEmpty(t, tls["trusted-ca-file"], k)
	}
	for _, k := range []string{"listen-peer-urls", "listen-client-urls", "advertise-client-urls", "initial-cluster"} {
		require.NotContains(t, cfg[k], "http://", "%s is TLS only", k)
	}
}

func TestUnsafeValuesAreRefusedRatherThanRendered(t *testing.T) {
	m := sampleMaster(0, 3)
	m.VolumeID = "vol-1'; rm -rf /"
	_, err := m.Render()
	require.ErrorContains(t, err, `bootstrap: cannot render master: bad VolumeID "vol-1'; rm -rf /"`)
	m = sampleMaster(3, 3)
	_, err = m.Render()
	require.ErrorContains(t, err, "slot 3 of 3")
}

// randomText does not compress, to push user data over the limit.
func randomText(t *testing.T, n int) string {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// The masters' scripts lose only their comment lines in user data: bash
// reads every script, wrapped in a function so that nothing runs, exactly
// as it reads the commented source (declare -f prints what bash parsed,
// without comments), so no string or here-document lost a line.
func TestMasterScriptsLoseOnlyTheirComments(t *testing.T) {
	for _, name := range []string{"kinfra-master-boot.sh", "kinfra-master-lib.sh", "kinfra-etcd-backup.sh", "kinfra-etcd-defrag.sh", "kinfra-cert-renew.sh", "kinfra-master-health.sh", "kinfra-join-token.sh"} {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("assets", name))
			require.NoError(t, err)
			rendered := bootstrap.MasterScript(name)
			require.Less(t, len(rendered), len(src), "comments are dropped")
			require.NotRegexp(t, `(?m)^\s*#[^!]`, strings.ReplaceAll(rendered, "# shellcheck ", ""), "no comment line is left but shellcheck's")
			require.Equal(t, strings.Count(string(src), "# shellcheck "), strings.Count(rendered, "# shellcheck "), "shellcheck's directives stay")
			if strings.HasPrefix(string(src), "#!") {
				require.Equal(t, strings.SplitN(string(src), "\n", 2)[0], strings.SplitN(rendered, "\n", 2)[0], "the shebang stays")
			}
			require.Equal(t, parsedAsBash(t, string(src)), parsedAsBash(t, rendered))
		})
	}
}

// parsedAsBash is bash's own print of a script's code, with nothing run.
func parsedAsBash(t *testing.T, script string) string {
	t.Helper()
	cmd := exec.Command("bash", "--norc", "--noprofile", "-c", `eval "kinfra_script() {
$1
}" && declare -f kinfra_script`, "bash", script)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Greater(t, strings.Count(string(out), "\n"), 20, "%s", out)
	return string(out)
}

func TestToolContentRefusesContentItsNameDoesNotHash(t *testing.T) {
	tools, err := bootstrap.MasterTools(true)
	require.NoError(t, err)
	_, err = bootstrap.ToolContent(tools[0].Parameter, tools[1].Value)
	require.ErrorContains(t, err, "holds content whose hash names "+tools[1].Parameter)
	_, err = bootstrap.ToolContent(tools[0].Parameter, "not base64!")
	require.ErrorContains(t, err, "is not base64")
	_, err = bootstrap.ParseToolsManifest("masters/tools/abc 0755\n")
	require.ErrorContains(t, err, `line 1 "masters/tools/abc 0755"`)
}

// Every master carries the join token script, its unit and its timer, and
// the settings the script reads: the token's parameter, its lifetime in
// seconds, the timer's period and the cluster key.
func TestMastersCarryTheJoinTokenTimerAndItsSettings(t *testing.T) {
	m := sampleMaster(2, 3)
	m.JoinToken.TTLHours = 6
	r, err := m.Render()
	require.NoError(t, err)
	require.Equal(t, "0755", r.Files[bootstrap.JoinTokenScriptPath].Permissions)
	require.Equal(t, bootstrap.MasterScript("kinfra-join-token.sh"), r.Files[bootstrap.JoinTokenScriptPath].Content)
	require.Contains(t, r.Files[bootstrap.JoinTokenUnitPath].Content, "ExecStart="+bootstrap.JoinTokenScriptPath+"\n")
	timer := r.Files[bootstrap.JoinTokenTimerPath].Content
	require.Contains(t, timer, "\nOnUnitActiveSec=600s\n")
	require.Equal(t, 600, bootstrap.JoinTokenCheckSeconds)
	env := r.Files[bootstrap.MasterEnvPath].Content
	for _, line := range []string{
		"JOIN_TOKEN_PARAMETER='join/bootstrap-token'",
		"JOIN_TOKEN_TTL='21600'",
		"JOIN_TOKEN_CHECK='600'",
		"KMS_KEY_ARN='arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'",
	} {
		require.Contains(t, env, "\n"+line+"\n")
	}
}

func TestAMasterWithoutAJoinTokenTTLOrClusterKeyIsNotRendered(t *testing.T) {
	m := sampleMaster(0, 3)
	m.JoinToken = bootstrap.JoinToken{KMSKeyArn: "alias/kinfra/prod-use1"}
	_, err := m.Render()
	require.EqualError(t, err, `bootstrap: cannot render master: bad JoinToken.KMSKeyArn "alias/kinfra/prod-use1", JoinToken.TTLHours 0`)
}
