package tests

import (
	"encoding/base64"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/internal/testtools"
	"github.com/kinfra-dev/kinfra/review/plan"
	"github.com/kinfra-dev/kinfra/spec"
)

// timerElapses is when a systemd timer unit fires next, the given number
// of times, as systemd's own calendar parser (systemd-analyze calendar)
// reads its OnCalendar, in UTC.
func timerElapses(t *testing.T, analyze, timer string, iterations int) []time.Time {
	t.Helper()
	calendar := regexp.MustCompile(`(?m)^OnCalendar=(.+)$`).FindStringSubmatch(timer)
	require.NotNil(t, calendar, timer)
	cmd := exec.Command(analyze, "calendar", "--iterations", strconv.Itoa(iterations), calendar[1])
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "systemd-analyze calendar %q:\n%s", calendar[1], out)
	var elapses []time.Time
	for _, m := range regexp.MustCompile(`(?m)(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC`).FindAllStringSubmatch(string(out), -1) {
		e, err := time.Parse("2006-01-02 15:04:05", m[1])
		require.NoError(t, err)
		elapses = append(elapses, e)
	}
	require.Len(t, elapses, iterations, string(out))
	return elapses
}

// renderedUserData is every launch template's user data (masters and node
// pools) in every committed stack, decoded, by "<stack>/<launch template>".
func renderedUserData(t *testing.T) map[string]plan.UserData {
	out := map[string]plan.UserData{}
	for _, file := range committedStacks(t) {
		sf, err := stackfile.Load(file)
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
			out[sf.Name+"/"+ud.LaunchTemplate] = ud
		}
	}
	require.NotEmpty(t, out)
	return out
}

