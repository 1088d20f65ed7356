package tests

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/plan"
	"github.com/kinfra-dev/kinfra/internal/testtools"
	"github.com/kinfra-dev/kinfra/spec"
)

// renderedUserData is every launch template's user data (masters and node
// pools) in every committed stack, decoded, by "<stack>/<launch template>".
func renderedUserData(t *testing.T) map[string]string {
	out := map[string]string{}
	for _, file := range committedStacks(t) {
		sf, err := plan.LoadStackFile(file)
		require.NoError(t, err)
		p, err := plan.Run(sf)
		require.NoError(t, err)
		for _, lt := range mockaws.OfType(p.Resources, "aws:ec2/launchTemplate:LaunchTemplate") {
			raw, err := base64.StdEncoding.DecodeString(lt.Inputs["userData"].(string))
			require.NoError(t, err)
			require.LessOrEqual(t, len(raw), bootstrap.UserDataLimit, "%s: EC2 limits user data to 16 KiB", lt.Name)
		}
		uds, err := p.UserData()
		require.NoError(t, err)
		for _, ud := range uds {
			out[sf.Name+"/"+ud.LaunchTemplate] = ud.CloudConfig
		}
	}
	require.NotEmpty(t, out)
	return out
}

// writeFiles writes a cloud-config's write_files under dir, by base name.
func writeFiles(t *testing.T, userData, dir string) map[string]string {
	var doc struct {
		WriteFiles []bootstrap.File `yaml:"write_files"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(userData), &doc))
	paths := map[string]string{}
	for _, f := range doc.WriteFiles {
		p := filepath.Join(dir, filepath.Base(f.Path))
		require.NoError(t, os.WriteFile(p, []byte(f.Content), 0o600))
		paths[f.Path] = p
	}
	return paths
}

func runTool(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", filepath.Base(name), strings.Join(args, " "), out)
}

// byRole splits rendered user data into masters' and nodes'.
func byRole(t *testing.T) (masters, nodes map[string]string) {
	masters, nodes = map[string]string{}, map[string]string{}
	for name, ud := range renderedUserData(t) {
		switch {
		case strings.Contains(ud, "path: "+bootstrap.KubeadmInitPath):
			masters[name] = ud
		case strings.Contains(ud, "path: "+bootstrap.NodeJoinTemplatePath):
			nodes[name] = ud
		default:
			t.Fatalf("%s: user data is neither a master's nor a node's", name)
		}
	}
	require.NotEmpty(t, masters)
	require.NotEmpty(t, nodes)
	return masters, nodes
}

func TestEveryRenderedKubeadmConfigPassesKubeadmValidate(t *testing.T) {
	kubeadm := testtools.Path(t, "kubeadm")
	masters, _ := byRole(t)
	for name, ud := range masters {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			files := writeFiles(t, ud, dir)
			require.Contains(t, files, bootstrap.KubeadmInitPath)
			runTool(t, kubeadm, "config", "validate", "--config", files[bootstrap.KubeadmInitPath])
		})
	}
}

// Every node pool's JoinConfiguration, completed by the real boot script as
// at boot (token and node name filled in), passes kubeadm's validation.
func TestEveryNodeJoinConfigurationPassesKubeadmValidate(t *testing.T) {
	kubeadm := testtools.Path(t, "kubeadm")
	_, nodes := byRole(t)
	for name, ud := range nodes {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			files := writeFiles(t, ud, dir)
			join := renderJoin(t, files, "abcdef.0123456789abcdef", "ip-10-40-1-2.ec2.internal")
			require.NotContains(t, join, bootstrap.TokenPlaceholder)
			require.Contains(t, join, "name: 'ip-10-40-1-2.ec2.internal'")
			path := filepath.Join(dir, "join.yaml")
			require.NoError(t, os.WriteFile(path, []byte(join), 0o600))
			runTool(t, kubeadm, "config", "validate", "--config", path)
		})
	}
}

// The boot script refuses to fill in a token that is not a kubeadm token, so
// a corrupted SSM value cannot turn into YAML.
func TestNodeBootScriptRefusesAMalformedToken(t *testing.T) {
	_, nodes := byRole(t)
	for _, ud := range nodes {
		files := writeFiles(t, ud, t.TempDir())
		cmd := joinCommand(files, "abcdef.0123456789abcdef'\nkind: Evil", "ip-10-40-1-2.ec2.internal")
		out, err := cmd.CombinedOutput()
		require.Error(t, err)
		require.Contains(t, string(out), "is not a kubeadm token")
		return
	}
}

func joinCommand(files map[string]string, token, name string) *exec.Cmd {
	cmd := exec.Command("bash", files[bootstrap.NodeBootPath], "render-join", token, name)
	cmd.Env = append(os.Environ(), "KINFRA_ENV="+files[bootstrap.NodeEnvPath], "JOIN_TEMPLATE="+files[bootstrap.NodeJoinTemplatePath])
	return cmd
}

func renderJoin(t *testing.T, files map[string]string, token, name string) string {
	t.Helper()
	var stderr strings.Builder
	cmd := joinCommand(files, token, name)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	return string(out)
}

// Every node pool's kubelet patch decodes strictly into the kubelet's own
// KubeletConfiguration and passes the kubelet's validation.
func TestEveryKubeletConfigurationIsAcceptedByTheKubelet(t *testing.T) {
	check := testtools.Path(t, "k8s-check")
	_, nodes := byRole(t)
	var paths []string
	for name, ud := range nodes {
		dir := filepath.Join(t.TempDir(), strings.ReplaceAll(name, "/", "_"))
		require.NoError(t, os.MkdirAll(dir, 0o700))
		files := writeFiles(t, ud, dir)
		require.Contains(t, files, bootstrap.KubeletPatchPath)
		paths = append(paths, files[bootstrap.KubeletPatchPath])
	}
	runTool(t, check, append([]string{"kubelet-config"}, paths...)...)
}

func TestEveryRenderedUserDataPassesCloudInitSchema(t *testing.T) {
	cloudInit := testtools.Path(t, "cloud-init")
	for name, ud := range renderedUserData(t) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "user-data")
			require.NoError(t, os.WriteFile(path, []byte(ud), 0o600))
			runTool(t, cloudInit, "schema", "--config-file", path)
		})
	}
}

func TestEveryRenderedScriptPassesShellcheck(t *testing.T) {
	shellcheck := testtools.Path(t, "shellcheck")
	for name, ud := range renderedUserData(t) {
		t.Run(name, func(t *testing.T) {
			files := writeFiles(t, ud, t.TempDir())
			script, ok := files[bootstrap.BootScriptPath]
			if !ok {
				script, ok = files[bootstrap.NodeBootPath]
			}
			require.True(t, ok, "user data carries a boot script")
			scripts := []string{script}
			// A master's library and backup script too.
			for _, p := range []string{bootstrap.MasterLibPath, bootstrap.BackupScriptPath} {
				if f, ok := files[p]; ok {
					scripts = append(scripts, f)
				}
			}
			args := append([]string{"--shell=bash", "--severity=style"}, scripts...)
			runTool(t, shellcheck, args...)
		})
	}
}

// The backup timer fires every interval at the same wall-clock minutes on
// every master: systemd's own calendar parser reads the rendered
// OnCalendar, and its next elapses are one interval apart, on the minutes
// that divide the hour.
func TestBackupTimerFiresEveryIntervalBySystemdsCalendar(t *testing.T) {
	analyze := testtools.Path(t, "systemd-analyze")
	for _, interval := range spec.BackupIntervals {
		t.Run(fmt.Sprint(interval), func(t *testing.T) {
			m := bootstrap.Master{
				ClusterName: "c", Region: "us-east-1", Slot: 0, Count: 3, Domain: "c.k8s.internal", APIName: "api.c.k8s.internal",
				KubernetesVersion: "v1.37.2", PodCidr: "10.64.0.0/11", ServiceCidr: "172.20.0.0/16", NodeCidrMaskSize: 24,
				VolumeID: "vol-0123456789abcdef0", HostedZoneID: "Z0123456789ABCDEFGHIJ", ParameterPrefix: "/kinfra/c", EtcdVersion: "3.7.3",
				Backup: &bootstrap.Backup{Bucket: "c-etcd-123456789012-us-east-1", Prefix: "c/etcd", IntervalMinutes: interval},
			}
			r, err := m.Render()
			require.NoError(t, err)
			timer := r.Files[bootstrap.BackupTimerPath].Content
			calendar := regexp.MustCompile(`(?m)^OnCalendar=(.+)$`).FindStringSubmatch(timer)
			require.NotNil(t, calendar, timer)
			cmd := exec.Command(analyze, "calendar", "--iterations", "4", calendar[1])
			cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "systemd-analyze calendar %q:\n%s", calendar[1], out)
			var elapses []time.Time
			for _, m := range regexp.MustCompile(`(?m)(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC`).FindAllStringSubmatch(string(out), -1) {
				e, err := time.Parse("2006-01-02 15:04:05", m[1])
				require.NoError(t, err)
				elapses = append(elapses, e)
			}
			require.Len(t, elapses, 4, string(out))
			for i, e := range elapses {
				require.Zero(t, e.Second())
				require.Zero(t, e.Minute()%interval, "%s is on a multiple of %d minutes", e, interval)
				if i > 0 {
					require.Equal(t, time.Duration(interval)*time.Minute, e.Sub(elapses[i-1]))
				}
			}
		})
	}
}
