package drift

// The plan types drift compares. Every other type of a plan is listed as not
// compared (Report.NotCompared).
const (
	tVPC         = "aws:ec2/vpc:Vpc"
	tSubnet      = "aws:ec2/subnet:Subnet"
	tIGW         = "aws:ec2/internetGateway:InternetGateway"
	tEIP         = "aws:ec2/eip:Eip"
	tNAT         = "aws:ec2/natGateway:NatGateway"
	tRouteTable  = "aws:ec2/routeTable:RouteTable"
	tRoute       = "aws:ec2/route:Route"
	tAssociation = "aws:ec2/routeTableAssociation:RouteTableAssociation"
	tEndpoint    = "aws:ec2/vpcEndpoint:VpcEndpoint"
	tSG          = "aws:ec2/securityGroup:SecurityGroup"
	tIngress     = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	tEgress      = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
	tLT          = "aws:ec2/launchTemplate:LaunchTemplate"
	tASG         = "aws:autoscaling/group:Group"
	tLB          = "aws:lb/loadBalancer:LoadBalancer"
	tTG          = "aws:lb/targetGroup:TargetGroup"
	tListener    = "aws:lb/listener:Listener"
	tFlowLog     = "aws:ec2/flowLog:FlowLog"
)

// comparedTypes are the types drift compares.
var comparedTypes = map[string]bool{
	tVPC: true, tSubnet: true, tIGW: true, tEIP: true, tNAT: true, tRouteTable: true, tRoute: true,
	tAssociation: true, tEndpoint: true, tSG: true, tIngress: true, tEgress: true, tLT: true, tASG: true,
	tLB: true, tTG: true, tListener: true, tFlowLog: true,
}

// childTypes have no live resource of their own in an inventory: they are
// found inside their parent (a route in its table, an association in its
// table's subnets, a rule in its group, a listener in its load balancer).
var childTypes = map[string]bool{tRoute: true, tAssociation: true, tIngress: true, tEgress: true, tListener: true}
