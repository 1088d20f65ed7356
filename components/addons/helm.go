package addons

import (
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ReleaseTimeoutSeconds bounds how long `pulumi up` waits for a chart's
// workloads to become ready.
const ReleaseTimeoutSeconds = 900

// release installs chart (at version) as a Helm release named release in
// namespace, with values, under parent.
func (b *builder) release(parent pulumi.Resource, suffix, release, namespace string, chart Chart, version string, values pulumi.MapInput, more ...pulumi.ResourceOption) (*helmv3.Release, error) {
	return helmv3.NewRelease(b.ctx, b.name+"-"+suffix, &helmv3.ReleaseArgs{
		Name:            pulumi.String(release),
		Chart:           pulumi.String(chart.Name),
		Version:         pulumi.String(chart.version(version)),
		RepositoryOpts:  helmv3.RepositoryOptsArgs{Repo: pulumi.String(chart.Repo)},
		Namespace:       pulumi.String(namespace),
		CreateNamespace: pulumi.Bool(namespace != "kube-system"),
		Values:          values,
		// Wait for the workloads, and keep a short history for rollbacks.
		Timeout:       pulumi.Int(ReleaseTimeoutSeconds),
		MaxHistory:    pulumi.Int(10),
		CleanupOnFail: pulumi.Bool(true),
	}, b.k8s(parent, more...)...)
}
