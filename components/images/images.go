// Package images bakes a cluster's master and node AMIs as the component
// resource kinfra:images:ImagePipeline: EC2 Image Builder components
// rendered from the cluster spec (kernel settings for the proxy mode,
// containerd, runc and the CNI plugins, kubelet/kubeadm/kubectl, the AWS
// CLI, and etcd on masters, at pinned versions checked against their
// releases' checksums), a recipe, distribution configuration and pipeline
// per role, one infrastructure configuration with a least-privilege build
// role and an egress-only security group, and a build of each image during
// `pulumi up` whose AMI ID the masters and node pools launch.
//
// Component documents and recipes are immutable in Image Builder: their
// names carry a hash of their content, so any change creates new ones
// (and a new build) instead of colliding with the old name and version.
// See docs/images.md.
package images

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/tags/tagset"
	"github.com/kinfra-dev/kinfra/spec"
)

// Roles: the images the pipeline bakes.
const (
	RoleMaster = "master"
	RoleNode   = "node"
)

// Tags on every AMI, besides the cluster's own tags, managed-by and
// kinfra.dev/cluster (the cluster that built it). Lookups in other stacks
// can filter on them.
const (
	TagRole              = tags.Role
	TagKubernetesVersion = tags.KubernetesVersion
	TagContainerd        = tags.Containerd
	TagRunc              = tags.Runc
	TagCNIPlugins        = tags.CNIPlugins
	TagEtcd              = tags.Etcd // masters only
)

// Build settings.
const (
	// RootVolumeGiB is the builders' (and so the AMI's) root volume; launch
	// templates may give instances a larger one.
	RootVolumeGiB = 30
	// TestTimeoutMinutes bounds the image tests (Image Builder's minimum).
	TestTimeoutMinutes = 60
	// BuildTimeout is how long `pulumi up` waits for a build, its tests
	// and its distribution to every region.
	BuildTimeout = "2h"
)

// Args shape an image pipeline.
type Args struct {
	// Cluster is the effective (defaulted) spec; its name, region, tags,
	// kubernetes.version (masters), kubernetes.nodeVersion (nodes),
	// kubeProxy.mode, cni and images are used.
	Cluster spec.Cluster
	// VpcID holds the builders' security group.
	VpcID pulumi.StringInput
	// SubnetID is a private subnet with egress (through NAT) where builds
	// run: they download from GitHub, dl.k8s.io and awscli.amazonaws.com.
	SubnetID pulumi.StringInput
	// Roles are the images to build; default both, master and node.
	Roles []string
}

// Built is one role's image built by this stack.
type Built struct {
	// ID is the AMI of this stack's build in the stack's region.
	ID pulumi.StringOutput
	// RootDevice is the parent OS's root device name.
	RootDevice string
	// Name is the AMI name pattern, kinfra-<role>-k8s-<version>-*.
	Name string
}

// ImagePipeline is the kinfra:images:ImagePipeline component.
type ImagePipeline struct {
	pulumi.ResourceState

	// Images are this stack's builds, by role.
	Images map[string]Built
	// PipelineArns are the pipelines, by role: run one to rebuild outside
	// `pulumi up` (its images are newer copies, found by name lookups).
	PipelineArns map[string]pulumi.StringOutput
}

// RootDevice is the root device name of a parent OS's AMIs, or "" for an
// unknown parent.
func RootDevice(parent string) string {
	switch parent {
	case spec.ParentUbuntu2404:
		return "/dev/sda1"
	case spec.ParentAL2023:
		return "/dev/xvda"
	}
	return ""
}

// roleVersion is the Kubernetes version a role's image installs, and the
// field it comes from: nodes run cluster.kubernetes.nodeVersion, so that
// they can stay on the old version while the masters are upgraded; masters
// (and anything else) the control plane's.
func roleVersion(c spec.Cluster, role string) (path, version string) {
	if role == RoleNode {
		return "cluster.kubernetes.nodeVersion", c.Kubernetes.NodeVersion
	}
	return "cluster.kubernetes.version", c.Kubernetes.Version
}

