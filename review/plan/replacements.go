package plan

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// ReplaceRule is what an offline plan diff knows of one resource type: the
// input properties whose change makes the provider replace the resource
// (delete it and create a new one, with a new ID) instead of updating it in
// place.
//
// The provider's own answer (its Diff call) is not available offline, so this
// is a curated table. It follows the providers' schemas: a Terraform
// attribute marked ForceNew (or RequiresReplace, or forced by a
// CustomizeDiff or ModifyPlan) in terraform-provider-aws, which pulumi-aws
// bridges (pulumi-aws v6, which go.mod pins, is built on
// terraform-provider-aws v5), and pulumi-kubernetes' forceNew table and
// DiffConfig. Properties are Pulumi input names (camelCase) and paths: a
// change at or below a listed path forces replacement. `pulumi preview`
// against the real stack is authoritative.
type ReplaceRule struct {
	// Properties are the input paths whose change forces replacement.
	Properties []string
	// When reports conditional replacements (a change that forces
	// replacement only in some cases) from the old and new inputs; nil when
	// there are none.
	When func(old, new map[string]any) []string
	// Fails reports updates the provider makes in place that AWS refuses
	// (so `pulumi up` fails on them), from the old and new inputs; nil when
	// there are none.
	Fails func(old, new map[string]any) []string
	// MutableWithFlag names a provider input (e.g. enableConfigMapMutable)
	// that, when true on the resource's provider, turns FlagMutable from
	// replacements into in-place updates.
	MutableWithFlag string
	FlagMutable     []string
	// Source says where the knowledge comes from. "verified" entries were
	// read in the provider source for this table; the others follow the
	// provider's documented schema.
	Source string
}

// tfAWS is where terraform-provider-aws keeps a type's schema.
func tfAWS(file string) string {
	return "terraform-provider-aws internal/service/" + file + " (ForceNew)"
}

