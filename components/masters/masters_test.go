package masters_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/components/cluster"
	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/iampolicy"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/spec"
)

var (
	bundleOnce sync.Once
	bundle     *pki.Bundle
)

// testPKI is one bundle for every test (generating keys is the slow part).
func testPKI(t *testing.T) *pki.Bundle {
	bundleOnce.Do(func() {
		var err error
		bundle, err = pki.Generate("prod")
		require.NoError(t, err)
	})
	return bundle
}

func clusterSpec(count, zones int) spec.Cluster {
	var azs []string
	for i := range zones {
		azs = append(azs, fmt.Sprintf("us-east-1%c", 'a'+i))
	}
	return spec.Cluster{
		Name: "prod", Region: "us-east-1",
		Network: spec.Network{AvailabilityZones: azs},
		Masters: spec.Masters{Count: count},
	}
}

func plan(t *testing.T, c spec.Cluster) *mockaws.Mocks {
	t.Helper()
	m := mockaws.New(c.Region)
	err := m.Run("kinfra", c.Region, nil, func(ctx *pulumi.Context) error {
		_, err := cluster.New(ctx, c.Name, c, testPKI(t))
		return err
	})
	require.NoError(t, err)
	return m
}

const (
	volumeType = "aws:ebs/volume:Volume"
	asgType    = "aws:autoscaling/group:Group"
	ltType     = "aws:ec2/launchTemplate:LaunchTemplate"
	recordType = "aws:route53/record:Record"
	subnetType = "aws:ec2/subnet:Subnet"
	sgType     = "aws:ec2/securityGroup:SecurityGroup"
	ingress    = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
)

func TestEverySlotHasItsOwnGroupVolumeAndRecordInZoneIModZones(t *testing.T) {
	for _, count := range []int{1, 3, 5, 7} {
		for zones := 1; zones <= spec.MaxZones; zones++ {
			c := clusterSpec(count, zones)
			if _, err := spec.Resolve(c); err != nil {
				continue // a zone would hold a majority: rejected (tested below)
			}
			t.Run(fmt.Sprintf("%d masters over %d zones", count, zones), func(t *testing.T) {
				m := plan(t, c)
				require.Len(t, m.ByType(volumeType), count)
				require.Len(t, m.ByType(asgType), count)
				require.Len(t, m.ByType(ltType), count)
				for i := range count {
					zone := c.Network.AvailabilityZones[i%zones]
					vol := m.MustNamed(t, volumeType, fmt.Sprintf("prod-masters-etcd-%d", i))
					require.Equal(t, zone, vol.Inputs["availabilityZone"])
					require.Equal(t, fmt.Sprint(i), mockaws.Field(vol.Inputs, "tags", masters.SlotTag))

					subnet := m.MustNamed(t, subnetType, "prod-network-private-"+zone)
					asg := m.MustNamed(t, asgType, fmt.Sprintf("prod-masters-master-%d", i))
					require.Equal(t, []string{subnet.ID}, mockaws.Strings(asg.Inputs["vpcZoneIdentifiers"]), "slot %d runs only in %s", i, zone)

					rec := m.MustNamed(t, recordType, fmt.Sprintf("prod-masters-master-%d-dns", i))
					require.Equal(t, fmt.Sprintf("etcd-%d.prod.k8s.internal", i), rec.Inputs["name"])
					require.Equal(t, []string{"records"}, rec.Options.IgnoreChanges, "the instance owns the record's value")
				}
			})
		}
	}
}

func TestAZoneHoldingAMajorityOfMastersIsRejected(t *testing.T) {
	for _, tc := range []struct{ count, zones int }{{3, 1}, {3, 2}, {5, 1}, {5, 2}, {7, 2}} {
		_, err := spec.Resolve(clusterSpec(tc.count, tc.zones))
		require.ErrorContains(t, err, "a majority; losing that zone loses etcd quorum", "%d masters over %d zones", tc.count, tc.zones)
	}
	_, err := spec.Resolve(clusterSpec(4, 3))
	require.ErrorContains(t, err, "cluster.masters.count: 4 is even")
}

func TestEtcdVolumesAreProtectedRetainedEncryptedAndSnapshotted(t *testing.T) {
	m := plan(t, clusterSpec(5, 3))
	vols := m.ByType(volumeType)
	require.Len(t, vols, 5)
	for _, v := range vols {
		require.True(t, v.Options.Protect, "%s must be protected", v.Name)
		require.True(t, v.Options.RetainOnDelete, "%s must be retained", v.Name)
		require.Equal(t, true, v.Inputs["encrypted"], v.Name)
		require.Equal(t, true, v.Inputs["finalSnapshot"], v.Name)
		require.Equal(t, "gp3", v.Inputs["type"])
		require.Equal(t, 64.0, v.Inputs["size"])
	}
}

func TestMasterGroupsHoldOneInstanceUseEC2HealthAndWaitForTheAPI(t *testing.T) {
	m := plan(t, clusterSpec(3, 3))
	tg := m.ByType("aws:lb/targetGroup:TargetGroup")
	require.Len(t, tg, 1)
	for _, asg := range m.ByType(asgType) {
		for _, k := range []string{"minSize", "maxSize", "desiredCapacity", "minElbCapacity"} {
			require.Equal(t, 1.0, asg.Inputs[k], "%s %s", asg.Name, k)
		}
		require.Equal(t, "EC2", asg.Inputs["healthCheckType"], "ELB health would replace every master when etcd loses quorum")
		require.Equal(t, []string{"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/" + tg[0].ID}, mockaws.Strings(asg.Inputs["targetGroupArns"]))
		// The instance fetches the PKI and uses its IAM at boot: both exist first.
		for _, p := range m.ByType("aws:ssm/parameter:Parameter") {
			require.Contains(t, asg.Options.Dependencies, p.URN, "%s waits for %s", asg.Name, p.Name)
		}
		policy := m.MustNamed(t, "aws:iam/rolePolicy:RolePolicy", asg.Name)
		require.Contains(t, asg.Options.Dependencies, policy.URN)
		require.Nil(t, asg.Inputs["instanceRefresh"], "no slot rolls unless masters.roll names it")
	}
	health := mockaws.Field(tg[0].Inputs, "healthCheck").(map[string]any)
	require.Equal(t, "HTTPS", health["protocol"])
	require.Equal(t, "/readyz", health["path"])
	require.Equal(t, 6443.0, tg[0].Inputs["port"])
	lis := m.ByType("aws:lb/listener:Listener")
	require.Len(t, lis, 1)
	require.Equal(t, 6443.0, lis[0].Inputs["port"])
}

