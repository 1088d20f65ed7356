package plan

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/components/workers"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/review/findings"
)

func TestEveryFlagFiresOnItsDangerousChangeAndNotOnASafeOne(t *testing.T) {
	type change func(t *testing.T, old, new *Plan)
	for _, tc := range []struct {
		rule     string
		severity findings.Severity
		unsafe   change
		safe     change
	}{
		{"diff/etcd-volume-replaced", findings.Error,
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtVolume, "c-etcd-1", func(r *mockaws.Resource) { r.Inputs["encrypted"] = false })
			},
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtVolume, "c-etcd-1", func(r *mockaws.Resource) { r.Inputs["size"] = 128.0 })
			}},
		{"diff/etcd-volume-removed", findings.Error,
			func(t *testing.T, _, n *Plan) { diffDrop(t, n, dtVolume, "c-etcd-2") },
			func(t *testing.T, o, _ *Plan) {
				o.Resources = append(o.Resources, diffCustom(dtVolume, "scratch", map[string]any{"availabilityZone": "r-1a"}))
			}},
		{"diff/etcd-volume-unprotected", findings.Error,
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtVolume, "c-etcd-0", func(r *mockaws.Resource) { r.Options.RetainOnDelete = false })
			},
			func(t *testing.T, o, n *Plan) {
				diffEdit(t, o, dtVolume, "c-etcd-0", func(r *mockaws.Resource) { r.Options.Protect = false })
			}},
		{"diff/etcd-volume-zone-changed", findings.Error,
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtVolume, "c-etcd-0", func(r *mockaws.Resource) { r.Inputs["availabilityZone"] = "r-1b" })
			},
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtVolume, "c-etcd-0", func(r *mockaws.Resource) { r.Inputs["iops"] = 6000.0 })
			}},
		{"diff/master-group-replaced", findings.Error,
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtGroup, "c-master-1", func(r *mockaws.Resource) { r.Inputs["name"] = "master-one" })
			},
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtGroup, "c-master-1", func(r *mockaws.Resource) { r.Inputs["healthCheckGracePeriod"] = 600.0 })
			}},
		{"diff/master-group-removed", findings.Error,
			func(t *testing.T, _, n *Plan) { diffDrop(t, n, dtGroup, "c-master-2") },
			func(t *testing.T, _, n *Plan) { diffDrop(t, n, dtGroup, "c-pool-general") }},
		{"diff/master-slot-moved", findings.Error,
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtGroup, "c-master-0", func(r *mockaws.Resource) {
					r.Inputs["vpcZoneIdentifiers"] = []any{diffID(dtSubnet, "c-private-r-1b")}
				})
			},
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtGroup, "c-pool-general", func(r *mockaws.Resource) {
					r.Inputs["vpcZoneIdentifiers"] = []any{diffID(dtSubnet, "c-private-r-1b")}
				})
			}},
		{"diff/master-count-changed", findings.Error,
			func(t *testing.T, _, n *Plan) {
				n.Resources = append(n.Resources, diffCustom(dtGroup, "c-master-3", map[string]any{"tags": diffASGTags(masters.SlotTag, "3")}))
			},
			func(t *testing.T, _, n *Plan) {
				n.Resources = append(n.Resources, diffCustom(dtGroup, "c-pool-extra", map[string]any{"tags": diffASGTags(workers.PoolTag, "extra")}))
			}},
		{"diff/masters-rolled-together", findings.Error,
			func(t *testing.T, _, n *Plan) {
				for _, s := range []string{"0", "1"} {
					diffEdit(t, n, dtGroup, "c-master-"+s, func(r *mockaws.Resource) {
						r.Inputs["instanceRefresh"] = map[string]any{"strategy": "Rolling"}
					})
				}
			},
			func(t *testing.T, _, n *Plan) { // a new image in every slot, left to kinfra roll
				for _, s := range []string{"0", "1", "2"} {
					diffEdit(t, n, dtLT, "c-master-"+s, func(r *mockaws.Resource) { r.Inputs["imageId"] = "ami-2" })
				}
			}},
		{"diff/etcd-record-replaced", findings.Error,
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtRecord, "c-etcd-0", func(r *mockaws.Resource) { r.Inputs["name"] = "etcd-0.other.internal" })
			},
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtRecord, "c-etcd-0", func(r *mockaws.Resource) { r.Inputs["ttl"] = 60.0 })
			}},
		{"diff/etcd-record-removed", findings.Error,
			func(t *testing.T, _, n *Plan) { diffDrop(t, n, dtRecord, "c-etcd-1") },
			func(t *testing.T, o, _ *Plan) {
				o.Resources = append(o.Resources, diffCustom(dtRecord, "c-www", map[string]any{"name": "www.c.k8s.internal"}))
			}},
		{"diff/private-zone-replaced", findings.Error,
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtZone, "c-zone", func(r *mockaws.Resource) { r.Inputs["name"] = "d.k8s.internal" })
			},
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtZone, "c-zone", func(r *mockaws.Resource) { r.Inputs["comment"] = "kinfra c, the cluster" })
			}},
		{"diff/vpc-replaced", findings.Error,
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtVpc, "c-vpc", func(r *mockaws.Resource) { r.Inputs["cidrBlock"] = "10.9.0.0/16" })
			},
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtVpc, "c-vpc", func(r *mockaws.Resource) { r.Inputs["tags"] = map[string]any{"Name": "c-vpc", "team": "x"} })
			}},
		{"diff/subnet-replaced", findings.Error,
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtSubnet, "c-private-r-1c", func(r *mockaws.Resource) { r.Inputs["availabilityZone"] = "r-1d" })
			},
			func(t *testing.T, _, n *Plan) { // a subnet nothing launches in
				diffEdit(t, n, dtSubnet, "c-spare", func(r *mockaws.Resource) { r.Inputs["cidrBlock"] = "10.0.99.0/24" })
			}},
		{"diff/kms-key-replaced", findings.Error,
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtKey, "c-kms", func(r *mockaws.Resource) { r.Inputs["multiRegion"] = true })
			},
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtKey, "c-kms", func(r *mockaws.Resource) { r.Inputs["description"] = "kinfra c" })
			}},
		{"diff/backup-bucket-replaced", findings.Error,
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtBucket, "c-backup", func(r *mockaws.Resource) { r.Inputs["objectLockEnabled"] = true })
			},
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtBucket, "c-backup", func(r *mockaws.Resource) { r.Inputs["tags"] = map[string]any{"team": "platform"} })
			}},
		{"diff/pki-parameter-replaced", findings.Error,
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtParam, "c-pki-ca", func(r *mockaws.Resource) { r.Inputs["name"] = "/kinfra/d/pki/ca.crt" })
			},
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtParam, "c-pki-ca", func(r *mockaws.Resource) { r.Inputs["description"] = "the CA" })
			}},
		{"diff/load-balancer-replaced", findings.Warning,
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtLB, "c-api", func(r *mockaws.Resource) { r.Inputs["internal"] = false })
			},
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtLB, "c-api", func(r *mockaws.Resource) { r.Inputs["enableCrossZoneLoadBalancing"] = true })
			}},
		{"diff/listener-removed", findings.Warning,
			func(t *testing.T, _, n *Plan) { diffDrop(t, n, dtLis, "c-api-6443") },
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtLis, "c-api-6443", func(r *mockaws.Resource) { r.Inputs["port"] = 443.0 })
			}},
		{"diff/target-group-replaced", findings.Warning,
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtTG, "c-api-tg", func(r *mockaws.Resource) { r.Inputs["protocol"] = "TLS" })
			},
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtTG, "c-api-tg", func(r *mockaws.Resource) { r.Inputs["deregistrationDelay"] = 30.0 })
			}},
		{"diff/nat-gateway-replaced", findings.Warning,
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtNAT, "c-nat-r-1a", func(r *mockaws.Resource) { r.Inputs["allocationId"] = "eipalloc-2" })
			},
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtNAT, "c-nat-r-1a", func(r *mockaws.Resource) { r.Inputs["tags"] = map[string]any{"a": "b"} })
			}},
		{"diff/route-table-removed", findings.Warning,
			func(t *testing.T, _, n *Plan) { diffDrop(t, n, dtRT, "c-rt-r-1a") },
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtRT, "c-rt-r-1a", func(r *mockaws.Resource) { r.Inputs["tags"] = map[string]any{"a": "b"} })
			}},
		{"diff/autoscaler-desired-capacity", findings.Warning,
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtGroup, "c-pool-general", func(r *mockaws.Resource) { r.Options.IgnoreChanges = []string{} })
			},
			func(t *testing.T, _, n *Plan) {
				diffEdit(t, n, dtGroup, "c-pool-general", func(r *mockaws.Resource) { r.Inputs["maxSize"] = 20.0 })
			}},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			old, new := diffCluster(), diffCluster()
			tc.unsafe(t, old, new)
			d := Diff(old, new)
			var hit *findings.Finding
			for i, f := range d.Flags {
				if f.Rule == tc.rule {
					hit = &d.Flags[i]
				}
			}
			require.NotNil(t, hit, "flags: %v", diffRules(d))
			require.Equal(t, tc.severity, hit.Severity)
			require.NotEmpty(t, hit.Message)
			if tc.severity == findings.Error {
				require.Equal(t, 1, d.ExitCode())
			}

			old, new = diffCluster(), diffCluster()
			tc.safe(t, old, new)
			d = Diff(old, new)
			require.NotContains(t, diffRules(d), tc.rule)
			require.NotEmpty(t, d.Resources, "the safe case changes something")
		})
	}
}

