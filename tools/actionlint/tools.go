//go:build tools

// Package tools pins actionlint, the GitHub Actions workflow checker the
// tests run on .github/workflows (scripts/tools actionlint builds it).
package tools

import (
	_ "github.com/rhysd/actionlint/cmd/actionlint"
)
