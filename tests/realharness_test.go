package tests

// The harness of the real-binary tests (tests/real*_test.go): committed
// stacks' rendered masters, each turned into a "machine" (a network
// namespace of a testtools.Network plus a directory that stands in for its
// root filesystem), with the etcd members, certificates and control plane
// started from exactly what kinfra renders. docs/real-binaries.md says what
// runs, what is mapped and why.

import (
	"bufio"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/testtools"
	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/review/plan"
	"github.com/kinfra-dev/kinfra/spec"
)

// realStack is one committed stack's control plane as the offline plan
// renders it.
type realStack struct {
	name    string
	cluster spec.Cluster
	plan    *plan.Plan
	// bundle is a PKI for the cluster (the offline plan's own kind: the
	// rendered user data holds no secret, so any bundle fits it).
	bundle *pki.Bundle
	// slots are the masters' rendered user data, by slot.
	slots []realSlot
}

type realSlot struct {
	index int
	files map[string]bootstrap.File
	env   map[string]string
}

func loadRealStack(t testing.TB, name string) realStack {
	t.Helper()
	return realStackOf(t, name, planStack(t, name))
}

// loadRealStackAt is the committed stack with cluster.kubernetes.version
// set to version: the same cluster before or after an upgrade.
func loadRealStackAt(t testing.TB, name, version string) realStack {
	t.Helper()
	sf, err := stackfile.Load(filepath.Join("..", "stacks", "Pulumi."+name+".yaml"))
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, json.Unmarshal([]byte(sf.Config["kinfra:cluster"]), &c))
	kube, _ := c["kubernetes"].(map[string]any)
	if kube == nil {
		kube = map[string]any{}
		c["kubernetes"] = kube
	}
	kube["version"] = version
	b, err := json.Marshal(c)
	require.NoError(t, err)
	sf.Config = maps.Clone(sf.Config)
	sf.Config["kinfra:cluster"] = string(b)
	p, err := plan.Run(sf)
	require.NoError(t, err)
	require.Equal(t, version, p.Config.Kubernetes.Version)
	return realStackOf(t, name, p)
}

func realStackOf(t testing.TB, name string, p *plan.Plan) realStack {
	t.Helper()
	uds, err := p.UserData()
	require.NoError(t, err)
	st := realStack{name: name, cluster: *p.Config, plan: p}
	for _, ud := range uds {
		// The user data's files and the tools the boot installs.
		all, err := ud.Files()
		require.NoError(t, err, ud.LaunchTemplate)
		files := map[string]bootstrap.File{}
		for _, f := range all {
			files[f.Path] = f
		}
		if _, ok := files[bootstrap.KubeadmInitPath]; !ok {
			continue // a node pool
		}
		env := realParseEnv(t, files[bootstrap.MasterEnvPath].Content)
		slot, err := strconv.Atoi(env["SLOT"])
		require.NoError(t, err, ud.LaunchTemplate)
		st.slots = append(st.slots, realSlot{index: slot, files: files, env: env})
	}
	sort.Slice(st.slots, func(i, j int) bool { return st.slots[i].index < st.slots[j].index })
	require.Len(t, st.slots, st.cluster.Masters.Count, "%s: one rendered master per slot", name)
	for i, s := range st.slots {
		require.Equal(t, i, s.index, "%s: slots 0..count-1", name)
	}
	st.bundle, err = pki.Offline(st.cluster.Name)
	require.NoError(t, err)
	return st
}

var realEnvLine = regexp.MustCompile(`^([A-Z_]+)='([^']*)'$`)

// realParseEnv reads master.env (single-quoted assignments, see
// bootstrap.envFile).
func realParseEnv(t testing.TB, content string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, line := range strings.Split(content, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := realEnvLine.FindStringSubmatch(line)
		require.NotNil(t, m, "master.env line %q", line)
		env[m[1]] = m[2]
	}
	return env
}

func (st realStack) domain() string  { return st.cluster.PrivateDomain }
func (st realStack) apiName() string { return "api." + st.cluster.PrivateDomain }

// ssmParameters are the PKI parameters as the program stores them in SSM
// (masters.Parameters, the layout the component registers). The plan records the
// parameters with masked values, so the test checks that it registers
// exactly these names, as secrets, and takes the values from the bundle.
func (st realStack) ssmParameters(t testing.TB) map[string]string {
	t.Helper()
	b := st.bundle
	prefix := st.slots[0].env["PARAMETER_PREFIX"]
	params := map[string]string{}
	for _, p := range masters.Parameters(b) {
		params[prefix+"/"+p.Path()] = p.Value
	}
	var recorded []string
	for _, r := range mockaws.OfType(st.plan.Resources, "aws:ssm/parameter:Parameter") {
		name := r.Inputs["name"].(string)
		if strings.HasPrefix(name, prefix+"/"+bootstrap.ToolsGroup+"/") {
			// The masters' tools: plain, and their values are in the plan.
			require.Equal(t, "String", r.Inputs["type"], r.Name)
			params[name] = r.Inputs["insecureValue"].(string)
			recorded = append(recorded, name)
			continue
		}
		recorded = append(recorded, name)
		require.Equal(t, mockaws.Secret, r.Inputs["value"], "%s: the parameter value is a secret", r.Name)
		require.Equal(t, "SecureString", r.Inputs["type"], r.Name)
	}
	var want []string
	for name := range params {
		want = append(want, name)
	}
	require.ElementsMatch(t, want, recorded, "%s: the plan stores exactly the parameters the test provides", st.name)
	return params
}

