package network

import (
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// endpoints adds the gateway endpoints to every route table kinfra knows, and
// the interface endpoints to the private subnets behind a security group that
// admits HTTPS from inside the VPC only.
func (b *builder) endpoints() error {
	for _, svc := range b.net.GatewayEndpoints {
		name := b.name + "-" + svc
		if _, err := ec2.NewVpcEndpoint(b.ctx, name, &ec2.VpcEndpointArgs{
			VpcId:           b.vpcID,
			ServiceName:     pulumi.String(b.serviceName(svc)),
			VpcEndpointType: pulumi.String("Gateway"),
			RouteTableIds:   b.routeTables,
			Tags:            b.tags.For(name),
		}, b.opts(b.im.Endpoints[svc])...); err != nil {
			return err
		}
	}
	if len(b.net.InterfaceEndpoints) == 0 {
		return nil
	}

	sgName := b.name + "-endpoints"
	https := ec2.SecurityGroupIngressArgs{
		Description: pulumi.String("HTTPS to AWS APIs from inside the VPC"),
		Protocol:    pulumi.String("tcp"),
		FromPort:    pulumi.Int(443),
		ToPort:      pulumi.Int(443),
		CidrBlocks:  pulumi.StringArray{pulumi.String(b.net.VpcCidr)},
	}
	if b.net.IPv6 {
		https.Ipv6CidrBlocks = pulumi.StringArray{b.v6Block}
	}
	sg, err := ec2.NewSecurityGroup(b.ctx, sgName, &ec2.SecurityGroupArgs{
		VpcId:       b.vpcID,
		Description: pulumi.String("Interface VPC endpoints of " + b.args.ClusterName),
		Ingress:     ec2.SecurityGroupIngressArray{https},
		// No egress: endpoints answer, they never connect out.
		Egress: ec2.SecurityGroupEgressArray{},
		Tags:   b.tags.For(sgName),
	}, b.parent)
	if err != nil {
		return err
	}
	b.out.EndpointSecurityGroupID = sg.ID().ToStringOutput()

	subnets := pulumi.StringArray{}
	for _, s := range b.out.PrivateSubnets {
		subnets = append(subnets, s.ID)
	}
	for _, svc := range b.net.InterfaceEndpoints {
		name := b.name + "-" + strings.ReplaceAll(svc, ".", "-")
		if _, err := ec2.NewVpcEndpoint(b.ctx, name, &ec2.VpcEndpointArgs{
			VpcId:             b.vpcID,
			ServiceName:       pulumi.String(b.serviceName(svc)),
			VpcEndpointType:   pulumi.String("Interface"),
			SubnetIds:         subnets,
			SecurityGroupIds:  pulumi.StringArray{sg.ID()},
			PrivateDnsEnabled: pulumi.Bool(true),
			Tags:              b.tags.For(name),
		}, b.opts(b.im.Endpoints[svc])...); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) serviceName(svc string) string {
	return "com.amazonaws." + b.args.Region + "." + svc
}
