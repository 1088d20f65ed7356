package tests

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
)

// The master boot script's AWS steps against moto_server; the harness is in
// bootscript_harness_test.go, the scope in docs/real-binaries-boot.md.

// Slot 0's first boot: the slot's volume is attached here under the rendered
// device name, the slot's record points here, the PKI comes from SSM, the
// etcd certificates are issued by the etcd CA, the blank volume is formatted
// once, etcd is started and kubeadm init runs with the rendered config.
func TestBootScriptAWSFirstBootOfSlot0(t *testing.T) {
	t.Parallel()
	w := newBootWorld(t, 0, bootWorldOptions{})
	code, out := w.boot()
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "slot 0 is a control-plane node")

	w.requireAttachedHere()
	w.requireRecordHere()
	w.requireSafeAWSCalls()
	require.Equal(t, []string{"ec2 describe-volumes", "ec2 attach-volume", "ec2 describe-volumes",
		"route53 change-resource-record-sets", "route53 wait"}, w.awsSubcommands()[:5])
	w.requireParametersRead(bootInitParameters...)
	w.requireEtcdPKI()
	w.requireControlPlanePKI()
	w.requireToolsInstalled()

	// Blank (blkid exit 2), the peers do not answer yet (a new cluster):
	// formatted exactly once, then mounted.
	require.Equal(t, []bootCall{{"blkid", []string{"-p", "-s", "TYPE", "-o", "value", w.device}}}, w.callsOf("blkid"))
	require.Equal(t, []bootCall{{"mkfs.ext4", []string{"-q", "-L", "etcd-0", w.device}}}, w.callsOf("mkfs.ext4"))
	require.Equal(t, []bootCall{{"mount", []string{"-o", "noatime", w.device, w.dataMount}}}, w.callsOf("mount"))
	w.requireEtcdStarted()

	// No cluster in etcd yet: kubeadm init with the rendered configuration.
	init := w.callsOf("kubeadm", "init", "--config")
	require.Len(t, init, 1)
	require.Equal(t, []string{"init", "--config", w.rendered(bootstrap.KubeadmInitPath), "--skip-token-print"}, init[0].Args)
	// Every peer is asked whether the member ran (none answers: a new
	// cluster), then etcd's health, then whether the cluster exists.
	var etcdctl []string
	for _, p := range w.peers() {
		etcdctl = append(etcdctl, bootMemberList(p))
	}
	// The member's record once healthy, the cluster's after init.
	require.Equal(t, append(etcdctl, bootEtcdHealth, bootEtcdStatus, bootClusterCheck, bootEtcdStatus), w.etcdctlCommands())
	// kinfra:pki's token, the first join token, lives the rendered TTL
	// (docs/masters.md, "Join tokens"), never forever.
	require.Equal(t, "86400", w.env["JOIN_TOKEN_TTL"])
	require.Len(t, w.callsOf("kubeadm", "token", "create", w.bundle.BootstrapToken, "--ttl", "86400s"), 1)
	require.Empty(t, w.callsOf("kubeadm", "token", "create", w.bundle.BootstrapToken, "--ttl", "0"))
	require.Empty(t, w.callsOf("kubeadm", "join"))
	require.FileExists(t, filepath.Join(w.dataMount, "kinfra-cluster-initialized"))

	w.requireOrder(
		bootStep{"aws", []string{"--region", w.plan.Region, "ec2", "attach-volume"}},
		bootStep{"aws", []string{"--region", w.plan.Region, "route53", "change-resource-record-sets"}},
		bootStep{"blkid", nil}, bootStep{"mkfs.ext4", nil}, bootStep{"mount", nil},
		bootStep{"systemctl", []string{"start", "--no-block", "etcd.service"}},
		bootStep{"kubeadm", []string{"init", "--config"}},
	)
}

