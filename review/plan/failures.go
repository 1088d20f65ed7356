package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/ports"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/review/findings"
)

// Resource types the failure simulation reads.
const (
	simSubnet      = "aws:ec2/subnet:Subnet"
	simGroupType   = "aws:autoscaling/group:Group"
	simAttachment  = "aws:autoscaling/attachment:Attachment"
	simTargetGroup = "aws:lb/targetGroup:TargetGroup"
	simVolume      = "aws:ebs/volume:Volume"
	simRecord      = "aws:route53/record:Record"
	simZone        = "aws:route53/zone:Zone"
	simBucket      = "aws:s3/bucketV2:BucketV2"
	simAlarm       = "aws:cloudwatch/metricAlarm:MetricAlarm"
)

// FailureReport is what losing each availability zone would do to a planned
// stack, and whether each master slot's replacement keeps its identity. It
// is computed from the recorded resources alone (Plan.Failures), not from the
// config: it checks what the program would create.
type FailureReport struct {
	Stack string `json:"stack"`
	// Zones are the availability zones the plan's subnets are in.
	Zones []string `json:"zones"`
	// EtcdMembers is the number of master slots (one etcd member each).
	EtcdMembers int `json:"etcdMembers"`
	// Quorum is the number of members etcd needs: more than half.
	Quorum int `json:"quorum"`
	// APITargets are the masters attached to the API's target group.
	APITargets int            `json:"apiTargets"`
	ZoneLosses []ZoneLoss     `json:"zoneLosses"`
	Slots      []SlotIdentity `json:"slots"`
	// Recovery is what losing etcd's data would cost, and how it comes back.
	Recovery Recovery `json:"recovery"`
	// Problems are the reasons the stack does not survive the loss of any
	// one zone, a slot would not keep its identity, or etcd is not backed
	// up (unless the stack acknowledges backup/disabled); empty when OK.
	Problems []string `json:"problems"`
	// Warnings do not fail the report: acknowledgements of zone losses
	// that no longer happen.
	Warnings []string `json:"warnings"`
	OK       bool     `json:"ok"`
}

// acknowledge returns the reason of the stack's first acknowledgement that
// accepts f, marking it used; "" when none does.
func (p *Plan) acknowledge(f findings.Finding, used []bool) string {
	for i, a := range p.Acknowledgements {
		if a.Accepts(f) {
			used[i] = true
			return a.Reason
		}
	}
	return ""
}

// ZoneLoss is the state of the cluster with one availability zone gone.
type ZoneLoss struct {
	Zone string `json:"zone"`
	// MembersLost are the slots whose instance or etcd volume is in the zone.
	MembersLost      []int `json:"membersLost"`
	MembersRemaining int   `json:"membersRemaining"`
	QuorumKept       bool  `json:"quorumKept"`
	// APITargetsLeft are the API target group's masters outside the zone.
	APITargetsLeft int `json:"apiTargetsLeft"`
	// PoolsWithoutCapacity are the node pools whose every subnet is in the
	// zone.
	PoolsWithoutCapacity []string       `json:"poolsWithoutCapacity"`
	PoolsKeepingCapacity []PoolCapacity `json:"poolsKeepingCapacity"`
	// Acknowledged is the reason the stack accepts that this zone's loss
	// stops the cluster (its failures/zone-loss acknowledgement).
	Acknowledged string `json:"acknowledged,omitempty"`
}

// PoolCapacity is a node pool that keeps capacity: ZonesLeft of its Zones.
type PoolCapacity struct {
	Pool      string `json:"pool"`
	ZonesLeft int    `json:"zonesLeft"`
	Zones     int    `json:"zones"`
}

