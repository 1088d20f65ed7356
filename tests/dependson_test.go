package tests

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Pulumi's Go SDK expands a dependency on a local component into the
// children the component has when the dependent's registration goroutine
// looks; a child whose own registration goroutine has not yet run is left
// out. A CI run caught the EBS CSI driver's release planned without its wait
// for Cilium's. So kinfra waits only for custom resources, through
// internal/after, whose signature takes nothing else: no other code may
// build the option itself.
func TestOnlyInternalAfterBuildsDependsOn(t *testing.T) {
	root := repoRoot(t)
	var calls []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch {
			case rel == ".tools", rel == ".git", rel == "tools", strings.HasPrefix(d.Name(), "."):
				if rel != "." {
					return filepath.SkipDir
				}
			case rel == filepath.Join("internal", "after"):
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "pulumi" && strings.HasPrefix(sel.Sel.Name, "DependsOn") {
				p := fset.Position(call.Pos())
				calls = append(calls, filepath.ToSlash(mustRel(root, p.Filename))+":"+strconv.Itoa(p.Line)+" pulumi."+sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	require.Empty(t, calls, "wait with after.All (custom resources only), not pulumi.DependsOn")
}

func mustRel(root, p string) string {
	r, err := filepath.Rel(root, p)
	if err != nil {
		return p
	}
	return r
}
