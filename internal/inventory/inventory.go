// Package inventory is what an AWS account (or a CloudFormation template)
// holds of a cluster's network, groups and load balancers, in plain Go
// types: `kinfra import` turns one into a stack file, `kinfra drift`
// compares one with a stack's plan.
//
// This package is plain Go and compiles no AWS SDK: FromTemplate reads a
// template here, and package awsread reads an account
// (tests/importgraph_test.go).
package inventory

// Tags are a resource's tags. AWS's own (aws:…) are kept as read.
type Tags map[string]string

// Inventory is one region's resources in scope: those of one VPC, or those
// a CloudFormation stack or template declares.
type Inventory struct {
	Region string `json:"region"`
	// FromTemplate is set when the inventory was read from a CloudFormation
	// template, not an account: IDs are the template's logical IDs, not
	// AWS's, and must not become import IDs.
	FromTemplate bool `json:"fromTemplate,omitempty"`

	VPCs              []VPC              `json:"vpcs"`
	Subnets           []Subnet           `json:"subnets"`
	RouteTables       []RouteTable       `json:"routeTables"`
	InternetGateways  []InternetGateway  `json:"internetGateways"`
	NatGateways       []NatGateway       `json:"natGateways"`
	Addresses         []Address          `json:"addresses"`
	Endpoints         []Endpoint         `json:"endpoints"`
	SecurityGroups    []SecurityGroup    `json:"securityGroups"`
	LaunchTemplates   []LaunchTemplate   `json:"launchTemplates"`
	AutoScalingGroups []AutoScalingGroup `json:"autoScalingGroups"`
	LoadBalancers     []LoadBalancer     `json:"loadBalancers"`
	TargetGroups      []TargetGroup      `json:"targetGroups"`
	FlowLogs          []FlowLog          `json:"flowLogs"`
	// Unread are resources in scope of a type this package does not read
	// (a CloudFormation stack's IAM roles, say): listed so that a report can
	// name them rather than drop them silently.
	Unread []Ref `json:"unread"`
}

// Ref names a resource this package does not model.
type Ref struct {
	// Type is the CloudFormation type (AWS::IAM::Role) when known, else
	// the API's kind.
	Type string `json:"type"`
	// ID is the physical ID (or the logical ID, from a template).
	ID string `json:"id"`
	// Note says why it is listed, when there is more to say than its type.
	Note string `json:"note,omitempty"`
}

// VPC is a VPC and its DNS attributes.
type VPC struct {
	ID                 string   `json:"id"`
	Cidr               string   `json:"cidr"`
	SecondaryCidrs     []string `json:"secondaryCidrs,omitempty"`
	Ipv6Cidrs          []string `json:"ipv6Cidrs,omitempty"`
	EnableDNSSupport   bool     `json:"enableDnsSupport"`
	EnableDNSHostnames bool     `json:"enableDnsHostnames"`
	Tags               Tags     `json:"tags"`
}

// Subnet is a subnet of a VPC.
type Subnet struct {
	ID                  string `json:"id"`
	VpcID               string `json:"vpcId"`
	AvailabilityZone    string `json:"availabilityZone"`
	Cidr                string `json:"cidr"`
	Ipv6Cidr            string `json:"ipv6Cidr,omitempty"`
	MapPublicIPOnLaunch bool   `json:"mapPublicIpOnLaunch"`
	Tags                Tags   `json:"tags"`
}

// RouteTable is a route table with its routes and explicit associations.
type RouteTable struct {
	ID    string `json:"id"`
	VpcID string `json:"vpcId"`
	// Main is the VPC's main table, which subnets without an explicit
	// association use.
	Main bool `json:"main"`
	// SubnetIDs are the explicitly associated subnets.
	SubnetIDs []string `json:"subnetIds"`
	Routes    []Route  `json:"routes"`
	Tags      Tags     `json:"tags"`
}

// Route is one route of a table. Exactly one destination field is set, and
// Target is the ID of what it routes to: igw-…, nat-…, eigw-…, vpce-…,
// pcx-…, tgw-…, eni-…, or "local".
type Route struct {
	DestinationCidr     string `json:"destinationCidr,omitempty"`
	DestinationIpv6Cidr string `json:"destinationIpv6Cidr,omitempty"`
	DestinationPrefixID string `json:"destinationPrefixListId,omitempty"`
	Target              string `json:"target"`
}

