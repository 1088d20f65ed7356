package spec

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

// NetworkImport names existing resources to import, by AWS ID. Zone-keyed maps
// use zone names from availabilityZones.
type NetworkImport struct {
	Vpc                       string            `json:"vpc,omitempty"`
	InternetGateway           string            `json:"internetGateway,omitempty"`
	EgressOnlyInternetGateway string            `json:"egressOnlyInternetGateway,omitempty"`
	PublicSubnets             map[string]string `json:"publicSubnets,omitempty"`
	PrivateSubnets            map[string]string `json:"privateSubnets,omitempty"`
	// PublicRouteTable is the shared public route table. When a route table is
	// imported, its default routes are imported too, and so is each subnet
	// association whose subnet is also imported. A subnet imported without its
	// route table gets a new association, which AWS refuses if the subnet is
	// already explicitly associated: import both.
	PublicRouteTable   string            `json:"publicRouteTable,omitempty"`
	PrivateRouteTables map[string]string `json:"privateRouteTables,omitempty"`
	NatGateways        map[string]string `json:"natGateways,omitempty"`
	// ElasticIps are the NAT gateways' allocation IDs (eipalloc-…).
	ElasticIps map[string]string `json:"elasticIps,omitempty"`
	// Endpoints are existing VPC endpoints, by the short service name of
	// gatewayEndpoints or interfaceEndpoints (s3, ecr.api…): AWS refuses a
	// second gateway endpoint of a service on a route table, and a second
	// private-DNS interface endpoint of a service in a VPC.
	Endpoints map[string]string `json:"endpoints,omitempty"`
}

var importKinds = map[string]string{
	"vpc": "VPC", "internetGateway": "internet gateway", "egressOnlyInternetGateway": "egress-only internet gateway",
	"publicSubnets": "subnet", "privateSubnets": "subnet", "publicRouteTable": "route table",
	"privateRouteTables": "route table", "natGateways": "NAT gateway", "elasticIps": "Elastic IP allocation",
}

var importIDs = map[string]*regexp.Regexp{
	"vpc":                       vpcID,
	"internetGateway":           regexp.MustCompile(`^igw-([0-9a-f]{8}|[0-9a-f]{17})$`),
	"egressOnlyInternetGateway": regexp.MustCompile(`^eigw-([0-9a-f]{8}|[0-9a-f]{17})$`),
	"publicSubnets":             subnetID,
	"privateSubnets":            subnetID,
	"publicRouteTable":          routeTableID,
	"privateRouteTables":        routeTableID,
	"natGateways":               regexp.MustCompile(`^nat-([0-9a-f]{8}|[0-9a-f]{17})$`),
	"elasticIps":                regexp.MustCompile(`^eipalloc-([0-9a-f]{8}|[0-9a-f]{17})$`),
	"endpoints":                 regexp.MustCompile(`^vpce-([0-9a-f]{8}|[0-9a-f]{17})$`),
}

func (n Network) checkImport(path string, zones []string) validate.Errors {
	var errs validate.Errors
	im := n.Import
	// at is the field's path: the key, or a zone-keyed map's entry.
	oneAt := func(at, key, id string) {
		if id != "" && !importIDs[key].MatchString(id) {
			prefix := strings.SplitN(strings.TrimPrefix(importIDs[key].String(), "^"), "-", 2)[0]
			errs.Addf(at, "%q is not %s ID (%s- and 8 or 17 hex digits)", id, article(importKinds[key]), prefix)
		}
	}
	one := func(key, id string) { oneAt(path+"."+key, key, id) }
	perZone := func(key string, m map[string]string, allowed []string, why string) {
		for _, z := range validate.SortedKeys(m) {
			p := fmt.Sprintf("%s.%s[%q]", path, key, z)
			switch {
			case len(zones) == 0:
				errs.Addf(p, "zone-keyed imports need the zones pinned; set cluster.network.availabilityZones")
			case !slices.Contains(allowed, z):
				errs.Addf(p, "%q is not a zone that %s; use one of %s", z, why, validate.Join(allowed))
			default:
				oneAt(p, key, m[z])
			}
		}
	}
	one("vpc", im.Vpc)
	one("internetGateway", im.InternetGateway)
	one("publicRouteTable", im.PublicRouteTable)
	one("egressOnlyInternetGateway", im.EgressOnlyInternetGateway)
	if im.EgressOnlyInternetGateway != "" && !n.IPv6 {
		errs.Addf(path+".egressOnlyInternetGateway", "set, but ipv6 is off; an egress-only gateway exists only for IPv6")
	}
	perZone("publicSubnets", im.PublicSubnets, zones, "this stack uses")
	perZone("privateSubnets", im.PrivateSubnets, zones, "this stack uses")
	perZone("privateRouteTables", im.PrivateRouteTables, zones, "this stack uses")
	var natZones []string
	switch n.NatGateways {
	case NATPerAZ:
		natZones = zones
	case NATSingle:
		if len(zones) > 0 {
			natZones = zones[:1]
		}
	}
	perZone("natGateways", im.NatGateways, natZones, "has a NAT gateway in natGateways mode "+n.NatGateways)
	perZone("elasticIps", im.ElasticIps, natZones, "has a NAT gateway in natGateways mode "+n.NatGateways)
	services := append(append([]string{}, n.GatewayEndpoints...), n.InterfaceEndpoints...)
	for _, svc := range validate.SortedKeys(im.Endpoints) {
		if !slices.Contains(services, svc) {
			errs.Addf(fmt.Sprintf("%s.endpoints[%q]", path, svc), "%q is not an endpoint this stack creates; import only services of gatewayEndpoints or interfaceEndpoints (%s)", svc, validate.Join(services))
			continue
		}
		id := im.Endpoints[svc]
		if !importIDs["endpoints"].MatchString(id) {
			errs.Addf(fmt.Sprintf("%s.endpoints[%q]", path, svc), "%q is not a VPC endpoint ID (vpce- and 8 or 17 hex digits)", id)
		}
	}
	return errs
}
