package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFailuresShowsTheZoneLossTableAndExitsZeroForACommittedStack(t *testing.T) {
	code, out, errOut := kinfra("plan", "--stack", "us-east-1", "--dir", "../..", "--failures")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Failure simulation: stack us-east-1, 3 etcd members (quorum 2), 3 API targets")
	require.Contains(t, out, "ZONE LOST")
	for _, z := range []string{"a", "b", "c", "d", "e", "f"} {
		require.Contains(t, out, "\nus-east-1"+z+" ")
	}
	require.Contains(t, out, "The stack survives the loss of any one zone, and every slot keeps its identity.")

	code, out, errOut = kinfra("plan", "--stack", "eu-west-1", "--dir", "../..", "--failures", "--json")
	require.Equal(t, 0, code, errOut)
	var rep struct {
		OK         bool
		ZoneLosses []struct{ Zone string }
		Slots      []struct{ Slot int }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.True(t, rep.OK)
	require.Len(t, rep.ZoneLosses, 3)
	require.Len(t, rep.Slots, 5)
}

// A stack whose etcd members crowd into one zone plans (with a warning
// nowhere) only when validation is bypassed, so the failing case is a
// single-zone control plane: one member, one zone, and its loss loses all.
func TestFailuresExitsOneWhenAZoneLossLosesQuorum(t *testing.T) {
	code, out, errOut := kinfra("plan", "--stack-file", singleZoneStack(t, ""), "--failures")
	require.Equal(t, 1, code, errOut)
	require.Contains(t, out, "LOST")
	require.Contains(t, errOut, "does not survive the loss of any one zone")
	require.Contains(t, errOut, "losing us-east-1a leaves 0 of 1 etcd members")
	require.Contains(t, errOut, "losing us-east-1a leaves no master in the API target group")
}

func TestParityComparesEveryCommittedStack(t *testing.T) {
	code, out, errOut := kinfra("plan", "--parity", "--dir", "../..")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Region parity: 3 stacks (ap-southeast-2, eu-west-1, us-east-1)")
	line := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "cni.provider ") {
			line = l
		}
	}
	require.Regexp(t, `^cni.provider\s+cilium\s+calico\s+cilium$`, line)

	code, out, errOut = kinfra("plan", "--parity", "--dir", "../../stacks", "--json")
	require.Equal(t, 0, code, errOut)
	var rep struct{ Stacks []string }
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Equal(t, []string{"ap-southeast-2", "eu-west-1", "us-east-1"}, rep.Stacks)
}

func TestParityTakesNoStack(t *testing.T) {
	code, _, errOut := kinfra("plan", "--parity", "--stack", "us-east-1", "--dir", "../..")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "it takes no --stack")
	code, _, errOut = kinfra("plan", "--parity", "--dir", "../..", "us-east-1")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "it takes no arguments")
	code, _, errOut = kinfra("plan", "--parity", "--dir", t.TempDir())
	require.Equal(t, 2, code, errOut)
}

// A deliberate single-zone stack (a test cluster) acknowledges that a zone's
// loss stops it, with the reason, and --failures then exits 0 and shows the
// acknowledgement; an acknowledgement of another zone covers nothing, and
// one that covers no loss is reported as stale.
func TestFailuresAcceptsAnAcknowledgedZoneLoss(t *testing.T) {
	write := func(acks string) string { return singleZoneStack(t, "  kinfra:acknowledgements:"+acks+"\n") }

	code, out, errOut := kinfra("plan", "--stack-file", write(`
    - rule: failures/zone-loss
      reason: single-zone CI cluster, rebuilt every run; platform team`), "--failures")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "acknowledged: single-zone CI cluster, rebuilt every run; platform team")
	require.NotContains(t, errOut, "does not survive")

	code, _, errOut = kinfra("plan", "--stack-file", write(`
    - rule: failures/zone-loss
      resource: us-east-1b
      reason: the other zone`), "--failures")
	require.Equal(t, 1, code, errOut)
	require.Contains(t, errOut, "losing us-east-1a leaves 0 of 1 etcd members")
	require.Contains(t, errOut, "kinfra:acknowledgements[0] acknowledges failures/zone-loss on us-east-1b, but no such zone loss breaks the cluster")

	// The plain plan does not judge zone losses, so it does not call the
	// acknowledgement stale.
	code, out, errOut = kinfra("plan", "--stack-file", write(`
    - rule: failures/zone-loss
      reason: single-zone CI cluster`))
	require.Equal(t, 0, code, errOut)
	require.NotContains(t, out+errOut, "acknowledgements/unused")
}

func TestFailuresCallsAZoneLossAcknowledgementStaleWhenTheStackSurvives(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Pulumi.three.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`config:
  aws:region: us-east-1
  kinfra:acknowledgements:
    - rule: failures/zone-loss
      reason: was single-zone once
  kinfra:cluster:
    name: three
    nodePools:
      - name: general
        maxSize: 3
`), 0o644))
	code, out, errOut := kinfra("plan", "--stack-file", path, "--failures")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "survives the loss of any one zone")
	require.Contains(t, errOut, "kinfra:acknowledgements[0] acknowledges failures/zone-loss on any zone, but no such zone loss breaks the cluster; remove it")
}

// singleZoneStack writes a stack of one master in one zone, with extra
// config lines (indented as keys of config:) before its cluster.
func singleZoneStack(t *testing.T, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "Pulumi.solo.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`config:
  aws:region: us-east-1
`+extra+`  kinfra:cluster:
    name: solo
    network:
      availabilityZones: [us-east-1a]
    masters:
      count: 1
    nodePools:
      - name: general
        maxSize: 3
`), 0o644))
	return path
}