// Destination is the route's destination, whichever kind it is.
func (r Route) Destination() string {
	switch {
	case r.DestinationCidr != "":
		return r.DestinationCidr
	case r.DestinationIpv6Cidr != "":
		return r.DestinationIpv6Cidr
	}
	return r.DestinationPrefixID
}

// InternetGateway is an internet gateway and the VPCs it is attached to.
type InternetGateway struct {
	ID     string   `json:"id"`
	VpcIDs []string `json:"vpcIds"`
	Tags   Tags     `json:"tags"`
}

// NatGateway is a NAT gateway. Only those not deleted are read.
type NatGateway struct {
	ID       string `json:"id"`
	VpcID    string `json:"vpcId"`
	SubnetID string `json:"subnetId"`
	// AllocationID is its Elastic IP's allocation (public gateways).
	AllocationID string `json:"allocationId,omitempty"`
	// ConnectivityType is public or private.
	ConnectivityType string `json:"connectivityType"`
	State            string `json:"state"`
	Tags             Tags   `json:"tags"`
}

// Address is an Elastic IP.
type Address struct {
	AllocationID string `json:"allocationId"`
	PublicIP     string `json:"publicIp"`
	Tags         Tags   `json:"tags"`
}

// Endpoint is a VPC endpoint.
type Endpoint struct {
	ID    string `json:"id"`
	VpcID string `json:"vpcId"`
	// ServiceName is the full name: com.amazonaws.<region>.<service>.
	ServiceName string `json:"serviceName"`
	// Type is Gateway or Interface.
	Type              string   `json:"type"`
	RouteTableIDs     []string `json:"routeTableIds,omitempty"`
	SubnetIDs         []string `json:"subnetIds,omitempty"`
	SecurityGroupIDs  []string `json:"securityGroupIds,omitempty"`
	PrivateDNSEnabled bool     `json:"privateDnsEnabled"`
	Tags              Tags     `json:"tags"`
}

// SecurityGroup is a security group with its rules, one rule per source
// (as DescribeSecurityGroupRules answers: a permission with two CIDRs is two
// rules).
type SecurityGroup struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	VpcID       string `json:"vpcId"`
	Ingress     []Rule `json:"ingress"`
	Egress      []Rule `json:"egress"`
	Tags        Tags   `json:"tags"`
}

// Rule is one security group rule. Protocol is as AWS gives it: "-1" for
// all, "tcp", "udp", "icmp" or a number; ports are -1 when not applicable.
// Exactly one of the peer fields is set.
type Rule struct {
	// ID is the rule's sgr-… ID (empty from a template).
	ID                string `json:"id,omitempty"`
	Protocol          string `json:"protocol"`
	FromPort          int32  `json:"fromPort"`
	ToPort            int32  `json:"toPort"`
	CidrIPv4          string `json:"cidrIpv4,omitempty"`
	CidrIPv6          string `json:"cidrIpv6,omitempty"`
	PrefixListID      string `json:"prefixListId,omitempty"`
	ReferencedGroupID string `json:"referencedGroupId,omitempty"`
	Description       string `json:"description,omitempty"`
	Tags              Tags   `json:"tags,omitempty"`
}

// Peer is the rule's source (ingress) or destination (egress).
func (r Rule) Peer() string {
	switch {
	case r.CidrIPv4 != "":
		return r.CidrIPv4
	case r.CidrIPv6 != "":
		return r.CidrIPv6
	case r.PrefixListID != "":
		return r.PrefixListID
	}
	return r.ReferencedGroupID
}

// LaunchTemplate is a launch template and the data of its default version.
type LaunchTemplate struct {
	ID             string             `json:"id"`
	Name           string             `json:"name"`
	DefaultVersion int64              `json:"defaultVersion"`
	LatestVersion  int64              `json:"latestVersion"`
	Data           LaunchTemplateData `json:"data"`
	Tags           Tags               `json:"tags"`
}

// LaunchTemplateData is what a launch template version launches.
type LaunchTemplateData struct {
	ImageID      string `json:"imageId,omitempty"`
	InstanceType string `json:"instanceType,omitempty"`
	// IamInstanceProfile is the profile's ARN or, if given by name, its name.
	IamInstanceProfile string        `json:"iamInstanceProfile,omitempty"`
	SecurityGroupIDs   []string      `json:"securityGroupIds,omitempty"`
	BlockDevices       []BlockDevice `json:"blockDevices,omitempty"`
	// UserData is decoded from base64.
	UserData string `json:"userData,omitempty"`
	// HTTPTokens is the instance metadata option: required (IMDSv2 only)
	// or optional; empty when unset.
	HTTPTokens   string `json:"httpTokens,omitempty"`
	HTTPHopLimit int32  `json:"httpPutResponseHopLimit,omitempty"`
}