func TestLaunchTemplatesRequireIMDSv2AndEncryptTheRootVolume(t *testing.T) {
	m := plan(t, clusterSpec(3, 3))
	for _, lt := range m.ByType(ltType) {
		md := mockaws.Field(lt.Inputs, "metadataOptions").(map[string]any)
		require.Equal(t, "required", md["httpTokens"], lt.Name)
		require.Equal(t, 1.0, md["httpPutResponseHopLimit"], lt.Name)
		bdm := lt.Inputs["blockDeviceMappings"].([]any)
		require.Len(t, bdm, 1)
		require.Equal(t, "/dev/sda1", mockaws.Field(bdm[0], "deviceName"), "the AMI's own root device")
		require.Equal(t, "true", mockaws.Field(bdm[0], "ebs", "encrypted"), lt.Name)
	}
}

func TestMasterGroupsReplaceNoInstanceUntilTheRollMovesThem(t *testing.T) {
	c := clusterSpec(3, 3)
	m := plan(t, c)
	for i := range 3 {
		lt := m.MustNamed(t, ltType, fmt.Sprintf("prod-masters-master-%d", i))
		asg := m.MustNamed(t, asgType, fmt.Sprintf("prod-masters-master-%d", i))
		require.Empty(t, lt.Options.IgnoreChanges, "slot %d's launch template follows the stack", i)
		require.Equal(t, []string{masters.RolledGroupSetting}, asg.Options.IgnoreChanges, "slot %d's group launches the version the roll last moved it to", i)
		require.Nil(t, asg.Inputs["instanceRefresh"], "no change of the stack replaces a master by itself")
		require.Equal(t, lt.ID, mockaws.Field(asg.Inputs, "launchTemplate", "id"))
	}
	one := 1
	c.Masters.Roll = &one
	_, err := spec.Resolve(c)
	require.ErrorContains(t, err, "cluster.masters.roll: 1: the key is gone; remove it.")
}

// sgNames maps security group IDs to their resource names.
func sgNames(m *mockaws.Mocks) map[string]string {
	out := map[string]string{}
	for _, sg := range m.ByType(sgType) {
		out[sg.ID] = sg.Name
	}
	return out
}

func ingressRules(m *mockaws.Mocks) []string {
	names := sgNames(m)
	var out []string
	for _, r := range m.ByType(ingress) {
		from := names[mockaws.Str(r.Inputs["referencedSecurityGroupId"])]
		if from == "" {
			from = mockaws.Str(r.Inputs["cidrIpv4"]) + mockaws.Str(r.Inputs["cidrIpv6"])
		}
		ports := "all"
		if p, ok := r.Inputs["fromPort"].(float64); ok {
			ports = fmt.Sprintf("%v-%v", p, r.Inputs["toPort"])
		}
		out = append(out, fmt.Sprintf("%s <- %s %s/%s", names[mockaws.Str(r.Inputs["securityGroupId"])], from, r.Inputs["ipProtocol"], ports))
	}
	sort.Strings(out)
	return out
}

func TestSecurityGroupRulesAreExactlyTheDocumentedSet(t *testing.T) {
	const lb, ms, ns, ops = "prod-masters-api-lb", "prod-masters-masters", "prod-masters-nodes", "prod-masters-operators"
	between := func(proto, ports string) []string {
		var out []string
		for _, to := range []string{ms, ns} {
			for _, from := range []string{ms, ns} {
				out = append(out, fmt.Sprintf("%s <- %s %s/%s", to, from, proto, ports))
			}
		}
		return out
	}
	base := []string{
		lb + " <- 10.0.0.0/16 tcp/6443-6443",
		lb + " <- " + ms + " tcp/6443-6443",
		lb + " <- " + ns + " tcp/6443-6443",
		ms + " <- " + lb + " tcp/6443-6443",
		ms + " <- " + ms + " tcp/6443-6443",
		ms + " <- " + ns + " tcp/6443-6443",
		ms + " <- " + ms + " tcp/2379-2380",
		// kinfra roll and kinfra etcd, where the operators run them.
		ms + " <- " + ops + " tcp/2379-2379",
		ms + " <- " + ops + " tcp/6443-6443",
		lb + " <- " + ops + " tcp/6443-6443",
	}
	base = append(base, between("tcp", "10250-10250")...)
	// All traffic between cluster machines, except etcd from the nodes.
	pods := []string{
		ms + " <- " + ms + " -1/all",
		ms + " <- " + ns + " tcp/0-2378",
		ms + " <- " + ns + " tcp/2381-65535",
		ms + " <- " + ns + " udp/0-65535",
		ms + " <- " + ns + " icmp/-1--1",
		ns + " <- " + ms + " -1/all",
		ns + " <- " + ns + " -1/all",
	}
	for _, tc := range []struct {
		name string
		cni  spec.CNI
		more []string
	}{
		{"cilium vxlan", spec.CNI{Provider: "cilium"}, slices.Concat(between("udp", "8472-8472"), between("tcp", "4240-4240"), between("icmp", "-1--1"))},
		{"cilium geneve wireguard hubble", spec.CNI{Provider: "cilium", Tunnel: "geneve", WireGuard: true, Hubble: true},
			slices.Concat(between("udp", "6081-6081"), between("tcp", "4240-4240"), between("icmp", "-1--1"), between("tcp", "4244-4244"), between("udp", "51871-51871"))},
		{"calico vxlan", spec.CNI{Provider: "calico"}, slices.Concat(between("udp", "4789-4789"), between("tcp", "5473-5473"), pods)},
		{"native routing", spec.CNI{Provider: "cilium", Tunnel: "none"}, pods},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := clusterSpec(3, 3)
			c.CNI = tc.cni
			want := slices.Concat(base, tc.more)
			sort.Strings(want)
			require.Equal(t, want, ingressRules(plan(t, c)))
		})
	}
}

// Only the masters reach etcd, whatever the CNI: no rule into the masters'
// group from elsewhere admits TCP 2379-2380, all-traffic rules included.
func TestEtcdPortsAreOpenOnlyBetweenMasters(t *testing.T) {
	for _, cni := range []spec.CNI{
		{Provider: "cilium"}, {Provider: "calico"}, {Provider: "cilium", Tunnel: "none"},
	} {
		c := clusterSpec(3, 3)
		c.CNI = cni
		m := plan(t, c)
		names := sgNames(m)
		for _, r := range m.ByType(ingress) {
			if names[mockaws.Str(r.Inputs["securityGroupId"])] != "prod-masters-masters" || r.Inputs["referencedSecurityGroupId"] == r.Inputs["securityGroupId"] {
				continue
			}
			if names[mockaws.Str(r.Inputs["referencedSecurityGroupId"])] == "prod-masters-operators" && r.Inputs["ipProtocol"] == "tcp" && r.Inputs["fromPort"] == 2379.0 && r.Inputs["toPort"] == 2379.0 {
				continue // etcd's client port for kinfra roll and kinfra etcd; never the peer port
			}
			proto := r.Inputs["ipProtocol"]
			require.NotEqual(t, "-1", proto, "%v %s admits etcd", cni, r.Name)
			if proto == "tcp" {
				from, to := r.Inputs["fromPort"].(float64), r.Inputs["toPort"].(float64)
				require.False(t, from <= 2380 && 2379 <= to, "%v %s admits etcd", cni, r.Name)
			}
		}
	}
}

