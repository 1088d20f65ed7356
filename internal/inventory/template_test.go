package inventory

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func fromTemplate(t *testing.T, tmpl string) (*Inventory, []Problem) {
	t.Helper()
	inv, problems, err := FromTemplate([]byte(tmpl), "us-east-1", nil)
	require.NoError(t, err)
	return inv, problems
}

// The types the fixture does not use: a secondary block, egress rules,
// rules by protocol number, forward configs, literal base64 user data.
func TestFromTemplateOtherShapes(t *testing.T) {
	inv, problems := fromTemplate(t, `
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
  Extra: {Type: AWS::EC2::VPCCidrBlock, Properties: {VpcId: !Ref Vpc, CidrBlock: 100.64.0.0/16}}
  V6: {Type: AWS::EC2::VPCCidrBlock, Properties: {VpcId: !Ref Vpc, Ipv6CidrBlock: "2600:1f18::/56"}}
  Table: {Type: AWS::EC2::RouteTable, Properties: {VpcId: !Ref Vpc}}
  Peer: {Type: AWS::EC2::Route, Properties: {RouteTableId: !Ref Table, DestinationPrefixListId: pl-1, VpcPeeringConnectionId: pcx-1}}
  Open:
    Type: AWS::EC2::SecurityGroup
    Properties: {GroupDescription: open, VpcId: !Ref Vpc}
  Closed:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: closed
      VpcId: !Ref Vpc
      SecurityGroupIngress: [{IpProtocol: "6", FromPort: 443, ToPort: 443, SourcePrefixListId: pl-2}]
      SecurityGroupEgress: [{IpProtocol: "17", FromPort: 53, ToPort: 53, CidrIp: 10.0.0.2/32}]
  OpenEgress:
    Type: AWS::EC2::SecurityGroupEgress
    Properties: {GroupId: !GetAtt Open.GroupId, IpProtocol: "-1", FromPort: 0, ToPort: 65535, DestinationSecurityGroupId: !Ref Closed}
  ByName:
    Type: AWS::EC2::SecurityGroupIngress
    Properties: {GroupName: Closed, IpProtocol: icmp, FromPort: 8, ToPort: -1, CidrIpv6: "::/0"}
  Lt:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        UserData: IyEvYmluL3NoCmVjaG8gaGkK
        NetworkInterfaces: [{DeviceIndex: 0, Groups: [!Ref Open]}]
        IamInstanceProfile: {Arn: "arn:aws:iam::1:instance-profile/p"}
  Group:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      MinSize: "1"
      MaxSize: "5"
      VPCZoneIdentifier: "subnet-1, subnet-2"
      LaunchTemplate: {LaunchTemplateName: lt, Version: "3"}
  Lb: {Type: AWS::ElasticLoadBalancingV2::LoadBalancer, Properties: {SubnetMappings: [{SubnetId: subnet-1}]}}
  Tg: {Type: AWS::ElasticLoadBalancingV2::TargetGroup, Properties: {Port: 80, Protocol: HTTP}}
  L:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Lb
      Port: 80
      Protocol: HTTP
      DefaultActions: [{Type: forward, ForwardConfig: {TargetGroups: [{TargetGroupArn: !Ref Tg}]}}]
  Logs: {Type: AWS::EC2::FlowLog, Properties: {ResourceId: !Ref Vpc, ResourceType: VPC, TrafficType: ALL, LogGroupName: flows}}
`)
	require.Empty(t, problems)
	require.Equal(t, []string{"100.64.0.0/16"}, inv.VPCs[0].SecondaryCidrs)
	require.Equal(t, []string{"2600:1f18::/56"}, inv.VPCs[0].Ipv6Cidrs)
	require.Equal(t, []Route{
		{DestinationCidr: "10.0.0.0/16", Target: "local"},
		{DestinationCidr: "100.64.0.0/16", Target: "local"},
		{DestinationIpv6Cidr: "2600:1f18::/56", Target: "local"},
		{DestinationPrefixID: "pl-1", Target: "pcx-1"},
	}, inv.RouteTables[0].Routes)

	groups := map[string]SecurityGroup{}
	for _, g := range inv.SecurityGroups {
		groups[g.ID] = g
	}
	// A group with egress in its template has only those; one without has
	// AWS's allow-all (both families in a VPC with IPv6), then its
	// SecurityGroupEgress resources'.
	require.Equal(t, []Rule{{Protocol: "udp", FromPort: 53, ToPort: 53, CidrIPv4: "10.0.0.2/32"}}, groups["Closed"].Egress)
	require.Equal(t, []Rule{
		{Protocol: "tcp", FromPort: 443, ToPort: 443, PrefixListID: "pl-2"},
		{Protocol: "icmp", FromPort: 8, ToPort: -1, CidrIPv6: "::/0"},
	}, groups["Closed"].Ingress)
	require.Equal(t, "Closed", groups["Closed"].Name, "a group without GroupName is named by its logical ID")
	require.Equal(t, []Rule{
		{Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0"},
		{Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv6: "::/0"},
		{Protocol: "-1", FromPort: -1, ToPort: -1, ReferencedGroupID: "Closed"},
	}, groups["Open"].Egress)

	lt := inv.LaunchTemplates[0]
	require.Equal(t, "Lt", lt.Name)
	require.Equal(t, "#!/bin/sh\necho hi\n", lt.Data.UserData)
	require.Equal(t, []string{"Open"}, lt.Data.SecurityGroupIDs)
	require.Equal(t, "arn:aws:iam::1:instance-profile/p", lt.Data.IamInstanceProfile)

	require.Equal(t, AutoScalingGroup{Name: "Group", ARN: "Group", MinSize: 1, MaxSize: 5, DesiredCapacity: 1,
		LaunchTemplate: &LaunchTemplateRef{Name: "lt", Version: "3"}, SubnetIDs: []string{"subnet-1", "subnet-2"}, Tags: Tags{}},
		inv.AutoScalingGroups[0], "the desired capacity is the minimum when not given")
	require.Equal(t, LoadBalancer{ARN: "Lb", Name: "Lb", Type: "application", Scheme: "internet-facing", SubnetIDs: []string{"subnet-1"},
		Listeners: []Listener{{ARN: "L", Port: 80, Protocol: "HTTP", TargetGroupARNs: []string{"Tg"}}}, Tags: Tags{}}, inv.LoadBalancers[0])
	require.Equal(t, FlowLog{ID: "Logs", ResourceID: "Vpc", TrafficType: "ALL", DestinationType: "cloud-watch-logs", Destination: "flows", Tags: Tags{}}, inv.FlowLogs[0])
}

// Every problem of a template comes at once, each at its path; the rest
// of the template is still read.
func TestFromTemplateReportsEveryProblem(t *testing.T) {
	inv, problems := fromTemplate(t, `
Parameters:
  Cidr: {Type: String}
  Zone: {Type: String, Default: us-east-1z, AllowedValues: [us-east-1a]}
Conditions:
  Never: !Equals [a, b]
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: !Ref Cidr, Tags: [{Key: Name, Value: !Sub "${AWS::StackName}-vpc"}, {Key: team, Value: infra}]}
  Sub:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.0.0/24, AvailabilityZone: !Ref Zone}
  Ghost:
    Type: AWS::EC2::Subnet
    Condition: Never
    Properties: {VpcId: !Ref Vpc, CidrBlock: !Ref Nope}
  Elsewhere: {Type: AWS::EC2::Route, Properties: {RouteTableId: rtb-123, DestinationCidrBlock: 0.0.0.0/0, GatewayId: igw-1}}
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: g
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 1, ToPort: 2, CidrIp: 10.0.0.0/8, SourceSecurityGroupId: sg-1}
        - {IpProtocol: tcp, FromPort: 1, ToPort: 2}
        - {FromPort: 1, ToPort: 2, CidrIp: 10.0.0.0/8}
        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 10.0.0.0/8}
  Lt:
    Type: AWS::EC2::LaunchTemplate
    Properties: {LaunchTemplateData: {UserData: "not base64!", InstanceType: [m5.large]}}
  Group:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      MinSize: one
      MaxSize: 3
      MixedInstancesPolicy:
        LaunchTemplate:
          LaunchTemplateSpecification: {LaunchTemplateId: !Ref Lt}
          Overrides: [{InstanceRequirements: {VCpuCount: {Min: 2}}}]
  Untyped: {Properties: {}}
  Role: {Type: AWS::IAM::Role, Properties: {Path: !GetAtt Nope.Arn}}
`)
	got := map[string]string{}
	for _, p := range problems {
		require.NotContains(t, got, p.Path, "one problem per path here")
		got[p.Path] = p.Message
	}
	want := map[string]string{
		"Parameters.Zone":                                                                                  `"us-east-1z" is not one of its AllowedValues`,
		"Resources.Vpc.Properties.CidrBlock":                                                               "Ref Cidr: the parameter has no Default and no value was given",
		"Resources.Vpc.Properties.Tags[0].Value":                                                           "Ref AWS::StackName: a template alone does not give it (pass it as a parameter)",
		"Resources.Sub.Properties.AvailabilityZone":                                                        "us-east-1z is not a zone of us-east-1",
		"Resources.Elsewhere.Properties.RouteTableId":                                                      `"rtb-123" is not a route table of this template, so the route is not read`,
		"Resources.Sg.Properties.SecurityGroupIngress[0]":                                                  "a rule needs exactly one of CidrIp, CidrIpv6, SourcePrefixListId, SourceSecurityGroupId (it has CidrIp and SourceSecurityGroupId)",
		"Resources.Sg.Properties.SecurityGroupIngress[1]":                                                  "a rule needs exactly one of CidrIp, CidrIpv6, SourcePrefixListId, SourceSecurityGroupId (it has none)",
		"Resources.Sg.Properties.SecurityGroupIngress[2].IpProtocol":                                       "a rule needs an IpProtocol",
		"Resources.Lt.Properties.LaunchTemplateData.UserData":                                              "user data is base64: write it through Fn::Base64 or encoded",
		"Resources.Lt.Properties.LaunchTemplateData.InstanceType":                                          "want a string, not a list",
		"Resources.Group.Properties.MinSize":                                                               "want a whole number, not a string",
		"Resources.Group.Properties.MixedInstancesPolicy.LaunchTemplate.Overrides[0].InstanceRequirements": "instance types chosen by attributes are not read; only InstanceType overrides are",
		"Resources.Untyped.Type":                                                                           "a resource needs a Type",
		"Resources.Role.Properties.Path":                                                                   `Fn::GetAtt Nope.Arn: the template has no resource "Nope"`,
		"Resources.Vpc.Properties.CidrBlock ":                                                              "",
	}
	delete(want, "Resources.Vpc.Properties.CidrBlock ")
	for path, msg := range want {
		require.Contains(t, got, path)
		require.True(t, strings.HasPrefix(got[path], msg), "%s: %q does not start with %q", path, got[path], msg)
	}
	require.Len(t, got, len(want), "no other problems: %v", got)

	// The rest is read: the VPC without its block or unknown tag, the
	// subnet, the valid rule; the conditional subnet is not created.
	require.Equal(t, []VPC{{ID: "Vpc", EnableDNSSupport: true, Tags: Tags{"team": "infra"}}}, inv.VPCs)
	require.Len(t, inv.Subnets, 1)
	require.Equal(t, []Rule{{Protocol: "tcp", FromPort: 22, ToPort: 22, CidrIPv4: "10.0.0.0/8"}}, inv.SecurityGroups[0].Ingress)
	require.Equal(t, int32(3), inv.AutoScalingGroups[0].MaxSize)
	require.Equal(t, []Ref{{Type: "AWS::IAM::Role", ID: "Role"}}, inv.Unread)
}

func TestFromTemplateParametersGivenButNotDeclared(t *testing.T) {
	_, problems, err := FromTemplate([]byte("Resources: {}\n"), "us-east-1", map[string]string{"Nope": "x", "AWS::StackName": "s"})
	require.NoError(t, err)
	require.Equal(t, []Problem{{Path: "Parameters.Nope", Message: `a value is given, but the template declares no parameter "Nope"`}}, problems)
}

func TestFromTemplateRefusesWhatIsNoTemplate(t *testing.T) {
	for _, c := range []struct{ doc, region, want string }{
		{"", "us-east-1", "the template is empty"},
		{"a: [", "us-east-1", "not valid YAML"},
		{"{\"a\": ", "us-east-1", "not valid JSON"},
		{"{} {}", "us-east-1", "text after the JSON document"},
		{"- a\n- b\n", "us-east-1", "the template is a list, not a mapping with Resources"},
		{"Parameters: {}\n", "us-east-1", "no Resources mapping (it is missing)"},
		{"Resources: [a]\n", "us-east-1", "no Resources mapping (it is a list)"},
		{"Resources: {}\n", "mars-north-1", "mars-north-1"},
		{"a: 1\na: 2\n", "us-east-1", `key "a" is given twice`},
		{"a: &x [*x]\n", "us-east-1", ""},
	} {
		inv, problems, err := FromTemplate([]byte(c.doc), c.region, nil)
		require.Error(t, err, c.doc)
		require.Contains(t, err.Error(), c.want)
		require.Nil(t, inv)
		require.Nil(t, problems)
	}
}

// A few aliases that would expand to billions of values are refused
// rather than expanded.
func TestFromTemplateRefusesAliasBombs(t *testing.T) {
	doc := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for i := range 8 {
		name := string(rune('b' + i))
		doc += name + ": &" + name + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n"
		prev = name
	}
	doc += "Resources: {X: {Type: AWS::IAM::Role, Properties: {P: *" + prev + "}}}\n"
	_, _, err := FromTemplate([]byte(doc), "us-east-1", nil)
	require.ErrorContains(t, err, "expands to more than")
}

func FuzzFromTemplate(f *testing.F) {
	legacy, err := os.ReadFile(legacyFixture)
	require.NoError(f, err)
	doc, err := parseTemplate(legacy)
	require.NoError(f, err)
	js, err := json.Marshal(doc)
	require.NoError(f, err)
	for _, seed := range []string{
		string(legacy), string(js), fmtSeed("!Ref X"), fmtSeed("!Select [9, !GetAZs '']"), fmtSeed("!Cidr [10.0.0.0/8, 256, 1]"),
		fmtSeed("!Sub ['${A}', {A: !Ref B}]"), fmtSeed("!If [C, !Ref AWS::NoValue, {'Fn::GetAtt': []}]"), fmtSeed("!Join [1, 2]"),
		fmtSeed("!GetAtt"), fmtSeed("!Base64 {a: b}"), fmtSeed("{Ref: [a]}"), fmtSeed("!FindInMap [a]"), fmtSeed("!Split [',', 1]"),
		"Conditions: {C: !And []}\nResources: {X: {Type: AWS::EC2::VPC, Condition: C}}\n",
		"Conditions: {C: [x]}\nResources: {X: {Type: AWS::EC2::VPC, Condition: C}}\n",
		"Parameters: {P: {Type: List<String>, Default: [a]}}\nResources: {X: {Type: AWS::EC2::Subnet, Properties: {Tags: !Ref P}}}\n",
		"Resources: {X: {Type: AWS::EC2::SecurityGroup, Properties: {SecurityGroupIngress: [1, {IpProtocol: [x]}]}}}\n",
		"Resources: {X: {Type: AWS::AutoScaling::AutoScalingGroup, Properties: {MinSize: 1e99, MixedInstancesPolicy: 3}}}\n",
		"{\"Resources\": {\"X\": {\"Type\": \"AWS::EC2::VPC\", \"Properties\": {\"CidrBlock\": 1.5}}}}",
		"Resources:\n  X: !Ref Y\n", "Resources: {X: {Type: 3}}\n", "Resources: {X: {Type: AWS::EC2::VPC, Properties: [1]}}\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tmpl string) {
		inv, problems, err := FromTemplate([]byte(tmpl), "us-east-1", map[string]string{"X": "1"})
		if err != nil {
			require.Nil(t, inv)
			return
		}
		require.NotNil(t, inv)
		require.True(t, inv.FromTemplate)
		for _, p := range problems {
			require.NotEmpty(t, p.Path)
			require.NotEmpty(t, p.Message)
		}
		_, err = json.Marshal(inv)
		require.NoError(t, err)
	})
}

func fmtSeed(expr string) string {
	return "Resources:\n  X:\n    Type: AWS::EC2::Subnet\n    Properties:\n      CidrBlock: " + expr + "\n"
}
