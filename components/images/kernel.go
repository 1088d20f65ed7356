package images

import (
	"fmt"
	"strings"

	"github.com/kinfra-dev/kinfra/spec"
)

// Kernel settings the images bake in.
const (
	ModulesPath = "/etc/modules-load.d/kinfra.conf"
	SysctlPath  = "/etc/sysctl.d/90-kinfra.conf"
)

// baseModules are loaded on every node, whatever the proxy mode.
var baseModules = []string{
	// containerd's snapshotter.
	"overlay",
	// Makes bridged pod traffic visible to netfilter; the
	// net.bridge.bridge-nf-call-* sysctls exist only once it is loaded.
	"br_netfilter",
	// Loaded at boot so that net.netfilter.nf_conntrack_max applies before
	// the first connection is tracked (systemd-sysctl runs after
	// systemd-modules-load).
	"nf_conntrack",
}

// iptablesModules are the legacy tables and the conntrack match. Both
// distributions' iptables is the nf_tables backend (iptables-nft), and
// kube-proxy's own image picks the backend the host uses, so nf_tables is
// loaded too.
var iptablesModules = []string{
	"nf_tables",
	"ip_tables", "iptable_filter", "iptable_nat", "iptable_mangle",
	"ip6_tables", "ip6table_filter", "ip6table_nat", "ip6table_mangle",
	"xt_conntrack",
}

// proxyModules are what each kube-proxy mode needs loaded at boot.
var proxyModules = map[string][]string{
	spec.ProxyNFTables: {"nf_tables"},
	spec.ProxyIPTables: iptablesModules,
	// IPVS balances Services in the kernel with the round-robin, weighted
	// round-robin and source-hashing schedulers kube-proxy offers; it still
	// masquerades and filters with iptables.
	spec.ProxyIPVS: append([]string{"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh"}, iptablesModules...),
	// The CNI replaces kube-proxy (Cilium's eBPF) and loads what it needs.
	spec.ProxyNone: nil,
}

// Modules are the kernel modules the images load at boot for a proxy mode
// and CNI.
func Modules(proxyMode string, cni spec.CNI) []string {
	out := append([]string{}, baseModules...)
	out = append(out, proxyModules[proxyMode]...)
	if cni.WireGuard {
		out = append(out, "wireguard")
	}
	return out
}

// Sysctl is one kernel parameter the images set.
type Sysctl struct{ Key, Value string }

// Sysctls are the kernel parameters every image sets, in SysctlPath.
var Sysctls = []Sysctl{
	// Nodes route pod traffic: pods' addresses are not the node's. IPv6
	// forwarding for dual-stack pods; systemd-networkd handles router
	// advertisements itself, so forwarding does not cost the node its IPv6
	// default route.
	{"net.ipv4.ip_forward", "1"},
	{"net.ipv6.conf.all.forwarding", "1"},
	// Traffic between pods on one node's bridge must pass through netfilter,
	// where Service translation and network policy see it (kubeadm's
	// preflight checks the IPv4 one).
	{"net.bridge.bridge-nf-call-iptables", "1"},
	{"net.bridge.bridge-nf-call-ip6tables", "1"},
	// The defaults (128 instances, 8192-65536 watches per user) run out
	// with hundreds of pods: the kubelet, container runtimes, log shippers
	// and many applications each hold inotify instances and watches.
	{"fs.inotify.max_user_instances", "8192"},
	{"fs.inotify.max_user_watches", "1048576"},
	// Connection tracking for a large node carrying many Services: the
	// default (about 65536 on small machines) fills up and drops new
	// connections. kube-proxy raises it further per core when it runs; with
	// a kube-proxy replacement this is the value. An entry is about 320
	// bytes, so a full table costs about 320 MiB.
	{"net.netfilter.nf_conntrack_max", "1048576"},
	// Memory-mapped areas per process: Elasticsearch, OpenSearch and
	// other JVM and database workloads need 262144 (default 65530).
	{"vm.max_map_count", "262144"},
	// Hundreds of pods with many threads each exhaust the default PID
	// space (32768 on small machines); this is the 64-bit maximum.
	{"kernel.pid_max", "4194304"},
	// Neighbour table sizes: with many pods and nodes in one L2 segment
	// the defaults (128/512/1024) overflow and the kernel drops packets
	// ("neighbour table overflow").
	{"net.ipv4.neigh.default.gc_thresh1", "4096"},
	{"net.ipv4.neigh.default.gc_thresh2", "8192"},
	{"net.ipv4.neigh.default.gc_thresh3", "16384"},
	{"net.ipv6.neigh.default.gc_thresh1", "4096"},
	{"net.ipv6.neigh.default.gc_thresh2", "8192"},
	{"net.ipv6.neigh.default.gc_thresh3", "16384"},
	// The values the kubelet sets itself at start (kubelet's
	// protectKernelDefaults refuses to start when they differ): set at
	// boot, so the kubelet finds them and can be run with that protection.
	{"vm.overcommit_memory", "1"},
	{"vm.panic_on_oom", "0"},
	{"kernel.panic", "10"},
	{"kernel.panic_on_oops", "1"},
	{"kernel.keys.root_maxkeys", "1000000"},
	{"kernel.keys.root_maxbytes", "25000000"},
}

