package yamldoc

import (
	"testing"

	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"
)

// The direct scalar nodes encode exactly as the encoder's own: a string
// that a YAML 1.1 or 1.2 reader would take for another type stays quoted.
func TestScalarsEncodeAsTheEncoderWould(t *testing.T) {
	values := []any{
		"plain", "kube-system", "a/b.c_d-e", "v1.37.2", "Yes", "no", "ON", "off", "true", "False", "null", "y", "N",
		"", "1", "0x1F", "1e3", "1.5", ".inf", "~", "a: b", "with space", "multi\nline", "#comment", "-dash", "e3",
		"110m", "1Gi", "10%", "500Mi", "1E5", "0o17", "0b101", "0b", "1e", "12", "1_000", "1.0Gi", "1Gi2",
		true, false, 0, 42, -7,
	}
	for _, v := range values {
		direct, err := Marshal(Map{{"k", v}})
		require.NoError(t, err)
		var n yaml.Node
		require.NoError(t, n.Encode(v))
		want, err := Marshal(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "k"}, &n}})
		require.NoError(t, err)
		require.Equal(t, want, direct, "%#v", v)
	}
}

func BenchmarkNestedMap(b *testing.B) {
	doc := Map{{"apiVersion", "kubelet.config.k8s.io/v1beta1"}, {"kind", "KubeletConfiguration"}, {"maxPods", 110},
		{"kubeReserved", Sorted(map[string]string{"cpu": "110m", "memory": "1465Mi", "ephemeral-storage": "1Gi"})},
		{"serializeImagePulls", false}, {"maxParallelImagePulls", 10}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(doc); err != nil {
			b.Fatal(err)
		}
	}
}