func TestMasterGroupsThatStopLeavingTheirVersionToTheRollAreFlaggedTogether(t *testing.T) {
	old, new := diffCluster(), diffCluster()
	for _, s := range []string{"0", "1", "2"} {
		diffEdit(t, new, dtLT, "c-master-"+s, func(r *mockaws.Resource) { r.Inputs["imageId"] = "ami-2" })
	}
	require.Empty(t, Diff(old, new).Errors(), "a new launch template version in every slot replaces no master: the roll does, one at a time")

	diffEdit(t, new, dtGroup, "c-master-0", func(r *mockaws.Resource) { r.Options.IgnoreChanges = nil })
	diffEdit(t, new, dtGroup, "c-master-1", func(r *mockaws.Resource) {
		r.Inputs["instanceRefresh"] = map[string]any{"strategy": "Rolling"}
	})
	d := Diff(old, new)
	require.Contains(t, diffRules(d), "diff/masters-rolled-together")
	for _, f := range d.Flags {
		if f.Rule == "diff/masters-rolled-together" {
			require.Contains(t, f.Message, "slot 0 (its group stops leaving launchTemplate.version to kinfra roll)")
			require.Contains(t, f.Message, "slot 1 (its group gains an instance refresh)")
			require.Contains(t, f.Message, "kinfra roll")
		}
	}
}

