package tests

// etcd data safety on real binaries (docs/real-binaries.md, docs/masters.md
// "etcd data safety"): a committed stack's rendered masters, real etcd,
// etcdctl and etcdutl in network namespaces, the real AWS CLI against
// moto_server on the same network for the cluster's record (SSM) and its
// snapshots (S3). Every test writes data first and reads every key back.

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/etcdops"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/testtools"
)

func realSafetyTools(t *testing.T) {
	testtools.RequireNetns(t)
	for _, tool := range []string{"etcd", "etcdctl", "etcdutl", "moto_server", "aws"} {
		testtools.Path(t, tool)
	}
}

// writeKeys puts n keys through slot 0's member and returns them.
func (c *realCluster) writeKeys(t *testing.T, prefix string, n int) map[string]string {
	t.Helper()
	keys := map[string]string{}
	for i := range n {
		k, v := fmt.Sprintf("/kinfra-test/%s/%03d", prefix, i), fmt.Sprintf("value-%d", i)
		_, err := c.masters[0].etcdctl(c.endpoint(0), "put", k, v)
		require.NoError(t, err)
		keys[k] = v
	}
	return keys
}

// readKeys reads every key under /kinfra-test/ linearizably through m.
func (m *realMaster) readKeys(t *testing.T) (map[string]string, error) {
	out, err := m.etcdctl(m.c.endpoint(m.slot.index), "get", "/kinfra-test/", "--prefix", "-w", "json")
	if err != nil {
		return nil, err
	}
	var resp struct {
		KVs []struct{ Key, Value []byte } `json:"kvs"`
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		return nil, err
	}
	got := map[string]string{}
	for _, kv := range resp.KVs {
		got[string(kv.Key)] = string(kv.Value)
	}
	return got, nil
}

// record reads one of the cluster's record parameters from the emulator.
func (a *realAWS) record(t *testing.T, name string) map[string]any {
	t.Helper()
	out := a.must(t, "ssm", "get-parameter", "--name", a.c.stack.slots[0].env["PARAMETER_PREFIX"]+"/"+name,
		"--query", "Parameter.Value", "--output", "text")
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &v), out)
	return v
}

// recordAfterInit is what the boot records once the cluster exists: every
// member its own record when healthy, slot 0 the cluster's after kubeadm
// init. place_pki puts the cluster CA where the record's hash is read.
func (c *realCluster) recordAfterInit(t *testing.T) {
	t.Helper()
	for _, m := range c.masters {
		out, err := m.boot(t, 2*time.Minute, "place_pki\nrecord_member")
		require.NoError(t, err, out)
	}
	out, err := c.masters[0].boot(t, 2*time.Minute, "record_cluster")
	require.NoError(t, err, out)
}

// requestRestore writes the restore request exactly as `kinfra etcd
// restore` does (etcdops.RestoreRequest, at etcdops' parameter name), for
// the newest snapshot in the bucket.
func (a *realAWS) requestRestore(t *testing.T, generation int) (bucket, key string) {
	t.Helper()
	env := a.c.stack.slots[0].env
	bucket, prefix := env["BACKUP_BUCKET"], env["BACKUP_PREFIX"]
	var newest string
	for _, tier := range bootstrap.BackupTiers {
		out := a.must(t, "s3api", "list-objects-v2", "--bucket", bucket, "--prefix", prefix+"/"+tier+"/", "--query", "Contents[].Key", "--output", "text")
		for _, k := range strings.Fields(out) {
			if k != "None" && (newest == "" || k[strings.LastIndex(k, "/"):] > newest[strings.LastIndex(newest, "/"):]) {
				newest = k
			}
		}
	}
	require.NotEmpty(t, newest, "a snapshot in s3://%s/%s", bucket, prefix)
	var head struct {
		ContentLength int64
		VersionID     string `json:"VersionId"`
		Metadata      map[string]string
	}
	require.NoError(t, json.Unmarshal([]byte(a.must(t, "s3api", "head-object", "--bucket", bucket, "--key", newest)), &head))
	if head.VersionID == "null" {
		head.VersionID = "" // an unversioned object, as etcdops writes it
	}
	req, err := json.Marshal(etcdops.RestoreRequest{
		Generation: generation, Token: etcdops.RestoreToken(a.c.stack.cluster.Name, generation),
		Bucket: bucket, Key: newest, VersionID: head.VersionID, SHA256: head.Metadata["sha256"], Size: head.ContentLength,
		RequestedAt: time.Now().UTC().Format(time.RFC3339), RequestedBy: "arn:aws:iam::123456789012:user/test",
	})
	require.NoError(t, err)
	a.must(t, "ssm", "put-parameter", "--name", etcdops.ParameterNames(a.c.stack.cluster).Request, "--type", "String", "--overwrite", "--value", string(req))
	return bucket, newest
}

