package spec

import (
	"fmt"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/regions"
	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Region checks: aws:region must be a region kinfra knows the zones of
// (internal/regions), zones must be the region's, and the ARNs config
// gives must be usable from the stack's region and partition.

// checkRegion reports a missing or unknown aws:region and returns the
// region, ok only when it is known.
func checkRegion(errs *validate.Errors, name string) (regions.Region, bool) {
	if name == "" {
		errs.Addf("aws:region", "required; set it with `pulumi config set aws:region us-east-1` (every stack is one region)")
		return regions.Region{}, false
	}
	r, err := regions.Lookup(name)
	if err != nil {
		errs.Addf("aws:region", "%v", err)
		return regions.Region{}, false
	}
	return r, true
}

// lookupRegion is the region when it is known; checks that need it are
// skipped otherwise (aws:region reports why).
func lookupRegion(name string) (regions.Region, bool) {
	r, err := regions.Lookup(name)
	return r, err == nil
}

func checkZoneName(errs *validate.Errors, path, zone, region string) bool {
	r, ok := lookupRegion(region)
	if ok && !r.HasZone(zone) {
		errs.Addf(path, "%q is not an availability zone of %s; its zones are %s (Local and Wavelength Zones are not supported)", zone, region, r.DescribeZones())
		return false
	}
	return true
}

// checkZoneCount refuses more zones than the region can give: unpinned,
// the program takes the first azCount zones the account reports, so only
// the zones every account has are certain; pinned, no account sees more
// than the region's PerAccount.
func checkZoneCount(errs *validate.Errors, path string, n Network, region string, pinnedOK bool) {
	r, ok := lookupRegion(region)
	switch {
	case !ok:
	case len(n.AvailabilityZones) == 0 && n.AzCount > len(r.Zones) && n.AzCount <= MaxZones:
		errs.Addf(path+".azCount", "%d zones wanted, but every account has only %d in %s (%s); set azCount %d, or pin the zones your account has in availabilityZones",
			n.AzCount, len(r.Zones), r.Name, r.DescribeZones(), len(r.Zones))
	case pinnedOK && len(n.AvailabilityZones) > r.PerAccount:
		errs.Addf(path+".availabilityZones", "%d zones pinned, but no account sees more than %d of %s's zones (%s); pin the %d your account has",
			len(n.AvailabilityZones), r.PerAccount, r.Name, r.DescribeZones(), r.PerAccount)
	}
}

// Why each ARN field must be in the stack's region.
const (
	whyLogsKey  = "CloudWatch Logs encrypts the flow log group with a key in its own region"
	whyS3Key    = "the masters may use the bucket's key only through S3 in the stack's region, and SSE-KMS needs the key in the bucket's region"
	whyEBSKey   = "EBS encrypts a volume only with a key in the volume's region"
	whyAlarmARN = "CloudWatch notifies only topics and functions in the alarm's region (PutMetricAlarm: \"Invalid region … specified\")"
)

// checkARNPlaces refuses ARNs that another region or partition holds. Only
// well-formed ARNs are checked; the fields' own checks report the others.
// A KMS key given by ID or alias would be in the stack's region by
// construction, but every KMS field here takes an ARN only.
func (c Cluster) checkARNPlaces(r regions.Region) validate.Errors {
	var errs validate.Errors
	one := func(path, arn, why string) {
		partition, region, ok := arnPlace(arn)
		if !ok {
			return
		}
		fix := strings.Replace(arn, "arn:"+partition+":", "arn:"+r.Partition+":", 1)
		if region != "" {
			fix = strings.Replace(fix, ":"+region+":", ":"+r.Name+":", 1)
		}
		switch {
		case partition != r.Partition && region != "":
			errs.Addf(path, "%q is in %s (partition %s), but the stack deploys to %s (partition %s); %s: use %s", arn, region, partition, r.Name, r.Partition, why, fix)
		case partition != r.Partition:
			errs.Addf(path, "%q is in partition %s, but the stack deploys to %s (partition %s); %s: use %s", arn, partition, r.Name, r.Partition, why, fix)
		case region != "" && region != r.Name:
			errs.Addf(path, "%q is in %s, but the stack deploys to %s; %s: use %s", arn, region, r.Name, why, fix)
		}
	}
	if f := c.Network.FlowLogs; f.On() && f.Destination == FlowLogsToCloudWatch && kmsKeyArn.MatchString(f.KmsKeyArn) {
		one("cluster.network.flowLogs.kmsKeyArn", f.KmsKeyArn, whyLogsKey)
	}
	if b := c.Backup; b.On() && b.Bucket != "" && kmsKeyArn.MatchString(b.BucketKmsKeyArn) {
		one("cluster.backup.bucketKmsKeyArn", b.BucketKmsKeyArn, whyS3Key)
	}
	if k := c.Addons.EBSCSIDriver.StorageClass.KmsKeyId; kmsKeyArn.MatchString(k) {
		one("cluster.addons.ebsCsiDriver.storageClass.kmsKeyId", k, whyEBSKey)
	}
	actions := func(path string, arns []string) {
		for i, a := range arns {
			if alarmAction.MatchString(a) {
				one(fmt.Sprintf("%s[%d]", path, i), a, whyAlarmARN)
			}
		}
	}
	actions("cluster.alarms.actions", c.Alarms.Actions)
	if c.Backup.On() {
		actions("cluster.backup.alarmActions", c.Backup.AlarmActions)
	}
	return errs
}

// arnPlace is an ARN's partition and region (empty for global resources
// such as Incident Manager response plans).
func arnPlace(arn string) (partition, region string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return "", "", false
	}
	return parts[1], parts[3], true
}

// checkDistribution refuses image copies to regions AWS does not have or
// that are in another partition.
func checkDistribution(errs *validate.Errors, path, target string, stack regions.Region, stackKnown bool) bool {
	r, err := regions.Lookup(target)
	switch {
	case err != nil:
		errs.Addf(path, "%v", err)
		return false
	case stackKnown && r.Partition != stack.Partition:
		errs.Addf(path, "%s is in partition %s, but the stack deploys to %s (partition %s); Image Builder distributes only within a partition", r.Name, r.Partition, stack.Name, stack.Partition)
		return false
	}
	return true
}
