package importer

import (
	"fmt"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/yamldoc"
)

// StackFile renders the result as a Pulumi stack file. Its header says where
// it came from, how the network is taken over, and lists every item not
// expressed, so that the review of the file sees them too.
func (r *Result) StackFile(source string) (string, error) {
	body, err := yamldoc.Marshal(yamldoc.Map{{"config", yamldoc.Map{
		{"aws:region", r.Region},
		{"kinfra:cluster", r.Cluster},
	}}})
	if err != nil {
		return "", err
	}
	var h strings.Builder
	fmt.Fprintf(&h, "# Written by `kinfra import` from %s (%s). Review it before `pulumi up`.\n", source, r.Region)
	switch r.Mode {
	case ModeImport:
		fmt.Fprintf(&h, "# The network is kinfra's layout: its %d resources are imported by ID (cluster.network.import), not recreated.\n", len(r.Imports))
	case ModeAdopt:
		fmt.Fprintf(&h, "# The network is adopted as it is (cluster.network.existing).\n")
	case ModeCreate:
		fmt.Fprintf(&h, "# Read from a template: the network is described, nothing is imported.\n")
	}
	h.WriteString("# Masters and node pools are new groups beside the old ones; kinfra:pki comes from `kinfra pki init`.\n")
	for _, n := range r.Notes {
		fmt.Fprintf(&h, "# Note: %s\n", n)
	}
	if len(r.Unexpressed) > 0 {
		fmt.Fprintf(&h, "# Not expressed here (%d):\n", len(r.Unexpressed))
		for _, it := range r.Unexpressed {
			fmt.Fprintf(&h, "#   %s %s: %s\n", it.Kind, it.ID, it.Why)
		}
	}
	return h.String() + body, nil
}

// Text is the report kinfra import prints.
func (r *Result) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cluster %s in %s: network %s", r.Name, r.Region, r.Mode)
	if len(r.Imports) > 0 {
		fmt.Fprintf(&b, " (%d IDs)", len(r.Imports))
	}
	b.WriteString("\n")
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	fmt.Fprintf(&b, "not expressed (%d):\n", len(r.Unexpressed))
	for _, it := range r.Unexpressed {
		fmt.Fprintf(&b, "  %s %s: %s\n", it.Kind, it.ID, it.Why)
	}
	return b.String()
}