func TestFlagsComeErrorsFirstAndExitCodeIsOneOnlyForErrors(t *testing.T) {
	old, new := diffCluster(), diffCluster()
	diffDrop(t, new, dtRT, "c-rt-r-1a")
	d := Diff(old, new)
	require.Equal(t, []string{"diff/route-table-removed"}, diffRules(d))
	require.Equal(t, 0, d.ExitCode(), "warnings do not fail")

	diffEdit(t, new, dtVpc, "c-vpc", func(r *mockaws.Resource) { r.Inputs["cidrBlock"] = "10.9.0.0/16" })
	d = Diff(old, new)
	require.Equal(t, findings.Error, d.Flags[0].Severity)
	require.Equal(t, findings.Warning, d.Flags[len(d.Flags)-1].Severity)
	require.Equal(t, 1, d.ExitCode())
}

func TestANewStackIsAllAdditionsWithoutFlags(t *testing.T) {
	d := Diff(EmptyPlan("test"), diffCluster())
	require.Equal(t, len(diffCluster().Resources), d.Summary.Added)
	require.Empty(t, d.Flags)
	require.Contains(t, strings.Join(d.Notes, "\n"), "every resource is added")
}

// --- the table ---------------------------------------------------------------------

func TestFlagRulesAreWellFormed(t *testing.T) {
	seen := map[string]bool{}
	lossSeverity := map[string]map[Action]findings.Severity{}
	for _, r := range flagRules {
		require.True(t, strings.HasPrefix(r.ID, "diff/"), r.ID)
		require.False(t, seen[r.ID], "%s is listed twice", r.ID)
		seen[r.ID] = true
		require.Contains(t, []findings.Severity{findings.Error, findings.Warning}, r.Severity, r.ID)
		require.NotEmpty(t, r.Doc, r.ID)
		require.True(t, (r.Check == nil) != (r.Kind == ""), "%s: either a kind's loss or a check", r.ID)
		if r.Kind == "" {
			require.Empty(t, r.Lost, r.ID)
			continue
		}
		verb := map[Action]string{ActionReplace: "replaced", ActionRemove: "removed"}[r.Lost]
		require.NotEmpty(t, verb, "%s: a loss is a replacement or a removal, not %q", r.ID, r.Lost)
		require.Equal(t, "diff/"+r.Kind+"-"+verb, r.ID)
		if lossSeverity[r.Kind] == nil {
			lossSeverity[r.Kind] = map[Action]findings.Severity{}
		}
		lossSeverity[r.Kind][r.Lost] = r.Severity
	}
	for kind, sev := range lossSeverity {
		require.Len(t, sev, 2, "%s is flagged when replaced and when removed", kind)
		require.Equal(t, sev[ActionReplace], sev[ActionRemove], "%s: replacing and removing it are as dangerous", kind)
	}
}

