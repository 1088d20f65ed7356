package tests

// kinfra roll upgrading a control plane on real binaries (issue 14's proof;
// docs/roll.md, "Proof"; docs/real-binaries.md): three masters made at
// v1.36.3 from the stack rendered at that version are rolled, by the roll's
// own logic (roll.Roller) and its real gates (roll.ClusterGates), one slot
// at a time to successors launched from the stack rendered at v1.37.2,
// while clients read and write through the API's load balancer.

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/roll"
	"github.com/kinfra-dev/kinfra/internal/testtools"
	"github.com/kinfra-dev/kinfra/pki"
)

// rollFleet is the roll's AWS side (roll.Fleet) over the test's masters:
// each slot's Auto Scaling Group, its instances and their launch template
// versions, the API target group (the test's load balancer) and each
// slot's boot status record. Replace does what
// TerminateInstanceInAutoScalingGroup sets off, asynchronously as AWS does
// it: the test's own goroutine takes each replacement from replacements and
// plays it (terminate, then launch and boot the successor), while the roll
// polls.
type rollFleet struct {
	lb *realNLB

	mu           sync.Mutex
	declared     string
	groupVersion []string
	instances    [][]roll.Instance
	// status is each slot's boot status record: what the boot's
	// publish_status writes to SSM, and roll.StatusReader reads.
	status       []roll.BootStatus
	launched     int
	replaced     []int
	replacedAt   []time.Time
	replacements chan rollReplacement
}

type rollReplacement struct {
	slot int
	id   string
}

// newRollFleet is the fleet of c's masters, each on launch template
// version running, its group declaring declared; every instance is
// registered in the load balancer's target group, as its group does at
// launch.
func newRollFleet(c *realCluster, lb *realNLB, running, declared string) *rollFleet {
	f := &rollFleet{lb: lb, declared: declared, replacements: make(chan rollReplacement, len(c.masters))}
	for _, m := range c.masters {
		f.groupVersion = append(f.groupVersion, running)
		f.instances = append(f.instances, nil)
		f.status = append(f.status, roll.BootStatus{})
		f.launch(m.slot.index, m.host.IP())
	}
	return f
}

// launch starts a new instance of the slot's group at ip, on the version
// the group launches, and registers it in the target group. It is
// InService at once (the groups' health check is EC2's): its boot is what
// the roll waits for next.
func (f *rollFleet) launch(slot int, ip string) string {
	f.mu.Lock()
	f.launched++
	id := fmt.Sprintf("i-0kinfra%02d", f.launched)
	f.instances[slot] = append(f.instances[slot], roll.Instance{ID: id, Version: f.groupVersion[slot], LifecycleState: roll.InService, PrivateIP: ip})
	f.status[slot] = roll.BootStatus{InstanceID: id, State: string(bootstrap.MasterBooting)}
	f.mu.Unlock()
	f.lb.Register(id, ip)
	return id
}

// booted publishes the slot's status record: the boot finished.
func (f *rollFleet) booted(slot int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status[slot].State = string(bootstrap.MasterReady)
}

func (f *rollFleet) group(slot int) roll.Group {
	return roll.Group{Slot: slot, Name: fmt.Sprintf("prod-use1-master-%d", slot), LaunchTemplateID: fmt.Sprintf("lt-master-%d", slot),
		GroupVersion: f.groupVersion[slot], Declared: f.declared, Instances: append([]roll.Instance(nil), f.instances[slot]...)}
}

func (f *rollFleet) MasterGroups(context.Context) ([]roll.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var gs []roll.Group
	for slot := range f.instances {
		gs = append(gs, f.group(slot))
	}
	return gs, nil
}

func (f *rollFleet) Group(_ context.Context, name string) (roll.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for slot := range f.instances {
		if g := f.group(slot); g.Name == name {
			return g, nil
		}
	}
	return roll.Group{}, fmt.Errorf("no group %s", name)
}

func (f *rollFleet) SetVersion(_ context.Context, g roll.Group, version string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groupVersion[g.Slot] = version
	return nil
}

