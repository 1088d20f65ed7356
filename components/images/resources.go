package images

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/imagebuilder"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/after"
	"github.com/kinfra-dev/kinfra/internal/awsaccount"
	"github.com/kinfra-dev/kinfra/internal/iampolicy"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/tags/tagset"
	"github.com/kinfra-dev/kinfra/spec"
)

// ManagedPolicies are the only policies the build instances' role holds:
// what Image Builder's own documentation requires (running AWSTOE and
// reporting to Image Builder, and the SSM agent it drives the build with).
// Downloads come from public HTTPS endpoints and need no permission.
var ManagedPolicies = []string{"EC2InstanceProfileForImageBuilder", "AmazonSSMManagedInstanceCore"}

// attachmentSuffix names each policy's attachment resource.
var attachmentSuffix = map[string]string{
	"EC2InstanceProfileForImageBuilder": "imagebuilder",
	"AmazonSSMManagedInstanceCore":      "ssm",
}

// Component version: content hashes in the names make every change a new
// component or recipe, so the version never needs to move.
const semanticVersion = "1.0.0"

// builder carries what every part of one pipeline needs.
type builder struct {
	ctx    *pulumi.Context
	name   string
	c      spec.Cluster
	args   Args
	roles  []string
	docs   map[string][]Component
	out    *ImagePipeline
	tags   tagset.Set
	parent pulumi.ResourceOption

	partition  string
	profile    pulumi.StringOutput
	sg         pulumi.StringOutput
	ready      []pulumi.CustomResource // what a build needs in place: role policies, egress rules
	components map[string]*imagebuilder.Component
	compNames  map[string]string // AWS names, by short name
	infraArn   pulumi.StringOutput
}

func (b *builder) build() error {
	id, err := awsaccount.Lookup(b.ctx, b.out)
	if err != nil {
		return err
	}
	b.partition = id.Partition
	for _, step := range []func() error{b.iam, b.securityGroup, b.componentResources, b.infrastructure} {
		if err := step(); err != nil {
			return err
		}
	}
	for _, role := range b.roles {
		if err := b.role(role); err != nil {
			return fmt.Errorf("%s image: %w", role, err)
		}
	}
	return nil
}

// awsName is an Image Builder resource name: kinfra-<cluster>-<suffix>.
func (b *builder) awsName(suffix string) string { return "kinfra-" + b.c.Name + "-" + suffix }

// iam creates the build instances' role, with only the AWS-managed
// policies Image Builder requires, and its instance profile.
func (b *builder) iam() error {
	name := b.name + "-builder"
	trust, err := iampolicy.New(iampolicy.AssumeRole("ec2.amazonaws.com")).JSON()
	if err != nil {
		return err
	}
	path := "/kinfra/" + b.c.Name + "/"
	role, err := iam.NewRole(b.ctx, name, &iam.RoleArgs{
		Description:      pulumi.String("kinfra " + b.c.Name + ": EC2 Image Builder build and test instances"),
		Path:             pulumi.String(path),
		AssumeRolePolicy: pulumi.String(trust),
		Tags:             b.tags.For(name),
	}, b.parent)
	if err != nil {
		return err
	}
	for _, p := range ManagedPolicies {
		att, err := iam.NewRolePolicyAttachment(b.ctx, name+"-"+attachmentSuffix[p], &iam.RolePolicyAttachmentArgs{
			Role:      role.Name,
			PolicyArn: pulumi.String(fmt.Sprintf("arn:%s:iam::aws:policy/%s", b.partition, p)),
		}, b.parent)
		if err != nil {
			return err
		}
		b.ready = append(b.ready, att)
	}
	profile, err := iam.NewInstanceProfile(b.ctx, name, &iam.InstanceProfileArgs{
		Path: pulumi.String(path),
		Role: role.Name,
		Tags: b.tags.For(name),
	}, b.parent)
	if err != nil {
		return err
	}
	// An instance profile's ID is its (auto-generated) name.
	b.profile = profile.ID().ToStringOutput()
	return nil
}

