package workers_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/components/workers"
	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/iampolicy"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/spec"
)

var zones = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

func cluster() spec.Cluster {
	return spec.Cluster{
		Name: "prod", Region: "us-east-1", Tags: map[string]string{"team": "platform"},
	}
}

func args(c spec.Cluster, p spec.NodePool) workers.Args {
	return workers.Args{
		Cluster: c, Pool: p,
		Join: workers.Join{
			APIName: "api.prod.k8s.internal", CACertHash: "sha256:" + strings.Repeat("0f", 32),
			ParameterPrefix:  "/kinfra/prod",
			JoinPolicyArn:    pulumi.String("arn:aws:iam::123456789012:policy/kinfra/prod/prod-masters-node-join"),
			SecurityGroupIDs: []pulumi.StringInput{pulumi.String("sg-0123456789abcdef0")},
		},
		Network: workers.Network{
			VpcID:     pulumi.String("vpc-0123456789abcdef0"),
			Zones:     zones,
			SubnetIDs: []pulumi.StringInput{pulumi.String("subnet-a"), pulumi.String("subnet-b"), pulumi.String("subnet-c")},
		},
		Image: &workers.Image{ID: pulumi.String("ami-0123456789abcdef0"), RootDevice: "/dev/sda1"},
		Termination: workers.Termination{
			QueueArn: pulumi.String("arn:aws:sqs:us-east-1:123456789012:prod-node-termination"),
			RoleArn:  pulumi.String("arn:aws:iam::123456789012:role/hooks"),
		},
	}
}

func run(t *testing.T, a workers.Args) (*mockaws.Mocks, *workers.NodePool) {
	t.Helper()
	m := mockaws.New("us-east-1")
	var pool *workers.NodePool
	err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		var err error
		pool, err = workers.New(ctx, "prod-pool-"+a.Pool.Name, a)
		return err
	})
	require.NoError(t, err)
	return m, pool
}

func groupTags(g mockaws.Resource) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, tag := range mockaws.List(g.Inputs["tags"]) {
		out[mockaws.Object(tag)["key"].(string)] = mockaws.Object(tag)
	}
	return out
}

const (
	groupType = "aws:autoscaling/group:Group"
	ltType    = "aws:ec2/launchTemplate:LaunchTemplate"
)

func TestPoolGroupRunsTheLaunchTemplateOverItsZonesSubnets(t *testing.T) {
	m, _ := run(t, args(cluster(), spec.NodePool{Name: "general", MinSize: 3, MaxSize: 60, Zones: []string{"us-east-1a", "us-east-1c"},
		InstanceTypes: []string{"m7i.4xlarge", "m6i.4xlarge"}, RootVolume: spec.Volume{SizeGiB: 200}}))
	g := m.MustNamed(t, groupType, "prod-pool-general")
	lt := m.MustNamed(t, ltType, "prod-pool-general")
	component := m.MustNamed(t, "kinfra:workers:NodePool", "prod-pool-general")
	for _, r := range m.Resources() {
		if r.Custom {
			require.Equal(t, component.URN, r.Parent, "%s is parented to the pool", r.Name)
			require.True(t, strings.HasPrefix(r.Name, "prod-pool-general"), "%s is named after the pool", r.Name)
		}
	}
	require.Equal(t, []any{"subnet-a", "subnet-c"}, g.Inputs["vpcZoneIdentifiers"])
	require.EqualValues(t, 3, g.Inputs["minSize"])
	require.EqualValues(t, 60, g.Inputs["maxSize"])
	require.EqualValues(t, 3, g.Inputs["desiredCapacity"], "desired starts at minSize")
	require.Equal(t, "EC2", g.Inputs["healthCheckType"])

	mip := mockaws.Object(g.Inputs["mixedInstancesPolicy"])
	spec := mockaws.Object(mockaws.Object(mip["launchTemplate"])["launchTemplateSpecification"])
	require.Equal(t, lt.ID, spec["launchTemplateId"])
	require.Equal(t, "1", spec["version"], "the group follows the template's latest version")
	var types []string
	for _, o := range mockaws.List(mockaws.Object(mip["launchTemplate"])["overrides"]) {
		types = append(types, mockaws.Object(o)["instanceType"].(string))
	}
	require.Equal(t, []string{"m7i.4xlarge", "m6i.4xlarge"}, types)
	dist := mockaws.Object(mip["instancesDistribution"])
	require.EqualValues(t, 100, dist["onDemandPercentageAboveBaseCapacity"])
	require.Equal(t, false, g.Inputs["capacityRebalance"])

	// The launch template: the built AMI, IMDSv2 with one hop, an
	// encrypted root volume on the AMI's root device.
	require.Equal(t, "ami-0123456789abcdef0", lt.Inputs["imageId"])
	require.Equal(t, "m7i.4xlarge", lt.Inputs["instanceType"])
	md := mockaws.Object(lt.Inputs["metadataOptions"])
	require.Equal(t, "required", md["httpTokens"])
	require.EqualValues(t, 1, md["httpPutResponseHopLimit"])
	bdm := mockaws.Object(mockaws.List(lt.Inputs["blockDeviceMappings"])[0])
	require.Equal(t, "/dev/sda1", bdm["deviceName"])
	require.Equal(t, "true", mockaws.Object(bdm["ebs"])["encrypted"])
	require.EqualValues(t, 200, mockaws.Object(bdm["ebs"])["volumeSize"])
	require.Equal(t, []any{"sg-0123456789abcdef0"}, lt.Inputs["vpcSecurityGroupIds"])
	require.NotEmpty(t, mockaws.List(lt.Inputs["tagSpecifications"]))
	for _, ts := range mockaws.List(lt.Inputs["tagSpecifications"]) {
		if mockaws.Object(ts)["resourceType"] == "instance" {
			tags := mockaws.Object(mockaws.Object(ts)["tags"])
			require.Equal(t, "owned", tags["kubernetes.io/cluster/prod"], "the cloud controller finds the cluster's instances")
			require.Equal(t, "general", tags[workers.PoolTag])
		}
	}
}

