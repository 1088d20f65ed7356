package tagset_test

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/tags/tagset"
)

func TestKinfrasKeysWinOverTheUsersAndTheResourcesOwn(t *testing.T) {
	s := tagset.Set{ClusterName: "prod", Region: "eu-west-1", Component: "masters",
		Extra: map[string]string{"team": "x", tags.Cluster: "other", "Name": "user"}}
	got := s.For("prod-masters-etcd-0", map[string]string{tags.Role: tags.RoleEtcd, tags.Component: "other", "team": "y"})
	require.Equal(t, pulumi.StringMap{
		"team": pulumi.String("y"), tags.Role: pulumi.String(tags.RoleEtcd), "Name": pulumi.String("prod-masters-etcd-0"),
		tags.Cluster: pulumi.String("prod"), tags.Region: pulumi.String("eu-west-1"), tags.Component: pulumi.String("masters"),
		tags.ManagedBy: pulumi.String("kinfra"),
	}, got)
}
