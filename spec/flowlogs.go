package spec

import (
	"regexp"
	"slices"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

// FlowLogs configures VPC flow logs.
type FlowLogs struct {
	// Enabled turns flow logs on. Default true.
	Enabled *bool `json:"enabled,omitempty"`
	// Destination is cloudwatch (a log group kinfra creates) or s3 (an existing
	// bucket, e.g. a central logging account's). Default
	// [FlowLogsToCloudWatch].
	Destination string `json:"destination,omitempty"`
	// TrafficType is ALL, ACCEPT or REJECT. Default [DefaultFlowLogTraffic].
	TrafficType string `json:"trafficType,omitempty"`
	// RetentionDays of the CloudWatch log group: a value CloudWatch accepts
	// (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
	// 1827, 2192, 2557, 2922, 3288, 3653). Default [DefaultFlowLogRetention]
	// with cloudwatch, none with s3.
	RetentionDays int `json:"retentionDays,omitempty"`
	// MaxAggregationIntervalSeconds is 60 or 600. Default
	// [DefaultFlowLogInterval].
	MaxAggregationIntervalSeconds int `json:"maxAggregationIntervalSeconds,omitempty"`
	// S3BucketArn receives the logs when destination is s3. Required then.
	S3BucketArn string `json:"s3BucketArn,omitempty"`
	// KmsKeyArn encrypts the CloudWatch log group. Optional.
	KmsKeyArn string `json:"kmsKeyArn,omitempty"`
}

// Flow log destinations.
const (
	FlowLogsToCloudWatch = "cloudwatch"
	FlowLogsToS3         = "s3"
)

// Flow log defaults (enabled: true).
const (
	DefaultFlowLogRetention = 365
	DefaultFlowLogInterval  = 600
	DefaultFlowLogTraffic   = "ALL"
)

// WithDefaults returns f with its defaults applied.
func (f FlowLogs) WithDefaults() FlowLogs {
	if f.Enabled == nil {
		on := true
		f.Enabled = &on
	}
	if f.Destination == "" {
		f.Destination = FlowLogsToCloudWatch
	}
	if f.TrafficType == "" {
		f.TrafficType = DefaultFlowLogTraffic
	}
	if f.RetentionDays == 0 && f.Destination == FlowLogsToCloudWatch {
		f.RetentionDays = DefaultFlowLogRetention
	}
	if f.MaxAggregationIntervalSeconds == 0 {
		f.MaxAggregationIntervalSeconds = DefaultFlowLogInterval
	}
	return f
}

// On reports whether flow logs are enabled.
func (f FlowLogs) On() bool { return f.Enabled == nil || *f.Enabled }

// flowLogRetentions are the retention periods CloudWatch Logs accepts.
var flowLogRetentions = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

var s3BucketArn = regexp.MustCompile(`^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$`)

func (f FlowLogs) check(path string) validate.Errors {
	var errs validate.Errors
	if !f.On() {
		return nil
	}
	switch f.Destination {
	case FlowLogsToCloudWatch:
		if !slices.Contains(flowLogRetentions, f.RetentionDays) {
			errs.Addf(path+".retentionDays", "%d is not a retention CloudWatch Logs accepts; use %s", f.RetentionDays, validate.Join(itoas(flowLogRetentions)))
		}
		if f.KmsKeyArn != "" && !kmsKeyArn.MatchString(f.KmsKeyArn) {
			errs.Addf(path+".kmsKeyArn", "%q is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>; CloudWatch Logs takes no alias)", f.KmsKeyArn)
		}
		if f.S3BucketArn != "" {
			errs.Addf(path+".s3BucketArn", "set, but destination is cloudwatch; remove it or set destination: s3")
		}
	case FlowLogsToS3:
		if !s3BucketArn.MatchString(f.S3BucketArn) {
			errs.Addf(path+".s3BucketArn", "%q is not an S3 bucket ARN (arn:aws:s3:::<bucket>[/prefix]); destination s3 writes to an existing bucket", f.S3BucketArn)
		}
		if f.RetentionDays != 0 || f.KmsKeyArn != "" {
			errs.Addf(path+".destination", "s3 takes no retentionDays or kmsKeyArn (the bucket's lifecycle and encryption apply); remove them")
		}
	default:
		errs.Addf(path+".destination", "%q is not allowed; use cloudwatch or s3", f.Destination)
	}
	if !slices.Contains([]string{"ALL", "ACCEPT", "REJECT"}, f.TrafficType) {
		errs.Addf(path+".trafficType", "%q is not allowed; use ALL, ACCEPT or REJECT", f.TrafficType)
	}
	if f.MaxAggregationIntervalSeconds != 60 && f.MaxAggregationIntervalSeconds != 600 {
		errs.Addf(path+".maxAggregationIntervalSeconds", "%d is not allowed; AWS accepts 60 or 600", f.MaxAggregationIntervalSeconds)
	}
	return errs
}
