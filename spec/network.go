package spec

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"

	"github.com/kinfra-dev/kinfra/internal/cidr"
	"github.com/kinfra-dev/kinfra/internal/validate"
)

// NAT gateway modes.
const (
	NATPerAZ  = "perAz"
	NATSingle = "single"
	NATNone   = "none"
)

// Network is the VPC topology of one cluster.
type Network struct {
	// VpcCidr is the IPv4 block of the VPC, /16 to /24. Default [DefaultVpcCidr].
	// When adopting an existing VPC it must be that VPC's primary block.
	VpcCidr string `json:"vpcCidr,omitempty"`
	// AvailabilityZones names the zones to use, in order. Subnet blocks are
	// assigned by position, so only ever append. Default: the first azCount
	// zones the region reports. Pin them in production stacks.
	AvailabilityZones []string `json:"availabilityZones,omitempty"`
	// AzCount is the number of zones, 1 to 6. Default: the length of
	// availabilityZones, else [DefaultAzCount].
	AzCount int `json:"azCount,omitempty"`
	// PrivateSubnetPrefixLength is the size of each zone's private (node)
	// subnet. Default: VPC prefix + privateSubnetExtraBits, at most /28.
	PrivateSubnetPrefixLength int `json:"privateSubnetPrefixLength,omitempty"`
	// PublicSubnetPrefixLength is the size of each zone's public subnet (NAT
	// gateways, internet-facing load balancers). Default: VPC prefix +
	// publicSubnetExtraBits, at most /28.
	PublicSubnetPrefixLength int `json:"publicSubnetPrefixLength,omitempty"`
	// NatGateways is perAz (one per zone: a zone failure only affects that
	// zone), single (one in the first zone: cheaper, but every zone's egress
	// depends on it) or none (no IPv4 egress; nodes reach AWS through VPC
	// endpoints). Default [NATPerAZ].
	NatGateways string `json:"natGateways,omitempty"`
	// IPv6 adds an Amazon-provided /56 to the VPC, a /64 to every subnet and an
	// egress-only internet gateway for the private subnets. Default false.
	IPv6 bool `json:"ipv6,omitempty"`
	// GatewayEndpoints are the gateway VPC endpoints (s3, dynamodb), attached
	// to every route table. Default defaultGatewayEndpoints when kinfra
	// creates the VPC, [] when adopting one.
	GatewayEndpoints []string `json:"gatewayEndpoints"`
	// InterfaceEndpoints are interface VPC endpoints by service short name
	// (e.g. ecr.api, ecr.dkr, sts, ssm), in the private subnets, with private
	// DNS and a security group admitting HTTPS from the VPC. Default [].
	InterfaceEndpoints []string `json:"interfaceEndpoints"`
	// FlowLogs records the VPC's traffic.
	FlowLogs FlowLogs `json:"flowLogs"`
	// Existing adopts a VPC and subnets made elsewhere: kinfra creates none of
	// them, only tags them for Kubernetes and adds endpoints and flow logs.
	Existing *ExistingNetwork `json:"existing,omitempty"`
	// Import takes resources made by hand or by CloudFormation under kinfra's
	// management without recreating them (pulumi import). Their settings must
	// match what kinfra would create, or the import fails at `pulumi up`.
	Import *NetworkImport `json:"import,omitempty"`
}

// Network defaults (natGateways: NATPerAZ).
const (
	DefaultVpcCidr         = "10.0.0.0/16"
	DefaultAzCount         = 3
	privateSubnetExtraBits = 3 // a /19 in a /16: 8187 node addresses per zone
	publicSubnetExtraBits  = 6 // a /22 in a /16: room for NAT and load balancers
)

// defaultGatewayEndpoints are the gateway endpoints of a VPC kinfra creates.
var defaultGatewayEndpoints = []string{"s3"}

