package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/components/workers"
	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/review/findings"
	"github.com/kinfra-dev/kinfra/spec"
)

// controlPlane is a hand-made set of recorded resources shaped as the
// program records them (inputs as mockaws.Plain leaves them): private
// subnets by zone, the API target group, the private zone, and per slot
// its group, etcd volume and record; slot i's group and volume are in
// zoneOf[i]. Node pools: "everywhere" in every zone, "pinned" in zones[0].
func controlPlane(zones []string, zoneOf []string) []mockaws.Resource {
	const stack = "urn:pulumi:test::kinfra::kinfra:masters:ControlPlane$"
	rs := []mockaws.Resource{
		{Type: simTargetGroup, Name: "c-masters-api", ID: "c-masters-api-0001", URN: stack + simTargetGroup + "::c-masters-api",
			Inputs: map[string]any{"port": 6443.0, "protocol": "TCP"}},
		{Type: simZone, Name: "c-masters-zone", ID: "Zprivate", URN: stack + simZone + "::c-masters-zone",
			Inputs: map[string]any{"name": "c.k8s.internal"}},
		{Type: simBucket, Name: "c-masters-backup", ID: "c-etcd-123456789012-r", URN: stack + simBucket + "::c-masters-backup",
			Inputs: map[string]any{"bucket": "c-etcd-123456789012-r"}, Options: mockaws.Options{Protect: true, RetainOnDelete: true}},
		{Type: simAlarm, Name: "c-masters-backup-age", ID: "c-etcd-backup-age", URN: stack + simAlarm + "::c-masters-backup-age",
			Inputs: map[string]any{"namespace": bootstrap.BackupMetricNamespace, "metricName": bootstrap.BackupAgeMetric, "period": 900.0}},
	}
	var all []any
	for _, z := range zones {
		rs = append(rs, mockaws.Resource{Type: simSubnet, Name: "c-network-private-" + z, ID: "subnet-" + z,
			URN: "urn:pulumi:test::kinfra::" + simSubnet + "::c-network-private-" + z, Inputs: map[string]any{"availabilityZone": z}})
		all = append(all, "subnet-"+z)
	}
	for i, z := range zoneOf {
		name := fmt.Sprintf("c-masters-master-%d", i)
		rs = append(rs,
			mockaws.Resource{Type: simGroupType, Name: name, ID: name + "-id", URN: stack + simGroupType + "::" + name, Inputs: map[string]any{
				"minSize": 1.0, "maxSize": 1.0, "desiredCapacity": 1.0,
				"vpcZoneIdentifiers": []any{"subnet-" + z},
				"targetGroupArns":    []any{"arn:aws:elasticloadbalancing:r:123456789012:targetgroup/c-masters-api-0001"},
				"tags":               []any{map[string]any{"key": masters.SlotTag, "value": fmt.Sprint(i), "propagateAtLaunch": true}},
			}},
			mockaws.Resource{Type: simVolume, Name: fmt.Sprintf("c-masters-etcd-%d", i), ID: fmt.Sprintf("vol-%d", i),
				URN:     stack + simVolume + fmt.Sprintf("::c-masters-etcd-%d", i),
				Inputs:  map[string]any{"availabilityZone": z, "tags": map[string]any{masters.SlotTag: fmt.Sprint(i), "kinfra.dev/role": "etcd"}},
				Options: mockaws.Options{Protect: true, RetainOnDelete: true}},
			mockaws.Resource{Type: simRecord, Name: name + "-dns", URN: stack + simRecord + "::" + name + "-dns",
				Inputs: map[string]any{"zoneId": "Zprivate", "name": fmt.Sprintf("etcd-%d.c.k8s.internal", i), "type": "A"}},
		)
	}
	for _, pool := range []struct {
		name    string
		subnets []any
	}{{"everywhere", all}, {"pinned", all[:1]}} {
		rs = append(rs, mockaws.Resource{Type: simGroupType, Name: "c-pool-" + pool.name, ID: "c-pool-" + pool.name + "-id",
			URN: "urn:pulumi:test::kinfra::kinfra:workers:NodePool$" + simGroupType + "::c-pool-" + pool.name,
			Inputs: map[string]any{"maxSize": 10.0, "vpcZoneIdentifiers": pool.subnets,
				"tags": []any{map[string]any{"key": workers.PoolTag, "value": pool.name, "propagateAtLaunch": true}}}})
	}
	return rs
}

