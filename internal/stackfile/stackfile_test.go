package stackfile

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// YAML's .inf and .nan are numbers no config value can hold: Pulumi's loader
// fails on them with its JSON encoder's words. The plan names the field.
func TestNonFiniteNumbersAreNamedByTheirPath(t *testing.T) {
	path := t.TempDir() + "/Pulumi.inf.yaml"
	require.NoError(t, os.WriteFile(path, []byte("config:\n  aws:region: eu-west-1\n  kinfra:cluster:\n    name: inf\n    masters:\n      count: .inf\n    nodePools:\n      - name: a\n        maxSize: .NaN\n"), 0o644))
	_, err := Load(path)
	require.EqualError(t, err, path+": cluster.masters.count: .inf is not a number a config value can hold; use a whole number\n"+
		path+": cluster.nodePools[0].maxSize: .NaN is not a number a config value can hold; use a whole number")
}