// securityGroup admits nothing and lets builders reach HTTPS (release
// downloads, AWS APIs, the SSM agent) and HTTP (distribution mirrors).
func (b *builder) securityGroup() error {
	name := b.name + "-builder"
	sg, err := ec2.NewSecurityGroup(b.ctx, name, &ec2.SecurityGroupArgs{
		Description: pulumi.String("kinfra " + b.c.Name + ": EC2 Image Builder instances, egress to HTTP and HTTPS only"),
		VpcId:       b.args.VpcID,
		Tags:        b.tags.For(name),
	}, b.parent)
	if err != nil {
		return err
	}
	b.sg = sg.ID().ToStringOutput()
	for _, r := range []struct {
		suffix string
		port   int
		why    string
	}{
		{"https", 443, "HTTPS to release downloads, AWS APIs and the SSM agent endpoints"},
		{"http", 80, "HTTP to the distribution package mirrors"},
	} {
		rn := name + "-egress-" + r.suffix
		rule, err := vpc.NewSecurityGroupEgressRule(b.ctx, rn, &vpc.SecurityGroupEgressRuleArgs{
			SecurityGroupId: b.sg,
			CidrIpv4:        pulumi.String("0.0.0.0/0"),
			IpProtocol:      pulumi.String("tcp"),
			FromPort:        pulumi.Int(r.port),
			ToPort:          pulumi.Int(r.port),
			Description:     pulumi.String(r.why),
			Tags:            b.tags.For(rn),
		}, b.parent)
		if err != nil {
			return err
		}
		b.ready = append(b.ready, rule)
	}
	return nil
}

// supportedOS is the Image Builder OS version a parent's components run on.
func supportedOS(parent string) string {
	if parent == spec.ParentAL2023 {
		return "Amazon Linux 2023"
	}
	return "Ubuntu 24"
}

// componentKey names a role's component document, its resource and its AWS
// name. The roles share every document but etcd (masters only) and
// kubernetes: each role installs the binaries of its own version, and has
// its own document even while the versions are equal, so that each step of
// an upgrade (version, then nodeVersion) rebuilds only the role it moves.
// The nodes' keeps the name both roles shared before.
func componentKey(role, name string) string {
	if name == "kubernetes" && role == RoleMaster {
		return name + "-" + role
	}
	return name
}

// componentResources creates each distinct component document once, named
// by its content hash.
func (b *builder) componentResources() error {
	b.components, b.compNames = map[string]*imagebuilder.Component{}, map[string]string{}
	data := map[string]string{}
	for _, role := range b.roles {
		for _, d := range b.docs[role] {
			key := componentKey(role, d.Name)
			if prev, ok := data[key]; ok {
				if prev != d.Data {
					return fmt.Errorf("component %s differs between roles", d.Name)
				}
				continue
			}
			data[key] = d.Data
			name := b.name + "-" + key
			awsName := b.awsName(key + "-" + hash8(d.Data))
			comp, err := imagebuilder.NewComponent(b.ctx, name, &imagebuilder.ComponentArgs{
				Name:                pulumi.String(awsName),
				Description:         pulumi.String(d.Description),
				Platform:            pulumi.String("Linux"),
				SupportedOsVersions: pulumi.StringArray{pulumi.String(supportedOS(b.c.Images.Parent))},
				Version:             pulumi.String(semanticVersion),
				Data:                pulumi.String(d.Data),
				Tags:                b.tags.For(name),
			}, b.parent)
			if err != nil {
				return err
			}
			b.components[key], b.compNames[key] = comp, awsName
		}
	}
	return nil
}

// infrastructure is where builds and tests run: the private subnet, the
// builders' group and profile, IMDSv2 only, and no instance left behind
// when a build fails.
func (b *builder) infrastructure() error {
	name := b.name + "-builder"
	infra, err := imagebuilder.NewInfrastructureConfiguration(b.ctx, name, &imagebuilder.InfrastructureConfigurationArgs{
		Name:                       pulumi.String(b.awsName("builder")),
		Description:                pulumi.String("kinfra " + b.c.Name + ": build and test instances"),
		InstanceProfileName:        b.profile,
		InstanceTypes:              pulumi.ToStringArray(b.c.Images.BuildInstanceTypes),
		SubnetId:                   b.args.SubnetID,
		SecurityGroupIds:           pulumi.StringArray{b.sg},
		TerminateInstanceOnFailure: pulumi.Bool(true),
		// Hop limit 1: AMI builds run nothing in containers that would
		// need a second hop to the metadata service.
		InstanceMetadataOptions: &imagebuilder.InfrastructureConfigurationInstanceMetadataOptionsArgs{
			HttpTokens:              pulumi.String("required"),
			HttpPutResponseHopLimit: pulumi.Int(1),
		},
		ResourceTags: b.tags.For(name),
		Tags:         b.tags.For(name),
	}, b.parent, after.All(b.ready...))
	if err != nil {
		return err
	}
	b.infraArn = infra.Arn
	return nil
}