func TestSpotPoolMixesInstancesAboveAnOnDemandBase(t *testing.T) {
	pct := 0
	m, _ := run(t, args(cluster(), spec.NodePool{Name: "spot", MaxSize: 200, OnDemandBase: 2, OnDemandPercentageAboveBase: &pct,
		SpotAllocationStrategy: "capacity-optimized", InstanceTypes: []string{"m7i.2xlarge", "m6i.2xlarge", "m6a.2xlarge"}}))
	g := m.MustNamed(t, groupType, "prod-pool-spot")
	dist := mockaws.Object(mockaws.Object(g.Inputs["mixedInstancesPolicy"])["instancesDistribution"])
	require.EqualValues(t, 2, dist["onDemandBaseCapacity"])
	require.EqualValues(t, 0, dist["onDemandPercentageAboveBaseCapacity"])
	require.Equal(t, "capacity-optimized", dist["spotAllocationStrategy"])
	require.Equal(t, "prioritized", dist["onDemandAllocationStrategy"])
	require.Equal(t, true, g.Inputs["capacityRebalance"], "spot pools replace nodes at risk before they are interrupted")
}

func TestOnlyKinfraRollReplacesTheNodes(t *testing.T) {
	min := 75
	off := false
	m, _ := run(t, args(cluster(), spec.NodePool{Name: "general", MaxSize: 10, Autoscaler: &off,
		InstanceRefresh: spec.InstanceRefresh{MinHealthyPercentage: &min, MaxHealthyPercentage: 125, InstanceWarmupSeconds: 120}}))
	g := m.MustNamed(t, groupType, "prod-pool-general")
	require.NotContains(t, g.Inputs, "instanceRefresh", "pulumi up starts no instance refresh: kinfra roll replaces the nodes")
	require.Equal(t, []string{workers.RolledGroupSetting}, g.Options.IgnoreChanges, "the group launches the version the roll last moved it to")
	spec := mockaws.Object(mockaws.Object(mockaws.Object(g.Inputs["mixedInstancesPolicy"])["launchTemplate"])["launchTemplateSpecification"])
	require.Contains(t, spec, "version", "the ignored path names the group's launch template version")
	require.Equal(t, "mixedInstancesPolicy.launchTemplate.launchTemplateSpecification.version", workers.RolledGroupSetting)
	require.EqualValues(t, 120, g.Inputs["defaultInstanceWarmup"])
}