// Replacements are the replacement rules for every type the kinfra program
// registers (and a few it may), keyed by type token. Types absent here are
// assumed to update in place; kubernetes:* types without an entry use the
// metadata rule (kubernetesMetadata).
var Replacements = map[string]ReplaceRule{
	// --- EC2 and VPC ---------------------------------------------------
	"aws:ebs/volume:Volume": {
		Properties: []string{"availabilityZone", "snapshotId", "encrypted", "kmsKeyId", "outpostArn", "multiAttachEnabled"},
		Source:     "verified: " + tfAWS("ec2/ebs_volume.go") + "; size, iops, throughput and type are modified in place",
	},
	"aws:ec2/vpc:Vpc": {
		Properties: []string{"cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"},
		When:       vpcTenancyForceNew,
		Source:     "verified: " + tfAWS("ec2/vpc_.go") + " and resourceVPCCustomizeDiff; IPv6 and DNS settings update in place, instanceTenancy only dedicated → default",
	},
	"aws:ec2/subnet:Subnet": {
		Properties: []string{"vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId", "ipv4IpamPoolId", "ipv4NetmaskLength",
			"ipv6IpamPoolId", "ipv6Native", "ipv6NetmaskLength", "outpostArn"},
		Fails:  subnetIPv6BlockInUse,
		Source: "verified: " + tfAWS("ec2/vpc_subnet.go") + "; ipv6CidrBlock updates in place (its ForceNewIf came in v6, hashicorp/terraform-provider-aws#46043)",
	},
	"aws:ec2/internetGateway:InternetGateway": {
		// vpcId is not ForceNew: the gateway is detached and attached.
		Source: "provider schema: " + tfAWS("ec2/vpc_internet_gateway.go") + " has no ForceNew input; a vpcId change detaches and re-attaches it",
	},
	"aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway": {
		Properties: []string{"vpcId"},
		Source:     "provider schema: " + tfAWS("ec2/vpc_egress_only_internet_gateway.go"),
	},
	"aws:ec2/natGateway:NatGateway": {
		Properties: []string{"subnetId", "allocationId", "connectivityType", "privateIp", "secondaryPrivateIpAddressCount"},
		Source:     "verified: " + tfAWS("ec2/vpc_nat_gateway.go"),
	},
	"aws:ec2/eip:Eip": {
		Properties: []string{"address", "domain", "ipamPoolId", "networkBorderGroup", "publicIpv4Pool", "vpc"},
		Source:     "verified: " + tfAWS("ec2/ec2_eip.go") + "; customerOwnedIpv4Pool is not ForceNew (vpc, deprecated, is ForceNew in v5)",
	},
	"aws:ec2/routeTable:RouteTable": {
		Properties: []string{"vpcId"},
		Source:     "provider schema: " + tfAWS("ec2/vpc_route_table.go") + "; routes update in place",
	},
	"aws:ec2/route:Route": {
		Properties: []string{"routeTableId", "destinationCidrBlock", "destinationIpv6CidrBlock", "destinationPrefixListId"},
		Source:     "provider schema: " + tfAWS("ec2/vpc_route.go") + "; the target (natGatewayId, gatewayId, …) is replaced in place",
	},
	"aws:ec2/routeTableAssociation:RouteTableAssociation": {
		Properties: []string{"subnetId", "gatewayId"},
		Source:     "provider schema: " + tfAWS("ec2/vpc_route_table_association.go") + "; routeTableId is re-associated in place",
	},
	"aws:ec2/vpcEndpoint:VpcEndpoint": {
		Properties: []string{"vpcId", "serviceName", "vpcEndpointType", "serviceRegion"},
		Source:     "provider schema: " + tfAWS("ec2/vpc_endpoint.go") + "; subnets, security groups, route tables and policy update in place",
	},
	"aws:ec2/securityGroup:SecurityGroup": {
		Properties: []string{"name", "namePrefix", "description", "vpcId"},
		Source:     "verified: " + tfAWS("ec2/vpc_security_group.go"),
	},
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {
		Properties: []string{"securityGroupId"},
		When:       securityGroupRuleSourceKind,
		Source:     "verified: " + tfAWS("ec2/vpc_security_group_ingress_rule.go") + " (RequiresReplace, and ModifyPlan for the source kind); ports, protocol, description and the source's value are modified in place",
	},
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {
		Properties: []string{"securityGroupId"},
		When:       securityGroupRuleSourceKind,
		Source:     "verified: " + tfAWS("ec2/vpc_security_group_egress_rule.go") + " (the ingress rule's schema and ModifyPlan)",
	},
	"aws:ec2/flowLog:FlowLog": {
		Properties: []string{"vpcId", "subnetId", "eniId", "transitGatewayId", "transitGatewayAttachmentId", "logDestination",
			"logDestinationType", "logFormat", "logGroupName", "iamRoleArn", "deliverCrossAccountRole", "trafficType",
			"maxAggregationInterval", "destinationOptions"},
		Source: "provider schema: " + tfAWS("ec2/vpc_flow_log.go") + " (a flow log cannot be modified; only its tags)",
	},
	"aws:ec2/launchTemplate:LaunchTemplate": {
		// Any other change creates a new version of the same template.
		Properties: []string{"name", "namePrefix"},
		Source:     "provider schema: " + tfAWS("ec2/ec2_launch_template.go") + "; every other change is a new template version",
	},
	"aws:ec2/tag:Tag": {
		Properties: []string{"resourceId", "key"},
		Source:     "provider schema: " + tfAWS("ec2/ec2_tag.go"),
	},

	// --- Auto Scaling ----------------------------------------------------
	"aws:autoscaling/group:Group": {
		// vpcZoneIdentifiers, sizes, the launch template, the placement
		// group and instance refresh are all updated in place
		// (UpdateAutoScalingGroup).
		Properties: []string{"name", "namePrefix", "initialLifecycleHooks"},
		Source:     "verified: " + tfAWS("autoscaling/group.go") + "; vpcZoneIdentifiers and placementGroup are updated in place",
	},
	"aws:autoscaling/lifecycleHook:LifecycleHook": {
		// Update is PutLifecycleHook: a new autoscalingGroupName puts the
		// hook on that group and leaves the old group's hook behind.
		Properties: []string{"name"},
		Source:     "verified: " + tfAWS("autoscaling/lifecycle_hook.go") + "; autoscalingGroupName is updated in place",
	},
	"aws:autoscaling/attachment:Attachment": {
		Properties: []string{"autoscalingGroupName", "elb", "lbTargetGroupArn"},
		Source:     "provider schema: " + tfAWS("autoscaling/attachment.go"),
	},

	// --- Load balancing --------------------------------------------------
	"aws:lb/loadBalancer:LoadBalancer": {
		Properties: []string{"name", "namePrefix", "internal", "loadBalancerType", "customerOwnedIpv4Pool"},
		When:       nlbForceNew,
		Source:     "verified: " + tfAWS("elbv2/load_balancer.go") + " and customizeDiffLoadBalancerNLB",
	},
	"aws:lb/targetGroup:TargetGroup": {
		Properties: []string{"name", "namePrefix", "port", "protocol", "protocolVersion", "targetType", "vpcId", "ipAddressType"},
		Source:     "verified: " + tfAWS("elbv2/target_group.go") + "; health checks, deregistration delay and stickiness update in place",
	},
	"aws:lb/listener:Listener": {
		// Port, protocol and default actions are modified in place.
		Properties: []string{"loadBalancerArn"},
		Source:     "provider schema: " + tfAWS("elbv2/listener.go"),
	},

	// --- DNS -------------------------------------------------------------
	"aws:route53/zone:Zone": {
		// Private zone VPC associations are updated in place.
		Properties: []string{"name", "delegationSetId"},
		Source:     "provider schema: " + tfAWS("route53/zone.go"),
	},
	"aws:route53/record:Record": {
		// type and setIdentifier are not ForceNew: the provider changes them
		// with one DELETE + CREATE change batch (the old record is gone just
		// the same).
		Properties: []string{"name", "zoneId"},
		Source:     "verified: " + tfAWS("route53/record.go") + "; type, records, TTL and alias update in place",
	},

	// --- S3 --------------------------------------------------------------
	"aws:s3/bucketV2:BucketV2": {
		// A bucket's name is global and fixed; Object Lock can only be
		// chosen when the bucket is created.
		Properties: []string{"bucket", "bucketPrefix", "objectLockEnabled"},
		Source:     "provider schema: " + tfAWS("s3/bucket.go") + "; tags, forceDestroy update in place",
	},
	// A bucket's configuration resources belong to one bucket; what they
	// configure is put again in place.
	"aws:s3/bucketVersioningV2:BucketVersioningV2": {
		Properties: []string{"bucket", "expectedBucketOwner"},
		Source:     "provider schema: " + tfAWS("s3/bucket_versioning.go") + "; versioningConfiguration and mfa update in place",
	},
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": {
		Properties: []string{"bucket", "expectedBucketOwner"},
		Source:     "provider schema: " + tfAWS("s3/bucket_server_side_encryption_configuration.go") + "; rules update in place",
	},
	"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": {
		Properties: []string{"bucket", "expectedBucketOwner"},
		Source:     "provider schema: " + tfAWS("s3/bucket_lifecycle_configuration.go") + " (RequiresReplace); rules update in place",
	},
	"aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2": {
		Properties: []string{"bucket", "expectedBucketOwner", "objectLockEnabled"},
		Source:     "verified: " + tfAWS("s3/bucket_object_lock_configuration.go") + "; the rule (default retention) updates in place",
	},
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": {
		Properties: []string{"bucket"},
		Source:     "verified: " + tfAWS("s3/bucket_public_access_block.go") + "; the four settings update in place",
	},
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls": {
		Properties: []string{"bucket"},
		Source:     "provider schema: " + tfAWS("s3/bucket_ownership_controls.go") + "; the rule updates in place",
	},
	"aws:s3/bucketPolicy:BucketPolicy": {
		Properties: []string{"bucket"},
		Source:     "provider schema: " + tfAWS("s3/bucket_policy.go") + "; the policy updates in place",
	},
	"aws:s3/bucketObjectv2:BucketObjectv2": {
		Properties: []string{"bucket", "key"},
		Source:     "verified: " + tfAWS("s3/object.go") + "; content and contentType are uploaded again in place",
	},

	// --- KMS and SSM -----------------------------------------------------
	"aws:kms/key:Key": {
		Properties: []string{"customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"},
		Source:     "verified: " + tfAWS("kms/key.go") + "; policy, rotation, description update in place",
	},
	"aws:kms/alias:Alias": {
		Properties: []string{"name", "namePrefix"},
		Source:     "provider schema: " + tfAWS("kms/alias.go") + "; targetKeyId updates in place",
	},
	"aws:ssm/parameter:Parameter": {
		Properties: []string{"name", "dataType"},
		When: func(old, new map[string]any) []string {
			if old["tier"] == "Advanced" && new["tier"] == "Standard" {
				return []string{"tier Advanced → Standard (AWS cannot downgrade a parameter)"}
			}
			return nil
		},
		Source: "verified: " + tfAWS("ssm/parameter.go") + " and its CustomizeDiff; value, type, keyId and description update in place",
	},

	// --- IAM ---------------------------------------------------------------
	"aws:iam/role:Role": {
		Properties: []string{"name", "namePrefix", "path"},
		Source:     "verified: " + tfAWS("iam/role.go"),
	},
	"aws:iam/instanceProfile:InstanceProfile": {
		Properties: []string{"name", "namePrefix", "path"},
		Source:     "provider schema: " + tfAWS("iam/instance_profile.go") + "; role updates in place",
	},
	"aws:iam/policy:Policy": {
		Properties: []string{"name", "namePrefix", "path", "description"},
		Source:     "provider schema: " + tfAWS("iam/policy.go") + "; the document is a new default version",
	},
	"aws:iam/rolePolicy:RolePolicy": {
		Properties: []string{"name", "namePrefix", "role"},
		Source:     "provider schema: " + tfAWS("iam/role_policy.go"),
	},
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment": {
		Properties: []string{"role", "policyArn"},
		Source:     "provider schema: " + tfAWS("iam/role_policy_attachment.go"),
	},
	"aws:iam/user:User": {
		// name and path are renamed in place (UpdateUser).
		Source: "provider schema: " + tfAWS("iam/user.go") + " has no ForceNew input",
	},
	"aws:iam/userPolicy:UserPolicy": {
		Properties: []string{"name", "namePrefix", "user"},
		Source:     "provider schema: " + tfAWS("iam/user_policy.go"),
	},
	"aws:iam/openIdConnectProvider:OpenIdConnectProvider": {
		Properties: []string{"url"},
		Source:     "verified: " + tfAWS("iam/openid_connect_provider.go") + "; client IDs and thumbprints update in place",
	},
	"aws:iam/accessKey:AccessKey": {
		Properties: []string{"user", "pgpKey"},
		Source:     "provider schema: " + tfAWS("iam/access_key.go") + "; status updates in place",
	},

	// --- Logs, queues, events ---------------------------------------------
	"aws:cloudwatch/logGroup:LogGroup": {
		Properties: []string{"name", "namePrefix", "logGroupClass"},
		Source:     "provider schema: " + tfAWS("logs/group.go") + "; retention and kmsKeyId update in place",
	},
	"aws:sqs/queue:Queue": {
		Properties: []string{"name", "namePrefix", "fifoQueue"},
		Source:     "provider schema: " + tfAWS("sqs/queue.go"),
	},
	"aws:sqs/queuePolicy:QueuePolicy": {
		Properties: []string{"queueUrl"},
		Source:     "provider schema: " + tfAWS("sqs/queue_policy.go"),
	},
	"aws:cloudwatch/metricAlarm:MetricAlarm": {
		// Terraform's alarm_name is Pulumi's name.
		Properties: []string{"name"},
		Source:     "verified: " + tfAWS("cloudwatch/metric_alarm.go") + " (alarm_name); the metric, threshold and actions are put again in place",
	},
	"aws:cloudwatch/eventRule:EventRule": {
		Properties: []string{"name", "namePrefix", "eventBusName"},
		Source:     "provider schema: " + tfAWS("events/rule.go"),
	},
	"aws:cloudwatch/eventTarget:EventTarget": {
		Properties: []string{"rule", "targetId", "eventBusName"},
		Source:     "provider schema: " + tfAWS("events/target.go"),
	},

	// --- Image Builder (its resources are immutable versions) -------------
	"aws:imagebuilder/component:Component": {
		Properties: []string{"name", "version", "platform", "data", "uri", "changeDescription", "description", "kmsKeyId", "supportedOsVersions"},
		Source:     "verified: " + tfAWS("imagebuilder/component.go") + " (a component version is immutable; skipDestroy, which only decides what Delete does, updates in place)",
	},
	"aws:imagebuilder/imageRecipe:ImageRecipe": {
		Properties: []string{"name", "version", "parentImage", "components", "blockDeviceMappings", "description", "userDataBase64",
			"workingDirectory", "systemsManagerAgent"},
		Source: "provider schema: " + tfAWS("imagebuilder/image_recipe.go") + " (a recipe version is immutable)",
	},
	"aws:imagebuilder/infrastructureConfiguration:InfrastructureConfiguration": {
		Properties: []string{"name"},
		Source:     "provider schema: " + tfAWS("imagebuilder/infrastructure_configuration.go"),
	},
	"aws:imagebuilder/distributionConfiguration:DistributionConfiguration": {
		Properties: []string{"name"},
		Source:     "provider schema: " + tfAWS("imagebuilder/distribution_configuration.go"),
	},
	"aws:imagebuilder/imagePipeline:ImagePipeline": {
		Properties: []string{"name"},
		Source:     "provider schema: " + tfAWS("imagebuilder/image_pipeline.go"),
	},
	"aws:imagebuilder/image:Image": {
		// An image is one build: its recipe, configurations and tests are
		// ForceNew. executionRole and imageScanningConfiguration are not:
		// the provider's Update only changes tags, so a change to them is
		// recorded without a new build.
		Properties: []string{"imageRecipeArn", "containerRecipeArn", "infrastructureConfigurationArn", "distributionConfigurationArn",
			"enhancedImageMetadataEnabled", "imageTestsConfiguration", "workflows"},
		Source: "verified: " + tfAWS("imagebuilder/image.go") + "; executionRole and imageScanningConfiguration update in place",
	},

	// --- Kubernetes (pulumi-kubernetes provider/pkg/provider/diff.go) -----
	// Every kind also has metadata.name and metadata.namespace.
	"kubernetes:core/v1:ConfigMap": {
		Properties:      append(kubernetesMetadata(), "data", "binaryData"),
		MutableWithFlag: "enableConfigMapMutable",
		FlagMutable:     []string{"data", "binaryData"},
		Source:          "verified: pulumi-kubernetes provider/pkg/provider/diff.go forceNew (ConfigMap data replaces unless the provider sets enableConfigMapMutable)",
	},
	"kubernetes:core/v1:Secret": {
		Properties:      append(kubernetesMetadata(), "type", "data", "stringData"),
		MutableWithFlag: "enableSecretMutable",
		FlagMutable:     []string{"data", "stringData"},
		Source:          "verified: pulumi-kubernetes provider/pkg/provider/diff.go forceNew (Secret data replaces unless the provider sets enableSecretMutable)",
	},
	"kubernetes:core/v1:Service": {
		Properties: append(kubernetesMetadata(), "spec.clusterIP"),
		Source:     "verified: pulumi-kubernetes provider/pkg/provider/diff.go forceNew",
	},
	"kubernetes:apps/v1:Deployment": {
		Properties: append(kubernetesMetadata(), "spec.selector"),
		Source:     "verified: pulumi-kubernetes provider/pkg/provider/diff.go forceNew",
	},
	"kubernetes:apps/v1:DaemonSet": {
		// Upstream lists this under "Daemonset", so the provider does not
		// replace on a selector change: the API rejects the update
		// instead (the selector is immutable). Either way the object must
		// be recreated.
		Properties: append(kubernetesMetadata(), "spec.selector"),
		Source:     "verified: pulumi-kubernetes provider/pkg/provider/diff.go forceNew (as \"Daemonset\") and the DaemonSet API (immutable selector)",
	},
	"kubernetes:apps/v1:StatefulSet": {
		Properties: append(kubernetesMetadata(), "spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.selector", "spec.serviceName", "spec.volumeClaimTemplates"),
		Source:     "verified: pulumi-kubernetes provider/pkg/provider/diff.go forceNew",
	},
	"kubernetes:storage.k8s.io/v1:StorageClass": {
		Properties: append(kubernetesMetadata(), "parameters", "provisioner"),
		Source:     "verified: pulumi-kubernetes provider/pkg/provider/diff.go forceNew",
	},
	"kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": {
		Properties: append(kubernetesMetadata(), "roleRef"),
		Source:     "verified: pulumi-kubernetes provider/pkg/provider/diff.go forceNew",
	},
	"kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": {
		Properties: append(kubernetesMetadata(), "roleRef"),
		Source:     "verified: pulumi-kubernetes provider/pkg/provider/diff.go forceNew",
	},
	"kubernetes:core/v1:ServiceAccount":                      metadataRule,
	"kubernetes:rbac.authorization.k8s.io/v1:ClusterRole":    metadataRule,
	"kubernetes:networking.k8s.io/v1:NetworkPolicy":          metadataRule,
	"kubernetes:operator.tigera.io/v1:Installation":          metadataRule,
	"kubernetes:crd.projectcalico.org/v1:FelixConfiguration": metadataRule,
	// The provider itself: replacing it replaces every object it manages
	// (Diff marks them; the flag diff/kubernetes-provider-replaced says so).
	"pulumi:providers:kubernetes": {
		When:   kubernetesProviderReplaced,
		Source: "verified: pulumi-kubernetes provider/pkg/provider/provider.go DiffConfig (clusterIdentifier; unknown kubeconfig, context or cluster; the active cluster)",
	},
	"kubernetes:helm.sh/v3:Release": {
		// A release is installed under its name in its namespace; renaming
		// or moving it installs a new release.
		Properties: []string{"name", "namespace"},
		Source:     "pulumi-kubernetes Release: a new name or namespace is a new release",
	},
}

