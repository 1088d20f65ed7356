package findings

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/components/workers"
	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/tags"
)

func withOptions(r mockaws.Resource, o mockaws.Options) mockaws.Resource {
	r.Options = o
	return r
}

func etcdVolume(name string, o mockaws.Options) mockaws.Resource {
	return withOptions(res(ebsVolumeType, name, "vol-"+name, map[string]any{"encrypted": true,
		"tags": map[string]any{tags.MasterSlot: "0", tags.Role: "etcd"}}), o)
}

// backupAlarm is the alarm kinfra creates when etcd is backed up.
func backupAlarm() mockaws.Resource {
	return res(metricAlarmType, "c-masters-backup-age", "c-etcd-backup-age", map[string]any{
		"namespace": bootstrap.BackupMetricNamespace, "metricName": bootstrap.BackupAgeMetric, "period": 900.0})
}

// masterSlot is a master group and its launch template; rolling gives the
// group an instance refresh and leaves its launch template version to
// Pulumi, as the program's master groups had before `kinfra roll`.
func masterSlot(i string, rolling bool, ltID string) []mockaws.Resource {
	lt := res(launchTemplate, "m-master-"+i, ltID, map[string]any{"tags": map[string]any{tags.MasterSlot: i},
		"metadataOptions":     map[string]any{"httpTokens": "required", "httpPutResponseHopLimit": 1.0},
		"blockDeviceMappings": []any{map[string]any{"deviceName": "/dev/sda1", "ebs": map[string]any{"encrypted": "true"}}},
	})
	g := res(groupType, "m-master-"+i, "m-master-"+i, map[string]any{
		"launchTemplate": map[string]any{"id": ltID, "version": "1"},
		"tags":           []any{map[string]any{"key": tags.MasterSlot, "value": i, "propagateAtLaunch": true}},
	})
	if rolling {
		g.Inputs["instanceRefresh"] = map[string]any{"strategy": "Rolling"}
	} else {
		g.Options.IgnoreChanges = []string{masters.RolledGroupSetting}
	}
	return []mockaws.Resource{lt, g}
}

func pool(name string, autoscaled, ignored bool) mockaws.Resource {
	var tagList []any
	if autoscaled {
		tagList = append(tagList, map[string]any{"key": autoscalerEnabledTag, "value": "true", "propagateAtLaunch": false})
	}
	g := res(groupType, name, name, map[string]any{"desiredCapacity": 3.0, "tags": tagList})
	if ignored {
		g.Options.IgnoreChanges = []string{"desiredCapacity"}
	}
	return g
}

// rolledPool is a node pool's group, with an instance refresh or not, and
// leaving its launch template version to kinfra roll or not.
func rolledPool(name string, refresh, left bool) mockaws.Resource {
	g := res(groupType, name, name, map[string]any{"tags": []any{map[string]any{"key": workers.PoolTag, "value": name, "propagateAtLaunch": true}}})
	if refresh {
		g.Inputs["instanceRefresh"] = map[string]any{"strategy": "Rolling"}
	}
	if left {
		g.Options.IgnoreChanges = []string{workers.RolledGroupSetting}
	}
	return g
}

func policy(name, doc string) mockaws.Resource {
	return res("aws:iam/rolePolicy:RolePolicy", name, name, map[string]any{"policy": doc})
}

