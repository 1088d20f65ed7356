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
	"github.com/kinfra-dev/kinfra/components/workers"
	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/ports"
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
	// Problems are the reasons the stack does not survive the loss of any
	// one zone or a slot would not keep its identity; empty when OK.
	Problems []string `json:"problems"`
	OK       bool     `json:"ok"`
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
	rep := FailureReport{Stack: p.Stack, Zones: []string{}, ZoneLosses: []ZoneLoss{}, Slots: []SlotIdentity{}, Problems: []string{}}
	if len(p.Resources) == 0 {
		return rep, fmt.Errorf("the plan of stack %s has no resources to simulate failures on", p.Stack)
	}
	subnetZone := map[string]string{}
	for _, r := range mockaws.OfType(p.Resources, simSubnet) {
		if z := inputStr(r.Inputs["availabilityZone"]); z != "" && r.ID != "" {
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
		g := simGroup{r: r, subnets: inputStrs(r.Inputs["vpcZoneIdentifiers"])}
		zs := map[string]bool{}
		for _, s := range g.subnets {
			if z, ok := subnetZone[s]; ok {
				zs[z] = true
			} else {
				g.unknown = append(g.unknown, s)
			}
		}
		for _, z := range inputStrs(r.Inputs["availabilityZones"]) {
			zs[z] = true
		}
		for z := range zs {
			g.zones = append(g.zones, z)
			zoneSet[z] = true
		}
		sort.Strings(g.zones)
		name := inputStr(r.Inputs["name"])
		if name == "" {
			name = r.ID
		}
		byName[name] = r.URN
		if v, ok := inputTag(r.Inputs, masters.SlotTag); ok {
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
		} else if v, ok := inputTag(r.Inputs, workers.PoolTag); ok {
			pools[v] = append(pools[v], g)
		}
	}
	if len(slots) == 0 {
		rep.Problems = append(rep.Problems, "the plan has no master groups (no group tagged "+masters.SlotTag+")")
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
		for _, arn := range inputStrs(g.r.Inputs["targetGroupArns"]) {
			if isAPIArn(arn) {
				attached[g.r.URN] = true
			}
		}
	}
	for _, r := range mockaws.OfType(p.Resources, simAttachment) {
		if isAPIArn(inputStr(r.Inputs["lbTargetGroupArn"])) {
			if urn, ok := byName[inputStr(r.Inputs["autoscalingGroupName"])]; ok {
				attached[urn] = true
			}
		}
	}

	// Etcd volumes by slot, and the private zone's records.
	volumes := map[int][]mockaws.Resource{}
	for _, r := range mockaws.OfType(p.Resources, simVolume) {
		if v, ok := inputTag(r.Inputs, masters.SlotTag); ok {
			if i, err := strconv.Atoi(v); err == nil {
				volumes[i] = append(volumes[i], r)
			}
			if z := inputStr(r.Inputs["availabilityZone"]); z != "" {
				zoneSet[z] = true
			}
		}
	}
	records := map[string]bool{} // "zoneID name"
	for _, r := range mockaws.OfType(p.Resources, simRecord) {
		records[inputStr(r.Inputs["zoneId"])+" "+strings.TrimSuffix(inputStr(r.Inputs["name"]), ".")] = true
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
				if inputStr(v.Inputs["availabilityZone"]) == z {
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
		if len(slots) > 0 && !loss.QuorumKept {
			rep.Problems = append(rep.Problems, fmt.Sprintf("losing %s leaves %d of %d etcd members (slots %s lost): quorum needs %d",
				z, loss.MembersRemaining, len(slots), slotList(loss.MembersLost), rep.Quorum))
		}
		if len(slots) > 0 && loss.APITargetsLeft == 0 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("losing %s leaves no master in the API target group", z))
		}
		rep.ZoneLosses = append(rep.ZoneLosses, loss)
	}
	if len(rep.Zones) == 0 {
		rep.Problems = append(rep.Problems, "no availability zone is known for any subnet of the plan")
	}
	rep.OK = len(rep.Problems) == 0
	return rep, nil
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
		problem("no etcd volume is tagged %s=%d", masters.SlotTag, i)
	case 1:
		v := vols[0]
		s.Volume, s.VolumeZone = v.Name, inputStr(v.Inputs["availabilityZone"])
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
		name := bootstrap.EtcdRecord(i, strings.TrimSuffix(inputStr(z.Inputs["name"]), "."))
		if records[z.ID+" "+name] {
			s.Record = name
		}
	}
	if s.Record == "" {
		problem("no DNS record %s.<private domain> in the cluster's private zone", bootstrap.EtcdName(i))
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
	if r.OK {
		fmt.Fprintln(w, "\nThe stack survives the loss of any one zone, and every slot keeps its identity.")
	} else {
		fmt.Fprintf(w, "\n%d problems (listed on stderr).\n", len(r.Problems))
	}
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

// inputTag finds a tag's value in recorded inputs: tags as a map (most
// resources) or as a list of {key, value} (Auto Scaling Groups).
func inputTag(inputs map[string]any, key string) (string, bool) {
	switch t := inputs["tags"].(type) {
	case map[string]any:
		v, ok := t[key]
		return inputStr(v), ok
	case []any:
		for _, e := range t {
			if m, ok := e.(map[string]any); ok && m["key"] == key {
				return inputStr(m["value"]), true
			}
		}
	}
	return "", false
}

func inputStr(v any) string {
	s, _ := v.(string)
	return s
}

func inputStrs(v any) []string {
	if s, ok := v.([]string); ok {
		return s
	}
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
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
