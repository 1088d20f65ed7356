package spec_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/spec"
)

func TestJoinTokensLiveADayByDefault(t *testing.T) {
	eff, err := spec.Resolve(valid())
	require.NoError(t, err)
	require.Equal(t, spec.DefaultJoinTokenTTLHours, eff.JoinTokens.TTLHours)
	require.Equal(t, 24, eff.JoinTokens.TTLHours)
}

func TestJoinTokenTTLOutsideEightHoursToAWeekIsRefused(t *testing.T) {
	for _, ok := range []int{8, 12, 24, 168} {
		c := valid()
		c.JoinTokens.TTLHours = ok
		require.Empty(t, messages(t, c), "%d hours", ok)
	}
	for _, bad := range []int{-1, 1, 7, 169, 8760} {
		c := valid()
		c.JoinTokens.TTLHours = bad
		require.Equal(t, []string{
			fmt.Sprintf("cluster.joinTokens.ttlHours: %d is not allowed", bad) + "; use 8 to 168 hours (a replaced join token must outlive a node's whole join, and every token expire within a week)",
		}, messages(t, c))
	}
}

func TestJoinTokenTTLOfZeroAndUnknownKeysAreRefused(t *testing.T) {
	_, err := spec.Decode([]byte(`{"name":"prod-use1","joinTokens":{"ttlHours":0}}`))
	require.ErrorContains(t, err, "cluster.joinTokens.ttlHours")
	require.ErrorContains(t, err, "8 to 168 hours")
	_, err = spec.Decode([]byte(`{"name":"prod-use1","joinTokens":{"ttl":24}}`))
	require.ErrorContains(t, err, "cluster.joinTokens.ttl")
	c, err := spec.Decode([]byte(`{"name":"prod-use1","joinTokens":{"ttlHours":12}}`))
	require.NoError(t, err)
	require.Equal(t, 12, c.JoinTokens.TTLHours)
}