// kubernetesMetadata is what replaces every Kubernetes object: its identity.
func kubernetesMetadata() []string { return []string{"metadata.name", "metadata.namespace"} }

// metadataRule is the rule of a kind pulumi-kubernetes replaces only for a
// new identity (built-in kinds outside its forceNew table, and custom
// resources).
var metadataRule = ReplaceRule{Properties: kubernetesMetadata(),
	Source: "verified: pulumi-kubernetes provider/pkg/provider/diff.go metadataForceNewProperties (no other force-new property for this kind)"}

// nlbForceNew is customizeDiffLoadBalancerNLB: a network load balancer
// cannot lose subnets (or swap one for another), and cannot gain security
// groups when it has none or lose all of them.
func nlbForceNew(old, new map[string]any) []string {
	if fmt.Sprint(new["loadBalancerType"]) != "network" {
		return nil
	}
	var out []string
	for _, prop := range []string{"subnets", "subnetMappings"} {
		o, n := replStringSet(old[prop]), replStringSet(new[prop])
		if replSetsEqual(o, n) {
			continue
		}
		if len(n) <= len(o) || !replSubset(o, n) {
			out = append(out, prop+": a network load balancer can only gain subnets in place; removing or swapping one replaces it")
		}
	}
	o, n := replStringSet(old["securityGroups"]), replStringSet(new["securityGroups"])
	if (len(o) == 0) != (len(n) == 0) {
		out = append(out, "securityGroups: a network load balancer cannot gain its first security group or lose its last one in place")
	}
	return out
}

