package spec

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Calico data planes.
const (
	DataplaneIPTables = "iptables"
	DataplaneNFTables = "nftables"
	DataplaneBPF      = "bpf"
)

// Add-on defaults. The pinned chart and image versions are in
// components/addons, next to the values they are tested with.
const DefaultSyncPeriod = 30

const DefaultMinSyncPeriod = 1

const DefaultIPVSSyncPeriod = 120

const DefaultIPVSMinSyncPeriod = 5

const DefaultTCPEstablished = 86400

const DefaultTCPCloseWait = 3600

const DefaultProxyMetricsAddress = "0.0.0.0:10249"

const DefaultStorageClass = "gp3"

const DefaultAutoscalerExpander = "least-waste"

const DefaultScaleDownUtilization = "0.5"

// Addons are the Kubernetes add-ons kinfra deploys through a Kubernetes
// provider once the API answers. The CNI (cluster.cni) and kube-proxy
// (cluster.kubeProxy) are configured beside the settings the machines need.
type Addons struct {
	// Enabled deploys the add-ons from this stack. Default true. Turn it off
	// to deploy them from another stack (components/addons with any
	// kubeconfig) or by hand; nodes stay NotReady until a CNI runs.
	Enabled *bool `json:"enabled,omitempty"`
	// Endpoint is the API URL the add-ons' Kubernetes provider connects to
	// from where `pulumi up` runs, https://host[:port]. Default
	// https://<api.publicName>:6443 when the API has a public name, else
	// https://api.<privateDomain>:6443, which resolves only inside the VPC.
	// Any other host (a VPN or tunnel address) is verified against the API
	// certificate's name api.<privateDomain>.
	Endpoint string `json:"endpoint,omitempty"`
	// CloudControllerManager is the AWS cloud-controller-manager: it
	// initialises nodes (kubelets run with an external cloud provider, so
	// nodes stay tainted uninitialised without it) and serves Services of
	// type LoadBalancer. It runs on the masters with their role.
	CloudControllerManager CloudControllerManager `json:"cloudControllerManager"`
	// EBSCSIDriver provisions EBS volumes for PersistentVolumeClaims; its
	// controller runs on the masters.
	EBSCSIDriver EBSCSIDriver `json:"ebsCsiDriver"`
	// NodeTerminationHandler drains nodes before they go: it reads the
	// cluster's termination queue (spot interruptions, rebalance
	// recommendations, the pools' lifecycle hooks) and completes the hooks.
	// Runs on the masters.
	NodeTerminationHandler NodeTerminationHandler `json:"nodeTerminationHandler"`
	// ClusterAutoscaler resizes the pools that have autoscaler on, found
	// by their tags. Runs on the masters.
	ClusterAutoscaler ClusterAutoscaler `json:"clusterAutoscaler"`
	// NetworkPolicy is the baseline policy kinfra applies.
	NetworkPolicy NetworkPolicyBaseline `json:"networkPolicy"`
}

// Addon is an add-on that can be turned off and pinned.
type Addon struct {
	// Enabled deploys it. Default true (the termination handler: when the
	// cluster has node pools).
	Enabled *bool `json:"enabled,omitempty"`
	// Version of its Helm chart. Default: pinned in kinfra.
	Version string `json:"version,omitempty"`
}

// On reports whether the add-on is deployed (after defaults).
func (a Addon) On() bool { return a.Enabled != nil && *a.Enabled }

// NodeTerminationHandler configures the AWS node termination handler in
// queue mode. It has no chart version: kinfra renders its objects (the
// chart's queue processor cannot run host-networked).
type NodeTerminationHandler struct {
	// Enabled deploys it. Default: true when the cluster has node pools.
	Enabled *bool `json:"enabled,omitempty"`
	// Image of the handler. Default: pinned in kinfra.
	Image string `json:"image,omitempty"`
}

// On reports whether the handler is deployed (after defaults).
func (n NodeTerminationHandler) On() bool { return n.Enabled != nil && *n.Enabled }

// CloudControllerManager configures the AWS cloud-controller-manager.
type CloudControllerManager struct {
	Addon
	// Image of the controller. Default: the cloud-provider-aws release
	// kinfra pins for the cluster's Kubernetes minor version.
	Image string `json:"image,omitempty"`
}

// EBSCSIDriver configures the EBS CSI driver and its StorageClass.
type EBSCSIDriver struct {
	Addon
	// StorageClass is the cluster's default StorageClass, always encrypted.
	StorageClass StorageClass `json:"storageClass"`
}

// StorageClass is an encrypted EBS StorageClass.
type StorageClass struct {
	// Name of the class. Default gp3.
	Name string `json:"name,omitempty"`
	// Type is gp3, gp2, io1, io2, st1 or sc1. Default gp3.
	Type string `json:"type,omitempty"`
	// KmsKeyId encrypts the volumes with a customer-managed key (a key ARN).
	// Default: the account's aws/ebs key.
	KmsKeyId string `json:"kmsKeyId,omitempty"`
	// Default marks it the cluster's default class. Default true.
	Default *bool `json:"default,omitempty"`
}