// realCluster is a stack's masters as machines on a test network.
type realCluster struct {
	stack realStack
	net   *testtools.Network
	dir   string
	ssm   string // the parameters, as files at ssm + name
	bin   string // stand-ins the boot script calls: aws (SSM reads), etcdctl
	lib   string // the rendered boot script, without its final `main "$@"`
	// backupLib is the rendered backup script, likewise ("" without backups).
	backupLib string
	// renewLib is the rendered certificate renewal script, likewise.
	renewLib string
	// joinTokenLib is the rendered join token script, likewise.
	joinTokenLib string
	masters      []*realMaster
	// client is an operator's machine on the same network, not a master.
	client *testtools.Host

	etcd, etcdctl string // the real binaries

	apiServerStarts int
	// aws is the AWS emulator on the test network, once useAWS ran: the
	// masters' aws is then the real AWS CLI, pointed at it.
	aws *realAWS
	// kubeadmWrapped: the boot functions run the real kubeadm (useKubeadm).
	kubeadmWrapped bool
	// joinConfig, when set, is the path under the worker's root of the
	// JoinConfiguration joinPreflight uses instead of a discovery file.
	joinConfig string
	// lb, when set, is the load balancer the API's name reaches
	// (startRealNLB); else the name reaches slot 0, or the master a test
	// points it at.
	lb *realNLB
}

// realMaster is one slot's machine.
type realMaster struct {
	c    *realCluster
	slot realSlot
	host *testtools.Host
	// root stands in for the machine's root filesystem: the rendered files
	// are at root + their path, and everything run here reads and writes
	// root + the path it was configured with.
	root       string
	etcd       *testtools.Process
	etcdStarts int
	// kubeadmBin and apiServerBin are the binaries this machine runs (the
	// image's version); empty: tools/kubernetes's.
	kubeadmBin, apiServerBin string
}

// hostname is the machine's host name, and so its Kubernetes node name.
func (m *realMaster) hostname() string { return m.c.stack.cluster.Name + "-" + m.host.Name }

func (m *realMaster) kubeadmPath(t testing.TB) string {
	if m.kubeadmBin != "" {
		return m.kubeadmBin
	}
	return testtools.Path(t, "kubeadm")
}

func (m *realMaster) apiServerPath(t testing.TB) string {
	if m.apiServerBin != "" {
		return m.apiServerBin
	}
	return testtools.Path(t, "kube-apiserver")
}

// reimage gives the machine slot's rendering of another stack (the same
// cluster at another version) and that version's kubeadm and API server,
// as a new instance launched from a newer launch template gets them.
func (m *realMaster) reimage(t testing.TB, slot realSlot, kubeadmBin, apiServerBin string) {
	t.Helper()
	require.Equal(t, m.slot.index, slot.index)
	m.slot, m.kubeadmBin, m.apiServerBin = slot, kubeadmBin, apiServerBin
	m.writeRendered(t)
}

