package spec

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Alarms is where the cluster's CloudWatch alarms notify: a master whose
// boot fails (docs/masters.md, "Boot retries and status"), the control
// plane's health ("Health alarms") and, unless cluster.backup.alarmActions
// says otherwise, etcd backups that are too old.
type Alarms struct {
	// Actions are the ARNs (SNS topics, Lambda functions, SSM or Incident
	// Manager) every kinfra alarm notifies when it fires and when it
	// clears. None by default: the alarms still show in CloudWatch, and
	// nobody is told.
	Actions []string `json:"actions,omitempty"`
}

var alarmAction = regexp.MustCompile(`^arn:aws[a-z-]*:(sns|automate|ssm|ssm-incidents|lambda):[^\s]+$`)

func (a Alarms) withDefaults() Alarms {
	a.Actions = slices.Clone(a.Actions)
	return a
}

func (a Alarms) check(path string) validate.Errors {
	return checkAlarmActions(path+".actions", a.Actions)
}

// checkAlarmActions reports each entry of an alarm action list that is not
// an ARN CloudWatch can notify.
func checkAlarmActions(path string, actions []string) validate.Errors {
	var errs validate.Errors
	for i, a := range actions {
		if !alarmAction.MatchString(a) {
			errs.Addf(fmt.Sprintf("%s[%d]", path, i), "%q is not an alarm action ARN (e.g. arn:aws:sns:us-east-1:123456789012:oncall)", a)
		}
	}
	return errs
}

// BackupAlarmActions are what the backup-age alarm notifies:
// cluster.backup.alarmActions when it is set (an empty list notifies
// nobody), else cluster.alarms.actions.
func (c Cluster) BackupAlarmActions() []string {
	if c.Backup.AlarmActions != nil {
		return slices.Clone(c.Backup.AlarmActions)
	}
	return slices.Clone(c.Alarms.Actions)
}
