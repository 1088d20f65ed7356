// Package awsnames is the one home of what AWS allows in the names of the
// resources kinfra creates: for each resource type, the input that carries
// its AWS name and the longest name AWS accepts, and how the Pulumi AWS
// provider names a resource whose name input is left unset.
//
// spec derives its length limits (cluster.name, nodePools[].name) from this
// table, the components ask it whether an autoname fits, and the stack tests
// check every recorded resource against it.
package awsnames

import (
	"fmt"
	"slices"
)

// AutonameSuffix is what the Pulumi AWS provider appends to a resource's
// logical name when its name input is unset: "-" and 7 random hex
// characters (tfbridge.AutoName: Separator "-", Randlen 7). A name that
// would exceed the type's maximum fails `pulumi preview` ("plus 7 random
// chars is longer than maximum length") or is refused by AWS at `up`.
const AutonameSuffix = 8

// Limit is the naming rule of one AWS resource type.
type Limit struct {
	// Type is the Pulumi type token, e.g. aws:iam/role:Role.
	Type string
	// Property is the input holding the AWS name: name, or bucket for S3.
	Property string
	// What names the AWS resource in messages, e.g. "IAM role".
	What string
	// Max is the longest name AWS accepts.
	Max int
	// Autonamed: the provider names the resource from its logical name when
	// Property is unset.
	Autonamed bool
}

// Resource types kinfra names (the ones the components and spec refer to).
const (
	TargetGroup     = "aws:lb/targetGroup:TargetGroup"
	LoadBalancer    = "aws:lb/loadBalancer:LoadBalancer"
	Role            = "aws:iam/role:Role"
	InstanceProfile = "aws:iam/instanceProfile:InstanceProfile"
	Policy          = "aws:iam/policy:Policy"
	RolePolicy      = "aws:iam/rolePolicy:RolePolicy"
	User            = "aws:iam/user:User"
	UserPolicy      = "aws:iam/userPolicy:UserPolicy"
	LaunchTemplate  = "aws:ec2/launchTemplate:LaunchTemplate"
	SecurityGroup   = "aws:ec2/securityGroup:SecurityGroup"
	AutoScaling     = "aws:autoscaling/group:Group"
	LifecycleHook   = "aws:autoscaling/lifecycleHook:LifecycleHook"
	EventRule       = "aws:cloudwatch/eventRule:EventRule"
	LogGroup        = "aws:cloudwatch/logGroup:LogGroup"
	MetricAlarm     = "aws:cloudwatch/metricAlarm:MetricAlarm"
	KMSAlias        = "aws:kms/alias:Alias"
	SSMParameter    = "aws:ssm/parameter:Parameter"
	Bucket          = "aws:s3/bucketV2:BucketV2"
	Queue           = "aws:sqs/queue:Queue"
	Zone            = "aws:route53/zone:Zone"
	Record          = "aws:route53/record:Record"
	IBComponent     = "aws:imagebuilder/component:Component"
	IBDistribution  = "aws:imagebuilder/distributionConfiguration:DistributionConfiguration"
	IBPipeline      = "aws:imagebuilder/imagePipeline:ImagePipeline"
	IBRecipe        = "aws:imagebuilder/imageRecipe:ImageRecipe"
	IBInfra         = "aws:imagebuilder/infrastructureConfiguration:InfrastructureConfiguration"
)