// vpcTenancyForceNew is resourceVPCCustomizeDiff: only dedicated → default
// is modified in place (ModifyVpcTenancy); any other tenancy change replaces
// the VPC. Unset is the schema's default, "default".
func vpcTenancyForceNew(old, new map[string]any) []string {
	o, n := stringOr(old["instanceTenancy"], "default"), stringOr(new["instanceTenancy"], "default")
	if o == n || o == "dedicated" && n == "default" {
		return nil
	}
	return []string{fmt.Sprintf("instanceTenancy %s → %s (only dedicated → default is modified in place)", o, n)}
}

// ruleSources are a security group rule's source attributes, in the order
// the provider's sourceAttributeName tries them.
var ruleSources = []string{"cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId"}

// securityGroupRuleSourceKind is the rules' ModifyPlan: AWS cannot change a
// rule's source kind in place, so a rule whose first set source attribute
// changes is replaced.
func securityGroupRuleSourceKind(old, new map[string]any) []string {
	kind := func(in map[string]any) string {
		for _, k := range ruleSources {
			if in[k] != nil {
				return k
			}
		}
		return "none"
	}
	if o, n := kind(old), kind(new); o != n {
		return []string{fmt.Sprintf("source kind %s → %s (a rule's source kind cannot be modified)", o, n)}
	}
	return nil
}