// A replaced master: the slot's volume is still attached to the failed
// predecessor. The boot waits (and neither attaches nor detaches) until
// AWS releases the volume, which it does when the predecessor terminates;
// then it attaches it, keeps its filesystem and joins (slot 0 too: its
// marker is on the volume and etcd holds the cluster).
func TestBootScriptAWSReplacedMasterWaitsForThePredecessor(t *testing.T) {
	t.Parallel()
	w := newBootWorld(t, 0, bootWorldOptions{predecessor: true})
	w.set("fstype", "ext4\n")
	w.set("kube-system", "")
	require.NoError(t, os.MkdirAll(w.dataMount, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(w.dataMount, "kinfra-cluster-initialized"), nil, 0o644))
	vol := w.volumes[0]

	r := w.start()
	waiting := fmt.Sprintf("volume %s is attached to %s; waiting for it to be released", vol, w.pred.ID)
	r.waitForLog(waiting, 3)
	// Three looks at the volume, and nothing else done to it.
	for _, sub := range w.awsSubcommands() {
		require.Equal(t, "ec2 describe-volumes", sub, "while the predecessor holds the volume")
	}
	v := w.api.volume(t, vol)
	require.Equal(t, "in-use", v.Status)
	require.Equal(t, []motoAttachment{{w.pred.ID, w.deviceName, "attached"}}, v.Attachments)
	require.Equal(t, []string{w.pred.PrivateIP}, w.recordValues(), "the record is not taken before the volume")

	// The auto scaling group terminates the failed instance: AWS releases
	// its volumes (moto too).
	w.api.instanceAction(t, "TerminateInstances", w.pred.ID)
	code := r.wait()
	out := r.output()
	require.Equal(t, 0, code, out)
	require.Equal(t, "terminated", w.api.instanceState(t, w.pred.ID))

	w.requireAttachedHere()
	w.requireRecordHere()
	w.requireSafeAWSCalls()
	require.Len(t, w.callsOf("aws", "--region", w.plan.Region, "ec2", "attach-volume"), 1)
	i := strings.Index(out, "attaching volume "+vol+" as "+w.deviceName)
	require.Positive(t, i, out)
	require.Less(t, strings.LastIndex(out, waiting), i, "attached only after the waiting ended")

	require.Empty(t, w.callsOf("mkfs.ext4"), "a volume with a filesystem is never formatted")
	// The marker on the volume: slot 0 joins without asking etcd.
	require.Equal(t, []string{bootEtcdHealth, bootEtcdStatus, bootClusterCheck, bootEtcdStatus}, w.etcdctlCommands())
	w.requireEtcdStarted()
	w.requireControlPlaneBuilt()
}

// A volume with a filesystem (blkid finds ext4) is kept: never formatted,
// and no lost-member check is needed; slot 2 mounts it and joins.
func TestBootScriptAWSKeepsAVolumeWithAFilesystem(t *testing.T) {
	t.Parallel()
	slot := len(bootMasterPlan(t).Slots) - 1
	w := newBootWorld(t, slot, bootWorldOptions{})
	w.set("kube-system", "") // slot 0 created the cluster
	w.set("fstype", "ext4\n")
	code, out := w.boot()
	require.Equal(t, 0, code, out)
	require.Contains(t, out, w.device+" holds an existing ext4 filesystem; keeping it")

	w.requireAttachedHere()
	w.requireRecordHere()
	w.requireSafeAWSCalls()
	require.Len(t, w.callsOf("blkid"), 1)
	require.Empty(t, w.callsOf("mkfs.ext4"))
	require.Equal(t, []string{bootEtcdHealth, bootEtcdStatus, bootClusterCheck, bootEtcdStatus}, w.etcdctlCommands(), "no lost-member check for a volume with data")
	require.Equal(t, []bootCall{{"mount", []string{"-o", "noatime", w.device, w.dataMount}}}, w.callsOf("mount"))
	w.requireEtcdStarted()
	w.requireControlPlaneBuilt()
}

// A failed describe-volumes (throttling, a network blip) is retried like
// any other wait instead of ending the boot, which would leave the slot
// down until someone restarts it.
func TestBootScriptAWSRetriesAFailedVolumeLookup(t *testing.T) {
	t.Parallel()
	slot := len(bootMasterPlan(t).Slots) - 1
	w := newBootWorld(t, slot, bootWorldOptions{})
	w.set("kube-system", "") // slot 0 created the cluster
	w.set("fstype", "ext4\n")
	w.set("describe-failures", "2\n")
	code, out := w.boot()
	require.Equal(t, 0, code, out)
	require.Equal(t, 2, strings.Count(out, "is unknown (describe-volumes failed); waiting"), out)
	require.GreaterOrEqual(t, len(w.callsOf("aws", "--region", w.plan.Region, "ec2", "describe-volumes")), 3)
	w.requireAttachedHere()
	w.requireRecordHere()
	w.requireSafeAWSCalls()
	w.requireEtcdStarted()
}

