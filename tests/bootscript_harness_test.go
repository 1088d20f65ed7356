package tests

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/testtools"
	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/review/plan"
)

// The master boot script's AWS steps, run for real: the script and master.env
// exactly as a committed stack renders them for a slot, the real AWS CLI,
// openssl, bash and coreutils, against moto_server (an AWS API emulator)
// holding what the program would have created. The host commands the script
// drives (blkid, mkfs.ext4, mount, mountpoint, systemctl, etcdctl, kubeadm,
// kubectl, curl) are recorders on PATH. docs/real-binaries-boot.md says what this
// covers and what it does not.

// bootStack is the committed stack whose slots the boot tests run.
const bootStack = "us-east-1"

// bootSlotPlan is what a stack's plan declares for one master slot.
type bootSlotPlan struct {
	Slot     int
	UserData string
	Volume   motoVolumeSpec
	Record   motoRecordSet
}

// bootPlan is what the boot tests need from a stack's plan.
type bootPlan struct {
	Region         string
	Slots          []bootSlotPlan
	ZoneName       string
	ZoneComment    string
	KMSDescription string
	Parameters     []motoParameter // values not set: the plan masks them
}

var (
	bootPlanOnce sync.Once
	bootPlanVal  bootPlan
	bootPlanErr  error
)

// bootMasterPlan plans the committed stack once per test binary.
func bootMasterPlan(t *testing.T) bootPlan {
	t.Helper()
	bootPlanOnce.Do(func() { bootPlanVal, bootPlanErr = loadBootPlan(bootStack) })
	require.NoError(t, bootPlanErr)
	return bootPlanVal
}

func loadBootPlan(stack string) (bootPlan, error) {
	sf, err := stackfile.Load(filepath.Join("..", "stacks", "Pulumi."+stack+".yaml"))
	if err != nil {
		return bootPlan{}, err
	}
	p, err := plan.Run(sf)
	if err != nil {
		return bootPlan{}, err
	}
	uds, err := p.UserData()
	if err != nil {
		return bootPlan{}, err
	}
	userData := map[string]string{}
	for _, u := range uds {
		userData[u.LaunchTemplate] = u.CloudConfig
	}
	mp := bootPlan{Region: p.Config.Region}
	zones := mockaws.OfType(p.Resources, "aws:route53/zone:Zone")
	keys := mockaws.OfType(p.Resources, "aws:kms/key:Key")
	if len(zones) != 1 || len(keys) != 1 {
		return mp, fmt.Errorf("%s: want one private zone and one KMS key, got %d and %d", stack, len(zones), len(keys))
	}
	mp.ZoneName, _ = zones[0].Inputs["name"].(string)
	mp.ZoneComment, _ = zones[0].Inputs["comment"].(string)
	mp.KMSDescription, _ = keys[0].Inputs["description"].(string)
	prefix := strings.TrimSuffix(zones[0].Name, "-zone")
	for _, r := range mockaws.OfType(p.Resources, "aws:ssm/parameter:Parameter") {
		s := func(k string) string { v, _ := r.Inputs[k].(string); return v }
		// Plain values (the masters' tools) are in the plan; secrets not.
		mp.Parameters = append(mp.Parameters, motoParameter{Name: s("name"), Type: s("type"), Tier: s("tier"), Description: s("description"), Value: s("insecureValue")})
	}
	byName := map[string]mockaws.Resource{}
	for _, r := range p.Resources {
		byName[r.Type+"::"+r.Name] = r
	}
	for i := 0; ; i++ {
		vol, ok := byName[fmt.Sprintf("aws:ebs/volume:Volume::%s-etcd-%d", prefix, i)]
		if !ok {
			break
		}
		rec, ok := byName[fmt.Sprintf("aws:route53/record:Record::%s-master-%d-dns", prefix, i)]
		ud, okUD := userData[fmt.Sprintf("%s-master-%d", prefix, i)]
		if !ok || !okUD {
			return mp, fmt.Errorf("%s: slot %d has a volume but no record or launch template", stack, i)
		}
		tags := map[string]string{}
		if m, ok := vol.Inputs["tags"].(map[string]any); ok {
			for k, v := range m {
				tags[k], _ = v.(string)
			}
		}
		str := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
		enc, _ := vol.Inputs["encrypted"].(bool)
		var values []string
		if rs, ok := rec.Inputs["records"].([]any); ok {
			for _, v := range rs {
				s, _ := v.(string)
				values = append(values, s)
			}
		}
		mp.Slots = append(mp.Slots, bootSlotPlan{
			Slot:     i,
			UserData: ud,
			Volume: motoVolumeSpec{
				Zone: str(vol.Inputs, "availabilityZone"), Type: str(vol.Inputs, "type"),
				Size: bootNum(vol.Inputs["size"]), Iops: bootNum(vol.Inputs["iops"]), Thru: bootNum(vol.Inputs["throughput"]),
				Encrypted: enc, Tags: tags,
			},
			Record: motoRecordSet{Name: str(rec.Inputs, "name"), Type: str(rec.Inputs, "type"), TTL: bootNum(rec.Inputs["ttl"]), Values: values},
		})
	}
	if len(mp.Slots) < 2 {
		return mp, fmt.Errorf("%s: the boot tests need at least two master slots, the plan has %d", stack, len(mp.Slots))
	}
	return mp, nil
}

