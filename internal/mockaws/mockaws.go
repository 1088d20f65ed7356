// Package mockaws is the recording mock monitor every kinfra test and the
// offline plan run the program under. It records each registered resource
// (type, name, parent, inputs and the options of its RegisterResource call:
// protect, retainOnDelete, ignoreChanges, deleteBeforeReplace, dependsOn,
// import) and answers the AWS invokes kinfra makes from an offline model of
// the account, so a whole stack plans with no credentials and no engine.
package mockaws

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/regions"
)

// Options are the resource options that matter for review and safety.
type Options struct {
	Protect             bool     `json:"protect"`
	RetainOnDelete      bool     `json:"retainOnDelete"`
	IgnoreChanges       []string `json:"ignoreChanges"`
	DeleteBeforeReplace bool     `json:"deleteBeforeReplace"`
	// DependsOn are the dependencies (URNs) no input implies: explicit
	// dependsOn. The RPC does not mark which dependencies were explicit, so an
	// explicit one that an input also implies appears only in Dependencies.
	DependsOn []string `json:"dependsOn"`
	// Dependencies are all resources this one waits for, implied or explicit.
	Dependencies []string `json:"dependencies"`
	// Import is the ID of an existing resource adopted by `pulumi import`.
	Import string `json:"import,omitempty"`
	// Provider is the URN of the explicit provider the resource uses; ""
	// means the default provider of its package (for Kubernetes objects:
	// whatever cluster the ambient kubeconfig names).
	Provider string `json:"provider,omitempty"`
}

// Resource is one registered resource.
type Resource struct {
	URN    string         `json:"urn"`
	Type   string         `json:"type"`
	Name   string         `json:"name"`
	Parent string         `json:"parent"`
	Custom bool           `json:"custom"`
	ID     string         `json:"-"`
	Inputs map[string]any `json:"inputs"`
	// State is what the mock returned for a custom resource: its inputs
	// and the outputs AWS would compute (arn, dnsName, ipv6CidrBlock…), so
	// that a test can tell which resource a computed value in another's
	// inputs came from. Like ID it is in-process only: plans and goldens
	// do not carry it.
	State map[string]any `json:"-"`
	// Options of the registration.
	Options Options `json:"options"`
}

// Vpc is what the mocked account knows of an existing VPC.
type Vpc struct {
	Cidr                     string
	DNSSupport, DNSHostnames bool
}

// Subnet is what the mocked account knows of an existing subnet.
type Subnet struct {
	VpcID, AvailabilityZone, Cidr string
}

// Account is the offline model of the AWS account and region the invokes
// are answered from.
type Account struct {
	Region    string
	AccountID string
	Partition string
	// Zones the region offers; default the zones every account of the
	// region has (internal/regions).
	Zones []string
	// Vpcs maps an existing VPC's ID to its facts.
	Vpcs map[string]Vpc
	// Subnets maps an existing subnet's ID to its facts.
	Subnets map[string]Subnet
	// StackOutputs are other stacks' outputs, by stack name, for programs
	// that read them with a StackReference.
	StackOutputs map[string]map[string]any
}

// Invoke is one recorded provider function call.
type Invoke struct {
	Token string
	Args  map[string]any
}

// Mocks implements pulumi.MockResourceMonitor and records what it sees. It is
// safe for the concurrent registrations a Pulumi program makes.
type Mocks struct {
	Account Account
	// SecretKeys are the config keys the program sees as Pulumi secrets
	// (ctx.IsConfigSecret), as the engine marks a stack file's secure values.
	SecretKeys []string

	mu        sync.Mutex
	resources []*Resource
	invokes   []Invoke
}

// New returns mocks for an account in region with kinfra's fixed offline
// identity: account 123456789012, in the region's partition (aws for a
// region kinfra does not know).
func New(region string) *Mocks {
	partition := regions.PartitionOf(region)
	if partition == "" {
		partition = "aws"
	}
	return &Mocks{Account: Account{Region: region, AccountID: "123456789012", Partition: partition}}
}

