package findings

import (
	"fmt"

	"github.com/kinfra-dev/kinfra/spec"
)

// ProxyScale is the rule on a kube-proxy mode asked to carry more Services
// than the data-plane benchmark saw it sync in time.
const ProxyScale = "addons/proxy-scale"

// proxySyncBudget is the longest full sync kinfra accepts without a
// warning. kube-proxy makes one at every start (each new node, each roll of
// its DaemonSet): until it ends, that node's pods reach no Service and no
// Service change reaches the node; iptables mode also holds the xtables
// lock that CNI plugins wait for while setting up pods.
const proxySyncBudget = "10 s"

// proxyModeLimits are, per kube-proxy mode, the most Services measured with
// a first sync within proxySyncBudget, what was measured (the data-plane
// benchmark, docs/addons.md "kube-proxy at scale": kube-proxy v1.37.2, 5
// endpoints a Service), and what to do instead.
var proxyModeLimits = map[string]struct {
	services         int
	measured, advice string
}{
	spec.ProxyIPTables: {1000, "its first full sync took 2.2 s at 1,000 Services and 50 s at 5,000 (87,527 rules)",
		"Use nftables (cluster.kubeProxy.mode: nftables, the default; 5.1 s at 5,000 Services) or a CNI that replaces kube-proxy"},
	spec.ProxyNFTables: {5000, "its first full sync took 5.1 s at 5,000 Services and 203 s at 20,000 (beside iptables mode's, which had not finished after 10 minutes)",
		"For this many Services use a CNI that replaces kube-proxy (cluster.cni.kubeProxyReplacement: true with Cilium, or Calico's dataplane: bpf), or keep pods off a new node until kube-proxy has synced"},
}

// proxyScale reads the stack's kube-proxy mode and its maxServices from the
// resolved spec: the Service count is in no resource.
func proxyScale(c spec.Cluster) []Finding {
	limit, ok := proxyModeLimits[c.KubeProxy.Mode]
	if !ok || c.Kubernetes.MaxServices <= limit.services {
		return nil
	}
	return []Finding{{Resource: `kinfra:cluster["kubernetes"]["maxServices"]`, Message: fmt.Sprintf(
		"%d Services in kube-proxy's %s mode: %s, on the benchmark's machine. Beyond %d Services a full sync takes longer than %s, and kube-proxy makes one at every start: "+
			"meanwhile a new node's pods reach no Service and no Service change reaches the node (in iptables mode CNI plugins also wait for the xtables lock). "+
			"%s; or acknowledge this",
		c.Kubernetes.MaxServices, c.KubeProxy.Mode, limit.measured, limit.services, proxySyncBudget, limit.advice)}}
}
