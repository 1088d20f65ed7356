package tests

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/review/findings"
	"github.com/kinfra-dev/kinfra/review/plan"
)

func planOf(t *testing.T, file string) *plan.Plan {
	t.Helper()
	sf, err := stackfile.Load(file)
	require.NoError(t, err)
	p, err := plan.Run(sf)
	require.NoError(t, err)
	return p
}

// Every committed stack survives the loss of any one zone: etcd keeps
// quorum, the API keeps targets, no node pool loses all its capacity, and
// every master slot keeps its identity when AWS replaces its instance.
func TestEveryCommittedStackSurvivesTheLossOfAnyOneZone(t *testing.T) {
	for _, file := range committedStacks(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			p := planOf(t, file)
			rep, err := p.Failures()
			require.NoError(t, err)
			require.True(t, rep.OK, "problems: %v", rep.Problems)
			require.Equal(t, p.Config.Masters.Count, rep.EtcdMembers)
			require.Equal(t, p.Config.Masters.Count, rep.APITargets)
			require.ElementsMatch(t, p.Config.Network.AvailabilityZones, rep.Zones)
			require.Len(t, rep.ZoneLosses, len(p.Config.Network.AvailabilityZones))
			for _, l := range rep.ZoneLosses {
				require.True(t, l.QuorumKept, l.Zone)
				require.Positive(t, l.APITargetsLeft, l.Zone)
				require.Empty(t, l.PoolsWithoutCapacity, l.Zone)
				require.Len(t, l.PoolsKeepingCapacity, len(p.Config.NodePools), l.Zone)
			}
			require.Len(t, rep.Slots, p.Config.Masters.Count)
			for _, s := range rep.Slots {
				require.True(t, s.OK, "slot %d: %v", s.Slot, s.Problems)
				require.Equal(t, s.Zone, s.VolumeZone)
			}
		})
	}
}

// seeded applies an unsafe edit to the recorded resources of the us-east-1
// plan, as a bug in kinfra's code would, and returns the findings.
func seeded(t *testing.T, edit func(rs []mockaws.Resource) []mockaws.Resource) []findings.Finding {
	t.Helper()
	p := planOf(t, filepath.Join("..", "stacks", "Pulumi.us-east-1.yaml"))
	require.Empty(t, findings.Errors(p.Findings))
	return findings.Errors(findings.Run(edit(slices.Clone(p.Resources))))
}

func errorRules(fs []findings.Finding) []string {
	var out []string
	for _, f := range fs {
		if !slices.Contains(out, f.Rule) {
			out = append(out, f.Rule)
		}
	}
	return out
}