var abc = []string{"r-1a", "r-1b", "r-1c"}

func failures(t *testing.T, rs []mockaws.Resource) FailureReport {
	t.Helper()
	rep, err := (&Plan{Stack: "test", Resources: rs}).Failures()
	require.NoError(t, err)
	return rep
}

// edit changes the one resource of a type and name.
func edit(t *testing.T, rs []mockaws.Resource, typ, name string, f func(r *mockaws.Resource)) []mockaws.Resource {
	t.Helper()
	for i := range rs {
		if rs[i].Type == typ && rs[i].Name == name {
			f(&rs[i])
			return rs
		}
	}
	t.Fatalf("no %s %s", typ, name)
	return nil
}

func problemsMention(t *testing.T, rep FailureReport, want string) {
	t.Helper()
	require.False(t, rep.OK)
	for _, p := range rep.Problems {
		if strings.Contains(p, want) {
			return
		}
	}
	t.Fatalf("no problem mentions %q: %q", want, rep.Problems)
}

func TestThreeMastersInThreeZonesSurviveAnyZone(t *testing.T) {
	rep := failures(t, controlPlane(abc, abc))
	require.True(t, rep.OK, rep.Problems)
	require.Empty(t, rep.Problems)
	require.Equal(t, abc, rep.Zones)
	require.Equal(t, 3, rep.EtcdMembers)
	require.Equal(t, 2, rep.Quorum)
	require.Equal(t, 3, rep.APITargets)
	require.Len(t, rep.ZoneLosses, 3)
	for i, l := range rep.ZoneLosses {
		require.Equal(t, []int{i}, l.MembersLost)
		require.Equal(t, 2, l.MembersRemaining)
		require.True(t, l.QuorumKept)
		require.Equal(t, 2, l.APITargetsLeft)
		require.Contains(t, l.PoolsKeepingCapacity, PoolCapacity{Pool: "everywhere", ZonesLeft: 2, Zones: 3})
	}
	// The pool in one zone loses all capacity with that zone only.
	require.Equal(t, []string{"pinned"}, rep.ZoneLosses[0].PoolsWithoutCapacity)
	require.Contains(t, rep.ZoneLosses[1].PoolsKeepingCapacity, PoolCapacity{Pool: "pinned", ZonesLeft: 1, Zones: 1})
	for i, s := range rep.Slots {
		require.True(t, s.OK, s.Problems)
		require.Equal(t, abc[i], s.Zone)
		require.Equal(t, abc[i], s.VolumeZone)
		require.Equal(t, fmt.Sprintf("etcd-%d.c.k8s.internal", i), s.Record)
		require.Equal(t, 1, s.MaxSize)
	}
}

func TestTwoOfThreeMembersInOneZoneLoseQuorumWithIt(t *testing.T) {
	rep := failures(t, controlPlane(abc, []string{"r-1a", "r-1a", "r-1b"}))
	a := rep.ZoneLosses[0]
	require.Equal(t, "r-1a", a.Zone)
	require.Equal(t, []int{0, 1}, a.MembersLost)
	require.Equal(t, 1, a.MembersRemaining)
	require.False(t, a.QuorumKept)
	require.True(t, rep.ZoneLosses[1].QuorumKept)
	require.True(t, rep.ZoneLosses[2].QuorumKept, "r-1c holds no member")
	problemsMention(t, rep, "losing r-1a leaves 1 of 3 etcd members")
	for _, s := range rep.Slots {
		require.True(t, s.OK, "every slot keeps its identity; the placement is the problem")
	}
}

func TestASingleZoneControlPlaneLeavesNoAPITargets(t *testing.T) {
	rep := failures(t, controlPlane(abc, []string{"r-1b", "r-1b", "r-1b"}))
	b := rep.ZoneLosses[1]
	require.Equal(t, 0, b.APITargetsLeft)
	require.Equal(t, 0, b.MembersRemaining)
	problemsMention(t, rep, "losing r-1b leaves no master in the API target group")
}