func TestTerminatingNodesWaitInTheDrainHook(t *testing.T) {
	m, _ := run(t, args(cluster(), spec.NodePool{Name: "general", MaxSize: 10, DrainTimeoutSeconds: 1200}))
	hook := m.MustNamed(t, "aws:autoscaling/lifecycleHook:LifecycleHook", "prod-pool-general-drain")
	g := m.MustNamed(t, groupType, "prod-pool-general")
	require.Equal(t, "autoscaling:EC2_INSTANCE_TERMINATING", hook.Inputs["lifecycleTransition"])
	require.EqualValues(t, 1200, hook.Inputs["heartbeatTimeout"])
	require.Equal(t, "CONTINUE", hook.Inputs["defaultResult"])
	require.Equal(t, g.ID, hook.Inputs["autoscalingGroupName"])
	require.Equal(t, "arn:aws:sqs:us-east-1:123456789012:prod-node-termination", hook.Inputs["notificationTargetArn"])
	require.Equal(t, "arn:aws:iam::123456789012:role/hooks", hook.Inputs["roleArn"])
	require.JSONEq(t, `{"cluster":"prod","nodePool":"general"}`, hook.Inputs["notificationMetadata"].(string))
	require.Equal(t, "true", groupTags(g)[workers.TerminationHandlerTag]["value"], "the termination handler drains this group's nodes")
	require.Equal(t, true, groupTags(g)[workers.TerminationHandlerTag]["propagateAtLaunch"], "the handler reads the tag from the instance")
}

func TestAutoscaledPoolsCarryTemplateTagsAndLeaveDesiredCapacityAlone(t *testing.T) {
	c := cluster()
	p := spec.NodePool{Name: "ingress", MinSize: 2, MaxSize: 30,
		Labels: map[string]string{"node.kubernetes.io/ingress": "true"},
		Taints: []spec.Taint{{Key: "dedicated", Value: "ingress", Effect: "NoSchedule"}}}
	m, pool := run(t, args(c, p))
	g := m.MustNamed(t, groupType, "prod-pool-ingress")
	require.Equal(t, append([]string{workers.RolledGroupSetting}, workers.AutoscaledSettings...), g.Options.IgnoreChanges)
	require.Equal(t, []string{"desiredCapacity"}, workers.AutoscaledSettings)
	tags := groupTags(g)
	for key, value := range map[string]string{
		"k8s.io/cluster-autoscaler/enabled":                                        "true",
		"k8s.io/cluster-autoscaler/prod":                                           "owned",
		"k8s.io/cluster-autoscaler/node-template/label/kinfra.dev/node-pool":       "ingress",
		"k8s.io/cluster-autoscaler/node-template/label/node.kubernetes.io/ingress": "true",
		"k8s.io/cluster-autoscaler/node-template/taint/dedicated":                  "ingress:NoSchedule",
	} {
		require.Equal(t, value, tags[key]["value"], key)
		require.Equal(t, false, tags[key]["propagateAtLaunch"], "%s stays on the group", key)
	}
	require.Equal(t, true, tags["kubernetes.io/cluster/prod"]["propagateAtLaunch"])
	require.Len(t, tags, c.WithDefaults().PoolGroupTags(pool.Spec), "spec's tag budget counts every tag the group gets")

	// Without the autoscaler, Pulumi owns the size and no discovery tag
	// invites an autoscaler in.
	off := false
	p.Autoscaler = &off
	p.DesiredSize = new(int)
	*p.DesiredSize = 5
	m, pool = run(t, args(c, p))
	g = m.MustNamed(t, groupType, "prod-pool-ingress")
	require.Equal(t, []string{workers.RolledGroupSetting}, g.Options.IgnoreChanges, "Pulumi owns the size")
	require.EqualValues(t, 5, g.Inputs["desiredCapacity"])
	tags = groupTags(g)
	require.NotContains(t, tags, "k8s.io/cluster-autoscaler/enabled")
	require.Len(t, tags, c.WithDefaults().PoolGroupTags(pool.Spec))
}

