package tests

// kube-proxy v1.37.2, built from the module proxy, running kinfra's rendered
// KubeProxyConfiguration in a node's network namespace against the real
// API server of realcontrolplane_test.go's control plane, as kinfra's
// kube-proxy service account with only the rights kinfra binds it to and
// through kinfra's rendered in-cluster kubeconfig: a connection from
// one pod's namespace to a Service's cluster IP reaches the backend in
// another, through the rules kube-proxy programs, in nftables and in
// iptables mode. IPVS needs the ip_vs kernel module, which this kernel
// lacks (docs/addons.md).

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/components/addons"
	"github.com/kinfra-dev/kinfra/internal/testtools"
	"github.com/kinfra-dev/kinfra/spec"
)

// proxyServices is how many Services the functional check programs: enough
// that a rule set kube-proxy got wrong for some of them shows, small enough
// for the test command (docs/addons.md has the benchmark at 20,000).
const proxyServices = 200

// The pods every node of these tests wires: addresses in the stack's pod
// block, the same on every node (each node's pods reach only that node).
const (
	proxyClientIP  = "10.64.1.10"
	proxyBackendIP = "10.64.1.20"
	proxyPodCIDR   = "10.64.1.0/24"
	backendPort    = 8080
	backendsNS     = "backends"
)

// realProxyNode is a node running kube-proxy, with a client pod and a
// backend pod.
type realProxyNode struct {
	name            string
	host            *testtools.Host
	client, backend *testtools.Host
	proc            *testtools.Process
	// config is the path of kube-proxy's configuration file.
	config string
}

func TestRealKubeProxyTakesAClusterIPToABackendInAnotherNamespace(t *testing.T) {
	realControlPlaneTools(t)
	testtools.Path(t, "kube-proxy")
	testtools.Path(t, "nft")
	testtools.Path(t, "iptables-restore")

	st := loadRealStack(t, "us-east-1")
	c := newRealCluster(t, st)
	a := c.startControlPlane(t)
	admin, _ := a.adminKubeconfig(t, fmt.Sprintf("https://%s:6443", st.apiName()))
	identity := kubeProxyIdentity(t, c, a, admin, st)

	// The Services: selectorless, each with an EndpointSlice naming the
	// backend pod (as the EndpointSlice controller would for a selector),
	// and one Service without endpoints, which kube-proxy must reject.
	ips := createProxyServices(t, a, admin, proxyServices, proxyBackendIP)

	for _, mode := range []string{spec.ProxyNFTables, spec.ProxyIPTables} {
		t.Run(mode, func(t *testing.T) {
			node := newProxyNode(t, c, a, admin, identity, "node-"+mode, st.cluster, mode)
			node.addPods(t)
			ctx := context.Background()
			// Without kube-proxy, the cluster IPs lead nowhere: what reaches
			// the backend below went through kube-proxy's rules.
			_, err := proxyHello(ctx, node.client, ips[proxyServiceName(0)])
			require.Error(t, err, "no cluster IP answers before kube-proxy runs")
			node.startProxy(t, c)
			testtools.WaitFor(t, 2*time.Minute, "kube-proxy "+mode+" healthy and synced", func() error { return node.synced(c) })

			for _, i := range []int{0, proxyServices / 2, proxyServices - 1} {
				name := proxyServiceName(i)
				got, err := proxyHello(ctx, node.client, ips[name])
				require.NoError(t, err, "client pod -> %s (%s:80)", name, ips[name])
				require.Equal(t, "backend "+proxyBackendIP, got, "the backend pod answered through %s's cluster IP", name)
			}
			_, err = proxyHello(ctx, node.client, ips["empty"])
			require.ErrorContains(t, err, "connection refused", "a Service without endpoints is rejected, not blackholed")

			// Every Service has its rules, named after it.
			rules := node.ruleset(t, mode)
			seen := map[string]bool{}
			for _, m := range regexp.MustCompile(backendsNS+`/(svc-\d{5})`).FindAllStringSubmatch(rules, -1) {
				seen[m[1]] = true
			}
			require.Len(t, seen, proxyServices, "the %s rules name every Service with endpoints", mode)
		})
	}
}