// A blank volume for a member that has run before (the peers list it with
// client URLs) stops the boot with "data is lost": nothing is formatted,
// mounted or started.
func TestBootScriptAWSBlankVolumeOfAMemberThatRanStopsTheBoot(t *testing.T) {
	t.Parallel()
	w := newBootWorld(t, 1, bootWorldOptions{})
	w.set("members", w.members(0, 1, 2))
	code, out := w.boot()
	require.Equal(t, 1, code, out)
	require.Contains(t, out, fmt.Sprintf("FATAL: etcd member etcd-1 has run before but volume %s is blank: its data is lost. "+
		"Replace the member by hand (docs/masters.md, 'Lost etcd volume'); not formatting, not starting etcd", w.volumes[1]))

	// The steps before the check did happen: volume, record, etcd client
	// certificate (the check needs it).
	w.requireAttachedHere()
	w.requireRecordHere()
	w.requireSafeAWSCalls()
	w.requireEtcdPKI()
	require.Equal(t, []string{bootMemberList(w.peers()[0])}, w.etcdctlCommands(), "the first peer that answers decides")
	require.Len(t, w.callsOf("blkid"), 1)
	for _, cmd := range []string{"mkfs.ext4", "mount", "systemctl", "kubeadm"} {
		require.Empty(t, w.callsOf(cmd), cmd)
	}
	require.NoFileExists(t, filepath.Join(w.state, "etcd-started"))
	w.requireParametersRead("control-plane/etcd-ca.crt", "control-plane/etcd-ca.key")
}

// Slot 1's first boot in an existing cluster: the peers list etcd-1 without
// client URLs (it never ran), so its blank volume is formatted; it builds
// its control-plane node from the PKI, never kubeadm init or join.
func TestBootScriptAWSSlot1BuildsItsControlPlaneInTheExistingCluster(t *testing.T) {
	t.Parallel()
	w := newBootWorld(t, 1, bootWorldOptions{})
	w.set("kube-system", "") // slot 0 created the cluster
	w.set("members", w.members(0))
	code, out := w.boot()
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "slot 1 is a control-plane node")

	w.requireAttachedHere()
	w.requireRecordHere()
	w.requireSafeAWSCalls()
	w.requireParametersRead(bootControlPlaneParameters...)
	w.requireEtcdPKI()
	w.requireControlPlanePKI()
	require.Equal(t, []bootCall{{"mkfs.ext4", []string{"-q", "-L", "etcd-1", w.device}}}, w.callsOf("mkfs.ext4"))
	w.requireEtcdStarted()
	// The first peer answers; only slot 0 asks whether the cluster exists.
	require.Equal(t, []string{bootMemberList(w.peers()[0]), bootEtcdHealth, bootEtcdStatus, bootClusterCheck, bootEtcdStatus}, w.etcdctlCommands())
	w.requireControlPlaneBuilt()
}

// A reboot: the volume is already attached here and the instance is a
// control-plane node (its static pods, and the boot's mark that it built
// and marked the node). Nothing is attached, formatted or joined; the
// record is pointed here again and etcd started.
func TestBootScriptAWSRebootOfAControlPlaneNode(t *testing.T) {
	t.Parallel()
	w := newBootWorld(t, 1, bootWorldOptions{})
	w.api.attachVolume(t, w.volumes[1], w.self.ID, w.deviceName)
	w.set("fstype", "ext4\n")
	require.NoError(t, os.MkdirAll(filepath.Join(w.kubeconfigDir, "manifests"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(w.kubeconfigDir, "manifests", "kube-apiserver.yaml"), nil, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(w.kubeconfigDir, "kinfra-control-plane-node"), nil, 0o644))
	code, out := w.boot()
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "volume "+w.volumes[1]+" is attached to this instance")
	require.Contains(t, out, "this instance is already a control-plane node")

	w.requireAttachedHere()
	w.requireRecordHere()
	w.requireSafeAWSCalls()
	require.Empty(t, w.callsOf("aws", "--region", w.plan.Region, "ec2", "attach-volume"))
	require.Empty(t, w.callsOf("mkfs.ext4"))
	w.requireEtcdStarted()
	require.Equal(t, []string{bootEtcdHealth, bootEtcdStatus, bootEtcdStatus}, w.etcdctlCommands())
	// Only upgrade_cluster's look-up: the cluster's configuration is at
	// this master's version.
	require.Equal(t, []bootCall{{"kubeadm", []string{"config", "images", "list", "--config", w.rendered(bootstrap.KubeadmInitPath)}}}, w.callsOf("kubeadm"))
	w.requireParametersRead("control-plane/etcd-ca.crt", "control-plane/etcd-ca.key")
}

