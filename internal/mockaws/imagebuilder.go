package mockaws

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// imageBuilderKinds maps the EC2 Image Builder resource types to the
// resource kind in their ARNs.
var imageBuilderKinds = map[string]string{
	"aws:imagebuilder/component:Component":                                     "component",
	"aws:imagebuilder/imageRecipe:ImageRecipe":                                 "image-recipe",
	"aws:imagebuilder/infrastructureConfiguration:InfrastructureConfiguration": "infrastructure-configuration",
	"aws:imagebuilder/distributionConfiguration:DistributionConfiguration":     "distribution-configuration",
	"aws:imagebuilder/imagePipeline:ImagePipeline":                             "image-pipeline",
	"aws:imagebuilder/image:Image":                                             "image",
}

// ImageBuilderKind is the resource kind in the ARNs of an EC2 Image Builder
// type, which carry the resource's lower-cased name rather than its ID.
func ImageBuilderKind(typ string) (string, bool) {
	k, ok := imageBuilderKinds[typ]
	return k, ok
}

// ImageAMI is the offline ID of the AMI an Image Builder image resource of
// this name builds: "ami-" and 17 hex digits of the name's SHA-256.
func ImageAMI(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "ami-" + hex.EncodeToString(sum[:])[:17]
}

// imageBuilderOutputs sets the outputs AWS computes for an Image Builder
// resource that kinfra reads: every one's arn and, for an image, the AMI it
// built in the account's region (outputResources, shaped like the Go SDK's
// ImageOutputResource). It reports whether typ is an Image Builder type.
func imageBuilderOutputs(typ, name, id string, a Account, state resource.PropertyMap) bool {
	kind, ok := imageBuilderKinds[typ]
	if !ok {
		return false
	}
	// Image Builder ARNs carry the lower-cased name, and a semantic version
	// (plus a build number for components and images).
	resName := id
	if v, ok := state["name"]; ok && v.IsString() {
		resName = v.StringValue()
	}
	suffix := ""
	switch kind {
	case "component":
		suffix = "/" + imageBuilderVersion(state) + "/1"
	case "image-recipe":
		suffix = "/" + imageBuilderVersion(state)
	case "image":
		suffix = "/1.0.0/1"
	}
	arn := fmt.Sprintf("arn:%s:imagebuilder:%s:%s:%s/%s%s", a.Partition, a.Region, a.AccountID, kind, strings.ToLower(resName), suffix)
	state["arn"] = resource.NewProperty(arn)
	if kind == "image" {
		ami := resource.NewPropertyMapFromMap(map[string]any{
			"image":     ImageAMI(name),
			"region":    a.Region,
			"name":      name,
			"accountId": a.AccountID,
		})
		state["outputResources"] = resource.NewProperty([]resource.PropertyValue{
			resource.NewProperty(resource.PropertyMap{
				"amis": resource.NewProperty([]resource.PropertyValue{resource.NewProperty(ami)}),
			}),
		})
	}
	return true
}

func imageBuilderVersion(state resource.PropertyMap) string {
	if v, ok := state["version"]; ok && v.IsString() {
		return v.StringValue()
	}
	return "1.0.0"
}
