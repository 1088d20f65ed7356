package addons_test

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/components/addons"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/spec"
)

var zones = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

// cluster is a small valid cluster with one autoscaled pool; mutate it, then
// resolve it with effective.
func cluster(mutate ...func(*spec.Cluster)) spec.Cluster {
	c := spec.Cluster{
		Name: "prod", Region: "us-east-1",
		Network:   spec.Network{AvailabilityZones: zones},
		NodePools: []spec.NodePool{{Name: "general", MaxSize: 10}},
	}
	for _, m := range mutate {
		m(&c)
	}
	return c
}

// effective resolves c or fails the test.
func effective(t *testing.T, c spec.Cluster) spec.Cluster {
	t.Helper()
	eff, err := spec.Resolve(c)
	require.NoError(t, err)
	return eff
}

// args are the add-ons of an effective cluster, wired as cluster.New wires
// them.
func args(c spec.Cluster) addons.Args {
	return addons.Args{
		Cluster:              c,
		Kubeconfig:           pulumi.String("apiVersion: v1\nkind: Config\n"),
		ClusterIdentity:      "prod/0123456789abcdef",
		ControllerRoleNames:  []pulumi.StringInput{pulumi.String("prod-masters-0"), pulumi.String("prod-masters-1"), pulumi.String("prod-masters-2")},
		TerminationQueueURL:  pulumi.String("https://sqs.us-east-1.amazonaws.com/123456789012/prod-node-termination"),
		TerminationQueueArn:  pulumi.String("arn:aws:sqs:us-east-1:123456789012:prod-node-termination"),
		ServiceAccountIssuer: "https://prod-oidc-123456789012-us-east-1.s3.us-east-1.amazonaws.com",
		OIDCProviderArn:      pulumi.String("arn:aws:iam::123456789012:oidc-provider/prod-oidc-123456789012-us-east-1.s3.us-east-1.amazonaws.com"),
	}
}

// run deploys the add-ons of a under the mocks.
func run(t *testing.T, a addons.Args) (*mockaws.Mocks, *addons.Addons) {
	t.Helper()
	m := mockaws.New("us-east-1")
	var out *addons.Addons
	err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		var err error
		out, err = addons.New(ctx, "prod-addons", a)
		return err
	})
	require.NoError(t, err)
	return m, out
}

// get returns the resource of type typ named name.

// Kubernetes resource types.
const (
	releaseType   = "kubernetes:helm.sh/v3:Release"
	daemonSetType = "kubernetes:apps/v1:DaemonSet"
	configMapType = "kubernetes:core/v1:ConfigMap"
	policyType    = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
	providerType  = "pulumi:providers:kubernetes"
)