// newRealCluster builds the network (one namespace per slot, and one for a
// client), writes every slot's rendered files under its root, and issues
// each slot's etcd certificates with the boot script's own functions. It
// starts nothing.
func newRealCluster(t testing.TB, st realStack) *realCluster {
	t.Helper()
	c := &realCluster{
		stack:   st,
		etcd:    testtools.Path(t, "etcd"),
		etcdctl: testtools.Path(t, "etcdctl"),
	}
	c.net = testtools.NewNetwork(t)
	c.dir = t.TempDir()
	c.ssm = filepath.Join(c.dir, "ssm")
	c.bin = filepath.Join(c.dir, "bin")
	require.NoError(t, os.MkdirAll(c.bin, 0o755))
	for name, value := range st.ssmParameters(t) {
		p := filepath.Join(c.ssm, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, []byte(value), 0o600))
	}
	require.NoError(t, os.WriteFile(filepath.Join(c.bin, "aws"), []byte(realAWSStandIn), 0o755))
	require.NoError(t, os.Symlink(c.etcdctl, filepath.Join(c.bin, "etcdctl")))

	// The boot script's functions, without running its main: the rendered
	// script ends by calling main, and only that line is left out.
	script := st.slots[0].files[bootstrap.BootScriptPath].Content
	const call = "\nmain \"$@\"\n"
	require.True(t, strings.HasSuffix(script, call), "the boot script ends by calling main")
	c.lib = filepath.Join(c.dir, "kinfra-master-boot.functions")
	require.NoError(t, os.WriteFile(c.lib, []byte(strings.TrimSuffix(script, call)+"\n"), 0o644))
	if f, ok := st.slots[0].files[bootstrap.BackupScriptPath]; ok {
		require.True(t, strings.HasSuffix(f.Content, call), "the backup script ends by calling main")
		c.backupLib = filepath.Join(c.dir, "kinfra-etcd-backup.functions")
		require.NoError(t, os.WriteFile(c.backupLib, []byte(strings.TrimSuffix(f.Content, call)+"\n"), 0o644))
	}

	renew := st.slots[0].files[bootstrap.RenewScriptPath].Content
	require.True(t, strings.HasSuffix(renew, call), "the renewal script ends by calling main")
	c.renewLib = filepath.Join(c.dir, "kinfra-cert-renew.functions")
	require.NoError(t, os.WriteFile(c.renewLib, []byte(strings.TrimSuffix(renew, call)+"\n"), 0o644))
	jt := st.slots[0].files[bootstrap.JoinTokenScriptPath].Content
	require.True(t, strings.HasSuffix(jt, call), "the join token script ends by calling main")
	c.joinTokenLib = filepath.Join(c.dir, "kinfra-join-token.functions")
	require.NoError(t, os.WriteFile(c.joinTokenLib, []byte(strings.TrimSuffix(jt, call)+"\n"), 0o644))

	for _, s := range st.slots {
		m := &realMaster{c: c, slot: s, root: filepath.Join(c.dir, "m"+strconv.Itoa(s.index))}
		m.host = c.net.AddHost("m" + strconv.Itoa(s.index))
		// The slot's record, as the boot script's upsert_record points it.
		c.net.Name(tags.EtcdRecord(s.index, st.domain()), m.host)
		m.writeRendered(t)
		require.Equal(t, script, s.files[bootstrap.BootScriptPath].Content, "every slot runs the same boot script")
		c.masters = append(c.masters, m)
	}
	// The API's name stands in for the load balancer: it reaches slot 0,
	// the API server these tests run.
	c.net.Name(st.apiName(), c.masters[0].host)
	c.client = c.net.AddHost("client")
	for _, m := range c.masters {
		m.issueEtcdCerts(t)
	}
	return c
}

// writeRendered writes every file of the slot's user data under the
// machine's root, with its mode, as cloud-init writes them.
func (m *realMaster) writeRendered(t testing.TB) {
	t.Helper()
	for _, f := range m.slot.files {
		mode, err := strconv.ParseUint(f.Permissions, 8, 32)
		require.NoError(t, err)
		p := m.path(f.Path)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(f.Content), os.FileMode(mode)))
		require.NoError(t, os.Chmod(p, os.FileMode(mode)))
	}
}

// path maps a path on the machine to the test's directory for it.
func (m *realMaster) path(p string) string { return filepath.Join(m.root, p) }

// useKubeadm puts the real kubeadm (the machine's: realMaster.kubeadmBin)
// on the boot functions' PATH, run as the image runs it but with --rootfs
// at the machine's root (the paths the script passes are mapped back to the
// rendered ones), in the mount namespace `ip netns exec` gives the script,
// with /proc mounted there and the machine's host name; and the real
// kubectl, which the boot calls with the admin kubeconfig.
func (c *realCluster) useKubeadm(t testing.TB) {
	t.Helper()
	const wrapper = `#!/usr/bin/env bash
# The real kubeadm, chrooted at the test machine's root.
set -euo pipefail
root=$KINFRA_TEST_ROOT
mkdir -p "$root/proc" "$root/tmp" "$root/etc"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
# The machine's names (the network's hosts file) inside the chroot.
touch "$root/etc/hosts"
mountpoint -q "$root/etc/hosts" || mount --bind /etc/hosts "$root/etc/hosts"
args=()
for a in "$@"; do args+=("${a#"$root"}"); done
exec unshare --uts bash -c 'hostname "$0" && exec "$@"' "$KINFRA_TEST_HOSTNAME" "$KINFRA_TEST_KUBEADM" "${args[@]}" --rootfs "$root"
`
	require.NoError(t, os.WriteFile(filepath.Join(c.bin, "kubeadm"), []byte(wrapper), 0o755))
	require.NoError(t, os.Symlink(testtools.Path(t, "kubectl"), filepath.Join(c.bin, "kubectl")))
	c.kubeadmWrapped = true
}

// realAWSStandIn answers the AWS call the tested boot functions make (SSM
// get-parameter, with decryption as the script's param function asks it, or
// without for the etcd record, which is absent here: a cluster whose record
// is not written yet) from the parameters the program stores; any other
// call fails.
const realAWSStandIn = `#!/usr/bin/env bash
# Stand-in for the AWS CLI in kinfra's real-binary tests.
set -euo pipefail
case " $* " in
*" ssm get-parameter --with-decryption --name "*" --query Parameter.Value --output text ") ;;
*" ssm get-parameter --name "*" --query Parameter.Value --output text ") ;;
*)
	echo "aws stand-in: unexpected call: aws $*" >&2
	exit 255
	;;
esac
[ "$1 $2" = "--region $KINFRA_TEST_REGION" ] || { echo "aws stand-in: wrong region: $*" >&2; exit 255; }
name=
while [ $# -gt 0 ]; do
	[ "$1" != --name ] || name=$2
	shift
done
f=$KINFRA_TEST_SSM$name
if [ ! -f "$f" ]; then
	echo "An error occurred (ParameterNotFound) when calling the GetParameter operation: Parameter $name not found." >&2
	exit 254
fi
# The CLI's text output: the value and a newline.
cat "$f"
echo
`