func TestNodeRoleJoinsAndPullsAndNothingMore(t *testing.T) {
	m, _ := run(t, args(cluster(), spec.NodePool{Name: "general", MaxSize: 10}))
	att := m.MustNamed(t, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "prod-pool-general-node-join")
	require.Equal(t, "arn:aws:iam::123456789012:policy/kinfra/prod/prod-masters-node-join", att.Inputs["policyArn"])
	doc := policy(t, m.MustNamed(t, "aws:iam/rolePolicy:RolePolicy", "prod-pool-general-node"))
	var sids []string
	for _, s := range doc.Statement {
		sids = append(sids, s.Sid)
		for _, a := range s.Action {
			require.NotContains(t, a, "*", "no wildcard actions")
		}
	}
	require.Equal(t, []string{"PullImagesToken", "PullImages", "MarkOwnInstanceUnhealthy"}, sids)
	require.Equal(t, map[string]any{"aws:ResourceTag/kinfra.dev/cluster": "prod", "aws:ResourceTag/kinfra.dev/node-pool": "general"},
		doc.Statement[2].Condition["StringEquals"], "a node may only mark instances of its own pool unhealthy")

	// Native routing: pods' interfaces, created in the cluster's VPC and
	// changed only while tagged as the cluster's.
	c := cluster()
	c.CNI = spec.CNI{Provider: spec.CNICilium, Tunnel: spec.TunnelNone}
	m, _ = run(t, args(c, spec.NodePool{Name: "general", MaxSize: 10, MaxPods: 50}))
	doc = policy(t, m.MustNamed(t, "aws:iam/rolePolicy:RolePolicy", "prod-pool-general-node"))
	require.Len(t, doc.Statement, 8)
	require.Equal(t, map[string]any{"ec2:Vpc": "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0123456789abcdef0"}, doc.Statement[4].Condition["StringEquals"])
}

func policy(t *testing.T, r mockaws.Resource) iampolicy.Document {
	t.Helper()
	var doc iampolicy.Document
	require.NoError(t, json.Unmarshal([]byte(r.Inputs["policy"].(string)), &doc))
	return doc
}

func TestUserDataJoinsWithoutSecrets(t *testing.T) {
	p := spec.NodePool{Name: "general", MaxSize: 10, MaxPods: 200, Labels: map[string]string{"example.com/team": "data"}}
	c := cluster()
	c.Kubernetes.NodeCidrMaskSize = 23
	m, _ := run(t, args(c, p))
	lt := m.MustNamed(t, ltType, "prod-pool-general")
	ud, err := bootstrap.DecodeUserData(lt.Inputs["userData"].(string))
	require.NoError(t, err)
	require.Contains(t, ud, "maxPods: 200")
	require.Contains(t, ud, "example.com/team=data,kinfra.dev/node-pool=general")
	require.Contains(t, ud, "sha256:"+strings.Repeat("0f", 32))
	require.Contains(t, ud, "token: '"+bootstrap.TokenPlaceholder+"'")
	require.NotRegexp(t, `[a-z0-9]{6}\.[a-z0-9]{16}`, ud, "no bootstrap token in user data")
}

func TestBadArgsRegisterNothing(t *testing.T) {
	a := args(cluster(), spec.NodePool{Name: "gpu", MaxSize: 4, InstanceTypes: []string{"m7g.large"}, Zones: []string{"us-east-1z"}})
	a.Network.SubnetIDs = a.Network.SubnetIDs[:2]
	a.Termination = workers.Termination{}
	a.Image = nil
	m := mockaws.New("us-east-1")
	err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		_, err := workers.New(ctx, "prod-pool-gpu", a)
		return err
	})
	require.Error(t, err)
	for _, want := range []string{
		`workers.Pool.zones[0]: "us-east-1z" is not one of the cluster's zones (us-east-1a, us-east-1b, us-east-1c)`,
		"workers.Pool.instanceTypes[0]: m7g.large is arm64, but the pipeline builds x86_64 images",
		"workers.Network.SubnetIDs: 2 subnets for 3 zones",
		"workers.Image: required (ID and RootDevice) when the pool uses the stack's pipeline image",
		"workers.Termination: QueueArn and RoleArn are required",
	} {
		require.ErrorContains(t, err, want)
	}
	require.Empty(t, m.Resources())
}