// parentImage is the parent AMI as Image Builder's SSM parameter syntax:
// the current image of the distribution's public parameter, resolved at
// every build.
func parentImage(parent, architecture string) string {
	if parent == spec.ParentAL2023 {
		return "ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-" + architecture
	}
	return "ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/" + arches[architecture].release + "/hvm/ebs-gp3/ami-id"
}

// amiTags label every AMI: the cluster's tags, what built it and the
// pinned versions. At most 40 cluster tags + 8 here + Image Builder's 2
// (CreatedBy, Ec2ImageBuilderArn) = 50, EC2's limit.
func (b *builder) amiTags(role string) pulumi.StringMap {
	out := pulumi.StringMap{}
	for k, v := range b.c.Tags {
		out[k] = pulumi.String(v)
	}
	v := b.c.Images.Versions
	_, version := roleVersion(b.c, role)
	for k, val := range map[string]string{
		tags.ManagedBy:       "kinfra",
		tags.Cluster:         b.c.Name,
		TagRole:              role,
		TagKubernetesVersion: version,
		TagContainerd:        v.Containerd,
		TagRunc:              v.Runc,
		TagCNIPlugins:        v.CNIPlugins,
	} {
		out[k] = pulumi.String(val)
	}
	if role == RoleMaster {
		out[TagEtcd] = pulumi.String(v.Etcd)
	}
	return out
}

