package after_test

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/after"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

func TestAllWaitsForEachResourceAndSkipsTheOnesTurnedOff(t *testing.T) {
	m := mockaws.New("us-east-1")
	err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		a, b := &pulumi.CustomResourceState{}, &pulumi.CustomResourceState{}
		if err := ctx.RegisterResource("test:index:Thing", "a", nil, a); err != nil {
			return err
		}
		if err := ctx.RegisterResource("test:index:Thing", "b", nil, b); err != nil {
			return err
		}
		var off *pulumi.CustomResourceState // an add-on turned off
		var c pulumi.CustomResourceState
		if err := ctx.RegisterResource("test:index:Thing", "c", nil, &c, after.All(a, off, b)); err != nil {
			return err
		}
		var d pulumi.CustomResourceState
		return ctx.RegisterResource("test:index:Thing", "d", nil, &d, after.All(nil, off))
	})
	require.NoError(t, err)
	a, b := m.MustNamed(t, "test:index:Thing", "a"), m.MustNamed(t, "test:index:Thing", "b")
	require.ElementsMatch(t, []string{a.URN, b.URN}, m.MustNamed(t, "test:index:Thing", "c").Options.Dependencies)
	require.Empty(t, m.MustNamed(t, "test:index:Thing", "d").Options.Dependencies)
}
