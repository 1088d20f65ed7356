package plan

import (
	"fmt"
	"strings"
)

// ReplaceRule is what an offline plan diff knows of one resource type: the
// input properties whose change makes the provider replace the resource
// (delete it and create a new one, with a new ID) instead of updating it in
// place.
//
// The provider's own answer (its Diff call) is not available offline, so this
// is a curated table. It follows the providers' schemas: a Terraform
// attribute marked ForceNew in terraform-provider-aws (which pulumi-aws
// bridges; pulumi-aws v6 is built on terraform-provider-aws v5) and
// pulumi-kubernetes' forceNew table. Properties are Pulumi input names
// (camelCase) and paths: a change at or below a listed path forces
// replacement. `pulumi preview` against the real stack is authoritative.
type ReplaceRule struct {
	// Properties are the input paths whose change forces replacement.
	Properties []string
	// When reports conditional replacements (a change that forces
	// replacement only in some cases) from the old and new inputs; nil when
	// there are none.
	When func(old, new map[string]any) []string
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
		// instanceTenancy is not ForceNew: the provider calls
		// ModifyVpcTenancy (which only moves dedicated → default; the other
		// way fails at apply time rather than replacing the VPC).
		Properties: []string{"cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"},
		Source:     "verified: " + tfAWS("ec2/vpc_.go") + "; IPv6 and DNS settings and instanceTenancy update in place",
	},
	"aws:ec2/subnet:Subnet": {
		Properties: []string{"vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId", "ipv4IpamPoolId", "ipv4NetmaskLength",
			"ipv6IpamPoolId", "ipv6Native", "ipv6NetmaskLength", "outpostArn"},
		When: func(old, new map[string]any) []string {
			// CustomizeDiff: a new ipv6CidrBlock replaces a subnet created
			// with assignIpv6AddressOnCreation.
			if !diffEqual(old["ipv6CidrBlock"], new["ipv6CidrBlock"]) && old["ipv6CidrBlock"] != nil && old["assignIpv6AddressOnCreation"] == true {
				return []string{"ipv6CidrBlock changes on a subnet that assigns IPv6 addresses on creation"}
			}
			return nil
		},
		Source: "verified: " + tfAWS("ec2/vpc_subnet.go") + " and its CustomizeDiff",
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
		Properties: []string{"address", "customerOwnedIpv4Pool", "domain", "ipamPoolId", "networkBorderGroup", "publicIpv4Pool", "vpc"},
		Source:     "provider schema: " + tfAWS("ec2/ec2_eip.go"),
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
		Source:     "provider schema: " + tfAWS("vpc/security_group_ingress_rule.go") + " (RequiresReplace); the rule's other fields are modified in place",
	},
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {
		Properties: []string{"securityGroupId"},
		Source:     "provider schema: " + tfAWS("vpc/security_group_egress_rule.go") + " (RequiresReplace)",
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
		// vpcZoneIdentifiers, sizes, the launch template and instance
		// refresh are all updated in place (UpdateAutoScalingGroup).
		Properties: []string{"name", "namePrefix", "initialLifecycleHooks", "placementGroup"},
		Source:     "verified: " + tfAWS("autoscaling/group.go") + "; vpcZoneIdentifiers is updated in place",
	},
	"aws:autoscaling/lifecycleHook:LifecycleHook": {
		Properties: []string{"name", "autoscalingGroupName"},
		Source:     "provider schema: " + tfAWS("autoscaling/lifecycle_hook.go"),
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
		Properties: []string{"name", "version", "platform", "data", "uri", "changeDescription", "description", "kmsKeyId", "supportedOsVersions", "skipDestroy"},
		Source:     "provider schema: " + tfAWS("imagebuilder/component.go") + " (a component version is immutable)",
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
		// An image is one build: every input is ForceNew.
		Properties: []string{"imageRecipeArn", "containerRecipeArn", "infrastructureConfigurationArn", "distributionConfigurationArn",
			"enhancedImageMetadataEnabled", "imageTestsConfiguration", "imageScanningConfiguration", "workflows", "executionRole"},
		Source: "provider schema: " + tfAWS("imagebuilder/image.go") + " (every input is ForceNew)",
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
	"kubernetes:helm.sh/v3:Release": {
		// A release is installed under its name in its namespace; renaming
		// or moving it installs a new release.
		Properties: []string{"name", "namespace"},
		Source:     "pulumi-kubernetes Release: a new name or namespace is a new release",
	},
}

// kubernetesMetadata is what replaces every Kubernetes object: its identity.
func kubernetesMetadata() []string { return []string{"metadata.name", "metadata.namespace"} }

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

// ruleFor returns the replacement rule of a type, falling back to the
// metadata rule for Kubernetes kinds the table does not list.
func ruleFor(typ string) (ReplaceRule, bool) {
	if r, ok := Replacements[typ]; ok {
		return r, true
	}
	if strings.HasPrefix(typ, "kubernetes:") && !strings.HasPrefix(typ, "kubernetes:helm.sh/") {
		return ReplaceRule{Properties: kubernetesMetadata(), Source: "pulumi-kubernetes provider/pkg/provider/diff.go metadataForceNewProperties"}, true
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
