package tests

// kinfra roll's node pools phase on a real kube-apiserver (docs/roll.md,
// "Node pools"): the roll's own logic (internal/roll) with its real API
// gates drains a pool's node through the Eviction API, and a
// PodDisruptionBudget that forbids an eviction stops the roll before the
// node is terminated. The AWS side is proven against moto_server
// (internal/roll); here a test fleet holds one pool of one node. What a
// cluster's controllers and kubelets would do, the test does, and says so:
// the disruption controller's PDB status, the ReplicaSet controller and
// scheduler recreating an evicted pod on another node, the kubelet
// confirming a pod's deletion and registering the new node.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/roll"
	"github.com/kinfra-dev/kinfra/pki"
)

// realAdminTLS is the TLS of a cluster admin's client certificate, issued
// in memory as kinfra roll issues its own, verifying the API servers as
// the API's name.
func realAdminTLS(t *testing.T, st realStack, cn string) *tls.Config {
	t.Helper()
	cert, err := pki.ShortLivedClient(st.bundle.ClusterCA, pkix.Name{CommonName: cn, Organization: []string{pki.AdminGroup}}, time.Hour, time.Now())
	require.NoError(t, err)
	return roll.ClientTLS(st.bundle.ClusterCA.Cert, cert, st.apiName())
}

