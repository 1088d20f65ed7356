package plan

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/components/workers"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
)

// --- a hand-made cluster -------------------------------------------------------

const diffTestURN = "urn:pulumi:test::kinfra::"

func diffURN(typ, name string) string { return diffTestURN + typ + "::" + name }

// idOf is the offline ID of a resource as the mock monitor makes it: what
// its dependents' inputs hold.
func diffID(typ, name string) string {
	return "id-" + resourceNeedles(mockaws.Resource{Type: typ, Name: name})[0]
}

func diffCustom(typ, name string, inputs map[string]any) mockaws.Resource {
	return mockaws.Resource{URN: diffURN(typ, name), Type: typ, Name: name, Custom: true, Inputs: inputs,
		Options: mockaws.Options{IgnoreChanges: []string{}, DependsOn: []string{}, Dependencies: []string{}}}
}

func diffASGTags(kv ...string) []any {
	var out []any
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, map[string]any{"key": kv[i], "value": kv[i+1], "propagateAtLaunch": true})
	}
	return out
}

const (
	dtVpc    = "aws:ec2/vpc:Vpc"
	dtSubnet = "aws:ec2/subnet:Subnet"
	dtVolume = "aws:ebs/volume:Volume"
	dtLT     = "aws:ec2/launchTemplate:LaunchTemplate"
	dtGroup  = "aws:autoscaling/group:Group"
	dtZone   = "aws:route53/zone:Zone"
	dtRecord = "aws:route53/record:Record"
	dtKey    = "aws:kms/key:Key"
	dtBucket = "aws:s3/bucketV2:BucketV2"
	dtParam  = "aws:ssm/parameter:Parameter"
	dtLB     = "aws:lb/loadBalancer:LoadBalancer"
	dtTG     = "aws:lb/targetGroup:TargetGroup"
	dtLis    = "aws:lb/listener:Listener"
	dtNAT    = "aws:ec2/natGateway:NatGateway"
	dtRT     = "aws:ec2/routeTable:RouteTable"
)

var diffZones = []string{"r-1a", "r-1b", "r-1c"}

