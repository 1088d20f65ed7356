package spec

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/cidr"
	"github.com/kinfra-dev/kinfra/internal/validate"
)

// ExistingNetwork is a VPC kinfra adopts instead of creating.
type ExistingNetwork struct {
	// VpcId of the VPC, vpc-… Required.
	VpcId string `json:"vpcId"`
	// PrivateSubnets are the node subnets, exactly one per zone. Required.
	PrivateSubnets []ExistingSubnet `json:"privateSubnets"`
	// PublicSubnets are the load balancer subnets, at most one per zone.
	PublicSubnets []ExistingSubnet `json:"publicSubnets,omitempty"`
	// RouteTableIds receive the gateway endpoints. Required when
	// gatewayEndpoints is not empty.
	RouteTableIds []string `json:"routeTableIds,omitempty"`
}

// ExistingSubnet declares an adopted subnet. kinfra checks the declaration
// against AWS before creating anything, and sizes the cluster from it.
type ExistingSubnet struct {
	ID               string `json:"id"`
	AvailabilityZone string `json:"availabilityZone"`
	Cidr             string `json:"cidr"`
}

func (n Network) checkAdopted(path, region string, facts *networkFacts) validate.Errors {
	var errs validate.Errors
	ex := n.Existing
	ep := path + ".existing"
	notUsed := func(field string, set bool) {
		if set {
			errs.Addf(path+"."+field, "not used when adopting an existing VPC (cluster.network.existing); remove it")
		}
	}
	notUsed("privateSubnetPrefixLength", n.PrivateSubnetPrefixLength != 0)
	notUsed("publicSubnetPrefixLength", n.PublicSubnetPrefixLength != 0)
	notUsed("natGateways", n.NatGateways != "")
	notUsed("ipv6", n.IPv6)
	notUsed("import", n.Import != nil)
	if !vpcID.MatchString(ex.VpcId) {
		errs.Addf(ep+".vpcId", "%q is not a VPC ID (vpc- and 8 or 17 hex digits)", ex.VpcId)
	}
	if len(ex.PrivateSubnets) == 0 || len(ex.PrivateSubnets) > MaxZones {
		errs.Addf(ep+".privateSubnets", "%d subnets given; give 1 to %d, one per zone (nodes run in them)", len(ex.PrivateSubnets), MaxZones)
	}
	var zones []string
	var all []netip.Prefix
	var allPaths []string
	checkSubnets := func(tier string, subnets []ExistingSubnet) {
		seen := map[string]bool{}
		for i, s := range subnets {
			p := fmt.Sprintf("%s.%s[%d]", ep, tier, i)
			if !subnetID.MatchString(s.ID) {
				errs.Addf(p+".id", "%q is not a subnet ID (subnet- and 8 or 17 hex digits)", s.ID)
			}
			if checkZoneName(&errs, p+".availabilityZone", s.AvailabilityZone, region) {
				if seen[s.AvailabilityZone] {
					errs.Addf(p+".availabilityZone", "%q already has a %s subnet; give one per zone", s.AvailabilityZone, strings.TrimSuffix(tier, "Subnets"))
				}
				if tier == "publicSubnets" && !slices.Contains(zones, s.AvailabilityZone) {
					errs.Addf(p+".availabilityZone", "%q has no private subnet; public subnets must be in the zones of the private subnets", s.AvailabilityZone)
				}
			}
			seen[s.AvailabilityZone] = true
			if tier == "privateSubnets" {
				zones = append(zones, s.AvailabilityZone)
			}
			pfx, err := cidr.ParseNetwork(s.Cidr)
			switch {
			case err != nil:
				errs.Addf(p+".cidr", "%v", err)
				continue
			case facts.vpc.IsValid() && !cidr.Contains(facts.vpc, pfx):
				errs.Addf(p+".cidr", "%s is not inside the VPC block %s", s.Cidr, facts.vpc)
				continue
			}
			for j, other := range all {
				if other.Overlaps(pfx) {
					errs.Addf(p+".cidr", "%s overlaps %s (%s)", s.Cidr, other, allPaths[j])
				}
			}
			all = append(all, pfx)
			allPaths = append(allPaths, p+".cidr")
			if tier == "privateSubnets" {
				facts.private = append(facts.private, pfx)
				facts.paths = append(facts.paths, p+".cidr")
			}
		}
	}
	checkSubnets("privateSubnets", ex.PrivateSubnets)
	checkSubnets("publicSubnets", ex.PublicSubnets)
	if len(n.AvailabilityZones) > 0 && !slices.Equal(n.AvailabilityZones, zones) {
		errs.Addf(path+".availabilityZones", "%s does not match the zones of existing.privateSubnets (%s); remove it (zones come from the adopted subnets)", strings.Join(n.AvailabilityZones, ", "), strings.Join(zones, ", "))
	}
	if n.AzCount != 0 && n.AzCount != len(ex.PrivateSubnets) {
		errs.Addf(path+".azCount", "%d does not match the %d adopted private subnets; remove it", n.AzCount, len(ex.PrivateSubnets))
	}
	for i, id := range ex.RouteTableIds {
		if !routeTableID.MatchString(id) {
			errs.Addf(fmt.Sprintf("%s.routeTableIds[%d]", ep, i), "%q is not a route table ID (rtb- and 8 or 17 hex digits)", id)
		}
	}
	if len(n.GatewayEndpoints) > 0 && len(ex.RouteTableIds) == 0 {
		errs.Addf(ep+".routeTableIds", "required for gatewayEndpoints %s: gateway endpoints are attached to route tables, and kinfra does not own the adopted VPC's", strings.Join(n.GatewayEndpoints, ", "))
	}
	facts.zones = zones
	facts.count = len(zones)
	return errs
}
