package releases

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/spec"
)

// cluster is a one-pool cluster with every add-on, changed by edit, with
// its defaults applied.
func cluster(edit func(*spec.Cluster)) spec.Cluster {
	c := spec.Cluster{Name: "pins", Region: "eu-west-1",
		NodePools: []spec.NodePool{{Name: "general", MinSize: 1, MaxSize: 3}}}
	if edit != nil {
		edit(&c)
	}
	return c.WithDefaults()
}

// defaultsOf are the stacks that, between them, use every pin kinfra makes:
// each CNI, each Kubernetes minor kinfra installs, every add-on on.
func defaultsOf(t *testing.T) []spec.Cluster {
	var cs []spec.Cluster
	for _, minor := range spec.SupportedKubernetesMinors {
		for _, cni := range []string{spec.CNICilium, spec.CNICalico} {
			cs = append(cs, cluster(func(c *spec.Cluster) {
				c.Kubernetes.Version = "v" + minor + ".0"
				c.CNI.Provider = cni
			}))
		}
	}
	require.Len(t, cs, 2*len(spec.SupportedKubernetesMinors))
	return cs
}

// A pin is only as good as its source: every chart, image and release
// kinfra pins by default has a row in Known, with the upstream release's
// page. Change a pin without recording where it comes from and this fails.
func TestEveryPinKinfraMakesHasARecordedSource(t *testing.T) {
	seen := map[Kind]int{}
	for _, c := range defaultsOf(t) {
		for _, p := range Pins(c) {
			if p.Kind == Binary && p.Name == Kubernetes {
				continue // the stack chose it, below
			}
			require.False(t, p.Stack, "%s (%s) is kinfra's default", p, p.Path)
			r, ok := Lookup(p)
			require.True(t, ok, "%s (%s) has no row in Known: record the public release it comes from (docs/pins.md)", p, p.Path)
			require.NotEmpty(t, r.Source, "%s", p)
			seen[p.Kind]++
		}
	}
	// The walk covered the charts (the CNI's, CCM, EBS, autoscaler), the
	// images and the images pipeline; a Pins that lost some would pass
	// vacuously.
	require.Equal(t, map[Kind]int{Chart: 4 * 4, Image: 3 * 4, Binary: 4 * 4}, seen)
	r, ok := Lookup(Pin{Kind: Binary, Name: Kubernetes, Version: spec.DefaultKubernetes})
	require.True(t, ok && r.Confirmed, "the default Kubernetes version is a confirmed release")
}

func TestKnownReleasesAreWellFormedAndUnique(t *testing.T) {
	today := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	for _, r := range Known {
		id := fmt.Sprintf("%s %s %s", r.Kind, r.Name, r.Version)
		require.False(t, seen[id], "%s is listed twice", id)
		seen[id] = true
		require.Contains(t, []Kind{Chart, Image, Binary}, r.Kind, id)
		require.NotEmpty(t, r.Name, id)
		require.NotEmpty(t, r.Version, id)
		u, err := url.Parse(r.Source)
		require.NoError(t, err, id)
		require.Equal(t, "https", u.Scheme, "%s: %s", id, r.Source)
		require.Equal(t, "github.com", u.Host, "%s: upstream release pages are on GitHub", id)
		require.Contains(t, r.Source, strings.TrimPrefix(r.Version, "v"), "%s: the source names the version", id)
		require.NotEmpty(t, r.Evidence, "%s: say how it was confirmed, or what was looked for", id)
		if !r.Confirmed {
			require.True(t, strings.HasPrefix(r.Evidence, "not found:"), "%s: an unconfirmed release says what was not found", id)
		}
		if r.Released != "" {
			d, err := time.Parse(time.DateOnly, r.Released)
			require.NoError(t, err, id)
			require.False(t, d.After(today), "%s: released in the future", id)
		}
	}
}

