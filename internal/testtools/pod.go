package testtools

import (
	"fmt"
	"os"
	"path/filepath"
)

// podGateway is the address a pod's default route goes through: link-local,
// answered by proxy ARP on the node's end of the pod's veth (as Calico
// wires pods), so that pods need no subnet of their own.
const podGateway = "169.254.1.1"

// AddPod adds a namespace wired to h alone, as a CNI wires a pod to its
// node: a veth pair, the pod's address ip/32 on its eth0 with a default
// route through podGateway, and a host route to ip on h, which forwards.
// The pod is a Host for Listen, DialContext, Run and Start; it is not on the
// network's bridge, so it reaches other hosts only through h (and what h's
// rules, such as kube-proxy's, do to its packets). It is removed with the
// network.
func (h *Host) AddPod(name, ip string) *Host {
	n := h.net
	n.t.Helper()
	n.mu.Lock()
	pod := &Host{Name: name, Namespace: n.prefix + "-" + name, net: n, veth: fmt.Sprintf("p%d", len(n.hosts)), ip: ip}
	n.hosts = append(n.hosts, pod)
	n.mu.Unlock()
	n.must("netns", "add", pod.Namespace)
	n.must("-n", h.Namespace, "link", "add", pod.veth, "type", "veth", "peer", "name", "eth0", "netns", pod.Namespace)
	n.must("-n", h.Namespace, "link", "set", pod.veth, "up")
	n.must("-n", pod.Namespace, "link", "set", "lo", "up")
	n.must("-n", pod.Namespace, "link", "set", "eth0", "up")
	n.must("-n", pod.Namespace, "addr", "add", ip+"/32", "dev", "eth0")
	n.must("-n", pod.Namespace, "route", "add", podGateway, "dev", "eth0", "scope", "link")
	n.must("-n", pod.Namespace, "route", "add", "default", "via", podGateway, "dev", "eth0")
	n.must("-n", h.Namespace, "route", "add", ip+"/32", "dev", pod.veth)
	for _, s := range []string{"net/ipv4/ip_forward", "net/ipv4/conf/" + pod.veth + "/proxy_arp"} {
		if out, err := ipCmd("netns", "exec", h.Namespace, "sh", "-c", "echo 1 > "+filepath.Join("/proc/sys", s)); err != nil {
			n.t.Fatalf("testtools: %s=1 in %s: %v: %s", s, h.Name, err, out)
		}
	}
	if err := os.MkdirAll(filepath.Join(netnsDir, pod.Namespace), 0o755); err != nil {
		n.t.Fatalf("testtools: %v", err)
	}
	n.writeHosts()
	return pod
}
