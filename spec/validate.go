package spec

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kinfra-dev/kinfra/internal/cidr"
	"github.com/kinfra-dev/kinfra/internal/validate"
)

// MaxZones is the most availability zones a cluster spans.
const MaxZones = 6

var dnsLabel = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

var vpcID = regexp.MustCompile(`^vpc-([0-9a-f]{8}|[0-9a-f]{17})$`)

var subnetID = regexp.MustCompile(`^subnet-([0-9a-f]{8}|[0-9a-f]{17})$`)

var routeTableID = regexp.MustCompile(`^rtb-([0-9a-f]{8}|[0-9a-f]{17})$`)

var s3BucketArn = regexp.MustCompile(`^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$`)

var kmsKeyArn = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$`)

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

// flowLogRetentions are the retention periods CloudWatch Logs accepts.
var flowLogRetentions = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// awsReservedPerSubnet is what AWS keeps of every subnet: network, router,
// DNS, future use and broadcast.
const awsReservedPerSubnet = 5

// Resolve applies defaults to c and validates the result, returning the
// effective cluster or every problem found.
func Resolve(c Cluster) (Cluster, error) {
	eff := c.WithDefaults()
	if errs := eff.Validate(); len(errs) > 0 {
		return Cluster{}, errs
	}
	return eff, nil
}

// Validate checks a defaulted cluster and returns every problem.
func (c Cluster) Validate() validate.Errors {
	var errs validate.Errors
	switch {
	case c.Name == "":
		errs.Addf("cluster.name", "required; a DNS label such as prod-use1 that names the cluster's resources")
	case !dnsLabel.MatchString(c.Name):
		errs.Addf("cluster.name", "%q is not allowed; use a DNS label of at most %d lowercase letters, digits and '-', starting with a letter (AWS names derived from it must fit their limits)", c.Name, MaxClusterName(c.Region))
	}
	region, regionOK := checkRegion(&errs, c.Region)
	errs.Append(ValidateTags("cluster.tags", c.Tags))

	net, netErrs := c.Network.check("cluster.network", c.Region)
	errs.Append(netErrs)
	errs.Append(c.Kubernetes.check("cluster.kubernetes", net.vpc, c.CNI.Provider == CNICalico))
	errs.Append(c.validateMasters(net))
	errs.Append(c.checkControlPlane())
	errs.Append(c.Backup.check("cluster.backup"))
	errs.Append(c.Alarms.check("cluster.alarms"))
	errs.Append(c.JoinTokens.check("cluster.joinTokens"))
	errs.Append(c.validateNodePools(net))
	errs.Append(c.validateImages())
	errs.Append(c.checkProxy())
	errs.Append(c.checkAddons())
	// Capacity checks run whenever their own inputs are valid, so they are
	// reported together with unrelated mistakes.
	errs.Append(c.validateCapacity(net))
	errs.Append(c.checkNameLengths())
	if regionOK {
		errs.Append(c.checkARNPlaces(region))
	}
	return errs
}

// Tag rules. User tags reach IAM roles, policies and instance profiles,
// whose tags are the strictest kinfra sets: keys of 1 to 128 and values of
// at most 256 Unicode letters, digits, spaces and _ . : / = + - @ (IAM API
// reference, Tag: [\p{L}\p{Z}\p{N}_.:/=+\-@]). EC2, Auto Scaling, S3, KMS,
// SSM, SQS, CloudWatch and ELB accept at least that.
const (
	MaxTagKey   = 128
	MaxTagValue = 256
)

var iamTagChars = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// ValidateTags checks user tags: not AWS's, not the ones kinfra sets, within
// the limits and the character set of every service kinfra tags (IAM's is
// the narrowest). Every problem of every tag is reported.
func ValidateTags(path string, tags map[string]string) validate.Errors {
	var errs validate.Errors
	if len(tags) > 40 {
		errs.Addf(path, "%d tags set; at most 40 are allowed (AWS allows 50 per resource and kinfra sets up to 10)", len(tags))
	}
	for _, k := range validate.SortedKeys(tags) {
		p := fmt.Sprintf("%s[%q]", path, k)
		switch n := utf8.RuneCountInString(k); {
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			errs.Addf(p, "tag keys starting with \"aws:\" are reserved by AWS")
		case k == "Name" || strings.HasPrefix(k, "kinfra.dev/") || strings.HasPrefix(k, "kubernetes.io/") || k == "managed-by":
			errs.Addf(p, "%q is set by kinfra on every resource; choose another key", k)
		case n == 0 || n > MaxTagKey:
			errs.Addf(p, "tag keys must be 1 to %d characters, got %d", MaxTagKey, n)
		case !iamTagChars.MatchString(k):
			errs.Addf(p, "the key has %s, which IAM refuses in tags; cluster tags reach the IAM roles, policies and instance profiles kinfra creates, whose tags allow only letters, digits, spaces and _ . : / = + - @", badTagChars(k))
		}
		v := tags[k]
		if n := utf8.RuneCountInString(v); n > MaxTagValue {
			errs.Addf(p, "tag values must be at most %d characters, got %d", MaxTagValue, n)
		}
		if !iamTagChars.MatchString(v) {
			errs.Addf(p, "the value %q has %s, which IAM refuses in tags; cluster tags reach the IAM roles, policies and instance profiles kinfra creates, whose tags allow only letters, digits, spaces and _ . : / = + - @", v, badTagChars(v))
		}
	}
	return errs
}

// badTagChars lists the characters of s that IAM refuses in tags.
func badTagChars(s string) string {
	var bad []string
	for _, r := range s {
		if q := fmt.Sprintf("%q", string(r)); !iamTagChars.MatchString(string(r)) && !slices.Contains(bad, q) {
			bad = append(bad, q)
		}
	}
	return validate.JoinAll(bad)
}

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

func (f FlowLogs) check(path string) validate.Errors {
	var errs validate.Errors
	if !f.On() {
		return nil
	}
	switch f.Destination {
	case "cloudwatch":
		if !slices.Contains(flowLogRetentions, f.RetentionDays) {
			errs.Addf(path+".retentionDays", "%d is not a retention CloudWatch Logs accepts; use %s", f.RetentionDays, validate.Join(itoas(flowLogRetentions)))
		}
		if f.KmsKeyArn != "" && !kmsKeyArn.MatchString(f.KmsKeyArn) {
			errs.Addf(path+".kmsKeyArn", "%q is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>; CloudWatch Logs takes no alias)", f.KmsKeyArn)
		}
		if f.S3BucketArn != "" {
			errs.Addf(path+".s3BucketArn", "set, but destination is cloudwatch; remove it or set destination: s3")
		}
	case "s3":
		if !s3BucketArn.MatchString(f.S3BucketArn) {
			errs.Addf(path+".s3BucketArn", "%q is not an S3 bucket ARN (arn:aws:s3:::<bucket>[/prefix]); destination s3 writes to an existing bucket", f.S3BucketArn)
		}
		if f.RetentionDays != 0 || f.KmsKeyArn != "" {
			errs.Addf(path+".destination", "s3 takes no retentionDays or kmsKeyArn (the bucket's lifecycle and encryption apply); remove them")
		}
	default:
		errs.Addf(path+".destination", "%q is not allowed; use cloudwatch or s3", f.Destination)
	}
	if !slices.Contains([]string{"ALL", "ACCEPT", "REJECT"}, f.TrafficType) {
		errs.Addf(path+".trafficType", "%q is not allowed; use ALL, ACCEPT or REJECT", f.TrafficType)
	}
	if f.MaxAggregationIntervalSeconds != 60 && f.MaxAggregationIntervalSeconds != 600 {
		errs.Addf(path+".maxAggregationIntervalSeconds", "%d is not allowed; AWS accepts 60 or 600", f.MaxAggregationIntervalSeconds)
	}
	return errs
}

var linkLocal = netip.MustParsePrefix("169.254.0.0/16")

// check validates the address plan; calico narrows the node mask to what
// Calico's IP pool takes.
func (k Kubernetes) check(path string, vpc netip.Prefix, calico bool) validate.Errors {
	var errs validate.Errors
	type block struct {
		field string
		p     netip.Prefix
	}
	var blocks []block
	if vpc.IsValid() {
		blocks = append(blocks, block{"cluster.network.vpcCidr", vpc})
	}
	pod, err := cidr.ParseNetwork(k.PodCidr)
	switch {
	case err != nil:
		errs.Addf(path+".podCidr", "%v", err)
	case !pod.Addr().Is4() || pod.Bits() < 8 || pod.Bits() > 24:
		errs.Addf(path+".podCidr", "%s is not allowed; use an IPv4 block from /8 to /24", k.PodCidr)
	default:
		blocks = append(blocks, block{path + ".podCidr", pod})
		if k.NodeCidrMaskSize <= pod.Bits() || k.NodeCidrMaskSize > 28 || k.NodeCidrMaskSize-pod.Bits() > 16 {
			lo, why := pod.Bits()+1, ""
			if calico && lo < 20 {
				lo, why = 20, ", and Calico's blockSize is /20 or smaller"
			}
			errs.Addf(path+".nodeCidrMaskSize", "%d is not allowed with podCidr %s; use /%d to /%d (smaller than the pod block, at most 16 bits smaller as kube-controller-manager requires, and at least 16 addresses%s)",
				k.NodeCidrMaskSize, k.PodCidr, lo, min(28, pod.Bits()+16), why)
		}
	}
	svc, err := cidr.ParseNetwork(k.ServiceCidr)
	switch {
	case err != nil:
		errs.Addf(path+".serviceCidr", "%v", err)
	case !svc.Addr().Is4() || svc.Bits() < 12 || svc.Bits() > 24:
		errs.Addf(path+".serviceCidr", "%s is not allowed; use an IPv4 block from /12 (kube-apiserver's largest) to /24", k.ServiceCidr)
	default:
		blocks = append(blocks, block{path + ".serviceCidr", svc})
		// The allocator hands out every address but the network and broadcast ones.
		if capacity := cidr.Size(svc) - 2; k.MaxServices > capacity {
			errs.Addf(path+".serviceCidr", "%s holds %d Service IPs, fewer than maxServices %d; %s",
				k.ServiceCidr, capacity, k.MaxServices, serviceBlockAdvice(k.MaxServices))
		}
	}
	if k.MaxServices < 0 {
		errs.Addf(path+".maxServices", "%d is negative; give the number of Services the cluster must hold, or 0 not to check", k.MaxServices)
	}
	for i := range blocks {
		for j := i + 1; j < len(blocks); j++ {
			if blocks[i].p.Overlaps(blocks[j].p) {
				errs.Addf(blocks[j].field, "%s overlaps %s %s; pods, Services and the VPC need disjoint blocks or traffic is misrouted",
					blocks[j].p, blocks[i].field, blocks[i].p)
			}
		}
		if blocks[i].p.Overlaps(linkLocal) {
			errs.Addf(blocks[i].field, "%s overlaps the link-local block 169.254.0.0/16 (instance metadata, DNS)", blocks[i].p)
		}
	}
	return errs
}

// itoas formats numbers for a message's list of allowed values.
func itoas(ns []int) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = strconv.Itoa(n)
	}
	return out
}

// article prefixes a noun with "a" or "an".
func article(noun string) string {
	if strings.ContainsRune("AEIOUaeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// prefixFor is the longest IPv4 prefix that holds n addresses.
func prefixFor(n int) int {
	bits := 32
	for bits > 0 && 1<<(32-bits) < n {
		bits--
	}
	return bits
}

func (c Cluster) validateMasters(zones networkFacts) validate.Errors {
	var errs validate.Errors
	count := c.Masters.Count
	if !slices.Contains([]int{1, 3, 5, 7}, count) {
		if count%2 == 0 {
			errs.Addf("cluster.masters.count", "%d is even; etcd needs an odd member count (1, 3, 5, 7) to keep quorum", count)
		} else {
			errs.Addf("cluster.masters.count", "%d is not allowed; use 1, 3, 5 or 7 (etcd members; more than 7 slows every write)", count)
		}
		return errs
	}
	if z, n := MajorityZone(count, zones.count); z >= 0 {
		name := fmt.Sprintf("zone %d", z)
		if len(zones.zones) > z {
			name = validate.Shorten(zones.zones[z])
		}
		advice := "Use at least 3 zones"
		if r, ok := lookupRegion(c.Region); ok && r.PerAccount < 3 {
			advice = fmt.Sprintf("An account has at most %d zones in %s, so no master count survives the loss of a zone there: use 1 master (a test cluster), or a region with 3 or more zones", r.PerAccount, r.Name)
		}
		errs.Addf("cluster.masters.count", "%d masters over %d %s puts %d in %s, a majority; losing that zone loses etcd quorum. %s", count, zones.count, plural(zones.count, "zone"), n, name, advice)
	}
	return errs
}

// bitsFor is the number of bits needed to count n things.
func bitsFor(n int) int {
	b := 0
	for 1<<b < n {
		b++
	}
	return b
}