func concat(parts ...[]mockaws.Resource) []mockaws.Resource {
	var out []mockaws.Resource
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestNewRulesFlagTheirViolationsAndPassTheFixes(t *testing.T) {
	protected := mockaws.Options{Protect: true, RetainOnDelete: true}
	imds := map[string]any{"httpTokens": "required", "httpPutResponseHopLimit": 1.0, "httpEndpoint": "enabled"}
	encryptedRoot := []any{map[string]any{"deviceName": "/dev/sda1", "ebs": map[string]any{"encrypted": "true", "volumeSize": 100.0}}}
	cases := []struct {
		name      string
		bad, good []mockaws.Resource
		want      []string
	}{
		{
			name: "etcd volume without protect",
			bad:  []mockaws.Resource{etcdVolume("etcd-0", mockaws.Options{RetainOnDelete: true}), etcdVolume("etcd-1", protected), etcdVolume("etcd-2", protected), backupAlarm()},
			good: []mockaws.Resource{etcdVolume("etcd-0", protected), etcdVolume("etcd-1", protected), etcdVolume("etcd-2", protected), backupAlarm()},
			want: []string{"error masters/etcd-volume-protected urn:" + ebsVolumeType + "::etcd-0"},
		},
		{
			name: "etcd volume without retainOnDelete",
			bad:  []mockaws.Resource{etcdVolume("etcd-0", protected), etcdVolume("etcd-1", mockaws.Options{Protect: true}), etcdVolume("etcd-2", protected), backupAlarm()},
			good: []mockaws.Resource{etcdVolume("etcd-0", protected), etcdVolume("etcd-1", protected), etcdVolume("etcd-2", protected), backupAlarm()},
			want: []string{"error masters/etcd-volume-protected urn:" + ebsVolumeType + "::etcd-1"},
		},
		{
			name: "etcd without backups",
			bad:  []mockaws.Resource{etcdVolume("etcd-0", protected), etcdVolume("etcd-1", protected), etcdVolume("etcd-2", protected)},
			good: []mockaws.Resource{etcdVolume("etcd-0", protected), etcdVolume("etcd-1", protected), etcdVolume("etcd-2", protected), backupAlarm()},
			want: []string{"error backup/disabled "},
		},
		{
			name: "etcd with some other alarm but no backup-age alarm",
			bad: []mockaws.Resource{etcdVolume("etcd-0", protected), etcdVolume("etcd-1", protected), etcdVolume("etcd-2", protected),
				res(metricAlarmType, "cpu", "cpu", map[string]any{"namespace": "AWS/EC2", "metricName": "CPUUtilization"})},
			good: []mockaws.Resource{etcdVolume("etcd-0", protected), etcdVolume("etcd-1", protected), etcdVolume("etcd-2", protected), backupAlarm()},
			want: []string{"error backup/disabled "},
		},
		{
			name: "metrics published to any namespace",
			bad:  []mockaws.Resource{policy("p", `{"Statement":[{"Effect":"Allow","Action":["cloudwatch:PutMetricData"],"Resource":"*"}]}`)},
			good: []mockaws.Resource{policy("p", `{"Statement":[{"Effect":"Allow","Action":["cloudwatch:PutMetricData"],"Resource":"*","Condition":{"StringEquals":{"cloudwatch:namespace":"kinfra/etcd"}}}]}`)},
			want: []string{"error iam/wildcard urn:aws:iam/rolePolicy:RolePolicy::p"},
		},
		{
			name: "metrics namespace condition that does not scope",
			bad: []mockaws.Resource{policy("p", `{"Statement":[{"Effect":"Allow","Action":["cloudwatch:PutMetricData"],"Resource":"*",`+
				`"Condition":{"StringNotEquals":{"cloudwatch:namespace":"AWS/EC2"}}}]}`)},
			good: []mockaws.Resource{policy("p", `{"Statement":[{"Effect":"Allow","Action":["cloudwatch:PutMetricData"],"Resource":"*","Condition":{"StringLike":{"cloudwatch:namespace":["kinfra/*"]}}}]}`)},
			want: []string{"error iam/wildcard urn:aws:iam/rolePolicy:RolePolicy::p"},
		},
		{
			name: "a master slot replaced by a stack change, not by the roll",
			bad:  concat(masterSlot("0", false, "lt-0"), masterSlot("1", true, "lt-1"), masterSlot("2", false, "lt-2")),
			good: concat(masterSlot("0", false, "lt-0"), masterSlot("1", false, "lt-1"), masterSlot("2", false, "lt-2")),
			want: []string{"error masters/one-refresh-at-a-time urn:" + groupType + "::m-master-1"},
		},
		{
			name: "master slots sharing a launch template",
			bad:  concat(masterSlot("0", false, "lt-0"), masterSlot("1", false, "lt-0")[1:], masterSlot("2", false, "lt-2")),
			good: concat(masterSlot("0", false, "lt-0"), masterSlot("1", false, "lt-1"), masterSlot("2", false, "lt-2")),
			want: []string{"error masters/one-refresh-at-a-time urn:" + launchTemplate + "::m-master-0"},
		},
		{
			name: "a node pool replaced by a stack change, not by the roll",
			bad:  []mockaws.Resource{rolledPool("general", true, true), rolledPool("batch", false, false)},
			good: []mockaws.Resource{rolledPool("general", false, true), rolledPool("batch", false, true)},
			want: []string{"error workers/rolled-by-kinfra-roll urn:" + groupType + "::batch", "error workers/rolled-by-kinfra-roll urn:" + groupType + "::general"},
		},
		{
			name: "autoscaled group whose desired capacity Pulumi resets",
			bad:  []mockaws.Resource{pool("general", true, false)},
			good: []mockaws.Resource{pool("general", true, true), pool("fixed", false, false)},
			want: []string{"error workers/autoscaler-desired-capacity urn:" + groupType + "::general"},
		},
		{
			name: "fixed-size group ignoring its desired capacity",
			bad:  []mockaws.Resource{pool("fixed", false, true)},
			good: []mockaws.Resource{pool("fixed", false, false)},
			want: []string{"warning workers/autoscaler-desired-capacity urn:" + groupType + "::fixed"},
		},
		{
			name: "IAM action wildcard",
			bad:  []mockaws.Resource{policy("p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}]}`)},
			good: []mockaws.Resource{policy("p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/*"}]}`)},
			want: []string{"error iam/wildcard urn:aws:iam/rolePolicy:RolePolicy::p"},
		},
		{
			name: "IAM scopable action on every resource",
			bad:  []mockaws.Resource{policy("p", `{"Statement":[{"Effect":"Allow","Action":["ec2:DescribeVolumes","ec2:AttachVolume"],"Resource":"*"}]}`)},
			good: []mockaws.Resource{policy("p", `{"Statement":[{"Effect":"Allow","Action":["ec2:DescribeVolumes"],"Resource":"*"},`+
				`{"Effect":"Allow","Action":["ec2:AttachVolume"],"Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/kinfra.dev/cluster":"c"}}},`+
				`{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)},
			want: []string{"error iam/wildcard urn:aws:iam/rolePolicy:RolePolicy::p"},
		},
		{
			name: "IAM NotAction",
			bad:  []mockaws.Resource{policy("p", `{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`)},
			good: []mockaws.Resource{policy("p", `{"Statement":[{"Effect":"Deny","NotAction":"iam:*","Resource":"*"}]}`)},
			want: []string{"error iam/wildcard urn:aws:iam/rolePolicy:RolePolicy::p"},
		},
		{
			name: "AWS-managed full-access policy",
			bad: []mockaws.Resource{res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a", "a",
				map[string]any{"policyArn": "arn:aws:iam::aws:policy/AmazonEC2FullAccess"})},
			good: []mockaws.Resource{res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a", "a",
				map[string]any{"policyArn": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"})},
			want: []string{"error iam/wildcard urn:aws:iam/rolePolicyAttachment:RolePolicyAttachment::a"},
		},
		{
			name: "IAM access key",
			bad: []mockaws.Resource{res("aws:iam/user:User", "u", "u", map[string]any{}),
				res("aws:iam/accessKey:AccessKey", "k", "AKIAEXAMPLE", map[string]any{"user": "u"})},
			good: []mockaws.Resource{res("aws:iam/role:Role", "r", "r", map[string]any{})},
			want: []string{"error iam/access-key urn:aws:iam/accessKey:AccessKey::k"},
		},
		{
			name: "IMDSv1 launch template",
			bad: []mockaws.Resource{res(launchTemplate, "lt", "lt-1", map[string]any{"blockDeviceMappings": encryptedRoot,
				"metadataOptions": map[string]any{"httpTokens": "optional", "httpPutResponseHopLimit": 1.0}})},
			good: []mockaws.Resource{res(launchTemplate, "lt", "lt-1", map[string]any{"blockDeviceMappings": encryptedRoot, "metadataOptions": imds})},
			want: []string{"error instances/imdsv2 urn:" + launchTemplate + "::lt"},
		},
		{
			name: "IMDSv2 with a hop limit pods reach",
			bad: []mockaws.Resource{res(launchTemplate, "lt", "lt-1", map[string]any{"blockDeviceMappings": encryptedRoot,
				"metadataOptions": map[string]any{"httpTokens": "required", "httpPutResponseHopLimit": 2.0}})},
			good: []mockaws.Resource{res(launchTemplate, "lt", "lt-1", map[string]any{"blockDeviceMappings": encryptedRoot, "metadataOptions": imds})},
			want: []string{"error instances/imdsv2 urn:" + launchTemplate + "::lt"},
		},
		{
			name: "unencrypted root device",
			bad: []mockaws.Resource{res(launchTemplate, "lt", "lt-1", map[string]any{"metadataOptions": imds,
				"blockDeviceMappings": []any{map[string]any{"deviceName": "/dev/sda1", "ebs": map[string]any{"volumeSize": 100.0}}}})},
			good: []mockaws.Resource{res(launchTemplate, "lt", "lt-1", map[string]any{"blockDeviceMappings": encryptedRoot, "metadataOptions": imds})},
			want: []string{"error storage/encrypted urn:" + launchTemplate + "::lt"},
		},
		{
			name: "unencrypted volume",
			bad:  []mockaws.Resource{res(ebsVolumeType, "data", "vol-1", map[string]any{"encrypted": false})},
			good: []mockaws.Resource{res(ebsVolumeType, "data", "vol-1", map[string]any{"encrypted": true})},
			want: []string{"error storage/encrypted urn:" + ebsVolumeType + "::data"},
		},
		{
			name: "etcd open to the nodes by an all-traffic rule",
			bad: concat(masterSlot("0", false, "lt-0"), []mockaws.Resource{
				res(securityGroupType, "c-masters-masters", "sg-m", map[string]any{"tags": map[string]any{tags.Component: "masters", "Name": "c-masters-masters"}}),
				res(ingressRuleType, "pods", "sgr-1", map[string]any{"securityGroupId": "sg-m", "ipProtocol": "-1", "referencedSecurityGroupId": "sg-nodes"}),
			}),
			good: concat(masterSlot("0", false, "lt-0"), []mockaws.Resource{
				res(securityGroupType, "c-masters-masters", "sg-m", map[string]any{"tags": map[string]any{tags.Component: "masters", "Name": "c-masters-masters"}}),
				res(ingressRuleType, "etcd", "sgr-1", map[string]any{"securityGroupId": "sg-m", "ipProtocol": "tcp", "fromPort": 2379.0, "toPort": 2380.0, "referencedSecurityGroupId": "sg-m"}),
				res(ingressRuleType, "pods-low", "sgr-2", map[string]any{"securityGroupId": "sg-m", "ipProtocol": "tcp", "fromPort": 0.0, "toPort": 2378.0, "referencedSecurityGroupId": "sg-nodes"}),
			}),
			want: []string{"error security-group/etcd-masters-only urn:" + ingressRuleType + "::pods"},
		},
		{
			name: "the operators' group reaching etcd's peer port",
			bad: concat(masterSlot("0", false, "lt-0"), []mockaws.Resource{
				res(securityGroupType, "c-masters-masters", "sg-m", map[string]any{"tags": map[string]any{tags.Component: "masters", "Name": "c-masters-masters"}}),
				res(securityGroupType, "c-masters-operators", "sg-ops", map[string]any{"tags": map[string]any{tags.Component: "masters", tags.Role: "operators"}}),
				res(ingressRuleType, "ops-etcd", "sgr-1", map[string]any{"securityGroupId": "sg-m", "ipProtocol": "tcp", "fromPort": 2379.0, "toPort": 2380.0, "referencedSecurityGroupId": "sg-ops"}),
			}),
			// kinfra roll and kinfra etcd on the client port only.
			good: concat(masterSlot("0", false, "lt-0"), []mockaws.Resource{
				res(securityGroupType, "c-masters-masters", "sg-m", map[string]any{"tags": map[string]any{tags.Component: "masters", "Name": "c-masters-masters"}}),
				res(securityGroupType, "c-masters-operators", "sg-ops", map[string]any{"tags": map[string]any{tags.Component: "masters", tags.Role: "operators"}}),
				res(ingressRuleType, "ops-etcd", "sgr-1", map[string]any{"securityGroupId": "sg-m", "ipProtocol": "tcp", "fromPort": 2379.0, "toPort": 2379.0, "referencedSecurityGroupId": "sg-ops"}),
			}),
			want: []string{"error security-group/etcd-masters-only urn:" + ingressRuleType + "::ops-etcd"},
		},
		{
			name: "a group named operators but carried by instances",
			bad: concat(masterSlot("0", false, "lt-0"), []mockaws.Resource{
				res(securityGroupType, "c-masters-masters", "sg-m", map[string]any{"tags": map[string]any{tags.Component: "masters", "Name": "c-masters-masters"}}),
				res(securityGroupType, "c-masters-operators", "sg-ops", map[string]any{"tags": map[string]any{tags.Component: "masters", tags.Role: "operators"}}),
				res(launchTemplate, "worker", "lt-w", map[string]any{"vpcSecurityGroupIds": []any{"sg-ops"}, "metadataOptions": map[string]any{"httpTokens": "required", "httpPutResponseHopLimit": 1.0},
					"blockDeviceMappings": []any{map[string]any{"deviceName": "/dev/sda1", "ebs": map[string]any{"encrypted": "true"}}}}),
				res(ingressRuleType, "ops-etcd", "sgr-1", map[string]any{"securityGroupId": "sg-m", "ipProtocol": "tcp", "fromPort": 2379.0, "toPort": 2379.0, "referencedSecurityGroupId": "sg-ops"}),
			}),
			good: concat(masterSlot("0", false, "lt-0"), []mockaws.Resource{
				res(securityGroupType, "c-masters-masters", "sg-m", map[string]any{"tags": map[string]any{tags.Component: "masters", "Name": "c-masters-masters"}}),
				res(securityGroupType, "c-masters-operators", "sg-ops", map[string]any{"tags": map[string]any{tags.Component: "masters", tags.Role: "operators"}}),
				res(ingressRuleType, "ops-etcd", "sgr-1", map[string]any{"securityGroupId": "sg-m", "ipProtocol": "tcp", "fromPort": 2379.0, "toPort": 2379.0, "referencedSecurityGroupId": "sg-ops"}),
			}),
			want: []string{"error security-group/etcd-masters-only urn:" + ingressRuleType + "::ops-etcd"},
		},
		{
			name: "API open to the internet",
			bad: []mockaws.Resource{
				res(loadBalancerType, "c-masters-api", "lb-1", map[string]any{"internal": false, "securityGroups": []any{"sg-api"}}),
				res(ingressRuleType, "api", "sgr-1", map[string]any{"securityGroupId": "sg-api", "ipProtocol": "tcp", "fromPort": 6443.0, "toPort": 6443.0, "cidrIpv4": "0.0.0.0/0"}),
			},
			good: []mockaws.Resource{
				res(loadBalancerType, "c-masters-api", "lb-1", map[string]any{"internal": false, "securityGroups": []any{"sg-api"}}),
				res(ingressRuleType, "api", "sgr-1", map[string]any{"securityGroupId": "sg-api", "ipProtocol": "tcp", "fromPort": 6443.0, "toPort": 6443.0, "cidrIpv4": "198.51.100.0/24"}),
			},
			want: []string{"error api/world-open urn:" + ingressRuleType + "::api"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, rules(Run(tc.bad)))
			require.Empty(t, rules(Run(tc.good)))
		})
	}
}

func TestAcknowledgedErrorsStayInThePlanButNoLongerFailIt(t *testing.T) {
	bad := []mockaws.Resource{
		res(loadBalancerType, "c-masters-api", "lb-1", map[string]any{"internal": false, "securityGroups": []any{"sg-api"}}),
		res(ingressRuleType, "c-masters-api-from-0", "sgr-1", map[string]any{"securityGroupId": "sg-api", "ipProtocol": "tcp", "fromPort": 6443.0, "toPort": 6443.0, "cidrIpv4": "0.0.0.0/0"}),
	}
	fs := Run(bad)
	require.Len(t, Errors(fs), 1)

	acks, err := ParseAcknowledgements(`[{"rule":"api/world-open","resource":"c-masters-api-from-0","reason":"public API for the CI fleet; security review SEC-42"},
		{"rule":"network/flow-logs","reason":"flow logs go to the org trail"}]`)
	require.NoError(t, err)
	out := Acknowledge(fs, acks)
	require.Empty(t, Errors(out))
	require.Equal(t, []string{
		"error api/world-open urn:" + ingressRuleType + "::c-masters-api-from-0",
		"warning acknowledgements/unused kinfra:acknowledgements[1]",
	}, rules(out))
	require.Equal(t, "public API for the CI fleet; security review SEC-42", out[0].Acknowledged)
	require.Contains(t, out[1].Message, "no such finding")

	// By URN, and for every resource of the rule.
	for _, resource := range []string{"urn:" + ingressRuleType + "::c-masters-api-from-0", ""} {
		acks := []Acknowledgement{{Rule: "api/world-open", Resource: resource, Reason: "r"}}
		require.Empty(t, Errors(Acknowledge(fs, acks)), resource)
	}
	// Another resource's acknowledgement does not cover this one.
	out = Acknowledge(fs, []Acknowledgement{{Rule: "api/world-open", Resource: "other", Reason: "r"}})
	require.Len(t, Errors(out), 1)
}

func TestBadAcknowledgementsAreAllReportedWithTheirPaths(t *testing.T) {
	_, err := ParseAcknowledgements(`[{"rule":"api/world-opn","reason":"x"},{"rule":"iam/wildcard"},{"rule":"iam/wildcard","reason":" "},{"reason":"x"}]`)
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`kinfra:acknowledgements[0].rule: "api/world-opn" is not a rule; rules are network/flow-logs`,
		"kinfra:acknowledgements[1].reason: required",
		"kinfra:acknowledgements[2].reason: required",
		"kinfra:acknowledgements[2]: acknowledges the same rule and resource as kinfra:acknowledgements[1]",
		"kinfra:acknowledgements[3].rule: required",
	} {
		require.Contains(t, msg, want)
	}
}