// subnetIPv6BlockInUse: the provider (v5) updates a subnet's ipv6CidrBlock
// in place by disassociating the old block, which AWS refuses while the
// subnet assigns IPv6 addresses on creation. The provider turns the
// assignment off first when the same change turns it off.
func subnetIPv6BlockInUse(old, new map[string]any) []string {
	ob, _ := old["ipv6CidrBlock"].(string)
	if ob == "" || diffEqual(old["ipv6CidrBlock"], new["ipv6CidrBlock"]) || !truthy(old["assignIpv6AddressOnCreation"]) || !truthy(new["assignIpv6AddressOnCreation"]) {
		return nil
	}
	return []string{fmt.Sprintf("ipv6CidrBlock %s → %s on a subnet that assigns IPv6 addresses on creation: the provider updates it in place, and AWS refuses to disassociate the old block while assignIpv6AddressOnCreation is on (InvalidCidrBlock.InUse), so `pulumi up` fails. Turn assignIpv6AddressOnCreation off in the same change (the provider turns it off before it swaps the block) and back on in a later one, or replace the subnet (`pulumi up --replace`).",
		display("ipv6CidrBlock", old["ipv6CidrBlock"]), display("ipv6CidrBlock", new["ipv6CidrBlock"]))}
}

// kubernetesProviderReplaced is pulumi-kubernetes' DiffConfig: a changed
// clusterIdentifier replaces the provider, one that stays set keeps it
// whatever else changes; otherwise an unknown kubeconfig, context or
// cluster replaces it, and so does a change of the kubeconfig's active
// cluster (its server, CA, TLS name: the entry the current context names).
// A kubeconfig recorded as a secret cannot be read offline.
func kubernetesProviderReplaced(old, new map[string]any) []string {
	oid, nid := old["clusterIdentifier"], new["clusterIdentifier"]
	switch {
	case oid != nil && nid != nil && !diffEqual(oid, nid):
		return []string{fmt.Sprintf("clusterIdentifier %s → %s", display("", oid), display("", nid))}
	case nid != nil && diffEqual(oid, nid):
		return nil
	}
	for _, k := range []string{"kubeconfig", "context", "cluster"} {
		if unknownInput(new[k]) {
			return []string{k + " is unknown until deployment (pulumi-kubernetes replaces a provider whose kubeconfig, context or cluster it cannot see)"}
		}
	}
	o, oFound := activeCluster(old)
	n, found := activeCluster(new)
	if oFound && found && !diffEqual(o, n) {
		return []string{"the kubeconfig's active cluster changes (" + clusterText(o) + " → " + clusterText(n) + ")"}
	}
	return nil
}