// strictRecord decodes a record the masters wrote into the type `kinfra
// etcd restore` reads it with, refusing any field it does not know.
func strictRecord(t *testing.T, raw map[string]any, into any) {
	t.Helper()
	b, err := json.Marshal(raw)
	require.NoError(t, err)
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(into), "%s", b)
}

// The disaster of issue 13, and the backup round trip, on one control
// plane (us-east-1's rendered masters, the real kube-apiserver on them):
// keys and API objects written, the cluster recorded, a snapshot by the
// rendered backup script to S3; then every member down, and slots 1 and 2
// back on blank volumes. Before the fix their boot asked the peers, none
// answered (no quorum), and it formatted and started etcd: the two blank
// members formed a quorum on an empty keyspace. Now the cluster's record
// says the cluster exists, so no answer is no consent: each refuses, and
// nothing is formatted or started. Slot 0's volume is lost too (every data
// directory wiped); the restore path brings the cluster back, and every key
// and every object is read back.
func TestRealEtcdDisasterIsRefusedThenRestoredWithEveryKeyAndObject(t *testing.T) {
	// Waits more than it computes: it runs beside the other slow tests.
	t.Parallel()
	realSafetyTools(t)
	realControlPlaneTools(t)
	st := loadRealStack(t, "us-east-1")
	c := newRealCluster(t, st)
	a := c.useAWS(t)
	env := st.slots[0].env
	require.NotEmpty(t, env["BACKUP_BUCKET"], "the stack backs etcd up")
	a.must(t, "s3api", "create-bucket", "--bucket", env["BACKUP_BUCKET"])

	api := c.startControlPlane(t)
	kc, _ := api.adminKubeconfig(t, fmt.Sprintf("https://%s:%d", st.apiName(), bootstrap.APIPort))
	objects := map[string]string{}
	for i := range 20 {
		name := fmt.Sprintf("kinfra-backup-%02d", i)
		out, err := api.run(kc, "create", "configmap", name, "-n", "default", "--from-literal=n="+fmt.Sprint(i))
		require.NoError(t, err, out)
		objects[name] = fmt.Sprint(i)
	}
	out, err := api.run(kc, "create", "secret", "generic", "kinfra-backup-secret", "-n", "default", "--from-literal=k=sealed")
	require.NoError(t, err, out)
	keys := c.writeKeys(t, "before-outage", 50)

	c.recordAfterInit(t)
	cluster := a.record(t, bootstrap.ClusterRecord)
	require.Equal(t, float64(0), cluster["generation"])
	require.Equal(t, []any{"etcd-0", "etcd-1", "etcd-2"}, cluster["members"])
	// What the scripts write is what `kinfra etcd restore` reads.
	var cr etcdops.ClusterRecord
	strictRecord(t, cluster, &cr)
	require.Equal(t, st.cluster.Name, cr.Token)
	for i := range c.masters {
		var mr etcdops.MemberRecord
		strictRecord(t, a.record(t, bootstrap.MemberRecord(i)), &mr)
		require.Equal(t, cr.ClusterID, mr.ClusterID)
		require.Equal(t, tags.EtcdMember(i), mr.Member)
	}

	// The leader's timer takes the snapshot; the others only report its age.
	leader := c.leader(t, c.masters)
	for _, m := range c.masters {
		out, err := m.backup(t)
		require.NoError(t, err, out)
		if m == leader {
			require.Contains(t, out, "uploaded to s3://"+env["BACKUP_BUCKET"]+"/"+env["BACKUP_PREFIX"]+"/daily/")
		} else {
			require.Contains(t, out, "not the etcd leader")
		}
	}

	// The snapshot carries what a restore checks it by; every master
	// published the newest snapshot's age.
	keyOut := a.must(t, "s3api", "list-objects-v2", "--bucket", env["BACKUP_BUCKET"], "--prefix", env["BACKUP_PREFIX"]+"/daily/", "--query", "Contents[].Key", "--output", "text")
	snapKeys := strings.Fields(keyOut)
	require.Len(t, snapKeys, 1, "one snapshot: the leader's")
	var head struct{ Metadata map[string]string }
	require.NoError(t, json.Unmarshal([]byte(a.must(t, "s3api", "head-object", "--bucket", env["BACKUP_BUCKET"], "--key", snapKeys[0])), &head))
	caHash, err := st.bundle.CACertHash()
	require.NoError(t, err)
	md := head.Metadata
	require.Equal(t, st.cluster.Name, md["kinfra-cluster"])
	require.Equal(t, caHash, md["ca-cert-hash"])
	require.Equal(t, cluster["clusterId"], md["cluster-id"])
	require.Equal(t, "0", md["generation"])
	require.Equal(t, "3.7.3", md["etcd-version"])
	require.Equal(t, st.cluster.Kubernetes.Version, md["kubernetes-version"])
	require.Equal(t, tags.EtcdMember(leader.slot.index), md["member"])
	require.Regexp(t, `^[0-9a-f]{64}$`, md["sha256"])
	require.Regexp(t, `^[0-9]+$`, md["revision"])
	require.Contains(t, snapKeys[0], "-"+md["member"]+"-r"+md["revision"]+".db")
	_, err = time.Parse(time.RFC3339, md["taken-at"])
	require.NoError(t, err)
	metrics := a.must(t, "cloudwatch", "list-metrics", "--namespace", bootstrap.BackupMetricNamespace, "--metric-name", bootstrap.BackupAgeMetric,
		"--dimensions", "Name="+bootstrap.BackupMetricDimension+",Value="+st.cluster.Name, "--query", "length(Metrics)", "--output", "text")
	require.Equal(t, "1", strings.TrimSpace(metrics), "the newest snapshot's age is published for the alarm")

	// The outage: the API server and every member down; slots 1 and 2
	// return on blank volumes.
	api.proc.Stop()
	for _, m := range c.masters {
		m.etcd.Stop()
	}
	blank := func(m *realMaster) {
		require.NoError(t, os.RemoveAll(m.path(bootstrap.EtcdDataMount)))
		require.NoError(t, os.MkdirAll(m.path(bootstrap.EtcdDataMount), 0o755))
	}
	refused := func(m *realMaster) {
		t.Helper()
		out, err := m.boot(t, 2*time.Minute, "guard_blank_volume")
		if err == nil {
			// What the boot did next before the fix: format, start etcd.
			for _, m := range c.masters[1:] {
				m.startEtcd(t, nil)
			}
			for _, m := range c.masters[1:] {
				m.waitEtcdHealthy(t)
			}
			got, _ := c.masters[1].readKeys(t)
			t.Fatalf("the boot let blank member %s format and start: the blank members formed a quorum serving %d of the %d keys\n%s",
				tags.EtcdMember(m.slot.index), len(got), len(keys), out)
		}
		require.ErrorContains(t, err, "no peer answered with a quorum")
		require.ErrorContains(t, err, "kinfra etcd restore --stack")
		entries, rerr := os.ReadDir(m.path(bootstrap.EtcdDataMount))
		require.NoError(t, rerr)
		require.Empty(t, entries, "nothing written to %s's volume", m.host.Name)
	}
	for _, m := range c.masters[1:] {
		blank(m)
	}
	for _, m := range c.masters[1:] {
		refused(m)
	}
	// The last volume goes too: every data directory is wiped, and slot 0
	// refuses as well (it never runs kubeadm init once the record exists:
	// TestBootScriptAWSSlot0NeverInitsOnceTheRecordExists).
	blank(c.masters[0])
	refused(c.masters[0])

	// Recovery, as `kinfra etcd restore --snapshot latest` asks: every
	// member restores the same snapshot at boot, once. A member's data
	// directory that holds anything is moved aside, never deleted (here a
	// stand-in file on slot 0).
	require.NoError(t, os.MkdirAll(c.masters[0].path(bootstrap.EtcdDataDir), 0o700))
	require.NoError(t, os.WriteFile(c.masters[0].path(bootstrap.EtcdDataDir+"/kept"), []byte("x"), 0o600))
	_, key := a.requestRestore(t, 1)
	for _, m := range c.masters {
		out, err := m.boot(t, 3*time.Minute, `{ pending_restore || die "no restore pending"
restore_member "$RESTORE"; } 2>&1`)
		require.NoError(t, err, out)
		require.Contains(t, out, "restored to generation 1")
	}
	require.FileExists(t, c.masters[0].path(bootstrap.EtcdDataMount+"/data.before-g1/kept"), "what the data directory held is kept aside")
	c.startEtcdCluster(t)
	for _, m := range c.masters {
		got, err := m.readKeys(t)
		require.NoError(t, err)
		require.Equal(t, keys, got, "every key, read through %s", m.host.Name)
		out, err := m.boot(t, time.Minute, "record_member")
		require.NoError(t, err, out)
	}
	out, err = c.masters[1].boot(t, time.Minute, "record_cluster")
	require.NoError(t, err, out)
	cluster = a.record(t, bootstrap.ClusterRecord)
	require.Equal(t, float64(1), cluster["generation"])
	require.Equal(t, st.cluster.Name+"-g1", cluster["token"])
	require.NotEqual(t, cr.ClusterID, cluster["clusterId"], "the restored members form a new cluster: no member of the old one can join it")
	// Exactly once per generation: the request is still there, but no
	// member restores again, even one whose volume is then replaced.
	for _, m := range c.masters {
		_, err := m.boot(t, time.Minute, `if pending_restore; then die "restore pending again"; fi`)
		require.NoError(t, err)
	}

	// The API server, started again on the restored cluster, serves every
	// object made before the snapshot.
	api = c.startAPIServer(t, c.masters[0])
	api.waitReady(t)
	for name, n := range objects {
		out, err := api.run(kc, "get", "configmap", name, "-n", "default", "-o", "jsonpath={.data.n}")
		require.NoError(t, err, out)
		require.Equal(t, n, out, "configmap %s after the restore", name)
	}
	out, err = api.run(kc, "get", "secret", "kinfra-backup-secret", "-n", "default", "-o", "jsonpath={.data.k}")
	require.NoError(t, err, out)
	require.Equal(t, "c2VhbGVk", out, "the Secret, encrypted at rest, decrypts after the restore")
	t.Logf("restored from %s; all %d keys and %d objects read back", key, len(keys), len(objects)+1)
}

