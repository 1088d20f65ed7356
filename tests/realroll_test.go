package tests

// kinfra roll's etcd gate on real etcd: the roll's own logic (internal/roll)
// with its real etcd gate, against us-east-1's rendered members, while a
// writer keeps writing. The AWS side of the roll is proven against
// moto_server (internal/roll); here each slot's "instance replacement" is
// what it means to etcd: the member stops and starts again on the slot's
// volume (its data directory). The API and node gates need API servers and
// kubelets on every slot; this test passes them and checks only etcd's.

import (
	"context"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/etcdops"
	"github.com/kinfra-dev/kinfra/internal/roll"
	"github.com/kinfra-dev/kinfra/internal/testtools"
	"github.com/kinfra-dev/kinfra/pki"
)

// realFleet is the roll's Fleet over the test's masters: slot i's group
// declares version `declared` and its one instance runs `running[i]`;
// Replace restarts the member (the successor takes the same volume) and
// then calls after, which the test uses to break something at that moment.
type realFleet struct {
	t        *testing.T
	c        *realCluster
	mu       sync.Mutex
	declared int
	running  []int
	ids      []int
	replaced []int
	after    func(slot int)
}

func (f *realFleet) group(i int) roll.Group {
	return roll.Group{Slot: i, Name: fmt.Sprintf("master-%d", i), LaunchTemplateID: "lt-" + strconv.Itoa(i),
		GroupVersion: strconv.Itoa(f.running[i]), Declared: strconv.Itoa(f.declared),
		Instances: []roll.Instance{{ID: fmt.Sprintf("i-%d-%d", i, f.ids[i]), Version: strconv.Itoa(f.running[i]),
			LifecycleState: roll.InService, PrivateIP: f.c.masters[i].host.IP()}}}
}

func (f *realFleet) MasterGroups(context.Context) ([]roll.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var gs []roll.Group
	for i := range f.c.masters {
		gs = append(gs, f.group(i))
	}
	return gs, nil
}

func (f *realFleet) Group(_ context.Context, name string) (roll.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.c.masters {
		if g := f.group(i); g.Name == name {
			return g, nil
		}
	}
	return roll.Group{}, fmt.Errorf("no group %s", name)
}

func (f *realFleet) SetVersion(context.Context, roll.Group, string) error { return nil }

func (f *realFleet) Replace(_ context.Context, g roll.Group, _ string) error {
	m := f.c.masters[g.Slot]
	m.etcd.Stop()
	m.startEtcd(f.t, nil)
	f.mu.Lock()
	f.running[g.Slot], f.ids[g.Slot] = f.declared, f.ids[g.Slot]+1
	f.replaced = append(f.replaced, g.Slot)
	f.mu.Unlock()
	if f.after != nil {
		f.after(g.Slot)
	}
	return nil
}

func (f *realFleet) TargetHealth(context.Context, string) (string, error) { return "healthy", nil }

// etcdGate is the roll's real etcd gate, with the API, node and boot gates
// passed (see the file's comment), counting the etcd checks that failed.
type etcdGate struct {
	*roll.ClusterGates
	failed    int
	onFailed  func(n int)
	snapshots int
}

func (g *etcdGate) Etcd(ctx context.Context) error {
	err := g.ClusterGates.Etcd(ctx)
	if err != nil {
		g.failed++
		if g.onFailed != nil {
			g.onFailed(g.failed)
		}
	}
	return err
}
func (g *etcdGate) APIReady(context.Context, string) error    { return nil }
func (g *etcdGate) NodeReady(context.Context, string) error   { return nil }
func (g *etcdGate) Booted(context.Context, int, string) error { return nil }
func (g *etcdGate) Snapshot(ctx context.Context) (string, error) {
	g.snapshots++
	return g.ClusterGates.Snapshot(ctx)
}

// realWriter writes keys through every member from the client machine
// until stopped, and keeps those etcd acknowledged.
type realWriter struct {
	cli    *clientv3.Client
	mu     sync.Mutex
	acked  map[string]string
	failed int
	stop   chan struct{}
	done   chan struct{}
}