// realJSON sends body (if not nil) as JSON, or as a merge patch for
// PATCH, and returns the status and the response body.
func realJSON(client *http.Client, method, u string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if method == http.MethodPatch {
		req.Header.Set("Content-Type", "application/merge-patch+json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// realAPI is a small client of the real API server, as cluster-admin.
type realAPI struct {
	t    *testing.T
	http *http.Client
	base string
}

func (a *realAPI) do(method, path string, body any) (int, map[string]any) {
	a.t.Helper()
	code, raw, err := realJSON(a.http, method, a.base+path, body)
	require.NoError(a.t, err)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return code, out
}

func (a *realAPI) must(method, path string, body any) map[string]any {
	a.t.Helper()
	code, out := a.do(method, path, body)
	require.Less(a.t, code, 300, "%s %s: %d %v", method, path, code, out)
	return out
}

func (a *realAPI) items(path string) []map[string]any {
	a.t.Helper()
	var out []map[string]any
	for _, it := range a.must(http.MethodGet, path, nil)["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

// runPod creates the pod and reports it running and ready, as its kubelet
// would (the Eviction API lets a pod that is not running go regardless of
// any budget).
func (a *realAPI) runPod(p map[string]any) {
	a.t.Helper()
	name := p["metadata"].(map[string]any)["name"].(string)
	a.must(http.MethodPost, "/api/v1/namespaces/shop/pods", p)
	a.must(http.MethodPatch, "/api/v1/namespaces/shop/pods/"+name+"/status", map[string]any{"status": map[string]any{
		"phase": "Running", "conditions": []any{map[string]any{"type": "Ready", "status": "True"}}}})
}

func realNode(name, ip string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "Node",
		"metadata": map[string]any{"name": name, "labels": map[string]any{"kinfra.dev/node-pool": "general"}},
		// Nodes take their status on create, as a kubelet registers.
		"status": map[string]any{
			"addresses":  []any{map[string]any{"type": "InternalIP", "address": ip}},
			"conditions": []any{map[string]any{"type": "Ready", "status": "True", "reason": "KubeletReady"}},
		}}
}

func realPodOn(name, node string, labels map[string]any, annotations map[string]any, owner map[string]any) map[string]any {
	meta := map[string]any{"name": name, "namespace": "shop", "labels": labels}
	if annotations != nil {
		meta["annotations"] = annotations
	}
	if owner != nil {
		meta["ownerReferences"] = []any{owner}
	}
	return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta,
		"spec": map[string]any{"nodeName": node, "containers": []any{map[string]any{"name": "c", "image": "registry.k8s.io/pause:3.10"}}}}
}

// poolFleet is one pool of one node: Replace is the instance's
// termination, after which the group launches a successor whose kubelet
// registers its node.
type poolFleet struct {
	api      *realAPI
	mu       sync.Mutex
	node, ip string
	id       int
	replaced []string
	nodes    map[string]bool
}

func (f *poolFleet) group() roll.Group {
	return roll.Group{Slot: -1, Pool: "general", Name: "prod-use1-pool-general", Declared: "2", GroupVersion: "2", Desired: 1, MaxSize: 2,
		Instances: []roll.Instance{{ID: fmt.Sprintf("i-%d", f.id), Version: map[bool]string{true: "1", false: "2"}[f.id == 0],
			LifecycleState: roll.InService, PrivateIP: f.ip}}}
}

func (f *poolFleet) PoolGroups(context.Context) (map[string]roll.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return map[string]roll.Group{"general": f.group()}, nil
}

func (f *poolFleet) Group(context.Context, string) (roll.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.group(), nil
}

func (f *poolFleet) SetVersion(context.Context, roll.Group, string) error { return nil }
func (f *poolFleet) SetDesired(context.Context, roll.Group, int) error {
	return fmt.Errorf("this pool launches nothing first")
}
func (f *poolFleet) Remove(context.Context, roll.Group, string) error {
	return fmt.Errorf("this pool launches nothing first")
}

func (f *poolFleet) Replace(_ context.Context, _ roll.Group, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replaced = append(f.replaced, id)
	// The old node leaves (the cloud controller deletes it), the successor
	// registers.
	f.api.must(http.MethodDelete, "/api/v1/nodes/"+f.node, nil)
	f.id++
	f.node, f.ip = fmt.Sprintf("pool-general-%d", f.id), fmt.Sprintf("10.0.9.%d", 10+f.id)
	f.api.must(http.MethodPost, "/api/v1/nodes", realNode(f.node, f.ip))
	return nil
}

func TestRealPoolRollDrainsThroughTheEvictionAPIAndStopsAtABudget(t *testing.T) {
	t.Parallel()
	realControlPlaneTools(t)
	st := loadRealStack(t, "us-east-1")
	c := newRealCluster(t, st)
	a := c.startControlPlane(t)

	apiTLS := realAdminTLS(t, st, roll.ClientName)
	api := &realAPI{t: t, base: fmt.Sprintf("https://%s:%d", a.m.host.IP(), bootstrap.APIPort),
		http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: apiTLS.Clone(), DialContext: c.client.DialContext}}}
	gates := &roll.ClusterGates{APITLS: apiTLS, APIPort: bootstrap.APIPort, APIHost: a.m.host.IP(), Dial: c.client.DialContext}

	// The pool's node and another node; on the pool's node two pods of a
	// budget that keeps two of three running, a DaemonSet's pod and a
	// static pod, which a drain leaves.
	api.must(http.MethodPost, "/api/v1/namespaces", map[string]any{"metadata": map[string]any{"name": "shop"}})
	// (The service account controller's.)
	api.must(http.MethodPost, "/api/v1/namespaces/shop/serviceaccounts", map[string]any{"metadata": map[string]any{"name": "default"}})
	api.must(http.MethodPost, "/api/v1/nodes", realNode("pool-general-0", "10.0.9.10"))
	api.must(http.MethodPost, "/api/v1/nodes", realNode("other", "10.0.8.10"))
	web := map[string]any{"app": "web"}
	for _, p := range []map[string]any{
		realPodOn("web-1", "pool-general-0", web, nil, nil),
		realPodOn("web-2", "pool-general-0", web, nil, nil),
		realPodOn("web-3", "other", web, nil, nil),
		realPodOn("agent-x", "pool-general-0", map[string]any{"app": "agent"}, nil,
			map[string]any{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": "6d1d7b5e-4c53-4f41-9d4b-4a0f3d0e5a11", "controller": true}),
		realPodOn("static-pool-general-0", "pool-general-0", map[string]any{"app": "static"}, map[string]any{"kubernetes.io/config.mirror": "kinfra-test", "kubernetes.io/config.source": "file"}, nil),
	} {
		api.runPod(p)
	}
	api.must(http.MethodPost, "/apis/policy/v1/namespaces/shop/poddisruptionbudgets", map[string]any{
		"metadata": map[string]any{"name": "web"},
		"spec":     map[string]any{"minAvailable": 2, "selector": map[string]any{"matchLabels": web}}})

	// The disruption controller's status for the budget: web pods not
	// being deleted are healthy.
	healthyWeb := func() int {
		n := 0
		for _, p := range api.items("/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb") {
			if _, deleting := p["metadata"].(map[string]any)["deletionTimestamp"]; !deleting {
				n++
			}
		}
		return n
	}
	setBudget := func(healthy int) {
		pdb := api.must(http.MethodGet, "/apis/policy/v1/namespaces/shop/poddisruptionbudgets/web", nil)
		gen := pdb["metadata"].(map[string]any)["generation"]
		api.must(http.MethodPatch, "/apis/policy/v1/namespaces/shop/poddisruptionbudgets/web/status", map[string]any{"status": map[string]any{
			"observedGeneration": gen, "currentHealthy": healthy, "desiredHealthy": 2, "expectedPods": 3,
			"disruptionsAllowed": max(0, healthy-2)}})
	}
	setBudget(2) // web-3 is not ready yet, as the controller last saw it: no disruption allowed

	fleet := &poolFleet{api: api, node: "pool-general-0", ip: "10.0.9.10"}
	var out bytes.Buffer
	r := &roll.Roller{PoolFleet: fleet, PoolGates: gates, Out: &out, Opts: roll.Options{Timeout: 2 * time.Minute, Poll: 200 * time.Millisecond}}
	pools := []roll.Pool{{Name: "general", MinHealthyPercentage: 0, MaxHealthyPercentage: 100, DrainTimeout: 3 * time.Second}}

	// The budget forbids both evictions: the roll stops at the drain
	// timeout, the node is schedulable again, nothing was terminated and
	// every pod runs.
	_, err := r.RollPools(context.Background(), pools)
	require.Error(t, err, out.String())
	require.ErrorIs(t, err, roll.ErrGate)
	require.Contains(t, err.Error(), "pool general (prod-use1-pool-general): health gate: timed out after 3s waiting for node 10.0.9.10 (i-0) to drain: node pool-general-0 has 2 pods left:")
	for _, pod := range []string{"web-1", "web-2"} {
		require.Contains(t, err.Error(), "shop/"+pod+": eviction refused (429): Cannot evict pod as it would violate the pod's disruption budget (The disruption budget web needs 2 healthy pods and has 2 currently)")
	}
	require.NotContains(t, err.Error(), "agent-x")
	require.NotContains(t, err.Error(), "static-")
	t.Logf("the roll, stopped by the budget: %v", err)
	require.Empty(t, fleet.replaced, "no node was terminated")
	node := api.must(http.MethodGet, "/api/v1/nodes/pool-general-0", nil)
	require.NotEqual(t, true, node["spec"].(map[string]any)["unschedulable"], "the node was uncordoned")
	require.Equal(t, 3, healthyWeb())

	// Now the cluster's controllers work: the disruption controller
	// updates the budget, the ReplicaSet controller and the scheduler put
	// an evicted web pod back on the other node, the kubelet confirms the
	// deletion of a pod being deleted. The budget is never broken.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var minHealthy = 3
	var recreated []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			for _, p := range api.items("/api/v1/namespaces/shop/pods") {
				md := p["metadata"].(map[string]any)
				if _, deleting := md["deletionTimestamp"]; !deleting {
					continue
				}
				name := md["name"].(string)
				api.do(http.MethodDelete, "/api/v1/namespaces/shop/pods/"+name+"?gracePeriodSeconds=0", nil)
				if strings.HasPrefix(name, "web-") {
					again := "web-" + fmt.Sprint(4+len(recreated))
					api.runPod(realPodOn(again, "other", web, nil, nil))
					recreated = append(recreated, again)
				}
			}
			h := healthyWeb()
			minHealthy = min(minHealthy, h)
			setBudget(h)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	rolled, err := r.RollPools(context.Background(), pools)
	stop()
	wg.Wait()
	require.NoError(t, err, out.String())
	require.Equal(t, []string{"general"}, rolled)
	require.Equal(t, []string{"i-0"}, fleet.replaced, "the node was terminated once drained")
	require.GreaterOrEqual(t, minHealthy, 2, "the budget held throughout")
	require.Len(t, recreated, 2, "both web pods were evicted")
	var left []string
	for _, p := range api.items("/api/v1/pods?fieldSelector=" + url.QueryEscape("spec.nodeName=pool-general-0")) {
		left = append(left, p["metadata"].(map[string]any)["name"].(string))
	}
	require.ElementsMatch(t, []string{"agent-x", "static-pool-general-0"}, left, "the drain leaves DaemonSet and static pods")
	require.NoError(t, gates.NodesReady(context.Background(), []string{"10.0.9.11"}), "the successor's node is Ready")
	t.Logf("the roll:\n%s", out.String())
}