func TestAPIAccessIsLimitedToTheConfiguredBlocks(t *testing.T) {
	c := clusterSpec(3, 3)
	c.API = spec.API{Scheme: spec.SchemeInternetFacing, AccessCidrs: []string{"203.0.113.0/24", "198.51.100.0/24"}}
	m := plan(t, c)
	var access []string
	for _, r := range ingressRules(m) {
		if strings.HasPrefix(r, "prod-masters-api-lb <- ") && !strings.HasPrefix(r, "prod-masters-api-lb <- prod-masters-") {
			access = append(access, r)
		}
	}
	require.Contains(t, access, "prod-masters-api-lb <- 203.0.113.0/24 tcp/6443-6443")
	require.Contains(t, access, "prod-masters-api-lb <- 198.51.100.0/24 tcp/6443-6443")
	require.NotContains(t, access, "prod-masters-api-lb <- 10.0.0.0/16 tcp/6443-6443", "explicit blocks replace the VPC default")
	nlb := m.ByType("aws:lb/loadBalancer:LoadBalancer")[0]
	require.Equal(t, false, nlb.Inputs["internal"])
	var public []string
	for _, s := range m.ByType(subnetType) {
		if strings.Contains(s.Name, "-public-") {
			public = append(public, s.ID)
		}
	}
	require.ElementsMatch(t, public, mockaws.Strings(nlb.Inputs["subnets"]))
}

// policies returns every IAM policy document kinfra's masters register.
func policies(t *testing.T, m *mockaws.Mocks) map[string]iampolicy.Document {
	out := map[string]iampolicy.Document{}
	for _, typ := range []string{"aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy"} {
		for _, p := range m.ByType(typ) {
			if !strings.HasPrefix(p.Name, "prod-masters-") {
				continue
			}
			var d iampolicy.Document
			require.NoError(t, json.Unmarshal([]byte(mockaws.Str(p.Inputs["policy"])), &d), p.Name)
			out[p.Name] = d
		}
	}
	return out
}

func TestMasterPoliciesHaveNoWildcardActionsAndScopeEveryResource(t *testing.T) {
	m := plan(t, clusterSpec(3, 3))
	docs := policies(t, m)
	require.Len(t, docs, 5, "shared masters policy, node join policy, one per slot")
	for name, d := range docs {
		for _, s := range d.Statement {
			for _, a := range s.Action {
				require.NotContains(t, a, "*", "%s %s: no wildcard actions", name, s.Sid)
			}
			for _, r := range s.Resource {
				if r != "*" {
					require.NotEqual(t, "arn:aws:ec2:us-east-1:123456789012:*", r)
					continue
				}
				for _, a := range s.Action {
					if a == "cloudwatch:PutMetricData" {
						// No resource type: scoped to one of kinfra's namespaces by condition.
						require.Contains(t, []map[string]any{
							{"cloudwatch:namespace": bootstrap.BackupMetricNamespace},
							{"cloudwatch:namespace": bootstrap.BootMetricNamespace},
						}, s.Condition["StringEquals"], "%s %s", name, s.Sid)
						continue
					}
					verb := a[strings.Index(a, ":")+1:]
					require.True(t, strings.HasPrefix(verb, "Describe"),
						"%s %s: %s on * (only actions without resource-level permissions may)", name, s.Sid, a)
				}
			}
		}
	}
	join := docs["prod-masters-node-join"]
	for _, s := range join.Statement {
		for _, r := range s.Resource {
			if strings.Contains(r, ":ssm:") {
				require.Equal(t, "arn:aws:ssm:us-east-1:123456789012:parameter/kinfra/prod/join/*", r, "nodes read only the join parameters")
			}
		}
	}
}

func TestEachSlotMayOnlyAttachItsOwnVolumeAndUpsertItsOwnRecord(t *testing.T) {
	m := plan(t, clusterSpec(3, 3))
	docs := policies(t, m)
	for i := range 3 {
		d := docs[fmt.Sprintf("prod-masters-master-%d", i)]
		require.Len(t, d.Statement, 4)
		attach, upsert, member, status := d.Statement[0], d.Statement[1], d.Statement[2], d.Statement[3]
		require.Equal(t, []string{"ec2:AttachVolume"}, attach.Action)
		require.Equal(t, map[string]any{"aws:ResourceTag/kinfra.dev/cluster": "prod", "aws:ResourceTag/" + masters.SlotTag: fmt.Sprint(i)}, attach.Condition["StringEquals"])
		require.Equal(t, []string{"route53:ChangeResourceRecordSets"}, upsert.Action)
		names := upsert.Condition["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"]
		require.Equal(t, []any{fmt.Sprintf("etcd-%d.prod.k8s.internal", i)}, names)
		require.Equal(t, []string{"ssm:PutParameter"}, member.Action)
		require.Equal(t, []string{fmt.Sprintf("arn:aws:ssm:us-east-1:123456789012:parameter/kinfra/prod/etcd/members/etcd-%d", i)}, member.Resource,
			"each slot writes only its own member entry")
		require.Empty(t, member.Condition)
		require.Equal(t, iampolicy.Statement{Sid: "WriteOwnBootStatus", Effect: "Allow", Action: []string{"ssm:PutParameter"},
			Resource: []string{fmt.Sprintf("arn:aws:ssm:us-east-1:123456789012:parameter/kinfra/prod/masters/master-%d", i)}}, status,
			"each slot writes only its own boot status")
	}
	// No other policy writes a boot status.
	for name, d := range docs {
		for _, s := range d.Statement {
			for _, r := range s.Resource {
				if strings.Contains(r, "/masters/master-") {
					require.Equal(t, "WriteOwnBootStatus", s.Sid, name)
				}
			}
		}
	}
	// The volume and instance carry the tag the condition names.
	for i := range 3 {
		asg := m.MustNamed(t, asgType, fmt.Sprintf("prod-masters-master-%d", i))
		var slotTag string
		for _, tag := range asg.Inputs["tags"].([]any) {
			if mockaws.Field(tag, "key") == masters.SlotTag {
				slotTag = mockaws.Str(mockaws.Field(tag, "value"))
				require.Equal(t, true, mockaws.Field(tag, "propagateAtLaunch"))
			}
		}
		require.Equal(t, fmt.Sprint(i), slotTag)
	}
}