// AMIName is the name Image Builder gives a role's AMIs; buildDate makes
// each build's name unique.
func AMIName(role, version string) string {
	return "kinfra-" + role + "-k8s-" + version + "-{{ imagebuilder:buildDate }}"
}

// namePattern is the lookup pattern matching AMIName's images.
func namePattern(role, version string) string { return "kinfra-" + role + "-k8s-" + version + "-*" }

// New validates args, then registers the pipeline. Invalid args fail before
// anything is registered, with every problem listed.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*ImagePipeline, error) {
	roles := args.Roles
	if len(roles) == 0 {
		roles = []string{RoleMaster, RoleNode}
	}
	problems := args.check(roles)
	docs := map[string][]Component{}
	if len(problems) == 0 {
		for _, role := range roles {
			d, err := Components(args.Cluster, role)
			if err != nil {
				problems = append(problems, err.Error())
				break
			}
			docs[role] = d
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("images %s: invalid arguments:\n  %s", name, strings.Join(problems, "\n  "))
	}
	c := args.Cluster
	out := &ImagePipeline{Images: map[string]Built{}, PipelineArns: map[string]pulumi.StringOutput{}}
	if err := ctx.RegisterComponentResource("kinfra:images:ImagePipeline", name, out, opts...); err != nil {
		return nil, err
	}
	b := &builder{
		ctx: ctx, name: name, c: c, args: args, roles: roles, docs: docs, out: out,
		parent: pulumi.Parent(out),
		tags:   tagset.Set{ClusterName: c.Name, Region: c.Region, Component: "images", Extra: c.Tags},
	}
	if err := b.build(); err != nil {
		return nil, fmt.Errorf("images %s: %w", name, err)
	}
	arns, ids := pulumi.StringMap{}, pulumi.StringMap{}
	for role, arn := range out.PipelineArns {
		arns[role] = arn
	}
	for role, img := range out.Images {
		ids[role] = img.ID
	}
	if err := ctx.RegisterResourceOutputs(out, pulumi.Map{
		"pipelineArns": arns,
		"imageIds":     ids,
	}); err != nil {
		return nil, err
	}
	return out, nil
}

var (
	vpcID    = regexp.MustCompile(`^vpc-[0-9a-f]{8}([0-9a-f]{9})?$`)
	subnetID = regexp.MustCompile(`^subnet-[0-9a-f]{8}([0-9a-f]{9})?$`)
)

func (a Args) check(roles []string) []string {
	var problems []string
	if !a.Cluster.Images.On() {
		problems = append(problems, "cluster.images.enabled: false; this stack builds no images, so it must not create the images component (use images.enabled: true, or select AMIs with masters.image and nodePools[].image)")
	}
	if errs := a.Cluster.ValidateImages(); len(errs) > 0 {
		problems = append(problems, errs.Messages()...)
	}
	problems = append(problems, checkID("images.VpcID", a.VpcID, vpcID, "a VPC ID (vpc-…)")...)
	problems = append(problems, checkID("images.SubnetID", a.SubnetID, subnetID, "a subnet ID (subnet-…)")...)
	seen := map[string]bool{}
	for i, r := range roles {
		switch {
		case r != RoleMaster && r != RoleNode:
			problems = append(problems, fmt.Sprintf("images.Roles[%d]: %q is not %s or %s", i, r, RoleMaster, RoleNode))
		case seen[r]:
			problems = append(problems, fmt.Sprintf("images.Roles[%d]: %s is listed twice", i, r))
		}
		seen[r] = true
	}
	return problems
}

// checkID checks an ID input: required, and shaped like an AWS ID when it
// is a plain string (an output is only known at deployment).
func checkID(path string, in pulumi.StringInput, pattern *regexp.Regexp, what string) []string {
	if in == nil {
		return []string{path + ": required"}
	}
	if s, ok := in.(pulumi.String); ok && !pattern.MatchString(string(s)) {
		return []string{fmt.Sprintf("%s: %q is not %s", path, string(s), what)}
	}
	return nil
}

// hash8 is the first 8 hex digits of data's SHA-256: content-addressed
// names for immutable Image Builder resources.
func hash8(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])[:8]
}