// role creates one role's recipe, distribution configuration, pipeline and
// build.
func (b *builder) role(role string) error {
	c, i := b.c, b.c.Images
	_, version := roleVersion(c, role)
	name := b.name + "-" + role
	root := RootDevice(i.Parent)
	parent := parentImage(i.Parent, i.Architecture)
	updateLinux := fmt.Sprintf("arn:%s:imagebuilder:%s:aws:component/update-linux/x.x.x", b.partition, c.Region)

	// The recipe's name hashes everything that defines it (add any new
	// recipe setting here): the component names carry their own content
	// hashes.
	identity := []string{parent, updateLinux, root, fmt.Sprint(RootVolumeGiB), "gp3", "encrypted", "/tmp", "uninstall-ssm-agent"}
	components := imagebuilder.ImageRecipeComponentArray{
		&imagebuilder.ImageRecipeComponentArgs{ComponentArn: pulumi.String(updateLinux)},
	}
	for _, d := range b.docs[role] {
		key := componentKey(role, d.Name)
		components = append(components, &imagebuilder.ImageRecipeComponentArgs{ComponentArn: b.components[key].Arn})
		identity = append(identity, b.compNames[key])
	}
	recipe, err := imagebuilder.NewImageRecipe(b.ctx, name, &imagebuilder.ImageRecipeArgs{
		Name:        pulumi.String(b.awsName(role + "-" + hash8(identity...))),
		Description: pulumi.String(fmt.Sprintf("kinfra %s: %s image, Kubernetes %s on %s %s", c.Name, role, version, i.Parent, i.Architecture)),
		Version:     pulumi.String(semanticVersion),
		ParentImage: pulumi.String(parent),
		Components:  components,
		BlockDeviceMappings: imagebuilder.ImageRecipeBlockDeviceMappingArray{
			&imagebuilder.ImageRecipeBlockDeviceMappingArgs{
				DeviceName: pulumi.String(root),
				Ebs: &imagebuilder.ImageRecipeBlockDeviceMappingEbsArgs{
					VolumeSize:          pulumi.Int(RootVolumeGiB),
					VolumeType:          pulumi.String("gp3"),
					Encrypted:           pulumi.String("true"),
					DeleteOnTermination: pulumi.String("true"),
				},
			},
		},
		SystemsManagerAgent: &imagebuilder.ImageRecipeSystemsManagerAgentArgs{UninstallAfterBuild: pulumi.Bool(true)},
		WorkingDirectory:    pulumi.String("/tmp"),
		Tags:                b.tags.For(name),
	}, b.parent)
	if err != nil {
		return err
	}

	pins := fmt.Sprintf("containerd %s, runc %s, CNI plugins %s", i.Versions.Containerd, i.Versions.Runc, i.Versions.CNIPlugins)
	if role == RoleMaster {
		pins += ", etcd " + i.Versions.Etcd
	}
	var dists imagebuilder.DistributionConfigurationDistributionArray
	for _, region := range append([]string{c.Region}, i.DistributeTo...) {
		ami := &imagebuilder.DistributionConfigurationDistributionAmiDistributionConfigurationArgs{
			Name:        pulumi.String(AMIName(role, version)),
			Description: pulumi.String(fmt.Sprintf("kinfra %s image: Kubernetes %s, %s on %s %s", role, version, pins, i.Parent, i.Architecture)),
			AmiTags:     b.amiTags(role),
		}
		if len(i.ShareWith) > 0 {
			ami.LaunchPermission = &imagebuilder.DistributionConfigurationDistributionAmiDistributionConfigurationLaunchPermissionArgs{
				UserIds: pulumi.ToStringArray(i.ShareWith),
			}
		}
		dists = append(dists, &imagebuilder.DistributionConfigurationDistributionArgs{
			Region:                       pulumi.String(region),
			AmiDistributionConfiguration: ami,
		})
	}
	dist, err := imagebuilder.NewDistributionConfiguration(b.ctx, name, &imagebuilder.DistributionConfigurationArgs{
		Name:          pulumi.String(b.awsName(role)),
		Description:   pulumi.String(fmt.Sprintf("kinfra %s: %s images to %s", c.Name, role, strings.Join(append([]string{c.Region}, i.DistributeTo...), ", "))),
		Distributions: dists,
		Tags:          b.tags.For(name),
	}, b.parent)
	if err != nil {
		return err
	}

	pipeArgs := &imagebuilder.ImagePipelineArgs{
		Name:                           pulumi.String(b.awsName(role)),
		Description:                    pulumi.String(fmt.Sprintf("kinfra %s: %s image", c.Name, role)),
		ImageRecipeArn:                 recipe.Arn,
		InfrastructureConfigurationArn: b.infraArn,
		DistributionConfigurationArn:   dist.Arn,
		Status:                         pulumi.String("ENABLED"),
		ImageTestsConfiguration: &imagebuilder.ImagePipelineImageTestsConfigurationArgs{
			ImageTestsEnabled: pulumi.Bool(true),
			TimeoutMinutes:    pulumi.Int(TestTimeoutMinutes),
		},
		Tags: b.tags.For(name),
	}
	if i.Schedule != "" {
		pipeArgs.Schedule = &imagebuilder.ImagePipelineScheduleArgs{
			ScheduleExpression:              pulumi.String(i.Schedule),
			PipelineExecutionStartCondition: pulumi.String("EXPRESSION_MATCH_AND_DEPENDENCY_UPDATES_AVAILABLE"),
		}
	}
	pipe, err := imagebuilder.NewImagePipeline(b.ctx, name, pipeArgs, b.parent)
	if err != nil {
		return err
	}

	// The stack's own build: created (and replaced, building anew) with the
	// recipe, so a changed recipe yields a new AMI in the same `pulumi up`.
	img, err := imagebuilder.NewImage(b.ctx, name, &imagebuilder.ImageArgs{
		ImageRecipeArn:                 recipe.Arn,
		InfrastructureConfigurationArn: b.infraArn,
		DistributionConfigurationArn:   dist.Arn,
		ImageTestsConfiguration: &imagebuilder.ImageImageTestsConfigurationArgs{
			ImageTestsEnabled: pulumi.Bool(true),
			TimeoutMinutes:    pulumi.Int(TestTimeoutMinutes),
		},
		Tags: b.tags.For(name),
	}, b.parent, pulumi.Timeouts(&pulumi.CustomTimeouts{Create: BuildTimeout}))
	if err != nil {
		return err
	}
	region := c.Region
	id := img.OutputResources.ApplyT(func(rs []imagebuilder.ImageOutputResource) (string, error) {
		for _, r := range rs {
			for _, a := range r.Amis {
				if a.Image != nil && a.Region != nil && *a.Region == region {
					return *a.Image, nil
				}
			}
		}
		return "", fmt.Errorf("the %s image build has no AMI in %s", role, region)
	}).(pulumi.StringOutput)
	b.out.Images[role] = Built{ID: id, RootDevice: root, Name: namePattern(role, version)}
	b.out.PipelineArns[role] = pipe.Arn
	return nil
}