// swapOff fails while any swap is active.
const swapOff = `swaps=$(swapon --show --noheadings)
[[ -z $swaps ]] || { echo "swap is on: $swaps" >&2; exit 1; }`

// kernel loads the proxy mode's modules, sets the sysctls and turns swap
// off (the kubelet refuses to run with swap by default).
func (r renderer) kernel() document {
	mods := Modules(r.proxy, spec.CNI{WireGuard: r.wireGuard})
	modFile := "# kinfra: kernel modules loaded at every boot (kube-proxy " + r.proxy + ")\n" + strings.Join(mods, "\n")
	var sysctlLines []string
	for _, s := range Sysctls {
		sysctlLines = append(sysctlLines, s.Key+" = "+s.Value)
	}
	sysctlFile := "# kinfra: kernel parameters for Kubernetes nodes\n" + strings.Join(sysctlLines, "\n")

	var checkSysctls []string
	for _, s := range Sysctls {
		checkSysctls = append(checkSysctls, fmt.Sprintf("grep -qxF %s %s", shq(s.Key+" = "+s.Value), shq(SysctlPath)))
	}
	applied := []string{`sysctl_is() {
  local got
  got=$(sysctl -n "$1")
  [[ $got == "$2" ]] || { echo "$1 is $got, want $2" >&2; exit 1; }
}`}
	for _, s := range Sysctls {
		applied = append(applied, "sysctl_is "+shq(s.Key)+" "+shq(s.Value))
	}
	wantMods := "modules=(" + shellWords(mods) + ")"
	wantMods += "\n" + `for m in "${modules[@]}"; do` + "\n" + `  grep -qxF "$m" ` + shq(ModulesPath) + "\ndone"
	what := "kernel modules for kube-proxy " + r.proxy
	if r.wireGuard {
		what += " and WireGuard"
	}
	return document{
		short:       "kernel",
		description: r.describe(what + ", sysctls, swap off"),
		phases: []phase{
			{name: "build", steps: []step{
				bash("WriteModules", writeFile(ModulesPath, "0644", modFile)),
				bash("WriteSysctls", writeFile(SysctlPath, "0644", sysctlFile)),
				bash("DisableSwap",
					"swapoff -a",
					// Comment out swap entries, so no swap returns at boot.
					`sed -i -E 's/^([^#].*[[:space:]]swap[[:space:]].*)$/# kinfra: no swap for the kubelet: \1/' /etc/fstab`,
					"systemctl mask swap.target"),
			}},
			{name: "validate", steps: []step{
				bash("ModulesListed", wantMods),
				// The image boots its newest kernel: every module must exist
				// there (as a module or built in).
				bash("ModulesExist",
					"kernel=$(find /lib/modules -mindepth 1 -maxdepth 1 -type d -printf '%f\\n' | sort -V | tail -n 1)",
					"modules=("+shellWords(mods)+")",
					`for m in "${modules[@]}"; do`+"\n"+`  modinfo -k "$kernel" "$m" >/dev/null || { echo "kernel $kernel has no module $m" >&2; exit 1; }`+"\ndone"),
				bash("SysctlsListed", checkSysctls...),
				bash("SwapOff", swapOff,
					`if awk '$1 !~ /^#/ && $3 == "swap" { found = 1 } END { exit !found }' /etc/fstab; then echo "/etc/fstab mounts swap" >&2; exit 1; fi`),
			}},
			// On an instance launched from the image: what the files
			// promised is in effect after a boot.
			{name: "test", steps: []step{
				bash("ModulesLoaded",
					"modules=("+shellWords(mods)+")",
					"kernel=$(uname -r)",
					`for m in "${modules[@]}"; do`+"\n"+
						`  [[ -d /sys/module/$m ]] || grep -qF "/$m.ko" "/lib/modules/$kernel/modules.builtin" || { echo "module $m is not loaded" >&2; exit 1; }`+"\ndone"),
				bash("SysctlsApplied", applied...),
				bash("SwapOff", swapOff),
			}},
		},
	}
}