func bootNum(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int:
		return n
	}
	return 0
}

// bootWorld is one scenario: its own moto_server with the cluster's AWS
// resources, the slot's rendered files in a temp dir, recorders on PATH.
type bootWorld struct {
	t     *testing.T
	api   *motoAPI
	plan  bootPlan
	slot  bootSlotPlan
	files map[string]string // rendered path -> content
	// Rendered values read from the slot's master.env and boot script.
	env        map[string]string
	deviceName string
	// AWS IDs created in the emulator.
	volumes map[int]string // slot -> volume ID
	zoneID  string
	keyArn  string
	self    motoInstance
	pred    motoInstance // the predecessor, with bootWorldOptions.predecessor
	// The PKI in SSM, by full parameter name.
	bundle *pki.Bundle
	params map[string]string
	// The tools' parameters in SSM (gzip, base64), by full name; the boot
	// installs them under toolsRoot.
	tools     map[string]string
	toolsRoot string
	// Paths of this run.
	dir, kinfraDir, envFile, script, lib, binDir, state, calls string
	dataMount, pkiDir, etcdPKIDir, kubeconfigDir, encryption   string
	device, openssl                                            string
}

// bootWorldOptions shape the AWS side before the script runs.
type bootWorldOptions struct {
	// predecessor: an earlier instance of the slot still holds the volume;
	// it has failed (stopped) and pointed the slot's record at itself when
	// it booted. Otherwise the record holds the program's placeholder.
	predecessor bool
}