// WithDefaults returns n with its defaults applied.
func (n Network) WithDefaults() Network {
	n.AvailabilityZones = slices.Clone(n.AvailabilityZones)
	n.FlowLogs = n.FlowLogs.WithDefaults()
	if n.InterfaceEndpoints == nil {
		n.InterfaceEndpoints = []string{}
	}
	if n.Existing != nil {
		e := *n.Existing
		n.Existing = &e
		if n.GatewayEndpoints == nil {
			n.GatewayEndpoints = []string{}
		}
		if len(n.AvailabilityZones) == 0 {
			for _, s := range e.PrivateSubnets {
				n.AvailabilityZones = append(n.AvailabilityZones, s.AvailabilityZone)
			}
		}
		if n.AzCount == 0 {
			n.AzCount = len(e.PrivateSubnets)
		}
		return n
	}
	if n.GatewayEndpoints == nil {
		n.GatewayEndpoints = slices.Clone(defaultGatewayEndpoints)
	}
	if n.VpcCidr == "" {
		n.VpcCidr = DefaultVpcCidr
	}
	if n.AzCount == 0 {
		n.AzCount = len(n.AvailabilityZones)
		if n.AzCount == 0 {
			n.AzCount = DefaultAzCount
		}
	}
	if n.NatGateways == "" {
		n.NatGateways = NATPerAZ
	}
	if vpc, err := netip.ParsePrefix(n.VpcCidr); err == nil {
		// Never smaller than AWS's minimum subnet, /28.
		if n.PrivateSubnetPrefixLength == 0 {
			n.PrivateSubnetPrefixLength = min(vpc.Bits()+privateSubnetExtraBits, 28)
		}
		if n.PublicSubnetPrefixLength == 0 {
			n.PublicSubnetPrefixLength = min(vpc.Bits()+publicSubnetExtraBits, 28)
		}
	}
	return n
}

// MaxZones is the most availability zones a cluster spans.
const MaxZones = 6

// GatewayEndpointServices are the services AWS offers as gateway endpoints.
var GatewayEndpointServices = []string{"dynamodb", "s3"}

// InterfaceEndpointServices are the interface endpoint services kinfra knows
// (short names, as in com.amazonaws.<region>.<name>).
var InterfaceEndpointServices = []string{
	"autoscaling", "ebs", "ec2", "ec2messages", "ecr.api", "ecr.dkr", "elasticfilesystem",
	"elasticloadbalancing", "events", "kms", "logs", "monitoring", "secretsmanager",
	"sqs", "ssm", "ssmmessages", "sts", "xray",
}

// NoNATEndpoints are the endpoints nodes need when there is no NAT gateway:
// image pulls (ecr.api, ecr.dkr and their layers in s3), bootstrap (ssm, kms,
// sts) and the cloud integration (ec2, elasticloadbalancing, autoscaling).
var NoNATEndpoints = []string{"autoscaling", "ec2", "ecr.api", "ecr.dkr", "elasticloadbalancing", "kms", "s3", "ssm", "sts"}

var vpcID = regexp.MustCompile(`^vpc-([0-9a-f]{8}|[0-9a-f]{17})$`)

var subnetID = regexp.MustCompile(`^subnet-([0-9a-f]{8}|[0-9a-f]{17})$`)

var routeTableID = regexp.MustCompile(`^rtb-([0-9a-f]{8}|[0-9a-f]{17})$`)

// networkFacts is what the rest of validation needs from a checked network.
type networkFacts struct {
	vpc     netip.Prefix // invalid if the VPC CIDR is bad
	zones   []string     // zone names if known, else empty
	count   int          // zone count, 0 if unknown
	private []netip.Prefix
	paths   []string // config path of each private subnet (for capacity errors)
}

// Validate checks a defaulted network on its own (as network.New does for
// library users) and returns every problem, with paths under path.
func (n Network) Validate(path, region string) validate.Errors {
	_, errs := n.check(path, region)
	return errs
}

func (n Network) check(path, region string) (networkFacts, validate.Errors) {
	var errs validate.Errors
	var facts networkFacts
	if n.VpcCidr == "" {
		errs.Addf(path+".vpcCidr", "required when adopting an existing VPC; give that VPC's primary IPv4 block")
	} else if vpc, err := cidr.ParseNetwork(n.VpcCidr); err != nil {
		errs.Addf(path+".vpcCidr", "%v", err)
	} else if !vpc.Addr().Is4() || vpc.Bits() < 16 || vpc.Bits() > 24 {
		errs.Addf(path+".vpcCidr", "%s is not allowed; use an IPv4 block from /16 to /24 (AWS allows no larger VPC block, and a smaller one leaves no room for per-zone subnets)", n.VpcCidr)
	} else {
		facts.vpc = vpc
	}
	errs.Append(checkEndpoints(path, n))
	errs.Append(n.FlowLogs.check(path + ".flowLogs"))
	if n.Existing != nil {
		errs.Append(n.checkAdopted(path, region, &facts))
	} else {
		errs.Append(n.checkCreated(path, region, &facts))
	}
	return facts, errs
}

