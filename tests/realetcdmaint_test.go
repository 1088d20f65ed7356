package tests

// etcd maintenance on real etcd (docs/masters.md, "etcd maintenance"):
// us-east-1's rendered members in network namespaces, as realetcd_test.go
// starts them. `kinfra etcd recover-space`'s own code (etcdops.RecoverSpace)
// brings a cluster filled to NOSPACE back with every key, and the rendered
// defragmentation script defragments its member only when every member is
// healthy and enough of the file is free.

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/etcdops"
	"github.com/kinfra-dev/kinfra/internal/testtools"
)

func realEtcdTools(t *testing.T) {
	testtools.RequireNetns(t)
	for _, tool := range []string{"etcd", "etcdctl", "jq"} {
		testtools.Path(t, tool)
	}
}

// operatorEtcd is how `kinfra etcd recover-space` reaches the members
// (etcdops.ConnectEtcd): their stable names, a short-lived client
// certificate issued in memory from the etcd CA, here from the client
// machine of the test network.
func operatorEtcd(c *realCluster) etcdops.Etcd {
	ca := c.stack.bundle.EtcdCA
	rc := &etcdops.RenewingCert{CA: ca, Subject: pkix.Name{CommonName: "kinfra-recover-space"}}
	return etcdops.Etcd{Endpoints: etcdops.EtcdEndpoints(c.stack.cluster), TLS: rc.TLS(ca.Cert, ""), Dial: c.client.DialContext}
}

