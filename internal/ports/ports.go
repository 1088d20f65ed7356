// Package ports is the one table of which traffic kinfra's security groups
// admit between the API load balancer, the masters and the nodes. The masters
// component turns it into security group rules; the add-ons check their CNI
// settings against it; tests compare both with it.
package ports

import (
	"fmt"

	"github.com/kinfra-dev/kinfra/spec"
)

// Group is one of kinfra's security groups.
type Group string

const (
	// LoadBalancer guards the API Network Load Balancer.
	LoadBalancer Group = "api-lb"
	// Masters guards the control-plane instances.
	Masters Group = "masters"
	// Nodes guards every worker instance.
	Nodes Group = "nodes"
	// Operators holds no kinfra instance: operators attach it to where
	// kinfra roll and kinfra etcd run inside the VPC (a deploy runner, a
	// bastion, a Client VPN endpoint), which then reaches etcd's client port
	// and each master's API server. etcd still requires a client
	// certificate from the etcd CA, which only those who may read the CA
	// from SSM can issue.
	Operators Group = "operators"
)

// Protocols, as EC2 names them. All is every protocol and port.
const (
	TCP  = "tcp"
	UDP  = "udp"
	ICMP = "icmp"
	All  = "-1"
)

// Rule admits traffic into To from From.
type Rule struct {
	To, From Group
	Protocol string
	// FromPort and ToPort are the port range; both -1 for ICMP (every type)
	// and All.
	FromPort, ToPort int
	// Name is a short slug for resource names, e.g. "etcd".
	Name string
	// Why is the reason, shown as the rule's description (EC2 allows only
	// letters, digits, spaces and ._-:/()#,@[]+=&;{}!$* there).
	Why string
}

// Well-known ports.
const (
	API           = 6443
	EtcdClient    = 2379
	EtcdPeer      = 2380
	Kubelet       = 10250
	CiliumVXLAN   = 8472
	CiliumGeneve  = 6081
	CiliumHealth  = 4240
	HubblePeer    = 4244
	CiliumWG      = 51871
	CalicoVXLAN   = 4789
	CalicoBGP     = 179
	CalicoTypha   = 5473
	CalicoWG      = 51820
	CalicoWGv6    = 51821
	portRangeNone = -1
)

var cluster = []Group{Masters, Nodes}

// Rules lists every rule between kinfra's groups for a CNI configuration.
// Admission from outside (the API access CIDRs) is not here: it is config.
func Rules(cni spec.CNI) ([]Rule, error) {
	rules := []Rule{
		{To: Masters, From: LoadBalancer, Protocol: TCP, FromPort: API, ToPort: API, Name: "api", Why: "API traffic and /readyz health checks from the load balancer"},
		{To: Masters, From: Masters, Protocol: TCP, FromPort: API, ToPort: API, Name: "api", Why: "endpoints of the kubernetes Service are the addresses of the masters"},
		{To: Masters, From: Nodes, Protocol: TCP, FromPort: API, ToPort: API, Name: "api", Why: "endpoints of the kubernetes Service are the addresses of the masters"},
		{To: Masters, From: Masters, Protocol: TCP, FromPort: EtcdClient, ToPort: EtcdPeer, Name: "etcd", Why: "etcd clients and peers: masters only"},
		{To: LoadBalancer, From: Masters, Protocol: TCP, FromPort: API, ToPort: API, Name: "api", Why: "control-plane components reach the API through its stable name"},
		{To: LoadBalancer, From: Nodes, Protocol: TCP, FromPort: API, ToPort: API, Name: "api", Why: "kubelets and kubeadm join reach the API through its stable name"},
		{To: Masters, From: Operators, Protocol: TCP, FromPort: EtcdClient, ToPort: EtcdClient, Name: "etcd-client", Why: "kinfra roll and kinfra etcd check every member and snapshot (client certificates from the etcd CA)"},
		{To: Masters, From: Operators, Protocol: TCP, FromPort: API, ToPort: API, Name: "api", Why: "kinfra roll checks the API server of each master"},
		{To: LoadBalancer, From: Operators, Protocol: TCP, FromPort: API, ToPort: API, Name: "api", Why: "kinfra roll drains nodes through the stable API name"},
	}
	for _, to := range cluster {
		for _, from := range cluster {
			rules = append(rules, Rule{To: to, From: from, Protocol: TCP, FromPort: Kubelet, ToPort: Kubelet, Name: "kubelet",
				Why: "API server logs/exec/port-forward and metrics scrapers reach kubelets"})
		}
	}
	cniPorts, err := cniRules(cni)
	if err != nil {
		return nil, err
	}
	for _, r := range cniPorts {
		for _, to := range cluster {
			for _, from := range cluster {
				r.To, r.From = to, from
				if r.Protocol == All && to == Masters && from != Masters {
					rules = append(rules, exceptEtcd(r)...)
					continue
				}
				rules = append(rules, r)
			}
		}
	}
	return rules, nil
}