// dnsSuffix is the domain of the partition's endpoints.
func (a Account) dnsSuffix() string {
	if r, err := regions.Lookup(a.Region); err == nil {
		return r.DNSSuffix
	}
	return "amazonaws.com"
}

// Run runs a Pulumi program under these mocks, with config as the stack's
// configuration ("namespace:key" to value, objects as JSON).
func (m *Mocks) Run(project, stack string, config map[string]string, body pulumi.RunFunc) error {
	return pulumi.RunErr(body, pulumi.WithMocks(project, stack, m), func(info *pulumi.RunInfo) {
		info.Config = config
		info.ConfigSecretKeys = m.SecretKeys
	})
}

// NewResource records a registration and returns a deterministic ID and state.
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r := &Resource{Type: args.TypeToken, Name: args.Name, Custom: args.Custom, Inputs: Plain(args.Inputs)}
	if rpc := args.RegisterRPC; rpc != nil {
		r.Parent = rpc.GetParent()
		r.Options = Options{
			Protect:             rpc.GetProtect(),
			RetainOnDelete:      rpc.GetRetainOnDelete(),
			IgnoreChanges:       nonNil(rpc.GetIgnoreChanges()),
			DeleteBeforeReplace: rpc.GetDeleteBeforeReplace(),
			DependsOn:           explicitDeps(rpc.GetDependencies(), rpc.GetPropertyDependencies()),
			Dependencies:        sortedUnique(rpc.GetDependencies()),
			Import:              rpc.GetImportId(),
			Provider:            providerURN(rpc.GetProvider()),
		}
	}
	state := args.Inputs.Copy()
	id := ""
	if args.Custom {
		id = args.ID
		if id == "" {
			id = IDFor(args.TypeToken, args.Name)
		}
		m.computed(args.TypeToken, args.Name, id, state)
	}
	if args.TypeToken == "pulumi:pulumi:StackReference" {
		// Read, not registered: the SDK reads another stack's outputs.
		id = args.ID
		state["outputs"] = resource.NewPropertyValue(m.Account.StackOutputs[args.Name])
	}
	r.ID = id
	if args.Custom {
		r.State = Plain(state)
	}
	r.URN = urn(args, r.Parent)
	m.mu.Lock()
	m.resources = append(m.resources, r)
	m.mu.Unlock()
	return id, state, nil
}

// urn is the URN the SDK's mock monitor gives the resource: the parent's
// stack, project and qualified type (none under the root stack).
func urn(args pulumi.MockResourceArgs, parent string) string {
	p := resource.URN(parent)
	if !p.IsValid() {
		return args.TypeToken + "::" + args.Name // unparented: only outside a program
	}
	parentType := tokens.Type("")
	if p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(p.Stack(), p.Project(), parentType, tokens.Type(args.TypeToken), args.Name))
}

