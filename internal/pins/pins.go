//go:build tools

// Package pins keeps dependencies in go.mod at their pinned versions before
// any package imports them (go mod tidy honours this build tag). The add-ons
// component will import pulumi-kubernetes for real; until then this pin stops
// tidy from dropping it, and nothing in a normal build compiles it.
package pins

import (
	_ "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
)
