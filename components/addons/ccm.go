package addons

import (
	"strings"

	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/spec"
)

// CCMRelease is the Helm release name of the cloud-controller-manager.
const CCMRelease = "aws-cloud-controller-manager"

// CloudControllerManager is the kinfra:addons:CloudControllerManager
// component: the AWS cloud-controller-manager's chart, a DaemonSet on the
// masters. It only deploys: its IAM statements are in the masters' policy
// (components/masters), which every master role attaches.
type CloudControllerManager struct {
	pulumi.ResourceState

	// Release is the chart's Helm release.
	Release *helmv3.Release
}

// CCMValues are the Helm values of the aws-cloud-controller-manager chart
// for cluster c.
func CCMValues(c spec.Cluster) map[string]any {
	image := c.Addons.CloudControllerManager.Image
	if image == "" {
		image = CCMImage
	}
	repo, tag := splitImage(image)
	return map[string]any{
		"args": []any{
			"--v=2",
			"--cloud-provider=aws",
			// Pod routes are the CNI's business (overlay or ENI), never VPC
			// route tables.
			"--configure-cloud-routes=false",
			// Load balancers and their security groups carry this name in
			// kubernetes.io/cluster/<name>, which the masters' policy
			// requires.
			"--cluster-name=" + c.Name,
		},
		"image": map[string]any{"repository": repo, "tag": tag},
		// Host network: it runs before any CNI (it is what lets nodes out
		// of the uninitialised state), and reaches the instance
		// credentials of the master it runs on.
		"hostNetworking": true,
		// Resolve with the master's resolver: cluster DNS needs the CNI and
		// initialised nodes.
		"dnsPolicy":    "Default",
		"nodeSelector": mastersNodeSelector(),
		// Beside the masters' tolerations, not-ready: a master is not ready
		// until the CNI runs, and the controller needs no CNI.
		"tolerations": tolerationValues(append(append([]toleration{}, mastersTolerations...), toleration{NotReadyTaint, "NoSchedule"})),
	}
}

// splitImage splits an image reference into the repository and tag the
// charts join as "<repository>:<tag>". A digest stays in the tag
// (repo:tag@sha256:…); a reference with a digest and no tag is split at the
// digest's colon, which the charts join back into the same reference.
func splitImage(ref string) (repository, tag string) {
	name := ref
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		name = ref[i+1:]
	}
	start := len(ref) - len(name)
	if i := strings.IndexAny(name, ":@"); i >= 0 && name[i] == ':' {
		return ref[:start+i], ref[start+i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > start {
		return ref[:i], ref[i+1:]
	}
	return ref, "latest"
}

// cloudControllerManager installs the AWS cloud-controller-manager.
func (b *builder) cloudControllerManager() (*CloudControllerManager, error) {
	out := &CloudControllerManager{}
	if err := b.component("CloudControllerManager", "cloud-controller-manager", out); err != nil {
		return nil, err
	}
	a := b.c.Addons.CloudControllerManager
	rel, err := b.release(out, "cloud-controller-manager", CCMRelease, "kube-system", CCMChart, a.Version, pulumi.ToMap(CCMValues(b.c)))
	if err != nil {
		return nil, err
	}
	out.Release = rel
	if err := b.ctx.RegisterResourceOutputs(out, pulumi.Map{
		"version": pulumi.String(CCMChart.version(a.Version)),
	}); err != nil {
		return nil, err
	}
	return out, nil
}