// SlotIdentity is what a master slot's replacement instance finds: the one
// zone its group launches in, the etcd volume it attaches (which must be in
// that zone, protected and retained), its DNS record and at most one
// instance.
type SlotIdentity struct {
	Slot       int      `json:"slot"`
	Group      string   `json:"group"`
	Subnets    []string `json:"subnets"`
	Zone       string   `json:"zone"`
	Volume     string   `json:"volume"`
	VolumeZone string   `json:"volumeZone"`
	Protected  bool     `json:"protected"`
	Retained   bool     `json:"retained"`
	Record     string   `json:"record"`
	MaxSize    int      `json:"maxSize"`
	Problems   []string `json:"problems"`
	OK         bool     `json:"ok"`
}

// Recovery is how the stack gets etcd's data back after each kind of loss.
type Recovery struct {
	// Backups reports whether etcd is backed up: the plan records the
	// backup-age alarm, which kinfra creates exactly when backups are on.
	Backups bool `json:"backups"`
	// Bucket and Prefix are where the snapshots go ("" when unknown).
	Bucket string `json:"bucket,omitempty"`
	Prefix string `json:"prefix,omitempty"`
	// RPOMinutes is the recovery point objective: the backup interval, the
	// most data a restore from the newest snapshot loses. 0 without backups.
	RPOMinutes int `json:"rpoMinutes"`
	// RPOFrom says where the interval was read: "alarm" (the recorded
	// alarm's period) or "config" (the plan's cluster.backup).
	RPOFrom string `json:"rpoFrom,omitempty"`
	// Acknowledged is the reason the stack gives for running without
	// backups (its backup/disabled acknowledgement).
	Acknowledged string `json:"acknowledged,omitempty"`
	// BootAlarm is the AWS name of the alarm on failed master boots, which
	// tells an operator that a boot (a refusal below included) needs them:
	// boots retry forever, and EC2 sees nothing. "" when the plan has none.
	BootAlarm string `json:"bootAlarm,omitempty"`
	// BootStatus is where each slot's boot status is read, with <slot>
	// for the slot ("" when the cluster's name is unknown).
	BootStatus string             `json:"bootStatus,omitempty"`
	Scenarios  []RecoveryScenario `json:"scenarios"`
}

// isBootFailedAlarm reports whether a recorded resource is the alarm on the
// masters' failed boot attempts.
func isBootFailedAlarm(r mockaws.Resource) bool {
	return r.Type == simAlarm && mockaws.Str(r.Inputs["namespace"]) == bootstrap.BootMetricNamespace &&
		mockaws.Str(r.Inputs["metricName"]) == bootstrap.BootFailuresMetric
}

// RecoveryScenario is one way of losing etcd's data, what then happens,
// what is lost and what recovers it.
type RecoveryScenario struct {
	Name     string `json:"name"`
	Happens  string `json:"happens"`
	DataLost string `json:"dataLost"`
	Recover  string `json:"recover"`
}

// Recovery scenario names.
const (
	ScenarioOneVolume      = "one etcd volume lost"
	ScenarioMajority       = "a majority of etcd volumes lost"
	ScenarioAllMastersDown = "every master down, volumes intact"
	ScenarioBadChange      = "a bad delete or corruption"
)

// simGroup is an Auto Scaling Group as the simulation sees it.
type simGroup struct {
	r       mockaws.Resource
	subnets []string
	zones   []string // sorted, unique; empty when a subnet's zone is unknown
	unknown []string // subnets of no known zone
}

