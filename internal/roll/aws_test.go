package roll

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/roll/rolltest"
	"github.com/kinfra-dev/kinfra/internal/testtools"
)

// motoCluster is a cluster's master groups in moto_server (rolltest) and
// the roll's fleet over them.
type motoCluster struct {
	*rolltest.Masters
	fleet *AWSFleet
}

const motoClusterName = "prod-use1"

func startMotoCluster(t *testing.T, slots int) *motoCluster {
	t.Helper()
	m := testtools.StartMoto(t)
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(m.Log)
			t.Logf("moto_server's log, last 4 KiB:\n%s", log[max(0, len(log)-4096):])
		}
	})
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": m.Endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
	require.NoError(t, err)
	return &motoCluster{Masters: rolltest.CreateMasters(t, cfg, motoClusterName, slots), fleet: NewAWSFleet(cfg, motoClusterName)}
}

func (c *motoCluster) declare(t *testing.T, instanceType string) { c.Declare(t, instanceType) }

// slot is a slot's group as AWS reports it: its version, and its instance
// with the version EC2 tagged it with.
func (c *motoCluster) slot(t *testing.T, i int) (groupVersion, instance, instanceVersion string) {
	t.Helper()
	g, err := c.fleet.Group(context.Background(), c.Groups[i])
	require.NoError(t, err)
	require.Len(t, g.Instances, 1, "slot %d has one instance", i)
	return g.GroupVersion, g.Instances[0].ID, g.Instances[0].Version
}

// fakeGates pass, or fail as the test says, and log every check with the
// instance it saw, so that the test can see the order.
type fakeGates struct {
	log      []string
	etcdFail func() error
	booted   func(slot int, id string) error
	snapshot string
}

func (f *fakeGates) Etcd(context.Context) error {
	f.log = append(f.log, "etcd")
	if f.etcdFail != nil {
		return f.etcdFail()
	}
	return nil
}
func (f *fakeGates) APIReady(_ context.Context, ip string) error {
	f.log = append(f.log, "api "+ip)
	return nil
}
func (f *fakeGates) NodeReady(_ context.Context, ip string) error {
	f.log = append(f.log, "node "+ip)
	return nil
}
func (f *fakeGates) Booted(_ context.Context, slot int, id string) error {
	if f.booted != nil {
		return f.booted(slot, id)
	}
	return nil
}
func (f *fakeGates) Snapshot(context.Context) (string, error) {
	f.log = append(f.log, "snapshot")
	return f.snapshot, nil
}

func fastOptions() Options { return Options{Timeout: 20 * time.Second, Poll: 50 * time.Millisecond} }

func TestRollReplacesEachMasterInSlotOrderInMotoAndResumesAsANoOp(t *testing.T) {
	c := startMotoCluster(t, 3)
	var before []string
	for i := range 3 {
		gv, id, iv := c.slot(t, i)
		require.Equal(t, "1", gv)
		require.Equal(t, "1", iv, "EC2 tags the instance with the version it launched from")
		before = append(before, id)
	}

	// Nothing declared yet: nothing to roll, nothing touched.
	gates := &fakeGates{snapshot: "s3://bucket/prod/etcd/pre-roll/x.db"}
	var out bytes.Buffer
	r := &Roller{Fleet: c.fleet, Gates: gates, Out: &out, Opts: fastOptions()}
	rolled, err := r.Masters(context.Background())
	require.NoError(t, err)
	require.Empty(t, rolled)
	require.Contains(t, out.String(), "nothing to roll")
	require.Empty(t, gates.log, "no gate, no snapshot when nothing is rolled")

	c.declare(t, "m7i.4xlarge")

	// A dry run prints the steps and changes nothing.
	out.Reset()
	r.Opts.DryRun = true
	rolled, err = r.Masters(context.Background())
	require.NoError(t, err)
	require.Empty(t, rolled)
	for i := range 3 {
		require.Contains(t, out.String(), fmt.Sprintf("slot %d: point %s at launch template version 2, replace its instance", i, c.Groups[i]))
		gv, id, _ := c.slot(t, i)
		require.Equal(t, "1", gv)
		require.Equal(t, before[i], id, "a dry run replaces nothing")
	}

	out.Reset()
	r.Opts.DryRun = false
	rolled, err = r.Masters(context.Background())
	require.NoError(t, err, out.String())
	require.Equal(t, []int{0, 1, 2}, rolled)
	var ips []string
	for i := range 3 {
		gv, id, iv := c.slot(t, i)
		require.Equal(t, "2", gv, "slot %d's group launches the declared version", i)
		require.Equal(t, "2", iv, "slot %d's instance was launched from it", i)
		require.NotEqual(t, before[i], id, "slot %d's instance was replaced", i)
		g, err := c.fleet.Group(context.Background(), c.Groups[i])
		require.NoError(t, err)
		ips = append(ips, g.Instances[0].PrivateIP)
		h, err := c.fleet.TargetHealth(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, "healthy", h)
	}
	// The preflight, then each slot's gates on its own new instance, in
	// slot order.
	want := []string{"etcd", "api " + "*", "api *", "api *", "snapshot"}
	for _, ip := range ips {
		want = append(want, "etcd", "api "+ip, "node "+ip)
	}
	require.Len(t, gates.log, len(want), "%v", gates.log)
	for i, w := range want {
		if strings.HasSuffix(w, "*") {
			require.True(t, strings.HasPrefix(gates.log[i], strings.TrimSuffix(w, "*")), "%d: %s", i, gates.log[i])
			continue
		}
		require.Equal(t, w, gates.log[i], "check %d", i)
	}
	require.Contains(t, out.String(), "etcd snapshot: s3://bucket/prod/etcd/pre-roll/x.db")

	// Resumed with everything on its declared version: nothing to do.
	gates.log = nil
	rolled, err = r.Masters(context.Background())
	require.NoError(t, err)
	require.Empty(t, rolled)
	require.Empty(t, gates.log)
}

