// Package spec is the typed model of a kinfra cluster: the value of the
// kinfra:cluster stack config key. It is plain Go with no Pulumi dependency, so
// it can be decoded, defaulted and validated before any resource exists.
//
// One file per concept (cluster, network, kubernetes, masters, api, cni,
// kubeproxy, nodepools, images, addons, backup, …) holds the concept's
// type, its defaults (each a named constant next to the field, applied by
// the type's WithDefaults) and its checks. Shared machinery has its own
// files: decode.go and explicit.go (strict decoding), load.go (Load and
// Resolve), advice.go, regions.go, instancetypes.go, names.go and
// helpers.go. docs/config.md is the reference; TestConfigDocDefaults checks
// its defaults against the code.
package spec

import (
	"github.com/kinfra-dev/kinfra/internal/regions"
	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Cluster is one Kubernetes cluster in one region.
type Cluster struct {
	// Name identifies the cluster in resource names, tags and DNS. Required.
	// A DNS label of at most 26 characters (MaxClusterName: the AWS names
	// kinfra derives from it must fit their limits; the termination queue's
	// EventBridge rules, 64 characters, bind).
	Name string `json:"name"`
	// Region is the AWS region. Taken from the stack's aws:region; set it here
	// only to assert the same value.
	Region string `json:"region,omitempty"`
	// Tags are added to every AWS resource kinfra creates. At most 40 (AWS
	// allows 50 per resource, kinfra uses the rest); keys must not start with
	// "aws:" nor be one kinfra sets (Name, managed-by, kinfra.dev/*,
	// kubernetes.io/*); keys up to 128 and values up to 256 characters.
	Tags map[string]string `json:"tags,omitempty"`
	// Network is the VPC topology.
	Network Network `json:"network"`
	// Kubernetes holds the cluster-wide address plan.
	Kubernetes Kubernetes `json:"kubernetes"`
	// PrivateDomain is the cluster's private Route53 zone, visible only in
	// its VPC: it holds api.<domain> and the etcd-<i>.<domain> slot records.
	// Default <name>.k8s.internal (privateDomainSuffix).
	PrivateDomain string `json:"privateDomain,omitempty"`
	// Masters is the control plane: etcd members and API servers.
	Masters Masters `json:"masters"`
	// Backup is how etcd is backed up to S3.
	Backup Backup `json:"backup"`
	// Alarms is where the cluster's alarms notify.
	Alarms Alarms `json:"alarms"`
	// JoinTokens is how long node join tokens live.
	JoinTokens JoinTokens `json:"joinTokens"`
	// API is how clients reach the Kubernetes API.
	API API `json:"api"`
	// CNI is the pod network; the node security groups open what it needs.
	CNI CNI `json:"cni"`
	// NodePools are the worker groups.
	NodePools []NodePool `json:"nodePools,omitempty"`
	// KubeProxy is the Service proxy mode.
	KubeProxy KubeProxy `json:"kubeProxy"`
	// Images bakes the AMIs.
	Images Images `json:"images"`
	// Addons are the Kubernetes add-ons deployed once the API answers:
	// kube-proxy, the CNI and the cloud integration. See docs/addons.md.
	Addons Addons `json:"addons"`
}

// privateDomainSuffix follows the cluster name in the default private domain.
const privateDomainSuffix = ".k8s.internal"

// WithDefaults returns c with every unset field given its default. Fields that
// do not apply to the chosen mode (e.g. natGateways when adopting a VPC) are
// left unset, so that Validate can tell the user set them.
func (c Cluster) WithDefaults() Cluster {
	c.Network = c.Network.WithDefaults()
	c.Kubernetes = c.Kubernetes.WithDefaults()
	if c.PrivateDomain == "" && dnsLabel.MatchString(c.Name) {
		c.PrivateDomain = c.Name + privateDomainSuffix
	}
	c.Images = c.Images.WithDefaults()
	c.Masters = c.Masters.WithDefaults(c.Kubernetes.Version, c.Images)
	c.Backup = c.Backup.withDefaults(c.Name)
	c.Alarms = c.Alarms.withDefaults()
	c.JoinTokens = c.JoinTokens.withDefaults()
	c.API = c.API.WithDefaults(c.Network.VpcCidr)
	c.CNI = c.CNI.WithDefaults().withDataplane(c.KubeProxy.Mode)
	c.KubeProxy = c.KubeProxy.withDefaults(c.CNI, c.Kubernetes.NodeVersion)
	c.Tags = cloneMap(c.Tags)
	pools := make([]NodePool, len(c.NodePools))
	for i, p := range c.NodePools {
		pools[i] = p.WithDefaults(c.Kubernetes.NodeVersion, c.Images)
	}
	c.NodePools = pools
	autoscaled := false
	for _, p := range pools {
		autoscaled = autoscaled || p.AutoscalerOn()
	}
	c.Addons = c.Addons.withDefaults(len(pools) > 0, autoscaled)
	return c
}

// Validate checks a defaulted cluster and returns every problem. spec.Resolve
// runs it once for the whole cluster. A component given a spec checks the
// sections it builds from: ValidateControlPlane, ValidateImages,
// ValidateNodePool, Network.Validate; the add-ons read nearly every section
// (the CNI, the address plan, the masters, the node pools), so they run
// Validate.
func (c Cluster) Validate() validate.Errors {
	errs, region, regionOK := c.checkIdentity()
	net, netErrs := c.Network.check("cluster.network", c.Region)
	errs.Append(netErrs)
	errs.Append(c.checkControlPlaneSections(net))
	errs.Append(c.validateNodePools(net))
	errs.Append(c.validateImages())
	errs.Append(c.checkProxy())
	errs.Append(c.checkAddons())
	// Capacity checks run whenever their own inputs are valid, so they are
	// reported together with unrelated mistakes.
	errs.Append(c.validateCapacity(net))
	errs.Append(c.checkNameLengths())
	if regionOK {
		errs.Append(c.checkARNPlaces(region))
	}
	return errs
}

// ValidateControlPlane checks what the control plane is built from: the
// cluster's name, region and tags, and its network, kubernetes, masters
// (with their image), api, cni, privateDomain, backup, alarms and
// joinTokens sections, as masters.New does for the effective spec it is
// given.
func (c Cluster) ValidateControlPlane() validate.Errors {
	errs, _, _ := c.checkIdentity()
	net, netErrs := c.Network.check("cluster.network", c.Region)
	errs.Append(netErrs)
	errs.Append(c.checkControlPlaneSections(net))
	return errs
}

// ValidateImages checks what the image pipeline is built from: the
// cluster's name, region and tags, its images section, the Kubernetes
// versions it installs, and the kube-proxy mode and CNI whose kernel
// modules it loads.
func (c Cluster) ValidateImages() validate.Errors {
	errs, _, _ := c.checkIdentity()
	errs.Append(c.validateImages())
	errs.Append(c.Kubernetes.checkVersions())
	errs.Append(c.CNI.check("cluster.cni"))
	errs.Append(c.checkProxy())
	return errs
}

// checkIdentity checks what every component names and tags resources by.
func (c Cluster) checkIdentity() (validate.Errors, regions.Region, bool) {
	var errs validate.Errors
	switch {
	case c.Name == "":
		errs.Addf("cluster.name", "required; a DNS label such as prod-use1 that names the cluster's resources")
	case !dnsLabel.MatchString(c.Name):
		errs.Addf("cluster.name", "%q is not allowed; use a DNS label of at most %d lowercase letters, digits and '-', starting with a letter (AWS names derived from it must fit their limits)", c.Name, MaxClusterName(c.Region))
	}
	region, regionOK := checkRegion(&errs, c.Region)
	errs.Append(ValidateTags("cluster.tags", c.Tags))
	return errs, region, regionOK
}

func (c Cluster) checkControlPlaneSections(net networkFacts) validate.Errors {
	var errs validate.Errors
	errs.Append(c.Kubernetes.check("cluster.kubernetes", net.vpc, c.CNI.Provider == CNICalico))
	errs.Append(c.validateMasters(net))
	errs.Append(c.checkControlPlane())
	errs.Append(c.Backup.check("cluster.backup"))
	errs.Append(c.Alarms.check("cluster.alarms"))
	errs.Append(c.JoinTokens.check("cluster.joinTokens"))
	return errs
}

// checkPrivateDomain: the masters' etcd records and the API's name live in
// the private domain, so checkControlPlane checks it with the rest of
// what the masters build.
func (c Cluster) checkPrivateDomain() validate.Errors {
	var errs validate.Errors
	if c.PrivateDomain != "" && (len(c.PrivateDomain) > 200 || !dnsName.MatchString(c.PrivateDomain)) {
		errs.Addf("cluster.privateDomain", "%q is not a DNS name; use lowercase labels joined by dots, at most 200 characters (e.g. prod-use1.k8s.internal)", c.PrivateDomain)
	}
	return errs
}