func unknownInput(v any) bool {
	s, ok := v.(string)
	return ok && (s == mockaws.Unknown || strings.HasPrefix(s, unknownPrefix))
}

// activeCluster is the cluster entry a provider's kubeconfig contents make
// active: the one the context (the provider's context, else the current
// context) names, or the provider's cluster. found is false when the
// kubeconfig is absent, masked as a secret, or not a kubeconfig.
func activeCluster(in map[string]any) (map[string]any, bool) {
	raw, _ := in["kubeconfig"].(string)
	if raw == "" || raw == mockaws.Secret || unknownInput(raw) {
		return nil, false
	}
	var kc struct {
		CurrentContext string `yaml:"current-context"`
		Contexts       []struct {
			Name    string `yaml:"name"`
			Context struct {
				Cluster string `yaml:"cluster"`
			} `yaml:"context"`
		} `yaml:"contexts"`
		Clusters []struct {
			Name    string         `yaml:"name"`
			Cluster map[string]any `yaml:"cluster"`
		} `yaml:"clusters"`
	}
	if err := yaml.Unmarshal([]byte(raw), &kc); err != nil {
		return nil, false
	}
	context := stringOr(in["context"], kc.CurrentContext)
	cluster, _ := in["cluster"].(string)
	for _, c := range kc.Contexts {
		if cluster == "" && c.Name == context {
			cluster = c.Context.Cluster
		}
	}
	for _, c := range kc.Clusters {
		if c.Name == cluster {
			return c.Cluster, true
		}
	}
	return nil, false
}

// clusterText names a kubeconfig cluster entry by its server.
func clusterText(c map[string]any) string {
	if s, ok := c["server"].(string); ok {
		return s
	}
	return "a cluster without a server"
}

func stringOr(v any, def string) string {
	if s, ok := v.(string); ok && s != "" {
		return s
	}
	return def
}

// ruleFor returns the replacement rule of a type, falling back to the
// metadata rule for Kubernetes kinds the table does not list.
func ruleFor(typ string) (ReplaceRule, bool) {
	if r, ok := Replacements[typ]; ok {
		return r, true
	}
	if strings.HasPrefix(typ, "kubernetes:") && !strings.HasPrefix(typ, "kubernetes:helm.sh/") {
		return metadataRule, true
	}
	return ReplaceRule{}, false
}

func replStringSet(v any) map[string]bool {
	out := map[string]bool{}
	if list, ok := v.([]any); ok {
		for _, e := range list {
			out[diffCanonical(e)] = true
		}
	}
	return out
}

func replSetsEqual(a, b map[string]bool) bool { return len(a) == len(b) && replSubset(a, b) }

func replSubset(a, b map[string]bool) bool {
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}