func TestAFailedGateStopsTheRollBeforeTheNextSlotAndTheRollResumesThere(t *testing.T) {
	c := startMotoCluster(t, 3)
	c.declare(t, "m7i.4xlarge")
	var before []string
	for i := range 3 {
		_, id, _ := c.slot(t, i)
		before = append(before, id)
	}
	calls := 0
	gates := &fakeGates{etcdFail: func() error {
		calls++
		if calls > 1 { // healthy at preflight, never again
			return errors.New("https://etcd-1.prod-use1.k8s.internal:2379: no status: context deadline exceeded")
		}
		return nil
	}}
	var out bytes.Buffer
	o := fastOptions()
	o.Timeout = 2 * time.Second
	r := &Roller{Fleet: c.fleet, Gates: gates, Out: &out, Opts: o}
	rolled, err := r.Masters(context.Background())
	require.Error(t, err)
	require.Empty(t, rolled)
	require.ErrorIs(t, err, ErrGate)
	require.Contains(t, err.Error(), "slot 0 (prod-use1-masters-master-0): health gate: timed out after 2s waiting for every etcd member to be healthy: https://etcd-1.prod-use1.k8s.internal:2379: no status: context deadline exceeded. The roll stopped here; no later slot was touched.")
	gv, id, _ := c.slot(t, 0)
	require.Equal(t, "2", gv)
	require.NotEqual(t, before[0], id, "slot 0 was replaced")
	for i := 1; i < 3; i++ {
		gv, id, iv := c.slot(t, i)
		require.Equal(t, "1", gv, "slot %d's group untouched", i)
		require.Equal(t, "1", iv)
		require.Equal(t, before[i], id, "slot %d's instance untouched", i)
	}

	// Once etcd is healthy again the roll resumes: slot 0 is done, and the
	// preflight now holds for it too.
	gates.etcdFail = nil
	rolled, err = r.Masters(context.Background())
	require.NoError(t, err, out.String())
	require.Equal(t, []int{1, 2}, rolled)
	require.Contains(t, out.String(), "slot 0 (prod-use1-masters-master-0): on declared version 2, skipped")
}