// Failures simulates the loss of each availability zone over the plan's
// recorded resources: etcd quorum, API targets and node pool capacity, and
// checks every master slot's identity. Zones of subnets are the recorded
// subnets' availabilityZone, keyed by their IDs, which the groups'
// vpcZoneIdentifiers reference; subnets the stack adopts are not recorded,
// so their zones come from their declaration in the config
// (network.existing, which the program checks against AWS).
func (p *Plan) Failures() (FailureReport, error) {
	rep := FailureReport{Stack: p.Stack, Zones: []string{}, ZoneLosses: []ZoneLoss{}, Slots: []SlotIdentity{}, Problems: []string{}, Warnings: []string{}}
	used := make([]bool, len(p.Acknowledgements))
	if len(p.Resources) == 0 {
		return rep, fmt.Errorf("the plan of stack %s has no resources to simulate failures on", p.Stack)
	}
	subnetZone := map[string]string{}
	for _, r := range mockaws.OfType(p.Resources, simSubnet) {
		if z := mockaws.Str(r.Inputs["availabilityZone"]); z != "" && r.ID != "" {
			subnetZone[r.ID] = z
		}
	}
	if p.Config != nil && p.Config.Network.Existing != nil {
		ex := p.Config.Network.Existing
		for _, s := range slices.Concat(ex.PrivateSubnets, ex.PublicSubnets) {
			subnetZone[s.ID] = s.AvailabilityZone
		}
	}
	zoneSet := map[string]bool{}
	for _, z := range subnetZone {
		zoneSet[z] = true
	}

	// The groups: master slots by their slot tag, node pools by their pool
	// tag.
	slots := map[int]simGroup{}
	pools := map[string][]simGroup{}
	byName := map[string]string{} // group name (or ID) → URN
	for _, r := range mockaws.OfType(p.Resources, simGroupType) {
		g := simGroup{r: r, subnets: mockaws.Strings(r.Inputs["vpcZoneIdentifiers"])}
		zs := map[string]bool{}
		for _, s := range g.subnets {
			if z, ok := subnetZone[s]; ok {
				zs[z] = true
			} else {
				g.unknown = append(g.unknown, s)
			}
		}
		for _, z := range mockaws.Strings(r.Inputs["availabilityZones"]) {
			zs[z] = true
		}
		for z := range zs {
			g.zones = append(g.zones, z)
			zoneSet[z] = true
		}
		sort.Strings(g.zones)
		name := mockaws.Str(r.Inputs["name"])
		if name == "" {
			name = r.ID
		}
		byName[name] = r.URN
		t := mockaws.Tags(r.Inputs)
		if v, ok := tags.Slot(t); ok {
			i, err := strconv.Atoi(v)
			if err != nil || i < 0 {
				rep.Problems = append(rep.Problems, fmt.Sprintf("group %s: master slot tag %q is not a slot index", r.Name, v))
				continue
			}
			if prev, dup := slots[i]; dup {
				rep.Problems = append(rep.Problems, fmt.Sprintf("master slot %d has two groups: %s and %s", i, prev.r.Name, r.Name))
				continue
			}
			slots[i] = g
		} else if v, ok := tags.Pool(t); ok {
			pools[v] = append(pools[v], g)
		}
	}
	if len(slots) == 0 {
		rep.Problems = append(rep.Problems, "the plan has no master groups (no group tagged "+tags.MasterSlot+")")
	}

	// The API target group: the target group on the API port. A master is
	// an API target when its group lists the target group's ARN
	// (targetGroupArns) or an attachment joins them.
	apiTG := map[string]bool{}
	for _, r := range mockaws.OfType(p.Resources, simTargetGroup) {
		if inputNum(r.Inputs["port"]) == ports.API {
			apiTG[r.ID] = true
		}
	}
	if len(apiTG) == 0 {
		rep.Problems = append(rep.Problems, fmt.Sprintf("the plan has no target group on the API port %d", ports.API))
	}
	isAPIArn := func(arn string) bool {
		for id := range apiTG {
			if arn == id || strings.HasSuffix(arn, ":targetgroup/"+id) || strings.HasSuffix(arn, "/"+id) {
				return true
			}
		}
		return false
	}
	attached := map[string]bool{} // group URN
	for _, g := range slots {
		for _, arn := range mockaws.Strings(g.r.Inputs["targetGroupArns"]) {
			if isAPIArn(arn) {
				attached[g.r.URN] = true
			}
		}
	}
	for _, r := range mockaws.OfType(p.Resources, simAttachment) {
		if isAPIArn(mockaws.Str(r.Inputs["lbTargetGroupArn"])) {
			if urn, ok := byName[mockaws.Str(r.Inputs["autoscalingGroupName"])]; ok {
				attached[urn] = true
			}
		}
	}

	// Etcd volumes by slot, and the private zone's records.
	volumes := map[int][]mockaws.Resource{}
	for _, r := range mockaws.OfType(p.Resources, simVolume) {
		t := mockaws.Tags(r.Inputs)
		if !tags.IsEtcdVolume(t) {
			continue
		}
		// An etcd volume tagged for no slot belongs to none.
		if v, ok := tags.Slot(t); ok {
			if i, err := strconv.Atoi(v); err == nil {
				volumes[i] = append(volumes[i], r)
			}
			if z := mockaws.Str(r.Inputs["availabilityZone"]); z != "" {
				zoneSet[z] = true
			}
		}
	}
	records := map[string]bool{} // "zoneID name"
	for _, r := range mockaws.OfType(p.Resources, simRecord) {
		records[mockaws.Str(r.Inputs["zoneId"])+" "+strings.TrimSuffix(mockaws.Str(r.Inputs["name"]), ".")] = true
	}
	zones := mockaws.OfType(p.Resources, simZone)

	indexes := make([]int, 0, len(slots))
	for i := range slots {
		indexes = append(indexes, i)
	}
	sort.Ints(indexes)
	for n, i := range indexes {
		if n != i {
			rep.Problems = append(rep.Problems, fmt.Sprintf("master slots are not numbered 0 to %d: slot %d is missing", len(slots)-1, n))
			break
		}
	}
	for i := range volumes {
		if _, ok := slots[i]; !ok {
			rep.Problems = append(rep.Problems, fmt.Sprintf("etcd volume %s belongs to slot %d, which has no group", volumes[i][0].Name, i))
		}
	}
	for _, i := range indexes {
		s := slotIdentity(i, slots[i], volumes[i], zones, records)
		rep.Slots = append(rep.Slots, s)
		for _, pr := range s.Problems {
			rep.Problems = append(rep.Problems, fmt.Sprintf("slot %d: %s", i, pr))
		}
	}

	for z := range zoneSet {
		rep.Zones = append(rep.Zones, z)
	}
	sort.Strings(rep.Zones)
	rep.EtcdMembers = len(slots)
	rep.Quorum = len(slots)/2 + 1
	rep.APITargets = len(attached)
	if len(slots) > 0 && len(attached) == 0 {
		rep.Problems = append(rep.Problems, "no master is attached to the API target group")
	}

	poolNames := make([]string, 0, len(pools))
	for name := range pools {
		poolNames = append(poolNames, name)
	}
	sort.Strings(poolNames)
	poolZones := map[string][]string{}
	for _, name := range poolNames {
		zs := map[string]bool{}
		for _, g := range pools[name] {
			for _, z := range g.zones {
				zs[z] = true
			}
		}
		for z := range zs {
			poolZones[name] = append(poolZones[name], z)
		}
	}

	for _, z := range rep.Zones {
		loss := ZoneLoss{Zone: z, MembersLost: []int{}, PoolsWithoutCapacity: []string{}, PoolsKeepingCapacity: []PoolCapacity{}}
		for _, i := range indexes {
			g := slots[i]
			// A member is lost when its instance may run in the zone, when
			// no zone is known for it, or when its data (the volume) is there.
			lost := len(g.zones) == 0 || len(g.unknown) > 0 || slices.Contains(g.zones, z)
			for _, v := range volumes[i] {
				if mockaws.Str(v.Inputs["availabilityZone"]) == z {
					lost = true
				}
			}
			if lost {
				loss.MembersLost = append(loss.MembersLost, i)
			} else if attached[g.r.URN] {
				loss.APITargetsLeft++
			}
		}
		loss.MembersRemaining = len(slots) - len(loss.MembersLost)
		loss.QuorumKept = len(slots) > 0 && loss.MembersRemaining > len(slots)/2
		for _, name := range poolNames {
			left := 0
			for _, pz := range poolZones[name] {
				if pz != z {
					left++
				}
			}
			if left == 0 {
				loss.PoolsWithoutCapacity = append(loss.PoolsWithoutCapacity, name)
			} else {
				loss.PoolsKeepingCapacity = append(loss.PoolsKeepingCapacity, PoolCapacity{Pool: name, ZonesLeft: left, Zones: len(poolZones[name])})
			}
		}
		var breaks []string
		if len(slots) > 0 && !loss.QuorumKept {
			breaks = append(breaks, fmt.Sprintf("losing %s leaves %d of %d etcd members (slots %s lost): quorum needs %d",
				z, loss.MembersRemaining, len(slots), slotList(loss.MembersLost), rep.Quorum))
		}
		if len(slots) > 0 && loss.APITargetsLeft == 0 {
			breaks = append(breaks, fmt.Sprintf("losing %s leaves no master in the API target group", z))
		}
		if len(breaks) > 0 {
			loss.Acknowledged = p.acknowledge(findings.Finding{Rule: findings.ZoneLoss, Resource: z}, used)
			if loss.Acknowledged == "" {
				rep.Problems = append(rep.Problems, breaks...)
			}
		}
		rep.ZoneLosses = append(rep.ZoneLosses, loss)
	}
	for i, a := range p.Acknowledgements {
		if a.Rule == findings.ZoneLoss && !used[i] {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s acknowledges %s on %s, but no such zone loss breaks the cluster; remove it",
				findings.AcknowledgementPath(i), findings.ZoneLoss, a.On("any zone")))
		}
	}
	if len(rep.Zones) == 0 {
		rep.Problems = append(rep.Problems, "no availability zone is known for any subnet of the plan")
	}
	rep.Recovery = p.recovery(rep.EtcdMembers)
	if rep.EtcdMembers > 0 && !rep.Recovery.Backups && rep.Recovery.Acknowledged == "" {
		rep.Problems = append(rep.Problems, "etcd is not backed up: losing a majority of its volumes, or a bad delete, loses the cluster's state; "+
			"set cluster.backup.enabled: true, or acknowledge "+findings.BackupDisabled+" with the reason")
	}
	rep.OK = len(rep.Problems) == 0
	return rep, nil
}