// newBootWorld starts moto_server and creates in it what `pulumi up` would
// have created for the stack: the KMS key and the PKI parameters, every
// slot's etcd volume in its zone, the private zone with every slot's
// record; and this instance, in the slot's zone.
func newBootWorld(t *testing.T, slotIndex int, opts bootWorldOptions) *bootWorld {
	t.Helper()
	realAWS := testtools.Path(t, "aws")
	openssl := testtools.Path(t, "openssl")
	moto := testtools.StartMoto(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("moto_server log (last lines):\n%s", testtools.Tail(moto.Log, 40))
		}
	})
	mp := bootMasterPlan(t)
	require.Less(t, slotIndex, len(mp.Slots))
	w := &bootWorld{t: t, plan: mp, slot: mp.Slots[slotIndex], api: newMotoAPI(moto.Endpoint, mp.Region)}

	// The rendered files, exactly as user data writes them.
	w.dir = t.TempDir()
	w.kinfraDir = filepath.Join(w.dir, "etc-kinfra")
	require.NoError(t, os.MkdirAll(w.kinfraDir, 0o755))
	// Only the user data: the boot installs the tools from SSM.
	paths := writeFiles(t, plan.UserData{CloudConfig: w.slot.UserData}, w.kinfraDir)
	w.files = map[string]string{}
	for rendered, localPath := range paths {
		w.files[rendered] = mustRead(t, localPath)
	}
	w.script = paths[bootstrap.BootScriptPath]
	w.lib = paths[bootstrap.MasterLibPath]
	require.NotEmpty(t, w.lib, "slot %d's user data carries the scripts' library", slotIndex)
	require.NotEmpty(t, w.script, "slot %d's user data carries the boot script", slotIndex)
	w.env = bootEnvValues(t, w.files[bootstrap.MasterEnvPath])
	require.Equal(t, strconv.Itoa(slotIndex), w.env["SLOT"])
	require.Equal(t, mp.Region, w.env["REGION"])
	m := regexp.MustCompile(`(?m)^DEVICE_NAME=\$\{DEVICE_NAME:-(\S+)\}$`).FindStringSubmatch(w.files[bootstrap.BootScriptPath])
	require.NotNil(t, m, "the boot script's default device name")
	w.deviceName = m[1]

	// The PKI, as the program lays it out in SSM (components/masters).
	var err error
	w.bundle, err = pki.Generate(w.env["CLUSTER"])
	require.NoError(t, err)
	values := map[string]string{}
	for _, p := range masters.Parameters(w.bundle) {
		values[p.Path()] = p.Value
	}
	prefix := w.env["PARAMETER_PREFIX"] + "/"
	w.keyArn = w.api.createKey(t, mp.KMSDescription)
	w.params = map[string]string{}
	w.tools = map[string]string{}
	for _, p := range mp.Parameters {
		require.True(t, strings.HasPrefix(p.Name, prefix), "parameter %s is under the rendered PARAMETER_PREFIX %s", p.Name, prefix)
		if strings.HasPrefix(p.Name, prefix+bootstrap.ToolsGroup+"/") {
			// A tool, as the program stores it: plain, its value planned.
			require.Equal(t, "String", p.Type, p.Name)
			require.NotEmpty(t, p.Value, p.Name)
			w.api.putParameter(t, p, "")
			w.tools[p.Name] = p.Value
			continue
		}
		v, ok := values[strings.TrimPrefix(p.Name, prefix)]
		require.True(t, ok, "the plan has parameter %s, which this test does not know how to fill", p.Name)
		require.Equal(t, "SecureString", p.Type, p.Name)
		p.Value = v
		w.api.putParameter(t, p, w.keyArn)
		w.params[p.Name] = v
	}
	require.Len(t, w.params, len(values), "the plan creates every parameter the masters and nodes read")

	// Every slot's volume, so that attaching the wrong one shows.
	w.volumes = map[int]string{}
	for _, s := range mp.Slots {
		w.volumes[s.Slot] = w.api.createVolume(t, s.Volume)
	}
	require.Equal(t, w.slot.Record.Name, w.env["ETCD_RECORD"])
	if opts.predecessor {
		w.pred = w.api.runInstance(t, w.slot.Volume.Zone, w.instanceTags())
		w.api.attachVolume(t, w.volumes[slotIndex], w.pred.ID, w.deviceName)
		w.api.instanceAction(t, "StopInstances", w.pred.ID)
	}
	vpc := w.api.defaultVPC(t)
	w.zoneID = w.api.createPrivateZone(t, mp.ZoneName, mp.ZoneComment, vpc)
	for _, s := range mp.Slots {
		vals := s.Record.Values
		if s.Slot == slotIndex && opts.predecessor {
			vals = []string{w.pred.PrivateIP}
		}
		w.api.createRecord(t, w.zoneID, s.Record.Name, s.Record.Type, s.Record.TTL, vals)
	}
	w.self = w.api.runInstance(t, w.slot.Volume.Zone, w.instanceTags())

	// Where this run's host state goes, instead of /etc and /var.
	w.dataMount = filepath.Join(w.dir, "var-lib-etcd")
	w.pkiDir = filepath.Join(w.dir, "etc-kubernetes", "pki")
	w.etcdPKIDir = filepath.Join(w.kinfraDir, "etcd-pki")
	w.kubeconfigDir = filepath.Join(w.dir, "etc-kubernetes")
	w.encryption = filepath.Join(w.dir, "etc-kubernetes", "encryption", "config.yaml")
	w.device = "/dev/kinfra-test-no-such-device"
	w.toolsRoot = filepath.Join(w.dir, "tools-root")
	// master.env with only the AWS IDs and the host paths changed.
	w.envFile = filepath.Join(w.dir, "master.env")
	require.NoError(t, os.WriteFile(w.envFile, []byte(bootOverrideEnv(t, w.files[bootstrap.MasterEnvPath], map[string]string{
		"VOLUME_ID":         w.volumes[slotIndex],
		"HOSTED_ZONE_ID":    w.zoneID,
		"DATA_MOUNT":        w.dataMount,
		"ETCD_PKI_DIR":      w.etcdPKIDir,
		"ENCRYPTION_CONFIG": w.encryption,
	})), 0o644))

	w.state = filepath.Join(w.dir, "recorder-state")
	w.calls = filepath.Join(w.dir, "calls.log")
	w.binDir = filepath.Join(w.dir, "bin")
	require.NoError(t, os.MkdirAll(w.state, 0o755))
	// The cluster's kubeadm configuration is at this master's version and
	// CoreDNS runs the image its kubeadm installs, unless a test says not.
	w.set("cluster-version", w.env["KUBERNETES_VERSION"]+"\n")
	w.set("coredns-pinned", bootCoreDNSImage+"\n")
	w.set("coredns-image", bootCoreDNSImage+"\n")
	writeBootRecorders(t, w.binDir, realAWS)
	// The script's openssl is the one the test found (and verifies with).
	w.openssl = filepath.Join(w.binDir, "openssl")
	require.NoError(t, os.Symlink(openssl, w.openssl))
	return w
}

