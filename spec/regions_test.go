package spec_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/regions"
	"github.com/kinfra-dev/kinfra/spec"
)

// inRegion is valid() moved to region, with one master so that any number
// of zones is valid, and the zones pinned (or, nil, azCount of them unpinned).
func inRegion(region string, zones []string, azCount int) spec.Cluster {
	c := valid()
	c.Region = region
	c.Masters.Count = 1
	c.Network.AvailabilityZones = zones
	c.Network.AzCount = azCount
	return c
}

func TestUnknownAndUnsupportedRegionsAreRefusedWithWhatToUse(t *testing.T) {
	for _, tc := range []struct{ region, want string }{
		{"us-east-9", `aws:region: "us-east-9" is not a region of the aws partition (AWS SDK for Go v2 ` + regions.SDKVersion + `); did you mean us-east-1 or us-east-2?`},
		{"eu-wset-1", `aws:region: "eu-wset-1" is not a region of the aws partition (AWS SDK for Go v2 ` + regions.SDKVersion + `); did you mean eu-west-1?`},
		{"cn-south-1", `aws:region: "cn-south-1" is not a region of the aws-cn partition (AWS SDK for Go v2 ` + regions.SDKVersion + `); did you mean cn-north-1?`},
		{"cn-east-5", `aws:region: "cn-east-5" is not a region of the aws-cn partition (AWS SDK for Go v2 ` + regions.SDKVersion + `); use one of cn-north-1 or cn-northwest-1`},
		{"us-gov-central-1", `aws:region: "us-gov-central-1" is not a region of the aws-us-gov partition (AWS SDK for Go v2 ` + regions.SDKVersion + `); use one of us-gov-east-1 or us-gov-west-1`},
		{"mars-north-1", `aws:region: "mars-north-1" is not an AWS region (AWS SDK for Go v2 ` + regions.SDKVersion + `); kinfra deploys to the regions of the aws, aws-cn and aws-us-gov partitions, e.g. us-east-1, cn-north-1 or us-gov-west-1`},
		{"US-EAST-1", `aws:region: "US-EAST-1" is not an AWS region (AWS SDK for Go v2 ` + regions.SDKVersion + `); kinfra deploys to the regions of the aws, aws-cn and aws-us-gov partitions, e.g. us-east-1, cn-north-1 or us-gov-west-1`},
		{"us-iso-east-1", "aws:region: us-iso-east-1 (US ISO East) is in the aws-iso partition, which kinfra does not support: air-gapped (AWS Secret Region): its zones are not public, and kinfra's image builds download from GitHub, dl.k8s.io and public registries, which it cannot reach"},
		{"me-west-1", `aws:region: me-west-1 (Middle East (Saudi Arabia)) is an AWS region kinfra has no Availability Zone table for yet; add its zones to internal/regions/zones.go from AWS's AZ ID list (docs/decisions.md, "Regions and zones")`},
	} {
		t.Run(tc.region, func(t *testing.T) {
			c := valid()
			c.Region = tc.region
			c.Network.AvailabilityZones = nil
			require.Equal(t, []string{tc.want}, messages(t, c))
		})
	}
}

// Every region of the table, generated: each zone it has is accepted on
// its own, every other letter is refused with the region's zones, and all
// the zones every account has are accepted together.
func TestEveryRegionAcceptsItsZonesAndRefusesTheNextLetter(t *testing.T) {
	for _, r := range regions.Supported() {
		t.Run(r.Name, func(t *testing.T) {
			for _, z := range r.AllZones() {
				require.Empty(t, messages(t, inRegion(r.Name, []string{z}, 0)), z)
			}
			if len(r.Zones) <= spec.MaxZones {
				require.Empty(t, messages(t, inRegion(r.Name, r.Zones, 0)))
			}
			last := r.AllZones()[len(r.AllZones())-1]
			for l := 'a'; l <= 'z'; l++ {
				z := r.Name + string(l)
				if r.HasZone(z) {
					continue
				}
				want := fmt.Sprintf("cluster.network.availabilityZones[0]: %q is not an availability zone of %s; its zones are %s (Local and Wavelength Zones are not supported)", z, r.Name, r.DescribeZones())
				require.Equal(t, []string{want}, messages(t, inRegion(r.Name, []string{z}, 0)), z)
				if z > last {
					break // the next letter after the last is the boundary; further ones add nothing
				}
			}
		})
	}
}

