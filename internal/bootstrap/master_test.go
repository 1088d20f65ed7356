package bootstrap_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
)

func sampleMaster(slot, count int) bootstrap.Master {
	return bootstrap.Master{
		ClusterName: "prod-use1", Region: "us-east-1", Slot: slot, Count: count,
		Domain: "prod-use1.k8s.internal", APIName: "api.prod-use1.k8s.internal",
		ExtraSANs:         []string{"api.prod-use1.example.com"},
		KubernetesVersion: "v1.37.2", PodCidr: "10.64.0.0/11", ServiceCidr: "172.20.0.0/16", NodeCidrMaskSize: 24,
		VolumeID: "vol-0123456789abcdef0", HostedZoneID: "Z0123456789ABCDEFGHIJ", ParameterPrefix: "/kinfra/prod-use1",
	}
}

func TestMasterUserDataIsCloudConfigWithEveryFile(t *testing.T) {
	r, err := sampleMaster(1, 3).Render()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(r.UserData, "#cloud-config\n"))
	var doc struct {
		WriteFiles []bootstrap.File `yaml:"write_files"`
		Runcmd     [][]string       `yaml:"runcmd"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(r.UserData), &doc))
	require.Len(t, doc.WriteFiles, len(r.Files))
	for _, f := range doc.WriteFiles {
		require.Equal(t, r.Files[f.Path].Content, f.Content, f.Path)
	}
	gz, err := bootstrap.Gzip(r.UserData)
	require.NoError(t, err)
	require.Less(t, len(gz), bootstrap.UserDataLimit)
	t.Logf("user data %d bytes, gzip %d", len(r.UserData), len(gz))
}