func (w *bootWorld) instanceTags() map[string]string {
	return map[string]string{
		"Name":                   fmt.Sprintf("%s-masters-master-%d", w.env["CLUSTER"], w.slot.Slot),
		"kinfra.dev/cluster":     w.env["CLUSTER"],
		"kinfra.dev/master-slot": strconv.Itoa(w.slot.Slot),
	}
}

// set writes a file of the recorders' state (how the fake host answers).
func (w *bootWorld) set(name, content string) {
	w.t.Helper()
	require.NoError(w.t, os.WriteFile(filepath.Join(w.state, name), []byte(content), 0o644))
}

// members is `etcdctl member list -w simple` as etcd prints it: id,
// status, name, peer URLs, client URLs, is learner. ran lists the slots
// whose member has started (published its client URLs).
func (w *bootWorld) members(ran ...int) string {
	var b strings.Builder
	for _, s := range w.plan.Slots {
		name := tags.EtcdMember(s.Slot)
		client := ""
		for _, r := range ran {
			if r == s.Slot {
				client = fmt.Sprintf("https://%s:%d", s.Record.Name, bootstrap.EtcdClientPort)
			}
		}
		fmt.Fprintf(&b, "%016x, started, %s, https://%s:%d, %s, false\n", uint64(0x8e9e05c52164694d)+uint64(s.Slot), name, s.Record.Name, bootstrap.EtcdPeerPort, client)
	}
	return b.String()
}

// environ is the script's environment: nothing of the caller's AWS or
// kinfra settings, the AWS CLI pointed at the emulator with dummy
// credentials and no config file, a proxy that refuses anything not for the
// emulator, the identity the instance metadata would give, the host paths
// in the temp dir and short waits.
func (w *bootWorld) environ() []string {
	home := filepath.Join(w.dir, "home")
	_ = os.MkdirAll(home, 0o700)
	for _, f := range []string{"aws-config", "aws-credentials"} {
		_ = os.WriteFile(filepath.Join(w.dir, f), nil, 0o600)
	}
	env := []string{
		"PATH=" + w.binDir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + home,
		"LANG=C.UTF-8",
		"AWS_ENDPOINT_URL=" + w.api.endpoint,
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_DEFAULT_REGION=" + w.plan.Region,
		"AWS_CONFIG_FILE=" + filepath.Join(w.dir, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(w.dir, "aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9",
		"http_proxy=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9",
		"NO_PROXY=127.0.0.1", "no_proxy=127.0.0.1",
		"KINFRA_DIR=" + w.kinfraDir,
		"KINFRA_ENV=" + w.envFile,
		"KINFRA_LIB=" + w.lib,
		"TOOLS_ROOT=" + w.toolsRoot,
		"INSTANCE_ID=" + w.self.ID,
		"PRIVATE_IP=" + w.self.PrivateIP,
		"PKI_DIR=" + w.pkiDir,
		"KUBECONFIG_DIR=" + w.kubeconfigDir,
		"VOLUME_DEVICE=" + w.device,
		"POLL=1",
		"ATTACH_TIMEOUT=120",
		"ETCD_TIMEOUT=10",
		"JOIN_TIMEOUT=10",
		"API_TIMEOUT=10",
		"BOOT_RUN_DIR=" + filepath.Join(w.dir, "run-kinfra"),
		"KINFRA_TEST_CALLS=" + w.calls,
		"KINFRA_TEST_STATE=" + w.state,
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PYENV_") || strings.HasPrefix(kv, "TMPDIR=") {
			env = append(env, kv)
		}
	}
	return env
}

// bootRun is the boot script running.
type bootRun struct {
	w    *bootWorld
	mu   sync.Mutex
	log  strings.Builder
	done chan struct{}
	err  error
}

// start runs the rendered boot script with bash, in its own process group
// (killed with everything it started when the test ends).
func (w *bootWorld) start() *bootRun {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	cmd := exec.CommandContext(ctx, "bash", w.script)
	cmd.Dir = w.dir
	cmd.Env = w.environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	r := &bootRun{w: w, done: make(chan struct{})}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	require.NoError(w.t, cmd.Start())
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			r.mu.Lock()
			r.log.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		r.err = cmd.Wait()
		_ = pw.Close()
		<-read
		close(r.done)
	}()
	w.t.Cleanup(func() {
		cancel()
		<-r.done
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if w.t.Failed() || os.Getenv("KINFRA_TEST_SHOW_BOOT") == "1" {
			calls, _ := os.ReadFile(w.calls)
			w.t.Logf("boot script output:\n%s\nrecorded calls:\n%s", r.output(), calls)
		}
	})
	return r
}