// Every kind whose loss is flagged has its own message, not the fallback
// that only names the resource.
func TestEveryFlaggedLossSaysWhatItLoses(t *testing.T) {
	fallback := regexp.MustCompile(`^(Replacing|Removing) r( \(because of [^)]*\))?\.$`)
	for _, r := range flagRules {
		if r.Kind == "" {
			continue
		}
		c := newFlagContext(EmptyPlan("test"), EmptyPlan("test"), &PlanDiff{})
		msg := c.lossMessage(r.Kind, ResourceDiff{Action: r.Lost, ReplaceReasons: []string{"name"}},
			mockaws.Resource{Name: "r", Inputs: map[string]any{}})
		require.NotRegexp(t, fallback, msg, r.ID)
	}
}

// docs/plan-diff.md's tables of error and warning flags list exactly the
// rules of flagRules, each under its severity.
func TestThePlanDiffDocListsExactlyTheFlagRules(t *testing.T) {
	doc, err := os.ReadFile("../../docs/plan-diff.md")
	require.NoError(t, err)
	coded := map[string]findings.Severity{}
	for _, r := range flagRules {
		coded[r.ID] = r.Severity
	}
	require.Equal(t, coded, documentedFlags(t, string(doc)))
}

// documentedFlags reads the rules of the doc's section "The flags": the
// first cells of the tables under "### Errors" and "### Warnings", where
// "`diff/x-replaced`, `-removed`" and "`diff/x-…`" stand for both losses
// of x.
func documentedFlags(t *testing.T, doc string) map[string]findings.Severity {
	t.Helper()
	_, section, ok := strings.Cut(doc, "\n## The flags\n")
	require.True(t, ok, "docs/plan-diff.md has a section The flags")
	section, _, _ = strings.Cut(section, "\n## ")
	code := regexp.MustCompile("`([^`]+)`")
	out := map[string]findings.Severity{}
	var sev findings.Severity
	for _, line := range strings.Split(section, "\n") {
		switch {
		case line == "### Errors":
			sev = findings.Error
		case line == "### Warnings":
			sev = findings.Warning
		case strings.HasPrefix(line, "### "):
			sev = ""
		}
		if sev == "" || !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.Split(line, "|")[1]
		base := ""
		for _, m := range code.FindAllStringSubmatch(first, -1) {
			id := m[1]
			switch {
			case strings.HasSuffix(id, "-…"):
				base = strings.TrimSuffix(id, "…")
				for _, verb := range []string{"replaced", "removed"} {
					out[base+verb] = sev
				}
				continue
			case strings.HasPrefix(id, "-"):
				require.NotEmpty(t, base, "%q follows no rule: %s", id, line)
				id = base + id[1:]
			default:
				require.True(t, strings.HasPrefix(id, "diff/"), "not a rule: %q in %s", id, line)
			}
			require.NotContains(t, out, id, "%s is documented twice", id)
			out[id] = sev
			base = strings.TrimSuffix(strings.TrimSuffix(id, "replaced"), "removed")
		}
	}
	return out
}
