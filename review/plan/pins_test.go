package plan

import (
	"strings"
	"testing"

	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/stretchr/testify/require"
)

// pinNotes plans a one-pool stack whose cluster config is the JSON object
// body extra adds to, and returns its notes about unconfirmed pins.
func pinNotes(t *testing.T, extra string) []string {
	t.Helper()
	cluster := `{"name":"pins","network":{"availabilityZones":["eu-west-1a","eu-west-1b","eu-west-1c"]},` +
		`"nodePools":[{"name":"general","minSize":1,"maxSize":3}]` + extra + `}`
	p, err := Run(stackfile.File{Name: "eu-west-1", Config: map[string]string{"aws:region": "eu-west-1", "kinfra:cluster": cluster}})
	require.NoError(t, err)
	var notes []string
	for _, n := range p.Notes {
		if strings.HasPrefix(n, "unconfirmed pin: ") {
			notes = append(notes, n)
		}
	}
	return notes
}

// No public cluster-autoscaler 1.37 release was found, yet kinfra pins
// v1.37.0 for 1.37 nodes: the plan says so, where the user can act on it.
func TestPlanNotesKinfrasUnconfirmedAutoscalerImage(t *testing.T) {
	notes := pinNotes(t, `,"kubernetes":{"version":"v1.37.2"}`)
	require.Len(t, notes, 1, "%q", notes)
	require.Contains(t, notes[0], "image registry.k8s.io/autoscaling/cluster-autoscaler:v1.37.0, kinfra's default for cluster.addons.clusterAutoscaler.image")
	require.Contains(t, notes[0], "docs/pins.md")
}

func TestPlanOfAStackUsingOnlyConfirmedPinsHasNoPinNote(t *testing.T) {
	require.Empty(t, pinNotes(t, `,"kubernetes":{"version":"v1.36.3"}`))
	require.Empty(t, pinNotes(t, `,"kubernetes":{"version":"v1.37.2"},"addons":{"clusterAutoscaler":{"image":"registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.1"}}`),
		"an override that matches a confirmed release is not noted")
}

func TestPlanNotesTheStacksOwnUnconfirmedPins(t *testing.T) {
	notes := pinNotes(t, `,"kubernetes":{"version":"v1.36.3"},"addons":{"ebsCsiDriver":{"version":"2.66.0"}},"cni":{"version":"1.20.9"}`)
	require.Equal(t, []string{
		"unconfirmed pin: chart cilium 1.20.9, set by cluster.cni.version, is not a release kinfra confirmed; `pulumi up` fails if it was never published (docs/pins.md lists the confirmed releases)",
		"unconfirmed pin: chart aws-ebs-csi-driver 2.66.0, set by cluster.addons.ebsCsiDriver.version, is not a release kinfra confirmed; `pulumi up` fails if it was never published (docs/pins.md lists the confirmed releases)",
	}, notes)
}
