package spec

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

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
	// Name of the class. Default [DefaultStorageClass].
	Name string `json:"name,omitempty"`
	// Type is gp3, gp2, io1, io2, st1 or sc1. Default
	// [DefaultStorageClassType].
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
	// priority, random or least-nodes. Default [DefaultAutoscalerExpander].
	Expander string `json:"expander,omitempty"`
	// ScaleDownUtilizationThreshold: a node below this share of requested
	// resources may be removed, 0 to 1 as a string. Default
	// [DefaultScaleDownUtilization].
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

// Add-on defaults (every add-on on, the termination handler when the cluster
// has node pools, cluster-autoscaler when a pool has autoscaler on). The
// pinned chart and image versions are in components/addons, next to the
// values they are tested with.
const (
	DefaultStorageClass         = "gp3"
	DefaultStorageClassType     = "gp3"
	DefaultAutoscalerExpander   = "least-waste"
	DefaultScaleDownUtilization = "0.5"
)

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
		sc.Type = DefaultStorageClassType
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

var volumeTypes = []string{"gp3", "gp2", "io1", "io2", "st1", "sc1"}

var expanders = []string{"least-waste", "most-pods", "price", "priority", "random", "least-nodes"}

var systemSpaces = []string{"kube-system"}

var namespaceName = dnsLabel

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
