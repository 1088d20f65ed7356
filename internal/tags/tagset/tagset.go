// Package tagset gives every AWS resource kinfra creates the same
// identifying tags (internal/tags), as the Pulumi maps the components set,
// so that a cluster's resources can be found, costed and cleaned up.
package tagset

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/tags"
)

// Set is the common tags of one component.
type Set struct {
	ClusterName string
	Region      string
	Component   string
	// Extra are the user's tags (spec.Cluster.Tags).
	Extra map[string]string
}

// For returns the tags of the resource called name, with more on top.
func (s Set) For(name string, more ...map[string]string) pulumi.StringMap {
	out := pulumi.StringMap{}
	for k, v := range s.Extra {
		out[k] = pulumi.String(v)
	}
	for _, m := range more {
		for k, v := range m {
			out[k] = pulumi.String(v)
		}
	}
	out["Name"] = pulumi.String(name)
	out[tags.Cluster] = pulumi.String(s.ClusterName)
	out[tags.Region] = pulumi.String(s.Region)
	out[tags.Component] = pulumi.String(s.Component)
	out[tags.ManagedBy] = pulumi.String("kinfra")
	return out
}
