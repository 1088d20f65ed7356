package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/components/workers"
	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// What the diff re-derives rather than reads from its owners: the mock
// monitor's offline ID scheme (internal/mockaws) and the tags and names by
// which kinfra marks its resources (components/masters, components/workers,
// bootstrap's records and parameter groups). Issue 19 gives internal/tags
// and mockaws exported readers for both; these are the only places the
// diff reads them.

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

// masterSlot is the master slot a resource is tagged with.
func masterSlot(r mockaws.Resource) (string, bool) { return inputTag(r.Inputs, masters.SlotTag) }

// isEtcdVolume: a volume tagged with etcd's role or with a master slot.
func isEtcdVolume(r mockaws.Resource) bool {
	role, _ := inputTag(r.Inputs, "kinfra.dev/role")
	_, slot := masterSlot(r)
	return role == "etcd" || slot
}

// inNodePool: tagged with a node pool.
func inNodePool(r mockaws.Resource) bool {
	_, pool := inputTag(r.Inputs, workers.PoolTag)
	return pool
}

// etcdRecordName matches an etcd member's record, etcd-<i>.<privateDomain>
// (bootstrap.EtcdRecord).
var etcdRecordName = regexp.MustCompile(`^etcd-[0-9]+\.`)

// isEtcdRecord says whether a record's name is an etcd member's.
func isEtcdRecord(name string) bool { return etcdRecordName.MatchString(name) }

// isKinfraParameter: an SSM parameter tagged with a parameter group or
// named under /kinfra/.
func isKinfraParameter(r mockaws.Resource) bool {
	name, _ := r.Inputs["name"].(string)
	_, group := inputTag(r.Inputs, "kinfra.dev/parameter-group")
	return group || strings.HasPrefix(name, "/kinfra/")
}

// isMasterTool: a retained parameter of the master tools' group.
func isMasterTool(r mockaws.Resource) bool {
	name, _ := r.Inputs["name"].(string)
	return strings.Contains(name, "/"+bootstrap.ToolsGroup+"/") && r.Options.RetainOnDelete
}
