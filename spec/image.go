package spec

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Image selects an AMI: an explicit ID, or the most recent image matching a
// lookup.
type Image struct {
	// Pipeline uses the image this stack's images pipeline builds for the
	// role. Default true when images are enabled and none of id, owners,
	// name and tags is given.
	Pipeline bool `json:"pipeline,omitempty"`
	// ID is an AMI in the stack's region, ami-… Overrides the lookup.
	ID string `json:"id,omitempty"`
	// Owners of the images the lookup considers. Default: only
	// [DefaultImageOwner].
	Owners []string `json:"owners,omitempty"`
	// Name is the lookup's name pattern (* wildcards). Default
	// kinfra-<role>-k8s-<version>-* (what the images pipeline names them).
	Name string `json:"name,omitempty"`
	// Tags the image must carry. Optional.
	Tags map[string]string `json:"tags,omitempty"`
}

// DefaultImageOwner is the owner a lookup considers when it names none:
// this account, where the images pipeline builds.
const DefaultImageOwner = "self"

// resolve is i's effective selection: the pipeline's build when the stack
// builds images and i selects nothing itself, else i with its lookup
// defaults.
func (i Image) resolve(role, version string, pipeline bool) Image {
	if pipeline && i.ID == "" && len(i.Owners) == 0 && i.Name == "" && len(i.Tags) == 0 {
		i.Pipeline = true
	}
	if i.Pipeline {
		return i
	}
	return i.WithDefaults(role, version)
}

// WithDefaults returns i with its lookup defaults applied, unless it names an
// explicit AMI.
func (i Image) WithDefaults(role, version string) Image {
	i.Owners = slices.Clone(i.Owners)
	i.Tags = cloneMap(i.Tags)
	if i.ID != "" {
		return i
	}
	if len(i.Owners) == 0 {
		i.Owners = []string{DefaultImageOwner}
	}
	if i.Name == "" {
		i.Name = "kinfra-" + role + "-k8s-" + version + "-*"
	}
	return i
}

var amiID = regexp.MustCompile(`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`)

var imageOwner = regexp.MustCompile(`^(self|amazon|aws-marketplace|aws-backup-vault|[0-9]{12})$`)

func (i Image) check(path string, pipeline bool) validate.Errors {
	var errs validate.Errors
	if i.Pipeline {
		if !pipeline {
			errs.Addf(path+".pipeline", "true, but this stack builds no images (cluster.images.enabled is false); give an id or a lookup")
		}
		if i.ID != "" || len(i.Owners) > 0 || i.Name != "" || len(i.Tags) > 0 {
			errs.Addf(path, "pipeline and an id or lookup are both set; give one")
		}
		return errs
	}
	if i.ID != "" {
		if !amiID.MatchString(i.ID) {
			errs.Addf(path+".id", "%q is not an AMI ID (ami- and 8 or 17 hex digits)", i.ID)
		}
		if len(i.Owners) > 0 || i.Name != "" || len(i.Tags) > 0 {
			errs.Addf(path, "id and a lookup (owners, name, tags) are both set; give one: the ID wins silently otherwise")
		}
		return errs
	}
	for j, o := range i.Owners {
		if !imageOwner.MatchString(o) {
			errs.Addf(fmt.Sprintf("%s.owners[%d]", path, j), "%q is not an image owner; use self, amazon, aws-marketplace or a 12-digit account ID", o)
		}
	}
	if strings.TrimSpace(i.Name) == "" {
		errs.Addf(path+".name", "required for a lookup; a name pattern such as kinfra-master-k8s-v1.37.2-*")
	}
	return errs
}