// boot runs functions of the rendered boot script on the machine, in its
// namespace, as the script runs them: its settings are the rendered
// master.env (sourced by the script itself), and every path the script
// uses is the rendered one under the machine's root (the only change).
// PRIVATE_IP is the machine's address, as the script reads it from the
// instance metadata.
func (m *realMaster) boot(t testing.TB, timeout time.Duration, commands string) (string, error) {
	t.Helper()
	return m.runScript(t, timeout, m.c.lib, commands)
}

// scriptLib is the rendered script at path (slot 0's) without its final
// call of main, for runScript.
func (c *realCluster) scriptLib(t testing.TB, path string) string {
	t.Helper()
	const call = "\nmain \"$@\"\n"
	f, ok := c.stack.slots[0].files[path]
	require.True(t, ok, "the stack renders %s", path)
	require.True(t, strings.HasSuffix(f.Content, call), "%s ends by calling main", path)
	lib := filepath.Join(c.dir, filepath.Base(path)+".functions")
	require.NoError(t, os.WriteFile(lib, []byte(strings.TrimSuffix(f.Content, call)+"\n"), 0o644))
	return lib
}

// backup runs the rendered backup script's main on the machine, as its
// timer does, with the same mapping as boot.
func (m *realMaster) backup(t testing.TB) (string, error) {
	t.Helper()
	require.NotEmpty(t, m.c.backupLib, "the stack renders the backup script")
	return m.runScript(t, 3*time.Minute, m.c.backupLib, "main 2>&1")
}

// renew runs the rendered certificate renewal script's main on the
// machine, as its timer does, with the same mapping as boot.
func (m *realMaster) renew(t testing.TB) (string, error) {
	t.Helper()
	return m.runScript(t, 3*time.Minute, m.c.renewLib, "main 2>&1")
}

// joinToken runs commands after sourcing the rendered join token script
// (its main is what the timer runs), with the same mapping as boot.
func (m *realMaster) joinToken(t testing.TB, commands string) (string, error) {
	t.Helper()
	return m.runScript(t, 3*time.Minute, m.c.joinTokenLib, commands)
}

// runScript runs commands after sourcing lib, a rendered script without its
// final call of main.
func (m *realMaster) runScript(t testing.TB, timeout time.Duration, lib, commands string) (string, error) {
	t.Helper()
	const prelude = `set -euo pipefail
. "$KINFRA_TEST_LIB"
for v in PKI_DIR ETCD_PKI_DIR ENCRYPTION_CONFIG KUBECONFIG_DIR DISCOVERY_CONFIG DATA_MOUNT CLUSTER_MARKER ETCD_DATA_DIR GENERATION_FILE BACKUP_DIR NODE_MARKER TOKEN_RUN_DIR; do
	if [ -n "${!v-}" ]; then printf -v "$v" '%s%s' "$KINFRA_TEST_ROOT" "${!v}"; fi
done
`
	env := []string{
		"KINFRA_TEST_LIB=" + lib,
		"KINFRA_TEST_ROOT=" + m.root,
		"KINFRA_TEST_SSM=" + m.c.ssm,
		"KINFRA_TEST_REGION=" + m.slot.env["REGION"],
		"KINFRA_DIR=" + m.path(bootstrap.KinfraDir),
		"KINFRA_LIB=" + m.path(bootstrap.MasterLibPath),
		"PATH=" + m.c.bin + ":" + os.Getenv("PATH"),
		"PRIVATE_IP=" + m.host.IP(),
		"INSTANCE_ID=i-0kinfratest" + strconv.Itoa(m.slot.index),
		"ETCDCTL_API=3",
		"POLL=1",
	}
	if m.c.aws != nil {
		env = append(env, m.c.aws.environ()...)
	}
	if m.c.kubeadmWrapped {
		env = append(env, "KINFRA_TEST_KUBEADM="+m.kubeadmPath(t), "KINFRA_TEST_HOSTNAME="+m.hostname())
	}
	return m.host.Run(timeout, env, "bash", "-c", prelude+commands)
}