// testCluster is a three-master cluster's plan, built fresh for each use.
func diffCluster() *Plan {
	vpc := diffID(dtVpc, "c-vpc")
	rs := []mockaws.Resource{diffCustom(dtVpc, "c-vpc", map[string]any{"cidrBlock": "10.0.0.0/16", "tags": map[string]any{"Name": "c-vpc"}})}
	var subnets []any
	for i, z := range diffZones {
		name := "c-private-" + z
		rs = append(rs, diffCustom(dtSubnet, name, map[string]any{"vpcId": vpc, "availabilityZone": z, "cidrBlock": fmt.Sprintf("10.0.%d.0/24", i),
			"tags": map[string]any{"Name": name, "kinfra.dev/tier": "private"}}))
		subnets = append(subnets, diffID(dtSubnet, name))
	}
	rs = append(rs, diffCustom(dtSubnet, "c-spare", map[string]any{"vpcId": vpc, "availabilityZone": "r-1a", "cidrBlock": "10.0.9.0/24"}))
	for i := range 3 {
		slot := fmt.Sprint(i)
		vol := diffCustom(dtVolume, "c-etcd-"+slot, map[string]any{"availabilityZone": diffZones[i], "size": 64.0, "encrypted": true, "type": "gp3",
			"tags": map[string]any{"Name": "c-etcd-" + slot, "kinfra.dev/role": "etcd", masters.SlotTag: slot}})
		vol.Options.Protect, vol.Options.RetainOnDelete = true, true
		lt := diffCustom(dtLT, "c-master-"+slot, map[string]any{"imageId": "ami-1", "instanceType": "m7i.2xlarge", "userData": "H4sIAAAAAAAA/" + strings.Repeat("x", 400),
			"tags": map[string]any{"Name": "c-master-" + slot, masters.SlotTag: slot}})
		group := diffCustom(dtGroup, "c-master-"+slot, map[string]any{"minSize": 1.0, "maxSize": 1.0, "desiredCapacity": 1.0,
			"vpcZoneIdentifiers": []any{subnets[i]}, "launchTemplate": map[string]any{"id": diffID(dtLT, "c-master-"+slot), "version": "1"},
			"tags": diffASGTags(masters.SlotTag, slot, "Name", "c-master-"+slot)})
		group.Options.IgnoreChanges = []string{masters.RolledGroupSetting}
		record := diffCustom(dtRecord, "c-etcd-"+slot, map[string]any{"name": "etcd-" + slot + ".c.k8s.internal", "type": "A", "ttl": 30.0,
			"zoneId": diffID(dtZone, "c-zone"), "records": []any{"127.0.0.1"}})
		record.Options.IgnoreChanges = []string{"records"}
		rs = append(rs, vol, lt, group, record)
	}
	pool := diffCustom(dtGroup, "c-pool-general", map[string]any{"minSize": 0.0, "maxSize": 10.0, "desiredCapacity": 0.0,
		"vpcZoneIdentifiers": subnets, "tags": diffASGTags(workers.PoolTag, "general", "k8s.io/cluster-autoscaler/enabled", "true")})
	pool.Options.IgnoreChanges = []string{"desiredCapacity"}
	kms := diffID(dtKey, "c-kms")
	rs = append(rs, pool,
		diffCustom(dtZone, "c-zone", map[string]any{"name": "c.k8s.internal", "comment": "kinfra c", "vpcs": []any{map[string]any{"vpcId": vpc, "vpcRegion": "r-1"}}}),
		diffCustom(dtRecord, "c-api", map[string]any{"name": "api.c.k8s.internal", "type": "A", "zoneId": diffID(dtZone, "c-zone"),
			"aliases": []any{map[string]any{"name": "lb.example", "zoneId": "Z1", "evaluateTargetHealth": false}}}),
		diffCustom(dtKey, "c-kms", map[string]any{"description": "kinfra c: PKI", "enableKeyRotation": true}),
		diffCustom(dtBucket, "c-backup", map[string]any{"bucket": "c-etcd-123456789012-r-1", "forceDestroy": false}),
		diffCustom(dtParam, "c-pki-ca", map[string]any{"name": "/kinfra/c/pki/ca.crt", "type": "SecureString", "value": mockaws.Secret,
			"keyId": "arn:aws:kms:r-1:123456789012:key/" + kms, "tags": map[string]any{"kinfra.dev/parameter-group": "pki"}}),
		diffCustom(dtLB, "c-api", map[string]any{"loadBalancerType": "network", "internal": true, "subnets": subnets}),
		diffCustom(dtTG, "c-api-tg", map[string]any{"port": 6443.0, "protocol": "TCP", "vpcId": vpc, "targetType": "instance"}),
		diffCustom(dtLis, "c-api-6443", map[string]any{"loadBalancerArn": "arn:aws:elasticloadbalancing:r-1:1:loadbalancer/net/" + diffID(dtLB, "c-api"), "port": 6443.0}),
		diffCustom(dtNAT, "c-nat-r-1a", map[string]any{"subnetId": subnets[0], "allocationId": "eipalloc-1"}),
		diffCustom(dtRT, "c-rt-r-1a", map[string]any{"vpcId": vpc}),
		mockaws.Resource{URN: diffURN("kinfra:cluster:Cluster", "c"), Type: "kinfra:cluster:Cluster", Name: "c", Inputs: map[string]any{},
			Options: mockaws.Options{IgnoreChanges: []string{}}},
	)
	return &Plan{Stack: "test", Resources: rs}
}

// edit changes one resource of a plan in place.
func diffEdit(t *testing.T, p *Plan, typ, name string, f func(r *mockaws.Resource)) *Plan {
	t.Helper()
	for i := range p.Resources {
		if p.Resources[i].Type == typ && p.Resources[i].Name == name {
			f(&p.Resources[i])
			return p
		}
	}
	t.Fatalf("no %s %s", typ, name)
	return nil
}

// drop removes one resource from a plan.
func diffDrop(t *testing.T, p *Plan, typ, name string) *Plan {
	t.Helper()
	for i, r := range p.Resources {
		if r.Type == typ && r.Name == name {
			p.Resources = append(p.Resources[:i], p.Resources[i+1:]...)
			return p
		}
	}
	t.Fatalf("no %s %s", typ, name)
	return nil
}

func diffOf(t *testing.T, d *PlanDiff, typ, name string) ResourceDiff {
	t.Helper()
	for _, rd := range d.Resources {
		if rd.Type == typ && rd.Name == name {
			return rd
		}
	}
	t.Fatalf("%s %s does not change; changes: %+v", typ, name, d.Resources)
	return ResourceDiff{}
}