// recovery reads the stack's backups from the recorded resources (the
// backup-age alarm and its period, the control plane's bucket), falling
// back to the plan's config for what is not recorded (an existing bucket,
// the prefix), and lays out each data-loss scenario for members members.
func (p *Plan) recovery(members int) Recovery {
	rec := Recovery{Scenarios: []RecoveryScenario{}}
	for _, r := range p.Resources {
		switch {
		case findings.IsBackupAgeAlarm(r):
			rec.Backups = true
			if period := inputNum(r.Inputs["period"]); period > 0 {
				rec.RPOMinutes, rec.RPOFrom = period/60, "alarm"
			}
		case r.Type == simBucket && strings.Contains(r.URN, "kinfra:masters:ControlPlane$"+simBucket+"::") && !isIssuerBucket(r):
			rec.Bucket = mockaws.Str(r.Inputs["bucket"])
		case isBootFailedAlarm(r):
			rec.BootAlarm = mockaws.Str(r.Inputs["name"])
			if rec.BootAlarm == "" {
				rec.BootAlarm = r.Name
			}
		}
	}
	if p.Config != nil && p.Config.Name != "" {
		rec.BootStatus = bootstrap.ParameterPrefix(p.Config.Name) + "/" + bootstrap.StatusGroup + "/master-<slot>"
	}
	if c := p.Config; c != nil && rec.Backups {
		if rec.Bucket == "" {
			rec.Bucket = c.Backup.Bucket
		}
		rec.Prefix = c.Backup.Prefix
		if rec.RPOMinutes == 0 && c.Backup.IntervalMinutes > 0 {
			rec.RPOMinutes, rec.RPOFrom = c.Backup.IntervalMinutes, "config"
		}
	}
	for _, f := range p.Findings {
		if f.Rule == findings.BackupDisabled && f.Acknowledged != "" {
			rec.Acknowledged = f.Acknowledged
		}
	}
	if members == 0 {
		return rec
	}

	stack := p.Stack
	quorum := members/2 + 1
	lastSnapshot := "the writes since the newest snapshot"
	if rec.RPOMinutes > 0 {
		lastSnapshot = fmt.Sprintf("the writes since the newest snapshot: at most %d minutes", rec.RPOMinutes)
	}
	restore := func(snapshot string) string {
		return fmt.Sprintf("kinfra etcd restore --stack %s --snapshot %s", stack, snapshot)
	}
	majority := RecoveryScenario{
		Name: ScenarioMajority,
		Happens: fmt.Sprintf("etcd loses quorum (it needs %d of %d members) and the API stops; the boots refuse to format the blank volumes, so no new, empty cluster starts in the old one's place",
			quorum, members),
		DataLost: lastSnapshot,
		Recover:  restore("latest") + ": every member restores the newest verified snapshot as a new generation",
	}
	if !rec.Backups {
		majority.DataLost = "everything: the cluster's state is lost (no backups)"
		majority.Recover = "none: rebuild the cluster and redeploy every workload; turn backups on (cluster.backup.enabled) before it happens"
	}
	one := RecoveryScenario{
		Name:     ScenarioOneVolume,
		Happens:  fmt.Sprintf("quorum is kept (%d of %d members); the slot's boot refuses the blank volume, since its member has run", members-1, members),
		DataLost: "none: the other members hold every write",
		Recover:  "replace the member by hand while the others keep quorum: docs/masters.md#lost-etcd-volume",
	}
	if members-1 < quorum {
		one.Happens = fmt.Sprintf("with %d member, that is a majority: %s", members, majority.Happens)
		one.DataLost, one.Recover = majority.DataLost, majority.Recover
	}
	bad := RecoveryScenario{
		Name:     ScenarioBadChange,
		Happens:  "etcd replicates the delete or the corrupt data to every member; quorum is kept, the data is wrong",
		DataLost: "the writes between the snapshot restored and the change (at most one interval), and every write after the change",
		Recover:  restore("<key>") + ", with the key of the newest snapshot taken before the change (listed under the bucket's tier prefixes)",
	}
	if rec.RPOMinutes > 0 {
		bad.DataLost = fmt.Sprintf("the writes between the snapshot restored and the change (at most %d minutes), and every write after the change", rec.RPOMinutes)
	}
	if !rec.Backups {
		bad.DataLost = "what the change deleted or corrupted: there is no earlier state to restore (no backups)"
		bad.Recover = "none from kinfra: repair the objects by hand, or recreate them from their sources"
	}
	rec.Scenarios = append(rec.Scenarios, one, majority,
		RecoveryScenario{
			Name:     ScenarioAllMastersDown,
			Happens:  "the API is down while no member runs; each replacement instance attaches its slot's volume and rejoins as the same member with its data",
			DataLost: "none",
			Recover:  "nothing to run: the master groups replace the instances; quorum returns with a majority of them",
		},
		bad)
	return rec
}