func TestSeededUnsafeChangesAreCaughtByTheFindings(t *testing.T) {
	isType := func(r mockaws.Resource, typ, nameSuffix string) bool {
		return r.Type == typ && strings.HasSuffix(r.Name, nameSuffix)
	}
	masterSG := func(rs []mockaws.Resource) string {
		for _, r := range rs {
			if isType(r, "aws:ec2/securityGroup:SecurityGroup", "-masters-masters") {
				return r.ID
			}
		}
		t.Fatal("no masters security group")
		return ""
	}
	cases := []struct {
		name string
		edit func(rs []mockaws.Resource) []mockaws.Resource
		want []string
	}{
		{"etcd volume loses protect", func(rs []mockaws.Resource) []mockaws.Resource {
			for i := range rs {
				if isType(rs[i], "aws:ebs/volume:Volume", "-etcd-1") {
					rs[i].Options.Protect = false
				}
			}
			return rs
		}, []string{"masters/etcd-volume-protected"}},
		{"etcd opened to the world", func(rs []mockaws.Resource) []mockaws.Resource {
			return append(rs, mockaws.Resource{Type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", Name: "prod-use1-masters-etcd-world",
				URN: "urn:pulumi:us-east-1::kinfra::aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::prod-use1-masters-etcd-world", Custom: true,
				Inputs: map[string]any{"securityGroupId": masterSG(rs), "ipProtocol": "tcp", "fromPort": 2379.0, "toPort": 2380.0, "cidrIpv4": "0.0.0.0/0"}})
		}, []string{"security-group/etcd-masters-only", "security-group/world-open"}},
		{"etcd opened to the VPC", func(rs []mockaws.Resource) []mockaws.Resource {
			return append(rs, mockaws.Resource{Type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", Name: "prod-use1-masters-etcd-vpc",
				URN: "urn:pulumi:us-east-1::kinfra::aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::prod-use1-masters-etcd-vpc", Custom: true,
				Inputs: map[string]any{"securityGroupId": masterSG(rs), "ipProtocol": "tcp", "fromPort": 2379.0, "toPort": 2379.0, "cidrIpv4": "10.40.0.0/16"}})
		}, []string{"security-group/etcd-masters-only"}},
		{"a master group whose launch template version Pulumi moves", func(rs []mockaws.Resource) []mockaws.Resource {
			for i := range rs {
				if isType(rs[i], "aws:autoscaling/group:Group", "-masters-master-2") {
					rs[i].Options.IgnoreChanges = nil
				}
			}
			return rs
		}, []string{"masters/one-refresh-at-a-time"}},
		{"autoscaled pool loses ignoreChanges", func(rs []mockaws.Resource) []mockaws.Resource {
			for i := range rs {
				if isType(rs[i], "aws:autoscaling/group:Group", "-pool-general") {
					rs[i].Options.IgnoreChanges = nil
				}
			}
			return rs
		}, []string{"workers/autoscaler-desired-capacity", "workers/rolled-by-kinfra-roll"}},
		{"a node pool that an instance refresh replaces", func(rs []mockaws.Resource) []mockaws.Resource {
			for i := range rs {
				if isType(rs[i], "aws:autoscaling/group:Group", "-pool-memory") {
					rs[i].Inputs = mapsWith(rs[i].Inputs, "instanceRefresh", map[string]any{"strategy": "Rolling"})
				}
			}
			return rs
		}, []string{"workers/rolled-by-kinfra-roll"}},
		{"IMDSv1 on a node pool", func(rs []mockaws.Resource) []mockaws.Resource {
			for i := range rs {
				if isType(rs[i], "aws:ec2/launchTemplate:LaunchTemplate", "-pool-memory") {
					rs[i].Inputs = mapsWith(rs[i].Inputs, "metadataOptions", map[string]any{"httpTokens": "optional", "httpPutResponseHopLimit": 1.0})
				}
			}
			return rs
		}, []string{"instances/imdsv2"}},
		{"a controller given an IAM user's access key", func(rs []mockaws.Resource) []mockaws.Resource {
			urn := "urn:pulumi:us-east-1::kinfra::kinfra:cluster:Cluster$kinfra:addons:Addons$aws:iam/"
			return append(rs,
				mockaws.Resource{Type: "aws:iam/user:User", Name: "prod-use1-addons-ebs-csi", URN: urn + "user:User::prod-use1-addons-ebs-csi", Custom: true, Inputs: map[string]any{"path": "/kinfra/prod-use1/"}},
				mockaws.Resource{Type: "aws:iam/accessKey:AccessKey", Name: "prod-use1-addons-ebs-csi", URN: urn + "accessKey:AccessKey::prod-use1-addons-ebs-csi", Custom: true, Inputs: map[string]any{"user": "prod-use1-addons-ebs-csi"}})
		}, []string{"iam/access-key"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, errorRules(seeded(t, tc.edit)))
		})
	}
}

// mapsWith is a copy of m with k set to v (recorded inputs are shared
// between clones of the resource list).
func mapsWith(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for key, val := range m {
		out[key] = val
	}
	out[k] = v
	return out
}

// A stack can acknowledge an error finding with a reason: the plan then
// passes and shows the reason; an acknowledgement of nothing is a warning,
// and a malformed one fails before anything is registered.
func TestAStackAcknowledgesAFindingWithItsReason(t *testing.T) {
	public := `
config:
  aws:region: us-east-1
  kinfra:cluster:
    name: pub
    api:
      scheme: internet-facing
      accessCidrs: [0.0.0.0/0]
    nodePools:
      - name: general
        maxSize: 10
`
	p := planOf(t, writeStack(t, public))
	require.Equal(t, []string{"api/world-open"}, errorRules(findings.Errors(p.Findings)))

	acked := public + `  kinfra:acknowledgements:
    - rule: api/world-open
      reason: "a public API for CI runners outside AWS; SEC-1234"
    - rule: iam/wildcard
      reason: "stale"
`
	p = planOf(t, writeStack(t, acked))
	require.Empty(t, findings.Errors(p.Findings))
	var reasons, unused []string
	for _, f := range p.Findings {
		if f.Rule == "api/world-open" {
			reasons = append(reasons, f.Acknowledged)
		}
		if f.Rule == findings.UnusedAcknowledgement {
			unused = append(unused, f.Resource)
		}
	}
	require.NotEmpty(t, reasons)
	for _, r := range reasons {
		require.Equal(t, "a public API for CI runners outside AWS; SEC-1234", r)
	}
	require.Equal(t, []string{"kinfra:acknowledgements[1]"}, unused)

	sf, err := stackfile.Load(writeStack(t, public+`  kinfra:acknowledgements:
    - rule: api/world-opn
`))
	require.NoError(t, err)
	bad, err := plan.Run(sf)
	require.ErrorContains(t, err, `kinfra:acknowledgements[0].rule: "api/world-opn" is not a rule`)
	require.ErrorContains(t, err, "kinfra:acknowledgements[0].reason: required")
	require.Empty(t, bad.Resources, "nothing is registered")
}