// A pool runs the nodes' version: its default image lookup names
// nodeVersion, and a pool stack cannot make its nodes newer than the control
// plane.
func TestPoolsFollowTheNodeVersion(t *testing.T) {
	c := cluster()
	c.Images.Enabled = pulumi.BoolRef(false)
	c.Kubernetes.Version, c.Kubernetes.NodeVersion = "v1.37.2", "v1.36.3"
	m, pool := run(t, args(c, spec.NodePool{Name: "general", MaxSize: 4}))
	require.Equal(t, "kinfra-node-k8s-v1.36.3-*", pool.Spec.Image.Name)
	require.Equal(t, []any{"kinfra-node-k8s-v1.36.3-*"}, amiFilter(m, "name"))

	c.Kubernetes.Version, c.Kubernetes.NodeVersion = "v1.36.3", "v1.37.2"
	m = mockaws.New("us-east-1")
	err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		_, err := workers.New(ctx, "prod-pool-general", args(c, spec.NodePool{Name: "general", MaxSize: 4}))
		return err
	})
	require.ErrorContains(t, err, "cluster.kubernetes.nodeVersion: v1.37.2 is newer than cluster.kubernetes.version v1.36.3; kubelets and kube-proxy must never be newer than the API servers")
	require.Empty(t, m.Resources())
}

// A library user's component name is held to the AWS limits of the names
// derived from it: at the node IAM role's boundary, one more character
// fails before anything is registered.
func TestComponentNamesFitTheirAWSNames(t *testing.T) {
	for _, n := range []int{51, 52} { // 52 + "-node" + 8 = 65 > 64
		name := strings.Repeat("g", n)
		m := mockaws.New("us-east-1")
		err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
			_, err := workers.New(ctx, name, args(cluster(), spec.NodePool{Name: "gpu", MaxSize: 4}))
			return err
		})
		if n == 51 {
			require.NoError(t, err)
			continue
		}
		require.ErrorContains(t, err, fmt.Sprintf("the IAM role would be named %q (Pulumi's autoname: the logical name, '-' and 7 random characters), 65 characters, and AWS allows 64; use a shorter component name", name+"-node-xxxxxxx"))
		require.Empty(t, m.Resources())
	}
}

func TestTerminationQueueReceivesHooksAndInterruptions(t *testing.T) {
	m := mockaws.New("us-east-1")
	err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		_, err := workers.NewTerminationQueue(ctx, "prod-termination", workers.TerminationQueueArgs{ClusterName: "prod", Region: "us-east-1"})
		return err
	})
	require.NoError(t, err)
	q := m.MustNamed(t, "aws:sqs/queue:Queue", "prod-termination")
	require.Equal(t, "prod-node-termination", q.Inputs["name"])
	require.Equal(t, true, q.Inputs["sqsManagedSseEnabled"])
	rules := m.ByType("aws:cloudwatch/eventRule:EventRule")
	targets := m.ByType("aws:cloudwatch/eventTarget:EventTarget")
	require.Len(t, rules, 4)
	require.Len(t, targets, 4)
	for _, tg := range targets {
		require.Equal(t, "arn:aws:sqs:us-east-1:123456789012:prod-node-termination", tg.Inputs["arn"])
	}
	doc := policy(t, m.MustNamed(t, "aws:iam/rolePolicy:RolePolicy", "prod-termination-hooks"))
	require.Equal(t, []string{"sqs:GetQueueUrl", "sqs:SendMessage"}, doc.Statement[0].Action)
	require.Equal(t, []string{"arn:aws:sqs:us-east-1:123456789012:prod-node-termination"}, doc.Statement[0].Resource)
}

func TestOnlyCalicoNodesMayTurnOffSourceDestCheckOnTheirOwnInterfaces(t *testing.T) {
	sids := func(doc iampolicy.Document) []string {
		var out []string
		for _, s := range doc.Statement {
			out = append(out, s.Sid)
		}
		return out
	}
	for _, cni := range []spec.CNI{{Provider: spec.CNICilium}, {Provider: spec.CNICilium, Tunnel: spec.TunnelNone}} {
		c := cluster()
		c.CNI = cni
		m, _ := run(t, args(c, spec.NodePool{Name: "general", MaxSize: 10, MaxPods: 50}))
		for _, sid := range sids(policy(t, m.MustNamed(t, "aws:iam/rolePolicy:RolePolicy", "prod-pool-general-node"))) {
			require.NotContains(t, sid, "Calico", "%s %s", cni.Provider, cni.Tunnel)
		}
	}

	c := cluster()
	c.CNI = spec.CNI{Provider: spec.CNICalico}
	m, _ := run(t, args(c, spec.NodePool{Name: "general", MaxSize: 10}))
	doc := policy(t, m.MustNamed(t, "aws:iam/rolePolicy:RolePolicy", "prod-pool-general-node"))
	require.Equal(t, []string{"PullImagesToken", "PullImages", "MarkOwnInstanceUnhealthy", "CalicoSourceDestCheckDescribe", "CalicoSourceDestCheckOwnInterfaces"}, sids(doc))
	describe, modify := doc.Statement[3], doc.Statement[4]
	require.Equal(t, []string{"ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces"}, describe.Action)
	require.Equal(t, []string{"*"}, describe.Resource, "Describe actions take no resource")
	require.Equal(t, []string{"ec2:ModifyNetworkInterfaceAttribute"}, modify.Action)
	require.Equal(t, []string{"arn:aws:ec2:us-east-1:123456789012:network-interface/*"}, modify.Resource)
	require.Equal(t, map[string]any{
		"aws:ResourceTag/kinfra.dev/cluster": "prod",
		"ec2:Vpc":                            "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0123456789abcdef0",
	}, modify.Condition["StringEquals"], "only the cluster's own interfaces, in its VPC")
	// The condition holds for the node's own interface: the launch template
	// tags it as the cluster's.
	requireInterfaceTagged(t, m.MustNamed(t, "aws:ec2/launchTemplate:LaunchTemplate", "prod-pool-general"))
}