// createProxyServices creates the backends namespace with n Services (port
// 80 to backendPort on backend) and a Service "empty" without endpoints, and
// returns every Service's cluster IP by name.
func createProxyServices(t testing.TB, a *realAPIServer, admin string, n int, backend string) map[string]string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", backendsNS)
	for i := 0; i <= n; i++ {
		name := proxyServiceName(i)
		if i == n {
			name = "empty"
		}
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: %s}\nspec:\n  ports: [{port: 80, targetPort: %d, protocol: TCP}]\n", name, backendsNS, backendPort)
		if i == n {
			continue
		}
		fmt.Fprintf(&b, "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: %s-1\n  namespace: %s\n  labels: {kubernetes.io/service-name: %s}\naddressType: IPv4\n"+
			"endpoints: [{addresses: [%q], conditions: {ready: true}}]\nports: [{name: \"\", port: %d, protocol: TCP}]\n", name, backendsNS, name, backend, backendPort)
	}
	path := filepath.Join(t.TempDir(), "services.yaml")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	out, err := a.run(admin, "apply", "--server-side", "-f", path)
	require.NoError(t, err, out)
	out, err = a.run(admin, "get", "services", "-n", backendsNS, "-o", `jsonpath={range .items[*]}{.metadata.name}={.spec.clusterIP}{"\n"}{end}`)
	require.NoError(t, err, out)
	ips := map[string]string{}
	for _, line := range strings.Fields(out) {
		name, ip, _ := strings.Cut(line, "=")
		ips[name] = ip
	}
	require.Len(t, ips, n+1)
	return ips
}

func proxyServiceName(i int) string { return fmt.Sprintf("svc-%05d", i) }

// kubeProxyIdentity applies kinfra's kube-proxy ServiceAccount and its
// binding, as the stack's add-ons deploy them, and returns the path of
// kinfra's rendered kubeconfig for kube-proxy, with the files a pod has
// mounted (its service account's token and the cluster CA) written where
// the kubeconfig names them. kube-proxy then runs with the rights kinfra
// grants it, and nothing more.
func kubeProxyIdentity(t testing.TB, c *realCluster, a *realAPIServer, admin string, st realStack) string {
	t.Helper()
	objects := realAddonObjects(t, st.plan.Resources)
	name := st.cluster.Name + "-addons-kube-proxy"
	for _, kind := range []string{"ServiceAccount", "ClusterRoleBinding"} {
		o, ok := objects[kind+"-"+name]
		require.True(t, ok, "the plan has kube-proxy's %s", kind)
		b, err := json.Marshal(o)
		require.NoError(t, err)
		path := filepath.Join(c.dir, "kube-proxy-"+kind+".json")
		require.NoError(t, os.WriteFile(path, b, 0o644))
		out, err := a.run(admin, "apply", "--server-side", "-f", path)
		require.NoError(t, err, out)
	}
	token, err := a.run(admin, "create", "token", "kube-proxy", "-n", "kube-system")
	require.NoError(t, err, token)
	mounted := map[string]string{"token": strings.TrimSpace(token), "ca.crt": string(st.bundle.ClusterCA.Cert)}
	cm, ok := objects["ConfigMap-"+name]
	require.True(t, ok, "the plan has kube-proxy's ConfigMap")
	kc := cm["data"].(map[string]any)["kubeconfig.conf"].(string)
	const podDir = "/var/run/secrets/kubernetes.io/serviceaccount/"
	for file, content := range mounted {
		require.Contains(t, kc, podDir+file, "kinfra's kubeconfig reads the pod's %s", file)
		path := filepath.Join(c.dir, "kube-proxy-sa-"+file)
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		kc = strings.ReplaceAll(kc, podDir+file, path)
	}
	require.NotContains(t, kc, podDir, "every file kinfra's kubeconfig names is written")
	path := filepath.Join(c.dir, "kube-proxy.kubeconfig")
	require.NoError(t, os.WriteFile(path, []byte(kc), 0o600))
	return path
}

// newProxyNode adds a node to the test network, registers it with the API
// server (its pod block and address, as the kubelet and the
// cloud-controller-manager would) and renders kube-proxy's configuration for
// it in mode: kinfra's, for cluster, reaching the API with kubeconfig.
func newProxyNode(tb testing.TB, c *realCluster, a *realAPIServer, admin, kubeconfig, name string, cluster spec.Cluster, mode string) *realProxyNode {
	tb.Helper()
	n := &realProxyNode{name: name}
	n.host = c.net.AddHost(n.name)
	nodeYAML := fmt.Sprintf("apiVersion: v1\nkind: Node\nmetadata: {name: %s}\nspec: {podCIDR: %s, podCIDRs: [%s]}\n", n.name, proxyPodCIDR, proxyPodCIDR)
	path := filepath.Join(c.dir, n.name+".yaml")
	require.NoError(tb, os.WriteFile(path, []byte(nodeYAML), 0o644))
	out, err := a.run(admin, "apply", "--server-side", "-f", path)
	require.NoError(tb, err, out)
	out, err = a.run(admin, "patch", "node", n.name, "--subresource=status", "--type=merge",
		"-p", fmt.Sprintf(`{"status":{"addresses":[{"type":"InternalIP","address":%q},{"type":"Hostname","address":%q}]}}`, n.host.IP(), n.name))
	require.NoError(tb, err, out)

	cluster.KubeProxy.Mode = mode
	rendered, err := addons.KubeProxyConfiguration(cluster)
	require.NoError(tb, err)
	n.config = filepath.Join(c.dir, n.name+"-config.yaml")
	require.NoError(tb, os.WriteFile(n.config, []byte(proxyConfigFor(tb, rendered, kubeconfig, n.name)), 0o644))
	return n
}

