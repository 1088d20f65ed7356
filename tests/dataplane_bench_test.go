package tests

// The data-plane benchmark (issue 18): kube-proxy v1.37.2 in nftables and
// iptables mode side by side, each on its own node namespace, against the
// real API server and etcd, at N Services of E endpoints each. Outside the
// test command (it takes many minutes at 20,000 Services); run it with
//
//	KINFRA_DATAPLANE_BENCH=1000,5000,20000 go test ./tests -run '^$' \
//	    -bench RealKubeProxyDataPlane -benchtime 1x -timeout 3h
//
// It prints one result line per size and mode; docs/addons.md has the
// table, with the machine and date. IPVS needs the ip_vs kernel module,
// which the machine it was measured on lacks.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/testtools"
	"github.com/kinfra-dev/kinfra/spec"
)

// benchEndpoints is each Service's endpoints: 20,000 Services hold 100,000.
const benchEndpoints = 5

func BenchmarkRealKubeProxyDataPlane(b *testing.B) {
	sizesEnv := os.Getenv("KINFRA_DATAPLANE_BENCH")
	if sizesEnv == "" {
		b.Skip("set KINFRA_DATAPLANE_BENCH=1000,5000,20000 (Service counts) to run the data-plane benchmark")
	}
	var sizes []int
	for _, s := range strings.Split(sizesEnv, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		require.NoError(b, err, "KINFRA_DATAPLANE_BENCH")
		sizes = append(sizes, n)
	}
	slices.Sort(sizes)
	window := 60 * time.Second
	firstSyncLimit := 15 * time.Minute
	if l := os.Getenv("KINFRA_DATAPLANE_FIRST_SYNC_LIMIT"); l != "" {
		d, err := time.ParseDuration(l)
		require.NoError(b, err)
		firstSyncLimit = d
	}
	if w := os.Getenv("KINFRA_DATAPLANE_WINDOW"); w != "" {
		d, err := time.ParseDuration(w)
		require.NoError(b, err)
		window = d
	}
	for _, tool := range []string{"etcd", "etcdctl", "kubeadm", "kube-apiserver", "kubectl", "kube-proxy", "nft", "iptables-restore"} {
		testtools.Path(b, tool)
	}

	st := loadRealStack(b, "us-east-1")
	c := newRealCluster(b, st)
	a := c.startControlPlane(b)
	admin, _ := a.adminKubeconfig(b, fmt.Sprintf("https://%s:6443", st.apiName()))
	rest := newKubeREST(b, c)
	rest.must(b, "POST", "/api/v1/namespaces", map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": backendsNS}})

	created := 0
	for _, n := range sizes {
		rest.createServices(b, created, n)
		created = n

		modes := []string{spec.ProxyNFTables, spec.ProxyIPTables}
		nodes := map[string]*realProxyNode{}
		start := map[string]time.Time{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		firstSync := map[string]time.Duration{}
		for _, mode := range modes {
			// As admin: this measures syncs, and its token must outlast the
			// largest size; the functional test runs kube-proxy as kinfra's
			// service account.
			node := newProxyNode(b, c, a, admin, admin, fmt.Sprintf("n%d-%s", n, mode[:4]), st.cluster, mode)
			nodes[mode] = node
			start[mode] = time.Now()
			node.startProxy(b, c)
		}
		// The first sync: kube-proxy waits for its Service and
		// EndpointSlice informers, then programs everything at once and
		// stamps its last-sync metric (its /healthz answers before that).
		for _, mode := range modes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var synced time.Time
				err := testtools.Poll(firstSyncLimit, func() error {
					if done, err := nodes[mode].proc.Exited(); done {
						return fmt.Errorf("kube-proxy exited: %v", err)
					}
					ts, err := nodes[mode].metric(c, "kubeproxy_sync_proxy_rules_last_timestamp_seconds")
					if err == nil && ts == 0 {
						err = fmt.Errorf("not synced yet")
					}
					synced = time.Unix(0, int64(ts*1e9))
					return err
				})
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					firstSync[mode] = synced.Sub(start[mode])
				}
			}()
		}
		wg.Wait()
		// A mode that has not synced within the limit is reported as such
		// and measured no further.
		var synced []string
		for _, mode := range modes {
			if _, ok := firstSync[mode]; ok {
				synced = append(synced, mode)
				continue
			}
			fmt.Printf("dataplane: services=%d endpoints=%d mode=%s first_sync>%s (not synced; not measured further)\n", n, n*benchEndpoints, mode, firstSyncLimit)
			nodes[mode].proc.Stop()
			delete(nodes, mode)
		}
		modes = synced

		// Idle: no change for the window (the periodic resync included).
		cpu0 := cpuSeconds(b, nodes)
		time.Sleep(window)
		idle := sub(cpuSeconds(b, nodes), cpu0)

		// One change at a time: how long until each kube-proxy has
		// programmed it (its own last-sync timestamp after the write).
		const changes = 20
		lat := map[string][]time.Duration{}
		rng := rand.New(rand.NewSource(int64(n)))
		for k := range changes {
			i := rng.Intn(n)
			at := time.Now()
			rest.moveEndpoint(b, i, k)
			for _, mode := range modes {
				var synced time.Time
				require.NoError(b, testtools.Poll(30*time.Minute, func() error {
					ts, err := nodes[mode].metric(c, "kubeproxy_sync_proxy_rules_last_timestamp_seconds")
					if err != nil {
						return err
					}
					synced = time.Unix(0, int64(ts*1e9))
					if !synced.After(at) {
						return fmt.Errorf("not synced since the change")
					}
					return nil
				}))
				lat[mode] = append(lat[mode], synced.Sub(at))
			}
		}

		// Churn: 10 endpoint changes a second for the window.
		cpu0 = cpuSeconds(b, nodes)
		tick := time.NewTicker(100 * time.Millisecond)
		end := time.Now().Add(window)
		for k := changes; time.Now().Before(end); k++ {
			<-tick.C
			rest.moveEndpoint(b, rng.Intn(n), k)
		}
		tick.Stop()
		churn := sub(cpuSeconds(b, nodes), cpu0)

		for _, mode := range modes {
			node := nodes[mode]
			rules, elements := node.ruleCount(b, mode)
			rss, peak := node.memory(b)
			full := node.meanSeconds(c, "kubeproxy_sync_full_proxy_rules_duration_seconds")
			partial := node.meanSeconds(c, "kubeproxy_sync_partial_proxy_rules_duration_seconds")
			p50, p99 := percentile(lat[mode], 50), percentile(lat[mode], 99)
			fmt.Printf("dataplane: services=%d endpoints=%d mode=%s first_sync=%.1fs change_p50=%.2fs change_p99=%.2fs full_sync_mean=%.2fs partial_sync_mean=%.3fs "+
				"cpu_idle=%.2fs/%s cpu_churn=%.2fs/%s rules=%d set_elements=%d rss=%dMiB peak_rss=%dMiB\n",
				n, n*benchEndpoints, mode, firstSync[mode].Seconds(), p50.Seconds(), p99.Seconds(), full, partial,
				idle[mode], window, churn[mode], window, rules, elements, rss>>10, peak>>10)
			b.ReportMetric(firstSync[mode].Seconds(), mode+"-first-sync-s")
			b.ReportMetric(p99.Seconds(), mode+"-change-p99-s")
			node.proc.Stop()
		}
	}
}