// Unpinned, the program takes the first azCount zones the account reports:
// every region plans azCount up to the zones every account has, and refuses
// one more.
func TestEveryRegionRefusesMoreUnpinnedZonesThanEveryAccountHas(t *testing.T) {
	for _, r := range regions.Supported() {
		t.Run(r.Name, func(t *testing.T) {
			n := len(r.Zones)
			require.Empty(t, messages(t, inRegion(r.Name, nil, min(n, spec.MaxZones))))
			if n+1 > spec.MaxZones {
				return
			}
			want := fmt.Sprintf("cluster.network.azCount: %d zones wanted, but every account has only %d in %s (%s); set azCount %d, or pin the zones your account has in availabilityZones", n+1, n, r.Name, r.DescribeZones(), n)
			require.Equal(t, []string{want}, messages(t, inRegion(r.Name, nil, n+1)))
		})
	}
}

func TestUsWest1UnpinnedWithTheDefaultThreeZonesIsRefused(t *testing.T) {
	c := valid()
	c.Region = "us-west-1"
	c.Network.AvailabilityZones = nil
	require.Equal(t, []string{"cluster.network.azCount: 3 zones wanted, but every account has only 2 in us-west-1 (us-west-1a and us-west-1b, and us-west-1c in some accounts only); set azCount 2, or pin the zones your account has in availabilityZones"},
		messages(t, c))
}

func TestMoreZonesPinnedThanAnyAccountSeesAreRefused(t *testing.T) {
	c := inRegion("us-west-1", []string{"us-west-1a", "us-west-1b", "us-west-1c"}, 0)
	require.Equal(t, []string{"cluster.network.availabilityZones: 3 zones pinned, but no account sees more than 2 of us-west-1's zones (us-west-1a and us-west-1b, and us-west-1c in some accounts only); pin the 2 your account has"},
		messages(t, c))
}

func TestAdoptedSubnetsMustBeInTheRegionsZones(t *testing.T) {
	c := valid()
	c.Region = "eu-west-1"
	c.Network = spec.Network{VpcCidr: "10.0.0.0/16", Existing: &spec.ExistingNetwork{VpcId: "vpc-0123456789abcdef0",
		PrivateSubnets: []spec.ExistingSubnet{
			{ID: "subnet-0123456789abcdef0", AvailabilityZone: "eu-west-1a", Cidr: "10.0.0.0/20"},
			{ID: "subnet-0123456789abcdef1", AvailabilityZone: "eu-west-1b", Cidr: "10.0.16.0/20"},
			{ID: "subnet-0123456789abcdef2", AvailabilityZone: "eu-west-1d", Cidr: "10.0.32.0/20"},
		}}}
	require.Equal(t, []string{`cluster.network.existing.privateSubnets[2].availabilityZone: "eu-west-1d" is not an availability zone of eu-west-1; its zones are eu-west-1a, eu-west-1b and eu-west-1c (Local and Wavelength Zones are not supported)`},
		messages(t, c))
}

