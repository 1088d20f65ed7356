package spec

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"

	"github.com/kinfra-dev/kinfra/internal/cidr"
	"github.com/kinfra-dev/kinfra/internal/validate"
)

// API load balancer schemes.
const (
	SchemeInternal       = "internal"
	SchemeInternetFacing = "internet-facing"
)

// API is the Kubernetes API endpoint: a Network Load Balancer in front of the
// masters, named api.<privateDomain> inside the VPC.
type API struct {
	// Scheme is internal (private subnets) or internet-facing (public
	// subnets). Default [SchemeInternal].
	Scheme string `json:"scheme,omitempty"`
	// AccessCidrs may reach the API through the load balancer, besides the
	// cluster's own nodes. Default: the VPC block.
	AccessCidrs []string `json:"accessCidrs,omitempty"`
	// PublicZoneId is a public Route53 zone to publish publicName in.
	// Optional; needs an internet-facing scheme.
	PublicZoneId string `json:"publicZoneId,omitempty"`
	// PublicName is the API's name in the public zone (e.g.
	// api.prod-use1.example.com). Required with publicZoneId.
	PublicName string `json:"publicName,omitempty"`
}

// WithDefaults returns a with its defaults applied; vpcCidr is the
// effective VPC block, the default access range.
func (a API) WithDefaults(vpcCidr string) API {
	if a.Scheme == "" {
		a.Scheme = SchemeInternal
	}
	a.AccessCidrs = slices.Clone(a.AccessCidrs)
	if vpc, err := netip.ParsePrefix(vpcCidr); err == nil && vpc == vpc.Masked() && len(a.AccessCidrs) == 0 {
		a.AccessCidrs = []string{vpcCidr}
	}
	return a
}

var hostedZoneID = regexp.MustCompile(`^Z[A-Z0-9]{1,31}$`)

func (a API) check(path string, existing *ExistingNetwork) validate.Errors {
	var errs validate.Errors
	switch a.Scheme {
	case SchemeInternal:
	case SchemeInternetFacing:
		if existing != nil && len(existing.PublicSubnets) == 0 {
			errs.Addf(path+".scheme", "internet-facing needs public subnets, but cluster.network.existing declares none; declare publicSubnets or use internal")
		}
	default:
		errs.Addf(path+".scheme", "%q is not allowed; use internal or internet-facing", a.Scheme)
	}
	seen := map[string]bool{}
	for i, c := range a.AccessCidrs {
		p := fmt.Sprintf("%s.accessCidrs[%d]", path, i)
		pfx, err := cidr.ParseNetwork(c)
		switch {
		case err != nil:
			errs.Addf(p, "%v", err)
		case seen[pfx.String()]:
			errs.Addf(p, "%s is listed twice", c)
		case !pfx.Addr().Is4():
			errs.Addf(p, "%s is an IPv6 block, but the API load balancer listens on IPv4 only; list IPv4 blocks", c)
		case a.Scheme == SchemeInternal && pfx.Bits() == 0:
			errs.Addf(p, "%s admits every address, but the load balancer is internal; list the VPC, peered or on-premises blocks that need the API", c)
		}
		if err == nil {
			seen[pfx.String()] = true
		}
	}
	if a.PublicZoneId != "" || a.PublicName != "" {
		if a.Scheme != SchemeInternetFacing {
			errs.Addf(path+".publicZoneId", "a public record needs an internet-facing API; set scheme: internet-facing or remove publicZoneId and publicName")
		}
		if !hostedZoneID.MatchString(a.PublicZoneId) {
			errs.Addf(path+".publicZoneId", "%q is not a Route53 hosted zone ID (Z and up to 31 uppercase letters and digits); required with publicName", a.PublicZoneId)
		}
		if !dnsName.MatchString(a.PublicName) {
			errs.Addf(path+".publicName", "%q is not a DNS name; required with publicZoneId (e.g. api.prod-use1.example.com)", a.PublicName)
		}
	}
	return errs
}
