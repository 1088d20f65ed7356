package plan

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/spec"
)

func loaded(t *testing.T, region, raw string) spec.Cluster {
	t.Helper()
	c, err := spec.Load([]byte(raw), region)
	require.NoError(t, err)
	return c
}

func rowsByPath(rows []ParityRow) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, r := range rows {
		out[r.Path] = r.Values
	}
	return out
}

func TestParityListsChoicesApartFromPerRegionValues(t *testing.T) {
	a := loaded(t, "us-east-1", `{"name":"a","network":{"vpcCidr":"10.1.0.0/16"},"masters":{"count":3},
		"nodePools":[{"name":"general","maxSize":10,"labels":{"example.com/team":"a"}},{"name":"gpu","maxSize":4}]}`)
	b := loaded(t, "eu-west-1", `{"name":"b","network":{"vpcCidr":"10.2.0.0/16"},"masters":{"count":5},
		"nodePools":[{"name":"general","maxSize":20,"labels":{"example.com/team":"b"}}]}`)
	rep, err := Parity(map[string]spec.Cluster{"us-east-1": a, "eu-west-1": b})
	require.NoError(t, err)
	require.Equal(t, []string{"eu-west-1", "us-east-1"}, rep.Stacks)

	differ := rowsByPath(rep.Differ)
	require.Equal(t, map[string]string{"eu-west-1": "5", "us-east-1": "3"}, differ["masters.count"])
	require.Equal(t, map[string]string{"eu-west-1": "20", "us-east-1": "10"}, differ["nodePools[general].maxSize"])
	// A pool only one stack has: present there, absent in the other; its
	// fields are that one row's business.
	require.Equal(t, map[string]string{"eu-west-1": ParityAbsent, "us-east-1": ParityPresent}, differ["nodePools[gpu]"])
	require.NotContains(t, differ, "nodePools[gpu].maxSize")
	// Keys with dots are quoted, not split.
	require.Equal(t, map[string]string{"eu-west-1": "b", "us-east-1": "a"}, differ[`nodePools[general].labels["example.com/team"]`])

	expected := rowsByPath(rep.Expected)
	require.Contains(t, expected, "name")
	require.Contains(t, expected, "region")
	require.Contains(t, expected, "network.vpcCidr")
	require.NotContains(t, differ, "name")
	require.NotContains(t, differ, "network.vpcCidr")
	// Equal values are not listed at all.
	require.NotContains(t, differ, "kubernetes.version")
	require.NotContains(t, expected, "kubernetes.version")
}

func TestParityOfTheSameConfigHasNoDifferences(t *testing.T) {
	raw := `{"name":"a","nodePools":[{"name":"general","maxSize":10}]}`
	rep, err := Parity(map[string]spec.Cluster{"x": loaded(t, "us-east-1", raw), "y": loaded(t, "us-east-1", raw)})
	require.NoError(t, err)
	require.Empty(t, rep.Differ)
	require.Empty(t, rep.Expected)
}

func TestParityOfTheCommittedStacksShowsTheirDeliberateDifferences(t *testing.T) {
	rep, err := ParityOfDir("../../stacks")
	require.NoError(t, err)
	require.Equal(t, []string{"ap-southeast-2", "eu-west-1", "us-east-1"}, rep.Stacks)
	differ := rowsByPath(rep.Differ)
	require.Equal(t, map[string]string{"ap-southeast-2": "cilium", "eu-west-1": "calico", "us-east-1": "cilium"}, differ["cni.provider"])
	require.Equal(t, map[string]string{"ap-southeast-2": "none", "eu-west-1": "nftables", "us-east-1": "nftables"}, differ["kubeProxy.mode"])

	var text bytes.Buffer
	rep.Text(&text)
	require.Contains(t, text.String(), "Region parity: 3 stacks (ap-southeast-2, eu-west-1, us-east-1)")
	require.Contains(t, text.String(), "Differences to review:")
	require.Contains(t, text.String(), "Expected to differ per region:")
	var js bytes.Buffer
	require.NoError(t, rep.JSON(&js))
	var back ParityReport
	require.NoError(t, json.Unmarshal(js.Bytes(), &back))
	require.Equal(t, rep.Differ, back.Differ)
}

func TestParityOfADirectoryWithoutStacksIsAUsageError(t *testing.T) {
	_, err := ParityOfDir(t.TempDir())
	require.ErrorIs(t, err, stackfile.ErrUsage)
}