// writeFiles writes an instance's files under dir, by base name: its user
// data's, then the tools its manifest names (resolved by the plan).
func writeFiles(t *testing.T, u plan.UserData, dir string) map[string]string {
	files, err := u.Files()
	require.NoError(t, err)
	paths := map[string]string{}
	for _, f := range files {
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
func byRole(t *testing.T) (masters, nodes map[string]plan.UserData) {
	masters, nodes = map[string]plan.UserData{}, map[string]plan.UserData{}
	for name, ud := range renderedUserData(t) {
		switch {
		case strings.Contains(ud.CloudConfig, "path: "+bootstrap.KubeadmInitPath):
			masters[name] = ud
		case strings.Contains(ud.CloudConfig, "path: "+bootstrap.NodeJoinTemplatePath):
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
			require.NoError(t, os.WriteFile(path, []byte(ud.CloudConfig), 0o600))
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
			// A master's library, backup, defragmentation, renewal, health
			// and join token scripts too.
			for _, p := range []string{bootstrap.MasterLibPath, bootstrap.BackupScriptPath, bootstrap.DefragScriptPath, bootstrap.RenewScriptPath, bootstrap.HealthScriptPath, bootstrap.JoinTokenScriptPath} {
				if f, ok := files[p]; ok {
					scripts = append(scripts, f)
				}
			}
			args := append([]string{"--shell=bash", "--severity=style"}, scripts...)
			runTool(t, shellcheck, args...)
		})
	}
}

// unitTestMaster is a master slot whose units the systemd tests read.
func unitTestMaster(backupInterval int) bootstrap.Master {
	return bootstrap.Master{
		ClusterName: "c", Region: "us-east-1", Slot: 0, Count: 3, Domain: "c.k8s.internal", APIName: "api.c.k8s.internal",
		KubernetesVersion: "v1.37.2", PodCidr: "10.64.0.0/11", ServiceCidr: "172.20.0.0/16", NodeCidrMaskSize: 24,
		VolumeID: "vol-0123456789abcdef0", HostedZoneID: "Z0123456789ABCDEFGHIJ", ParameterPrefix: "/kinfra/c", EtcdVersion: "3.7.3",
		Backup:                &bootstrap.Backup{Bucket: "c-etcd-123456789012-us-east-1", Prefix: "c/etcd", IntervalMinutes: backupInterval},
		JoinToken:             bootstrap.JoinToken{TTLHours: 24, KMSKeyArn: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
		ServiceAccountIssuer:  "https://c-oidc-123456789012-us-east-1.s3.us-east-1.amazonaws.com",
		ServiceAccountJWKSURI: "https://c-oidc-123456789012-us-east-1.s3.us-east-1.amazonaws.com/openid/v1/jwks",
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
			r, err := unitTestMaster(interval).Render()
			require.NoError(t, err)
			timer := r.Files[bootstrap.BackupTimerPath].Content
			elapses := timerElapses(t, analyze, timer, 4)
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

// Each slot's defragmentation timer fires daily at its own time: systemd's
// own calendar parser reads every slot's rendered OnCalendar, and no two
// of seven slots fire within an hour of each other, nor on the backup
// timer's minutes.
func TestDefragTimersFireDailyAtEachSlotsOwnHourBySystemdsCalendar(t *testing.T) {
	analyze := testtools.Path(t, "systemd-analyze")
	seen := map[int]int{} // minute of the day -> slot
	for slot := range 7 {
		m := unitTestMaster(15)
		m.Slot, m.Count = slot, 7
		r, err := m.Render()
		require.NoError(t, err)
		timer := r.Files[bootstrap.DefragTimerPath].Content
		require.Contains(t, timer, "Persistent=false", "a missed run is not caught up (it would fire beside another slot's)")
		elapses := timerElapses(t, analyze, timer, 3)
		for i, e := range elapses {
			require.NotZero(t, e.Minute()%5, "%s is off the backup timer's minutes", e)
			if i > 0 {
				require.Equal(t, 24*time.Hour, e.Sub(elapses[i-1]), "daily")
			}
		}
		minute := elapses[0].Hour()*60 + elapses[0].Minute()
		for other, s := range seen {
			gap := (minute - other + 24*60) % (24 * 60)
			require.True(t, gap >= 60 && gap <= 23*60, "slots %d and %d fire %d minutes apart", s, slot, gap)
		}
		seen[minute] = slot
	}
}

// A master whose boot failed must not stay down unseen: systemd starts the
// boot again after every failure, forever (no start limit), first after
// 30 s and then at growing intervals up to 10 minutes, as systemd (v254 and
// later: RestartSteps, RestartMaxDelaySec) computes them. systemd-analyze
// verify accepts every rendered unit.
func TestMasterBootUnitRetriesAFailedBootForeverWithGrowingDelays(t *testing.T) {
	r, err := unitTestMaster(15).Render()
	require.NoError(t, err)
	unit := r.Files[bootstrap.BootUnitPath].Content
	u, svc := unitSection(t, unit, "Unit"), unitSection(t, unit, "Service")
	require.Equal(t, "oneshot", svc["Type"])
	require.Equal(t, "yes", svc["RemainAfterExit"], "a finished boot leaves the unit active")
	require.Equal(t, "on-failure", svc["Restart"], "a failed boot is started again (the only restart systemd allows a oneshot besides no)")
	require.Equal(t, "0", u["StartLimitIntervalSec"], "retried forever: no start limit ends the retries")

	var got []string
	for n := 1; n <= 8; n++ {
		got = append(got, systemdRestartDelay(t, svc, n).Truncate(time.Second).String())
	}
	require.Equal(t, []string{"30s", "54s", "1m39s", "3m1s", "5m29s", "10m0s", "10m0s", "10m0s"}, got,
		"30 s, then growing to 10 minutes by the sixth retry, then every 10 minutes")

	verifyUnits(t, r)
}

// unitSection reads one section of a unit file: its keys, each set once.
func unitSection(t *testing.T, unit, section string) map[string]string {
	t.Helper()
	out, in := map[string]string{}, false
	for _, line := range strings.Split(unit, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			in = line == "["+section+"]"
		case in:
			k, v, ok := strings.Cut(line, "=")
			require.True(t, ok, line)
			require.NotContains(t, out, k, "%s is set once", k)
			out[k] = v
		}
	}
	return out
}

// systemdSpan parses the time spans the units use ("30s", "10min").
func systemdSpan(t *testing.T, s string) time.Duration {
	t.Helper()
	m := regexp.MustCompile(`^(\d+)(s|min)$`).FindStringSubmatch(s)
	require.NotNil(t, m, "time span %q", s)
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	if m[2] == "min" {
		return time.Duration(n) * time.Minute
	}
	return time.Duration(n) * time.Second
}

// systemdRestartDelay is the delay before the nth automatic restart as
// systemd's service_restart_usec_next computes it: RestartSec first, then
// growing geometrically over RestartSteps restarts to RestartMaxDelaySec.
func systemdRestartDelay(t *testing.T, svc map[string]string, n int) time.Duration {
	t.Helper()
	first := systemdSpan(t, svc["RestartSec"])
	if svc["RestartSteps"] == "" || svc["RestartMaxDelaySec"] == "" || n <= 1 {
		return first
	}
	steps, err := strconv.Atoi(svc["RestartSteps"])
	require.NoError(t, err)
	last := systemdSpan(t, svc["RestartMaxDelaySec"])
	if n > steps {
		return last
	}
	usec := float64(first.Microseconds()) * math.Pow(float64(last)/float64(first), float64(n-1)/float64(steps))
	return time.Duration(int64(usec)) * time.Microsecond
}

// verifyUnits runs systemd-analyze verify on every rendered unit, in a
// root that holds them, the programs they start and the host's own system
// units (their targets). Any message fails, but for the restart back-off
// keys a systemd older than v254 does not know yet (the image runs v255;
// Debian 12's tools have v252).
func verifyUnits(t *testing.T, r bootstrap.Rendered) {
	t.Helper()
	analyze := testtools.Path(t, "systemd-analyze")
	version, err := exec.Command(analyze, "--version").Output()
	require.NoError(t, err)
	m := regexp.MustCompile(`^systemd (\d+)`).FindSubmatch(version)
	require.NotNil(t, m, "%s", version)
	major, err := strconv.Atoi(string(m[1]))
	require.NoError(t, err)

	root := t.TempDir()
	var system string
	for _, dir := range []string{"/usr/lib/systemd/system", "/lib/systemd/system"} {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			system = dir
			break
		}
	}
	require.NotEmpty(t, system, "the host's system units")
	require.NoError(t, os.CopyFS(filepath.Join(root, "usr/lib/systemd/system"), os.DirFS(system)))
	var units []string
	for path, f := range r.Files {
		p := filepath.Join(root, path)
		mode, err := strconv.ParseUint(f.Permissions, 8, 32)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(f.Content), os.FileMode(mode)))
		if strings.HasPrefix(path, "/etc/systemd/system/") {
			units = append(units, filepath.Base(path))
		}
	}
	// etcd comes with the image.
	etcd := filepath.Join(root, "usr/local/bin/etcd")
	require.NoError(t, os.MkdirAll(filepath.Dir(etcd), 0o755))
	require.NoError(t, os.WriteFile(etcd, []byte("#!/bin/sh\n"), 0o755))
	sort.Strings(units)
	require.Contains(t, units, filepath.Base(bootstrap.BootUnitPath))

	cmd := exec.Command(analyze, append([]string{"verify", "--root=" + root}, units...)...)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_COLOR=0", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "systemd-analyze verify %v:\n%s", units, out)
	unknownBackoff := regexp.MustCompile(`:\d+: Unknown key '(RestartSteps|RestartMaxDelaySec)' in section \[Service\], ignoring\.$`)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" || (major < 254 && unknownBackoff.MatchString(line)) {
			continue
		}
		t.Errorf("systemd %d: systemd-analyze verify says: %s", major, line)
	}
}

// The certificate renewal timers fire once a day, every slot at another
// hour (by systemd's own calendar parser), so that no two masters renew at
// once, and never catch up a missed run.
func TestRenewTimersFireDailyAtAnotherHourForEverySlot(t *testing.T) {
	analyze := testtools.Path(t, "systemd-analyze")
	hours := map[int]int{}
	for slot := range 7 {
		m := unitTestMaster(15)
		m.Slot, m.Count = slot, 7
		r, err := m.Render()
		require.NoError(t, err)
		timer := r.Files[bootstrap.RenewTimerPath].Content
		require.Contains(t, timer, "\nPersistent=false\n")
		elapses := timerElapses(t, analyze, timer, 3)
		for i, e := range elapses {
			if i > 0 {
				require.Equal(t, 24*time.Hour, e.Sub(elapses[i-1]), "slot %d: daily", slot)
			}
		}
		other, taken := hours[elapses[0].Hour()]
		require.False(t, taken, "slot %d renews at %02d:00, as slot %d does", slot, elapses[0].Hour(), other)
		hours[elapses[0].Hour()] = slot
	}
}
