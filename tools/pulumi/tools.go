//go:build tools

// Package tools pins the Pulumi CLI version used by tests.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