func (r *bootRun) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

// wait waits for the script to end and returns its exit code.
func (r *bootRun) wait() int {
	r.w.t.Helper()
	<-r.done
	if r.err == nil {
		return 0
	}
	if ee, ok := r.err.(*exec.ExitError); ok && ee.ExitCode() >= 0 {
		return ee.ExitCode()
	}
	r.w.t.Fatalf("boot script did not finish: %v\n%s", r.err, r.output())
	return -1
}

// waitForLog waits until the script has logged line at least n times; it
// fails the test if the script ends first (or after a generous deadline).
func (r *bootRun) waitForLog(substr string, n int) {
	r.w.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for strings.Count(r.output(), substr) < n {
		select {
		case <-r.done:
			r.w.t.Fatalf("boot script ended before logging %q %d times:\n%s", substr, n, r.output())
		default:
		}
		if time.Now().After(deadline) {
			r.w.t.Fatalf("boot script did not log %q %d times:\n%s", substr, n, r.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// boot runs the script to its end and returns its exit code and output.
func (w *bootWorld) boot() (int, string) {
	w.t.Helper()
	r := w.start()
	code := r.wait()
	return code, r.output()
}

// call is one command the script ran that a recorder stood in for (or, for
// aws, logged before running the real CLI).
type bootCall struct {
	Name string
	Args []string
}

func (c bootCall) String() string { return c.Name + " " + strings.Join(c.Args, " ") }

// has reports whether the call's arguments start with prefix.
func (c bootCall) has(name string, prefix ...string) bool {
	if c.Name != name || len(c.Args) < len(prefix) {
		return false
	}
	for i, p := range prefix {
		if c.Args[i] != p {
			return false
		}
	}
	return true
}

// recorded is every call the recorders logged, in order.
func (w *bootWorld) recorded() []bootCall {
	w.t.Helper()
	b, err := os.ReadFile(w.calls)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(w.t, err)
	var out []bootCall
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		out = append(out, bootCall{Name: f[0], Args: f[1:]})
	}
	return out
}

// callsOf is the recorded calls of one command whose arguments start with
// prefix.
func (w *bootWorld) callsOf(name string, prefix ...string) []bootCall {
	var out []bootCall
	for _, c := range w.recorded() {
		if c.has(name, prefix...) {
			out = append(out, c)
		}
	}
	return out
}

// index is the position of the first recorded call matching, or -1.
func (w *bootWorld) index(name string, prefix ...string) int {
	for i, c := range w.recorded() {
		if c.has(name, prefix...) {
			return i
		}
	}
	return -1
}

// awsSubcommands lists "service operation" for every aws call but the
// writes of the boot's status record (bootscript_status_test.go has those).
func (w *bootWorld) awsSubcommands() []string {
	var out []string
	for _, c := range w.callsOf("aws") {
		if strings.Contains(c.String(), " ssm put-parameter --name "+w.statusName()+" ") ||
			strings.Contains(c.String(), " --name "+w.env["PARAMETER_PREFIX"]+"/"+bootstrap.ToolsGroup+"/") {
			continue // its status, and its tools (requireToolsInstalled)
		}
		var words []string
		for i := 0; i < len(c.Args) && len(words) < 2; i++ {
			if c.Args[i] == "--region" {
				i++
				continue
			}
			words = append(words, c.Args[i])
		}
		out = append(out, strings.Join(words, " "))
	}
	return out
}

func bootEnvValues(t *testing.T, body string) map[string]string {
	t.Helper()
	out := map[string]string{}
	re := regexp.MustCompile(`^([A-Z_]+)='([^']*)'$`)
	for _, line := range strings.Split(body, "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			out[m[1]] = m[2]
		}
	}
	require.NotEmpty(t, out)
	return out
}

// overrideEnv changes the given settings of a rendered master.env, each of
// which must be there exactly once, and leaves every other line as it is.
func bootOverrideEnv(t *testing.T, body string, values map[string]string) string {
	t.Helper()
	seen := map[string]int{}
	lines := strings.Split(body, "\n")
	for i, line := range lines {
		k, _, ok := strings.Cut(line, "=")
		if v, want := values[k]; ok && want {
			require.Regexp(t, `^[A-Za-z0-9._:/@ -]*$`, v, "a value master.env can hold")
			lines[i] = k + "='" + v + "'"
			seen[k]++
		}
	}
	for k := range values {
		require.Equal(t, 1, seen[k], "master.env sets %s once", k)
	}
	return strings.Join(lines, "\n")
}

// recorders are the host commands the boot script calls, replaced by
// scripts that log their arguments (tab-separated, one call a line) and
// answer as the fake host's state in $KINFRA_TEST_STATE says.
var bootRecorders = map[string]string{
	// The real AWS CLI, logged first. While $state/describe-failures holds
	// a count, describe-volumes fails as a throttled call does. With
	// $state/status-denied, writing a boot status or its metric is denied.
	"aws": `if [ -e "$state/status-denied" ] && { [ "$*" != "${*/\/masters\/master-/}" ] || [ "$*" != "${*/put-metric-data/}" ]; }; then
	echo "An error occurred (AccessDeniedException) when calling the operation: not authorized" >&2
	exit 254
fi
if [ "$*" != "${*/describe-volumes/}" ] && [ -s "$state/describe-failures" ]; then
	n=$(cat "$state/describe-failures")
	if [ "$n" -gt 0 ]; then
		echo $((n - 1)) >"$state/describe-failures"
		echo "An error occurred (RequestLimitExceeded) when calling the DescribeVolumes operation: Request limit exceeded." >&2
		exit 255
	fi
fi
exec "$KINFRA_TEST_REAL_AWS" "$@"`,
	// No filesystem signature (exit 2) until mkfs.ext4 ran or the test put
	// one there.
	"blkid": `if [ -s "$state/fstype" ]; then cat "$state/fstype"; exit 0; fi
exit 2`,
	"mkfs.ext4": `echo ext4 >"$state/fstype"
echo x >>"$state/formatted"`,
	"mount":      `printf '%s\n' "${*: -1}" >"$state/mounted"`,
	"mountpoint": `[ -f "$state/mounted" ] && [ "$(cat "$state/mounted")" = "${*: -1}" ]`,
	"systemctl": `if [ "$*" = "start --no-block etcd.service" ]; then touch "$state/etcd-started"; fi
exit 0`,
	// etcdctl: the TLS files must exist, as for the real one. member list
	// answers $state/members (else the peers are unreachable); endpoint
	// health is healthy once etcd was started; get answers whether the
	// cluster exists ($state/kube-system).
	"etcdctl": `endpoint= words=()
while [ $# -gt 0 ]; do
	case "$1" in
	--endpoints) endpoint=$2; shift 2 ;;
	--cacert | --cert | --key)
		[ -s "$2" ] || { echo "open $2: no such file or directory" >&2; exit 1; }
		shift 2 ;;
	--dial-timeout | --command-timeout | -w) shift 2 ;;
	--consistency=*) shift ;;
	*) words+=("$1"); shift ;;
	esac
done
case "${words[*]}" in
"member list")
	if [ -f "$state/members" ]; then cat "$state/members"; exit 0; fi
	echo "{\"level\":\"warn\",\"msg\":\"retrying of unary invoker failed\",\"target\":\"$endpoint\",\"error\":\"context deadline exceeded\"}" >&2
	exit 1 ;;
"endpoint status")
	[ -f "$state/etcd-started" ] || { echo "$endpoint is unhealthy" >&2; exit 1; }
	printf '"ClusterID" : %s\n"MemberID" : %s\n"Revision" : %s\n"Leader" : %s\n' 14841639068965178418 10276657743932975437 42 10276657743932975437 ;;
"endpoint health")
	[ -f "$state/etcd-started" ] || { echo "$endpoint is unhealthy: failed to commit proposal: context deadline exceeded" >&2; exit 1; }
	echo "$endpoint is healthy: successfully committed proposal: took = 2.1ms" ;;
"get /registry/namespaces/kube-system --keys-only")
	if [ -f "$state/kube-system" ]; then echo /registry/namespaces/kube-system; fi ;;
*) echo "etcdctl recorder: unexpected call: ${words[*]}" >&2; exit 64 ;;
esac`,
	// kubeadm writes the static pod manifests where its init and its
	// control-plane phase do; config images list names the CoreDNS image of
	// $state/coredns-pinned; upgrade apply's upload-config stores the version
	// it uploads in $state/cluster-version, and the CoreDNS phases put the
	// pinned image in $state/coredns-image, as in the cluster. It then fails
	// if $state/kubeadm-fail holds the start of its arguments, else succeeds.
	"kubeadm": `case "$*" in
"init --config "* | "init phase control-plane all "*)
	mkdir -p "$KUBECONFIG_DIR/manifests"
	for c in kube-apiserver kube-controller-manager kube-scheduler; do : >"$KUBECONFIG_DIR/manifests/$c.yaml"; done ;;
"config images list "*) echo "registry.k8s.io/kube-apiserver:v0.0.0"; cat "$state/coredns-pinned" ;;
"upgrade apply phase upload-config all "*) printf '%s\n' "$6" >"$state/cluster-version" ;;
"upgrade apply phase addon coredns "* | "upgrade node phase addon coredns "*) cp "$state/coredns-pinned" "$state/coredns-image" ;;
esac
if [ -s "$state/kubeadm-fail" ] && [[ "$*" == "$(cat "$state/kubeadm-fail")"* ]]; then
	echo "error execution phase: kubeadm recorder fails as told: $*" >&2
	exit 1
fi
exit 0`,
	// kubectl (the admin's, through the API) answers as the cluster in
	// $state: kubeadm-config's kubernetesVersion and CoreDNS's image.
	"kubectl": `case "$*" in
*" get configmap kubeadm-config "*) printf 'apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: %s\n' "$(cat "$state/cluster-version")" ;;
*" get deployment coredns "*) tr -d '\n' <"$state/coredns-image" ;;
*) echo "kubectl recorder: unexpected call: $*" >&2; exit 64 ;;
esac`,
	// The instance metadata service is not there: INSTANCE_ID and
	// PRIVATE_IP are set instead. The local API server answers /readyz
	// unless $state/apiserver-down exists.
	"curl": `case "$*" in
*/readyz*)
	if [ -e "$state/apiserver-down" ]; then echo "curl: (7) Failed to connect to 127.0.0.1 port 6443" >&2; exit 7; fi
	echo ok ;;
*) exit 7 ;;
esac`,
}

func writeBootRecorders(t *testing.T, dir, realAWS string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, name := range sortedKeys(bootRecorders) {
		body := "#!/usr/bin/env bash\nset -uo pipefail\nstate=$KINFRA_TEST_STATE\n" +
			"(IFS=$'\\t'; printf '%s\\n' \"${0##*/}\t$*\") >>\"$KINFRA_TEST_CALLS\"\n"
		if name == "aws" {
			body += "KINFRA_TEST_REAL_AWS=" + bootShellQuote(realAWS) + "\n"
		}
		body += bootRecorders[name] + "\n"
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755))
	}
}

// bootCoreDNSImage is the CoreDNS image the recorders' kubeadm installs.
const bootCoreDNSImage = "registry.k8s.io/coredns/coredns:v1.14.6"

func bootShellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