func TestEtcdVolumeInAnotherZoneBreaksTheSlotsIdentity(t *testing.T) {
	rs := edit(t, controlPlane(abc, abc), simVolume, "c-masters-etcd-1", func(r *mockaws.Resource) {
		r.Inputs["availabilityZone"] = "r-1c"
	})
	rep := failures(t, rs)
	require.False(t, rep.Slots[1].OK)
	require.Equal(t, "r-1b", rep.Slots[1].Zone)
	require.Equal(t, "r-1c", rep.Slots[1].VolumeZone)
	problemsMention(t, rep, "slot 1: etcd volume c-masters-etcd-1 is in r-1c, but the group launches in r-1b")
	// Slot 1's member is lost with either zone: its instance's or its data's.
	require.Contains(t, rep.ZoneLosses[1].MembersLost, 1)
	require.Contains(t, rep.ZoneLosses[2].MembersLost, 1)
}

func TestUnprotectedOrUnretainedEtcdVolumeIsReported(t *testing.T) {
	rs := edit(t, controlPlane(abc, abc), simVolume, "c-masters-etcd-0", func(r *mockaws.Resource) {
		r.Options.Protect = false
	})
	rs = edit(t, rs, simVolume, "c-masters-etcd-2", func(r *mockaws.Resource) {
		r.Options.RetainOnDelete = false
	})
	rep := failures(t, rs)
	problemsMention(t, rep, "slot 0: etcd volume c-masters-etcd-0 is not protected")
	problemsMention(t, rep, "slot 2: etcd volume c-masters-etcd-2 is not retained on delete")
	require.True(t, rep.Slots[1].OK)
	for _, l := range rep.ZoneLosses {
		require.True(t, l.QuorumKept, "placement is fine")
	}
}

func TestSlotWithoutRecordVolumeOrSingleZoneIsReported(t *testing.T) {
	var rs []mockaws.Resource
	for _, r := range controlPlane(abc, abc) {
		if r.Name == "c-masters-master-0-dns" || r.Name == "c-masters-etcd-1" {
			continue
		}
		rs = append(rs, r)
	}
	rs = edit(t, rs, simGroupType, "c-masters-master-2", func(r *mockaws.Resource) {
		r.Inputs["vpcZoneIdentifiers"] = []any{"subnet-r-1c", "subnet-r-1a"}
		r.Inputs["maxSize"] = 2.0
	})
	rep := failures(t, rs)
	problemsMention(t, rep, "slot 0: no DNS record etcd-0.<private domain>")
	problemsMention(t, rep, "slot 1: no etcd volume is tagged kinfra.dev/master-slot=1")
	problemsMention(t, rep, "slot 2: group c-masters-master-2 is not pinned to one zone's subnet")
	problemsMention(t, rep, "slot 2: group c-masters-master-2 has max size 2")
	// A group that may launch in two zones is lost with either.
	require.Contains(t, rep.ZoneLosses[0].MembersLost, 2)
	require.Contains(t, rep.ZoneLosses[2].MembersLost, 2)
}

func TestRecordInAnotherZoneOrNameDoesNotCount(t *testing.T) {
	rs := edit(t, controlPlane(abc, abc), simRecord, "c-masters-master-1-dns", func(r *mockaws.Resource) {
		r.Inputs["zoneId"] = "Zpublic"
	})
	rs = edit(t, rs, simRecord, "c-masters-master-2-dns", func(r *mockaws.Resource) {
		r.Inputs["name"] = "etcd-0.c.k8s.internal"
	})
	rep := failures(t, rs)
	problemsMention(t, rep, "slot 1: no DNS record etcd-1")
	problemsMention(t, rep, "slot 2: no DNS record etcd-2")
}

func TestMastersOutsideTheAPITargetGroupAreNoTargets(t *testing.T) {
	rs := controlPlane(abc, abc)
	for _, name := range []string{"c-masters-master-0", "c-masters-master-1", "c-masters-master-2"} {
		rs = edit(t, rs, simGroupType, name, func(r *mockaws.Resource) { delete(r.Inputs, "targetGroupArns") })
	}
	rep := failures(t, rs)
	require.Equal(t, 0, rep.APITargets)
	problemsMention(t, rep, "no master is attached to the API target group")
	problemsMention(t, rep, "losing r-1a leaves no master in the API target group")

	// An attachment resource joins a group to the target group just as well.
	rs = append(rs, mockaws.Resource{Type: simAttachment, Name: "att", URN: "urn:att",
		Inputs: map[string]any{"autoscalingGroupName": "c-masters-master-0-id", "lbTargetGroupArn": "arn:aws:elasticloadbalancing:r:1:targetgroup/c-masters-api-0001"}})
	rep = failures(t, rs)
	require.Equal(t, 1, rep.APITargets)
	require.Equal(t, 0, rep.ZoneLosses[0].APITargetsLeft)
	require.Equal(t, 1, rep.ZoneLosses[1].APITargetsLeft)
}

