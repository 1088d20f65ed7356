package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/internal/testtools"
	"github.com/kinfra-dev/kinfra/internal/testtools/motoapply"
	"github.com/kinfra-dev/kinfra/review/drift"
	"github.com/kinfra-dev/kinfra/review/plan"
)

// The proof of kinfra drift: the us-east-1 stack's plan made real in
// moto_server as `pulumi up` would make it is clean; then a rule, a group's
// size and a tag changed by hand through the AWS CLI are each reported, and
// nothing else is; and drift changes nothing.
func TestDriftReportsEachChangeMadeByHandAndNothingElse(t *testing.T) {
	awsCLI := testtools.Path(t, "aws")
	m := testtools.StartMoto(t)
	m.SetAWSEnv(t)
	t.Setenv("AWS_DEFAULT_REGION", "us-east-1")
	stackFile, err := filepath.Abs("../../stacks/Pulumi.us-east-1.yaml")
	require.NoError(t, err)
	sf, err := stackfile.Load(stackFile)
	require.NoError(t, err)
	p, err := plan.Run(sf)
	require.NoError(t, err)
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(m.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")}
	applied, err := motoapply.Apply(context.Background(), cfg, p.Resources)
	require.NoError(t, err)

	driftOf := func(t *testing.T) (int, *drift.Report, string) {
		t.Helper()
		m.StartRecording(t)
		var stdout, stderr bytes.Buffer
		code := run([]string{"drift", "--stack-file", stackFile, "--endpoint-url", m.Endpoint, "--json"}, &stdout, &stderr)
		require.Empty(t, testtools.MutatingRequests(m.Requests(t)), "drift made a call that could change something")
		var r drift.Report
		require.NoError(t, json.Unmarshal(stdout.Bytes(), &r), "stdout: %s\nstderr: %s", stdout.String(), stderr.String())
		return code, &r, stderr.String()
	}

	code, r, stderr := driftOf(t)
	require.Equal(t, 0, code, "%v\n%s", r.Drifts, stderr)
	require.Empty(t, r.Drifts)
	require.NotEmpty(t, r.Compared, "drift found the applied resources")

	live := func(typ, name string) string {
		for _, res := range p.Resources {
			if res.Type == typ && res.Name == name {
				id := applied.Live[res.URN]
				require.NotEmpty(t, id, "%s %s was not applied", typ, name)
				return id
			}
		}
		t.Fatalf("the plan has no %s %s", typ, name)
		return ""
	}
	nodes := live("aws:ec2/securityGroup:SecurityGroup", "prod-use1-masters-nodes")
	// A master group, not a pool: moto_server 5.2.1's UpdateAutoScalingGroup
	// drops a mixed instances policy the call does not repeat (AWS keeps
	// it), and every pool of this stack has one.
	group := live("aws:autoscaling/group:Group", "prod-use1-masters-master-0")
	subnet := live("aws:ec2/subnet:Subnet", "prod-use1-network-private-us-east-1a")
	awsDo := func(args ...string) {
		cmd := exec.Command(awsCLI, append([]string{"--endpoint-url", m.Endpoint, "--region", "us-east-1"}, args...)...)
		// The CLI takes an empty AWS_PROFILE for a profile's name.
		cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "AWS_PROFILE=") })
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "aws %s: %s", strings.Join(args, " "), out)
	}
	awsDo("ec2", "authorize-security-group-ingress", "--group-id", nodes, "--protocol", "tcp", "--port", "22", "--cidr", "203.0.113.0/24")
	awsDo("autoscaling", "update-auto-scaling-group", "--auto-scaling-group-name", group, "--max-size", "2")
	awsDo("ec2", "create-tags", "--resources", subnet, "--tags", "Key=team,Value=someone-else")

	code, r, stderr = driftOf(t)
	require.Equal(t, 1, code, stderr)
	var got []string
	for _, d := range r.Drifts {
		got = append(got, strings.Join([]string{string(d.Kind), d.Type, d.Name, d.Path, d.Plan, d.Live}, " | "))
	}
	sort.Strings(got)
	require.Equal(t, []string{
		"changed | aws:autoscaling/group:Group | prod-use1-masters-master-0 | maxSize | 1 | 2",
		"changed | aws:ec2/subnet:Subnet | prod-use1-network-private-us-east-1a | tags[\"team\"] | platform | someone-else",
		"unplanned | aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule | prod-use1-masters-nodes | ingress |  | tcp 22 from 203.0.113.0/24",
	}, got)
}
