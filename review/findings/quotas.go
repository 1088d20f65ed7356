package findings

import (
	"fmt"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// DefaultAutoScalingGroupQuota is an account's default quota of Auto Scaling
// groups per region (Service Quotas: autoscaling, L-CDE20ADC, "Auto Scaling
// groups per region"; the Amazon EC2 Auto Scaling user guide, "Quotas for
// Auto Scaling resources and groups").
const DefaultAutoScalingGroupQuota = 500

// autoScalingGroupQuota warns when the stack alone creates more Auto Scaling
// groups (a master group per slot, a group per node pool) than a region
// allows by default: `pulumi up` would stop at the quota, part way through
// the pools, unless the account's quota was raised.
func autoScalingGroupQuota(rs []mockaws.Resource) []Finding {
	n := len(mockaws.OfType(rs, groupType))
	if n <= DefaultAutoScalingGroupQuota {
		return nil
	}
	return []Finding{{Message: fmt.Sprintf("the stack creates %d Auto Scaling groups in its region (one per master slot and one per node pool); an account's default quota is %d per region, counting the groups the account already has there, so `pulumi up` would fail part way. "+
		"Check the region's quota (aws service-quotas get-service-quota --service-code autoscaling --quota-code L-CDE20ADC) and raise it in Service Quotas (Amazon EC2 Auto Scaling, \"Auto Scaling groups per region\") before deploying, or merge node pools",
		n, DefaultAutoScalingGroupQuota)}}
}