// controlPlaneParameters are what a master reads to init or join, in order.
var bootControlPlaneParameters = []string{
	"control-plane/etcd-ca.crt", "control-plane/etcd-ca.key",
	"control-plane/ca.crt", "control-plane/ca.key", "control-plane/front-proxy-ca.crt", "control-plane/front-proxy-ca.key",
	"control-plane/sa.key", "control-plane/sa.pub", "control-plane/encryption-config.yaml",
}

// bootInitParameters: slot 0's first boot also reads the join token, which
// kubeadm init makes a token of the cluster.
var bootInitParameters = append(slices.Clone(bootControlPlaneParameters), "join/bootstrap-token")

// rendered is the local path of a rendered file: its base name in KINFRA_DIR.
func (w *bootWorld) rendered(path string) string {
	p := filepath.Join(w.kinfraDir, filepath.Base(path))
	require.Equal(w.t, w.files[path], mustRead(w.t, p), "%s is the rendered file", p)
	return p
}

// peers are the rendered ETCD_PEERS.
func (w *bootWorld) peers() []string { return strings.Fields(w.env["ETCD_PEERS"]) }

// local is the member's own client endpoint, as the script asks it.
const bootLocalEtcd = "https://127.0.0.1:2379"

// etcdctlCommands are the etcdctl calls as "<endpoint> <command>", in
// order; every call used the etcd client certificate the script issued.
func (w *bootWorld) etcdctlCommands() []string {
	w.t.Helper()
	var out []string
	tlsFlags := []string{"--cacert", filepath.Join(w.etcdPKIDir, "ca.crt"),
		"--cert", filepath.Join(w.etcdPKIDir, "apiserver-etcd-client.crt"),
		"--key", filepath.Join(w.etcdPKIDir, "apiserver-etcd-client.key"),
		"--dial-timeout", "5s", "--command-timeout", "10s"}
	for _, c := range w.callsOf("etcdctl") {
		require.GreaterOrEqual(w.t, len(c.Args), 2+len(tlsFlags), c.String())
		require.Equal(w.t, "--endpoints", c.Args[0], c.String())
		require.Equal(w.t, tlsFlags, c.Args[2:2+len(tlsFlags)], c.String())
		out = append(out, c.Args[1]+" "+strings.Join(c.Args[2+len(tlsFlags):], " "))
	}
	return out
}

// memberList is the lost-member check's question to a peer.
func bootMemberList(peer string) string { return peer + " member list -w simple --consistency=l" }

const (
	bootEtcdHealth   = bootLocalEtcd + " endpoint health"
	bootEtcdStatus   = bootLocalEtcd + " endpoint status -w fields"
	bootClusterCheck = bootLocalEtcd + " get /registry/namespaces/kube-system --keys-only"
)

// requireAttachedHere: in the emulator, the slot's volume (by ID) is
// attached to this instance under the rendered device name, in the slot's
// zone; no other slot's volume is attached anywhere.
func (w *bootWorld) requireAttachedHere() {
	t := w.t
	t.Helper()
	v := w.api.volume(t, w.volumes[w.slot.Slot])
	require.Equal(t, "in-use", v.Status)
	require.Equal(t, w.slot.Volume.Zone, v.Zone)
	require.Len(t, v.Attachments, 1)
	require.Equal(t, w.self.ID, v.Attachments[0].InstanceID)
	require.Equal(t, w.deviceName, v.Attachments[0].Device)
	for s, id := range w.volumes {
		if s != w.slot.Slot {
			o := w.api.volume(t, id)
			require.Equal(t, "available", o.Status, "slot %d's volume", s)
			require.Empty(t, o.Attachments, "slot %d's volume", s)
		}
	}
	for _, c := range w.callsOf("aws", "--region", w.plan.Region, "ec2", "attach-volume") {
		require.Equal(t, []string{"--volume-id", w.volumes[w.slot.Slot], "--instance-id", w.self.ID, "--device", w.deviceName}, c.Args[4:])
	}
}