func TestPKIIsStoredAsSecureStringsUnderTheClusterKey(t *testing.T) {
	m := plan(t, clusterSpec(3, 3))
	key := m.ByType("aws:kms/key:Key")
	require.Len(t, key, 1)
	require.Equal(t, true, key[0].Inputs["enableKeyRotation"])
	keyArn := "arn:aws:kms:us-east-1:123456789012:key/" + key[0].ID
	var names []string
	for _, p := range m.ByType("aws:ssm/parameter:Parameter") {
		if strings.Contains(mockaws.Str(p.Inputs["name"]), "/"+bootstrap.ToolsGroup+"/") {
			continue // the masters' tools: no secret (TestMasterToolsAre...)
		}
		names = append(names, mockaws.Str(p.Inputs["name"]))
		require.Equal(t, "SecureString", p.Inputs["type"])
		require.Equal(t, keyArn, p.Inputs["keyId"])
		require.Equal(t, mockaws.Secret, p.Inputs["value"], "%s is a Pulumi secret", p.Name)
	}
	require.ElementsMatch(t, []string{
		"/kinfra/prod/control-plane/ca.crt", "/kinfra/prod/control-plane/ca.key",
		"/kinfra/prod/control-plane/etcd-ca.crt", "/kinfra/prod/control-plane/etcd-ca.key",
		"/kinfra/prod/control-plane/front-proxy-ca.crt", "/kinfra/prod/control-plane/front-proxy-ca.key",
		"/kinfra/prod/control-plane/sa.key", "/kinfra/prod/control-plane/sa.pub",
		"/kinfra/prod/control-plane/encryption-config.yaml",
		"/kinfra/prod/join/ca.crt", "/kinfra/prod/join/bootstrap-token",
	}, names)
}

// userData decodes a launch template's gzipped cloud-config.
func userData(t *testing.T, lt mockaws.Resource) string {
	raw, err := base64.StdEncoding.DecodeString(mockaws.Str(lt.Inputs["userData"]))
	require.NoError(t, err)
	require.Equal(t, []byte{0x1f, 0x8b}, raw[:2], "gzipped")
	out, err := bootstrap.DecodeUserData(mockaws.Str(lt.Inputs["userData"]))
	require.NoError(t, err)
	return out
}

func TestUserDataNamesTheSlotsOwnVolumeZoneAndRecordAndNoSecret(t *testing.T) {
	m := plan(t, clusterSpec(3, 3))
	zone := m.ByType("aws:route53/zone:Zone")[0]
	b := testPKI(t)
	for i := range 3 {
		ud := userData(t, m.MustNamed(t, ltType, fmt.Sprintf("prod-masters-master-%d", i)))
		vol := m.MustNamed(t, volumeType, fmt.Sprintf("prod-masters-etcd-%d", i))
		require.Contains(t, ud, fmt.Sprintf("SLOT='%d'", i))
		require.Contains(t, ud, "VOLUME_ID='"+vol.ID+"'")
		require.Contains(t, ud, "HOSTED_ZONE_ID='"+zone.ID+"'")
		require.Contains(t, ud, fmt.Sprintf("name: etcd-%d\n", i))
		require.Contains(t, ud, "initial-cluster: etcd-0=https://etcd-0.prod.k8s.internal:2380,etcd-1=https://etcd-1.prod.k8s.internal:2380,etcd-2=https://etcd-2.prod.k8s.internal:2380")
		for _, secret := range []string{b.ClusterCA.Key, b.EtcdCA.Key, b.ServiceAccount.Key, b.BootstrapToken, b.EncryptionKey} {
			require.NotContains(t, ud, strings.TrimSpace(secret))
		}
	}
}

func TestMissingPKIIsAConfigErrorBeforeAnythingIsRegistered(t *testing.T) {
	m := mockaws.New("us-east-1")
	err := m.Run("kinfra", "us-east-1", nil, func(ctx *pulumi.Context) error {
		_, err := cluster.New(ctx, "prod", clusterSpec(3, 3), nil)
		return err
	})
	require.ErrorContains(t, err, "kinfra:pki: required; create the cluster's PKI with `kinfra pki init`")
	require.Empty(t, m.Resources())
}

// ec2Description is what EC2 accepts in security group and rule descriptions.
var ec2Description = regexp.MustCompile(`^[a-zA-Z0-9. _\-:/()#,@\[\]+=&;{}!$*]{0,255}$`)

func TestSecurityGroupDescriptionsUseOnlyWhatEC2Accepts(t *testing.T) {
	c := clusterSpec(3, 3)
	c.CNI = spec.CNI{Provider: "cilium", Tunnel: "geneve", WireGuard: true, Hubble: true}
	m := plan(t, c)
	for _, typ := range []string{sgType, ingress, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"} {
		for _, r := range m.ByType(typ) {
			require.Regexp(t, ec2Description, r.Inputs["description"], r.Name)
		}
	}
}

func TestOnlyCalicoMastersMayTurnOffSourceDestCheckOnTheirOwnInterfaces(t *testing.T) {
	calicoStatements := func(c spec.Cluster) []iampolicy.Statement {
		var out []iampolicy.Statement
		for name, d := range policies(t, plan(t, c)) {
			for _, s := range d.Statement {
				if strings.HasPrefix(s.Sid, "Calico") {
					require.Equal(t, "prod-masters-masters", name, "only in the policy every master attaches")
					out = append(out, s)
				}
			}
		}
		return out
	}
	require.Empty(t, calicoStatements(clusterSpec(3, 3)), "cilium")

	c := clusterSpec(3, 3)
	c.CNI = spec.CNI{Provider: spec.CNICalico}
	got := calicoStatements(c)
	require.Len(t, got, 2)
	describe, modify := got[0], got[1]
	require.Equal(t, "CalicoSourceDestCheckDescribe", describe.Sid)
	require.Equal(t, []string{"ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces"}, describe.Action)
	require.Equal(t, []string{"*"}, describe.Resource)
	require.Equal(t, "CalicoSourceDestCheckOwnInterfaces", modify.Sid)
	require.Equal(t, []string{"ec2:ModifyNetworkInterfaceAttribute"}, modify.Action)
	require.Equal(t, []string{"arn:aws:ec2:us-east-1:123456789012:network-interface/*"}, modify.Resource)
	cond := modify.Condition["StringEquals"]
	require.Equal(t, "prod", cond["aws:ResourceTag/kinfra.dev/cluster"], "only the cluster's own interfaces")
	require.Regexp(t, `^arn:aws:ec2:us-east-1:123456789012:vpc/vpc-[0-9a-f]{17}$`, cond["ec2:Vpc"], "in the cluster's VPC")
	require.Len(t, cond, 2)
	// The condition holds for each master's own interface: the launch
	// templates tag it as the cluster's.
	m := plan(t, c)
	for i := range 3 {
		lt := m.MustNamed(t, ltType, fmt.Sprintf("prod-masters-master-%d", i))
		tagged := false
		for _, ts := range lt.Inputs["tagSpecifications"].([]any) {
			if mockaws.Field(ts, "resourceType") == "network-interface" {
				tagged = mockaws.Field(ts, "tags", "kinfra.dev/cluster") == "prod"
			}
		}
		require.True(t, tagged, lt.Name)
	}
}

