package spec_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/spec"
)

func TestAddonDefaults(t *testing.T) {
	eff, err := spec.Resolve(valid())
	require.NoError(t, err)
	a := eff.Addons
	require.True(t, a.On())
	require.True(t, a.CloudControllerManager.On())
	require.True(t, a.EBSCSIDriver.On())
	require.True(t, a.NodeTerminationHandler.On(), "on with node pools: it reads their termination queue")
	require.True(t, a.ClusterAutoscaler.On(), "on when a pool is autoscaled")
	require.Equal(t, spec.StorageClass{Name: "gp3", Type: "gp3", Default: ptr(true)}, a.EBSCSIDriver.StorageClass)
	require.Equal(t, "least-waste", a.ClusterAutoscaler.Expander)
	require.Equal(t, "0.5", a.ClusterAutoscaler.ScaleDownUtilizationThreshold)

	k := eff.KubeProxy
	require.Equal(t, spec.ProxyNFTables, k.Mode)
	require.Equal(t, 30, k.SyncPeriodSeconds)
	require.Equal(t, 1, *k.MinSyncPeriodSeconds)
	require.Equal(t, 0, *k.Conntrack.MaxPerCore, "the image owns nf_conntrack_max")
	require.Equal(t, 86400, k.Conntrack.TCPEstablishedTimeoutSeconds)
	require.Equal(t, "0.0.0.0:10249", k.MetricsBindAddress)
	require.Equal(t, "registry.k8s.io/kube-proxy:v1.37.2", k.Image)
}

func TestNoPoolsMeansNoTerminationHandlerNorAutoscaler(t *testing.T) {
	c := valid()
	c.NodePools = nil
	eff, err := spec.Resolve(c)
	require.NoError(t, err)
	require.False(t, eff.Addons.NodeTerminationHandler.On())
	require.False(t, eff.Addons.ClusterAutoscaler.On())
}

func TestProxyModeFollowsTheCNI(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cni       spec.CNI
		mode      string
		dataplane string
	}{
		{"cilium", spec.CNI{Provider: "cilium"}, "nftables", ""},
		{"cilium replacing kube-proxy", spec.CNI{Provider: "cilium", KubeProxyReplacement: true}, "none", ""},
		{"calico", spec.CNI{Provider: "calico"}, "nftables", "iptables"},
		{"calico bpf", spec.CNI{Provider: "calico", Dataplane: "bpf"}, "none", "bpf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			c.CNI = tc.cni
			eff, err := spec.Resolve(c)
			require.NoError(t, err)
			require.Equal(t, tc.mode, eff.KubeProxy.Mode)
			require.Equal(t, tc.dataplane, eff.CNI.Dataplane)
		})
	}
	c := valid()
	c.CNI = spec.CNI{Provider: "calico"}
	c.KubeProxy.Mode = "none"
	eff, err := spec.Resolve(c)
	require.NoError(t, err)
	require.Equal(t, "bpf", eff.CNI.Dataplane, "calico without kube-proxy is its eBPF dataplane")

	c = valid()
	c.KubeProxy.Mode = "ipvs"
	eff, err = spec.Resolve(c)
	require.NoError(t, err)
	require.Equal(t, 120, eff.KubeProxy.SyncPeriodSeconds, "ipvs resyncs less often")
	require.Equal(t, 5, *eff.KubeProxy.MinSyncPeriodSeconds)
}