// recordValues is what the slot's A record holds in the emulator.
func (w *bootWorld) recordValues() []string {
	w.t.Helper()
	var found []motoRecordSet
	for _, r := range w.api.records(w.t, w.zoneID) {
		if strings.TrimSuffix(r.Name, ".") == w.env["ETCD_RECORD"] {
			found = append(found, r)
		}
	}
	require.Len(w.t, found, 1, "one record set named %s", w.env["ETCD_RECORD"])
	require.Equal(w.t, "A", found[0].Type)
	require.Equal(w.t, 30, found[0].TTL)
	return found[0].Values
}

// requireRecordHere: the slot's record points at this instance only; the
// other slots' records are as the program created them.
func (w *bootWorld) requireRecordHere() {
	t := w.t
	t.Helper()
	require.Equal(t, []string{w.self.PrivateIP}, w.recordValues())
	for _, r := range w.api.records(t, w.zoneID) {
		for _, s := range w.plan.Slots {
			if s.Slot != w.slot.Slot && strings.TrimSuffix(r.Name, ".") == s.Record.Name {
				require.Equal(t, s.Record.Values, r.Values, "slot %d's record", s.Slot)
			}
		}
	}
	require.Len(t, w.callsOf("aws", "--region", w.plan.Region, "route53", "wait", "resource-record-sets-changed", "--id"), 1)
}

// requireSafeAWSCalls: every AWS call went through the script's region, none
// detached a volume (let alone forced it), and the metadata service was
// never asked.
func (w *bootWorld) requireSafeAWSCalls() {
	t := w.t
	t.Helper()
	calls := w.callsOf("aws")
	require.NotEmpty(t, calls)
	for _, c := range calls {
		require.Equal(t, []string{"--region", w.plan.Region}, c.Args[:2], c.String())
		line := c.String()
		require.NotContains(t, line, "detach", line)
		require.NotContains(t, line, "--force", line)
	}
	for _, c := range w.callsOf("curl") {
		require.NotContains(t, c.String(), "169.254.169.254", "INSTANCE_ID and PRIVATE_IP are set: no instance metadata")
	}
}

// requireParametersRead: the script read exactly these SSM parameters (under
// the rendered prefix, decrypted), in this order.
func (w *bootWorld) requireParametersRead(names ...string) {
	t := w.t
	t.Helper()
	var want, got []string
	for _, n := range names {
		want = append(want, w.env["PARAMETER_PREFIX"]+"/"+n)
	}
	for _, c := range w.callsOf("aws", "--region", w.plan.Region, "ssm", "get-parameter") {
		if strings.HasPrefix(c.Args[5], w.env["PARAMETER_PREFIX"]+"/"+bootstrap.StateGroup+"/") {
			continue // the etcd record: a plain String (bootRecordReads)
		}
		if strings.HasPrefix(c.Args[6], w.env["PARAMETER_PREFIX"]+"/"+bootstrap.ToolsGroup+"/") {
			continue // the tools (requireToolsInstalled)
		}
		require.Equal(t, "--with-decryption", c.Args[4], c.String())
		require.Equal(t, "--name", c.Args[5], c.String())
		got = append(got, c.Args[6])
	}
	require.Equal(t, want, got)
}

// requireToolsInstalled: every tool the slot's manifest names is in place
// under the tools root, with its content and mode.
func (w *bootWorld) requireToolsInstalled() {
	t := w.t
	t.Helper()
	entries, err := bootstrap.ParseToolsManifest(w.files[bootstrap.ToolsManifestPath])
	require.NoError(t, err)
	require.Len(t, entries, len(w.tools), "the manifest names every tool parameter the plan creates")
	for _, e := range entries {
		value, ok := w.tools[w.env["PARAMETER_PREFIX"]+"/"+e.Parameter]
		require.True(t, ok, "%s: the plan creates %s", e.Path, e.Parameter)
		want, err := bootstrap.ToolContent(e.Parameter, value)
		require.NoError(t, err)
		path := filepath.Join(w.toolsRoot, e.Path)
		require.Equal(t, want, mustRead(t, path), e.Path)
		info, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, e.Permissions, fmt.Sprintf("%04o", info.Mode().Perm()), e.Path)
	}
}

