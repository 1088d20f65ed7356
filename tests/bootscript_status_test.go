package tests

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
)

// The boot's status record and failure metric, and the boot run again after
// a failure (as kinfra-master.service's Restart=on-failure runs it), against
// moto_server; the harness is in bootscript_harness_test.go.

// statusName is the slot's boot status parameter.
func (w *bootWorld) statusName() string {
	return w.env["PARAMETER_PREFIX"] + "/" + bootstrap.MasterStatusRecord(w.slot.Slot)
}

// status reads the slot's boot status from the emulator, decoded strictly
// into the type `kinfra roll` reads it with (the script writes no field the
// type does not know, and every field it knows), and checks what every
// status of this instance says.
func (w *bootWorld) status() bootstrap.MasterStatus {
	t := w.t
	t.Helper()
	value, ok := w.api.parameter(t, w.statusName())
	require.True(t, ok, "the boot wrote its status %s", w.statusName())
	return w.decodeStatus(value)
}

func (w *bootWorld) decodeStatus(value string) bootstrap.MasterStatus {
	t := w.t
	t.Helper()
	var fields map[string]any
	require.NoError(t, json.Unmarshal([]byte(value), &fields), value)
	require.ElementsMatch(t, []string{"cluster", "slot", "instanceId", "state", "attempt", "step", "message", "kubernetesVersion", "time"},
		sortedKeys(fields), "every field of bootstrap.MasterStatus, no other: %s", value)
	var s bootstrap.MasterStatus
	strictRecord(t, fields, &s)
	parsed, err := bootstrap.ParseMasterStatus(value)
	require.NoError(t, err)
	require.Equal(t, s, parsed)
	require.Equal(t, w.env["CLUSTER"], s.Cluster)
	require.Equal(t, w.slot.Slot, s.Slot)
	require.Equal(t, w.self.ID, s.InstanceID)
	require.Equal(t, w.env["KUBERNETES_VERSION"], s.KubernetesVersion)
	require.WithinDuration(t, time.Now(), s.Time, 5*time.Minute)
	require.Equal(t, time.UTC, s.Time.Location())
	return s
}

// statusHistory is every status the boot wrote, oldest first, as
// "state attempt step".
func (w *bootWorld) statusHistory() []string {
	t := w.t
	t.Helper()
	var out []string
	var next string
	for {
		req := map[string]any{"Name": w.statusName(), "MaxResults": 50}
		if next != "" {
			req["NextToken"] = next
		}
		var page struct {
			Parameters []struct{ Value string }
			NextToken  string
		}
		w.api.jsonCall(t, "ssm", "AmazonSSM.GetParameterHistory", req, &page)
		for _, p := range page.Parameters {
			s := w.decodeStatus(p.Value)
			out = append(out, strings.Join([]string{string(s.State), strconv.Itoa(s.Attempt), s.Step}, " "))
		}
		if next = page.NextToken; next == "" {
			return out
		}
	}
}

// bootFailures is the sum of the cluster's boot failure metric.
func (w *bootWorld) bootFailures() float64 {
	w.t.Helper()
	sum, _ := w.api.metricSum(w.t, bootstrap.BootMetricNamespace, bootstrap.BootFailuresMetric,
		map[string]string{bootstrap.BootMetricDimension: w.env["CLUSTER"]})
	return sum
}

// bootSteps are the booting statuses of a successful first attempt of slot
// > 0 in an existing cluster, in order: its first step and those that may
// wait long.
var bootSteps = []string{"identity", "volume", "etcd", "control-plane", "mark-control-plane", "api-server", "upgrade-cluster"}

// A failed boot says so where the roll and an operator look: its status is
// failed, with the step that failed and the last lines of its output, and
// it publishes one boot failure for the alarm. Before, nothing was written
// and nothing published: the master stayed down unseen.
func TestBootScriptAWSFailedBootPublishesItsStepMessageAndAFailureMetric(t *testing.T) {
	t.Parallel()
	w := newBootWorld(t, 1, bootWorldOptions{})
	w.set("members", w.members(0, 1, 2)) // etcd-1 ran: its blank volume is refused
	code, out := w.boot()
	require.Equal(t, 1, code, out)
	fatal := "FATAL: etcd member etcd-1 has run before but volume " + w.volumes[1] + " is blank: its data is lost."

	s := w.status()
	require.Equal(t, bootstrap.MasterFailed, s.State)
	require.Equal(t, "etcd-volume", s.Step, "the step that failed")
	require.Equal(t, 1, s.Attempt)
	require.Contains(t, s.Message, fatal, "the message is the attempt's last lines")
	require.LessOrEqual(t, len(s.Message), bootstrap.MaxStatusMessage)
	require.Equal(t, []string{"booting 1 identity", "booting 1 volume", "failed 1 etcd-volume"}, w.statusHistory())
	require.Equal(t, 1.0, w.bootFailures(), "one failed attempt, one data point for the alarm")
	require.Contains(t, out, "boot attempt 1 failed in step etcd-volume (exit 1)")
}

