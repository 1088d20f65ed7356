package findings

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Access key IDs are found by prefix and length, wherever they are; the
// boundaries are generated: 15, 16 and 17 characters after each prefix,
// lower case, other prefixes, and inside longer text.
func TestAccessKeyIDsInPlainConfigAreFoundAtTheirBoundaries(t *testing.T) {
	for _, prefix := range []string{"AKIA", "ASIA", "AIDA", "AKIa"} {
		for n := 14; n <= 18; n++ {
			id := prefix + strings.Repeat("7", n)
			want := (prefix == "AKIA" || prefix == "ASIA") && n == 16
			for _, value := range []string{id, "key=" + id + " here", `{"a":["x","` + id + `"]}`} {
				fs := RunStack(nil, map[string]string{"kinfra:cluster": value}, nil)
				var hits []Finding
				for _, f := range fs {
					if f.Rule == "config/aws-access-key" {
						hits = append(hits, f)
					}
				}
				if !want {
					require.Empty(t, hits, "%q", value)
					continue
				}
				require.Len(t, hits, 1, "%q", value)
				require.Equal(t, Warning, hits[0].Severity)
				require.NotContains(t, hits[0].Message, id, "the message does not repeat the key")
				if strings.HasPrefix(value, "{") {
					require.Equal(t, `kinfra:cluster["a"][1]`, hits[0].Resource)
				} else {
					require.Equal(t, "kinfra:cluster", hits[0].Resource)
				}
			}
		}
	}
	// Keys of objects are read too, and Run (resources only) reads no config.
	fs := RunStack(nil, map[string]string{"kinfra:cluster": `{"tags":{"AKIAIOSFODNN7EXAMPLE":"x"}}`}, nil)
	require.Len(t, fs, 1)
	require.Equal(t, `kinfra:cluster["tags"]["AKIA…MPLE"]`, fs[0].Resource)
	require.Empty(t, Run(nil))
}