// kubeREST talks to the API server as the cluster's admin, over the test
// network: the benchmark's thousands of writes are too many for kubectl.
type kubeREST struct {
	client *http.Client
	base   string
}

func newKubeREST(tb testing.TB, c *realCluster) *kubeREST {
	tb.Helper()
	pool := x509.NewCertPool()
	require.True(tb, pool.AppendCertsFromPEM([]byte(c.stack.bundle.ClusterCA.Cert)))
	cert, err := tls.X509KeyPair([]byte(c.stack.bundle.Admin.Cert), []byte(c.stack.bundle.Admin.Key))
	require.NoError(tb, err)
	tr := &http.Transport{
		DialContext:         c.client.DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: c.stack.apiName()},
		MaxIdleConnsPerHost: 16,
	}
	return &kubeREST{client: &http.Client{Transport: tr, Timeout: time.Minute}, base: "https://" + c.stack.apiName() + ":6443"}
}

func (k *kubeREST) do(method, path, contentType string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(context.Background(), method, k.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := k.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, out)
	}
	return nil
}

func (k *kubeREST) must(tb testing.TB, method, path string, body any) {
	tb.Helper()
	require.NoError(tb, k.do(method, path, "application/json", body))
}

// endpointIP is endpoint j of Service i, generation g: addresses in the
// stack's pod block (10.64.0.0/11), none of them a pod's.
func endpointIP(i, j, g int) string {
	n := 1<<16 + (i*benchEndpoints+j+g*7919)%(1<<20)
	return fmt.Sprintf("10.%d.%d.%d", 64+n>>16, n>>8&0xff, n&0xff)
}

func benchSlice(i, g int) map[string]any {
	var eps []any
	for j := range benchEndpoints {
		eps = append(eps, map[string]any{"addresses": []string{endpointIP(i, j, g)}, "conditions": map[string]any{"ready": true}})
	}
	name := proxyServiceName(i)
	return map[string]any{
		"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
		"metadata":    map[string]any{"name": name + "-1", "namespace": backendsNS, "labels": map[string]any{"kubernetes.io/service-name": name}},
		"addressType": "IPv4", "endpoints": eps,
		"ports": []any{map[string]any{"name": "", "port": backendPort, "protocol": "TCP"}},
	}
}