func TestSubnetOfNoKnownZoneIsReported(t *testing.T) {
	rs := edit(t, controlPlane(abc, abc), simGroupType, "c-masters-master-0", func(r *mockaws.Resource) {
		r.Inputs["vpcZoneIdentifiers"] = []any{"subnet-elsewhere"}
	})
	rep := failures(t, rs)
	problemsMention(t, rep, "slot 0: group c-masters-master-0: no zone is known for subnet subnet-elsewhere")
	for _, l := range rep.ZoneLosses {
		require.Contains(t, l.MembersLost, 0, "a member of unknown zone counts as lost with any zone")
	}
}

func TestAPlanWithoutMastersFails(t *testing.T) {
	rep := failures(t, []mockaws.Resource{{Type: simSubnet, ID: "subnet-1", Inputs: map[string]any{"availabilityZone": "r-1a"}}})
	problemsMention(t, rep, "the plan has no master groups")
	_, err := (&Plan{Stack: "empty"}).Failures()
	require.Error(t, err)
}

// The simulation reads the program's real recordings: the groups'
// vpcZoneIdentifiers are the mock IDs of the recorded subnets.
func TestLargestTopologySurvivesAnyZone(t *testing.T) {
	p, err := Run(largeStack(t))
	require.NoError(t, err)
	rep, err := p.Failures()
	require.NoError(t, err)
	require.True(t, rep.OK, rep.Problems)
	require.Len(t, rep.Zones, 6)
	require.Equal(t, 7, rep.EtcdMembers)
	require.Equal(t, 7, rep.APITargets)
	require.Equal(t, []int{0, 6}, rep.ZoneLosses[0].MembersLost, "seven slots over six zones: the first zone holds two")
	for _, l := range rep.ZoneLosses {
		for _, pc := range l.PoolsKeepingCapacity {
			require.Equal(t, PoolCapacity{Pool: pc.Pool, ZonesLeft: 5, Zones: 6}, pc)
		}
		require.Empty(t, l.PoolsWithoutCapacity)
	}
	for _, s := range rep.Slots {
		require.NotEmpty(t, s.Zone)
		require.Len(t, s.Subnets, 1)
		require.True(t, strings.HasPrefix(s.Subnets[0], "subnet-"))
	}

	var buf bytes.Buffer
	rep.Text(&buf)
	require.Contains(t, buf.String(), "us-east-1a  2 (slots 0, 6)  5/7")
	require.Contains(t, buf.String(), "The stack survives the loss of any one zone, and every slot keeps its identity.")
	require.True(t, rep.Recovery.Backups, "backups are on by default")
	require.Equal(t, p.Config.Backup.IntervalMinutes, rep.Recovery.RPOMinutes)
	require.Equal(t, "alarm", rep.Recovery.RPOFrom)
	require.Equal(t, p.Config.BackupBucketName("123456789012"), rep.Recovery.Bucket)
	require.Equal(t, masters.BootFailedAlarmName(p.Config.Name), rep.Recovery.BootAlarm, "the program's boot-failure alarm")
	require.Equal(t, "/kinfra/"+p.Config.Name+"/masters/master-<slot>", rep.Recovery.BootStatus)
	require.Contains(t, buf.String(), "  A master whose boot fails (a refusal below too) retries, 30 s growing to 10 minutes apart, and alarms "+
		masters.BootFailedAlarmName(p.Config.Name)+"; each slot's status: aws ssm get-parameter --name /kinfra/"+p.Config.Name+"/masters/master-<slot>\n")
	buf.Reset()
	require.NoError(t, rep.JSON(&buf))
	var back FailureReport
	require.NoError(t, json.Unmarshal(buf.Bytes(), &back))
	require.Equal(t, rep, back)
}

