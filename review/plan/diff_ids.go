package plan

import (
	"strings"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/tags"
)

// How the diff knows a resource from the plans it compares: the mock
// monitor's offline ID scheme (internal/mockaws) and the tags and names by
// which kinfra marks its resources (internal/tags). Plans are read from
// JSON, which carries no IDs, so the IDs are derived again by the mock's
// own functions.

// resourceNeedles are strings that occur in the offline ID of a resource
// and in what the mock monitor computes from it, and so in every input that
// holds its ID, ARN or output: the mock's ID (or the import ID), an Image
// Builder ARN's lower-cased name, and an image's AMI.
func resourceNeedles(r mockaws.Resource) []string {
	if r.Options.Import != "" {
		return []string{r.Options.Import}
	}
	id := mockaws.IDFor(r.Type, r.Name)
	out := []string{id}
	if kind, ok := mockaws.ImageBuilderKind(r.Type); ok {
		name, _ := r.Inputs["name"].(string)
		if name == "" {
			name = id
		}
		out = append(out, ":"+kind+"/"+strings.ToLower(name))
		if kind == "image" {
			out = append(out, mockaws.ImageAMI(r.Name))
		}
	}
	return out
}

// masterSlot is the master slot a resource is tagged with.
func masterSlot(r mockaws.Resource) (string, bool) { return tags.Slot(mockaws.Tags(r.Inputs)) }

// isEtcdVolume: a volume tagged with etcd's role or with a master slot.
func isEtcdVolume(r mockaws.Resource) bool { return tags.IsEtcdVolume(mockaws.Tags(r.Inputs)) }

// inNodePool: tagged with a node pool.
func inNodePool(r mockaws.Resource) bool {
	_, pool := tags.Pool(mockaws.Tags(r.Inputs))
	return pool
}

// isEtcdRecord says whether a record's name is an etcd member's.
func isEtcdRecord(name string) bool { return tags.IsEtcdRecord(name) }

// isKinfraParameter: an SSM parameter tagged with a parameter group or
// named under /kinfra/.
func isKinfraParameter(r mockaws.Resource) bool {
	name, _ := r.Inputs["name"].(string)
	_, group := mockaws.Tag(r.Inputs, tags.ParameterGroup)
	return group || strings.HasPrefix(name, "/kinfra/")
}

// isMasterTool: a retained parameter of the master tools' group.
func isMasterTool(r mockaws.Resource) bool {
	name, _ := r.Inputs["name"].(string)
	return strings.Contains(name, "/"+bootstrap.ToolsGroup+"/") && r.Options.RetainOnDelete
}