// issueEtcdCerts runs the boot script's etcd_pki (with the directories its
// main creates first): the etcd CA from "SSM", and the server, peer and API
// server client certificates issued by openssl for this machine's address.
func (m *realMaster) issueEtcdCerts(t testing.TB) {
	t.Helper()
	out, err := m.boot(t, time.Minute, `mkdir -p "$PKI_DIR" "$ETCD_PKI_DIR"
chmod 0700 "$ETCD_PKI_DIR"
etcd_pki`)
	require.NoError(t, err, out)
	dir := m.path(bootstrap.EtcdPKIDir)
	require.Equal(t, m.c.stack.bundle.EtcdCA.Cert, strings.TrimSpace(mustRead(t, dir+"/ca.crt"))+"\n",
		"the etcd CA is the bundle's")
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM([]byte(m.c.stack.bundle.EtcdCA.Cert)))
	record := tags.EtcdRecord(m.slot.index, m.c.stack.domain())
	for name, want := range map[string]struct {
		cn    string
		usage []x509.ExtKeyUsage
		sans  bool
	}{
		"server":                {tags.EtcdMember(m.slot.index), []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, true},
		"peer":                  {tags.EtcdMember(m.slot.index), []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, true},
		"apiserver-etcd-client": {"kube-apiserver-etcd-client", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, false},
	} {
		block, _ := pem.Decode([]byte(mustRead(t, dir+"/"+name+".crt")))
		require.NotNil(t, block, name)
		cert, err := x509.ParseCertificate(block.Bytes)
		require.NoError(t, err, name)
		require.Equal(t, want.cn, cert.Subject.CommonName, name)
		require.Equal(t, want.usage, cert.ExtKeyUsage, name)
		_, err = cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: want.usage})
		require.NoError(t, err, "%s is signed by the etcd CA", name)
		if want.sans {
			require.Equal(t, []string{record, "localhost"}, cert.DNSNames, name)
			var ips []string
			for _, ip := range cert.IPAddresses {
				ips = append(ips, ip.String())
			}
			require.Equal(t, []string{"127.0.0.1", m.host.IP()}, ips, name)
		} else {
			require.Empty(t, cert.DNSNames, name)
			require.Empty(t, cert.IPAddresses, name)
		}
		fi, err := os.Stat(dir + "/" + name + ".key")
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "%s.key", name)
	}
}

// realMapPaths puts every absolute path of a YAML document under root and
// returns the document and the keys it changed. Nothing else changes.
func realMapPaths(t testing.TB, doc, root string) (string, []string) {
	t.Helper()
	var node yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(doc), &node))
	var changed []string
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key := n.Content[i].Value
				if path != "" {
					key = path + "." + key
				}
				walk(n.Content[i+1], key)
			}
		case yaml.ScalarNode:
			if n.Tag == "!!str" && strings.HasPrefix(n.Value, "/") {
				n.Value = filepath.Join(root, n.Value)
				changed = append(changed, strings.TrimPrefix(path, "[0]."))
			}
		}
	}
	walk(&node, "")
	out, err := yaml.Marshal(&node)
	require.NoError(t, err)
	return string(out), changed
}

// etcdCommand is the rendered etcd.service's ExecStart, with the real etcd
// binary in place of the image's and config (the mapped configuration file)
// in place of the rendered one.
func (m *realMaster) etcdCommand(t testing.TB, config string) []string {
	t.Helper()
	var exec []string
	for _, line := range strings.Split(m.slot.files[bootstrap.EtcdUnitPath].Content, "\n") {
		if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
			exec = strings.Fields(v)
		}
	}
	require.Equal(t, []string{"/usr/local/bin/etcd", "--config-file", bootstrap.EtcdConfigPath}, exec,
		"etcd.service runs the image's etcd with the rendered configuration (the mapping below assumes it)")
	return []string{"--config-file", config}
}

// startEtcd starts the slot's member from its rendered configuration, in
// its namespace, with mutate (if any) applied to the rendered text first
// (for the tests that break it on purpose).
func (m *realMaster) startEtcd(t testing.TB, mutate func(string) string) {
	t.Helper()
	rendered := m.slot.files[bootstrap.EtcdConfigPath].Content
	if mutate != nil {
		rendered = mutate(rendered)
	}
	// Only file paths change: the data directory and the certificates go
	// under the machine's root (the slot volume is mounted at
	// /var/lib/etcd on a master; the boot script writes the certificates).
	mapped, changed := realMapPaths(t, rendered, m.root)
	if mutate == nil {
		require.ElementsMatch(t, []string{"data-dir",
			"client-transport-security.cert-file", "client-transport-security.key-file", "client-transport-security.trusted-ca-file",
			"peer-transport-security.cert-file", "peer-transport-security.key-file", "peer-transport-security.trusted-ca-file",
		}, changed, "the paths the test maps, and nothing else")
	}
	config := m.path(bootstrap.EtcdConfigPath) + ".mapped"
	require.NoError(t, os.WriteFile(config, []byte(mapped), 0o644))
	// The boot script's prepare_volume makes the data directory, 0700.
	require.NoError(t, os.MkdirAll(m.path(bootstrap.EtcdDataDir), 0o700))
	m.etcdStarts++
	log := filepath.Join(m.c.dir, fmt.Sprintf("etcd-%d.%d.log", m.slot.index, m.etcdStarts))
	m.etcd = m.host.Start(t, tags.EtcdMember(m.slot.index), log, nil, m.c.etcd, m.etcdCommand(t, config)...)
}

// waitEtcdHealthy waits as the boot script's start_etcd does: until its
// etcdctl_at reports the local member healthy (which needs quorum).
func (m *realMaster) waitEtcdHealthy(t testing.TB) {
	t.Helper()
	testtools.WaitFor(t, 90*time.Second, tags.EtcdMember(m.slot.index)+" healthy", func() error {
		if done, err := m.etcd.Exited(); done {
			t.Fatalf("%s: etcd exited: %v\n%s", m.host.Name, err, testtools.Tail(m.etcd.Log, 20))
		}
		out, err := m.boot(t, 30*time.Second, `etcdctl_at https://127.0.0.1:2379 endpoint health`)
		if err != nil {
			return err
		}
		if !strings.Contains(out, "is healthy") {
			return fmt.Errorf("endpoint health: %s", out)
		}
		return nil
	})
}