// addPods wires a client and a backend pod to the node; the backend
// answers on backendPort.
func (n *realProxyNode) addPods(tb testing.TB) {
	tb.Helper()
	n.client = n.host.AddPod(n.name+"-client", proxyClientIP)
	n.backend = n.host.AddPod(n.name+"-backend", proxyBackendIP)
	serveHello(tb, n.backend, proxyBackendIP)
}

// startProxy starts kube-proxy on the node with its configuration.
func (n *realProxyNode) startProxy(tb testing.TB, c *realCluster) {
	tb.Helper()
	n.proc = n.host.Start(tb, "kube-proxy on "+n.name, filepath.Join(c.dir, n.name+".log"), nil, testtools.Path(tb, "kube-proxy"), "--config="+n.config, "--v=1")
}

// synced is nil once kube-proxy answers /healthz and has programmed its
// IPv4 rules. /healthz alone answers 200 from the start ("the proxier is
// healthy while it's starting up", pkg/proxy/healthcheck): a connection made
// before the first sync leaves a conntrack entry its retransmissions follow,
// past the rules, and times out. A successful sync sets
// kubeproxy_sync_proxy_rules_last_timestamp_seconds.
func (n *realProxyNode) synced(c *realCluster) error {
	if done, err := n.proc.Exited(); done {
		return fmt.Errorf("kube-proxy exited: %v\n%s", err, testtools.Tail(n.proc.Log, 30))
	}
	code, _, err := n.get(c.client, addons.ProxyHealthzPort, "/healthz")
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("healthz %d", code)
	}
	if err != nil {
		return err
	}
	last, err := n.metric(c, `kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv4"}`)
	if err == nil && last == 0 {
		err = errors.New("no IPv4 rules synced yet")
	}
	return err
}

// proxyConfigFor is kinfra's rendered configuration with what a node's
// DaemonSet pod supplies itself: the kubeconfig's path (the pod mounts the
// ConfigMap's) and the node's name (the pod's NODE_NAME).
func proxyConfigFor(t testing.TB, rendered, kubeconfig, node string) string {
	t.Helper()
	var cfg map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(rendered), &cfg))
	cfg["clientConnection"].(map[string]any)["kubeconfig"] = kubeconfig
	cfg["hostnameOverride"] = node
	b, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	return string(b)
}

// get fetches path from the node's port, from another host of the network.
func (n *realProxyNode) get(from *testtools.Host, port int, path string) (int, string, error) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: from.DialContext}}
	resp, err := client.Get(fmt.Sprintf("http://%s%s", net.JoinHostPort(n.host.IP(), fmt.Sprint(port)), path))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, err = bufio.NewReader(resp.Body).WriteTo(&b)
	return resp.StatusCode, b.String(), err
}

// ruleset is what kube-proxy programmed in the node's namespace.
func (n *realProxyNode) ruleset(t testing.TB, mode string) string {
	t.Helper()
	bin, args := testtools.Path(t, "nft"), []string{"list", "table", "ip", "kube-proxy"}
	if mode == spec.ProxyIPTables {
		bin, args = testtools.Path(t, "iptables-save"), []string{"-t", "nat"}
	}
	out, err := n.host.Run(time.Minute, nil, bin, args...)
	require.NoError(t, err)
	return out
}

// serveHello answers every connection to backendPort on h with
// "backend <ip>".
func serveHello(t testing.TB, h *testtools.Host, ip string) {
	t.Helper()
	l, err := h.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(backendPort)))
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(conn, "backend %s\n", ip)
			conn.Close()
		}
	}()
}

// proxyHello connects from a pod to ip:80 and reads the backend's line.
func proxyHello(ctx context.Context, from *testtools.Host, ip string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := from.DialContext(ctx, "tcp", net.JoinHostPort(ip, "80"))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line), err
}

// metric is a kube-proxy metric's value (the first sample of that name).
func (n *realProxyNode) metric(c *realCluster, name string) (float64, error) {
	code, body, err := n.get(c.client, 10249, "/metrics")
	if err != nil {
		return 0, err
	}
	if code != http.StatusOK {
		return 0, fmt.Errorf("metrics: %d", code)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(?:\{[^}]*\})? (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return 0, fmt.Errorf("no metric %s", name)
	}
	return strconv.ParseFloat(m[1], 64)
}