// Adopted subnets are not recorded; their declared zones (which the program
// checks against AWS) place the groups.
func TestAdoptedSubnetsTakeTheirDeclaredZones(t *testing.T) {
	c := spec.Cluster{
		Name: "adopt",
		Network: spec.Network{
			VpcCidr: "10.9.0.0/16",
			Existing: &spec.ExistingNetwork{
				VpcId: "vpc-0a1b2c3d4e5f67890",
				PrivateSubnets: []spec.ExistingSubnet{
					{ID: "subnet-00000000000000001", AvailabilityZone: "eu-west-1a", Cidr: "10.9.0.0/20"},
					{ID: "subnet-00000000000000002", AvailabilityZone: "eu-west-1b", Cidr: "10.9.16.0/20"},
					{ID: "subnet-00000000000000003", AvailabilityZone: "eu-west-1c", Cidr: "10.9.32.0/20"},
				},
			},
			GatewayEndpoints: []string{},
		},
		Kubernetes: spec.Kubernetes{PodCidr: "100.64.0.0/10", ServiceCidr: "172.20.0.0/16"},
		Masters:    spec.Masters{Count: 3},
		NodePools:  []spec.NodePool{{Name: "general", MinSize: 1, MaxSize: 10}},
	}
	js, err := json.Marshal(c)
	require.NoError(t, err)
	p, err := Run(stackfile.File{Name: "eu-west-1", Config: map[string]string{"aws:region": "eu-west-1", "kinfra:cluster": string(js)}})
	require.NoError(t, err)
	require.Empty(t, mockaws.OfType(p.Resources, simSubnet))
	rep, err := p.Failures()
	require.NoError(t, err)
	require.True(t, rep.OK, rep.Problems)
	require.Equal(t, []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}, rep.Zones)
	require.Equal(t, "subnet-00000000000000002", rep.Slots[1].Subnets[0])
}

// withoutBackups drops the backup bucket and alarm.
func withoutBackups(rs []mockaws.Resource) []mockaws.Resource {
	var out []mockaws.Resource
	for _, r := range rs {
		if r.Type != simBucket && r.Type != simAlarm {
			out = append(out, r)
		}
	}
	return out
}