// A boot that brings its control plane up says ready, once, at the end:
// after the local API server answered /readyz. Its first step and the
// steps that may wait long were published as booting. No failure is
// published.
func TestBootScriptAWSSuccessfulBootPublishesReady(t *testing.T) {
	t.Parallel()
	w := newBootWorld(t, 2, bootWorldOptions{})
	w.set("kube-system", "") // slot 0 created the cluster
	w.set("members", w.members(0))
	code, out := w.boot()
	require.Equal(t, 0, code, out)

	s := w.status()
	require.Equal(t, bootstrap.MasterReady, s.State)
	require.Equal(t, "upgrade-cluster", s.Step)
	require.Equal(t, 1, s.Attempt)
	require.Empty(t, s.Message)
	var want []string
	for _, step := range bootSteps {
		want = append(want, "booting 1 "+step)
	}
	require.Equal(t, append(want, "ready 1 upgrade-cluster"), w.statusHistory())
	require.Zero(t, w.bootFailures())
	// Ready only once the API server on this master answered.
	readyz := w.callsOf("curl")
	require.NotEmpty(t, readyz)
	require.Contains(t, readyz[len(readyz)-1].String(), "https://"+w.env["API_ENDPOINT"]+"/readyz")
	require.Contains(t, readyz[len(readyz)-1].String(), "--connect-to "+w.env["API_ENDPOINT"]+":127.0.0.1:6443")
	w.requireToolsInstalled()
}

// The timers' scripts come from SSM parameters named by their content's
// SHA-256 (the user data only lists them): the boot's first step after its
// identity installs each, checked against its hash. A parameter holding
// anything else fails the boot there, before any volume or record is
// touched, and installs nothing; once it holds the right content, the next
// attempt installs every tool, and a later one finds them in place.
func TestBootScriptAWSInstallsItsToolsCheckedAgainstTheirHashes(t *testing.T) {
	t.Parallel()
	w := newBootWorld(t, 2, bootWorldOptions{})
	w.set("kube-system", "")
	w.set("members", w.members(0))
	names := slices.Sorted(maps.Keys(w.tools))
	require.GreaterOrEqual(t, len(names), 2)
	// The first tool's parameter holds the second's content.
	w.api.jsonCall(t, "ssm", "AmazonSSM.PutParameter", map[string]any{
		"Name": names[0], "Type": "String", "Value": w.tools[names[1]], "Overwrite": true}, nil)
	code, out := w.boot()
	require.Equal(t, 1, code, out)
	require.Contains(t, out, names[0]+" does not hold the content its name hashes")
	s := w.status()
	require.Equal(t, "tools", s.Step)
	require.Equal(t, []string{"booting 1 identity", "failed 1 tools"}, w.statusHistory())
	require.Empty(t, w.callsOf("aws", "--region", w.plan.Region, "ec2"), "no volume is looked at")
	entries, err := bootstrap.ParseToolsManifest(w.files[bootstrap.ToolsManifestPath])
	require.NoError(t, err)
	var tampered string
	for _, e := range entries {
		if w.env["PARAMETER_PREFIX"]+"/"+e.Parameter == names[0] {
			tampered = filepath.Join(w.toolsRoot, e.Path)
		}
	}
	require.NoFileExists(t, tampered, "a tool that fails its hash is not installed")
	require.NoFileExists(t, tampered+".kinfra-tmp")

	w.api.jsonCall(t, "ssm", "AmazonSSM.PutParameter", map[string]any{
		"Name": names[0], "Type": "String", "Value": w.tools[names[0]], "Overwrite": true}, nil)
	code, out = w.boot()
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "installed "+tampered+" from "+names[0])
	w.requireToolsInstalled()

	code, out = w.boot()
	require.Equal(t, 0, code, out)
	require.NotContains(t, out, "installed "+w.toolsRoot, "tools in place with their hash are kept")
	w.requireToolsInstalled()
}

