// Package releases records, for every chart, image and binary kinfra pins,
// the public upstream release it comes from and how that was confirmed
// (Known, listed in docs/pins.md), and says which of the pins a stack uses
// no confirmed release backs: `kinfra plan` notes each, since `pulumi up`
// cannot install what was never published.
package releases

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/kinfra-dev/kinfra/components/addons"
	"github.com/kinfra-dev/kinfra/spec"
)

// Kind is what is pinned.
type Kind string

// Kinds of pins.
const (
	Chart  Kind = "chart"   // a Helm chart version
	Image  Kind = "image"   // a container image tag
	Binary Kind = "release" // a project's release (binaries, and Kubernetes' images)
)

// Names of the binary releases.
const (
	Kubernetes = "Kubernetes"
	Containerd = "containerd"
	Runc       = "runc"
	CNIPlugins = "CNI plugins"
	Etcd       = "etcd"
)

// Release is one upstream release and its provenance.
type Release struct {
	Kind Kind
	// Name is the chart's name, the image's repository or the project.
	Name string
	// Version is the chart version, the image tag or the release version.
	Version string
	// Source is the upstream release's page.
	Source string
	// Released is the release date, YYYY-MM-DD, when known.
	Released string
	// Confirmed says a public source shows the release exists.
	Confirmed bool
	// Evidence is how it was confirmed, or what was looked for.
	Evidence string
}

// Pin is one chart, image or release a stack uses.
type Pin struct {
	Kind          Kind
	Name, Version string
	// Path is the configuration key that sets it.
	Path string
	// Stack says the stack set it; otherwise it is kinfra's default.
	Stack bool
}

func (p Pin) String() string {
	switch p.Kind {
	case Chart:
		return "chart " + p.Name + " " + p.Version
	case Image:
		if p.Version == "" {
			return "image " + p.Name
		}
		return "image " + p.Name + ":" + p.Version
	}
	return p.Name + " " + p.Version
}

// Lookup finds the known release of p.
func Lookup(p Pin) (Release, bool) {
	for _, r := range Known {
		if r.Kind == p.Kind && r.Name == p.Name && r.Version == p.Version {
			return r, true
		}
	}
	return Release{}, false
}

// Pins are what cluster c (with defaults applied) installs at a pinned
// version: Kubernetes, what its images pipeline bakes, and the charts and
// images of the add-ons it deploys.
func Pins(c spec.Cluster) []Pin {
	k := c.Kubernetes
	pins := []Pin{{Binary, Kubernetes, k.Version, "cluster.kubernetes.version", k.Version != spec.DefaultKubernetes}}
	if k.NodeVersion != k.Version {
		pins = append(pins, Pin{Binary, Kubernetes, k.NodeVersion, "cluster.kubernetes.nodeVersion", true})
	}
	if c.Images.On() {
		v := c.Images.Versions
		for _, b := range []struct{ name, key, version, dflt string }{
			{Containerd, "containerd", v.Containerd, spec.DefaultContainerd},
			{Runc, "runc", v.Runc, spec.DefaultRunc},
			{CNIPlugins, "cniPlugins", v.CNIPlugins, spec.DefaultCNIPlugins},
			{Etcd, "etcd", v.Etcd, spec.DefaultEtcd},
		} {
			pins = append(pins, Pin{Binary, b.name, b.version, "cluster.images.versions." + b.key, b.version != b.dflt})
		}
	}
	if c.Addons.On() {
		pins = append(pins, addonPins(c)...)
	}
	return pins
}

func addonPins(c spec.Cluster) []Pin {
	var pins []Pin
	chart := func(ch addons.Chart, path, override string) {
		pins = append(pins, Pin{Chart, ch.Name, cmp.Or(override, ch.Version), path, override != ""})
	}
	image := func(path, override, dflt string) {
		repo, tag := splitTag(cmp.Or(override, dflt))
		pins = append(pins, Pin{Image, repo, tag, path, override != ""})
	}
	// kube-proxy's default image is Kubernetes' own, pinned with nodeVersion.
	if c.ProxyDeployed() && c.KubeProxy.Image != "registry.k8s.io/kube-proxy:"+c.Kubernetes.NodeVersion {
		image("cluster.kubeProxy.image", c.KubeProxy.Image, "")
	}
	switch c.CNI.Provider {
	case spec.CNICilium:
		chart(addons.CiliumChart, "cluster.cni.version", c.CNI.Version)
	case spec.CNICalico:
		chart(addons.TigeraOperatorChart, "cluster.cni.version", c.CNI.Version)
	}
	a := c.Addons
	if ccm := a.CloudControllerManager; ccm.On() {
		chart(addons.CCMChart, "cluster.addons.cloudControllerManager.version", ccm.Version)
		image("cluster.addons.cloudControllerManager.image", ccm.Image, addons.CCMImage)
	}
	if a.EBSCSIDriver.On() {
		chart(addons.EBSCSIChart, "cluster.addons.ebsCsiDriver.version", a.EBSCSIDriver.Version)
	}
	if nth := a.NodeTerminationHandler; nth.On() {
		image("cluster.addons.nodeTerminationHandler.image", nth.Image, addons.NTHImage)
	}
	if ca := a.ClusterAutoscaler; ca.On() {
		chart(addons.AutoscalerChart, "cluster.addons.clusterAutoscaler.version", ca.Version)
		image("cluster.addons.clusterAutoscaler.image", ca.Image, addons.AutoscalerImage(c))
	}
	return pins
}

// splitTag splits repository:tag; any other reference (a digest, no tag)
// is all repository, matching no known release.
func splitTag(ref string) (repository, tag string) {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") && !strings.Contains(ref, "@") {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}

// Notes say, for each pin of cluster c that no confirmed release backs,
// that `pulumi up` fails if it was never published, and what to do.
func Notes(c spec.Cluster) []string {
	var notes []string
	for _, p := range Pins(c) {
		r, known := Lookup(p)
		switch {
		case known && r.Confirmed:
		case p.Stack:
			notes = append(notes, fmt.Sprintf("unconfirmed pin: %s, set by %s, is not a release kinfra confirmed; "+
				"`pulumi up` fails if it was never published (docs/pins.md lists the confirmed releases)", p, p.Path))
		case known:
			notes = append(notes, fmt.Sprintf("unconfirmed pin: %s, kinfra's default for %s, has no confirmed public release (%s); "+
				"`pulumi up` fails if it was never published: check that it is, or set %s (docs/pins.md)", p, p.Path, r.Evidence, p.Path))
		default:
			notes = append(notes, fmt.Sprintf("unconfirmed pin: %s, kinfra's default for %s, has no recorded source; "+
				"`pulumi up` fails if it was never published: check that it is, or set %s (docs/pins.md)", p, p.Path, p.Path))
		}
	}
	return notes
}