func (f *rollFleet) Replace(_ context.Context, g roll.Group, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	found := false
	for i, in := range f.instances[g.Slot] {
		if in.ID == id {
			f.instances[g.Slot][i].LifecycleState = "Terminating"
			found = true
		}
	}
	if !found {
		return fmt.Errorf("instance %s is not in group %s", id, g.Name)
	}
	f.replaced = append(f.replaced, g.Slot)
	f.replacedAt = append(f.replacedAt, time.Now())
	f.replacements <- rollReplacement{g.Slot, id}
	return nil
}

// terminated removes the instance from its group.
func (f *rollFleet) terminated(r rollReplacement) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var left []roll.Instance
	for _, in := range f.instances[r.slot] {
		if in.ID != r.id {
			left = append(left, in)
		}
	}
	f.instances[r.slot] = left
}

func (f *rollFleet) TargetHealth(_ context.Context, id string) (string, error) {
	return f.lb.Health(id), nil
}

// bootStatus reads the slot's status record (roll.ClusterGates.Status).
func (f *rollFleet) bootStatus(_ context.Context, slot int) (roll.BootStatus, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status[slot], true, nil
}

// relaunch makes m a new instance of its slot: a new address (so its
// certificates are issued anew), a root disk of its own, the slot's volume
// (etcd's data, mounted at /var/lib/etcd) taken over from its predecessor,
// and the image of slot's rendering with its kubeadm and API server.
func (m *realMaster) relaunch(t *testing.T, slot realSlot, kubeadmBin, apiServerBin string) string {
	t.Helper()
	ip := m.host.Readdress()
	volume := m.path(bootstrap.EtcdDataMount)
	detached := filepath.Join(m.c.dir, "volume-"+m.host.Name)
	require.NoError(t, os.Rename(volume, detached))
	require.NoError(t, os.RemoveAll(m.root))
	require.NoError(t, os.MkdirAll(filepath.Dir(volume), 0o755))
	require.NoError(t, os.Rename(detached, volume))
	m.reimage(t, slot, kubeadmBin, apiServerBin)
	return ip
}

// rollTraffic is API clients' traffic through the load balancer: a writer
// creating ConfigMaps and a reader reading back the last one the API
// acknowledged, each request after the last, each on a connection of its
// own, so that the load balancer routes every request.
type rollTraffic struct {
	client *http.Client
	base   string // the ConfigMaps' collection URL
	start  time.Time
	stop   chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	events []rollEvent
	// acked are the numbers of the ConfigMaps whose creation the API
	// acknowledged (rollName).
	acked []int
	// missing are acknowledged writes a read did not find.
	missing []string
}

// rollName is the name of the traffic's ConfigMap number n, which holds n.
func rollName(n int) string { return fmt.Sprintf("roll-%06d", n) }

type rollEvent struct {
	at time.Time
	ok bool
}

// rollTestLabel marks the ConfigMaps the traffic writes.
const rollTestLabel = "kinfra.dev/roll-test"

func startRollTraffic(t *testing.T, c *realCluster) *rollTraffic {
	t.Helper()
	tr := &rollTraffic{
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			DialContext: c.client.DialContext, DisableKeepAlives: true, TLSClientConfig: realAdminTLS(t, c.stack, "kinfra-test-traffic")}},
		base:  fmt.Sprintf("https://%s:%d/api/v1/namespaces/default/configmaps", c.stack.apiName(), bootstrap.APIPort),
		start: time.Now(),
		stop:  make(chan struct{}),
	}
	tr.wg.Add(2)
	go tr.loop(tr.write)
	go tr.loop(tr.read)
	t.Cleanup(tr.finish)
	return tr
}

