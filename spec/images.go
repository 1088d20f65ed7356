package spec

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Image parents the images pipeline can build on.
const (
	ParentUbuntu2404 = "ubuntu-24.04"
	ParentAL2023     = "al2023"
)

// Images is the EC2 Image Builder pipeline that bakes the master and node
// AMIs. See docs/images.md.
type Images struct {
	// Enabled builds the AMIs in this stack: a pipeline, and a build of each
	// role's image during `pulumi up`, which masters and node pools without
	// an image of their own then use. Default true. Turn it off in stacks
	// that use images built elsewhere (a shared pipeline's copies).
	Enabled *bool `json:"enabled,omitempty"`
	// Parent is the base OS: ubuntu-24.04 or al2023. Default
	// [ParentUbuntu2404].
	Parent string `json:"parent,omitempty"`
	// Architecture of the images: x86_64 or arm64. Default [ArchX86]. Masters
	// and node pools using the built image must use instance types of this
	// architecture, and default to one.
	Architecture string `json:"architecture,omitempty"`
	// BuildInstanceTypes run the builds. Default: only [DefaultBuildType]
	// (x86_64) or [DefaultBuildTypeARM] (arm64).
	BuildInstanceTypes []string `json:"buildInstanceTypes,omitempty"`
	// Versions of what the images install. Defaults are pinned here
	// ([DefaultContainerd], [DefaultRunc], [DefaultCNIPlugins], [DefaultEtcd]).
	Versions ImageVersions `json:"versions"`
	// Schedule rebuilds the images (e.g. for OS security updates): an Image
	// Builder cron expression such as "cron(0 4 ? * sun *)". Default: no
	// schedule; images are built when their recipe changes.
	Schedule string `json:"schedule,omitempty"`
	// DistributeTo are other regions that receive a copy of every image, for
	// stacks that share this pipeline. Default none.
	DistributeTo []string `json:"distributeTo,omitempty"`
	// ShareWith are AWS account IDs allowed to launch the images. Default
	// none.
	ShareWith []string `json:"shareWith,omitempty"`
}

// ImageVersions pins what the images install. Kubernetes comes from
// kubernetes.version.
type ImageVersions struct {
	Containerd string `json:"containerd,omitempty"`
	Runc       string `json:"runc,omitempty"`
	CNIPlugins string `json:"cniPlugins,omitempty"`
	Etcd       string `json:"etcd,omitempty"`
}

// Images defaults (enabled: true).
const (
	DefaultBuildType    = "m7i.large"
	DefaultBuildTypeARM = "m7g.large"
	DefaultContainerd   = "2.4.2"
	DefaultRunc         = "1.5.2"
	DefaultCNIPlugins   = "1.9.1"
	DefaultEtcd         = "3.7.3"
)

// WithDefaults returns i with its defaults applied.
func (i Images) WithDefaults() Images {
	i.Enabled = boolOr(i.Enabled, true)
	if i.Parent == "" {
		i.Parent = ParentUbuntu2404
	}
	if i.Architecture == "" {
		i.Architecture = ArchX86
	}
	i.BuildInstanceTypes = slices.Clone(i.BuildInstanceTypes)
	if len(i.BuildInstanceTypes) == 0 {
		if i.Architecture == ArchARM {
			i.BuildInstanceTypes = []string{DefaultBuildTypeARM}
		} else {
			i.BuildInstanceTypes = []string{DefaultBuildType}
		}
	}
	v := &i.Versions
	for _, d := range []struct {
		field *string
		value string
	}{
		{&v.Containerd, DefaultContainerd}, {&v.Runc, DefaultRunc},
		{&v.CNIPlugins, DefaultCNIPlugins}, {&v.Etcd, DefaultEtcd},
	} {
		if *d.field == "" {
			*d.field = d.value
		}
	}
	i.DistributeTo = slices.Clone(i.DistributeTo)
	i.ShareWith = slices.Clone(i.ShareWith)
	return i
}

// On reports whether this stack builds the images.
func (i Images) On() bool { return i.Enabled == nil || *i.Enabled }

// defaultType is the instance type a role gets when it names none: of the
// pipeline's architecture when it boots the pipeline's image, else x86_64.
func (i Images) defaultType(img Image, x86, arm string) string {
	if img.Pipeline && i.Architecture == ArchARM {
		return arm
	}
	return x86
}

var accountID = regexp.MustCompile(`^[0-9]{12}$`)

var imageCron = regexp.MustCompile(`^cron\([^()]+\)$`)

var versionPin = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

func (c Cluster) validateImages() validate.Errors {
	var errs validate.Errors
	i := c.Images
	if !i.On() {
		return errs
	}
	const path = "cluster.images"
	if !slices.Contains([]string{ParentUbuntu2404, ParentAL2023}, i.Parent) {
		errs.Addf(path+".parent", "%q is not allowed; use ubuntu-24.04 or al2023", i.Parent)
	}
	if !i.archValid() {
		errs.Addf(path+".architecture", "%q is not allowed; use x86_64 or arm64", i.Architecture)
	}
	for j, t := range i.BuildInstanceTypes {
		tp := fmt.Sprintf("%s.buildInstanceTypes[%d]", path, j)
		if a, ok := checkInstanceType(&errs, tp, t); ok && i.archValid() && a != i.Architecture {
			errs.Addf(tp, "%s is %s; builds of %s images need %s instances", t, a, i.Architecture, i.Architecture)
		}
	}
	for name, v := range map[string]string{"containerd": i.Versions.Containerd, "runc": i.Versions.Runc, "cniPlugins": i.Versions.CNIPlugins, "etcd": i.Versions.Etcd} {
		if !versionPin.MatchString(v) {
			errs.Addf(path+".versions."+name, "%q is not a release version; use MAJOR.MINOR.PATCH without a leading v", v)
		}
	}
	if major, _, _ := strings.Cut(i.Versions.Containerd, "."); versionPin.MatchString(i.Versions.Containerd) && major != "2" {
		errs.Addf(path+".versions.containerd", "%s is not supported; the images configure containerd 2.x", i.Versions.Containerd)
	}
	if i.Schedule != "" && !imageCron.MatchString(i.Schedule) {
		errs.Addf(path+".schedule", "%q is not an Image Builder schedule; use a cron expression such as cron(0 4 ? * sun *)", i.Schedule)
	}
	seen := map[string]bool{c.Region: true}
	stack, stackKnown := lookupRegion(c.Region)
	for j, r := range i.DistributeTo {
		rp := fmt.Sprintf("%s.distributeTo[%d]", path, j)
		switch {
		case !checkDistribution(&errs, rp, r, stack, stackKnown):
		case seen[r]:
			errs.Addf(rp, "%s is this stack's region or listed twice", r)
		}
		seen[r] = true
	}
	for j, a := range i.ShareWith {
		if !accountID.MatchString(a) {
			errs.Addf(fmt.Sprintf("%s.shareWith[%d]", path, j), "%q is not an AWS account ID (12 digits)", a)
		}
	}
	return errs
}

// archValid reports whether the images' architecture is one kinfra builds;
// checks that compare with it wait until it is.
func (i Images) archValid() bool { return i.Architecture == ArchX86 || i.Architecture == ArchARM }