// A master whose API server does not come up fails its boot in the last
// step rather than saying ready.
func TestBootScriptAWSBootFailsWhenTheLocalAPIServerIsNotReady(t *testing.T) {
	t.Parallel()
	w := newBootWorld(t, 2, bootWorldOptions{})
	w.set("kube-system", "")
	w.set("members", w.members(0))
	w.set("apiserver-down", "")
	code, out := w.boot()
	require.Equal(t, 1, code, out)
	s := w.status()
	require.Equal(t, bootstrap.MasterFailed, s.State)
	require.Equal(t, "api-server", s.Step)
	require.Contains(t, s.Message, "the API server on this master is not ready after 10s")
	require.Equal(t, 1.0, w.bootFailures())
}

// The boot run again after it failed late (its control-plane node built,
// the API not yet taking its control-plane label): every step is safe to
// run again. The volume attached here and mounted is kept (no attach,
// format or mount again), the running etcd is not restarted, the etcd
// certificates it runs with are kept, the member's record rewritten, and
// the node is marked a control-plane node this time. Before, the second run
// took the static pod manifests of the first for a finished node and ended
// without marking it.
func TestBootScriptAWSRetryAfterALateFailureFinishesTheNode(t *testing.T) {
	t.Parallel()
	w := newBootWorld(t, 1, bootWorldOptions{})
	w.set("kube-system", "")
	w.set("members", w.members(0))
	w.set("kubeadm-fail", "init phase mark-control-plane")
	code, out := w.boot()
	require.Equal(t, 1, code, out)
	require.Equal(t, bootstrap.MasterFailed, w.status().State)
	require.Equal(t, "mark-control-plane", w.status().Step)
	first := len(w.recorded())
	certs := map[string]string{}
	for _, n := range []string{"server", "peer", "apiserver-etcd-client"} {
		for _, ext := range []string{".crt", ".key"} {
			certs[n+ext] = mustRead(t, filepath.Join(w.etcdPKIDir, n+ext))
		}
	}

	// The cause goes away; systemd starts the boot again.
	require.NoError(t, os.Remove(filepath.Join(w.state, "kubeadm-fail")))
	code, out = w.boot()
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "volume "+w.volumes[1]+" is attached to this instance")
	require.Contains(t, out, w.device+" holds an existing ext4 filesystem; keeping it")
	require.Contains(t, out, "slot 1 is a control-plane node")

	again := w.recorded()[first:]
	var kubeadm []string
	for _, c := range again {
		switch c.Name {
		case "mkfs.ext4", "mount":
			t.Errorf("the second run must not %s: %s", c.Name, c)
		case "aws":
			require.NotContains(t, c.String(), "attach-volume", "attached already")
		case "kubeadm":
			kubeadm = append(kubeadm, strings.Join(c.Args[:3], " "))
		case "systemctl":
			require.NotEqual(t, "restart", c.Args[0], "the running etcd is left alone: %s", c)
			require.NotEqual(t, "stop", c.Args[0], "the running etcd is left alone: %s", c)
		}
	}
	require.Equal(t, []string{"init phase certs", "init phase kubeconfig", "init phase kubelet-start", "init phase control-plane",
		"init phase mark-control-plane", "config images list"}, kubeadm,
		"kubeadm's phases again (each keeps what is done), the mark this time, then upgrade_cluster's look at the cluster (already at its version)")
	for name, content := range certs {
		require.Equal(t, content, mustRead(t, filepath.Join(w.etcdPKIDir, name)), "%s: the running etcd's certificates are kept", name)
	}
	w.requireEtcdPKI()
	w.requireAttachedHere()
	w.requireRecordHere2()

	s := w.status()
	require.Equal(t, bootstrap.MasterReady, s.State)
	require.Equal(t, 2, s.Attempt, "the second attempt of this instance")
	h := w.statusHistory()
	require.Contains(t, h, "failed 1 mark-control-plane")
	require.Equal(t, "ready 2 upgrade-cluster", h[len(h)-1])
	require.Equal(t, 1.0, w.bootFailures(), "one failed attempt")
	var member struct{ Parameter struct{ Value string } }
	w.api.jsonCall(t, "ssm", "AmazonSSM.GetParameter", map[string]any{"Name": w.env["PARAMETER_PREFIX"] + "/" + bootstrap.MemberRecord(1)}, &member)
	require.JSONEq(t, `{"member":"etcd-1","memberId":"8e9e05c52164694d","clusterId":"cdf818194e3a8c32","generation":0}`,
		stripTime(t, member.Parameter.Value))

	// A third run (a reboot of the finished node) builds nothing: kubeadm
	// only lists the images it pins, for upgrade_cluster's look at CoreDNS.
	third := len(w.recorded())
	code, out = w.boot()
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "this instance is already a control-plane node")
	for _, c := range w.recorded()[third:] {
		if c.Name == "kubeadm" {
			require.Equal(t, []string{"config", "images", "list"}, c.Args[:3], c.String())
		}
	}
	require.Equal(t, 3, w.status().Attempt)
}