// Limits are the AWS name limits of every named resource type kinfra
// registers, from each service's API reference (the request's name
// parameter: length constraints). Every type with a `name` input is
// autonamed by pulumi-aws (provider/resources.go setAutonaming; the target
// group with its own maximum of 32); S3 buckets autoname `bucket` (63).
// Checked against public sources: the target group's and load balancer's 32
// (ELBv2 CreateTargetGroup, and pulumi-aws' AutoName("name", 32, "-")), the
// EventBridge rule's 64 (EventBridge's own validation error, "Member must
// have length less than or equal to 64"), the IAM role's 64 (IAM quotas;
// kops truncates role names to it); the others are from the services' API
// references as recalled, not re-checked here.
var Limits = map[string]Limit{
	TargetGroup:     {TargetGroup, "name", "load balancer target group", 32, true}, // CreateTargetGroup Name
	LoadBalancer:    {LoadBalancer, "name", "load balancer", 32, true},             // CreateLoadBalancer Name
	Role:            {Role, "name", "IAM role", 64, true},                          // CreateRole RoleName
	InstanceProfile: {InstanceProfile, "name", "IAM instance profile", 128, true},  // CreateInstanceProfile
	Policy:          {Policy, "name", "IAM policy", 128, true},                     // CreatePolicy PolicyName
	RolePolicy:      {RolePolicy, "name", "IAM inline role policy", 128, true},     // PutRolePolicy PolicyName
	User:            {User, "name", "IAM user", 64, true},                          // CreateUser UserName
	UserPolicy:      {UserPolicy, "name", "IAM inline user policy", 128, true},     // PutUserPolicy PolicyName
	LaunchTemplate:  {LaunchTemplate, "name", "launch template", 128, true},        // CreateLaunchTemplate
	SecurityGroup:   {SecurityGroup, "name", "security group", 255, true},          // CreateSecurityGroup GroupName
	AutoScaling:     {AutoScaling, "name", "Auto Scaling group", 255, true},        // CreateAutoScalingGroup
	LifecycleHook:   {LifecycleHook, "name", "lifecycle hook", 255, true},          // PutLifecycleHook
	EventRule:       {EventRule, "name", "EventBridge rule", 64, true},             // PutRule Name
	LogGroup:        {LogGroup, "name", "CloudWatch log group", 512, true},         // CreateLogGroup
	MetricAlarm:     {MetricAlarm, "name", "CloudWatch alarm", 255, true},          // PutMetricAlarm AlarmName
	KMSAlias:        {KMSAlias, "name", "KMS alias", 256, true},                    // CreateAlias AliasName
	SSMParameter:    {SSMParameter, "name", "SSM parameter", 1011, false},          // PutParameter (name with its ARN)
	Bucket:          {Bucket, "bucket", "S3 bucket", 63, true},                     // bucket naming rules
	Queue:           {Queue, "name", "SQS queue", 80, true},                        // CreateQueue QueueName
	Zone:            {Zone, "name", "Route53 hosted zone", 253, false},             // a DNS name
	Record:          {Record, "name", "Route53 record", 253, false},                // a DNS name
	IBComponent:     {IBComponent, "name", "Image Builder component", 128, false},  // ResourceName
	IBDistribution:  {IBDistribution, "name", "Image Builder distribution", 128, false},
	IBPipeline:      {IBPipeline, "name", "Image Builder pipeline", 128, false},
	IBRecipe:        {IBRecipe, "name", "Image Builder recipe", 128, false},
	IBInfra:         {IBInfra, "name", "Image Builder infrastructure configuration", 128, false},
	"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2":                       {"", "bucket", "S3 bucket", 63, false},
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls":                                     {"", "bucket", "S3 bucket", 63, false},
	"aws:s3/bucketPolicy:BucketPolicy":                                                           {"", "bucket", "S3 bucket", 63, false},
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":                                     {"", "bucket", "S3 bucket", 63, false},
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": {"", "bucket", "S3 bucket", 63, false},
	"aws:s3/bucketVersioningV2:BucketVersioningV2":                                               {"", "bucket", "S3 bucket", 63, false},
	"aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2":                     {"", "bucket", "S3 bucket", 63, false},
	"aws:s3/bucketObjectv2:BucketObjectv2":                                                       {"", "bucket", "S3 bucket", 63, false},
}

// Unnamed are the AWS resource types kinfra registers that carry no AWS
// name of their own (AWS assigns an ID; a Name tag is only a tag).
var Unnamed = []string{
	"aws:cloudwatch/eventTarget:EventTarget", // targetId: generated by the provider
	"aws:ebs/volume:Volume",
	"aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
	"aws:ec2/eip:Eip",
	"aws:ec2/flowLog:FlowLog",
	"aws:ec2/internetGateway:InternetGateway",
	"aws:ec2/natGateway:NatGateway",
	"aws:ec2/route:Route",
	"aws:ec2/routeTable:RouteTable",
	"aws:ec2/routeTableAssociation:RouteTableAssociation",
	"aws:ec2/subnet:Subnet",
	"aws:ec2/tag:Tag",
	"aws:ec2/vpc:Vpc",
	"aws:ec2/vpcEndpoint:VpcEndpoint",
	"aws:iam/openIdConnectProvider:OpenIdConnectProvider", // named by its URL
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment",
	"aws:imagebuilder/image:Image",
	"aws:kms/key:Key",
	"aws:lb/listener:Listener",
	"aws:sqs/queuePolicy:QueuePolicy",
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
}

// Known reports whether typ is in Limits or Unnamed.
func Known(typ string) bool {
	_, ok := Limits[typ]
	return ok || slices.Contains(Unnamed, typ)
}

// Autoname is the length of the name the provider gives a resource named
// logical: the logical name and AutonameSuffix.
func Autoname(logical string) int { return len(logical) + AutonameSuffix }

// AutonameFits reports whether a resource of type typ with this logical name
// can be left for the provider to name.
func AutonameFits(typ, logical string) bool {
	l, ok := Limits[typ]
	return !ok || Autoname(logical) <= l.Max
}

// Name is the AWS name a registered resource gets and its length: the
// explicit name input, or (autonamed) the logical name with "-" and 7
// random characters, shown as "-xxxxxxx". ok is false for types without an
// AWS name, or a name input that is not a plain string.
func Name(typ, logical string, inputs map[string]any) (name string, length int, ok bool) {
	l, known := Limits[typ]
	if !known {
		return "", 0, false
	}
	switch v := inputs[l.Property].(type) {
	case string:
		return v, len(v), true
	case nil:
		if l.Autonamed {
			return logical + "-xxxxxxx", Autoname(logical), true
		}
	}
	return "", 0, false
}

// Autonamed is a resource a component will register without a name input:
// its type and logical name.
type Autonamed struct{ Type, Logical string }

// Overlong says, for each resource whose autoname would exceed its type's
// AWS limit, what it would be named and what AWS allows; for components
// used as a library, whose names their caller chooses.
func Overlong(rs ...Autonamed) []string {
	var out []string
	for _, r := range rs {
		if l, ok := Limits[r.Type]; ok && !AutonameFits(r.Type, r.Logical) {
			out = append(out, fmt.Sprintf("the %s would be named %q (Pulumi's autoname: the logical name, '-' and 7 random characters), %d characters, and AWS allows %d; use a shorter component name",
				l.What, r.Logical+"-xxxxxxx", Autoname(r.Logical), l.Max))
		}
	}
	return out
}