func startRealWriter(t *testing.T, g *roll.ClusterGates) *realWriter {
	t.Helper()
	dial := g.Dial
	cli, err := clientv3.New(clientv3.Config{Endpoints: g.EtcdEndpoints, TLS: g.EtcdTLS, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return dial(ctx, "tcp", addr)
		})}})
	require.NoError(t, err)
	w := &realWriter{cli: cli, acked: map[string]string{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			k, v := fmt.Sprintf("/kinfra-test/roll/%06d", i), "v"+strconv.Itoa(i)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			_, err := cli.Put(ctx, k, v)
			cancel()
			w.mu.Lock()
			if err == nil {
				w.acked[k] = v
			} else {
				w.failed++
			}
			w.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { w.finish(); cli.Close() })
	return w
}

// finish stops the writer and returns what etcd acknowledged.
func (w *realWriter) finish() map[string]string {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.acked
}

func TestRealRollWaitsForEveryEtcdMemberAndLosesNoWrite(t *testing.T) {
	// Waits more than it computes: it runs beside the other slow tests.
	t.Parallel()
	realSafetyTools(t)
	st := loadRealStack(t, "us-east-1")
	c := newRealCluster(t, st)
	c.startEtcdCluster(t)

	cert, err := pki.ShortLivedClient(st.bundle.EtcdCA, pkix.Name{CommonName: roll.ClientName}, time.Hour, time.Now())
	require.NoError(t, err)
	real := &roll.ClusterGates{EtcdEndpoints: roll.EtcdEndpoints(st.cluster), EtcdTLS: roll.ClientTLS(st.bundle.EtcdCA.Cert, cert, ""),
		Dial: c.client.DialContext}
	// The preflight snapshot goes to a bucket in moto_server, as the roll
	// puts it in the cluster's.
	s3c, loc := realRollBucket(t, st)
	real.Snapshotter = &roll.Snapshotter{S3: s3c, Bucket: loc.Bucket, Prefix: loc.Prefix, Cluster: st.cluster.Name,
		Generation: 0, CACertHash: "sha256:" + strings.Repeat("0", 64), KubernetesVersion: st.cluster.Kubernetes.Version}
	require.NoError(t, real.Etcd(context.Background()), "the gate passes on a healthy cluster")
	w := startRealWriter(t, real)

	gates := &etcdGate{ClusterGates: real}
	fleet := &realFleet{t: t, c: c, declared: 2, running: []int{1, 1, 1}, ids: []int{0, 0, 0}}
	r := &roll.Roller{Fleet: fleet, Gates: gates, Opts: roll.Options{Timeout: 2 * time.Minute, Poll: 500 * time.Millisecond}}
	freeze := func(slot int, sig syscall.Signal) { require.NoError(t, c.masters[slot].etcd.Signal(sig)) }

	// 1. A hung member fails the preflight: nothing is replaced.
	freeze(2, syscall.SIGSTOP)
	_, err = r.Masters(context.Background())
	require.ErrorIs(t, err, roll.ErrGate)
	require.ErrorContains(t, err, "preflight: health gate: etcd: https://etcd-2.prod-use1.k8s.internal:2379: no status: ")
	require.ErrorContains(t, err, "nothing was replaced")
	require.Empty(t, fleet.replaced)
	freeze(2, syscall.SIGCONT)

	// 2. A member that hangs just after slot 0 is replaced holds the roll
	// at slot 0's etcd gate; once it answers again (after the third failed
	// check) the roll goes on, one slot at a time.
	fleet.after = func(slot int) {
		if slot == 0 {
			freeze(2, syscall.SIGSTOP)
		}
	}
	gates.failed = 0
	gates.onFailed = func(n int) {
		if n == 3 {
			freeze(2, syscall.SIGCONT)
		}
	}
	rolled, err := r.Masters(context.Background())
	require.NoError(t, err)
	require.Equal(t, []int{0, 1, 2}, rolled)
	require.Equal(t, []int{0, 1, 2}, fleet.replaced)
	require.GreaterOrEqual(t, gates.failed, 3, "the gate held while etcd-2 hung")
	require.Equal(t, 1, gates.snapshots, "one snapshot, before the first replacement")
	checkPreRollSnapshot(t, s3c, loc, st)

	// 3. A member that stays hung past the timeout stops the roll at the
	// slot it was on; the next slot is not touched; the roll resumes there.
	fleet.declared, fleet.replaced = 3, nil
	fleet.after = func(slot int) {
		if slot == 0 {
			freeze(1, syscall.SIGSTOP)
		}
	}
	gates.onFailed = nil
	r.Opts.Timeout = 5 * time.Second
	rolled, err = r.Masters(context.Background())
	require.ErrorIs(t, err, roll.ErrGate)
	require.Empty(t, rolled)
	require.ErrorContains(t, err, "slot 0 (master-0): health gate: timed out after 5s waiting for every etcd member to be healthy: https://etcd-1.prod-use1.k8s.internal:2379: no status: ")
	require.Equal(t, []int{0}, fleet.replaced, "slots 1 and 2 untouched")
	freeze(1, syscall.SIGCONT)
	fleet.after = nil
	r.Opts.Timeout = 2 * time.Minute
	rolled, err = r.Masters(context.Background())
	require.NoError(t, err)
	require.Equal(t, []int{1, 2}, rolled, "resumed at slot 1")

	// Every write etcd acknowledged during all this is on every member.
	w.requireEveryAckedWriteOn(t, c.masters)
}