const (
	bucketType     = "aws:s3/bucketV2:BucketV2"
	alarmType      = "aws:cloudwatch/metricAlarm:MetricAlarm"
	prodBucket     = "prod-etcd-123456789012-us-east-1"
	prodBucketArn  = "arn:aws:s3:::" + prodBucket
	prodKMSKeyType = "aws:kms/key:Key"
)

// backupTypes are every resource type the backups add.
var backupTypes = []string{
	bucketType, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
	"aws:s3/bucketVersioningV2:BucketVersioningV2", "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
	"aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
	"aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2", alarmType,
}

// backupsOfType are the backups' resources of type typ (the issuer's
// bucket has resources of the same types).
func backupsOfType(m *mockaws.Mocks, typ string) []mockaws.Resource {
	var out []mockaws.Resource
	for _, r := range m.ByType(typ) {
		if !strings.HasPrefix(r.Name, "prod-masters-issuer") {
			out = append(out, r)
		}
	}
	return out
}

func clusterKeyArn(t *testing.T, m *mockaws.Mocks) string {
	keys := m.ByType(prodKMSKeyType)
	require.Len(t, keys, 1)
	return "arn:aws:kms:us-east-1:123456789012:key/" + keys[0].ID
}

func TestBackupBucketIsPrivateVersionedEncryptedWithTheClusterKeyAndKept(t *testing.T) {
	m := plan(t, clusterSpec(3, 3))
	bucket := m.MustNamed(t, bucketType, "prod-masters-backup")
	require.Equal(t, prodBucket, bucket.Inputs["bucket"], "<cluster>-etcd-<account>-<region>")
	require.True(t, bucket.Options.Protect, "the cluster's backups: Pulumi never deletes them")
	require.True(t, bucket.Options.RetainOnDelete)
	require.Equal(t, false, bucket.Inputs["forceDestroy"])
	require.Nil(t, bucket.Inputs["objectLockEnabled"], "no Object Lock unless asked for")
	require.Empty(t, m.ByType("aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2"))
	require.Equal(t, "prod-masters-backup", mockaws.Field(bucket.Inputs, "tags", "Name"))

	parts := map[string]map[string]any{}
	for _, typ := range backupTypes[1:] {
		for _, r := range backupsOfType(m, typ) {
			if typ != alarmType {
				require.Equal(t, prodBucket, r.Inputs["bucket"], r.Name)
				require.Contains(t, r.Options.Dependencies, bucket.URN, r.Name)
			}
			require.Equal(t, bucket.Parent, r.Parent, "%s is the control plane's", r.Name)
			parts[r.Name] = r.Inputs
		}
	}
	require.Equal(t, "BucketOwnerEnforced", mockaws.Field(parts["prod-masters-backup-ownership"], "rule", "objectOwnership"), "no ACLs")
	for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
		require.Equal(t, true, parts["prod-masters-backup-public-access"][k], k)
	}
	require.Equal(t, "Enabled", mockaws.Field(parts["prod-masters-backup-versioning"], "versioningConfiguration", "status"))
	rules := parts["prod-masters-backup-encryption"]["rules"].([]any)
	require.Len(t, rules, 1)
	require.Equal(t, "aws:kms", mockaws.Field(rules[0], "applyServerSideEncryptionByDefault", "sseAlgorithm"))
	require.Equal(t, clusterKeyArn(t, m), mockaws.Field(rules[0], "applyServerSideEncryptionByDefault", "kmsMasterKeyId"))
	require.Equal(t, true, mockaws.Field(rules[0], "bucketKeyEnabled"))
}

func TestBackupBucketPolicyRefusesRequestsWithoutTLS(t *testing.T) {
	m := plan(t, clusterSpec(3, 3))
	var d iampolicy.Document
	require.NoError(t, json.Unmarshal([]byte(mockaws.Str(m.MustNamed(t, "aws:s3/bucketPolicy:BucketPolicy", "prod-masters-backup-policy").Inputs["policy"])), &d))
	for _, s := range d.Statement {
		require.Equal(t, "Deny", s.Effect, "%s: the policy only refuses; IAM grants", s.Sid)
	}
	tls := d.Statement[0]
	require.Equal(t, "DenyInsecureTransport", tls.Sid)
	require.Equal(t, []string{"*"}, tls.Principal.AWS)
	require.Equal(t, []string{"s3:*"}, tls.Action)
	require.Equal(t, []string{prodBucketArn, prodBucketArn + "/*"}, tls.Resource)
	require.Equal(t, map[string]any{"aws:SecureTransport": "false"}, tls.Condition["Bool"])
	// Uploads asking for another encryption or key are refused.
	other := d.Statement[2]
	require.Equal(t, []string{"s3:PutObject"}, other.Action)
	require.Equal(t, clusterKeyArn(t, m), other.Condition["StringNotEquals"]["s3:x-amz-server-side-encryption-aws-kms-key-id"])
}