// ARNs in config name a partition and a region: a KMS key or alarm action
// AWS cannot use from the stack's region is refused, for every field that
// takes one and every other partition.
func TestARNsInConfigMustBeInTheStacksPartitionAndRegion(t *testing.T) {
	fields := []struct {
		path    string
		service string
		set     func(c *spec.Cluster, arn string)
		why     string
	}{
		{"cluster.network.flowLogs.kmsKeyArn", "kms", func(c *spec.Cluster, arn string) { c.Network.FlowLogs.KmsKeyArn = arn },
			"CloudWatch Logs encrypts the flow log group with a key in its own region"},
		{"cluster.backup.bucketKmsKeyArn", "kms", func(c *spec.Cluster, arn string) {
			c.Backup.Bucket = "etcd-backups"
			c.Backup.BucketKmsKeyArn = arn
		}, "the masters may use the bucket's key only through S3 in the stack's region, and SSE-KMS needs the key in the bucket's region"},
		{"cluster.addons.ebsCsiDriver.storageClass.kmsKeyId", "kms", func(c *spec.Cluster, arn string) { c.Addons.EBSCSIDriver.StorageClass.KmsKeyId = arn },
			"EBS encrypts a volume only with a key in the volume's region"},
		{"cluster.alarms.actions[0]", "sns", func(c *spec.Cluster, arn string) { c.Alarms.Actions = []string{arn} },
			"CloudWatch notifies only topics and functions in the alarm's region (PutMetricAlarm: \"Invalid region … specified\")"},
		{"cluster.backup.alarmActions[0]", "sns", func(c *spec.Cluster, arn string) { c.Backup.AlarmActions = []string{arn} },
			"CloudWatch notifies only topics and functions in the alarm's region (PutMetricAlarm: \"Invalid region … specified\")"},
	}
	resource := map[string]string{"kms": "key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "sns": "oncall"}
	for _, f := range fields {
		for _, stack := range regions.Supported() {
			if stack.Name != "us-east-1" && stack.Name != "cn-north-1" && stack.Name != "us-gov-west-1" {
				continue
			}
			t.Run(f.path+"/"+stack.Name, func(t *testing.T) {
				arn := func(partition, region string) string {
					return fmt.Sprintf("arn:%s:%s:%s:123456789012:%s", partition, f.service, region, resource[f.service])
				}
				c := inRegion(stack.Name, stack.Zones[:1], 0)
				f.set(&c, arn(stack.Partition, stack.Name))
				require.Empty(t, messages(t, c), "the stack's own region and partition")
				for _, other := range regions.Supported() {
					if other.Name == stack.Name {
						continue
					}
					got := arn(other.Partition, other.Name)
					c := inRegion(stack.Name, stack.Zones[:1], 0)
					f.set(&c, got)
					want := fmt.Sprintf("%s: %q is in %s (partition %s), but the stack deploys to %s (partition %s); %s: use %s",
						f.path, got, other.Name, other.Partition, stack.Name, stack.Partition, f.why,
						strings.Replace(strings.Replace(got, ":"+other.Partition+":", ":"+stack.Partition+":", 1), ":"+other.Name+":", ":"+stack.Name+":", 1))
					if other.Partition == stack.Partition {
						want = fmt.Sprintf("%s: %q is in %s, but the stack deploys to %s; %s: use %s",
							f.path, got, other.Name, stack.Name, f.why, strings.Replace(got, ":"+other.Name+":", ":"+stack.Name+":", 1))
					}
					require.Equal(t, []string{want}, messages(t, c))
				}
			})
		}
	}
}

func TestAnIncidentManagerResponsePlanHasNoRegionButMustBeInThePartition(t *testing.T) {
	c := valid()
	c.Alarms.Actions = []string{"arn:aws:ssm-incidents::123456789012:response-plan/oncall"}
	require.Empty(t, messages(t, c))
	c = inRegion("cn-north-1", []string{"cn-north-1a"}, 0)
	c.Alarms.Actions = []string{"arn:aws:ssm-incidents::123456789012:response-plan/oncall"}
	require.Equal(t, []string{`cluster.alarms.actions[0]: "arn:aws:ssm-incidents::123456789012:response-plan/oncall" is in partition aws, but the stack deploys to cn-north-1 (partition aws-cn); CloudWatch notifies only topics and functions in the alarm's region (PutMetricAlarm: "Invalid region … specified"): use arn:aws-cn:ssm-incidents::123456789012:response-plan/oncall`},
		messages(t, c))
}

func TestImagesAreDistributedOnlyToRegionsOfTheStacksPartition(t *testing.T) {
	c := valid()
	c.Images.DistributeTo = []string{"eu-west-1", "cn-north-1", "eu-west-9"}
	require.Equal(t, []string{
		"cluster.images.distributeTo[1]: cn-north-1 is in partition aws-cn, but the stack deploys to us-east-1 (partition aws); Image Builder distributes only within a partition",
		`cluster.images.distributeTo[2]: "eu-west-9" is not a region of the aws partition (AWS SDK for Go v2 ` + regions.SDKVersion + `); did you mean eu-west-1, eu-west-2 or eu-west-3?`,
	}, messages(t, c))
}

// Name limits computed for "any region" hold in every region kinfra knows.
func TestClusterNameLimitsForAnyRegionHoldInEveryRegion(t *testing.T) {
	for _, r := range regions.Supported() {
		require.LessOrEqual(t, spec.MaxClusterName(""), spec.MaxClusterName(r.Name), r.Name)
	}
}

// In a region where no account has three zones, "use at least 3 zones" is
// advice no stack can follow: the message says what can be done instead.
func TestMastersInARegionWithTwoZonesPerAccountGetAdviceThatCanBeFollowed(t *testing.T) {
	c := inRegion("us-west-1", []string{"us-west-1a", "us-west-1b"}, 0)
	c.Masters.Count = 3
	require.Equal(t, []string{"cluster.masters.count: 3 masters over 2 zones puts 2 in us-west-1a, a majority; losing that zone loses etcd quorum. An account has at most 2 zones in us-west-1, so no master count survives the loss of a zone there: use 1 master (a test cluster), or a region with 3 or more zones"},
		messages(t, c))
	for _, r := range regions.Supported() {
		if r.PerAccount >= 3 {
			c := inRegion(r.Name, r.Zones[:2], 0)
			c.Masters.Count = 3
			require.Equal(t, []string{fmt.Sprintf("cluster.masters.count: 3 masters over 2 zones puts 2 in %s, a majority; losing that zone loses etcd quorum. Use at least 3 zones", r.Zones[0])},
				messages(t, c), r.Name)
		}
	}
}