func TestAFailedBootStopsTheRollAtOnceWithTheMastersReport(t *testing.T) {
	c := startMotoCluster(t, 3)
	c.declare(t, "m7i.4xlarge")
	_, first, _ := c.slot(t, 0)
	gates := &fakeGates{booted: func(slot int, id string) error {
		if id == first {
			return errors.New("the status is still the previous instance's")
		}
		return fmt.Errorf("%w on %s: step control_plane: kubeadm init phase control-plane all: exit status 1", ErrBootFailed, id)
	}}
	o := fastOptions()
	o.Timeout = time.Hour
	r := &Roller{Fleet: c.fleet, Gates: gates, Opts: o}
	// The roll's waits count their polls instead of sleeping: a failed boot
	// must end the wait on the check that sees it, not at the timeout.
	polls := 0
	r.sleep = func(context.Context, time.Duration) error { polls++; return nil }
	_, err := r.Masters(context.Background())
	require.ErrorIs(t, err, ErrBootFailed)
	require.Contains(t, err.Error(), "slot 0 (prod-use1-masters-master-0): waiting for its new instance to be InService on version 2: the master's boot failed on i-")
	require.Contains(t, err.Error(), "step control_plane")
	require.Zero(t, polls, "moto launches the successor at once, and its first check sees the failure")
	for i := 1; i < 3; i++ {
		gv, _, _ := c.slot(t, i)
		require.Equal(t, "1", gv, "slot %d untouched", i)
	}
}

func TestTheBootGateReadsTheSlotsStatusRecordAsTheMastersWriteIt(t *testing.T) {
	startMotoCluster(t, 1)
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
	require.NoError(t, err)
	api := ssm.NewFromConfig(cfg)
	g := &ClusterGates{Status: StatusReader(api, motoClusterName)}
	put := func(s bootstrap.MasterStatus) {
		b, err := json.Marshal(s)
		require.NoError(t, err)
		_, err = api.PutParameter(context.Background(), &ssm.PutParameterInput{Name: aws.String("/kinfra/prod-use1/" + bootstrap.MasterStatusRecord(1)),
			Value: aws.String(string(b)), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true)})
		require.NoError(t, err)
	}
	ctx := context.Background()
	require.NoError(t, g.Booted(ctx, 1, "i-new"), "no record: masters that publish none pass the gate")

	at := time.Date(2026, 12, 6, 16, 0, 0, 0, time.UTC)
	put(bootstrap.MasterStatus{Cluster: motoClusterName, Slot: 1, InstanceID: "i-old", State: bootstrap.MasterReady, Attempt: 1, Step: "api-server", Time: at})
	require.EqualError(t, g.Booted(ctx, 1, "i-new"), "the status is still the previous instance's (i-old)")

	put(bootstrap.MasterStatus{Cluster: motoClusterName, Slot: 1, InstanceID: "i-new", State: bootstrap.MasterBooting, Attempt: 1, Step: "etcd", Time: at})
	err = g.Booted(ctx, 1, "i-new")
	require.EqualError(t, err, "its boot is booting")
	require.NotErrorIs(t, err, ErrBootFailed)

	put(bootstrap.MasterStatus{Cluster: motoClusterName, Slot: 1, InstanceID: "i-new", State: bootstrap.MasterFailed, Attempt: 2, Step: "control-plane",
		Message: "kubeadm init phase control-plane all: exit status 1", Time: at})
	err = g.Booted(ctx, 1, "i-new")
	require.ErrorIs(t, err, ErrBootFailed)
	require.EqualError(t, err, "the master's boot failed on i-new: attempt 2, step control-plane: kubeadm init phase control-plane all: exit status 1 (journalctl -u kinfra-master on the instance says more)")

	put(bootstrap.MasterStatus{Cluster: motoClusterName, Slot: 1, InstanceID: "i-new", State: bootstrap.MasterReady, Attempt: 3, Step: "api-server", Time: at})
	require.NoError(t, g.Booted(ctx, 1, "i-new"))
}

func TestTheRollRefusesToStartWhenAWSHasAnotherNumberOfMasterGroups(t *testing.T) {
	c := startMotoCluster(t, 3)
	c.declare(t, "m7i.4xlarge")
	gates := &fakeGates{}
	r := &Roller{Fleet: c.fleet, Gates: gates, Opts: fastOptions(), Slots: 5}
	rolled, err := r.Masters(context.Background())
	require.Empty(t, rolled)
	require.EqualError(t, err, "the stack declares 5 master slots, AWS has 3 master groups: prod-use1-masters-master-0 (slot 0), prod-use1-masters-master-1 (slot 1), prod-use1-masters-master-2 (slot 2); run `pulumi up` first")
	require.Empty(t, gates.log, "no gate, no snapshot, nothing replaced")
	for i := range 3 {
		gv, _, _ := c.slot(t, i)
		require.Equal(t, "1", gv)
	}
}