// ClusterAutoscaler configures cluster-autoscaler.
type ClusterAutoscaler struct {
	Addon
	// Image of cluster-autoscaler. Default: the release kinfra pins for the
	// minor of kubernetes.nodeVersion (it simulates the kubelets' scheduling,
	// and must never be newer than an API server).
	Image string `json:"image,omitempty"`
	// Expander chooses which pool grows: least-waste, most-pods, price,
	// priority, random or least-nodes. Default least-waste.
	Expander string `json:"expander,omitempty"`
	// ScaleDownUtilizationThreshold: a node below this share of requested
	// resources may be removed, 0 to 1 as a string. Default "0.5".
	ScaleDownUtilizationThreshold string `json:"scaleDownUtilizationThreshold,omitempty"`
}

// NetworkPolicyBaseline is the NetworkPolicy kinfra applies.
type NetworkPolicyBaseline struct {
	// DefaultDeny namespaces get a policy that denies all ingress and
	// egress of every pod, and one that allows DNS to kube-dns. Workloads
	// then declare what they need. The namespaces must exist (kinfra does
	// not create them) and may not be kube-system, whose add-ons predate
	// any policy. Default none.
	DefaultDeny []string `json:"defaultDeny,omitempty"`
}

// On reports whether this stack deploys the add-ons.
func (a Addons) On() bool { return a.Enabled == nil || *a.Enabled }

// ProxyDeployed reports whether kinfra deploys kube-proxy.
func (c Cluster) ProxyDeployed() bool { return c.KubeProxy.Mode != ProxyNone }

// CNIReplacesProxy reports whether the CNI implements Services itself.
func (c CNI) CNIReplacesProxy() bool {
	return (c.Provider == CNICilium && c.KubeProxyReplacement) || (c.Provider == CNICalico && c.Dataplane == DataplaneBPF)
}

// withDefaults applies the add-ons' defaults; pools says whether the
// cluster has node pools (the termination queue exists only then).
func (a Addons) withDefaults(pools, autoscaled bool) Addons {
	on := func(b *bool, dflt bool) *bool {
		if b != nil {
			v := *b
			return &v
		}
		return &dflt
	}
	a.Enabled = on(a.Enabled, true)
	a.CloudControllerManager.Enabled = on(a.CloudControllerManager.Enabled, true)
	a.EBSCSIDriver.Enabled = on(a.EBSCSIDriver.Enabled, true)
	a.NodeTerminationHandler.Enabled = on(a.NodeTerminationHandler.Enabled, pools)
	a.ClusterAutoscaler.Enabled = on(a.ClusterAutoscaler.Enabled, autoscaled)
	sc := &a.EBSCSIDriver.StorageClass
	if sc.Name == "" {
		sc.Name = DefaultStorageClass
	}
	if sc.Type == "" {
		sc.Type = "gp3"
	}
	sc.Default = on(sc.Default, true)
	ca := &a.ClusterAutoscaler
	if ca.Expander == "" {
		ca.Expander = DefaultAutoscalerExpander
	}
	if ca.ScaleDownUtilizationThreshold == "" {
		ca.ScaleDownUtilizationThreshold = DefaultScaleDownUtilization
	}
	a.NetworkPolicy.DefaultDeny = slices.Clone(a.NetworkPolicy.DefaultDeny)
	return a
}

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
		k.Image = "registry.k8s.io/kube-proxy:" + version
	}
	return k
}

var hostPort = regexp.MustCompile(`^([0-9.]+|\[[0-9a-f:]+\]):([0-9]{1,5})$`)

var chartVersion = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)