func TestEachBadAddonSettingHasItsExactMessage(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(*spec.Cluster)
		want   []string
	}{
		{"cilium replacement beside kube-proxy", func(c *spec.Cluster) {
			c.CNI.KubeProxyReplacement, c.KubeProxy.Mode = true, "nftables"
		}, []string{"cluster.kubeProxy.mode: nftables, but cluster.cni.kubeProxyReplacement is true: Cilium then implements Services itself, and kube-proxy beside it would program every Service twice. Use none (or remove it: none is the default then), or turn kubeProxyReplacement off"}},
		{"calico bpf beside kube-proxy", func(c *spec.Cluster) {
			c.CNI, c.KubeProxy.Mode = spec.CNI{Provider: "calico", Dataplane: "bpf"}, "iptables"
		}, []string{"cluster.kubeProxy.mode: iptables, but Calico's bpf dataplane replaces kube-proxy and must not run beside it. Use none (or remove it: none is the default then), or another cluster.cni.dataplane"}},
		{"calico nftables with iptables kube-proxy", func(c *spec.Cluster) {
			c.CNI, c.KubeProxy.Mode = spec.CNI{Provider: "calico", Dataplane: "nftables"}, "iptables"
		}, []string{"cluster.kubeProxy.mode: iptables, but Calico's nftables dataplane needs kube-proxy in nftables mode (both must program nftables); use nftables, or cluster.cni.dataplane: iptables"}},
		{"no service implementation", func(c *spec.Cluster) { c.KubeProxy.Mode = "none" },
			[]string{"cluster.kubeProxy.mode: none, but the CNI does not replace kube-proxy, so nothing would implement Services; set cluster.cni.kubeProxyReplacement: true (cilium) or cluster.cni.dataplane: bpf (calico), or use nftables"}},
		{"unknown mode", func(c *spec.Cluster) { c.KubeProxy.Mode = "userspace" },
			[]string{`cluster.kubeProxy.mode: "userspace" is not allowed; use nftables, iptables, ipvs or none (the CNI replaces kube-proxy)`}},
		{"calico option on cilium", func(c *spec.Cluster) { c.CNI.Dataplane = "bpf" },
			[]string{`cluster.cni.dataplane: "bpf", but dataplane is Calico's; Cilium always uses eBPF (set kubeProxyReplacement to let it implement Services)`}},
		{"cilium option on calico", func(c *spec.Cluster) { c.CNI = spec.CNI{Provider: "calico", KubeProxyReplacement: true} },
			[]string{"cluster.cni.kubeProxyReplacement: true, but that is Cilium's; Calico replaces kube-proxy with dataplane: bpf"}},
		{"calico dataplane", func(c *spec.Cluster) { c.CNI = spec.CNI{Provider: "calico", Dataplane: "vpp"} },
			[]string{`cluster.cni.dataplane: "vpp" is not allowed; use iptables, nftables or bpf`}},
		{"calico without encapsulation", func(c *spec.Cluster) { c.CNI = spec.CNI{Provider: "calico", Tunnel: "none"} },
			[]string{"cluster.cni.tunnel: none is not available with calico: its unencapsulated pod addresses are not the VPC's, so the VPC drops them between subnets; use vxlan (kinfra encapsulates only between subnets)"}},
		{"calico block size", func(c *spec.Cluster) {
			c.CNI, c.Kubernetes.PodCidr, c.Kubernetes.NodeCidrMaskSize = spec.CNI{Provider: "calico"}, "10.0.0.0/8", 18
			c.Network.VpcCidr = "172.31.0.0/16"
		}, []string{"cluster.kubernetes.nodeCidrMaskSize: 18 is not allowed with calico: it is the IP pool's blockSize, which Calico allows from /20 to /32; use /20 to /28"}},
		{"chart version", func(c *spec.Cluster) { c.CNI.Version = "latest" },
			[]string{`cluster.cni.version: "latest" is not a chart version (e.g. 1.18.4)`}},
		{"sync periods", func(c *spec.Cluster) {
			c.KubeProxy.SyncPeriodSeconds, c.KubeProxy.MinSyncPeriodSeconds = 5000, ptr(6000)
		}, []string{
			"cluster.kubeProxy.syncPeriodSeconds: 5000 is out of range; use 1 to 3600",
			"cluster.kubeProxy.minSyncPeriodSeconds: 6000 is out of range; use 0 to syncPeriodSeconds (5000)",
		}},
		{"conntrack floor without a per-core size", func(c *spec.Cluster) { c.KubeProxy.Conntrack.Min = ptr(1 << 20) },
			[]string{"cluster.kubeProxy.conntrack.min: 1048576, but maxPerCore is 0, so kube-proxy leaves nf_conntrack_max alone and min has no effect; set maxPerCore too, or remove min"}},
		{"metrics address", func(c *spec.Cluster) { c.KubeProxy.MetricsBindAddress = "localhost:10249" },
			[]string{`cluster.kubeProxy.metricsBindAddress: "localhost:10249" is not IP:port (e.g. 0.0.0.0:10249)`}},
		{"image", func(c *spec.Cluster) { c.KubeProxy.Image = "kube proxy" },
			[]string{`cluster.kubeProxy.image: "kube proxy" is not an image reference (registry/repository:tag)`}},
		{"endpoint", func(c *spec.Cluster) { c.Addons.Endpoint = "http://api.example.com" },
			[]string{`cluster.addons.endpoint: "http://api.example.com" is not an https URL with a host (e.g. https://127.0.0.1:6443 through a tunnel)`}},
		{"endpoint path", func(c *spec.Cluster) { c.Addons.Endpoint = "https://api.example.com/k8s" },
			[]string{`cluster.addons.endpoint: "https://api.example.com/k8s" has a path, query or user; give only https://host[:port]`}},
		{"termination handler without pools", func(c *spec.Cluster) {
			c.NodePools, c.Addons.NodeTerminationHandler.Enabled = nil, ptr(true)
		}, []string{"cluster.addons.nodeTerminationHandler.enabled: true, but the cluster has no node pools, so it has no termination queue to read; remove it or add a pool"}},
		{"storage class", func(c *spec.Cluster) {
			c.Addons.EBSCSIDriver.StorageClass = spec.StorageClass{Name: "Fast", Type: "standard", KmsKeyId: "alias/ebs"}
		}, []string{
			`cluster.addons.ebsCsiDriver.storageClass.name: "Fast" is not a DNS label`,
			`cluster.addons.ebsCsiDriver.storageClass.type: "standard" is not allowed; use gp3, gp2, io1, io2, st1 or sc1`,
			`cluster.addons.ebsCsiDriver.storageClass.kmsKeyId: "alias/ebs" is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<uuid>); the driver needs the ARN, not an alias`,
		}},
		{"autoscaler", func(c *spec.Cluster) {
			c.Addons.ClusterAutoscaler.Expander, c.Addons.ClusterAutoscaler.ScaleDownUtilizationThreshold = "cheapest", "50%"
			c.Addons.ClusterAutoscaler.Version = "9"
		}, []string{
			`cluster.addons.clusterAutoscaler.version: "9" is not a chart version (e.g. 1.2.3)`,
			`cluster.addons.clusterAutoscaler.expander: "cheapest" is not allowed; use least-waste, most-pods, price, priority, random or least-nodes`,
			`cluster.addons.clusterAutoscaler.scaleDownUtilizationThreshold: "50%" is not a number above 0 and at most 1`,
		}},
		{"default deny", func(c *spec.Cluster) {
			c.Addons.NetworkPolicy.DefaultDeny = []string{"payments", "kube-system", "Payments", "payments"}
		}, []string{
			"cluster.addons.networkPolicy.defaultDeny[1]: kube-system holds the cluster's own add-ons (DNS, CNI, controllers), which need traffic no baseline can list; protect workloads' namespaces instead",
			`cluster.addons.networkPolicy.defaultDeny[2]: "Payments" is not a namespace name (a DNS label)`,
			"cluster.addons.networkPolicy.defaultDeny[3]: payments is listed twice",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.break_(&c)
			require.Equal(t, tc.want, messages(t, c))
		})
	}
}