// loop runs request (which says whether it succeeded, and whether it sent
// a request at all) until the traffic stops.
func (tr *rollTraffic) loop(request func(i int) (ok, sent bool)) {
	defer tr.wg.Done()
	for i := 0; ; i++ {
		select {
		case <-tr.stop:
			return
		default:
		}
		if ok, sent := request(i); sent {
			tr.mu.Lock()
			tr.events = append(tr.events, rollEvent{time.Now(), ok})
			tr.mu.Unlock()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (tr *rollTraffic) do(method, u string, body any) (int, []byte, error) {
	return realJSON(tr.client, method, u, body)
}

func (tr *rollTraffic) write(i int) (ok, sent bool) {
	name := rollName(i)
	code, _, err := tr.do(http.MethodPost, tr.base, map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "labels": map[string]any{rollTestLabel: "true"}},
		"data":     map[string]any{"n": strconv.Itoa(i)}})
	if err != nil || code != http.StatusCreated {
		return false, true
	}
	tr.mu.Lock()
	tr.acked = append(tr.acked, i)
	tr.mu.Unlock()
	return true, true
}

func (tr *rollTraffic) read(int) (ok, sent bool) {
	tr.mu.Lock()
	n := -1
	if len(tr.acked) > 0 {
		n = tr.acked[len(tr.acked)-1]
	}
	tr.mu.Unlock()
	if n < 0 {
		return false, false // nothing written yet
	}
	name := rollName(n)
	code, body, err := tr.do(http.MethodGet, tr.base+"/"+name, nil)
	if err == nil && code == http.StatusNotFound {
		tr.mu.Lock()
		tr.missing = append(tr.missing, name)
		tr.mu.Unlock()
	}
	if err != nil || code != http.StatusOK {
		return false, true
	}
	var cm struct{ Data map[string]string }
	return json.Unmarshal(body, &cm) == nil && cm.Data["n"] == strconv.Itoa(n), true
}

// finish stops the traffic.
func (tr *rollTraffic) finish() {
	select {
	case <-tr.stop:
	default:
		close(tr.stop)
	}
	tr.wg.Wait()
}

// unavailable counts, between from and to, the whole seconds (from the
// traffic's start) in which no request succeeded, and the requests that
// failed.
func (tr *rollTraffic) unavailable(from, to time.Time) (seconds, failed, requests int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	first, last := int(from.Sub(tr.start)/time.Second), int(to.Sub(tr.start)/time.Second)
	served := map[int]bool{}
	for _, e := range tr.events {
		if e.at.Before(from) || !e.at.Before(to) {
			continue
		}
		requests++
		if e.ok {
			served[int(e.at.Sub(tr.start)/time.Second)] = true
		} else {
			failed++
		}
	}
	for s := first; s <= last; s++ {
		if !served[s] {
			seconds++
		}
	}
	return seconds, failed, requests
}

// listTestConfigMaps lists the ConfigMaps the traffic wrote, by name, with
// their data.
func (tr *rollTraffic) listTestConfigMaps(t *testing.T) map[string]string {
	t.Helper()
	code, body, err := tr.do(http.MethodGet, tr.base+"?labelSelector="+url.QueryEscape(rollTestLabel+"=true"), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, string(body))
	var list struct {
		Items []struct {
			Metadata struct{ Name string }
			Data     map[string]string
		}
	}
	require.NoError(t, json.Unmarshal(body, &list))
	got := map[string]string{}
	for _, it := range list.Items {
		got[it.Metadata.Name] = it.Data["n"]
	}
	return got
}

// syncBuffer is the roll's output, written by the roll's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestRealRollUpgradesThreeMastersWithNoWriteLost(t *testing.T) {
	// Waits more than it computes: it runs beside the other slow tests.
	t.Parallel()
	const from, to = "v1.36.3", "v1.37.2"
	u := newRealUpgrade(t, from, to)
	c, st := u.c, u.st

	// The cluster at v1.36.3, every master launched from launch template
	// version 1 (the stack rendered at v1.36.3); the stack now declares
	// version 2 (rendered at v1.37.2). The API's name reaches the load
	// balancer, whose target group holds every master.
	lb := startRealNLB(t, c)
	fleet := newRollFleet(c, lb, "1", "2")
	apis := make([]*realAPIServer, len(c.masters))
	// Slot 0 makes the cluster (kubeadm init's phases, its kubelet
	// registers, its node is marked); slots 1 and 2 build their
	// control-plane nodes as their boots do.
	first, kc := c.makeCluster(t)
	apis[0] = first
	first.registerKubelet(t, kc, first.m)
	first.m.initPhase(t, "mark-control-plane")
	fleet.booted(0)
	for _, m := range c.masters[1:] {
		apis[m.slot.index] = c.buildControlPlaneNode(t, m, kc)
		fleet.booted(m.slot.index)
	}
	before := first.kubeadmState(t, kc)
	require.Equal(t, from, realClusterVersion(t, before))
	coredns136 := before["Deployment/kube-system/coredns"].Image
	require.Equal(t, realKubeadmImage(t, first.m, "coredns"), coredns136)
	members := c.masters[0].memberList(t)

	// The roll's real gates, with client certificates issued in memory as
	// roll.NewClusterGates issues them from the CAs it reads in SSM,
	// dialling from the operator's machine; the boot status is the
	// fleet's record of what each master's boot published.
	now := time.Now()
	etcdCert, err := pki.ShortLivedClient(st.bundle.EtcdCA, pkix.Name{CommonName: roll.ClientName}, time.Hour, now)
	require.NoError(t, err)
	apiCert, err := pki.ShortLivedClient(st.bundle.ClusterCA, pkix.Name{CommonName: roll.ClientName, Organization: []string{pki.AdminGroup}}, time.Hour, now)
	require.NoError(t, err)
	gates := &roll.ClusterGates{
		EtcdEndpoints: roll.EtcdEndpoints(st.cluster),
		EtcdTLS:       roll.ClientTLS(st.bundle.EtcdCA.Cert, etcdCert, ""),
		APITLS:        roll.ClientTLS(st.bundle.ClusterCA.Cert, apiCert, st.apiName()),
		APIPort:       bootstrap.APIPort,
		Dial:          c.client.DialContext,
		Status:        fleet.bootStatus,
	}
	for _, m := range c.masters {
		require.NoError(t, gates.NodeReady(context.Background(), m.host.IP()), "every master's node is Ready")
	}

	// A replacement, as AWS plays it: the group deregisters the old
	// instance from the target group and waits while it drains; the
	// instance shuts down (its API server and etcd get SIGTERM at once, as
	// systemd stops units that are not ordered against each other); the
	// cloud controller deletes its Node (and the pod garbage collector its
	// mirror pod). The group launches the successor from the version it now
	// launches: it takes the slot's volume, gets a new address, and boots as
	// the boot script does: etcd (its certificates for the new address, the
	// member on its volume, healthy), the control-plane node, its API
	// server v1.37.2, its kubelet registering, mark_control_plane,
	// wait_for_api_server and upgrade_cluster; then its status record says
	// ready. The first successor brings the cluster's configuration to
	// v1.37.2; CoreDNS follows on the last.
	replace := func(r rollReplacement) {
		m := c.masters[r.slot]
		start := time.Now()
		lb.Deregister(r.id)
		drained := time.Now()
		var wg sync.WaitGroup
		for _, p := range []*testtools.Process{apis[r.slot].proc, m.etcd} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.Shutdown(30 * time.Second)
			}()
		}
		wg.Wait()
		fleet.terminated(r)
		t.Logf("slot %d: %s drained in %s, shut down in %s", r.slot, r.id,
			drained.Sub(start).Round(100*time.Millisecond), time.Since(drained).Round(100*time.Millisecond))
		node := m.hostname()
		for _, obj := range [][]string{{"pod", "-n", "kube-system", "kube-apiserver-" + node}, {"node", node}} {
			out, err := first.run(kc, append([]string{"delete", "--grace-period=0", "--force"}, obj...)...)
			require.NoError(t, err, out)
		}
		launched := time.Now()
		ip := m.relaunch(t, st.slots[r.slot], u.kubeadm137, u.apiServer137)
		fleet.launch(r.slot, ip)
		m.issueEtcdCerts(t)
		m.startEtcd(t, nil)
		m.waitEtcdHealthy(t)
		apis[r.slot] = c.buildControlPlaneNode(t, m, kc)
		out, err := m.boot(t, 5*time.Minute, "{ wait_for_api_server; upgrade_cluster; } 2>&1")
		require.NoError(t, err, out)
		stays := "CoreDNS stays at " + coredns136
		if r.slot == 0 {
			require.Contains(t, out, "bringing the cluster's configuration from "+from+" to "+to)
		} else {
			require.NotContains(t, out, "bringing the cluster's configuration")
		}
		if r.slot < 2 {
			require.Contains(t, out, stays, "CoreDNS waits while a master of %s is left", from)
		} else {
			require.NotContains(t, out, stays)
		}
		fleet.booted(r.slot)
		t.Logf("slot %d: the successor %s booted in %s", r.slot, ip, time.Since(launched).Round(100*time.Millisecond))
	}

	// The roll, while the traffic runs; this goroutine plays AWS.
	traffic := startRollTraffic(t, c)
	var out syncBuffer
	r := &roll.Roller{Fleet: fleet, Gates: gates, Out: &out, Slots: len(c.masters),
		// The pre-roll snapshot is proven in realroll_test.go; no bucket here.
		Opts: roll.Options{Timeout: 5 * time.Minute, Poll: time.Second, SkipSnapshot: true}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	type result struct {
		rolled []int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		rolled, err := r.Masters(ctx)
		done <- result{rolled, err}
	}()
	var res result
	for running := true; running; {
		select {
		case rep := <-fleet.replacements:
			replace(rep)
		case res = <-done:
			running = false
		}
	}
	end := time.Now()
	traffic.finish()
	t.Logf("kinfra roll:\n%s", out.String())
	require.NoError(t, res.err)
	require.Equal(t, []int{0, 1, 2}, res.rolled)
	require.Equal(t, []int{0, 1, 2}, fleet.replaced, "one slot at a time, in order")

	// The API's availability while each slot rolled: from its
	// replacement to the next slot's (or the roll's end).
	for i, slot := range fleet.replaced {
		until := end
		if i+1 < len(fleet.replacedAt) {
			until = fleet.replacedAt[i+1]
		}
		secs, failed, requests := traffic.unavailable(fleet.replacedAt[i], until)
		t.Logf("slot %d rolled in %s: %d s without a successful API request; %d of %d requests failed",
			slot, until.Sub(fleet.replacedAt[i]).Round(time.Second), secs, failed, requests)
	}

	// No write lost: every ConfigMap the API acknowledged is there, as
	// written, and no read missed one.
	require.NotEmpty(t, traffic.acked)
	require.Empty(t, traffic.missing, "acknowledged writes a read did not find")
	stored := traffic.listTestConfigMaps(t)
	for _, n := range traffic.acked {
		v, ok := stored[rollName(n)]
		require.True(t, ok, "acknowledged ConfigMap %s is lost", rollName(n))
		require.Equal(t, strconv.Itoa(n), v, rollName(n))
	}
	t.Logf("%d writes acknowledged during the roll, every one read back; connections the load balancer forwarded, by instance: %v",
		len(traffic.acked), lb.Forwarded())

	// The cluster is v1.37.2's: kubeadm-config, CoreDNS as kubeadm v1.37.2
	// pins it, the same etcd members, every master's node Ready at its new
	// address, and a v1.37.2 join passes its preflight.
	last := apis[2]
	after := last.kubeadmState(t, kc)
	require.Equal(t, to, realClusterVersion(t, after))
	coredns137 := realKubeadmImage(t, last.m, "coredns")
	require.NotEqual(t, coredns136, coredns137)
	require.Equal(t, coredns137, after["Deployment/kube-system/coredns"].Image)
	require.Equal(t, members, c.masters[0].memberList(t), "the successors are the same etcd members")
	for _, m := range c.masters {
		require.NoError(t, gates.NodeReady(context.Background(), m.host.IP()))
	}
	nodes, err := last.run(kc, "get", "nodes", "-o", "name")
	require.NoError(t, err, nodes)
	require.Len(t, strings.Fields(nodes), len(c.masters), "one node a master: %s", nodes)
	joinOut, err := c.joinPreflight(t, u.kubeadm137)
	require.NoError(t, err, joinOut)
	requireJoinChecks(t, joinOut)

	// Again: every slot is on its declared version; nothing is replaced.
	var again syncBuffer
	r.Out = &again
	rolled, err := r.Masters(ctx)
	require.NoError(t, err)
	require.Empty(t, rolled)
	require.Equal(t, []int{0, 1, 2}, fleet.replaced)
	require.Contains(t, again.String(), "nothing to roll")
}
