package bootstrap

import (
	"regexp"
	"strconv"
)

// Node join tokens (docs/masters.md, "Join tokens"): kubeadm bootstrap
// tokens that live JoinToken.TTLHours. Every master's timer checks the
// token nodes read every JoinTokenCheckSeconds; the etcd leader replaces it
// once less than two thirds of its TTL and one check period are left, so a
// new token comes about every third of the TTL and the token it replaces
// stays valid for at least two thirds of the TTL more (a node that read it
// still joins). Replaced tokens are left to expire: kube-controller-manager's
// tokencleaner deletes them.
const (
	// JoinTokenName is the token's SSM parameter in the join group.
	JoinTokenName = "bootstrap-token"
	// JoinTokenParameter is the token's SSM parameter below the cluster's
	// parameter prefix: what nodes read at boot and the leader rewrites.
	JoinTokenParameter = JoinParameters + "/" + JoinTokenName
	// JoinTokenCheckSeconds is the period of the masters' join token timer.
	JoinTokenCheckSeconds = 600
	// JoinTokenHoursMetric is the hours the token in SSM stays valid, as
	// the leader's check leaves it (in HealthMetricNamespace): a rotation
	// that keeps failing shows as a falling value, one that no longer runs
	// as missing data.
	JoinTokenHoursMetric = "JoinTokenHoursLeft"
)

// JoinToken is how the masters keep the node join token.
type JoinToken struct {
	// TTLHours is each token's lifetime.
	TTLHours int
	// KMSKeyArn is the cluster key the token's SecureString is encrypted
	// with; a master writes the parameter with exactly this key ID (SSM
	// would otherwise use the account's default key).
	KMSKeyArn string
}

var kmsKeyArn = regexp.MustCompile(`^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$`)

func (j JoinToken) check() []string {
	var problems []string
	if j.TTLHours < 1 {
		problems = append(problems, "JoinToken.TTLHours "+strconv.Itoa(j.TTLHours))
	}
	if !kmsKeyArn.MatchString(j.KMSKeyArn) {
		problems = append(problems, "JoinToken.KMSKeyArn "+strconv.Quote(j.KMSKeyArn))
	}
	return problems
}

// ttlSeconds is the token's lifetime as kubeadm token create's --ttl takes
// it (with an "s").
func (j JoinToken) ttlSeconds() int { return j.TTLHours * 3600 }

// joinTokenTimer runs the join token script on every master: a minute after
// the boot enables it, then every JoinTokenCheckSeconds after each run.
func joinTokenTimer() string {
	return `[Unit]
Description=kinfra node join token check every ` + strconv.Itoa(JoinTokenCheckSeconds/60) + ` minutes

[Timer]
OnActiveSec=1min
OnUnitActiveSec=` + strconv.Itoa(JoinTokenCheckSeconds) + `s
AccuracySec=10s

[Install]
WantedBy=timers.target
`
}