// requireEveryAckedWriteOn stops the writer and reads every write etcd
// acknowledged back through each of masters.
func (w *realWriter) requireEveryAckedWriteOn(t *testing.T, masters []*realMaster) {
	t.Helper()
	acked := w.finish()
	require.NotEmpty(t, acked)
	t.Logf("%d writes acknowledged, %d refused or timed out", len(acked), w.failed)
	for _, m := range masters {
		got, err := m.readKeys(t)
		require.NoError(t, err)
		for k, v := range acked {
			require.Equal(t, v, got[k], "%s on %s", k, m.host.Name)
		}
	}
}

// realRollBucket is a versioned bucket in a moto_server of the test's own
// (on loopback: the snapshot's upload is the test process's, not a
// master's).
func realRollBucket(t *testing.T, st realStack) (*s3.Client, etcdops.Location) {
	t.Helper()
	m := testtools.StartMoto(t)
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(st.cluster.Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
		config.WithBaseEndpoint(m.Endpoint))
	require.NoError(t, err)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle, o.DisableLogOutputChecksumValidationSkipped = true, true })
	loc := etcdops.Location{Bucket: st.cluster.BackupBucketName("123456789012"), Prefix: st.cluster.Backup.Prefix}
	_, err = s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(loc.Bucket)})
	require.NoError(t, err)
	return s3c, loc
}

// checkPreRollSnapshot finds the roll's snapshot as `kinfra etcd backups`
// lists it, downloads it, and has the real etcdutl read it: a whole etcd
// database holding the keys written before it.
func checkPreRollSnapshot(t *testing.T, s3c *s3.Client, loc etcdops.Location, st realStack) {
	t.Helper()
	ctx := context.Background()
	snaps, _, err := etcdops.List(ctx, s3c, loc)
	require.NoError(t, err)
	require.Len(t, snaps, 1)
	snap := snaps[0]
	require.Equal(t, bootstrap.TierPreRoll, snap.Tier)
	require.NoError(t, etcdops.Head(ctx, s3c, loc, &snap))
	for _, k := range []string{etcdops.MetaCluster, etcdops.MetaClusterID, etcdops.MetaGeneration, etcdops.MetaRevision,
		etcdops.MetaEtcdVersion, etcdops.MetaSHA256, etcdops.MetaTakenAt, etcdops.MetaMember} {
		require.NotEmpty(t, snap.Metadata[k], "metadata %s", k)
	}
	require.Equal(t, st.cluster.Name, snap.Metadata[etcdops.MetaCluster])
	require.Equal(t, "3.7.3", snap.Metadata[etcdops.MetaEtcdVersion])
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(snap.Key)})
	require.NoError(t, err)
	defer obj.Body.Close()
	body, err := io.ReadAll(obj.Body)
	require.NoError(t, err)
	sum := sha256.Sum256(body)
	require.Equal(t, snap.Metadata[etcdops.MetaSHA256], hex.EncodeToString(sum[:]))
	path := filepath.Join(t.TempDir(), "pre-roll.db")
	require.NoError(t, os.WriteFile(path, body, 0o600))
	out, err := exec.Command(testtools.Path(t, "etcdutl"), "snapshot", "status", path, "-w", "json").CombinedOutput()
	require.NoError(t, err, "%s", out)
	var status struct {
		Revision int64 `json:"revision"`
	}
	require.NoError(t, json.Unmarshal(out, &status))
	require.GreaterOrEqual(t, status.Revision, snap.Revision, "the snapshot holds at least the revision in its name")
}
