package findings

import (
	"encoding/json"
	"fmt"
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
// a full sync within proxySyncBudget, and what was measured (the data-plane
// benchmark, docs/addons.md "kube-proxy at scale": kube-proxy v1.37.2, 5
// endpoints a Service).
var proxyModeLimits = map[string]struct {
	services int
	measured string
}{
	"iptables": {1000, "its first full sync took 2.2 s at 1,000 Services and 50 s at 5,000 (87,527 rules)"},
}

// proxyScale reads the stack's kube-proxy mode and its maxServices from the
// plain kinfra:cluster (the Service count is in no resource).
func proxyScale(config map[string]string) []Finding {
	var c struct {
		Kubernetes struct {
			MaxServices int `json:"maxServices"`
		} `json:"kubernetes"`
		KubeProxy struct {
			Mode string `json:"mode"`
		} `json:"kubeProxy"`
	}
	if json.Unmarshal([]byte(config["kinfra:cluster"]), &c) != nil {
		return nil
	}
	limit, ok := proxyModeLimits[c.KubeProxy.Mode]
	if !ok || c.Kubernetes.MaxServices <= limit.services {
		return nil
	}
	return []Finding{{Resource: `kinfra:cluster["kubernetes"]["maxServices"]`, Message: fmt.Sprintf(
		"%d Services in kube-proxy's %s mode: %s, on the benchmark's machine. Beyond %d Services a full sync takes longer than %s, and kube-proxy makes one at every start: "+
			"meanwhile a new node's pods reach no Service, no Service change reaches the node, and CNI plugins wait for the xtables lock. "+
			"Use nftables (cluster.kubeProxy.mode: nftables, the default; 5.1 s at 5,000 Services) or a CNI that replaces kube-proxy, or acknowledge this for a cluster being migrated",
		c.Kubernetes.MaxServices, c.KubeProxy.Mode, limit.measured, limit.services, proxySyncBudget)}}
}
