package plan

import (
	"fmt"

	"github.com/kinfra-dev/kinfra/review/findings"
	"github.com/kinfra-dev/kinfra/spec"
)

// RuleVersionSkew flags a change of the Kubernetes versions that the
// version-skew rules forbid (spec.CheckVersionChange): the change cannot be
// made safely as it stands, so it is an error, and the diff exits 1.
const RuleVersionSkew = "diff/version-skew"

// versionSkew checks the change of the cluster's Kubernetes versions from
// the old plan's effective config to the new one's: one error flag per
// problem, on its config field. note says why nothing was checked, if so.
// A new stack (an old plan without resources) has no running cluster to
// upgrade.
func versionSkew(old, new *Plan) (flags []findings.Finding, note string) {
	if len(old.Resources) == 0 {
		return nil, ""
	}
	versions := func(side string, p *Plan) (spec.KubernetesVersions, error) {
		if p.Config == nil {
			return spec.KubernetesVersions{}, fmt.Errorf("the %s plan has no effective config", side)
		}
		v, err := p.Config.Kubernetes.Versions()
		if err != nil {
			return v, fmt.Errorf("the %s plan's %w", side, err)
		}
		return v, nil
	}
	base, err := versions("old", old)
	if err == nil {
		var head spec.KubernetesVersions
		if head, err = versions("new", new); err == nil {
			for _, e := range spec.CheckVersionChange(base, head) {
				flags = append(flags, findings.Finding{Rule: RuleVersionSkew, Severity: findings.Error, Path: e.Path, Message: e.Message})
			}
			return flags, ""
		}
	}
	return nil, fmt.Sprintf("the change of the Kubernetes versions was not checked against the version-skew rules: %v", err)
}
