package findings

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

func groups(n int) []mockaws.Resource {
	rs := make([]mockaws.Resource, n)
	for i := range rs {
		rs[i] = res(groupType, fmt.Sprintf("g%04d", i), fmt.Sprintf("g%04d", i), nil)
	}
	return rs
}

func TestMoreAutoScalingGroupsThanTheDefaultRegionQuotaIsAWarningAtItsBoundary(t *testing.T) {
	for _, n := range []int{0, 1, DefaultAutoScalingGroupQuota - 1, DefaultAutoScalingGroupQuota, DefaultAutoScalingGroupQuota + 1, 2 * DefaultAutoScalingGroupQuota} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			// Other resources, launch templates above all, do not count.
			rs := append(groups(n), res(launchTemplate, "lt", "lt-1", nil), res("aws:autoscaling/lifecycleHook:LifecycleHook", "hook", "h", nil))
			var got []Finding
			for _, f := range Run(rs) {
				if f.Rule == "quota/auto-scaling-groups" {
					got = append(got, f)
				}
			}
			if n <= 500 {
				require.Empty(t, got)
				return
			}
			require.Len(t, got, 1)
			require.Equal(t, Warning, got[0].Severity)
			require.Empty(t, got[0].Resource, "the finding is the whole stack's")
			require.Contains(t, got[0].Message, fmt.Sprintf("the stack creates %d Auto Scaling groups", n))
			require.Contains(t, got[0].Message, "default quota is 500 per region")
			require.Contains(t, got[0].Message, "L-CDE20ADC")
			require.Contains(t, got[0].Message, "Service Quotas")
		})
	}
}

func TestAStackWhoseRegionHasARaisedQuotaCanAcknowledgeTheAutoScalingGroupWarning(t *testing.T) {
	acks, err := ParseAcknowledgements(`[{"rule": "quota/auto-scaling-groups", "reason": "quota raised to 1500 in this region, case 123"}]`)
	require.NoError(t, err)
	fs := Acknowledge(Run(groups(DefaultAutoScalingGroupQuota+1)), acks)
	require.Equal(t, []string{"warning quota/auto-scaling-groups "}, rules(fs), "acknowledged, and no acknowledgements/unused")
	require.Equal(t, "quota raised to 1500 in this region, case 123", fs[0].Acknowledged)
}