// slotIdentity checks that slot i's replacement keeps its identity.
func slotIdentity(i int, g simGroup, vols []mockaws.Resource, zones []mockaws.Resource, records map[string]bool) SlotIdentity {
	s := SlotIdentity{Slot: i, Group: g.r.Name, Subnets: g.subnets, MaxSize: inputNum(g.r.Inputs["maxSize"]), Problems: []string{}}
	if s.Subnets == nil {
		s.Subnets = []string{}
	}
	problem := func(format string, args ...any) { s.Problems = append(s.Problems, fmt.Sprintf(format, args...)) }
	switch {
	case len(g.unknown) > 0:
		problem("group %s: no zone is known for subnet %s", g.r.Name, strings.Join(g.unknown, ", "))
	case len(g.zones) != 1 || len(g.subnets) > 1:
		problem("group %s is not pinned to one zone's subnet: subnets %v in zones %v", g.r.Name, g.subnets, g.zones)
	}
	if len(g.zones) == 1 {
		s.Zone = g.zones[0]
	}
	switch len(vols) {
	case 0:
		problem("no etcd volume is tagged %s=%d", tags.MasterSlot, i)
	case 1:
		v := vols[0]
		s.Volume, s.VolumeZone = v.Name, mockaws.Str(v.Inputs["availabilityZone"])
		s.Protected, s.Retained = v.Options.Protect, v.Options.RetainOnDelete
		if s.Zone != "" && s.VolumeZone != s.Zone {
			problem("etcd volume %s is in %s, but the group launches in %s: a replacement could not attach it", v.Name, s.VolumeZone, s.Zone)
		}
		if !s.Protected {
			problem("etcd volume %s is not protected: Pulumi could delete it", v.Name)
		}
		if !s.Retained {
			problem("etcd volume %s is not retained on delete: leaving the stack would delete it", v.Name)
		}
	default:
		var names []string
		for _, v := range vols {
			names = append(names, v.Name)
		}
		problem("%d etcd volumes are tagged for the slot: %s", len(vols), strings.Join(names, ", "))
	}
	for _, z := range zones {
		name := tags.EtcdRecord(i, strings.TrimSuffix(mockaws.Str(z.Inputs["name"]), "."))
		if records[z.ID+" "+name] {
			s.Record = name
		}
	}
	if s.Record == "" {
		problem("no DNS record %s.<private domain> in the cluster's private zone", tags.EtcdMember(i))
	}
	if s.MaxSize != 1 {
		problem("group %s has max size %d: a slot runs at most one instance", g.r.Name, s.MaxSize)
	}
	s.OK = len(s.Problems) == 0
	return s
}