func requireInterfaceTagged(t *testing.T, lt mockaws.Resource) {
	t.Helper()
	for _, ts := range mockaws.List(lt.Inputs["tagSpecifications"]) {
		if mockaws.Object(ts)["resourceType"] == "network-interface" {
			require.Equal(t, "prod", mockaws.Object(mockaws.Object(ts)["tags"])["kinfra.dev/cluster"])
			return
		}
	}
	t.Fatalf("%s tags no network interface", lt.Name)
}

// amiFilter is every value of the named filter in the plan's image lookups.
func amiFilter(m *mockaws.Mocks, name string) []any {
	var values []any
	for _, inv := range m.Invokes() {
		if inv.Token == "aws:ec2/getAmi:getAmi" {
			for _, f := range mockaws.List(inv.Args["filters"]) {
				if mockaws.Object(f)["name"] == name {
					values = append(values, mockaws.List(mockaws.Object(f)["values"])...)
				}
			}
		}
	}
	return values
}

// A pool with an image of its own looks up an image of its instance types'
// architecture, by name or by ID: an arm64 pool never gets an x86_64 AMI.
func TestAPoolsImageLookupFiltersOnItsArchitecture(t *testing.T) {
	for _, tc := range []struct {
		types []string
		image spec.Image
		want  string
	}{
		{[]string{"m7g.xlarge", "c7g.xlarge"}, spec.Image{Name: "my-node-*", Owners: []string{"self"}}, "arm64"},
		{[]string{"m7i.xlarge"}, spec.Image{Name: "my-node-*"}, "x86_64"},
		{[]string{"c8g.metal-24xl"}, spec.Image{ID: "ami-0123456789abcdef0"}, "arm64"},
		{nil, spec.Image{}, "x86_64"}, // the default type and the default lookup
	} {
		c := cluster()
		c.Images.Enabled = pulumi.BoolRef(false)
		m, _ := run(t, args(c, spec.NodePool{Name: "general", MaxSize: 4, InstanceTypes: tc.types, Image: tc.image}))
		require.Equal(t, []any{tc.want}, amiFilter(m, "architecture"), "%v", tc.types)
	}
}

// The pool's zones come from one list, the network's: the cluster spec's
// own zone list is not read, so a network that resolved other zones (or a
// spec that names none) cannot put nodes in the wrong subnet.
func TestPoolZonesComeFromTheNetworkNotTheClusterSpec(t *testing.T) {
	c := cluster()
	c.Network.AvailabilityZones = []string{"us-east-1d", "us-east-1e", "us-east-1f"}
	m, _ := run(t, args(c, spec.NodePool{Name: "general", MaxSize: 6, Zones: []string{"us-east-1b"}}))
	require.Equal(t, []any{"subnet-b"}, m.MustNamed(t, groupType, "prod-pool-general").Inputs["vpcZoneIdentifiers"])

	a := args(cluster(), spec.NodePool{Name: "general", MaxSize: 6})
	a.Network.Zones = nil
	m = mockaws.New("us-east-1")
	err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		_, err := workers.New(ctx, "prod-pool-general", a)
		return err
	})
	require.Empty(t, m.Resources())
	require.ErrorContains(t, err, "workers.Network.Zones: required; the zones of Network.SubnetIDs, in order")
}