// requireFile: path holds the SSM parameter's value with the given mode.
// The script reads values with `--output text`, which ends them with a
// newline of its own: PEM and YAML do not mind the extra line.
func (w *bootWorld) requireFile(path, parameter string, mode os.FileMode) {
	t := w.t
	t.Helper()
	value, ok := w.params[w.env["PARAMETER_PREFIX"]+"/"+parameter]
	require.True(t, ok, parameter)
	require.Equal(t, value+"\n", mustRead(t, path), "%s holds %s", path, parameter)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, mode, fi.Mode().Perm(), path)
	require.NoFileExists(t, path+".tmp")
}

func (w *bootWorld) requireControlPlanePKI() {
	w.t.Helper()
	for _, f := range []struct {
		path, parameter string
		mode            os.FileMode
	}{
		{"ca.crt", "control-plane/ca.crt", 0o644},
		{"ca.key", "control-plane/ca.key", 0o600},
		{"front-proxy-ca.crt", "control-plane/front-proxy-ca.crt", 0o644},
		{"front-proxy-ca.key", "control-plane/front-proxy-ca.key", 0o600},
		{"sa.key", "control-plane/sa.key", 0o600},
		{"sa.pub", "control-plane/sa.pub", 0o644},
	} {
		w.requireFile(filepath.Join(w.pkiDir, f.path), f.parameter, f.mode)
	}
	w.requireFile(w.encryption, "control-plane/encryption-config.yaml", 0o600)
}

// requireEtcdPKI: the etcd CA from SSM, and this host's certificates issued
// by openssl, checked by `openssl verify` against the etcd CA and by Go:
// names, addresses, usages, matching keys.
func (w *bootWorld) requireEtcdPKI() {
	t := w.t
	t.Helper()
	fi, err := os.Stat(w.etcdPKIDir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	w.requireFile(filepath.Join(w.etcdPKIDir, "ca.crt"), "control-plane/etcd-ca.crt", 0o644)
	w.requireFile(filepath.Join(w.etcdPKIDir, "ca.key"), "control-plane/etcd-ca.key", 0o600)

	etcdCA := x509.NewCertPool()
	require.True(t, etcdCA.AppendCertsFromPEM([]byte(w.bundle.EtcdCA.Cert)))
	clusterCA := x509.NewCertPool()
	require.True(t, clusterCA.AppendCertsFromPEM([]byte(w.bundle.ClusterCA.Cert)))
	caFile := filepath.Join(w.dir, "etcd-ca-from-bundle.crt")
	require.NoError(t, os.WriteFile(caFile, []byte(w.bundle.EtcdCA.Cert), 0o644))

	ip := net.ParseIP(w.self.PrivateIP)
	require.NotNil(t, ip)
	both := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	for _, c := range []struct {
		name, cn string
		usage    []x509.ExtKeyUsage
		purpose  string
		dns      []string
		ips      []net.IP
	}{
		{"server", w.env["ETCD_NAME"], both, "sslserver", []string{w.env["ETCD_RECORD"], "localhost"}, []net.IP{net.IPv4(127, 0, 0, 1), ip}},
		{"peer", w.env["ETCD_NAME"], both, "sslserver", []string{w.env["ETCD_RECORD"], "localhost"}, []net.IP{net.IPv4(127, 0, 0, 1), ip}},
		{"apiserver-etcd-client", "kube-apiserver-etcd-client", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, "sslclient", nil, nil},
	} {
		crtPath := filepath.Join(w.etcdPKIDir, c.name+".crt")
		keyPath := filepath.Join(w.etcdPKIDir, c.name+".key")
		out, err := exec.Command(w.openssl, "verify", "-CAfile", caFile, "-purpose", c.purpose, crtPath).CombinedOutput()
		require.NoError(t, err, "openssl verify %s: %s", c.name, out)
		require.Equal(t, crtPath+": OK\n", string(out))

		crtPEM, keyPEM := mustRead(t, crtPath), mustRead(t, keyPath)
		_, err = tls.X509KeyPair([]byte(crtPEM), []byte(keyPEM))
		require.NoError(t, err, "%s.key is %s.crt's key", c.name, c.name)
		fi, err := os.Stat(keyPath)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), keyPath)
		block, _ := pem.Decode([]byte(crtPEM))
		require.NotNil(t, block)
		cert, err := x509.ParseCertificate(block.Bytes)
		require.NoError(t, err)
		require.Equal(t, c.cn, cert.Subject.CommonName, c.name)
		require.False(t, cert.IsCA, c.name)
		require.Equal(t, c.usage, cert.ExtKeyUsage, c.name)
		require.Equal(t, x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment, cert.KeyUsage, c.name)
		require.Equal(t, c.dns, cert.DNSNames, c.name)
		require.Equal(t, len(c.ips), len(cert.IPAddresses), c.name)
		for i := range c.ips {
			require.True(t, c.ips[i].Equal(cert.IPAddresses[i]), "%s: IP SAN %d is %s, want %s", c.name, i, cert.IPAddresses[i], c.ips[i])
		}
		_, err = cert.Verify(x509.VerifyOptions{Roots: etcdCA, KeyUsages: c.usage})
		require.NoError(t, err, c.name)
		_, err = cert.Verify(x509.VerifyOptions{Roots: clusterCA, KeyUsages: c.usage})
		require.Error(t, err, "%s is issued by the etcd CA, not the cluster CA", c.name)
		require.NoFileExists(t, filepath.Join(w.etcdPKIDir, c.name+".csr"))
	}
}