// createServices creates Services from and below to, with their slices,
// eight requests at a time.
func (k *kubeREST) createServices(tb testing.TB, from, to int) {
	tb.Helper()
	work := make(chan int)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				svc := map[string]any{"apiVersion": "v1", "kind": "Service",
					"metadata": map[string]any{"name": proxyServiceName(i), "namespace": backendsNS},
					"spec":     map[string]any{"ports": []any{map[string]any{"port": 80, "targetPort": backendPort, "protocol": "TCP"}}}}
				if err := k.do("POST", "/api/v1/namespaces/"+backendsNS+"/services", "application/json", svc); err != nil {
					errs <- err
					return
				}
				if err := k.do("POST", "/apis/discovery.k8s.io/v1/namespaces/"+backendsNS+"/endpointslices", "application/json", benchSlice(i, 0)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := from; i < to; i++ {
		select {
		case work <- i:
		case err := <-errs:
			close(work)
			wg.Wait()
			require.NoError(tb, err)
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	require.NoError(tb, <-errs)
}

// moveEndpoint gives Service i's slice its addresses of generation g: every
// endpoint changes, as a rolling Deployment's do.
func (k *kubeREST) moveEndpoint(tb testing.TB, i, g int) {
	tb.Helper()
	path := "/apis/discovery.k8s.io/v1/namespaces/" + backendsNS + "/endpointslices/" + proxyServiceName(i) + "-1"
	patch := map[string]any{"endpoints": benchSlice(i, g+1)["endpoints"]}
	require.NoError(tb, k.do("PATCH", path, "application/merge-patch+json", patch))
}

// meanSeconds is a kube-proxy histogram's mean, 0 when it has no sample.
func (n *realProxyNode) meanSeconds(c *realCluster, histogram string) float64 {
	sum, err1 := n.metric(c, histogram+"_sum")
	count, err2 := n.metric(c, histogram+"_count")
	if err1 != nil || err2 != nil || count == 0 {
		return 0
	}
	return sum / count
}

// ruleCount is how many rules the mode programmed, and (nftables) how many
// elements its sets and maps hold.
func (n *realProxyNode) ruleCount(tb testing.TB, mode string) (rules, elements int) {
	tb.Helper()
	if mode == spec.ProxyIPTables {
		out, err := n.host.Run(5*time.Minute, nil, testtools.Path(tb, "iptables-save"))
		require.NoError(tb, err)
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "-A ") {
				rules++
			}
		}
		return rules, 0
	}
	out, err := n.host.Run(5*time.Minute, nil, testtools.Path(tb, "nft"), "--json", "list", "table", "ip", "kube-proxy")
	require.NoError(tb, err)
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	require.NoError(tb, json.Unmarshal([]byte(out), &doc))
	for _, o := range doc.Nftables {
		if _, ok := o["rule"]; ok {
			rules++
		}
		for _, kind := range []string{"set", "map"} {
			if raw, ok := o[kind]; ok {
				var s struct {
					Elem []json.RawMessage `json:"elem"`
				}
				require.NoError(tb, json.Unmarshal(raw, &s))
				elements += len(s.Elem)
			}
		}
	}
	return rules, elements
}

// memory is kube-proxy's resident set and its peak, in KiB.
func (n *realProxyNode) memory(tb testing.TB) (rss, peak int) {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", n.proc.Pid()))
	require.NoError(tb, err)
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && (f[0] == "VmRSS:" || f[0] == "VmHWM:") {
			v, _ := strconv.Atoi(f[1])
			if f[0] == "VmRSS:" {
				rss = v
			} else {
				peak = v
			}
		}
	}
	return rss, peak
}

// cpuSeconds is each node's kube-proxy's CPU time so far (user and
// system), with that of the programs it ran and waited for (iptables-restore,
// nft), by mode.
func cpuSeconds(tb testing.TB, nodes map[string]*realProxyNode) map[string]float64 {
	tb.Helper()
	out := map[string]float64{}
	for mode, n := range nodes {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n.proc.Pid()))
		require.NoError(tb, err)
		// Fields after the command's closing parenthesis: utime, stime,
		// cutime and cstime are the 12th to the 15th.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
		ticks := 0.0
		for _, v := range f[11:15] {
			n, err := strconv.ParseFloat(v, 64)
			require.NoError(tb, err)
			ticks += n
		}
		out[mode] = ticks / 100 // USER_HZ
	}
	return out
}

func sub(a, b map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k := range a {
		out[k] = a[k] - b[k]
	}
	return out
}

func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(i-1, 0)]
}