func diffRules(d *PlanDiff) []string {
	var out []string
	for _, f := range d.Flags {
		out = append(out, f.Rule)
	}
	return out
}

// --- actions ---------------------------------------------------------------------

func TestIdenticalPlansDiffToNothingButUnchangedResources(t *testing.T) {
	d := Diff(diffCluster(), diffCluster())
	require.Empty(t, d.Resources)
	require.Empty(t, d.Flags)
	require.Equal(t, DiffSummary{Unchanged: len(diffCluster().Resources)}, d.Summary)
	require.Equal(t, 0, d.ExitCode())
}

func TestEveryActionIsClassifiedAndCounted(t *testing.T) {
	old := diffDrop(t, diffCluster(), dtRT, "c-rt-r-1a")
	new := diffCluster()
	new.Resources = append(new.Resources, diffCustom("aws:sqs/queue:Queue", "c-queue", map[string]any{"name": "c-q"}))
	old.Resources = append(old.Resources, diffCustom("aws:cloudwatch/logGroup:LogGroup", "c-logs", map[string]any{"retentionInDays": 7.0}))
	diffEdit(t, new, dtVolume, "c-etcd-0", func(r *mockaws.Resource) { r.Inputs["size"] = 100.0 })
	diffEdit(t, new, dtSubnet, "c-spare", func(r *mockaws.Resource) { r.Inputs["cidrBlock"] = "10.0.10.0/24" })

	d := Diff(old, new)
	for _, tc := range []struct {
		typ, name string
		action    Action
	}{
		{dtRT, "c-rt-r-1a", ActionAdd},
		{"aws:sqs/queue:Queue", "c-queue", ActionAdd},
		{"aws:cloudwatch/logGroup:LogGroup", "c-logs", ActionRemove},
		{dtVolume, "c-etcd-0", ActionUpdate},
		{dtSubnet, "c-spare", ActionReplace},
	} {
		require.Equal(t, tc.action, diffOf(t, d, tc.typ, tc.name).Action, tc.name)
	}
	total := len(old.Resources) + 2 // two added
	require.Equal(t, DiffSummary{Added: 2, Removed: 1, Replaced: 1, Updated: 1, Unchanged: total - 5}, d.Summary)
	require.Equal(t, []Action{ActionReplace, ActionRemove, ActionAdd, ActionAdd, ActionUpdate},
		[]Action{d.Resources[0].Action, d.Resources[1].Action, d.Resources[2].Action, d.Resources[3].Action, d.Resources[4].Action},
		"replacements, removals, additions, then updates")
}

