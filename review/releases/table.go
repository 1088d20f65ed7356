package releases

// Known are the upstream releases kinfra pins, or has checked, each with the
// public release it comes from and how it was confirmed. docs/pins.md lists
// the same rows (a test holds the two together). A release not confirmed is
// kept here too, with what was looked for: a stack that uses it gets a note.
//
// Dates are the release's, or, for Go-module confirmations, the tag's time
// on the Go module proxy (`go list -m -json MODULE@VERSION`).
var Known = []Release{
	// Kubernetes: binaries on dl.k8s.io, images on registry.k8s.io
	// (kube-proxy's among them). kinfra installs v1.36.x and v1.37.x.
	k8s("v1.36.0", "2026-04-22"), k8s("v1.36.1", "2026-05-12"), k8s("v1.36.2", "2026-06-11"),
	k8s("v1.36.3", "2026-07-22"), k8s("v1.36.4", "2026-08-20"),
	k8s("v1.37.0", "2026-08-26"), k8s("v1.37.1", "2026-09-23"), k8s("v1.37.2", "2026-10-27"),

	// What the images install (cluster.images.versions).
	tagged(Binary, Containerd, "2.4.2", "2026-10-13", "https://github.com/containerd/containerd/releases/tag/v2.4.2",
		"github.com/containerd/containerd/v2@v2.4.2"),
	tagged(Binary, Runc, "1.5.2", "2026-09-24", "https://github.com/opencontainers/runc/releases/tag/v1.5.2",
		"github.com/opencontainers/runc@v1.5.2"),
	tagged(Binary, CNIPlugins, "1.9.1", "2026-02-19", "https://github.com/containernetworking/plugins/releases/tag/v1.9.1",
		"github.com/containernetworking/plugins@v1.9.1"),
	tagged(Binary, Etcd, "3.7.3", "2026-10-22", "https://github.com/etcd-io/etcd/releases/tag/v3.7.3",
		"go.etcd.io/etcd/server/v3@v3.7.3"),

	// Helm charts.
	{Kind: Chart, Name: "cilium", Version: "1.20.2", Released: "2026-09-15", Confirmed: true,
		Source: "https://github.com/cilium/cilium/releases/tag/v1.20.2",
		Evidence: "Go module proxy: github.com/cilium/cilium@v1.20.2; the chart at helm.cilium.io " +
			"is released with each Cilium release, at the same version"},
	{Kind: Chart, Name: "tigera-operator", Version: "v3.31.5", Confirmed: true,
		Source: "https://github.com/projectcalico/calico/releases/tag/v3.31.5",
		Evidence: "not on the Go module proxy; seen published by others: a Renovate update of the Helm " +
			"release projectcalico/tigera-operator from v3.31.5 (projectsveltos/addon-controller#1788), " +
			"and RKE2's mirrors of Calico v3.31.5 with its operator v1.40.8, built 2026-04-15 (rancher/rke2#10350)"},
	{Kind: Chart, Name: "aws-cloud-controller-manager", Version: "0.0.10", Released: "2025-09-25", Confirmed: true,
		Source: "https://github.com/kubernetes/cloud-provider-aws/releases/tag/helm-chart-aws-cloud-controller-manager-0.0.10",
		Evidence: "charts/aws-cloud-controller-manager/Chart.yaml at commit 059b0b65a5d580c55b3abf9dc9a9490394e744e0 " +
			"(version 0.0.10, appVersion v1.34.0), from kubernetes/cloud-provider-aws#1263 (merged 2025-09-25); " +
			"the repository releases every chart version (0.0.11 and 0.0.12 are later releases)"},
	{Kind: Chart, Name: "aws-ebs-csi-driver", Version: "2.65.1", Released: "2026-09-03", Confirmed: true,
		Source:   "https://github.com/kubernetes-sigs/aws-ebs-csi-driver/releases/tag/helm-chart-aws-ebs-csi-driver-2.65.1",
		Evidence: "kubernetes-sigs/aws-ebs-csi-driver#3008, \"Release Helm Chart v2.65.1\", merged 2026-09-03"},
	notFound(Chart, "aws-ebs-csi-driver", "2.66.0",
		"https://github.com/kubernetes-sigs/aws-ebs-csi-driver/releases/tag/helm-chart-aws-ebs-csi-driver-2.66.0",
		"the newest chart in public sources is 2.65.1; kinfra pinned 2.66.0 until 2026-12-07 and now pins 2.65.1"),
	{Kind: Chart, Name: "cluster-autoscaler", Version: "9.59.0", Confirmed: true,
		Source: "https://github.com/kubernetes/autoscaler/releases/tag/cluster-autoscaler-chart-9.59.0",
		Evidence: "published by 2026-08-03: updates to it from 9.58.0 (entigolabs/entigo-infralib#1583, " +
			"2026-08-03) and kubermatic/kubermatic#16253 (2026-08-13, appVersion 1.35.0); kinfra sets the image"},

	// Images kinfra sets.
	{Kind: Image, Name: "registry.k8s.io/provider-aws/cloud-controller-manager", Version: "v1.35.2", Confirmed: true,
		Source: "https://github.com/kubernetes/cloud-provider-aws/releases/tag/v1.35.2",
		Evidence: "tagged by 2026-06-12; the image was pushed to registry.k8s.io by 2026-06-29 " +
			"(kubernetes/cloud-provider-aws#1450). Later tags (v1.35.3, v1.36.2, v1.37.0, v1.37.1 on the " +
			"Go module proxy) were not confirmed published as images"},
	tagged(Image, "public.ecr.aws/aws-ec2/aws-node-termination-handler", "v1.25.6", "2026-04-02",
		"https://github.com/aws/aws-node-termination-handler/releases/tag/v1.25.6",
		"github.com/aws/aws-node-termination-handler@v1.25.6 (tag at commit 77ca841d1329504e981542775f78403feb114048)"),
	{Kind: Image, Name: "registry.k8s.io/autoscaling/cluster-autoscaler", Version: "v1.36.1", Released: "2026-07-23", Confirmed: true,
		Source:   "https://github.com/kubernetes/autoscaler/releases/tag/cluster-autoscaler-1.36.1",
		Evidence: "the release page lists registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.1"},
	notFound(Image, "registry.k8s.io/autoscaling/cluster-autoscaler", "v1.37.0",
		"https://github.com/kubernetes/autoscaler/releases/tag/cluster-autoscaler-1.37.0",
		"no cluster-autoscaler 1.37 release or image in public sources "+
			"(the module k8s.io/autoscaler/cluster-autoscaler is not served by the Go module proxy)"),
}

// tagged is a release confirmed by its tag on the Go module proxy (module
// is MODULE@VERSION, and what else the proxy said).
func tagged(kind Kind, name, version, released, source, module string) Release {
	return Release{Kind: kind, Name: name, Version: version, Released: released, Confirmed: true,
		Source: source, Evidence: "Go module proxy: " + module}
}

// notFound is a release kinfra pins or pinned that no public source shows:
// source is where it would be published, why what was looked for.
func notFound(kind Kind, name, version, source, why string) Release {
	return Release{Kind: kind, Name: name, Version: version, Source: source, Evidence: "not found: " + why}
}

// k8s is a Kubernetes release, confirmed by its tag on the Go module proxy.
func k8s(version, released string) Release {
	return tagged(Binary, Kubernetes, version, released,
		"https://github.com/kubernetes/kubernetes/releases/tag/"+version, "k8s.io/kubernetes@"+version)
}