// endpoint is the slot's client URL, as every client (and the API server)
// names it.
func (c *realCluster) endpoint(slot int) string {
	return fmt.Sprintf("https://%s:%d", tags.EtcdRecord(slot, c.stack.domain()), bootstrap.EtcdClientPort)
}

// etcdctl runs the real etcdctl on the machine, with the client certificate
// the boot script issues for the API server (as docs/masters.md's etcdctl
// function does).
func (m *realMaster) etcdctl(endpoints string, args ...string) (string, error) {
	pki := m.path(bootstrap.EtcdPKIDir)
	base := []string{"--endpoints", endpoints, "--cacert", pki + "/ca.crt",
		"--cert", pki + "/apiserver-etcd-client.crt", "--key", pki + "/apiserver-etcd-client.key",
		"--dial-timeout", "5s", "--command-timeout", "15s"}
	return m.host.Run(30*time.Second, []string{"ETCDCTL_API=3"}, m.c.etcdctl, append(base, args...)...)
}

// realEtcdMember is one entry of `etcdctl member list -w json`.
type realEtcdMember struct {
	ID         uint64   `json:"ID"`
	Name       string   `json:"name"`
	PeerURLs   []string `json:"peerURLs"`
	ClientURLs []string `json:"clientURLs"`
	IsLearner  bool     `json:"isLearner"`
}