// requireEtcdStarted: the data directory on the mounted volume, then etcd
// started (never enabled) and found healthy.
func (w *bootWorld) requireEtcdStarted() {
	t := w.t
	t.Helper()
	// etcd started, then (once a control-plane node whose cluster record
	// is written) the health report's timer, then the certificate
	// renewal, backup, defragmentation and join token timers.
	require.Equal(t, []bootCall{
		{"systemctl", []string{"daemon-reload"}},
		{"systemctl", []string{"start", "--no-block", "etcd.service"}},
		{"systemctl", []string{"enable", "--now", "kinfra-master-health.timer"}},
		{"systemctl", []string{"enable", "--now", "kinfra-cert-renew.timer"}},
		{"systemctl", []string{"enable", "--now", "kinfra-etcd-backup.timer"}},
		{"systemctl", []string{"enable", "--now", "kinfra-etcd-defrag.timer"}},
		{"systemctl", []string{"enable", "--now", "kinfra-join-token.timer"}},
	}, w.callsOf("systemctl"))
	require.Equal(t, w.dataMount+"\n", mustRead(t, filepath.Join(w.state, "mounted")), "etcd starts on the mounted volume")
	fi, err := os.Stat(filepath.Join(w.dataMount, "data"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	w.requireOrder(bootStep{"mount", nil}, bootStep{"systemctl", []string{"start", "--no-block", "etcd.service"}},
		bootStep{"etcdctl", []string{"--endpoints", bootLocalEtcd}})
}

// requireControlPlaneBuilt: this master's control-plane node built from
// the PKI with kubeadm's init phases and its own rendered configuration
// (no kubeadm join, no API needed; never kubeadm init), then marked as a
// control-plane node through the API.
func (w *bootWorld) requireControlPlaneBuilt() {
	t := w.t
	t.Helper()
	var kubeadm []string
	for _, c := range w.callsOf("kubeadm") {
		kubeadm = append(kubeadm, strings.Join(c.Args, " "))
	}
	initPath := w.rendered(bootstrap.KubeadmInitPath)
	require.Equal(t, []string{
		"init phase certs all --config " + initPath,
		"init phase kubeconfig all --config " + initPath,
		"init phase kubelet-start --config " + initPath,
		"init phase control-plane all --config " + initPath,
		"init phase mark-control-plane --config " + initPath,
		// upgrade_cluster: kubeadm-config is at this master's version and
		// CoreDNS at its kubeadm's image, so nothing is upgraded.
		"config images list --config " + initPath,
	}, kubeadm)
	w.requireParametersRead(bootControlPlaneParameters...)
	w.requireControlPlanePKI()
	require.FileExists(t, filepath.Join(w.dataMount, "kinfra-cluster-initialized"))
}

// bootStep is a call prefix for requireOrder.
type bootStep struct {
	name string
	args []string
}

// requireOrder: the first call of each step comes after the previous one's.
func (w *bootWorld) requireOrder(steps ...bootStep) {
	w.t.Helper()
	last, lastName := -1, ""
	for _, s := range steps {
		i := w.index(s.name, s.args...)
		require.GreaterOrEqual(w.t, i, 0, "%s %v was called", s.name, s.args)
		require.Greater(w.t, i, last, "%s %v comes after %s", s.name, s.args, lastName)
		last, lastName = i, s.name+" "+strings.Join(s.args, " ")
	}
}

// putRecord writes the cluster's record as a booted slot 0 leaves it.
func (w *bootWorld) putRecord(name, value string) {
	w.t.Helper()
	w.api.jsonCall(w.t, "ssm", "AmazonSSM.PutParameter", map[string]any{
		"Name": w.env["PARAMETER_PREFIX"] + "/" + name, "Type": "String", "Value": value,
	}, nil)
}

const bootClusterRecordValue = `{"cluster":"prod-use1","clusterId":"cdf818194e3a8c32","generation":0,"token":"prod-use1","members":["etcd-0","etcd-1","etcd-2"],"caCertHash":"sha256:00","writtenBy":"etcd-0","time":"2026-12-01T00:00:00Z"}`

// Issue 13's hole: the cluster exists (its record is in SSM), this slot's
// volume comes back blank and no peer answers (no quorum). Before, no
// answer let the boot format; now it stops, names the recovery command, and
// neither formats nor starts etcd.
func TestBootScriptAWSBlankVolumeWithoutQuorumStopsOnceTheClusterExists(t *testing.T) {
	t.Parallel()
	w := newBootWorld(t, 1, bootWorldOptions{})
	w.putRecord(bootstrap.ClusterRecord, bootClusterRecordValue)
	code, out := w.boot()
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "FATAL: etcd cluster prod-use1 exists (cluster ID cdf818194e3a8c32, generation 0")
	require.Contains(t, out, "no peer answered with a quorum")
	require.Contains(t, out, "kinfra etcd restore --stack <stack> --snapshot latest")
	require.Empty(t, w.callsOf("mkfs.ext4"), "nothing formatted")
	require.Empty(t, w.callsOf("mount"))
	require.NoFileExists(t, filepath.Join(w.state, "etcd-started"), "etcd not started")
	var lists []string
	for _, p := range w.peers() {
		lists = append(lists, bootMemberList(p))
	}
	require.Equal(t, lists, w.etcdctlCommands(), "every peer asked, none answered")

	// A live quorum that lists the member as never started does consent.
	w2 := newBootWorld(t, 1, bootWorldOptions{})
	w2.putRecord(bootstrap.ClusterRecord, bootClusterRecordValue)
	w2.set("members", w2.members(0, 2))
	w2.set("kube-system", "")
	code, out = w2.boot()
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "a quorum lists etcd member etcd-1 as never started")
	require.Len(t, w2.callsOf("mkfs.ext4"), 1)
}