// Every override a stack can make is its own pin: an unrecorded version at
// any of them gets exactly one note naming that key, and the confirmed
// release at the same key gets none.
func TestEveryOverrideOfAnUnrecordedVersionIsNotedAtItsKey(t *testing.T) {
	at136 := func(c *spec.Cluster) {
		c.Kubernetes.Version = "v1.36.3" // no unconfirmed default in the way
	}
	for _, x := range []struct {
		path      string
		set       func(*spec.Cluster, string)
		bad, good string
	}{
		{"cluster.kubernetes.version", func(c *spec.Cluster, v string) { c.Kubernetes.Version = v }, "v1.36.9", "v1.36.4"},
		{"cluster.kubernetes.nodeVersion", func(c *spec.Cluster, v string) { c.Kubernetes.NodeVersion = v }, "v1.36.7", "v1.36.1"},
		{"cluster.images.versions.containerd", func(c *spec.Cluster, v string) { c.Images.Versions.Containerd = v }, "2.4.9", spec.DefaultContainerd},
		{"cluster.images.versions.runc", func(c *spec.Cluster, v string) { c.Images.Versions.Runc = v }, "1.5.9", spec.DefaultRunc},
		{"cluster.images.versions.cniPlugins", func(c *spec.Cluster, v string) { c.Images.Versions.CNIPlugins = v }, "1.9.9", spec.DefaultCNIPlugins},
		{"cluster.images.versions.etcd", func(c *spec.Cluster, v string) { c.Images.Versions.Etcd = v }, "3.7.9", spec.DefaultEtcd},
		{"cluster.cni.version", func(c *spec.Cluster, v string) { c.CNI.Version = v }, "1.20.9", "1.20.2"},
		{"cluster.addons.cloudControllerManager.version", func(c *spec.Cluster, v string) { c.Addons.CloudControllerManager.Version = v }, "0.0.99", "0.0.10"},
		{"cluster.addons.ebsCsiDriver.version", func(c *spec.Cluster, v string) { c.Addons.EBSCSIDriver.Version = v }, "2.66.0", "2.65.1"},
		{"cluster.addons.clusterAutoscaler.version", func(c *spec.Cluster, v string) { c.Addons.ClusterAutoscaler.Version = v }, "9.99.0", "9.59.0"},
		{"cluster.addons.cloudControllerManager.image", func(c *spec.Cluster, v string) { c.Addons.CloudControllerManager.Image = v },
			"registry.k8s.io/provider-aws/cloud-controller-manager:v1.36.2", "registry.k8s.io/provider-aws/cloud-controller-manager:v1.35.2"},
		{"cluster.addons.nodeTerminationHandler.image", func(c *spec.Cluster, v string) { c.Addons.NodeTerminationHandler.Image = v },
			"mirror.example.com/aws-node-termination-handler:v1.25.6", "public.ecr.aws/aws-ec2/aws-node-termination-handler:v1.25.6"},
		{"cluster.addons.clusterAutoscaler.image", func(c *spec.Cluster, v string) { c.Addons.ClusterAutoscaler.Image = v },
			"registry.k8s.io/autoscaling/cluster-autoscaler:v1.37.0", "registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.1"},
		{"cluster.kubeProxy.image", func(c *spec.Cluster, v string) { c.KubeProxy.Image = v },
			"registry.k8s.io/kube-proxy:v1.36.3@sha256:" + strings.Repeat("0", 64), "registry.k8s.io/kube-proxy:v1.36.3"},
	} {
		t.Run(x.path, func(t *testing.T) {
			notes := Notes(cluster(func(c *spec.Cluster) { at136(c); x.set(c, x.bad) }))
			require.Len(t, notes, 1, "%q", notes)
			require.Contains(t, notes[0], "set by "+x.path+", is not a release kinfra confirmed")
			require.Empty(t, Notes(cluster(func(c *spec.Cluster) { at136(c); x.set(c, x.good) })))
		})
	}
}

