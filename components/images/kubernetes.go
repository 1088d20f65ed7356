package images

import (
	"fmt"

	"github.com/kinfra-dev/kinfra/spec"
)

// Where the Kubernetes binaries and units go: where upstream's packages
// (kubernetes/release, pkgs.k8s.io) put them, so that kubeadm and every
// guide find them where they expect.
const (
	KubernetesBinDir = "/usr/bin"
	KubeletUnitPath  = "/usr/lib/systemd/system/kubelet.service"
	KubeadmDropIn    = "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf"
)

// kubeletUnit is upstream's kubelet.service.
const kubeletUnit = `[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target`

// kubeadmDropIn is upstream's 10-kubeadm.conf; env is the file the
// distribution's package reads extra flags from (/etc/default/kubelet in
// the deb, /etc/sysconfig/kubelet in the rpm).
func kubeadmDropIn(env string) string {
	return `# Note: This dropin only works with kubeadm and kubelet v1.11+
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# This is a file that "kubeadm init" and "kubeadm join" generates at runtime, populating the KUBELET_KUBEADM_ARGS variable dynamically
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# This is a file that the user can use for overrides of the kubelet args as a last resort. Preferably, the user should use
# the .NodeRegistration.KubeletExtraArgs object in the configuration files instead. KUBELET_EXTRA_ARGS should be sourced from this file.
EnvironmentFile=-` + env + `
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS`
}

// kubernetesURL is a release binary on dl.k8s.io.
func (r renderer) kubernetesURL(bin string) string {
	return fmt.Sprintf("https://dl.k8s.io/release/%s/bin/linux/%s/%s", r.k8s, r.arch.release, bin)
}

// nodePackages are the distribution packages the kubelet, kubeadm and
// kube-proxy call: conntrack, socat (port-forward), ethtool, ebtables (Ubuntu),
// nftables and iptables.
func (r renderer) nodePackages() (packages, commands []string) {
	if r.parent == spec.ParentAL2023 {
		return []string{"conntrack-tools", "socat", "ethtool", "iptables-nft", "nftables"},
			[]string{"conntrack", "socat", "ethtool", "iptables", "nft"}
	}
	return []string{"conntrack", "socat", "ethtool", "ebtables", "iptables", "nftables"},
		[]string{"conntrack", "socat", "ethtool", "ebtables", "iptables", "nft"}
}

// kubernetes installs kubelet, kubeadm and kubectl at the cluster's
// version, each checked against the .sha256 published beside it, with
// upstream's units, and enables the kubelet (which waits, restarting, until
// kubeadm configures it at boot).
func (r renderer) kubernetes() document {
	env := "/etc/default/kubelet"
	if r.parent == spec.ParentAL2023 {
		env = "/etc/sysconfig/kubelet"
	}
	packages, commands := r.nodePackages()
	install := []string{downloadFuncs}
	for _, bin := range []string{"kubelet", "kubeadm", "kubectl"} {
		install = append(install,
			download(bin, r.kubernetesURL(bin), bin+".sha256", r.kubernetesURL(bin)+".sha256"),
			fmt.Sprintf("install -m 0755 %s %s", shq(bin), shq(KubernetesBinDir+"/"+bin)))
	}
	want := r.k8s
	return document{
		short:       "kubernetes",
		description: r.describe("kubelet, kubeadm and kubectl " + r.k8s + " with their node packages"),
		phases: []phase{
			{name: "build", steps: []step{
				bash("InstallPackages", r.install(packages...)...),
				bash("InstallBinaries", install...),
				bash("InstallKubeletUnit",
					writeFile(KubeletUnitPath, "0644", kubeletUnit),
					writeFile(KubeadmDropIn, "0644", kubeadmDropIn(env)),
					"install -d -m 0755 /etc/kubernetes/manifests",
					"systemctl daemon-reload",
					"systemctl enable kubelet.service"),
			}},
			{name: "validate", steps: []step{
				bash("Versions", checkFuncs,
					contains("Kubernetes "+want, KubernetesBinDir+"/kubelet", "--version"),
					"version=$("+KubernetesBinDir+"/kubeadm version -o short)",
					fmt.Sprintf(`[[ $version == %s ]] || { echo "kubeadm is $version, want %s" >&2; exit 1; }`, shq(want), want),
					contains("Client Version: "+want, KubernetesBinDir+"/kubectl", "version", "--client")),
				bash("KubeletEnabled", "systemctl is-enabled kubelet.service"),
				bash("NodePackages", commandsExist(commands...)),
			}},
			{name: "test", steps: []step{
				bash("KubeletEnabled", "systemctl is-enabled kubelet.service"),
			}},
		},
	}
}