func scenario(t *testing.T, rec Recovery, name string) RecoveryScenario {
	t.Helper()
	for _, s := range rec.Scenarios {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no scenario %q", name)
	return RecoveryScenario{}
}

func TestRecoveryReadsTheBackupsFromTheRecordedAlarmAndBucket(t *testing.T) {
	rep := failures(t, controlPlane(abc, abc))
	rec := rep.Recovery
	require.True(t, rec.Backups)
	require.Equal(t, "c-etcd-123456789012-r", rec.Bucket)
	require.Equal(t, 15, rec.RPOMinutes, "the alarm's period")
	require.Equal(t, "alarm", rec.RPOFrom)
	var names []string
	for _, s := range rec.Scenarios {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{ScenarioOneVolume, ScenarioMajority, ScenarioAllMastersDown, ScenarioBadChange}, names)

	one := scenario(t, rec, ScenarioOneVolume)
	require.Contains(t, one.Happens, "quorum is kept (2 of 3 members)")
	require.Contains(t, one.Happens, "refuses the blank volume")
	require.Equal(t, "none: the other members hold every write", one.DataLost)
	require.Contains(t, one.Recover, "docs/masters.md#lost-etcd-volume")

	majority := scenario(t, rec, ScenarioMajority)
	require.Contains(t, majority.Happens, "refuse to format")
	require.Contains(t, majority.DataLost, "at most 15 minutes")
	require.Contains(t, majority.Recover, "kinfra etcd restore --stack test --snapshot latest")

	require.Equal(t, "none", scenario(t, rec, ScenarioAllMastersDown).DataLost)
	bad := scenario(t, rec, ScenarioBadChange)
	require.Contains(t, bad.Recover, "kinfra etcd restore --stack test --snapshot <key>")
	require.Contains(t, bad.DataLost, "at most 15 minutes")

	var buf bytes.Buffer
	rep.Text(&buf)
	require.Contains(t, buf.String(), "Recovery: etcd snapshots every 15 minutes to s3://c-etcd-123456789012-r/; recovery point 15 minutes")
	require.Contains(t, buf.String(), "  a majority of etcd volumes lost\n    happens:")
}

func TestRecoveryFallsBackToTheConfigForWhatIsNotRecorded(t *testing.T) {
	// An existing bucket: no bucket resource; the alarm has no period.
	var rs []mockaws.Resource
	for _, r := range controlPlane(abc, abc) {
		if r.Type == simBucket {
			continue
		}
		if r.Type == simAlarm {
			delete(r.Inputs, "period")
		}
		rs = append(rs, r)
	}
	c := &spec.Cluster{Backup: spec.Backup{Bucket: "central", Prefix: "k8s/c", IntervalMinutes: 30}}
	rep, err := (&Plan{Stack: "test", Config: c, Resources: rs}).Failures()
	require.NoError(t, err)
	require.True(t, rep.OK, rep.Problems)
	require.Equal(t, Recovery{Backups: true, Bucket: "central", Prefix: "k8s/c", RPOMinutes: 30, RPOFrom: "config"},
		Recovery{Backups: rep.Recovery.Backups, Bucket: rep.Recovery.Bucket, Prefix: rep.Recovery.Prefix, RPOMinutes: rep.Recovery.RPOMinutes, RPOFrom: rep.Recovery.RPOFrom})
}

func TestWithoutBackupsAMajorityLossLosesTheClusterAndIsAProblemUnlessAcknowledged(t *testing.T) {
	rs := withoutBackups(controlPlane(abc, abc))
	rep := failures(t, rs)
	require.False(t, rep.Recovery.Backups)
	require.Zero(t, rep.Recovery.RPOMinutes)
	majority := scenario(t, rep.Recovery, ScenarioMajority)
	require.Contains(t, majority.DataLost, "the cluster's state is lost (no backups)")
	require.Contains(t, majority.Recover, "rebuild the cluster")
	require.Contains(t, scenario(t, rep.Recovery, ScenarioBadChange).DataLost, "no backups")
	problemsMention(t, rep, "etcd is not backed up")
	for _, l := range rep.ZoneLosses {
		require.True(t, l.QuorumKept, "the zones are fine; the backups are the problem")
	}
	var buf bytes.Buffer
	rep.Text(&buf)
	require.Contains(t, buf.String(), "Recovery: etcd is NOT backed up\n")

	// The stack's acknowledgement of backup/disabled accepts it.
	fs := findings.Run(rs)
	acks := []findings.Acknowledgement{{Rule: findings.BackupDisabled, Reason: "test cluster"}}
	p := &Plan{Stack: "test", Resources: rs, Findings: findings.Acknowledge(fs, acks)}
	rep, err := p.Failures()
	require.NoError(t, err)
	require.True(t, rep.OK, rep.Problems)
	require.Equal(t, "test cluster", rep.Recovery.Acknowledged)
	require.Contains(t, scenario(t, rep.Recovery, ScenarioMajority).DataLost, "no backups", "acknowledged, still lost")
	buf.Reset()
	rep.Text(&buf)
	require.Contains(t, buf.String(), "Recovery: etcd is NOT backed up (acknowledged: test cluster)")
}

func TestOneMemberLosingItsVolumeIsAMajorityLoss(t *testing.T) {
	rep := failures(t, controlPlane(abc, abc[:1]))
	one := scenario(t, rep.Recovery, ScenarioOneVolume)
	require.Contains(t, one.Happens, "with 1 member, that is a majority")
	require.Contains(t, one.Recover, "--snapshot latest")
}

// A control plane without the boot-failure alarm is reported as such (the
// hand-made one has none); with it, the report names it.
func TestRecoveryNamesTheBootFailureAlarm(t *testing.T) {
	rs := controlPlane(abc, abc)
	rep := failures(t, rs)
	require.Empty(t, rep.Recovery.BootAlarm)
	var buf bytes.Buffer
	rep.Text(&buf)
	require.Contains(t, buf.String(), "  A master whose boot fails (a refusal below too) retries, but NO alarm watches the boots\n")
	require.True(t, rep.OK, "a missing boot alarm is no loss of data or quorum: %v", rep.Problems)

	rs = append(rs, mockaws.Resource{Type: simAlarm, Name: "c-masters-boot-failed", ID: "c-master-boot-failed",
		URN:    "urn:pulumi:test::kinfra::kinfra:masters:ControlPlane$" + simAlarm + "::c-masters-boot-failed",
		Inputs: map[string]any{"name": "c-master-boot-failed", "namespace": bootstrap.BootMetricNamespace, "metricName": bootstrap.BootFailuresMetric}})
	rep = failures(t, rs)
	require.Equal(t, "c-master-boot-failed", rep.Recovery.BootAlarm)
	require.True(t, rep.Recovery.Backups, "the boot alarm is not the backup-age alarm, nor hides it")
	require.Equal(t, 15, rep.Recovery.RPOMinutes)
	buf.Reset()
	rep.Text(&buf)
	require.Contains(t, buf.String(), "  A master whose boot fails (a refusal below too) retries, 30 s growing to 10 minutes apart, and alarms c-master-boot-failed\n")
}