func TestStacksWithoutBackupsCanAcknowledgeIt(t *testing.T) {
	protected := mockaws.Options{Protect: true, RetainOnDelete: true}
	noBackups := []mockaws.Resource{etcdVolume("etcd-0", protected), etcdVolume("etcd-1", protected), etcdVolume("etcd-2", protected)}
	fs := Run(noBackups)
	require.Len(t, Errors(fs), 1)
	require.Contains(t, fs[0].Message, "cluster.backup.enabled: true")
	require.Contains(t, fs[0].Message, "acknowledge backup/disabled")

	acks, err := ParseAcknowledgements(`[{"rule":"backup/disabled","reason":"CI cluster, rebuilt every run; platform team"}]`)
	require.NoError(t, err)
	out := Acknowledge(fs, acks)
	require.Empty(t, Errors(out))
	require.Equal(t, []string{"error backup/disabled "}, rules(out))
	require.Equal(t, "CI cluster, rebuilt every run; platform team", out[0].Acknowledged)

	// With backups on, the acknowledgement is stale, and says so.
	out = Acknowledge(Run(append(noBackups, backupAlarm())), acks)
	require.Equal(t, []string{"warning acknowledgements/unused kinfra:acknowledgements[0]"}, rules(out))
	// No control plane, nothing to back up.
	require.Empty(t, Run([]mockaws.Resource{res(ebsVolumeType, "data", "vol-1", map[string]any{"encrypted": true})}))
}