// exceptEtcd narrows an all-traffic rule into the masters' group from
// another group to every TCP port but etcd's, every UDP port and ICMP: etcd
// admits the masters only, and an all-traffic rule would admit it from every
// node. Other IP protocols stay between nodes.
func exceptEtcd(r Rule) []Rule {
	part := func(proto string, from, to int, suffix, what string) Rule {
		p := r
		p.Protocol, p.FromPort, p.ToPort, p.Name = proto, from, to, r.Name+"-"+suffix
		p.Why = r.Why + " (" + what + ")"
		return p
	}
	return []Rule{
		part(TCP, 0, EtcdClient-1, "tcp-low", "TCP below etcd"),
		part(TCP, EtcdPeer+1, 65535, "tcp-high", "TCP above etcd"),
		part(UDP, 0, 65535, "udp", "UDP"),
		part(ICMP, portRangeNone, portRangeNone, "icmp", "ICMP"),
	}
}

// cniRules are the rules the CNI needs between every pair of nodes.
func cniRules(cni spec.CNI) ([]Rule, error) {
	if cni.Tunnel == spec.TunnelNone {
		// Native routing: pods talk across nodes on their own addresses,
		// on any port.
		return []Rule{{Protocol: All, FromPort: portRangeNone, ToPort: portRangeNone, Name: "pods", Why: "native routing: pod traffic between nodes is not encapsulated"}}, nil
	}
	var rules []Rule
	port := func(proto string, p int, name, why string) {
		rules = append(rules, Rule{Protocol: proto, FromPort: p, ToPort: p, Name: name, Why: why})
	}
	switch cni.Provider {
	case spec.CNICilium:
		if cni.Tunnel == spec.TunnelGeneve {
			port(UDP, CiliumGeneve, "geneve", "cilium geneve overlay")
		} else {
			port(UDP, CiliumVXLAN, "vxlan", "cilium vxlan overlay")
		}
		port(TCP, CiliumHealth, "cilium-health", "cilium-health node probes")
		rules = append(rules, Rule{Protocol: ICMP, FromPort: portRangeNone, ToPort: portRangeNone, Name: "icmp", Why: "cilium-health ICMP echo probes"})
		if cni.Hubble {
			port(TCP, HubblePeer, "hubble", "hubble relay reaches the hubble peer on every node")
		}
		if cni.WireGuard {
			port(UDP, CiliumWG, "wireguard", "cilium wireguard encryption")
		}
	case spec.CNICalico:
		port(UDP, CalicoVXLAN, "vxlan", "calico vxlan overlay")
		port(TCP, CalicoTypha, "typha", "felix reaches typha")
		// The IP pool encapsulates only across subnets (VXLANCrossSubnet):
		// within one, pods talk on their own addresses, on any port.
		rules = append(rules, Rule{Protocol: All, FromPort: portRangeNone, ToPort: portRangeNone, Name: "pods", Why: "calico cross-subnet: pod traffic within a subnet is routed unencapsulated"})
		if cni.WireGuard {
			port(UDP, CalicoWG, "wireguard", "calico wireguard encryption (IPv4)")
			port(UDP, CalicoWGv6, "wireguard-v6", "calico wireguard encryption (IPv6)")
		}
	default:
		return nil, fmt.Errorf("ports: unknown CNI provider %q; use cilium or calico", cni.Provider)
	}
	return rules, nil
}