func (n Network) checkCreated(path, region string, facts *networkFacts) validate.Errors {
	var errs validate.Errors
	if n.AzCount < 1 || n.AzCount > MaxZones {
		errs.Addf(path+".azCount", "%d is not allowed; use 1 to %d zones (3 or more survive the loss of a zone)", n.AzCount, MaxZones)
	} else {
		facts.count = n.AzCount
	}
	pinnedOK := true
	if len(n.AvailabilityZones) > 0 {
		seen := map[string]bool{}
		for i, z := range n.AvailabilityZones {
			p := fmt.Sprintf("%s.availabilityZones[%d]", path, i)
			if !checkZoneName(&errs, p, z, region) {
				pinnedOK = false
			} else if seen[z] {
				errs.Addf(p, "%q is listed twice; each zone holds one private and one public subnet", z)
				pinnedOK = false
			}
			seen[z] = true
		}
		if len(n.AvailabilityZones) != n.AzCount {
			errs.Addf(path+".azCount", "%d does not match the %d zones listed in availabilityZones; set one or make them agree", n.AzCount, len(n.AvailabilityZones))
			facts.count = 0 // unknown: checks that depend on it would only echo this error
		} else {
			facts.zones = n.AvailabilityZones
		}
	}
	checkZoneCount(&errs, path, n, region, pinnedOK)
	if !slices.Contains([]string{NATPerAZ, NATSingle, NATNone}, n.NatGateways) {
		errs.Addf(path+".natGateways", "%q is not allowed; use perAz (a NAT gateway per zone), single (one, cheaper, a single-zone dependency) or none (egress through VPC endpoints only)", n.NatGateways)
	}
	if n.NatGateways == NATNone {
		var missing []string
		for _, svc := range NoNATEndpoints {
			if !slices.Contains(n.InterfaceEndpoints, svc) && !slices.Contains(n.GatewayEndpoints, svc) {
				missing = append(missing, svc)
			}
		}
		if len(missing) > 0 {
			errs.Addf(path+".natGateways", "none leaves nodes without a route to AWS APIs; add the endpoints %s (image pulls, bootstrap and the cloud integration need them) or use a NAT gateway", validate.JoinAll(missing))
		}
	}
	privOK := checkPrefixLength(&errs, path+".privateSubnetPrefixLength", n.PrivateSubnetPrefixLength, facts.vpc)
	pubOK := checkPrefixLength(&errs, path+".publicSubnetPrefixLength", n.PublicSubnetPrefixLength, facts.vpc)
	if privOK && pubOK && facts.vpc.IsValid() && facts.count > 0 {
		carved, err := cidr.Carve(facts.vpc, facts.count, n.PrivateSubnetPrefixLength, n.PublicSubnetPrefixLength)
		if err != nil {
			errs.Addf(path+".vpcCidr", "%v; %s", err, carveAdvice(facts.vpc, facts.count, n.PrivateSubnetPrefixLength, n.PublicSubnetPrefixLength))
		} else {
			facts.private = carved.Private
			for range carved.Private {
				facts.paths = append(facts.paths, path+".privateSubnetPrefixLength")
			}
		}
	}
	if n.Import != nil {
		errs.Append(n.checkImport(path+".import", facts.zones))
	}
	return errs
}

func checkPrefixLength(errs *validate.Errors, path string, bits int, vpc netip.Prefix) bool {
	if !vpc.IsValid() {
		return false
	}
	if bits <= vpc.Bits() || bits > 28 {
		errs.Addf(path, "/%d is not allowed; a subnet must be smaller than the /%d VPC and no smaller than /28 (AWS's minimum)", bits, vpc.Bits())
		return false
	}
	return true
}

func checkEndpoints(path string, n Network) validate.Errors {
	var errs validate.Errors
	check := func(field string, got, known []string) {
		seen := map[string]bool{}
		for i, svc := range got {
			p := fmt.Sprintf("%s.%s[%d]", path, field, i)
			switch {
			case !slices.Contains(known, svc):
				errs.Addf(p, "%q is not a known service; use one of %s", svc, validate.Join(known))
			case seen[svc]:
				errs.Addf(p, "%q is listed twice", svc)
			}
			seen[svc] = true
		}
	}
	check("gatewayEndpoints", n.GatewayEndpoints, GatewayEndpointServices)
	check("interfaceEndpoints", n.InterfaceEndpoints, InterfaceEndpointServices)
	return errs
}