// explicitDeps are the dependencies not implied by any input.
func explicitDeps(all []string, byProp map[string]*pulumirpcPropertyDeps) []string {
	implied := map[string]bool{}
	for _, d := range byProp {
		for _, u := range d.GetUrns() {
			implied[u] = true
		}
	}
	out := []string{}
	for _, u := range all {
		if !implied[u] {
			out = append(out, u)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// providerURN is the URN of a provider reference ("URN::ID").
func providerURN(ref string) string {
	if i := strings.LastIndex(ref, "::"); i > 0 {
		return ref[:i]
	}
	return ref
}

func sortedUnique(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return slices.Compact(out)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

var idPrefixes = map[string]string{
	"aws:ec2/vpc:Vpc":                                             "vpc-",
	"aws:ec2/subnet:Subnet":                                       "subnet-",
	"aws:ec2/internetGateway:InternetGateway":                     "igw-",
	"aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway": "eigw-",
	"aws:ec2/natGateway:NatGateway":                               "nat-",
	"aws:ec2/eip:Eip":                                             "eipalloc-",
	"aws:ec2/routeTable:RouteTable":                               "rtb-",
	"aws:ec2/routeTableAssociation:RouteTableAssociation":         "rtbassoc-",
	"aws:ec2/vpcEndpoint:VpcEndpoint":                             "vpce-",
	"aws:ec2/securityGroup:SecurityGroup":                         "sg-",
	"aws:ec2/flowLog:FlowLog":                                     "fl-",
	"aws:ec2/launchTemplate:LaunchTemplate":                       "lt-",
	"aws:ec2/volume:Volume":                                       "vol-",
	"aws:ebs/volume:Volume":                                       "vol-",
	"aws:route53/zone:Zone":                                       "Z",
	"aws:ec2/instance:Instance":                                   "i-",
}

// IDFor is the offline ID of a resource the program does not import: a
// stable, AWS-shaped ID derived from its type and name, so that plans are
// byte-for-byte reproducible. A type AWS gives a prefixed ID gets the prefix
// and 17 hex digits of the SHA-256 of type and name; any other type the
// name, "-" and 8 of those digits.
func IDFor(typ, name string) string {
	sum := sha256.Sum256([]byte(typ + "\x00" + name))
	h := hex.EncodeToString(sum[:])
	if p, ok := idPrefixes[typ]; ok {
		return p + h[:17]
	}
	return name + "-" + h[:8]
}

// IDPrefix is the prefix of the offline IDs of a type, if it has one.
func IDPrefix(typ string) (string, bool) {
	p, ok := idPrefixes[typ]
	return p, ok
}

// computed adds the outputs AWS would compute that kinfra reads.
func (m *Mocks) computed(typ, name, id string, state resource.PropertyMap) {
	a := m.Account
	set := func(k, v string) { state[resource.PropertyKey(k)] = resource.NewProperty(v) }
	switch typ {
	case "aws:ec2/vpc:Vpc":
		if v, ok := state["assignGeneratedIpv6CidrBlock"]; ok && v.IsBool() && v.BoolValue() {
			sum := sha256.Sum256([]byte(name))
			set("ipv6CidrBlock", fmt.Sprintf("2600:1f18:%02x%02x:%02x00::/56", sum[0], sum[1], sum[2]))
		}
		set("arn", fmt.Sprintf("arn:%s:ec2:%s:%s:vpc/%s", a.Partition, a.Region, a.AccountID, id))
	case "aws:cloudwatch/logGroup:LogGroup":
		group := name
		if v, ok := state["name"]; ok && v.IsString() {
			group = v.StringValue()
		}
		set("arn", fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s", a.Partition, a.Region, a.AccountID, group))
	case "aws:iam/role:Role":
		set("arn", fmt.Sprintf("arn:%s:iam::%s:role/%s", a.Partition, a.AccountID, id))
		set("name", id)
	case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
		// IAM names a provider by its URL's host and path.
		url := ""
		if v, ok := state["url"]; ok && v.IsString() {
			url = strings.TrimPrefix(v.StringValue(), "https://")
		}
		set("arn", fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", a.Partition, a.AccountID, url))
	case "aws:iam/policy:Policy":
		set("arn", fmt.Sprintf("arn:%s:iam::%s:policy/%s", a.Partition, a.AccountID, id))
	case "aws:iam/instanceProfile:InstanceProfile":
		set("arn", fmt.Sprintf("arn:%s:iam::%s:instance-profile/%s", a.Partition, a.AccountID, id))
	case "aws:route53/zone:Zone":
		set("zoneId", id)
		set("arn", fmt.Sprintf("arn:%s:route53:::hostedzone/%s", a.Partition, id))
	case "aws:kms/key:Key":
		set("keyId", id)
		set("arn", fmt.Sprintf("arn:%s:kms:%s:%s:key/%s", a.Partition, a.Region, a.AccountID, id))
	case "aws:lb/loadBalancer:LoadBalancer":
		set("arn", fmt.Sprintf("arn:%s:elasticloadbalancing:%s:%s:loadbalancer/net/%s", a.Partition, a.Region, a.AccountID, id))
		set("dnsName", id+".elb."+a.Region+"."+a.dnsSuffix())
		set("zoneId", "ZOFFLINENLBZONE")
	case "aws:lb/targetGroup:TargetGroup":
		set("arn", fmt.Sprintf("arn:%s:elasticloadbalancing:%s:%s:targetgroup/%s", a.Partition, a.Region, a.AccountID, id))
	case "aws:ec2/launchTemplate:LaunchTemplate":
		state["latestVersion"] = resource.NewProperty(1.0)
		set("arn", fmt.Sprintf("arn:%s:ec2:%s:%s:launch-template/%s", a.Partition, a.Region, a.AccountID, id))
	case "aws:sqs/queue:Queue":
		queue := id
		if v, ok := state["name"]; ok && v.IsString() {
			queue = v.StringValue()
		}
		set("arn", fmt.Sprintf("arn:%s:sqs:%s:%s:%s", a.Partition, a.Region, a.AccountID, queue))
		set("url", fmt.Sprintf("https://sqs.%s.%s/%s/%s", a.Region, a.dnsSuffix(), a.AccountID, queue))
	case "aws:autoscaling/group:Group":
		if _, ok := state["name"]; !ok {
			set("name", id)
		}
		set("arn", fmt.Sprintf("arn:%s:autoscaling:%s:%s:autoScalingGroup:%s", a.Partition, a.Region, a.AccountID, id))
	case "aws:imagebuilder/component:Component", "aws:imagebuilder/imageRecipe:ImageRecipe",
		"aws:imagebuilder/infrastructureConfiguration:InfrastructureConfiguration",
		"aws:imagebuilder/distributionConfiguration:DistributionConfiguration",
		"aws:imagebuilder/imagePipeline:ImagePipeline", "aws:imagebuilder/image:Image":
		imageBuilderOutputs(typ, name, id, a, state)
	default:
		if _, ok := state["arn"]; !ok {
			service := strings.TrimPrefix(strings.SplitN(typ, "/", 2)[0], "aws:")
			set("arn", fmt.Sprintf("arn:%s:%s:%s:%s:%s", a.Partition, service, a.Region, a.AccountID, id))
		}
	}
}

// Call answers an invoke from the offline account model.
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	m.mu.Lock()
	m.invokes = append(m.invokes, Invoke{Token: args.Token, Args: Plain(args.Args)})
	m.mu.Unlock()
	a := m.Account
	str := func(k string) string {
		if v, ok := args.Args[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	switch args.Token {
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		zones := a.Zones
		if zones == nil {
			r, err := regions.Lookup(a.Region)
			if err != nil {
				return nil, fmt.Errorf("the offline AWS model knows no zones of %s: %w", a.Region, err)
			}
			zones = r.Zones
		}
		ids := make([]string, len(zones))
		for i := range zones {
			ids[i] = fmt.Sprintf("%s-az%d", regionCode(a.Region), i+1)
		}
		return resource.NewPropertyMapFromMap(map[string]any{"id": a.Region, "names": zones, "zoneIds": ids}), nil
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.NewPropertyMapFromMap(map[string]any{
			"id": a.AccountID, "accountId": a.AccountID, "userId": "AIDAOFFLINEPLAN",
			"arn": fmt.Sprintf("arn:%s:iam::%s:user/kinfra-offline", a.Partition, a.AccountID),
		}), nil
	case "aws:index/getPartition:getPartition":
		return resource.NewPropertyMapFromMap(map[string]any{"id": a.Partition, "partition": a.Partition, "dnsSuffix": a.dnsSuffix(), "reverseDnsPrefix": reverseDNS(a.dnsSuffix())}), nil
	case "aws:index/getRegion:getRegion":
		return resource.NewPropertyMapFromMap(map[string]any{"id": a.Region, "name": a.Region, "region": a.Region, "endpoint": "ec2." + a.Region + "." + a.dnsSuffix()}), nil
	case "aws:ec2/getVpc:getVpc":
		vpc, ok := a.Vpcs[str("id")]
		if !ok {
			return nil, fmt.Errorf("no VPC %q in %s", str("id"), a.Region)
		}
		return resource.NewPropertyMapFromMap(map[string]any{"id": str("id"), "cidrBlock": vpc.Cidr,
			"enableDnsSupport": vpc.DNSSupport, "enableDnsHostnames": vpc.DNSHostnames}), nil
	case "aws:ec2/getSubnet:getSubnet":
		s, ok := a.Subnets[str("id")]
		if !ok {
			return nil, fmt.Errorf("no subnet %q in %s", str("id"), a.Region)
		}
		return resource.NewPropertyMapFromMap(map[string]any{"id": str("id"), "vpcId": s.VpcID, "availabilityZone": s.AvailabilityZone, "cidrBlock": s.Cidr}), nil
	case "aws:ec2/getAmi:getAmi":
		sum := sha256.Sum256([]byte(fmt.Sprint(Plain(args.Args))))
		id := "ami-" + hex.EncodeToString(sum[:])[:17]
		// An explicit image-id filter finds that image, an architecture
		// filter an image of that architecture.
		arch := "x86_64"
		if filters, ok := Plain(args.Args)["filters"].([]any); ok {
			for _, f := range filters {
				f, ok := f.(map[string]any)
				v, one := f["values"].([]any)
				if !ok || !one || len(v) != 1 {
					continue
				}
				switch f["name"] {
				case "image-id":
					id, _ = v[0].(string)
				case "architecture":
					arch, _ = v[0].(string)
				}
			}
		}
		return resource.NewPropertyMapFromMap(map[string]any{
			"id": id, "imageId": id,
			"name": "kinfra-offline-placeholder", "architecture": arch, "rootDeviceName": "/dev/sda1",
		}), nil
	}
	return nil, fmt.Errorf("the offline AWS model has no answer for invoke %s", args.Token)
}

// reverseDNS is a DNS suffix reversed (amazonaws.com → com.amazonaws), as
// service principals and endpoint service names use it.
func reverseDNS(suffix string) string {
	labels := strings.Split(suffix, ".")
	slices.Reverse(labels)
	return strings.Join(labels, ".")
}

// regionCode abbreviates a region for zone IDs (us-east-1 → use1).
func regionCode(region string) string {
	parts := strings.Split(region, "-")
	if len(parts) != 3 {
		return region
	}
	return parts[0] + string(parts[1][0]) + parts[2]
}

// Resources returns every recorded resource, ordered by URN.
func (m *Mocks) Resources() []Resource {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Resource, len(m.resources))
	for i, r := range m.resources {
		out[i] = *r
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}

// Invokes returns every recorded invoke, in call order.
func (m *Mocks) Invokes() []Invoke {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.invokes)
}

// ByType returns the recorded resources of one type token, ordered by URN.
func (m *Mocks) ByType(typ string) []Resource { return OfType(m.Resources(), typ) }

// OfType returns the resources of one type token, in their order.
func OfType(rs []Resource, typ string) []Resource {
	var out []Resource
	for _, r := range rs {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// TB is what MustNamed needs of a test (testing.TB has it).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// MustNamed returns the recorded resource of a type and name, and fails the
// test t when there is none.
func (m *Mocks) MustNamed(t TB, typ, name string) Resource {
	t.Helper()
	r, ok := m.Named(typ, name)
	if !ok {
		t.Fatalf("no %s named %s", typ, name)
	}
	return r
}

// Named returns the resource of a type and name, if recorded.
func (m *Mocks) Named(typ, name string) (Resource, bool) {
	for _, r := range m.Resources() {
		if r.Type == typ && r.Name == name {
			return r, true
		}
	}
	return Resource{}, false
}