func TestChangedInputPathsAreRenderedAsPulumiPropertyPaths(t *testing.T) {
	for _, tc := range []struct {
		name       string
		old, new   map[string]any
		path, kind string
		oldV, newV string
	}{
		{"map key", map[string]any{"tags": map[string]any{"Name": "a"}}, map[string]any{"tags": map[string]any{"Name": "b"}}, "tags.Name", "change", `"a"`, `"b"`},
		{"nested list", map[string]any{"blockDeviceMappings": []any{map[string]any{"ebs": map[string]any{"volumeSize": 100.0}}}},
			map[string]any{"blockDeviceMappings": []any{map[string]any{"ebs": map[string]any{"volumeSize": 200.0}}}},
			"blockDeviceMappings[0].ebs.volumeSize", "change", "100", "200"},
		{"list element", map[string]any{"vpcZoneIdentifiers": []any{"subnet-a"}}, map[string]any{"vpcZoneIdentifiers": []any{"subnet-b"}}, "vpcZoneIdentifiers[0]", "change", `"subnet-a"`, `"subnet-b"`},
		{"quoted key", map[string]any{"tags": map[string]any{"kinfra.dev/role": "etcd"}}, map[string]any{"tags": map[string]any{"kinfra.dev/role": "x"}}, `tags["kinfra.dev/role"]`, "change", `"etcd"`, `"x"`},
		{"appended element", map[string]any{"l": []any{"a"}}, map[string]any{"l": []any{"a", "b"}}, "l[1]", "add", "", `"b"`},
		{"removed key", map[string]any{"a": 1.0, "b": true}, map[string]any{"a": 1.0}, "b", "remove", "true", ""},
		{"added object", map[string]any{}, map[string]any{"instanceRefresh": map[string]any{"strategy": "Rolling"}}, "instanceRefresh", "add", "", `{"strategy":"Rolling"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, new := diffCluster(), diffCluster()
			old.Resources = append(old.Resources, diffCustom("aws:sqs/queue:Queue", "q", tc.old))
			new.Resources = append(new.Resources, diffCustom("aws:sqs/queue:Queue", "q", tc.new))
			rd := diffOf(t, Diff(old, new), "aws:sqs/queue:Queue", "q")
			require.Equal(t, []PropertyChange{{Path: tc.path, Kind: tc.kind, Old: tc.oldV, New: tc.newV}}, rd.Changes)
		})
	}
}

func TestUserDataIsSummarisedByLengthAndHashNotDumped(t *testing.T) {
	old, new := diffCluster(), diffCluster()
	for _, p := range []*Plan{old, new} { // a template that follows user data changes
		diffEdit(t, p, dtLT, "c-master-0", func(r *mockaws.Resource) { r.Options.IgnoreChanges = []string{} })
	}
	diffEdit(t, new, dtLT, "c-master-0", func(r *mockaws.Resource) { r.Inputs["userData"] = "H4sIAAAAAAAA/" + strings.Repeat("y", 500) })
	d := Diff(old, new)
	c := diffOf(t, d, dtLT, "c-master-0").Changes
	require.Len(t, c, 1)
	require.Regexp(t, `^<user data: 413 bytes, sha256 [0-9a-f]{12}>$`, c[0].Old)
	require.Regexp(t, `^<user data: 513 bytes, sha256 [0-9a-f]{12}>$`, c[0].New)
	var out bytes.Buffer
	d.Text(&out)
	require.Contains(t, out.String(), "userData: changed, 413 bytes, sha256 ")
	require.NotContains(t, out.String(), "yyyyyyyy")
}

func TestLongValuesAreShortenedWithTheirLengthAndHash(t *testing.T) {
	long := strings.Repeat("policy-", 40)
	require.Regexp(t, `^"policy-policy-.*… \(280 chars, sha256 [0-9a-f]{12}\)$`, display("policy", long))
	require.Regexp(t, `^\["a+… \(\d+ chars, sha256 [0-9a-f]{12}\)$`, display("l", []any{strings.Repeat("a", 90), "b"}))
	require.Equal(t, `"short"`, display("x", "short"))
	require.Equal(t, mockaws.Secret, display("value", mockaws.Secret))
}

func TestChangesUnderIgnoreChangesAreShownButDoNotUpdate(t *testing.T) {
	old, new := diffCluster(), diffCluster()
	version := func(v string) func(r *mockaws.Resource) {
		return func(r *mockaws.Resource) {
			r.Inputs["launchTemplate"] = map[string]any{"id": diffID(dtLT, "c-master-1"), "version": v}
		}
	}
	diffEdit(t, new, dtGroup, "c-master-1", version("2"))
	diffEdit(t, new, dtRecord, "c-etcd-1", func(r *mockaws.Resource) { r.Inputs["records"] = []any{"10.0.1.5"} })
	d := Diff(old, new)
	require.Equal(t, DiffSummary{Unchanged: len(old.Resources)}, d.Summary, "ignored changes are no updates")
	require.Empty(t, d.Resources)

	diffEdit(t, new, dtGroup, "c-master-1", func(r *mockaws.Resource) { r.Inputs["healthCheckGracePeriod"] = 600.0 })
	rd := diffOf(t, Diff(old, new), dtGroup, "c-master-1")
	require.Equal(t, ActionUpdate, rd.Action)
	var ignored []string
	for _, c := range rd.Changes {
		if c.Ignored {
			ignored = append(ignored, c.Path)
		}
	}
	require.Equal(t, []string{"launchTemplate.version"}, ignored)
}

func TestOptionChangesAreUpdatesAndListed(t *testing.T) {
	old, new := diffCluster(), diffCluster()
	diffEdit(t, new, dtKey, "c-kms", func(r *mockaws.Resource) {
		r.Options.Protect = true
		r.Options.IgnoreChanges = []string{"policy"}
		r.Options.DeleteBeforeReplace = true
		r.Options.DependsOn = []string{diffURN(dtVpc, "c-vpc")}
	})
	rd := diffOf(t, Diff(old, new), dtKey, "c-kms")
	require.Equal(t, ActionUpdate, rd.Action)
	require.Equal(t, []OptionChange{
		{Option: "protect", Old: "false", New: "true"},
		{Option: "deleteBeforeReplace", Old: "false", New: "true"},
		{Option: "ignoreChanges", Old: "[]", New: `["policy"]`, Added: []string{"policy"}},
		{Option: "dependsOn", Old: "[]", New: `["` + diffURN(dtVpc, "c-vpc") + `"]`, Added: []string{diffURN(dtVpc, "c-vpc")}},
	}, rd.Options)
}

func TestLongListOptionsAreShownByWhatTheyGainAndLose(t *testing.T) {
	old, new := diffCluster(), diffCluster()
	var all []string
	for _, r := range old.Resources {
		all = append(all, r.URN)
	}
	sort.Strings(all)
	diffEdit(t, old, dtKey, "c-kms", func(r *mockaws.Resource) { r.Options.DependsOn = all[:10] })
	diffEdit(t, new, dtKey, "c-kms", func(r *mockaws.Resource) { r.Options.DependsOn = all[8:11] })
	var out bytes.Buffer
	Diff(old, new).Text(&out)
	require.Contains(t, out.String(), "options.dependsOn: -8 ("+shortName(all[0])+", "+shortName(all[1])+", "+shortName(all[2])+", … 5 more) +1 ("+shortName(all[10])+")")
}

func TestReplacementFollowsTheProvidersForceNewProperties(t *testing.T) {
	for _, tc := range []struct {
		name     string
		typ      string
		old, new map[string]any
		want     Action
	}{
		{"volume zone", dtVolume, map[string]any{"availabilityZone": "a"}, map[string]any{"availabilityZone": "b"}, ActionReplace},
		{"volume kms key", dtVolume, map[string]any{"kmsKeyId": "k1"}, map[string]any{"kmsKeyId": "k2"}, ActionReplace},
		{"volume size", dtVolume, map[string]any{"size": 8.0}, map[string]any{"size": 16.0}, ActionUpdate},
		{"vpc cidr", dtVpc, map[string]any{"cidrBlock": "10.0.0.0/16"}, map[string]any{"cidrBlock": "10.1.0.0/16"}, ActionReplace},
		{"vpc tenancy", dtVpc, map[string]any{"instanceTenancy": "dedicated"}, map[string]any{"instanceTenancy": "default"}, ActionUpdate},
		{"subnet zone", dtSubnet, map[string]any{"availabilityZone": "a"}, map[string]any{"availabilityZone": "b"}, ActionReplace},
		{"subnet public ip", dtSubnet, map[string]any{"mapPublicIpOnLaunch": false}, map[string]any{"mapPublicIpOnLaunch": true}, ActionUpdate},
		{"group name", dtGroup, map[string]any{"name": "a"}, map[string]any{"name": "b"}, ActionReplace},
		{"group subnets", dtGroup, map[string]any{"vpcZoneIdentifiers": []any{"s1"}}, map[string]any{"vpcZoneIdentifiers": []any{"s2"}}, ActionUpdate},
		{"record name", dtRecord, map[string]any{"name": "a.x"}, map[string]any{"name": "b.x"}, ActionReplace},
		{"record ttl", dtRecord, map[string]any{"ttl": 30.0}, map[string]any{"ttl": 60.0}, ActionUpdate},
		{"zone name", dtZone, map[string]any{"name": "a"}, map[string]any{"name": "b"}, ActionReplace},
		{"target group port", dtTG, map[string]any{"port": 6443.0}, map[string]any{"port": 443.0}, ActionReplace},
		{"load balancer scheme", dtLB, map[string]any{"internal": true}, map[string]any{"internal": false}, ActionReplace},
		{"nlb loses a subnet", dtLB, map[string]any{"loadBalancerType": "network", "subnets": []any{"a", "b"}}, map[string]any{"loadBalancerType": "network", "subnets": []any{"a"}}, ActionReplace},
		{"nlb swaps a subnet", dtLB, map[string]any{"loadBalancerType": "network", "subnets": []any{"a", "b"}}, map[string]any{"loadBalancerType": "network", "subnets": []any{"a", "c"}}, ActionReplace},
		{"nlb gains a subnet", dtLB, map[string]any{"loadBalancerType": "network", "subnets": []any{"a"}}, map[string]any{"loadBalancerType": "network", "subnets": []any{"a", "b"}}, ActionUpdate},
		{"alb loses a subnet", dtLB, map[string]any{"loadBalancerType": "application", "subnets": []any{"a", "b"}}, map[string]any{"loadBalancerType": "application", "subnets": []any{"a"}}, ActionUpdate},
		{"kms key spec", dtKey, map[string]any{"customerMasterKeySpec": "SYMMETRIC_DEFAULT"}, map[string]any{"customerMasterKeySpec": "RSA_2048"}, ActionReplace},
		{"kms policy", dtKey, map[string]any{"policy": "a"}, map[string]any{"policy": "b"}, ActionUpdate},
		{"parameter name", dtParam, map[string]any{"name": "/a"}, map[string]any{"name": "/b"}, ActionReplace},
		{"parameter tier down", dtParam, map[string]any{"tier": "Advanced"}, map[string]any{"tier": "Standard"}, ActionReplace},
		{"parameter value", dtParam, map[string]any{"value": "a"}, map[string]any{"value": "b"}, ActionUpdate},
		{"launch template name", dtLT, map[string]any{"name": "a"}, map[string]any{"name": "b"}, ActionReplace},
		{"launch template image", dtLT, map[string]any{"imageId": "a"}, map[string]any{"imageId": "b"}, ActionUpdate},
		{"security group description", "aws:ec2/securityGroup:SecurityGroup", map[string]any{"description": "a"}, map[string]any{"description": "b"}, ActionReplace},
		{"nat gateway subnet", dtNAT, map[string]any{"subnetId": "a"}, map[string]any{"subnetId": "b"}, ActionReplace},
		{"role path", "aws:iam/role:Role", map[string]any{"path": "/"}, map[string]any{"path": "/k/"}, ActionReplace},
		{"kubernetes object renamed", "kubernetes:apps/v1:Deployment", map[string]any{"metadata": map[string]any{"name": "a"}}, map[string]any{"metadata": map[string]any{"name": "b"}}, ActionReplace},
		{"kubernetes kind not in the table moves namespace", "kubernetes:networking.k8s.io/v1:NetworkPolicy",
			map[string]any{"metadata": map[string]any{"namespace": "a"}}, map[string]any{"metadata": map[string]any{"namespace": "b"}}, ActionReplace},
		{"kubernetes labels", "kubernetes:apps/v1:Deployment", map[string]any{"metadata": map[string]any{"labels": map[string]any{"a": "1"}}}, map[string]any{"metadata": map[string]any{"labels": map[string]any{"a": "2"}}}, ActionUpdate},
		{"config map data", "kubernetes:core/v1:ConfigMap", map[string]any{"data": map[string]any{"a": "1"}}, map[string]any{"data": map[string]any{"a": "2"}}, ActionReplace},
		{"storage class parameters", "kubernetes:storage.k8s.io/v1:StorageClass", map[string]any{"parameters": map[string]any{"type": "gp3"}}, map[string]any{"parameters": map[string]any{"type": "io2"}}, ActionReplace},
		{"type outside the table", "aws:s3/bucket:Bucket", map[string]any{"bucket": "a"}, map[string]any{"bucket": "b"}, ActionUpdate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := &Plan{Resources: []mockaws.Resource{diffCustom(tc.typ, "r", tc.old)}}
			new := &Plan{Resources: []mockaws.Resource{diffCustom(tc.typ, "r", tc.new)}}
			rd := diffOf(t, Diff(old, new), tc.typ, "r")
			require.Equal(t, tc.want, rd.Action, "%+v", rd)
			if tc.want == ActionReplace {
				require.NotEmpty(t, rd.ReplaceReasons)
			}
		})
	}
}

func TestAProviderFlagMakesConfigMapDataMutable(t *testing.T) {
	prov := diffCustom("pulumi:providers:kubernetes", "k8s", map[string]any{"enableConfigMapMutable": "true"})
	cm := func(v string) mockaws.Resource {
		r := diffCustom("kubernetes:core/v1:ConfigMap", "cm", map[string]any{"metadata": map[string]any{"name": "cm"}, "data": map[string]any{"a": v}})
		r.Options.Provider = prov.URN
		return r
	}
	d := Diff(&Plan{Resources: []mockaws.Resource{prov, cm("1")}}, &Plan{Resources: []mockaws.Resource{prov, cm("2")}})
	require.Equal(t, ActionUpdate, diffOf(t, d, "kubernetes:core/v1:ConfigMap", "cm").Action)
}

func TestMovingAResourceToAnotherProviderReplacesIt(t *testing.T) {
	old, new := diffCustom("kubernetes:core/v1:Namespace", "ns", map[string]any{}), diffCustom("kubernetes:core/v1:Namespace", "ns", map[string]any{})
	new.Options.Provider = "urn:pulumi:test::kinfra::pulumi:providers:kubernetes::other"
	rd := diffOf(t, Diff(&Plan{Resources: []mockaws.Resource{old}}, &Plan{Resources: []mockaws.Resource{new}}), "kubernetes:core/v1:Namespace", "ns")
	require.Equal(t, ActionReplace, rd.Action)
	require.Equal(t, []OptionChange{{Option: "provider", Old: "", New: new.Options.Provider}}, rd.Options)
}

func TestReplacingAResourceChangesWhatReferencesItsID(t *testing.T) {
	old, new := diffCluster(), diffCluster()
	diffEdit(t, new, dtSubnet, "c-private-r-1a", func(r *mockaws.Resource) { r.Inputs["cidrBlock"] = "10.0.100.0/24" })
	d := Diff(old, new)

	require.Equal(t, ActionReplace, diffOf(t, d, dtSubnet, "c-private-r-1a").Action)
	nat := diffOf(t, d, dtNAT, "c-nat-r-1a")
	require.Equal(t, ActionReplace, nat.Action, "subnetId forces a NAT gateway's replacement")
	require.Equal(t, diffURN(dtSubnet, "c-private-r-1a"), nat.Changes[0].Via)
	require.Equal(t, "[unknown until c-private-r-1a is replaced]", nat.Changes[0].New)

	group := diffOf(t, d, dtGroup, "c-master-0")
	require.Equal(t, ActionUpdate, group.Action, "a group's subnets change in place")
	require.Equal(t, "vpcZoneIdentifiers[0]", group.Changes[0].Path)
	require.Equal(t, ActionReplace, diffOf(t, d, dtLB, "c-api").Action, "a network load balancer cannot swap a subnet")
	require.Equal(t, ActionReplace, diffOf(t, d, dtLis, "c-api-6443").Action, "the listener follows its replaced load balancer")
	require.Contains(t, diffRules(d), "diff/master-slot-moved")
	require.Contains(t, diffRules(d), "diff/subnet-replaced")
}

func TestARemovedAndAnAddedResourceWithTheSameInputsAreALikelyRename(t *testing.T) {
	old, new := diffCluster(), diffCluster()
	diffEdit(t, new, dtKey, "c-kms", func(r *mockaws.Resource) {
		r.Name = "c-pki-kms"
		r.URN = diffURN(dtKey, "c-pki-kms")
	})
	d := Diff(old, new)
	added, removed := diffOf(t, d, dtKey, "c-pki-kms"), diffOf(t, d, dtKey, "c-kms")
	require.Equal(t, ActionAdd, added.Action)
	require.Equal(t, ActionRemove, removed.Action)
	require.Equal(t, removed.URN, added.RenamedFrom)
	require.Equal(t, added.URN, removed.RenamedTo)
	require.Contains(t, diffRules(d), "diff/kms-key-removed")
	for _, f := range d.Flags {
		if f.Rule == "diff/kms-key-removed" {
			require.Contains(t, f.Message, "looks like a rename or re-parent to c-pki-kms")
			require.Contains(t, f.Message, "pulumi.Aliases")
		}
	}

	// A different resource of the type is no rename.
	new2 := diffCluster()
	diffEdit(t, new2, dtKey, "c-kms", func(r *mockaws.Resource) {
		r.Name, r.URN = "other", diffURN(dtKey, "other")
		r.Inputs = map[string]any{"description": "something else", "multiRegion": true}
	})
	require.Empty(t, diffOf(t, Diff(diffCluster(), new2), dtKey, "other").RenamedFrom)
}

// --- the offline IDs ------------------------------------------------------------------

// The diff finds what references a replaced resource by the strings the
// mock monitor's IDs are made of; this keeps it in step with mockaws.
func TestOfflineIDNeedlesAreInEveryRecordedID(t *testing.T) {
	sf := stackfile.File{Name: "us-east-1", Config: map[string]string{"aws:region": "us-east-1",
		"kinfra:cluster": `{"name": "ids", "network": {"natGateways": "single"}, "nodePools": [{"name": "general", "maxSize": 3}]}`}}
	p, err := Run(sf)
	require.NoError(t, err)
	n := 0
	for _, r := range p.Resources {
		if !r.Custom || r.ID == "" || r.Type == "pulumi:pulumi:StackReference" {
			continue
		}
		require.True(t, referencesID(r.ID, r), "%s %s has ID %s", r.Type, r.Name, r.ID)
		n++
	}
	require.Greater(t, n, 50)

	// Image Builder ARNs and AMIs are found where they are used: a rebuilt
	// image changes the launch templates.
	referenced := func(target mockaws.Resource, typ, prop string) bool {
		for _, r := range mockaws.OfType(p.Resources, typ) {
			if v, ok := r.Inputs[prop].(string); ok && referencesID(v, target) {
				return true
			}
		}
		return false
	}
	images := mockaws.OfType(p.Resources, "aws:imagebuilder/image:Image")
	require.NotEmpty(t, images)
	for _, img := range images {
		require.True(t, referenced(img, dtLT, "imageId"), "no launch template uses image %s", img.Name)
	}
	for _, rec := range mockaws.OfType(p.Resources, "aws:imagebuilder/imageRecipe:ImageRecipe") {
		require.True(t, referenced(rec, "aws:imagebuilder/image:Image", "imageRecipeArn"), "no image uses recipe %s", rec.Name)
	}
	require.False(t, containsNeedle("x-ab", "x-a"), "needles are whole names")
	require.True(t, containsNeedle("arn:k/x-a/1", "x-a"))
}

func TestPlansOfDifferentlyNamedStacksMatchTheirResources(t *testing.T) {
	rename := func(p *Plan, stack string) *Plan {
		p.Stack = stack
		for i := range p.Resources {
			r := &p.Resources[i]
			r.URN = strings.Replace(r.URN, "urn:pulumi:test::", "urn:pulumi:"+stack+"::", 1)
		}
		return p
	}
	old, new := rename(diffCluster(), "copy"), diffCluster()
	diffEdit(t, old, dtKey, "c-kms", func(r *mockaws.Resource) {
		r.Options.DependsOn = []string{"urn:pulumi:copy::kinfra::aws:ec2/vpc:Vpc::c-vpc"}
	})
	diffEdit(t, new, dtKey, "c-kms", func(r *mockaws.Resource) { r.Options.DependsOn = []string{diffURN(dtVpc, "c-vpc")} })
	d := Diff(old, new)
	require.Equal(t, "copy", d.OldStack)
	require.Empty(t, d.Resources, "the same resources, only the stack name differs")
	require.Contains(t, strings.Join(d.Notes, "\n"), "the plans are of stacks copy and test")
}

// A changed master tool is a new parameter named by its content; the old
// one leaves the stack but stays in AWS (retainOnDelete), for the launch
// template versions that name it. That is no PKI parameter deleted.
func TestAChangedMasterToolIsNotADeletedPKIParameter(t *testing.T) {
	tool := func(sum string) mockaws.Resource {
		r := diffCustom(dtParam, "c-tool-"+sum, map[string]any{"name": "/kinfra/c/masters/tools/" + sum, "type": "String",
			"insecureValue": "H4sI" + sum, "tags": map[string]any{"kinfra.dev/parameter-group": "masters/tools"}})
		r.Options.RetainOnDelete = true
		return r
	}
	old, new := diffCluster(), diffCluster()
	old.Resources = append(old.Resources, tool("aaaa"))
	new.Resources = append(new.Resources, tool("bbbb"))
	d := Diff(old, new)
	require.NotEmpty(t, d.Resources, "one tool parameter added, one removed")
	require.Empty(t, d.Flags, "flags: %v", diffRules(d))
	require.Zero(t, d.ExitCode())

	// A PKI parameter removed is still flagged.
	old, new = diffCluster(), diffCluster()
	diffDrop(t, new, dtParam, "c-pki-ca")
	require.Contains(t, diffRules(Diff(old, new)), "diff/pki-parameter-removed")
}