// dbSize is the member's database size and the part in use, as etcdctl
// endpoint status reports them.
func (m *realMaster) dbSize(t *testing.T) (size, inUse int64) {
	t.Helper()
	out, err := m.etcdctl(m.c.endpoint(m.slot.index), "endpoint", "status", "-w", "json")
	require.NoError(t, err)
	var st []struct {
		Status struct {
			DBSize      int64 `json:"dbSize"`
			DBSizeInUse int64 `json:"dbSizeInUse"`
		} `json:"Status"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	require.Len(t, st, 1)
	return st[0].Status.DBSize, st[0].Status.DBSizeInUse
}

func (m *realMaster) alarms(t *testing.T) string {
	t.Helper()
	out, err := m.etcdctl(m.c.endpoint(m.slot.index), "alarm", "list")
	require.NoError(t, err)
	return strings.TrimSpace(out)
}

const nospace = "etcdserver: mvcc: database space exceeded"

func TestRealEtcdNospaceIsRecoveredByRecoverSpaceWithNoKeyLost(t *testing.T) {
	t.Parallel()
	realEtcdTools(t)
	st := loadRealStack(t, "us-east-1")
	c := newRealCluster(t, st)
	// kinfra's rendered configuration, but for a tiny quota.
	const quota = 6 << 20
	for _, m := range c.masters {
		m.startEtcd(t, func(cfg string) string {
			out := strings.Replace(cfg, fmt.Sprintf("quota-backend-bytes: %d\n", 8<<30), fmt.Sprintf("quota-backend-bytes: %d\n", quota), 1)
			require.NotEqual(t, cfg, out, "the rendered configuration sets the quota")
			return out
		})
	}
	for _, m := range c.masters {
		m.waitEtcdHealthy(t)
	}
	e := operatorEtcd(c)
	cli, err := e.Client()
	require.NoError(t, err)
	defer cli.Close()
	ctx := context.Background()

	// Forty keys written over and over (as the API server rewrites its
	// objects) until etcd refuses: every revision is kept until compacted.
	latest := map[string]string{}
	value := strings.Repeat("x", 48<<10)
	var refused error
	var refusedKey, refusedValue string
	for i := 0; refused == nil; i++ {
		require.Less(t, i, 10000, "etcd never ran out of its %d-byte quota", quota)
		k, v := fmt.Sprintf("/kinfra-test/nospace/%02d", i%40), fmt.Sprintf("%06d:%s", i, value)
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := cli.Put(pctx, k, v)
		cancel()
		if err != nil {
			refused, refusedKey, refusedValue = err, k, v
			break
		}
		latest[k] = v
	}
	require.ErrorContains(t, refused, nospace)
	require.Len(t, latest, 40)
	// The put that crossed the quota may be applied all the same: etcd's
	// quota applier stores it, then answers NOSPACE. It was never
	// acknowledged, so its key may hold either value; what etcd holds is
	// what must survive.
	gctx, gcancel := context.WithTimeout(ctx, 10*time.Second)
	resp, err := cli.Get(gctx, refusedKey)
	gcancel()
	require.NoError(t, err, "reads work under NOSPACE")
	require.Len(t, resp.Kvs, 1)
	if held := string(resp.Kvs[0].Value); held == refusedValue {
		latest[refusedKey] = held
	} else {
		require.Equal(t, latest[refusedKey], held, "the refused put left the key's acknowledged value")
	}
	require.Contains(t, c.masters[0].alarms(t), "alarm:NOSPACE")
	_, err = c.masters[1].etcdctl(c.endpoint(1), "put", "/kinfra-test/after", "x")
	require.ErrorContains(t, err, nospace, "the cluster takes no write")

	// The dry run prints the steps and changes nothing.
	var out bytes.Buffer
	res, err := etcdops.RecoverSpace(ctx, e, etcdops.SpaceOptions{DryRun: true, Out: &out})
	require.NoError(t, err)
	t.Logf("dry run:\n%s", out.String())
	require.Contains(t, out.String(), "Alarms: NOSPACE on etcd-")
	require.Contains(t, out.String(), fmt.Sprintf("1. would compact the keyspace to revision %d", res.Revision))
	require.Contains(t, out.String(), "Dry run: nothing was changed.")
	require.Contains(t, c.masters[0].alarms(t), "alarm:NOSPACE")
	_, err = c.masters[1].etcdctl(c.endpoint(1), "put", "/kinfra-test/after", "x")
	require.ErrorContains(t, err, nospace)

	// The recovery.
	out.Reset()
	res, err = etcdops.RecoverSpace(ctx, e, etcdops.SpaceOptions{Out: &out, Poll: 500 * time.Millisecond})
	t.Logf("recover-space:\n%s", out.String())
	require.NoError(t, err)
	require.NotZero(t, res.Disarmed)
	require.Len(t, res.Members, 3)
	for i, m := range res.Members {
		require.Equal(t, i == 2, m.Leader, "followers first, the leader last: %+v", res.Members)
		require.Equal(t, int64(quota), m.Quota)
		require.Less(t, m.DBSizeAfter, m.DBSize/2, "%s gave back the space of the compacted revisions (the latest values are about 2 MiB)", m.Name)
		require.Regexp(t, `Defragmented `+m.Name+`: `, out.String())
	}
	require.Less(t, strings.Index(out.String(), "Defragmented "+res.Members[1].Name), strings.Index(out.String(), "Defragmented "+res.Members[2].Name))
	require.Contains(t, out.String(), "A write succeeded and no alarm is left")

	for _, m := range c.masters {
		require.Empty(t, m.alarms(t), "no alarm on %s", m.host.Name)
	}
	_, err = c.masters[1].etcdctl(c.endpoint(1), "put", "/kinfra-test/after", "written after the recovery")
	require.NoError(t, err, "writes succeed again")
	latest["/kinfra-test/after"] = "written after the recovery"
	for _, m := range c.masters {
		got, err := m.readKeys(t)
		require.NoError(t, err)
		require.Equal(t, latest, got, "every key with its latest value, on %s", m.host.Name)
	}
	gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	check, err := cli.Get(gctx, etcdops.SpaceCheckKey)
	require.NoError(t, err)
	require.Zero(t, check.Count, "the check key is deleted")

	// Run again, it finds nothing to disarm and recovers nothing more.
	out.Reset()
	res, err = etcdops.RecoverSpace(ctx, e, etcdops.SpaceOptions{Out: &out, Poll: 500 * time.Millisecond})
	require.NoError(t, err, out.String())
	require.Zero(t, res.Disarmed)
	require.Contains(t, out.String(), "Alarms: none")
}

// defragScript writes the rendered defragmentation script without its
// final call of main, for realMaster.runScript.
func (c *realCluster) defragScript(t *testing.T) string {
	t.Helper()
	const call = "\nmain \"$@\"\n"
	f, ok := c.stack.slots[0].files[bootstrap.DefragScriptPath]
	require.True(t, ok, "the stack renders the defragmentation script")
	require.True(t, strings.HasSuffix(f.Content, call), "the defragmentation script ends by calling main")
	lib := filepath.Join(c.dir, "kinfra-etcd-defrag.functions")
	require.NoError(t, os.WriteFile(lib, []byte(strings.TrimSuffix(f.Content, call)+"\n"), 0o644))
	return lib
}

func TestRealEtcdDefragScriptDefragmentsOnlyWhenEveryMemberIsHealthyAndItIsWorthIt(t *testing.T) {
	t.Parallel()
	realEtcdTools(t)
	st := loadRealStack(t, "us-east-1")
	c := newRealCluster(t, st)
	c.startEtcdCluster(t)
	lib := c.defragScript(t)
	cli, err := operatorEtcd(c).Client()
	require.NoError(t, err)
	defer cli.Close()
	ctx := context.Background()

	// About 12 MiB written twice and deleted, the history compacted: the
	// file keeps its size, most of it free.
	keep := c.writeKeys(t, "kept", 20)
	value := strings.Repeat("y", 300<<10)
	for round := range 2 {
		for i := range 40 {
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err := cli.Put(pctx, fmt.Sprintf("/kinfra-test/churn/%02d", i), fmt.Sprintf("%d:%s", round, value))
			cancel()
			require.NoError(t, err)
		}
	}
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	del, err := cli.Delete(dctx, "/kinfra-test/churn/", clientv3.WithPrefix())
	require.NoError(t, err)
	require.EqualValues(t, 40, del.Deleted)
	_, err = cli.Compact(dctx, del.Header.Revision, clientv3.WithCompactPhysical())
	cancel()
	require.NoError(t, err)
	m := c.masters[1]
	sizes := func() []int64 {
		var s []int64
		for _, x := range c.masters {
			size, _ := x.dbSize(t)
			s = append(s, size)
		}
		return s
	}
	// Every member applies the compaction in its own time, and bbolt
	// counts the pages it freed as free from a later commit on (the write
	// of a key outside /kinfra-test/ makes one).
	for _, x := range c.masters {
		testtools.WaitFor(t, time.Minute, x.host.Name+" compacted", func() error {
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err := cli.Put(pctx, "/kinfra-test-tick", time.Now().String())
			cancel()
			if err != nil {
				return err
			}
			size, inUse := x.dbSize(t)
			if size-inUse < 8<<20 || (size-inUse)*100 < size*25 {
				return fmt.Errorf("only %d of %d bytes free", size-inUse, size)
			}
			return nil
		})
	}
	before := sizes()
	const lowThreshold = "DEFRAG_MIN_BYTES=1048576\n"

	// 1. Below the rendered threshold (100 MiB free): nothing to do.
	out, err := m.runScript(t, 2*time.Minute, lib, "main 2>&1")
	require.NoError(t, err, out)
	t.Logf("below the threshold:\n%s", out)
	require.Contains(t, out, "less than 104857600 bytes or 25% free; not defragmenting")
	require.Equal(t, before, sizes())

	// 2. Worth it, but etcd-2 hangs: the script refuses and changes nothing.
	require.NoError(t, c.masters[2].etcd.Signal(syscall.SIGSTOP))
	out, err = m.runScript(t, 2*time.Minute, lib, lowThreshold+"main 2>&1")
	require.Error(t, err, out)
	t.Logf("etcd-2 hung:\n%v", err)
	require.Contains(t, err.Error(), "not every etcd member is healthy; not defragmenting")
	require.NoError(t, c.masters[2].etcd.Signal(syscall.SIGCONT))
	c.masters[2].waitEtcdHealthy(t)
	require.Equal(t, before, sizes(), "no member was defragmented")

	// 3. Every member healthy and worth it: this member only is defragmented.
	out, err = m.runScript(t, 3*time.Minute, lib, lowThreshold+"main 2>&1")
	require.NoError(t, err, out)
	t.Logf("worth it:\n%s", out)
	require.Contains(t, out, "every member is healthy; defragmenting")
	require.Contains(t, out, "defragmented: database ")
	after := sizes()
	require.Less(t, after[1], before[1]/2, "etcd-1's file shrank: %v -> %v", before, after)
	require.Equal(t, before[0], after[0], "etcd-0 untouched")
	require.Equal(t, before[2], after[2], "etcd-2 untouched")
	for _, x := range c.masters {
		got, err := x.readKeys(t)
		require.NoError(t, err)
		require.Equal(t, keep, got, "every kept key on %s", x.host.Name)
	}
}
