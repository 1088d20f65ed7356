package spec

import (
	"regexp"
	"slices"
	"strconv"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

// kube-proxy modes.
const (
	ProxyNFTables = "nftables"
	ProxyIPTables = "iptables"
	ProxyIPVS     = "ipvs"
	ProxyNone     = "none"
)

// KubeProxy is how Services are implemented on the nodes. The images load
// the kernel modules the mode needs; the add-ons deploy kube-proxy.
type KubeProxy struct {
	// Mode is nftables, iptables, ipvs (deprecated upstream since v1.35) or
	// none (the CNI replaces kube-proxy: cni.kubeProxyReplacement or calico's
	// bpf dataplane). Default [ProxyNFTables], or [ProxyNone] when the CNI
	// replaces it.
	Mode string `json:"mode,omitempty"`
	// SyncPeriodSeconds is how often kube-proxy resyncs every rule, 1 to
	// 3600. Default [DefaultSyncPeriod]; ipvs [DefaultIPVSSyncPeriod] (a full
	// IPVS sync walks every virtual server, seconds with tens of thousands of
	// Services).
	SyncPeriodSeconds int `json:"syncPeriodSeconds,omitempty"`
	// MinSyncPeriodSeconds batches changes: at most one sync per period,
	// 0 to syncPeriodSeconds. Default [DefaultMinSyncPeriod]; ipvs
	// [DefaultIPVSMinSyncPeriod].
	MinSyncPeriodSeconds *int `json:"minSyncPeriodSeconds,omitempty"`
	// Conntrack is the connection tracking table kube-proxy sizes.
	Conntrack Conntrack `json:"conntrack"`
	// MetricsBindAddress is where kube-proxy serves /metrics, host:port.
	// Default [DefaultProxyMetricsAddress] (scraped from inside the cluster; the security
	// groups do not open it to the VPC).
	MetricsBindAddress string `json:"metricsBindAddress,omitempty"`
	// Image is kube-proxy's image. Default kubeProxyRepository, tagged
	// kubernetes.nodeVersion.
	Image string `json:"image,omitempty"`
}

// Conntrack sizes the kernel's connection tracking table and its timeouts.
type Conntrack struct {
	// MaxPerCore sets nf_conntrack_max to this many entries per CPU (at least
	// min). Default 0: leave the images' nf_conntrack_max (1048576), which
	// kube-proxy would otherwise lower on small machines.
	MaxPerCore *int `json:"maxPerCore,omitempty"`
	// Min is the floor of nf_conntrack_max when maxPerCore is set. Default 0.
	Min *int `json:"min,omitempty"`
	// TCPEstablishedTimeoutSeconds for idle established TCP connections.
	// Default [DefaultTCPEstablished] (the kernel's is 5 days).
	TCPEstablishedTimeoutSeconds int `json:"tcpEstablishedTimeoutSeconds,omitempty"`
	// TCPCloseWaitTimeoutSeconds for connections in CLOSE_WAIT. Default
	// [DefaultTCPCloseWait].
	TCPCloseWaitTimeoutSeconds int `json:"tcpCloseWaitTimeoutSeconds,omitempty"`
}

// kube-proxy defaults (conntrack maxPerCore and min: 0).
const (
	DefaultSyncPeriod          = 30
	DefaultMinSyncPeriod       = 1
	DefaultIPVSSyncPeriod      = 120
	DefaultIPVSMinSyncPeriod   = 5
	DefaultTCPEstablished      = 86400
	DefaultTCPCloseWait        = 3600
	DefaultProxyMetricsAddress = "0.0.0.0:10249"
	kubeProxyRepository        = "registry.k8s.io/kube-proxy"
)

// withDefaults applies kube-proxy's defaults for the CNI's choice; version
// is the nodes' (kube-proxy runs beside their kubelets).
func (k KubeProxy) withDefaults(cni CNI, version string) KubeProxy {
	if k.Mode == "" {
		k.Mode = ProxyNFTables
		if cni.CNIReplacesProxy() {
			k.Mode = ProxyNone
		}
	}
	sync, minSync := DefaultSyncPeriod, DefaultMinSyncPeriod
	if k.Mode == ProxyIPVS {
		sync, minSync = DefaultIPVSSyncPeriod, DefaultIPVSMinSyncPeriod
	}
	if k.SyncPeriodSeconds == 0 {
		k.SyncPeriodSeconds = sync
	}
	if k.MinSyncPeriodSeconds == nil {
		k.MinSyncPeriodSeconds = &minSync
	} else {
		v := *k.MinSyncPeriodSeconds
		k.MinSyncPeriodSeconds = &v
	}
	zero := func(p *int) *int {
		v := 0
		if p != nil {
			v = *p
		}
		return &v
	}
	k.Conntrack.MaxPerCore = zero(k.Conntrack.MaxPerCore)
	k.Conntrack.Min = zero(k.Conntrack.Min)
	if k.Conntrack.TCPEstablishedTimeoutSeconds == 0 {
		k.Conntrack.TCPEstablishedTimeoutSeconds = DefaultTCPEstablished
	}
	if k.Conntrack.TCPCloseWaitTimeoutSeconds == 0 {
		k.Conntrack.TCPCloseWaitTimeoutSeconds = DefaultTCPCloseWait
	}
	if k.MetricsBindAddress == "" {
		k.MetricsBindAddress = DefaultProxyMetricsAddress
	}
	if k.Image == "" {
		k.Image = kubeProxyRepository + ":" + version
	}
	return k
}

// ProxyDeployed reports whether kinfra deploys kube-proxy.
func (c Cluster) ProxyDeployed() bool { return c.KubeProxy.Mode != ProxyNone }

var hostPort = regexp.MustCompile(`^([0-9.]+|\[[0-9a-f:]+\]):([0-9]{1,5})$`)

var proxyModes = []string{ProxyNFTables, ProxyIPTables, ProxyIPVS, ProxyNone}

// checkProxy validates kube-proxy's settings and how they combine with the
// CNI: Services must be implemented exactly once.
func (c Cluster) checkProxy() validate.Errors {
	var errs validate.Errors
	k, cni := c.KubeProxy, c.CNI
	const p = "cluster.kubeProxy"
	if !slices.Contains(proxyModes, k.Mode) {
		errs.Addf(p+".mode", "%q is not allowed; use nftables, iptables, ipvs or none (the CNI replaces kube-proxy)", k.Mode)
		return errs
	}
	switch {
	case cni.Provider == CNICilium && cni.KubeProxyReplacement && k.Mode != ProxyNone:
		errs.Addf(p+".mode", "%s, but cluster.cni.kubeProxyReplacement is true: Cilium then implements Services itself, and kube-proxy beside it would program every Service twice. Use none (or remove it: none is the default then), or turn kubeProxyReplacement off", k.Mode)
	case cni.Provider == CNICalico && cni.Dataplane == DataplaneBPF && k.Mode != ProxyNone:
		errs.Addf(p+".mode", "%s, but Calico's bpf dataplane replaces kube-proxy and must not run beside it. Use none (or remove it: none is the default then), or another cluster.cni.dataplane", k.Mode)
	case cni.Provider == CNICalico && cni.Dataplane == DataplaneNFTables && k.Mode != ProxyNFTables && k.Mode != ProxyNone:
		errs.Addf(p+".mode", "%s, but Calico's nftables dataplane needs kube-proxy in nftables mode (both must program nftables); use nftables, or cluster.cni.dataplane: iptables", k.Mode)
	case k.Mode == ProxyNone && !cni.CNIReplacesProxy():
		errs.Addf(p+".mode", "none, but the CNI does not replace kube-proxy, so nothing would implement Services; set cluster.cni.kubeProxyReplacement: true (cilium) or cluster.cni.dataplane: bpf (calico), or use nftables")
	}
	if k.SyncPeriodSeconds < 1 || k.SyncPeriodSeconds > 3600 {
		errs.Addf(p+".syncPeriodSeconds", "%d is out of range; use 1 to 3600", k.SyncPeriodSeconds)
	}
	if m := *k.MinSyncPeriodSeconds; m < 0 || m > k.SyncPeriodSeconds {
		errs.Addf(p+".minSyncPeriodSeconds", "%d is out of range; use 0 to syncPeriodSeconds (%d)", m, k.SyncPeriodSeconds)
	}
	ct := k.Conntrack
	if *ct.MaxPerCore < 0 {
		errs.Addf(p+".conntrack.maxPerCore", "%d is negative; use 0 (leave the image's nf_conntrack_max) or a number of entries per CPU", *ct.MaxPerCore)
	}
	if *ct.Min < 0 {
		errs.Addf(p+".conntrack.min", "%d is negative", *ct.Min)
	} else if *ct.Min > 0 && *ct.MaxPerCore == 0 {
		errs.Addf(p+".conntrack.min", "%d, but maxPerCore is 0, so kube-proxy leaves nf_conntrack_max alone and min has no effect; set maxPerCore too, or remove min", *ct.Min)
	}
	if ct.TCPEstablishedTimeoutSeconds < 0 {
		errs.Addf(p+".conntrack.tcpEstablishedTimeoutSeconds", "%d is negative", ct.TCPEstablishedTimeoutSeconds)
	}
	if ct.TCPCloseWaitTimeoutSeconds < 0 {
		errs.Addf(p+".conntrack.tcpCloseWaitTimeoutSeconds", "%d is negative", ct.TCPCloseWaitTimeoutSeconds)
	}
	if m := hostPort.FindStringSubmatch(k.MetricsBindAddress); m == nil {
		errs.Addf(p+".metricsBindAddress", "%q is not IP:port (e.g. %s)", k.MetricsBindAddress, DefaultProxyMetricsAddress)
	} else if port, _ := strconv.Atoi(m[2]); port < 1 || port > 65535 {
		errs.Addf(p+".metricsBindAddress", "port %d is out of range", port)
	}
	if !imageRef.MatchString(k.Image) {
		errs.Addf(p+".image", "%q is not an image reference (registry/repository:tag)", k.Image)
	}
	return errs
}