var imageRef = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(\.[a-z0-9-]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$`)

var volumeTypes = []string{"gp3", "gp2", "io1", "io2", "st1", "sc1"}

var expanders = []string{"least-waste", "most-pods", "price", "priority", "random", "least-nodes"}

var proxyModes = []string{ProxyNFTables, ProxyIPTables, ProxyIPVS, ProxyNone}

var calicoPlanes = []string{DataplaneIPTables, DataplaneNFTables, DataplaneBPF}

var systemSpaces = []string{"kube-system"}

var namespaceName = dnsLabel

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

// checkCNIOptions validates the provider-specific CNI settings.
func (c CNI) checkOptions(path string) validate.Errors {
	var errs validate.Errors
	switch c.Provider {
	case CNICilium:
		if c.Dataplane != "" {
			errs.Addf(path+".dataplane", "%q, but dataplane is Calico's; Cilium always uses eBPF (set kubeProxyReplacement to let it implement Services)", c.Dataplane)
		}
	case CNICalico:
		if c.KubeProxyReplacement {
			errs.Addf(path+".kubeProxyReplacement", "true, but that is Cilium's; Calico replaces kube-proxy with dataplane: bpf")
		}
		if !slices.Contains(calicoPlanes, c.Dataplane) {
			errs.Addf(path+".dataplane", "%q is not allowed; use iptables, nftables or bpf", c.Dataplane)
		}
	}
	if c.Version != "" && !chartVersion.MatchString(c.Version) {
		errs.Addf(path+".version", "%q is not a chart version (e.g. 1.18.4)", c.Version)
	}
	return errs
}

// checkAddons validates the add-ons section.
func (c Cluster) checkAddons() validate.Errors {
	var errs validate.Errors
	a := c.Addons
	const p = "cluster.addons"
	if a.Endpoint != "" {
		u, err := url.Parse(a.Endpoint)
		switch {
		case err != nil || u.Scheme != "https" || u.Host == "" || u.Hostname() == "":
			errs.Addf(p+".endpoint", "%q is not an https URL with a host (e.g. https://127.0.0.1:6443 through a tunnel)", a.Endpoint)
		case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil:
			errs.Addf(p+".endpoint", "%q has a path, query or user; give only https://host[:port]", a.Endpoint)
		}
	}
	for _, x := range []struct {
		path string
		a    Addon
	}{
		{p + ".cloudControllerManager", a.CloudControllerManager.Addon},
		{p + ".ebsCsiDriver", a.EBSCSIDriver.Addon},
		{p + ".clusterAutoscaler", a.ClusterAutoscaler.Addon},
	} {
		if x.a.Version != "" && !chartVersion.MatchString(x.a.Version) {
			errs.Addf(x.path+".version", "%q is not a chart version (e.g. 1.2.3)", x.a.Version)
		}
	}
	// Only a mask the address plan allows: otherwise that check reports it,
	// with Calico's bound in its range.
	if n := c.Kubernetes.NodeCidrMaskSize; c.CNI.Provider == CNICalico && n > 0 && n < 20 && c.Kubernetes.nodeMaskFits() {
		errs.Addf("cluster.kubernetes.nodeCidrMaskSize", "%d is not allowed with calico: it is the IP pool's blockSize, which Calico allows from /20 to /32; use /20 to /28", n)
	}
	if a.NodeTerminationHandler.On() && len(c.NodePools) == 0 {
		errs.Addf(p+".nodeTerminationHandler.enabled", "true, but the cluster has no node pools, so it has no termination queue to read; remove it or add a pool")
	}
	for _, x := range []struct{ path, image string }{
		{p + ".cloudControllerManager.image", a.CloudControllerManager.Image},
		{p + ".clusterAutoscaler.image", a.ClusterAutoscaler.Image},
		{p + ".nodeTerminationHandler.image", a.NodeTerminationHandler.Image},
	} {
		if x.image != "" && !imageRef.MatchString(x.image) {
			errs.Addf(x.path, "%q is not an image reference (registry/repository:tag)", x.image)
		}
	}
	sc := a.EBSCSIDriver.StorageClass
	if !namespaceName.MatchString(sc.Name) {
		errs.Addf(p+".ebsCsiDriver.storageClass.name", "%q is not a DNS label", sc.Name)
	}
	if !slices.Contains(volumeTypes, sc.Type) {
		errs.Addf(p+".ebsCsiDriver.storageClass.type", "%q is not allowed; use %s", sc.Type, validate.Join(volumeTypes))
	}
	if sc.KmsKeyId != "" && !kmsKeyArn.MatchString(sc.KmsKeyId) {
		errs.Addf(p+".ebsCsiDriver.storageClass.kmsKeyId", "%q is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<uuid>); the driver needs the ARN, not an alias", sc.KmsKeyId)
	}
	ca := a.ClusterAutoscaler
	if !slices.Contains(expanders, ca.Expander) {
		errs.Addf(p+".clusterAutoscaler.expander", "%q is not allowed; use %s", ca.Expander, validate.Join(expanders))
	}
	if f, err := strconv.ParseFloat(ca.ScaleDownUtilizationThreshold, 64); err != nil || f <= 0 || f > 1 {
		errs.Addf(p+".clusterAutoscaler.scaleDownUtilizationThreshold", "%q is not a number above 0 and at most 1", ca.ScaleDownUtilizationThreshold)
	}
	seen := map[string]bool{}
	for i, ns := range a.NetworkPolicy.DefaultDeny {
		path := fmt.Sprintf("%s.networkPolicy.defaultDeny[%d]", p, i)
		switch {
		case !namespaceName.MatchString(ns) || len(ns) > 63:
			errs.Addf(path, "%q is not a namespace name (a DNS label)", ns)
		case slices.Contains(systemSpaces, ns):
			errs.Addf(path, "%s holds the cluster's own add-ons (DNS, CNI, controllers), which need traffic no baseline can list; protect workloads' namespaces instead", ns)
		case seen[ns]:
			errs.Addf(path, "%s is listed twice", ns)
		}
		seen[ns] = true
	}
	return errs
}