func TestBackupLifecycleExpiresEachTierAfterItsRetention(t *testing.T) {
	type rule struct {
		ID, Prefix                  string
		Days, Noncurrent, Multipart float64
	}
	lifecycle := func(c spec.Cluster) []rule {
		c, err := spec.Resolve(c)
		require.NoError(t, err)
		var out []rule
		for _, r := range plan(t, c).MustNamed(t, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "prod-masters-backup-lifecycle").Inputs["rules"].([]any) {
			require.Equal(t, "Enabled", mockaws.Field(r, "status"))
			out = append(out, rule{mockaws.Str(mockaws.Field(r, "id")), mockaws.Str(mockaws.Field(r, "filter", "prefix")), mockaws.Field(r, "expiration", "days").(float64),
				mockaws.Field(r, "noncurrentVersionExpiration", "noncurrentDays").(float64), mockaws.Field(r, "abortIncompleteMultipartUpload", "daysAfterInitiation").(float64)})
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		backup spec.Backup
		want   []rule
	}{
		{"defaults", spec.Backup{}, []rule{
			{"expire-frequent", "prod/etcd/frequent/", 1, 1, 1},
			{"expire-hourly", "prod/etcd/hourly/", 7, 1, 1},
			{"expire-daily", "prod/etcd/daily/", 365, 1, 1},
			{"expire-pre-roll", "prod/etcd/pre-roll/", 365, 1, 1},
		}},
		{"configured days and prefix", spec.Backup{Prefix: "backups/prod", Retention: spec.BackupRetention{FrequentDays: 2, HourlyDays: 14, DailyDays: 90}}, []rule{
			{"expire-frequent", "backups/prod/frequent/", 2, 1, 1},
			{"expire-hourly", "backups/prod/hourly/", 14, 1, 1},
			{"expire-daily", "backups/prod/daily/", 90, 1, 1},
			{"expire-pre-roll", "backups/prod/pre-roll/", 90, 1, 1},
		}},
		{"object lock keeps old versions as long as the lock", spec.Backup{ObjectLockDays: 30}, []rule{
			{"expire-frequent", "prod/etcd/frequent/", 1, 30, 1},
			{"expire-hourly", "prod/etcd/hourly/", 7, 30, 1},
			{"expire-daily", "prod/etcd/daily/", 365, 30, 1},
			{"expire-pre-roll", "prod/etcd/pre-roll/", 365, 30, 1},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := clusterSpec(3, 3)
			c.Backup = tc.backup
			require.Equal(t, tc.want, lifecycle(c))
		})
	}
	// Each tier's prefix is the one the masters write to.
	for _, tier := range bootstrap.BackupTiers {
		require.Equal(t, "prod/etcd/"+tier+"/", bootstrap.Backup{Prefix: "prod/etcd"}.TierPrefix(tier))
	}
}

func TestObjectLockIsSetOnlyWhenConfiguredInGovernanceMode(t *testing.T) {
	c := clusterSpec(3, 3)
	c.Backup.ObjectLockDays = 30
	m := plan(t, c)
	require.Equal(t, true, m.MustNamed(t, bucketType, "prod-masters-backup").Inputs["objectLockEnabled"], "chosen when the bucket is created")
	lock := m.MustNamed(t, "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2", "prod-masters-backup-object-lock")
	require.Equal(t, "GOVERNANCE", mockaws.Field(lock.Inputs, "rule", "defaultRetention", "mode"))
	require.Equal(t, 30.0, mockaws.Field(lock.Inputs, "rule", "defaultRetention", "days"))
}

func TestBackupAgeAlarmWatchesTheMastersMetricAndTreatsSilenceAsFailure(t *testing.T) {
	for _, tc := range []struct {
		interval  int
		actions   []string
		threshold float64
	}{
		{15, nil, 40 * 60},
		{5, []string{"arn:aws:sns:us-east-1:123456789012:oncall"}, 20 * 60},
		{60, []string{"arn:aws:sns:us-east-1:123456789012:oncall", "arn:aws:sns:us-east-1:123456789012:etcd"}, 130 * 60},
	} {
		t.Run(fmt.Sprintf("every %d minutes", tc.interval), func(t *testing.T) {
			c := clusterSpec(3, 3)
			c.Backup = spec.Backup{IntervalMinutes: tc.interval, AlarmActions: tc.actions}
			m := plan(t, c)
			a := m.MustNamed(t, alarmType, "prod-masters-backup-age")
			in := a.Inputs
			require.Equal(t, bootstrap.BackupMetricNamespace, in["namespace"])
			require.Equal(t, bootstrap.BackupAgeMetric, in["metricName"])
			require.Equal(t, map[string]any{bootstrap.BackupMetricDimension: "prod"}, in["dimensions"])
			require.Equal(t, "Minimum", in["statistic"], "the freshest view of any master")
			require.Equal(t, float64(tc.interval*60), in["period"])
			require.Equal(t, float64(masters.BackupAlarmPeriods), in["evaluationPeriods"])
			require.Equal(t, float64(masters.BackupAlarmPeriods), in["datapointsToAlarm"])
			require.Equal(t, tc.threshold, in["threshold"], "two intervals and ten minutes")
			require.Equal(t, "GreaterThanThreshold", in["comparisonOperator"])
			require.Equal(t, "breaching", in["treatMissingData"], "no master reporting means no backups")
			if tc.actions == nil {
				require.Nil(t, in["alarmActions"])
			} else {
				require.Equal(t, tc.actions, mockaws.Strings(in["alarmActions"]))
				require.Equal(t, tc.actions, mockaws.Strings(in["okActions"]))
			}
			// Created once the masters answer, so a new cluster does not
			// alarm before its first snapshot is due.
			for i := range 3 {
				require.Contains(t, a.Options.DependsOn, m.MustNamed(t, asgType, fmt.Sprintf("prod-masters-master-%d", i)).URN)
			}
		})
	}
}

func TestMastersWaitForTheBackupBucketsConfiguration(t *testing.T) {
	m := plan(t, clusterSpec(3, 3))
	for _, asg := range m.ByType(asgType) {
		for _, typ := range backupTypes[1:7] {
			for _, r := range backupsOfType(m, typ) {
				require.Contains(t, asg.Options.Dependencies, r.URN, "%s waits for %s", asg.Name, r.Name)
			}
		}
	}
}

// statement finds a policy's statement by Sid.
func statement(t *testing.T, d iampolicy.Document, sid string) iampolicy.Statement {
	t.Helper()
	for _, s := range d.Statement {
		if s.Sid == sid {
			return s
		}
	}
	t.Fatalf("no statement %s", sid)
	return iampolicy.Statement{}
}

func TestMasterToolsAreRetainedParametersNamedByTheirContentThatEveryTemplateWaitsFor(t *testing.T) {
	for _, backup := range []bool{true, false} {
		c := clusterSpec(3, 3)
		if !backup {
			off := false
			c.Backup.Enabled = &off
		}
		m := plan(t, c)
		tools, err := bootstrap.MasterTools(backup)
		require.NoError(t, err)
		want := map[string]bootstrap.Tool{}
		for _, tool := range tools {
			want["/kinfra/prod/"+tool.Parameter] = tool
		}
		got := map[string]bool{}
		var urns []string
		for _, p := range m.ByType("aws:ssm/parameter:Parameter") {
			name := mockaws.Str(p.Inputs["name"])
			tool, ok := want[name]
			if !ok {
				continue
			}
			got[name] = true
			urns = append(urns, p.URN)
			require.Equal(t, "String", p.Inputs["type"], name)
			require.Equal(t, "Standard", p.Inputs["tier"], name)
			require.Nil(t, p.Inputs["value"], "%s: insecureValue, so that reviewers see it", name)
			content, err := bootstrap.ToolContent(tool.Parameter, mockaws.Str(p.Inputs["insecureValue"]))
			require.NoError(t, err, name)
			require.Equal(t, tool.Content, content, name)
			require.True(t, p.Options.RetainOnDelete, "%s: an older launch template version may still name it", name)
			require.Equal(t, true, p.Inputs["overwrite"], "%s: a parameter retained earlier is adopted", name)
		}
		require.Len(t, got, len(want), "backup %v: one parameter per tool", backup)
		paths := map[string]bool{}
		for _, tool := range tools {
			paths[tool.Path] = true
		}
		require.Equal(t, backup, paths[bootstrap.BackupScriptPath], "the backup script is a tool only with backups")
		require.True(t, paths[bootstrap.HealthScriptPath] && paths[bootstrap.DefragScriptPath] && paths[bootstrap.RenewScriptPath])
		for _, lt := range m.ByType("aws:ec2/launchTemplate:LaunchTemplate") {
			for _, urn := range urns {
				require.Contains(t, lt.Options.Dependencies, urn, "no version of %s names a tool before it exists", lt.Name)
			}
		}
		read := statement(t, policies(t, m)["prod-masters-masters"], "ReadMasterTools")
		require.Equal(t, []string{"ssm:GetParameter"}, read.Action)
		require.Equal(t, []string{"arn:aws:ssm:us-east-1:123456789012:parameter/kinfra/prod/masters/tools/*"}, read.Resource)
	}
}

// backupSids are the shared policy's backup statements.
var backupSids = []string{"BackupSnapshots", "BackupListSnapshots", "BackupEncryption", "BackupMetrics"}

func TestMastersMayReadTheEtcdRecordAndWriteOnlyTheirOwnEntries(t *testing.T) {
	docs := policies(t, plan(t, clusterSpec(3, 3)))
	shared := docs["prod-masters-masters"]
	read := statement(t, shared, "ReadEtcdRecord")
	require.Equal(t, []string{"ssm:GetParameter"}, read.Action)
	require.Equal(t, []string{"arn:aws:ssm:us-east-1:123456789012:parameter/kinfra/prod/etcd/*"}, read.Resource, "the record and the restore request")
	require.Empty(t, read.Condition, "String parameters: no key")
	write := statement(t, shared, "WriteEtcdClusterRecord")
	require.Equal(t, []string{"ssm:PutParameter"}, write.Action)
	require.Equal(t, []string{"arn:aws:ssm:us-east-1:123456789012:parameter/kinfra/prod/etcd/cluster"}, write.Resource)
	for name, d := range docs {
		for _, s := range d.Statement {
			for _, a := range s.Action {
				require.NotEqual(t, "ssm:DeleteParameter", a, "%s %s: the record is never deleted", name, s.Sid)
				require.False(t, strings.HasPrefix(a, "s3:Delete"), "%s %s: snapshots expire by lifecycle only", name, s.Sid)
				if a == "ssm:PutParameter" {
					for _, r := range s.Resource {
						require.NotContains(t, r, "/etcd/restore", "only operators request a restore")
					}
				}
			}
		}
	}
}

func TestMastersMayWriteAndReadSnapshotsOnlyUnderThePrefix(t *testing.T) {
	m := plan(t, clusterSpec(3, 3))
	shared := policies(t, m)["prod-masters-masters"]
	require.Equal(t, iampolicy.Statement{Sid: "BackupSnapshots", Effect: "Allow",
		Action: []string{"s3:GetObject", "s3:PutObject"}, Resource: []string{prodBucketArn + "/prod/etcd/*"}},
		statement(t, shared, "BackupSnapshots"))
	require.Equal(t, iampolicy.Statement{Sid: "BackupListSnapshots", Effect: "Allow",
		Action: []string{"s3:ListBucket"}, Resource: []string{prodBucketArn},
		Condition: map[string]map[string]any{"StringLike": {"s3:prefix": []any{"prod/etcd/*"}}}},
		statement(t, shared, "BackupListSnapshots"))
	require.Equal(t, iampolicy.Statement{Sid: "BackupEncryption", Effect: "Allow",
		Action: []string{"kms:Decrypt", "kms:GenerateDataKey"}, Resource: []string{clusterKeyArn(t, m)},
		Condition: map[string]map[string]any{"StringEquals": {
			"kms:ViaService":                   "s3.us-east-1.amazonaws.com",
			"kms:EncryptionContext:aws:s3:arn": prodBucketArn,
		}}},
		statement(t, shared, "BackupEncryption"))
	require.Equal(t, iampolicy.Statement{Sid: "BackupMetrics", Effect: "Allow",
		Action: []string{"cloudwatch:PutMetricData"}, Resource: []string{"*"},
		Condition: map[string]map[string]any{"StringEquals": {"cloudwatch:namespace": "kinfra/etcd"}}},
		statement(t, shared, "BackupMetrics"))
}

func TestAnExistingBucketGetsNoBucketResourcesButTheIAMPointsAtIt(t *testing.T) {
	for _, tc := range []struct {
		name, key string
	}{
		{"with its KMS key", "arn:aws:kms:us-east-1:123456789012:key/0f0e0d0c-0b0a-0908-0706-050403020100"},
		{"without a KMS key", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := clusterSpec(3, 3)
			c.Backup = spec.Backup{Bucket: "central-etcd-backups", BucketKmsKeyArn: tc.key, Prefix: "clusters/prod"}
			m := plan(t, c)
			for _, typ := range backupTypes[:8] {
				require.Empty(t, backupsOfType(m, typ), typ)
			}
			m.MustNamed(t, alarmType, "prod-masters-backup-age") // the alarm watches any bucket
			shared := policies(t, m)["prod-masters-masters"]
			arn := "arn:aws:s3:::central-etcd-backups"
			require.Equal(t, []string{arn + "/clusters/prod/*"}, statement(t, shared, "BackupSnapshots").Resource)
			require.Equal(t, []any{"clusters/prod/*"}, statement(t, shared, "BackupListSnapshots").Condition["StringLike"]["s3:prefix"])
			var sids []string
			for _, s := range shared.Statement {
				sids = append(sids, s.Sid)
			}
			if tc.key == "" {
				require.NotContains(t, sids, "BackupEncryption", "no key given: nothing KMS")
			} else {
				enc := statement(t, shared, "BackupEncryption")
				require.Equal(t, []string{tc.key}, enc.Resource)
				require.Equal(t, map[string]any{"kms:ViaService": "s3.us-east-1.amazonaws.com"}, enc.Condition["StringEquals"])
				require.Equal(t, []any{arn, arn + "/clusters/prod/*"}, enc.Condition["StringLike"]["kms:EncryptionContext:aws:s3:arn"],
					"with or without a bucket key")
			}
		})
	}
}