// Text writes the report for a person to read.
func (r FailureReport) Text(w io.Writer) {
	fmt.Fprintf(w, "Failure simulation: stack %s, %d etcd members (quorum %d), %d API targets, zones %s\n\n",
		r.Stack, r.EtcdMembers, r.Quorum, r.APITargets, strings.Join(r.Zones, ", "))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ZONE LOST\tMEMBERS LOST\tREMAINING\tQUORUM\tAPI TARGETS LEFT\tPOOLS WITHOUT CAPACITY\tPOOLS KEEPING CAPACITY (zones left)")
	for _, l := range r.ZoneLosses {
		quorum := "kept"
		if !l.QuorumKept {
			quorum = "LOST"
		}
		lost := "none"
		if len(l.MembersLost) > 0 {
			word := "slot"
			if len(l.MembersLost) > 1 {
				word = "slots"
			}
			lost = fmt.Sprintf("%d (%s %s)", len(l.MembersLost), word, slotList(l.MembersLost))
		}
		down := "none"
		if len(l.PoolsWithoutCapacity) > 0 {
			down = strings.Join(l.PoolsWithoutCapacity, ", ")
		}
		var up []string
		for _, p := range l.PoolsKeepingCapacity {
			up = append(up, fmt.Sprintf("%s %d/%d", p.Pool, p.ZonesLeft, p.Zones))
		}
		if len(up) == 0 {
			up = []string{"none"}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%d/%d\t%s\t%s\n", l.Zone, lost, l.MembersRemaining, r.EtcdMembers, quorum,
			l.APITargetsLeft, r.APITargets, down, strings.Join(up, ", "))
	}
	_ = tw.Flush()

	fmt.Fprintln(w, "\nMaster slots: a replacement instance keeps the slot's identity")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SLOT\tZONE\tSUBNET\tETCD VOLUME\tVOLUME ZONE\tPROTECT\tRETAIN\tRECORD\tMAX SIZE\tIDENTITY")
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "NO"
	}
	for _, s := range r.Slots {
		ok := "kept"
		if !s.OK {
			ok = "BROKEN"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", s.Slot, dashIfEmpty(s.Zone), dashIfEmpty(strings.Join(s.Subnets, ",")), dashIfEmpty(s.Volume), dashIfEmpty(s.VolumeZone),
			yes(s.Protected), yes(s.Retained), dashIfEmpty(s.Record), s.MaxSize, ok)
	}
	_ = tw.Flush()
	r.Recovery.text(w)
	var accepted []string
	for _, l := range r.ZoneLosses {
		if l.Acknowledged != "" {
			accepted = append(accepted, fmt.Sprintf("  %s (acknowledged: %s)", l.Zone, l.Acknowledged))
		}
	}
	switch {
	case r.OK && len(accepted) > 0:
		fmt.Fprintf(w, "\nThe stack does NOT survive the loss of these zones, which it accepts:\n%s\nEvery slot keeps its identity.\n", strings.Join(accepted, "\n"))
	case r.OK:
		fmt.Fprintln(w, "\nThe stack survives the loss of any one zone, and every slot keeps its identity.")
	default:
		fmt.Fprintf(w, "\n%d problems (listed on stderr).\n", len(r.Problems))
	}
}

