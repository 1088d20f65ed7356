package masters

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/awsnames"
	"github.com/kinfra-dev/kinfra/internal/ports"
	"github.com/kinfra-dev/kinfra/spec"
)

// loadBalancer creates the API's Network Load Balancer: TCP 6443 to the
// masters, which are healthy when an HTTPS GET /readyz answers 200.
func (b *builder) loadBalancer() error {
	name := b.name + "-api"
	subnets := b.net.PrivateSubnetIDs
	if b.c.API.Scheme == spec.SchemeInternetFacing {
		subnets = b.net.PublicSubnetIDs
	}
	subnetIDs := pulumi.StringArray{}
	for _, s := range subnets {
		subnetIDs = append(subnetIDs, s)
	}
	nlb, err := lb.NewLoadBalancer(b.ctx, name, &lb.LoadBalancerArgs{
		// A fixed name (at most 28 characters, from the cluster name) makes
		// the API load balancer findable; replacing it is a deliberate act.
		Name:             pulumi.String(spec.APILoadBalancerName(b.c.Name)),
		LoadBalancerType: pulumi.String("network"),
		Internal:         pulumi.Bool(b.c.API.Scheme == spec.SchemeInternal),
		Subnets:          subnetIDs,
		SecurityGroups:   pulumi.StringArray{b.lbSG},
		// Any healthy master serves every zone's clients.
		EnableCrossZoneLoadBalancing:                         pulumi.Bool(true),
		EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: pulumi.String("on"),
		Tags: b.tags.For(name),
	}, b.parent)
	if err != nil {
		return err
	}
	tgArgs := &lb.TargetGroupArgs{
		Port:       pulumi.Int(ports.API),
		Protocol:   pulumi.String("TCP"),
		TargetType: pulumi.String("instance"),
		VpcId:      b.net.VpcID,
		// The masters see the load balancer's address, not the client's:
		// a master may then reach the API through it (no hairpin drop), and
		// its security group admits the load balancer's group.
		PreserveClientIp:      pulumi.String("false"),
		DeregistrationDelay:   pulumi.Int(30),
		ConnectionTermination: pulumi.Bool(true),
		HealthCheck: &lb.TargetGroupHealthCheckArgs{
			Protocol:           pulumi.String("HTTPS"),
			Path:               pulumi.String("/readyz"),
			Port:               pulumi.String("traffic-port"),
			Matcher:            pulumi.String("200"),
			HealthyThreshold:   pulumi.Int(2),
			UnhealthyThreshold: pulumi.Int(2),
			Interval:           pulumi.Int(10),
			Timeout:            pulumi.Int(6),
		},
		Tags: b.tags.For(name),
	}
	// Autonamed (the logical name, '-' and 7 random characters) while that
	// fits AWS's 32 characters, as it always was for cluster names of up to
	// 12 characters: their target groups keep their names. Longer ones are
	// named like the load balancer (the two name spaces are separate).
	if !awsnames.AutonameFits(awsnames.TargetGroup, name) {
		tgArgs.Name = pulumi.String(spec.APILoadBalancerName(b.c.Name))
	}
	tg, err := lb.NewTargetGroup(b.ctx, name, tgArgs, b.parent)
	if err != nil {
		return err
	}
	listener, err := lb.NewListener(b.ctx, name, &lb.ListenerArgs{
		LoadBalancerArn: nlb.Arn,
		Port:            pulumi.Int(ports.API),
		Protocol:        pulumi.String("TCP"),
		DefaultActions: lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
			Type:           pulumi.String("forward"),
			TargetGroupArn: tg.Arn,
		}},
		Tags: b.tags.For(name),
	}, b.parent)
	if err != nil {
		return err
	}
	b.targetGroup, b.listener = tg.Arn, listener
	b.out.TargetGroupArn, b.out.LoadBalancerDNSName = tg.Arn, nlb.DnsName
	b.nlbZoneID = nlb.ZoneId
	return nil
}
