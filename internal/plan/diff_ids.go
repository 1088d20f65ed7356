package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// imageBuilderKinds are the kinds in Image Builder ARNs, which carry the
// resource's name rather than its ID.
var imageBuilderKinds = map[string]string{
	"aws:imagebuilder/component:Component":                                     "component",
	"aws:imagebuilder/imageRecipe:ImageRecipe":                                 "image-recipe",
	"aws:imagebuilder/infrastructureConfiguration:InfrastructureConfiguration": "infrastructure-configuration",
	"aws:imagebuilder/distributionConfiguration:DistributionConfiguration":     "distribution-configuration",
	"aws:imagebuilder/imagePipeline:ImagePipeline":                             "image-pipeline",
	"aws:imagebuilder/image:Image":                                             "image",
}

// resourceNeedles are strings that occur in the offline ID of a resource
// and in what the mock monitor computes from it, and so in every input that
// holds its ID, ARN or output: the mock derives an ID from the type and name
// (a type prefix and 17 hex digits of their SHA-256, or the name, "-" and 8
// of them) or takes the import ID; an Image Builder ARN carries the
// lower-cased name, and an image's AMI 17 hex digits of its name's SHA-256.
func resourceNeedles(r mockaws.Resource) []string {
	if r.Options.Import != "" {
		return []string{r.Options.Import}
	}
	sum := sha256.Sum256([]byte(r.Type + "\x00" + r.Name))
	h := hex.EncodeToString(sum[:])
	out := []string{h[:17], r.Name + "-" + h[:8]}
	if kind, ok := imageBuilderKinds[r.Type]; ok {
		name, _ := r.Inputs["name"].(string)
		if name == "" {
			name = r.Name + "-" + h[:8]
		}
		out = append(out, ":"+kind+"/"+strings.ToLower(name))
		if kind == "image" {
			ami := sha256.Sum256([]byte(r.Name))
			out = append(out, "ami-"+hex.EncodeToString(ami[:])[:17])
		}
	}
	return out
}

var etcdRecordName = regexp.MustCompile(`^etcd-[0-9]+\.`)
