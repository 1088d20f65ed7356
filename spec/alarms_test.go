package spec_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/spec"
)

const (
	oncall   = "arn:aws:sns:us-east-1:123456789012:oncall"
	etcdTeam = "arn:aws:sns:us-east-1:123456789012:etcd"
)

func TestEachBadAlarmActionHasItsExactMessage(t *testing.T) {
	c := valid()
	c.Alarms.Actions = []string{oncall, "oncall@example.com", "arn:aws:s3:::bucket"}
	require.Equal(t, []string{
		`cluster.alarms.actions[1]: "oncall@example.com" is not an alarm action ARN (e.g. arn:aws:sns:us-east-1:123456789012:oncall)`,
		`cluster.alarms.actions[2]: "arn:aws:s3:::bucket" is not an alarm action ARN (e.g. arn:aws:sns:us-east-1:123456789012:oncall)`,
	}, messages(t, c))

	// Reported together with the backup's own, each at its path.
	c.Backup.AlarmActions = []string{"pager"}
	require.Equal(t, []string{
		`cluster.backup.alarmActions[0]: "pager" is not an alarm action ARN (e.g. arn:aws:sns:us-east-1:123456789012:oncall)`,
		`cluster.alarms.actions[1]: "oncall@example.com" is not an alarm action ARN (e.g. arn:aws:sns:us-east-1:123456789012:oncall)`,
		`cluster.alarms.actions[2]: "arn:aws:s3:::bucket" is not an alarm action ARN (e.g. arn:aws:sns:us-east-1:123456789012:oncall)`,
	}, messages(t, c))
}

func TestUnknownAlarmsKeysAreRefused(t *testing.T) {
	_, err := spec.Decode([]byte(`{"name":"prod-use1","alarms":{"action":["` + oncall + `"]}}`))
	require.ErrorContains(t, err, "cluster.alarms.action")
}

// The backup-age alarm notifies the cluster's alarm actions unless
// cluster.backup.alarmActions is set; set to an empty list it notifies
// nobody.
func TestBackupAlarmActionsDefaultToTheClustersAlarmActions(t *testing.T) {
	for _, tc := range []struct {
		name            string
		cluster, backup []string
		want            []string
	}{
		{"neither", nil, nil, nil},
		{"the cluster's", []string{oncall}, nil, []string{oncall}},
		{"the backup's own", []string{oncall}, []string{etcdTeam}, []string{etcdTeam}},
		{"the backup's own without the cluster's", nil, []string{etcdTeam}, []string{etcdTeam}},
		{"explicitly nobody", []string{oncall}, []string{}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			c.Alarms.Actions, c.Backup.AlarmActions = tc.cluster, tc.backup
			eff, err := spec.Resolve(c)
			require.NoError(t, err)
			require.Equal(t, tc.want, eff.BackupAlarmActions())
			require.Equal(t, tc.cluster, eff.Alarms.Actions)
		})
	}
	// As decoded from the stack's config.
	c, err := spec.Decode([]byte(`{"name":"prod-use1","alarms":{"actions":["` + oncall + `"]},"backup":{"alarmActions":[]}}`))
	require.NoError(t, err)
	require.Equal(t, []string{}, c.BackupAlarmActions())
	c, err = spec.Decode([]byte(`{"name":"prod-use1","alarms":{"actions":["` + oncall + `"]}}`))
	require.NoError(t, err)
	require.Equal(t, []string{oncall}, c.BackupAlarmActions())
}