// Every master new and no API server anywhere (all instances replaced, or
// after a restore): a master whose etcd holds the cluster builds its own
// control-plane node from the cluster's PKI with the boot script's
// control_plane (the real kubeadm's init phases, from its own rendered
// configuration), and its API server serves the cluster. kubeadm join
// would have waited for an API server that no master runs.
func TestRealMasterBuildsItsControlPlaneWithoutAnyAPIServer(t *testing.T) {
	realControlPlaneTools(t)
	st := loadRealStack(t, "us-east-1")
	c := newRealCluster(t, st)
	c.useKubeadm(t)
	first := c.startControlPlane(t)
	kc, _ := first.adminKubeconfig(t, fmt.Sprintf("https://%s:%d", st.apiName(), bootstrap.APIPort))
	out, err := first.run(kc, "create", "configmap", "kinfra-made-before", "-n", "default", "--from-literal=k=v")
	require.NoError(t, err, out)
	first.proc.Stop() // no API server runs now

	m := c.masters[1]
	out, err = m.boot(t, 5*time.Minute, "{ place_pki; wait_for_cluster; control_plane; } 2>&1")
	require.NoError(t, err, out)
	for _, f := range []string{"admin.conf", "kubelet.conf", "controller-manager.conf", "scheduler.conf",
		"manifests/kube-apiserver.yaml", "manifests/kube-controller-manager.yaml", "manifests/kube-scheduler.yaml", "pki/apiserver.crt"} {
		require.FileExists(t, m.path("/etc/kubernetes/"+f), "control_plane writes %s", f)
	}
	require.FileExists(t, m.path("/var/lib/kubelet/config.yaml"), "the kubelet's settings")
	// A boot attempt that failed after building the node (kinfra-master's
	// retry runs the boot again) runs the phases again: each keeps what the
	// first run made.
	before := map[string]string{}
	for _, f := range []string{"pki/apiserver.crt", "pki/apiserver.key", "kubelet.conf", "admin.conf", "manifests/kube-apiserver.yaml"} {
		before[f] = mustRead(t, m.path("/etc/kubernetes/"+f))
	}
	out, err = m.boot(t, 5*time.Minute, "control_plane 2>&1")
	require.NoError(t, err, "the phases run again: %s", out)
	for f, content := range before {
		require.Equal(t, content, mustRead(t, m.path("/etc/kubernetes/"+f)), "the second run keeps %s", f)
	}
	// The load balancer's name now reaches slot 1, its only healthy target.
	c.net.Name(st.apiName(), m.host)
	api := c.startAPIServer(t, m)
	api.waitReady(t)
	out, err = api.run(kc, "get", "configmap", "kinfra-made-before", "-n", "default", "-o", "jsonpath={.data.k}")
	require.NoError(t, err, out)
	require.Equal(t, "v", out)
}