func (m *realMaster) memberList(t testing.TB) []realEtcdMember {
	t.Helper()
	out, err := m.etcdctl(m.c.endpoint(m.slot.index), "member", "list", "-w", "json")
	require.NoError(t, err)
	var list struct {
		Members []realEtcdMember `json:"members"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &list), out)
	sort.Slice(list.Members, func(i, j int) bool { return list.Members[i].Name < list.Members[j].Name })
	return list.Members
}

// realEtcdStatus is the part of `etcdctl endpoint status -w json` the tests read.
type realEtcdStatus struct {
	Endpoint string `json:"Endpoint"`
	Status   struct {
		Header struct {
			MemberID uint64 `json:"member_id"`
		} `json:"header"`
		Leader uint64 `json:"leader"`
	} `json:"Status"`
}

func (m *realMaster) status() (realEtcdStatus, error) {
	out, err := m.etcdctl(m.c.endpoint(m.slot.index), "endpoint", "status", "-w", "json")
	if err != nil {
		return realEtcdStatus{}, err
	}
	var st []realEtcdStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st) != 1 {
		return realEtcdStatus{}, fmt.Errorf("endpoint status: %v: %s", err, out)
	}
	return st[0], nil
}

func mustStatus(t testing.TB, m *realMaster) realEtcdStatus {
	t.Helper()
	s, err := m.status()
	require.NoError(t, err)
	return s
}

// etcdLog is the first zap log entry of the member's latest start with
// message msg.
func (m *realMaster) etcdLog(t testing.TB, msg string) map[string]any {
	t.Helper()
	f, err := os.Open(m.etcd.Log)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var entry map[string]any
		if json.Unmarshal(sc.Bytes(), &entry) == nil && entry["msg"] == msg {
			return entry
		}
	}
	t.Fatalf("%s: no %q in etcd's log %s", m.host.Name, msg, m.etcd.Log)
	return nil
}

// startEtcdCluster starts every member and waits until each is healthy.
func (c *realCluster) startEtcdCluster(t testing.TB) {
	t.Helper()
	for _, m := range c.masters {
		m.startEtcd(t, nil)
	}
	for _, m := range c.masters {
		m.waitEtcdHealthy(t)
	}
}

// realAPIServer is slot 0's API server, started from its rendered kubeadm
// configuration.
type realAPIServer struct {
	c    *realCluster
	m    *realMaster
	proc *testtools.Process
	// manifest is the static pod kubeadm wrote; args the command the test
	// runs (its flags, with file paths mapped through the pod's volumes).
	manifest realPod
	args     []string
	kubectl  string
	caFile   string // the cluster CA
}

// realPod is the part of a static pod manifest the tests read.
type realPod struct {
	Spec struct {
		HostNetwork bool `yaml:"hostNetwork"`
		Containers  []struct {
			Name         string   `yaml:"name"`
			Command      []string `yaml:"command"`
			VolumeMounts []struct {
				Name      string `yaml:"name"`
				MountPath string `yaml:"mountPath"`
				ReadOnly  bool   `yaml:"readOnly"`
			} `yaml:"volumeMounts"`
		} `yaml:"containers"`
		Volumes []struct {
			Name     string `yaml:"name"`
			HostPath *struct {
				Path string `yaml:"path"`
				Type string `yaml:"type"`
			} `yaml:"hostPath"`
		} `yaml:"volumes"`
	} `yaml:"spec"`
}

// kubeadm runs the real kubeadm on the machine with --rootfs, so that it
// reads and writes /etc/kubernetes, /etc/kinfra and the rest under the
// machine's root, exactly at the paths it was configured with. kubeadm
// chroots there, where a real host has /proc and /etc/hosts: /proc is
// mounted and the network's hosts file bound in the command's own mount
// namespace (`ip netns exec` makes one, which goes away with the command),
// for kubeadm's look-up of the default route's address and of the API's
// name. It runs with the machine's host name, which names its Node.
func (m *realMaster) kubeadm(t testing.TB, args ...string) (string, error) {
	t.Helper()
	return m.kubeadmWith(t, m.kubeadmPath(t), args...)
}

// kubeadmWith is kubeadm with another kubeadm binary than the machine's.
func (m *realMaster) kubeadmWith(t testing.TB, kubeadm string, args ...string) (string, error) {
	t.Helper()
	const script = `set -euo pipefail
root=$1 name=$2
shift 2
mkdir -p "$root/proc" "$root/tmp" "$root/etc"
mount -t proc proc "$root/proc"
touch "$root/etc/hosts"
mount --bind /etc/hosts "$root/etc/hosts"
exec unshare --uts bash -c 'hostname "$0" && exec "$@"' "$name" "$@" --rootfs "$root"`
	return m.host.Run(3*time.Minute, nil, "bash", append([]string{"-c", script, "kubeadm", m.root, m.hostname(), kubeadm}, args...)...)
}

// prepareControlPlane does on slot 0 what its first boot does before the
// API server runs: the boot script's place_pki puts the CAs, the
// service-account keys and the encryption configuration (from "SSM") where
// kubeadm and the API server read them; then the real kubeadm runs the
// phases of `kubeadm init` that write the certificates, the kubeconfigs and
// the API server's static pod, from the rendered kubeadm-init.yaml. break
// (for the tests that break an artifact on purpose) maps paths on the
// machine to a change of that file, applied after place_pki; every other
// rendered file is written again as rendered.
func (c *realCluster) prepareControlPlane(t testing.TB, breaks map[string]func(string) string) *realMaster {
	t.Helper()
	m := c.masters[0]
	m.writeRendered(t)
	out, err := m.boot(t, time.Minute, "place_pki")
	require.NoError(t, err, out)
	for path, mode := range map[string]os.FileMode{
		"/etc/kubernetes/pki/ca.crt": 0o644, "/etc/kubernetes/pki/ca.key": 0o600,
		"/etc/kubernetes/pki/front-proxy-ca.crt": 0o644, "/etc/kubernetes/pki/front-proxy-ca.key": 0o600,
		"/etc/kubernetes/pki/sa.key": 0o600, "/etc/kubernetes/pki/sa.pub": 0o644,
		bootstrap.EncryptionPath: 0o600,
	} {
		fi, err := os.Stat(m.path(path))
		require.NoError(t, err, "place_pki writes %s", path)
		require.Equal(t, mode, fi.Mode().Perm(), path)
	}
	for path, change := range breaks {
		p := m.path(path)
		before := mustRead(t, p)
		after := change(before)
		require.NotEqual(t, before, after, "the change of %s changes it", path)
		require.NoError(t, os.WriteFile(p, []byte(after), 0o600))
	}
	for _, phase := range [][]string{
		{"certs", "all"},
		{"kubeconfig", "admin"},
		{"kubeconfig", "super-admin"},
		{"control-plane", "apiserver"},
	} {
		args := append(append([]string{"init", "phase"}, phase...), "--config", bootstrap.KubeadmInitPath)
		out, err := m.kubeadm(t, args...)
		require.NoError(t, err, "kubeadm %s:\n%s", strings.Join(args, " "), out)
	}
	return m
}

// startAPIServer runs slot 0's API server: the real kube-apiserver with
// exactly the command of the static pod kubeadm wrote, as the kubelet would
// run it (the pod uses the host's network: here, slot 0's namespace), with
// every file path mapped as the pod's hostPath volumes map it, under the
// machine's root. A path no volume mounts fails the test: the pod could
// not read it.
func (c *realCluster) startAPIServer(t testing.TB, m *realMaster) *realAPIServer {
	t.Helper()
	a := &realAPIServer{c: c, m: m, kubectl: testtools.Path(t, "kubectl")}
	require.NoError(t, yaml.Unmarshal([]byte(mustRead(t, m.path("/etc/kubernetes/manifests/kube-apiserver.yaml"))), &a.manifest))
	spec := a.manifest.Spec
	require.True(t, spec.HostNetwork, "the API server's pod uses the host's network")
	require.Len(t, spec.Containers, 1)
	ctr := spec.Containers[0]
	require.Equal(t, "kube-apiserver", ctr.Command[0])
	hostPaths := map[string]string{} // volume -> host path
	for _, v := range spec.Volumes {
		require.NotNil(t, v.HostPath, "volume %s is a hostPath", v.Name)
		hostPaths[v.Name] = v.HostPath.Path
		if v.HostPath.Type == "DirectoryOrCreate" {
			// What the kubelet does for such a volume.
			require.NoError(t, os.MkdirAll(m.path(v.HostPath.Path), 0o755))
		}
	}
	// hostPath is where the container's path p is on the host: through the
	// mount with the longest matching mount path, as in the container.
	hostPath := func(flag, p string) string {
		mountPath, volume := "", ""
		for _, vm := range ctr.VolumeMounts {
			if (p == vm.MountPath || strings.HasPrefix(p, vm.MountPath+"/")) && len(vm.MountPath) > len(mountPath) {
				mountPath, volume = vm.MountPath, vm.Name
			}
		}
		require.NotEmpty(t, mountPath, "kube-apiserver %s names %s, which no volume of its pod mounts", flag, p)
		require.Contains(t, hostPaths, volume, "mount %s has a volume", volume)
		return m.path(hostPaths[volume] + strings.TrimPrefix(p, mountPath))
	}
	for _, arg := range ctr.Command[1:] {
		name, value, ok := strings.Cut(arg, "=")
		require.True(t, ok && strings.HasPrefix(name, "--"), "flag %q", arg)
		parts := strings.Split(value, ",")
		for i, p := range parts {
			if strings.HasPrefix(p, "/") {
				parts[i] = hostPath(name, p)
			}
		}
		a.args = append(a.args, name+"="+strings.Join(parts, ","))
	}
	c.apiServerStarts++
	log := filepath.Join(c.dir, fmt.Sprintf("kube-apiserver.%d.log", c.apiServerStarts))
	a.proc = m.host.Start(t, "kube-apiserver", log, nil, m.apiServerPath(t), a.args...)

	a.caFile = filepath.Join(c.dir, "cluster-ca.crt")
	require.NoError(t, os.WriteFile(a.caFile, []byte(c.stack.bundle.ClusterCA.Cert), 0o600))
	return a
}

// run runs the real kubectl from the client machine.
func (a *realAPIServer) run(kubeconfig string, args ...string) (string, error) {
	return a.c.client.Run(2*time.Minute, nil, a.kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...)
}

// anonymous sends an HTTPS GET without credentials to the API through its
// name and returns the HTTP status and body. It uses openssl (kubectl
// always authenticates, or prompts), verifying the API server's
// certificate against the cluster CA.
func (a *realAPIServer) anonymous(path string) (int, string, error) {
	return a.anonymousAt(a.c.stack.apiName(), path)
}

// anonymousAt is anonymous sent to the address addr (the certificate is
// still checked for the API's name).
func (a *realAPIServer) anonymousAt(addr, path string) (int, string, error) {
	host := a.c.stack.apiName()
	const script = `printf 'GET %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: kinfra-real-test\r\nConnection: close\r\n\r\n' "$1" "$2" "$3" |
	openssl s_client -quiet -verify_return_error -verify_hostname "$2" -connect "$5:$3" -servername "$2" -CAfile "$4" 2>/dev/null`
	out, err := a.c.client.Run(time.Minute, nil, "bash", "-c", script, "anonymous", path, host, strconv.Itoa(bootstrap.APIPort), a.caFile, addr)
	if err != nil {
		return 0, out, err
	}
	status, rest, _ := strings.Cut(out, "\r\n")
	var code int
	if _, err := fmt.Sscanf(status, "HTTP/1.1 %d", &code); err != nil {
		return 0, out, fmt.Errorf("not an HTTP response: %q", realTruncate(out, 200))
	}
	_, body, _ := strings.Cut(rest, "\r\n\r\n")
	return code, body, nil
}

// waitReady waits until the API server's /readyz answers ok on its own
// address (anonymously, as the load balancer's health check asks), failing
// early if it exits; behind the roll test's load balancer, also until its
// target is healthy (clients reach it from then on).
func (a *realAPIServer) waitReady(t testing.TB) {
	t.Helper()
	testtools.WaitFor(t, 3*time.Minute, "kube-apiserver /readyz on "+a.m.host.Name, func() error {
		if done, err := a.proc.Exited(); done {
			t.Fatalf("kube-apiserver exited: %v\n%s", err, testtools.Tail(a.proc.Log, 20))
		}
		code, body, err := a.anonymousAt(a.m.host.IP(), "/readyz")
		if err != nil {
			return err
		}
		if code != 200 || strings.TrimSpace(body) != "ok" {
			return fmt.Errorf("/readyz: %d %s", code, realTruncate(body, 300))
		}
		return nil
	})
	if a.c.lb != nil {
		a.c.lb.waitHealthy(t, a.m.host.IP())
	}
}

// startControlPlane is the whole of slot 0's control plane on the stack's
// etcd cluster: etcd on every slot, kubeadm's phases, the API server, and
// what `kubeadm init` does next that the tests rely on (upload-config,
// whose client bootstraps the binding of the admin group to cluster-admin).
func (c *realCluster) startControlPlane(t testing.TB) *realAPIServer {
	t.Helper()
	c.startEtcdCluster(t)
	a := c.startAPIServer(t, c.prepareControlPlane(t, nil))
	a.waitReady(t)
	out, err := a.m.kubeadm(t, "init", "phase", "upload-config", "kubeadm", "--config", bootstrap.KubeadmInitPath)
	require.NoError(t, err, out)
	return a
}
