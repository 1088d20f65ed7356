package spec

import (
	"slices"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

// CNI providers and tunnel modes.
const (
	CNICilium    = "cilium"
	CNICalico    = "calico"
	TunnelVXLAN  = "vxlan"
	TunnelGeneve = "geneve"
	TunnelNone   = "none"
)

// Calico data planes.
const (
	DataplaneIPTables = "iptables"
	DataplaneNFTables = "nftables"
	DataplaneBPF      = "bpf"
)

// CNI is the pod network, as far as the node security groups need to know.
type CNI struct {
	// Provider is cilium or calico. Default [CNICilium].
	Provider string `json:"provider,omitempty"`
	// Tunnel is the overlay between nodes: vxlan, geneve (cilium only) or
	// none (native routing: pod traffic crosses the VPC unencapsulated, so
	// nodes admit all traffic from each other). Default [TunnelVXLAN].
	Tunnel string `json:"tunnel,omitempty"`
	// WireGuard encrypts pod traffic between nodes. Default false.
	WireGuard bool `json:"wireGuard,omitempty"`
	// Hubble (cilium only) deploys Hubble and Hubble Relay and opens the
	// Hubble peer port between nodes. Default false.
	Hubble bool `json:"hubble,omitempty"`
	// KubeProxyReplacement (cilium only): Cilium's eBPF implements Services
	// and kube-proxy is not deployed (kubeProxy.mode none, its default then).
	// Default false.
	KubeProxyReplacement bool `json:"kubeProxyReplacement,omitempty"`
	// Dataplane (calico only) is iptables, nftables (kube-proxy must then
	// run in nftables mode) or bpf (Calico's eBPF replaces kube-proxy:
	// kubeProxy.mode none, its default then). Default [DataplaneIPTables],
	// or [DataplaneBPF] when kubeProxy.mode is none (withDataplane).
	Dataplane string `json:"dataplane,omitempty"`
	// Version of the CNI's Helm chart (cilium, or calico's tigera-operator).
	// Default: the version pinned in kinfra (docs/addons.md).
	Version string `json:"version,omitempty"`
}

// WithDefaults returns c with its defaults applied.
func (c CNI) WithDefaults() CNI {
	if c.Provider == "" {
		c.Provider = CNICilium
	}
	if c.Tunnel == "" {
		c.Tunnel = TunnelVXLAN
	}
	return c
}

// withDataplane applies calico's dataplane default, which follows the
// kube-proxy mode the user set (before kube-proxy's own defaults).
func (c CNI) withDataplane(proxyMode string) CNI {
	if c.Provider == CNICalico && c.Dataplane == "" {
		c.Dataplane = DataplaneIPTables
		if proxyMode == ProxyNone {
			c.Dataplane = DataplaneBPF
		}
	}
	return c
}

// PodsUseVPCAddresses reports whether pods take addresses from the node
// subnets: native routing (tunnel none) with Cilium is its ENI IPAM mode.
func (c CNI) PodsUseVPCAddresses() bool { return c.Provider == CNICilium && c.Tunnel == TunnelNone }

// CNIReplacesProxy reports whether the CNI implements Services itself.
func (c CNI) CNIReplacesProxy() bool {
	return (c.Provider == CNICilium && c.KubeProxyReplacement) || (c.Provider == CNICalico && c.Dataplane == DataplaneBPF)
}

var calicoPlanes = []string{DataplaneIPTables, DataplaneNFTables, DataplaneBPF}

func (c CNI) check(path string) validate.Errors {
	var errs validate.Errors
	switch c.Provider {
	case CNICilium:
	case CNICalico:
		switch c.Tunnel {
		case TunnelGeneve:
			errs.Addf(path+".tunnel", "geneve is not available with calico; use vxlan")
		case TunnelNone:
			errs.Addf(path+".tunnel", "none is not available with calico: its unencapsulated pod addresses are not the VPC's, so the VPC drops them between subnets; use vxlan (kinfra encapsulates only between subnets)")
		}
		if c.Hubble {
			errs.Addf(path+".hubble", "true, but Hubble is Cilium's; remove it or use provider: cilium")
		}
	default:
		errs.Addf(path+".provider", "%q is not allowed; use cilium or calico", c.Provider)
	}
	if !slices.Contains([]string{TunnelVXLAN, TunnelGeneve, TunnelNone}, c.Tunnel) {
		errs.Addf(path+".tunnel", "%q is not allowed; use vxlan, geneve or none", c.Tunnel)
	}
	errs.Append(c.checkOptions(path))
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
