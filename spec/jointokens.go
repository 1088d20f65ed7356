package spec

import "github.com/kinfra-dev/kinfra/internal/validate"

// JoinTokens is how long a node join token (a kubeadm bootstrap token)
// lives. The etcd leader's master creates a new token every third of the
// TTL and writes it to SSM, where nodes read it at boot; the token it
// replaces stays valid for the rest of its own TTL, so a join in progress
// is never broken. See docs/masters.md ("Join tokens").
type JoinTokens struct {
	// TTLHours is each token's lifetime, 8 to 168 hours (a week). Default
	// [DefaultJoinTokenTTLHours]. A stolen token mints node credentials for at most this long. A
	// replaced token stays valid for two thirds of it: at least 5 h 20 min,
	// longer than a node's whole join (it reads the token once and retries
	// kubeadm join up to 20 times, each within kubeadm's timeouts: about
	// 5 hours at worst).
	TTLHours int `json:"ttlHours,omitempty"`
}

// Join token defaults and bounds.
const (
	DefaultJoinTokenTTLHours = 24
	MinJoinTokenTTLHours     = 8
	MaxJoinTokenTTLHours     = 168
)

func (j JoinTokens) withDefaults() JoinTokens {
	if j.TTLHours == 0 {
		j.TTLHours = DefaultJoinTokenTTLHours
	}
	return j
}

func (j JoinTokens) check(path string) validate.Errors {
	var errs validate.Errors
	if j.TTLHours < MinJoinTokenTTLHours || j.TTLHours > MaxJoinTokenTTLHours {
		errs.Addf(path+".ttlHours", "%d is not allowed; use %d to %d hours (a replaced join token must outlive a node's whole join, and every token expire within a week)",
			j.TTLHours, MinJoinTokenTTLHours, MaxJoinTokenTTLHours)
	}
	return errs
}
