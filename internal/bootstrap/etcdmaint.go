package bootstrap

// etcd maintenance on the masters: each slot's defragmentation timer
// (assets/kinfra-etcd-defrag.sh; docs/masters.md, "etcd maintenance").

import (
	"fmt"

	"github.com/kinfra-dev/kinfra/internal/tags"
)

// Paths of the defragmentation script and its units on the masters.
const (
	DefragScriptPath = "/usr/local/sbin/kinfra-etcd-defrag"
	DefragUnitPath   = "/etc/systemd/system/kinfra-etcd-defrag.service"
	DefragTimerPath  = "/etc/systemd/system/kinfra-etcd-defrag.timer"
)

// DefragFirstHour is the hour (UTC) slot 0 defragments its member; slot i
// does i hours later, so no two members defragment together. DefragMinute
// is off the backup timer's minutes (multiples of 5), so that a member is
// not defragmented while the leader streams a snapshot.
const (
	DefragFirstHour = 3
	DefragMinute    = 7
)

// DefragCalendar is slot's daily OnCalendar.
func DefragCalendar(slot int) string {
	return fmt.Sprintf("*-*-* %02d:%02d:00 UTC", (DefragFirstHour+slot)%24, DefragMinute)
}

// defragTimer is slot's defragmentation timer: daily at its own hour,
// never catching up missed runs.
func defragTimer(slot int) string {
	return `[Unit]
Description=kinfra etcd defragmentation of ` + tags.EtcdMember(slot) + `, when worth it

[Timer]
OnCalendar=` + DefragCalendar(slot) + `
AccuracySec=1s
Persistent=false

[Install]
WantedBy=timers.target
`
}
