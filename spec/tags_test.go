package spec_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/spec"
)

// iamAllowed is IAM's tag character set, written out independently of the
// validator: letters, digits, spaces and _ . : / = + - @.
func iamAllowed(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(" _.:/=+-@", r)
}

// Every printable ASCII character, in a key and in a value, is accepted
// exactly when IAM accepts it, since cluster tags reach IAM roles.
func TestClusterTagsAllowExactlyIAMsCharacters(t *testing.T) {
	for r := rune(0x20); r < 0x7f; r++ {
		key, value := "team"+string(r)+"x", "platform"+string(r)+"y"
		errs := spec.ValidateTags("cluster.tags", map[string]string{key: value}).Messages()
		if iamAllowed(r) {
			require.Empty(t, errs, "%q", r)
			continue
		}
		require.Len(t, errs, 2, "%q: the key and the value are both reported: %v", r, errs)
		require.Contains(t, errs[0], fmt.Sprintf("cluster.tags[%q]: the key has %q, which IAM refuses in tags", key, string(r)))
		require.Contains(t, errs[1], fmt.Sprintf("the value %q has %q, which IAM refuses in tags", value, string(r)))
	}
	// Letters, digits and spaces of any script are IAM's too; control
	// characters and symbols are not.
	require.Empty(t, spec.ValidateTags("cluster.tags", map[string]string{"équipe": "plateforme 日本 ٣"}).Messages())
	for _, bad := range []string{"tab\tx", "newline\n", "emoji🚀", "euro€"} {
		require.Len(t, spec.ValidateTags("cluster.tags", map[string]string{"k": bad}).Messages(), 1, "%q", bad)
	}
}

// Lengths count characters, not bytes, at the boundaries: keys 1 to 128,
// values up to 256.
func TestClusterTagLengthsAreCountedInCharacters(t *testing.T) {
	for _, ch := range []string{"a", "é", "日"} {
		for _, n := range []int{127, 128, 129} {
			errs := spec.ValidateTags("cluster.tags", map[string]string{strings.Repeat(ch, n): "v"}).Messages()
			require.Equal(t, n > spec.MaxTagKey, len(errs) == 1, "key of %d %q: %v", n, ch, errs)
		}
		for _, n := range []int{255, 256, 257} {
			errs := spec.ValidateTags("cluster.tags", map[string]string{"k": strings.Repeat(ch, n)}).Messages()
			require.Equal(t, n > spec.MaxTagValue, len(errs) == 1, "value of %d %q: %v", n, ch, errs)
		}
	}
}

// Every problem of every tag is reported at once, each with its path.
func TestEveryTagProblemIsReportedAtOnce(t *testing.T) {
	c := valid()
	c.Tags = map[string]string{"cost center!": "a#b", "aws:x": "y", "ok": strings.Repeat("v", 257)}
	msgs := messages(t, c)
	joined := strings.Join(msgs, "\n")
	require.Contains(t, joined, `cluster.tags["cost center!"]: the key has "!"`)
	require.Contains(t, joined, `cluster.tags["cost center!"]: the value "a#b" has "#"`)
	require.Contains(t, joined, `cluster.tags["aws:x"]: tag keys starting with "aws:" are reserved by AWS`)
	require.Contains(t, joined, `cluster.tags["ok"]: tag values must be at most 256 characters, got 257`)
}

// qualifiedKey is a valid label or taint key of exactly n characters.
func qualifiedKey(n int) string {
	name := strings.Repeat("n", 30)
	if n <= 31 {
		return strings.Repeat("k", n)
	}
	return strings.Repeat("d", n-len(name)-5) + ".com/" + name
}

// With the autoscaler on, label and taint keys become node-template tag
// keys, which AWS limits to 128 characters: keys are accepted up to 82
// characters (128 less the 46 of the tag's prefix) and refused beyond, for
// every length around the boundary; with the autoscaler off, any valid key
// is accepted.
func TestLabelAndTaintKeysFitTheirNodeTemplateTags(t *testing.T) {
	max := spec.MaxTagKey - len(spec.AutoscalerLabelTag(""))
	require.Equal(t, 82, max)
	require.Equal(t, len(spec.AutoscalerLabelTag("")), len(spec.AutoscalerTaintTag("")))
	off := false
	for n := max - 3; n <= max+20; n++ {
		key := qualifiedKey(n)
		require.Len(t, key, n)
		for _, autoscaler := range []*bool{nil, &off} {
			c := valid()
			c.NodePools[0].Autoscaler = autoscaler
			c.NodePools[0].Labels = map[string]string{key: "v"}
			c.NodePools[0].Taints = []spec.Taint{{Key: key, Effect: "NoSchedule"}}
			msgs := messages(t, c)
			if autoscaler != nil || n <= max {
				require.Empty(t, msgs, "key of %d characters, autoscaler %v", n, autoscaler == nil)
				continue
			}
			require.Equal(t, []string{
				fmt.Sprintf("cluster.nodePools[0].labels[%q]: %q is %d characters; with the pool's autoscaler on, its Auto Scaling Group carries cluster-autoscaler's node-template tag %q (%d characters), and AWS allows tag keys of at most 128. Use a label key of at most 82 characters, or set autoscaler: false", key, key, n, spec.AutoscalerLabelTag(key), n+46),
				fmt.Sprintf("cluster.nodePools[0].taints[0].key: %q is %d characters; with the pool's autoscaler on, its Auto Scaling Group carries cluster-autoscaler's node-template tag %q (%d characters), and AWS allows tag keys of at most 128. Use a taint key of at most 82 characters, or set autoscaler: false", key, n, spec.AutoscalerTaintTag(key), n+46),
			}, msgs)
		}
	}
}