// Slot 0's kubeadm init cut short after its API server had created the
// cluster in etcd (e.g. it timed out waiting for the control plane): the
// next attempt runs kubeadm init again, past what the first one left (its
// static pod manifests and the ports of the components running from them),
// so that the rest of init (its configuration, RBAC, bootstrap token,
// CoreDNS) is done. Before, the next attempt took the manifests for a
// finished node: init never finished and the cluster lacked what nodes need
// to join.
func TestBootScriptAWSSlot0ResumesAnInitCutShort(t *testing.T) {
	t.Parallel()
	w := newBootWorld(t, 0, bootWorldOptions{})
	w.set("kubeadm-fail", "init --config")
	code, out := w.boot()
	require.Equal(t, 1, code, out)
	require.Equal(t, "kubeadm-init", w.status().Step)
	require.NoFileExists(t, filepath.Join(w.dataMount, "kinfra-cluster-initialized"))
	require.FileExists(t, filepath.Join(w.dataMount, "kinfra-cluster-initializing"), "the init started is marked on the volume")
	_, recorded := w.api.parameter(t, w.env["PARAMETER_PREFIX"]+"/"+bootstrap.ClusterRecord)
	require.False(t, recorded, "no cluster record before init finished")

	require.NoError(t, os.Remove(filepath.Join(w.state, "kubeadm-fail")))
	w.set("kube-system", "") // the first attempt's API server created the cluster
	first := len(w.recorded())
	code, out = w.boot()
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "resuming kubeadm init")
	var kubeadm []string
	for _, c := range w.recorded()[first:] {
		if c.Name == "kubeadm" {
			kubeadm = append(kubeadm, strings.Join(c.Args, " "))
		}
	}
	initPath := w.rendered(bootstrap.KubeadmInitPath)
	require.Len(t, kubeadm, 4, "%q", kubeadm)
	require.True(t, strings.HasPrefix(kubeadm[3], "config images list "), "upgrade_cluster finds the cluster at its version: %s", kubeadm[3])
	require.Equal(t, "init --config "+initPath+" --skip-token-print --ignore-preflight-errors="+
		"FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml,FileAvailable--etc-kubernetes-manifests-kube-controller-manager.yaml,"+
		"FileAvailable--etc-kubernetes-manifests-kube-scheduler.yaml,Port-6443,Port-10257,Port-10259,Port-10250", kubeadm[0])
	require.True(t, strings.HasPrefix(kubeadm[2], "token create "+w.bundle.BootstrapToken+" --ttl 86400s"), kubeadm[2])
	require.FileExists(t, filepath.Join(w.dataMount, "kinfra-cluster-initialized"))
	require.NoFileExists(t, filepath.Join(w.dataMount, "kinfra-cluster-initializing"))
	_, recorded = w.api.parameter(t, w.env["PARAMETER_PREFIX"]+"/"+bootstrap.ClusterRecord)
	require.True(t, recorded, "the cluster is recorded once init finished")
	require.Equal(t, bootstrap.MasterReady, w.status().State)
}

// requireRecordHere2 is requireRecordHere for a world that booted more than
// once: the record points here, however often it was upserted.
func (w *bootWorld) requireRecordHere2() {
	w.t.Helper()
	require.Equal(w.t, []string{w.self.PrivateIP}, w.recordValues())
}

// Writing the status or the metric can fail (no permission, SSM or
// CloudWatch down): the boot goes on, and ends as it would have.
func TestBootScriptAWSStatusThatCannotBeWrittenNeverFailsTheBoot(t *testing.T) {
	t.Parallel()
	w := newBootWorld(t, 2, bootWorldOptions{})
	w.set("kube-system", "")
	w.set("members", w.members(0))
	w.set("status-denied", "")
	code, out := w.boot()
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "slot 2 is a control-plane node")
	require.Contains(t, out, "WARNING: the boot status (ready, step upgrade-cluster) is not published; booting on")
	_, written := w.api.parameter(t, w.statusName())
	require.False(t, written)
	w.requireEtcdStarted()
	w.requireControlPlaneBuilt()

	// A failed boot still fails as itself, metric or not.
	w = newBootWorld(t, 1, bootWorldOptions{})
	w.set("members", w.members(0, 1, 2))
	w.set("status-denied", "")
	code, out = w.boot()
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "FATAL: etcd member etcd-1 has run before")
	require.Contains(t, out, "WARNING: cannot publish "+bootstrap.BootMetricNamespace+" "+bootstrap.BootFailuresMetric)
	require.Zero(t, w.bootFailures())
}
