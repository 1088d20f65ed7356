package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/review/findings"
)

func kinfra(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestPlanOfACommittedStackPrintsTheTreeAndExitsZero(t *testing.T) {
	code, out, errOut := kinfra("plan", "--stack", "us-east-1", "--dir", "../..")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Stack us-east-1  (cluster prod-use1, region us-east-1)")
	require.Contains(t, out, "└─ prod-use1  kinfra:cluster:Cluster")
	require.Contains(t, out, "prod-use1-network  kinfra:network:Network")
	require.Contains(t, out, "     6  aws:ec2/natGateway:NatGateway")
	require.Contains(t, out, "    12  aws:ec2/subnet:Subnet")
}

func TestPlanJSONHasTheDocumentedShape(t *testing.T) {
	code, out, errOut := kinfra("plan", "--stack", "eu-west-1", "--dir", "../..", "--json")
	require.Equal(t, 0, code, errOut)
	var p struct {
		Stack     string         `json:"stack"`
		Config    map[string]any `json:"config"`
		Resources []struct {
			URN, Type, Name, Parent string
			Custom                  bool
			Inputs                  map[string]any
			Options                 map[string]any
		} `json:"resources"`
		Findings []map[string]any `json:"findings"`
	}
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(out), &raw))
	for _, k := range []string{"stack", "config", "resources", "findings"} {
		require.Contains(t, raw, k)
	}
	require.NoError(t, json.Unmarshal([]byte(out), &p))
	require.Equal(t, "eu-west-1", p.Stack)
	require.Equal(t, "prod-euw1", p.Config["name"])
	require.Equal(t, "perAz", p.Config["network"].(map[string]any)["natGateways"], "effective config has defaults applied")
	require.NotEmpty(t, p.Resources)
	for _, r := range p.Resources {
		require.NotEmpty(t, r.URN)
		require.NotEmpty(t, r.Type)
		for _, opt := range []string{"protect", "retainOnDelete", "ignoreChanges", "deleteBeforeReplace", "dependsOn"} {
			require.Contains(t, r.Options, opt)
		}
	}
}

func TestConfigFlagPrintsTheEffectiveConfig(t *testing.T) {
	code, out, _ := kinfra("plan", "--stack", "ap-southeast-2", "--dir", "../..", "--config")
	require.Equal(t, 0, code)
	var c map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &c))
	require.Equal(t, "ap-southeast-2", c["region"])
	require.EqualValues(t, 3, c["masters"].(map[string]any)["count"])
}

func TestInvalidStackFileExitsOneWithEveryMessageOnStderr(t *testing.T) {
	path := writeStack(t, "Pulumi.bad.yaml", `
config:
  aws:region: eu-west-1
  kinfra:cluster:
    name: bad
    network:
      vpcCidr: 10.0.0.0/16
      privateSubnetPrefixLength: 27
    kubernetes:
      serviceCidr: 10.0.0.0/20
    nodePools:
      - {name: general, maxSize: 100}
`)
	code, out, errOut := kinfra("plan", "--stack-file", path)
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Contains(t, errOut, "stack bad is invalid; nothing would be created (0 resources registered):\n2 configuration errors:\n  cluster.")
	require.Contains(t, errOut, "cluster.kubernetes.serviceCidr: 10.0.0.0/20 overlaps cluster.network.vpcCidr 10.0.0.0/16")
	require.Contains(t, errOut, "cluster.network.privateSubnetPrefixLength: private subnet 10.0.0.0/27 holds 27 addresses, but its zone needs 52: 51 nodes")
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for name, args := range map[string][]string{
		"no command":       {},
		"unknown command":  {"apply"},
		"no stack":         {"plan"},
		"both stack flags": {"plan", "--stack", "us-east-1", "--stack-file", "x.yaml"},
		"unknown flag":     {"plan", "--stack", "us-east-1", "--yes"},
		"unknown stack":    {"plan", "--stack", "mars-north-1", "--dir", "../.."},
		"missing file":     {"plan", "--stack-file", "/nonexistent/Pulumi.x.yaml"},
		"stray argument":   {"plan", "--stack", "us-east-1", "extra"},
		"no project above": {"plan", "--stack", "us-east-1", "--dir", "/"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, errOut := kinfra(args...)
			require.Equal(t, 2, code, errOut)
			require.NotEmpty(t, errOut)
		})
	}
}

func TestUnknownKinfraConfigKeyIsRejected(t *testing.T) {
	path := writeStack(t, "Pulumi.typo.yaml", "config:\n  aws:region: us-east-1\n  kinfra:clustr:\n    name: x\n")
	code, _, errOut := kinfra("plan", "--stack-file", path)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "unknown config keys kinfra:clustr")
}

func TestErrorFindingsExitOneAndAreListed(t *testing.T) {
	var stderr bytes.Buffer
	code := findingsExit([]findings.Finding{
		{Rule: "network/flow-logs", Severity: findings.Warning, Resource: "urn:vpc", Message: "no flow log"},
		{Rule: "security-group/world-open", Severity: findings.Error, Resource: "urn:sg", Message: "ingress 22-22 admits the whole internet to SSH"},
	}, &stderr)
	require.Equal(t, 1, code)
	require.Equal(t, "kinfra plan: 1 error findings:\n  security-group/world-open urn:sg: ingress 22-22 admits the whole internet to SSH\n", stderr.String())

	stderr.Reset()
	require.Equal(t, 0, findingsExit([]findings.Finding{{Rule: "network/single-nat", Severity: findings.Warning}}, &stderr))
	require.Empty(t, stderr.String())
}

func TestWarningFindingsAreShownButDoNotFailThePlan(t *testing.T) {
	// A flow-log-free VPC is only a warning: the plan still passes.
	path := writeStack(t, "Pulumi.nolog.yaml", `
config:
  aws:region: us-east-1
  kinfra:cluster:
    name: nolog
    network:
      natGateways: single
      flowLogs: {enabled: false}
`)
	code, out, errOut := kinfra("plan", "--stack-file", path)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "warning network/flow-logs")
	require.Contains(t, out, "warning network/single-nat")
}

// Pulumi reads stack files as YAML 1.2, where yes is a string; the plan reads
// them with Pulumi's own loader, so it rejects what `pulumi up` would.
func TestPlanReadsYAMLAsPulumiDoes(t *testing.T) {
	path := writeStack(t, "Pulumi.yes.yaml", `
config:
  aws:region: us-east-1
  kinfra:pki:
    secure: v1:c2VjcmV0:ZW5jcnlwdGVk
  kinfra:cluster:
    name: yes-cluster
    network:
      ipv6: yes
`)
	code, _, errOut := kinfra("plan", "--stack-file", path)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `cluster.network.ipv6: "yes" is not true or false`)
}

// writeStack writes a stack file for one test and returns its path.
func writeStack(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	return path
}

func TestUserDataFlagPrintsEachMastersCloudConfig(t *testing.T) {
	code, out, errOut := kinfra("plan", "--stack", "us-east-1", "--dir", "../..", "--user-data")
	require.Equal(t, 0, code, errOut)
	for i := range 3 {
		require.Contains(t, out, fmt.Sprintf("# ---- launch template prod-use1-masters-master-%d ----\n#cloud-config\n", i))
		require.Contains(t, out, fmt.Sprintf("SLOT='%d'", i))
	}
}