// BlockDevice is one EBS block device mapping.
type BlockDevice struct {
	DeviceName string `json:"deviceName"`
	VolumeType string `json:"volumeType,omitempty"`
	SizeGiB    int32  `json:"sizeGiB,omitempty"`
	Iops       int32  `json:"iops,omitempty"`
	Throughput int32  `json:"throughput,omitempty"`
	Encrypted  bool   `json:"encrypted"`
}

// LaunchTemplateRef is how a group names its launch template.
type LaunchTemplateRef struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	// Version is a number, $Latest or $Default.
	Version string `json:"version,omitempty"`
}

// AutoScalingGroup is an Auto Scaling group.
type AutoScalingGroup struct {
	Name    string `json:"name"`
	ARN     string `json:"arn,omitempty"`
	MinSize int32  `json:"minSize"`
	MaxSize int32  `json:"maxSize"`
	// DesiredCapacity is read but belongs to whoever scales the group (the
	// cluster autoscaler, for a pool).
	DesiredCapacity int32 `json:"desiredCapacity"`
	// LaunchTemplate is set for a group launched from one template;
	// MixedInstances for a group with a mixed instances policy.
	LaunchTemplate         *LaunchTemplateRef `json:"launchTemplate,omitempty"`
	MixedInstances         *MixedInstances    `json:"mixedInstances,omitempty"`
	SubnetIDs              []string           `json:"subnetIds"`
	TargetGroupARNs        []string           `json:"targetGroupArns,omitempty"`
	HealthCheckType        string             `json:"healthCheckType,omitempty"`
	HealthCheckGracePeriod int32              `json:"healthCheckGracePeriod,omitempty"`
	// Tags are the group's tags (whether they propagate to instances is
	// not kept).
	Tags Tags `json:"tags"`
}

// MixedInstances is a group's mixed instances policy.
type MixedInstances struct {
	LaunchTemplate LaunchTemplateRef `json:"launchTemplate"`
	// InstanceTypes are the overrides' types, in order.
	InstanceTypes                       []string `json:"instanceTypes"`
	OnDemandBaseCapacity                int32    `json:"onDemandBaseCapacity"`
	OnDemandPercentageAboveBaseCapacity int32    `json:"onDemandPercentageAboveBaseCapacity"`
	SpotAllocationStrategy              string   `json:"spotAllocationStrategy,omitempty"`
}

// LoadBalancer is an Elastic Load Balancing v2 load balancer.
type LoadBalancer struct {
	ARN  string `json:"arn"`
	Name string `json:"name"`
	// Type is application, network or gateway; Scheme internal or
	// internet-facing.
	Type             string     `json:"type"`
	Scheme           string     `json:"scheme"`
	VpcID            string     `json:"vpcId"`
	SubnetIDs        []string   `json:"subnetIds"`
	SecurityGroupIDs []string   `json:"securityGroupIds,omitempty"`
	Listeners        []Listener `json:"listeners"`
	Tags             Tags       `json:"tags"`
}

// Listener is one listener of a load balancer, forwarding to target groups.
type Listener struct {
	ARN             string   `json:"arn"`
	Port            int32    `json:"port"`
	Protocol        string   `json:"protocol"`
	TargetGroupARNs []string `json:"targetGroupArns"`
}

// TargetGroup is a load balancer's target group.
type TargetGroup struct {
	ARN                 string `json:"arn"`
	Name                string `json:"name"`
	Protocol            string `json:"protocol"`
	Port                int32  `json:"port"`
	VpcID               string `json:"vpcId"`
	TargetType          string `json:"targetType"`
	HealthCheckProtocol string `json:"healthCheckProtocol,omitempty"`
	HealthCheckPath     string `json:"healthCheckPath,omitempty"`
	Tags                Tags   `json:"tags"`
}

// FlowLog is a flow log of a VPC or subnet.
type FlowLog struct {
	ID         string `json:"id"`
	ResourceID string `json:"resourceId"`
	// TrafficType is ACCEPT, REJECT or ALL.
	TrafficType string `json:"trafficType"`
	// DestinationType is cloud-watch-logs or s3; Destination the log
	// group's name or the bucket's ARN.
	DestinationType string `json:"destinationType"`
	Destination     string `json:"destination"`
	Tags            Tags   `json:"tags"`
}