// A malformed list is described in the stack's terms, not the JSON
// decoder's (no "json:", no Go type names).
func TestMalformedAcknowledgementsAreDescribedWithoutParserWords(t *testing.T) {
	for raw, want := range map[string]string{
		`{"rule":"iam/wildcard"}`:                               `kinfra:acknowledgements: an object is not a list of {rule, resource, reason}`,
		`[{"rule":"iam/wildcard","reason":"x","until":"2027"}]`: `kinfra:acknowledgements[0].until: unknown field; an acknowledgement takes reason, resource or rule`,
		`["iam/wildcard"]`:                                      `kinfra:acknowledgements[0]: "iam/wildcard" is not an object {rule, resource, reason}`,
		`[{"rule":"iam/wildcard","reason":3}]`:                  `kinfra:acknowledgements[0].reason: 3 is not a string; quote it`,
		`[{"rule":"iam/wildcard","reason":"x"`:                  `kinfra:acknowledgements: is not valid JSON; write a YAML list of {rule, resource, reason}`,
	} {
		_, err := ParseAcknowledgements(raw)
		require.EqualError(t, err, want, raw)
	}
}

// Every rule about etcd volumes recognises one by the same tags
// (tags.IsEtcdVolume): its role, its slot, or both, as the masters tag it.
func TestEtcdVolumeRulesRecogniseAVolumeByItsRoleOrItsSlot(t *testing.T) {
	for name, volumeTags := range map[string]map[string]any{
		"role and slot": {tags.Role: tags.RoleEtcd, tags.MasterSlot: "0"},
		"role only":     {tags.Role: tags.RoleEtcd},
		"slot only":     {tags.MasterSlot: "0"},
	} {
		t.Run(name, func(t *testing.T) {
			v := res(ebsVolumeType, "etcd-0", "vol-0", map[string]any{"encrypted": true, "tags": volumeTags})
			require.Equal(t, []string{
				"error masters/etcd-volume-protected urn:" + ebsVolumeType + "::etcd-0",
				"warning masters/single-member urn:" + ebsVolumeType + "::etcd-0",
			}, rules(Run([]mockaws.Resource{v, backupAlarm()})))
		})
	}
	other := res(ebsVolumeType, "data", "vol-1", map[string]any{"encrypted": true, "tags": map[string]any{tags.Role: "data"}})
	require.Empty(t, Run([]mockaws.Resource{other, backupAlarm()}), "a volume of another role is not etcd's")
}
