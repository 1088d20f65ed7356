package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/review/findings"
	"github.com/kinfra-dev/kinfra/spec"
)

// largeStack is the biggest topology kinfra supports: six zones, every
// endpoint, IPv6, seven masters, forty node pools and every add-on (kube-proxy
// beside Cilium with WireGuard and Hubble, the AWS controllers, the EBS
// driver with a customer key, a NetworkPolicy baseline in ten namespaces).
func largeStack(tb testing.TB) stackfile.File {
	tb.Helper()
	c := spec.Cluster{
		Name: "huge",
		Network: spec.Network{
			VpcCidr:            "10.0.0.0/16",
			AvailabilityZones:  []string{"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"},
			IPv6:               true,
			GatewayEndpoints:   spec.GatewayEndpointServices,
			InterfaceEndpoints: spec.InterfaceEndpointServices,
		},
		Kubernetes: spec.Kubernetes{PodCidr: "100.64.0.0/10", ServiceCidr: "172.20.0.0/16", MaxServices: 50000},
		Masters:    spec.Masters{Count: 7},
		CNI:        spec.CNI{Provider: spec.CNICilium, WireGuard: true, Hubble: true},
		Addons: spec.Addons{
			EBSCSIDriver: spec.EBSCSIDriver{StorageClass: spec.StorageClass{
				KmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
			}},
		},
	}
	for i := range 10 {
		c.Addons.NetworkPolicy.DefaultDeny = append(c.Addons.NetworkPolicy.DefaultDeny, fmt.Sprintf("team-%02d", i))
	}
	for i := range 40 {
		c.NodePools = append(c.NodePools, spec.NodePool{Name: fmt.Sprintf("pool-%02d", i), MinSize: 1, MaxSize: 100})
	}
	js, err := json.Marshal(c)
	require.NoError(tb, err)
	return stackfile.File{Name: "us-east-1", Config: map[string]string{"aws:region": "us-east-1", "kinfra:cluster": string(js)}}
}

func TestLargeStackPlansEveryZoneAndEndpoint(t *testing.T) {
	p, err := Run(largeStack(t))
	require.NoError(t, err)
	counts := p.Counts()
	require.Equal(t, 12, counts["aws:ec2/subnet:Subnet"])
	require.Equal(t, 6, counts["aws:ec2/natGateway:NatGateway"])
	require.Equal(t, 20, counts["aws:ec2/vpcEndpoint:VpcEndpoint"])
	require.Equal(t, 1, counts["aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway"])
	require.Equal(t, 4, counts["kubernetes:helm.sh/v3:Release"], "cilium, ccm, ebs, autoscaler")
	require.Equal(t, 20, counts["kubernetes:networking.k8s.io/v1:NetworkPolicy"])
	require.Empty(t, findings.Errors(p.Findings))
}

// BenchmarkPlanLargeStack measures a whole offline plan of the largest
// supported topology: config decoding and validation, the program under the
// mock monitor, and the safety rules.
func BenchmarkPlanLargeStack(b *testing.B) {
	sf := largeStack(b)
	b.ReportAllocs()
	for b.Loop() {
		p, err := Run(sf)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(p.Resources)), "resources/op")
	}
}

// BenchmarkFindingsLargeStack is the safety rules' share of a plan: they
// run over the recorded resources once the program has registered them.
func BenchmarkFindingsLargeStack(b *testing.B) {
	p, err := Run(largeStack(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		findings.Run(p.Resources)
	}
}

// BenchmarkJSONLargeStack is the cost of printing the plan as JSON.
func BenchmarkJSONLargeStack(b *testing.B) {
	p, err := Run(largeStack(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.JSON(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateLargeStack isolates kinfra's own config work from the
// registrations the SDK makes.
func BenchmarkValidateLargeStack(b *testing.B) {
	sf := largeStack(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := spec.Load([]byte(sf.Config["kinfra:cluster"]), "us-east-1"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestEncryptedValuesAreNotedNotRead(t *testing.T) {
	path := t.TempDir() + "/Pulumi.sec.yaml"
	require.NoError(t, os.WriteFile(path, []byte("config:\n  aws:region: eu-west-1\n  kinfra:pki:\n    secure: v1:c2VjcmV0:ZW5jcnlwdGVk\n  kinfra:cluster:\n    name: sec\n"), 0o644))
	sf, err := stackfile.Load(path)
	require.NoError(t, err)
	require.Equal(t, []string{"kinfra:pki"}, sf.Secure)
	require.NotContains(t, sf.Config, "kinfra:pki")
	p, err := Run(sf)
	require.NoError(t, err)
	require.Contains(t, p.Notes, "kinfra:pki is encrypted and was not read offline")
	require.Contains(t, p.Notes, "availability zones are not pinned; the offline plan takes eu-west-1a, eu-west-1b and eu-west-1c, the first 3 of the zones every account has in eu-west-1 (eu-west-1a, eu-west-1b and eu-west-1c); `pulumi preview` takes the first 3 the account reports, by name")
}

// BenchmarkFailuresLargeStack is the failure simulation's share: it reads
// the recorded resources once per run.
func BenchmarkFailuresLargeStack(b *testing.B) {
	p, err := Run(largeStack(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Failures(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDiffLargeStack is plan diff's own cost on the largest topology:
// the plan against one where every pool's nodes take fewer pods (every
// resource compared; forty launch templates and their groups change).
func BenchmarkDiffLargeStack(b *testing.B) {
	old, err := Run(largeStack(b))
	if err != nil {
		b.Fatal(err)
	}
	sf := largeStack(b)
	var c map[string]any
	if err := json.Unmarshal([]byte(sf.Config["kinfra:cluster"]), &c); err != nil {
		b.Fatal(err)
	}
	for _, p := range c["nodePools"].([]any) {
		p.(map[string]any)["maxPods"] = 100
	}
	js, err := json.Marshal(c)
	if err != nil {
		b.Fatal(err)
	}
	sf.Config["kinfra:cluster"] = string(js)
	new, err := Run(sf)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		d := Diff(old, new)
		if len(d.Resources) < 40 {
			b.Fatalf("%d resources change; want every pool's launch template", len(d.Resources))
		}
	}
}