func TestBackupsOffCreateNoBucketNoAlarmAndNoBackupPermissions(t *testing.T) {
	c := clusterSpec(3, 3)
	off := false
	c.Backup.Enabled = &off
	m := plan(t, c)
	for _, typ := range backupTypes {
		if typ == alarmType {
			require.Len(t, m.ByType(typ), 1+len(masters.HealthAlarms(3, 24)), "the boot-failure and health alarms only")
			m.MustNamed(t, alarmType, "prod-masters-boot-failed")
			continue
		}
		require.Empty(t, backupsOfType(m, typ), typ)
	}
	for name, d := range policies(t, m) {
		for _, s := range d.Statement {
			require.NotContains(t, backupSids, s.Sid, name)
		}
	}
	// The etcd record is not a backup: the masters keep it either way.
	statement(t, policies(t, m)["prod-masters-masters"], "ReadEtcdRecord")
}

// kinfra roll and kinfra etcd reach every etcd member's client port and
// every master's API server on their private addresses (docs/roll.md,
// "Where it runs"), and the API through its load balancer: the operators'
// group admits them, and nothing else does (no kinfra instance carries it).
func TestTheOperatorsGroupReachesWhatKinfraRollDials(t *testing.T) {
	m := plan(t, clusterSpec(3, 3))
	names := sgNames(m)
	var ops string
	for id, name := range names {
		if name == "prod-masters-operators" {
			ops = id
		}
	}
	require.NotEmpty(t, ops, "an operators' security group")
	admitted := map[string]bool{}
	for _, r := range m.ByType(ingress) {
		if mockaws.Str(r.Inputs["referencedSecurityGroupId"]) != ops {
			continue
		}
		admitted[fmt.Sprintf("%s %s/%v-%v", names[mockaws.Str(r.Inputs["securityGroupId"])], r.Inputs["ipProtocol"], r.Inputs["fromPort"], r.Inputs["toPort"])] = true
	}
	require.Equal(t, map[string]bool{
		"prod-masters-masters tcp/2379-2379": true, // every member's health, the pre-roll snapshot, recover-space
		"prod-masters-masters tcp/6443-6443": true, // each master's /readyz and nodes
		"prod-masters-api-lb tcp/6443-6443":  true, // the pools' drains through api.<domain>
	}, admitted)
	for _, lt := range m.ByType("aws:ec2/launchTemplate:LaunchTemplate") {
		require.NotEmpty(t, mockaws.Strings(lt.Inputs["vpcSecurityGroupIds"]), lt.Name)
		for _, sg := range mockaws.Strings(lt.Inputs["vpcSecurityGroupIds"]) {
			require.NotEqual(t, ops, sg, "%s: no kinfra instance is an operator", lt.Name)
		}
	}
}

