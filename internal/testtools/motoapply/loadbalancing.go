package motoapply

import (
	"context"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// elbNameMax is Elastic Load Balancing's limit on load balancer and target
// group names, which Pulumi's autonames respect.
const elbNameMax = 32

func elbTags(tags []tag) []elbtypes.Tag {
	out := make([]elbtypes.Tag, len(tags))
	for i, t := range tags {
		out[i] = elbtypes.Tag{Key: aws.String(t.key), Value: aws.String(t.value)}
	}
	return out
}

// loadBalancer does what the provider's resourceLoadBalancerCreate does:
// CreateLoadBalancer (tagged), ModifyLoadBalancerAttributes with access
// logs off and the attributes the plan sets, and for a network load
// balancer with enforceSecurityGroupInboundRulesOnPrivateLinkTraffic, a
// SetSecurityGroups carrying it.
func (a *applier) loadBalancer(ctx context.Context, r mockaws.Resource, in *inputs) (created, error) {
	name, err := physicalName(r, in, elbNameMax)
	if err != nil {
		return created{}, err
	}
	scheme := elbtypes.LoadBalancerSchemeEnumInternetFacing
	if internal, _ := in.boolean("internal"); internal {
		scheme = elbtypes.LoadBalancerSchemeEnumInternal
	}
	lbType := elbtypes.LoadBalancerTypeEnum(in.str("loadBalancerType"))
	groups := in.strings("securityGroups")
	out, err := a.elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name:           &name,
		Type:           lbType,
		Scheme:         scheme,
		Subnets:        in.strings("subnets"),
		SecurityGroups: groups,
		IpAddressType:  elbtypes.IpAddressType(in.str("ipAddressType")),
		Tags:           elbTags(in.tags("tags")),
	})
	if err != nil {
		return created{}, err
	}
	arn := out.LoadBalancers[0].LoadBalancerArn
	attrs := []elbtypes.LoadBalancerAttribute{{Key: aws.String("access_logs.s3.enabled"), Value: aws.String("false")}}
	for field, key := range map[string]string{
		"enableCrossZoneLoadBalancing": "load_balancing.cross_zone.enabled",
		"enableDeletionProtection":     "deletion_protection.enabled",
	} {
		if v, ok := in.boolean(field); ok {
			attrs = append(attrs, elbtypes.LoadBalancerAttribute{Key: aws.String(key), Value: aws.String(strconv.FormatBool(v))})
		}
	}
	if _, err := a.elb.ModifyLoadBalancerAttributes(ctx, &elbv2.ModifyLoadBalancerAttributesInput{LoadBalancerArn: arn, Attributes: attrs}); err != nil {
		return created{}, err
	}
	if enforce := in.str("enforceSecurityGroupInboundRulesOnPrivateLinkTraffic"); enforce != "" && lbType == elbtypes.LoadBalancerTypeEnumNetwork {
		if _, err := a.elb.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{
			LoadBalancerArn: arn, SecurityGroups: groups,
			EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: elbtypes.EnforceSecurityGroupInboundRulesOnPrivateLinkTrafficEnum(enforce),
		}); err != nil {
			return created{}, err
		}
		a.skip(r.URN, "enforceSecurityGroupInboundRulesOnPrivateLinkTraffic",
			"sent with SetSecurityGroups as the provider does, but moto 5 ignores the setting and never reports it")
	}
	return created{id: aws.ToString(arn), arn: aws.ToString(arn), name: name}, nil
}

// targetGroup does what the provider's target group create does:
// CreateTargetGroup with the health check (tagged), then
// ModifyTargetGroupAttributes with the attributes the plan sets.
func (a *applier) targetGroup(ctx context.Context, r mockaws.Resource, in *inputs) (created, error) {
	name, err := physicalName(r, in, elbNameMax)
	if err != nil {
		return created{}, err
	}
	ti := &elbv2.CreateTargetGroupInput{
		Name:       &name,
		Port:       in.optInt32("port"),
		Protocol:   elbtypes.ProtocolEnum(in.str("protocol")),
		VpcId:      in.optStr("vpcId"),
		TargetType: elbtypes.TargetTypeEnum(in.str("targetType")),
		Tags:       elbTags(in.tags("tags")),
	}
	if h := in.object("healthCheck"); h != nil {
		ti.HealthCheckEnabled = h.optBool("enabled")
		ti.HealthCheckIntervalSeconds = h.optInt32("interval")
		ti.HealthCheckPath = h.optStr("path")
		ti.HealthCheckPort = h.optStr("port")
		ti.HealthCheckProtocol = elbtypes.ProtocolEnum(h.str("protocol"))
		ti.HealthCheckTimeoutSeconds = h.optInt32("timeout")
		ti.HealthyThresholdCount = h.optInt32("healthyThreshold")
		ti.UnhealthyThresholdCount = h.optInt32("unhealthyThreshold")
		if m := h.optStr("matcher"); m != nil {
			ti.Matcher = &elbtypes.Matcher{HttpCode: m}
		}
	}
	out, err := a.elb.CreateTargetGroup(ctx, ti)
	if err != nil {
		return created{}, err
	}
	arn := out.TargetGroups[0].TargetGroupArn
	var attrs []elbtypes.TargetGroupAttribute
	set := func(key, value string) {
		attrs = append(attrs, elbtypes.TargetGroupAttribute{Key: aws.String(key), Value: aws.String(value)})
	}
	if n, ok := in.num("deregistrationDelay"); ok {
		set("deregistration_delay.timeout_seconds", strconv.FormatInt(n, 10))
	}
	if v, ok := in.boolean("preserveClientIp"); ok {
		set("preserve_client_ip.enabled", strconv.FormatBool(v))
	}
	if v, ok := in.boolean("connectionTermination"); ok {
		set("deregistration_delay.connection_termination.enabled", strconv.FormatBool(v))
	}
	if len(attrs) > 0 {
		if _, err := a.elb.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: arn, Attributes: attrs}); err != nil {
			return created{}, err
		}
	}
	return created{id: aws.ToString(arn), arn: aws.ToString(arn), name: name}, nil
}

// listener: CreateListener with its forward actions, tagged.
func (a *applier) listener(ctx context.Context, in *inputs) (created, error) {
	li := &elbv2.CreateListenerInput{
		LoadBalancerArn: in.optStr("loadBalancerArn"),
		Port:            in.optInt32("port"),
		Protocol:        elbtypes.ProtocolEnum(in.str("protocol")),
		Tags:            elbTags(in.tags("tags")),
	}
	for _, d := range in.objects("defaultActions") {
		li.DefaultActions = append(li.DefaultActions, elbtypes.Action{
			Type: elbtypes.ActionTypeEnum(d.str("type")), TargetGroupArn: d.optStr("targetGroupArn"),
		})
	}
	out, err := a.elb.CreateListener(ctx, li)
	if err != nil {
		return created{}, err
	}
	arn := aws.ToString(out.Listeners[0].ListenerArn)
	return created{id: arn, arn: arn}, nil
}