// text writes the recovery section.
func (r Recovery) text(w io.Writer) {
	switch {
	case r.Backups:
		where := "the backup bucket"
		if r.Bucket != "" {
			where = "s3://" + r.Bucket + "/"
			if r.Prefix != "" {
				where += r.Prefix + "/"
			}
		}
		every := "on the backup timer"
		if r.RPOMinutes > 0 {
			every = fmt.Sprintf("every %d minutes", r.RPOMinutes)
		}
		fmt.Fprintf(w, "\nRecovery: etcd snapshots %s to %s; recovery point %s\n", every, where, dashIfEmpty(rpo(r.RPOMinutes)))
	case r.Acknowledged != "":
		fmt.Fprintf(w, "\nRecovery: etcd is NOT backed up (acknowledged: %s)\n", r.Acknowledged)
	default:
		fmt.Fprintln(w, "\nRecovery: etcd is NOT backed up")
	}
	if len(r.Scenarios) > 0 {
		status := ""
		if r.BootStatus != "" {
			status = "; each slot's status: aws ssm get-parameter --name " + r.BootStatus
		}
		if r.BootAlarm != "" {
			fmt.Fprintf(w, "  A master whose boot fails (a refusal below too) retries, 30 s growing to 10 minutes apart, and alarms %s%s\n", r.BootAlarm, status)
		} else {
			fmt.Fprintf(w, "  A master whose boot fails (a refusal below too) retries, but NO alarm watches the boots%s\n", status)
		}
	}
	for _, s := range r.Scenarios {
		fmt.Fprintf(w, "  %s\n    happens:   %s\n    data lost: %s\n    recover:   %s\n", s.Name, s.Happens, s.DataLost, s.Recover)
	}
}

func rpo(minutes int) string {
	if minutes <= 0 {
		return ""
	}
	return fmt.Sprintf("%d minutes", minutes)
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func slotList(is []int) string {
	s := make([]string, len(is))
	for i, v := range is {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ", ")
}

// isIssuerBucket: the bucket that publishes the service-account issuer,
// not the backups.
func isIssuerBucket(r mockaws.Resource) bool {
	return mockaws.Tags(r.Inputs)[tags.Role] == masters.IssuerRole
}

// inputNum reads a recorded number (float64 after Plain; int in hand-made
// resources); -1 when absent.
func inputNum(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int:
		return n
	}
	return -1
}

// JSON writes the report as one indented JSON object.
func (r FailureReport) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