// Slot 0 whose volume looks new (no marker) never runs kubeadm init once
// the cluster's record exists: it builds its control-plane node like any
// other master.
func TestBootScriptAWSSlot0NeverInitsOnceTheRecordExists(t *testing.T) {
	t.Parallel()
	w := newBootWorld(t, 0, bootWorldOptions{})
	w.set("kube-system", "") // slot 0 created the cluster
	w.putRecord(bootstrap.ClusterRecord, bootClusterRecordValue)
	w.set("members", w.members(1, 2))
	code, out := w.boot()
	require.Equal(t, 0, code, out)
	require.Empty(t, w.callsOf("kubeadm", "init", "--config"), "no kubeadm init")
	w.requireControlPlaneBuilt()
	// The member recorded itself; the cluster's record was left as it was.
	var got struct{ Parameter struct{ Value string } }
	w.api.jsonCall(t, "ssm", "AmazonSSM.GetParameter", map[string]any{"Name": w.env["PARAMETER_PREFIX"] + "/" + bootstrap.MemberRecord(0)}, &got)
	require.JSONEq(t, `{"member":"etcd-0","memberId":"8e9e05c52164694d","clusterId":"cdf818194e3a8c32","generation":0}`,
		stripTime(t, got.Parameter.Value))
	w.api.jsonCall(t, "ssm", "AmazonSSM.GetParameter", map[string]any{"Name": w.env["PARAMETER_PREFIX"] + "/" + bootstrap.ClusterRecord}, &got)
	require.Equal(t, bootClusterRecordValue, got.Parameter.Value)
}

// stripTime drops a record's time field, which changes every run.
func stripTime(t *testing.T, record string) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(record), &m), record)
	require.NotEmpty(t, m["time"])
	delete(m, "time")
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return string(b)
}