// What is not deployed is not pinned: no note for an add-on turned off, a
// kube-proxy the CNI replaces, or images another stack builds.
func TestOnlyWhatTheStackInstallsIsPinned(t *testing.T) {
	off := false
	paths := func(c spec.Cluster) []string {
		var out []string
		for _, p := range Pins(c) {
			out = append(out, p.Path)
		}
		return out
	}
	all := paths(cluster(func(c *spec.Cluster) { c.KubeProxy.Image = "mirror.example.com/kube-proxy:v1.37.2" }))
	require.Contains(t, all, "cluster.kubeProxy.image")
	require.Contains(t, all, "cluster.images.versions.etcd")
	require.Contains(t, all, "cluster.addons.clusterAutoscaler.image")

	for name, edit := range map[string]func(*spec.Cluster){
		"add-ons off": func(c *spec.Cluster) { c.Addons.Enabled = &off },
		"images off":  func(c *spec.Cluster) { c.Images.Enabled = &off },
		"no pools":    func(c *spec.Cluster) { c.NodePools = nil },
		"ccm off":     func(c *spec.Cluster) { c.Addons.CloudControllerManager.Enabled = &off },
		"ebs off":     func(c *spec.Cluster) { c.Addons.EBSCSIDriver.Enabled = &off },
		"no kube-proxy": func(c *spec.Cluster) {
			c.CNI.KubeProxyReplacement = true
			c.KubeProxy.Image = "mirror.example.com/kube-proxy:v1.37.2"
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := paths(cluster(edit))
			gone := map[string][]string{
				"add-ons off":   {"cluster.cni.version", "cluster.addons.cloudControllerManager.version", "cluster.addons.ebsCsiDriver.version", "cluster.addons.clusterAutoscaler.image"},
				"images off":    {"cluster.images.versions.containerd", "cluster.images.versions.etcd"},
				"no pools":      {"cluster.addons.nodeTerminationHandler.image", "cluster.addons.clusterAutoscaler.version"},
				"ccm off":       {"cluster.addons.cloudControllerManager.version", "cluster.addons.cloudControllerManager.image"},
				"ebs off":       {"cluster.addons.ebsCsiDriver.version"},
				"no kube-proxy": {"cluster.kubeProxy.image"},
			}[name]
			for _, p := range gone {
				require.NotContains(t, got, p)
			}
			require.Contains(t, got, "cluster.kubernetes.version")
		})
	}
}

// Kinfra's own unconfirmed pin is noted with what was looked for, and only
// for the stacks that use it: cluster-autoscaler v1.37.0 for 1.37 nodes.
func TestKinfrasUnconfirmedAutoscalerImageIsNotedOnlyWhereUsed(t *testing.T) {
	off := false
	notes := Notes(cluster(nil))
	require.Equal(t, []string{"unconfirmed pin: image registry.k8s.io/autoscaling/cluster-autoscaler:v1.37.0, " +
		"kinfra's default for cluster.addons.clusterAutoscaler.image, has no confirmed public release (" +
		mustLookup(t, "registry.k8s.io/autoscaling/cluster-autoscaler", "v1.37.0").Evidence + "); " +
		"`pulumi up` fails if it was never published: check that it is, or set cluster.addons.clusterAutoscaler.image (docs/pins.md)"}, notes)
	require.Empty(t, Notes(cluster(func(c *spec.Cluster) { c.Kubernetes.NodeVersion = "v1.36.4" })), "1.36 nodes use v1.36.1")
	require.Empty(t, Notes(cluster(func(c *spec.Cluster) { c.NodePools[0].Autoscaler = &off })), "no autoscaled pool, no autoscaler")
}

func mustLookup(t *testing.T, name, version string) Release {
	r, ok := Lookup(Pin{Kind: Image, Name: name, Version: version})
	require.True(t, ok)
	return r
}

// docs/pins.md is the readable copy of Known: each row's version, source and
// confirmation are on one line of it.
func TestDocsListEveryKnownRelease(t *testing.T) {
	b, err := os.ReadFile("../../docs/pins.md")
	require.NoError(t, err)
	lines := strings.Split(string(b), "\n")
	for _, r := range Known {
		found := false
		for _, l := range lines {
			if strings.Contains(l, "| "+r.Version+" |") && strings.Contains(l, "("+r.Source+")") {
				found = true
				status := "confirmed"
				if !r.Confirmed {
					status = "**unconfirmed**"
				}
				require.Contains(t, l, "| "+status+" |", "%s %s", r.Name, r.Version)
				require.Contains(t, l, cmpOrDash(r.Released), "%s %s", r.Name, r.Version)
			}
		}
		require.True(t, found, "docs/pins.md has no row for %s %s with source %s", r.Name, r.Version, r.Source)
	}
}

func cmpOrDash(s string) string {
	if s == "" {
		return "| – |"
	}
	return "| " + s + " |"
}