// The masters replace the node join token: they may write that one
// parameter and encrypt only it with the cluster key, only through SSM;
// nodes still only read. Pulumi creates the parameter with kinfra:pki's
// token and never writes its value again, so that `pulumi up` cannot put
// back a token the leader replaced; every other parameter follows kinfra:pki.
func TestMastersMayReplaceOnlyTheJoinTokenWhichPulumiCreatesOnce(t *testing.T) {
	m := plan(t, clusterSpec(3, 3))
	docs := policies(t, m)
	shared := docs["prod-masters-masters"]
	key := m.ByType("aws:kms/key:Key")
	require.Len(t, key, 1)
	keyArn := "arn:aws:kms:us-east-1:123456789012:key/" + key[0].ID
	const param = "arn:aws:ssm:us-east-1:123456789012:parameter/kinfra/prod/join/bootstrap-token"
	require.Equal(t, iampolicy.Statement{Sid: "WriteJoinToken", Effect: "Allow", Action: []string{"ssm:PutParameter"},
		Resource: []string{param}}, statement(t, shared, "WriteJoinToken"))
	require.Equal(t, iampolicy.Statement{Sid: "EncryptJoinToken", Effect: "Allow", Action: []string{"kms:Encrypt"},
		Resource: []string{keyArn}, Condition: map[string]map[string]any{"StringEquals": {
			"kms:ViaService": "ssm.us-east-1.amazonaws.com", "kms:EncryptionContext:PARAMETER_ARN": param,
		}}}, statement(t, shared, "EncryptJoinToken"))
	for name, d := range docs {
		for _, s := range d.Statement {
			for _, a := range s.Action {
				if a == "kms:Encrypt" {
					require.Equal(t, "prod-masters-masters/EncryptJoinToken", name+"/"+s.Sid, "nothing else encrypts with the cluster key directly")
				}
				if a == "ssm:PutParameter" {
					for _, r := range s.Resource {
						if strings.Contains(r, "/join/") {
							require.Equal(t, "prod-masters-masters/WriteJoinToken", name+"/"+s.Sid)
							require.Equal(t, param, r, "only the token, not the CA nodes pin")
						}
					}
				}
			}
		}
	}
	for _, p := range m.ByType("aws:ssm/parameter:Parameter") {
		if mockaws.Str(p.Inputs["name"]) == "/kinfra/prod/join/bootstrap-token" {
			require.Equal(t, []string{masters.JoinTokenSetting}, p.Options.IgnoreChanges, "the masters own the token")
			require.Equal(t, "value", masters.JoinTokenSetting)
		} else {
			require.Empty(t, p.Options.IgnoreChanges, "%s follows kinfra:pki", p.Name)
		}
	}
}

// Masters with an image of their own look up an image of their instance
// type's architecture.
func TestTheMastersImageLookupFiltersOnTheirArchitecture(t *testing.T) {
	for typ, want := range map[string]string{"m7g.2xlarge": "arm64", "m7i.metal-24xl": "x86_64", "": "x86_64"} {
		c := clusterSpec(3, 3)
		c.Images.Enabled = pulumi.BoolRef(false)
		c.Masters.InstanceType = typ
		m := plan(t, c)
		var got []any
		for _, inv := range m.Invokes() {
			if inv.Token != "aws:ec2/getAmi:getAmi" {
				continue
			}
			for _, f := range inv.Args["filters"].([]any) {
				if f := f.(map[string]any); f["name"] == "architecture" {
					got = append(got, f["values"].([]any)...)
				}
			}
		}
		require.Equal(t, []any{want}, got, typ)
	}
}
