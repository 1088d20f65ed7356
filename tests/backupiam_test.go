package tests

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
)

// awsCLIActions maps the AWS CLI calls the masters' scripts make for the
// etcd record and backups to the IAM actions they need.
var awsCLIActions = map[string][]string{
	"s3api put-object":                    {"s3:PutObject"},
	"s3api get-object":                    {"s3:GetObject"},
	"s3api head-object":                   {"s3:GetObject"},
	"s3api list-objects-v2":               {"s3:ListBucket"},
	"cloudwatch put-metric-data":          {"cloudwatch:PutMetricData"},
	"ssm put-parameter":                   {"ssm:PutParameter"},
	"ssm get-parameter":                   {"ssm:GetParameter"},
	"ec2 describe-volumes":                nil, // the boot's, outside backups
	"ec2 attach-volume":                   nil,
	"route53 change-resource-record-sets": nil,
	"route53 wait":                        nil,
}

// The masters' IAM allows exactly the S3 and CloudWatch calls the rendered
// scripts make (and KMS only as S3 needs it to write and read them), no
// more: every call of the rendered boot, library and backup scripts is
// mapped to its action, and the plan's master policies are compared.
func TestMastersIAMAllowsExactlyTheBackupCallsTheScriptsMake(t *testing.T) {
	p := planStack(t, "us-east-1")
	uds, err := p.UserData()
	require.NoError(t, err)
	var scripts string
	for _, ud := range uds {
		if ud.LaunchTemplate == "prod-use1-masters-master-0" {
			files := writeFiles(t, ud, t.TempDir())
			for _, path := range []string{bootstrap.BootScriptPath, bootstrap.MasterLibPath, bootstrap.BackupScriptPath, bootstrap.DefragScriptPath, bootstrap.RenewScriptPath, bootstrap.HealthScriptPath, bootstrap.JoinTokenScriptPath} {
				require.Contains(t, files, path)
				scripts += mustRead(t, files[path])
			}
		}
	}
	require.NotEmpty(t, scripts)
	calls := regexp.MustCompile(`awscli ([a-z0-9]+) ([a-z0-9-]+)`).FindAllStringSubmatch(scripts, -1)
	need := map[string]bool{}
	for _, c := range calls {
		call := c[1] + " " + c[2]
		actions, known := awsCLIActions[call]
		require.True(t, known, "the scripts call `aws %s`, which this test does not map to IAM actions", call)
		for _, a := range actions {
			need[a] = true
		}
	}
	// S3 encrypts with the cluster key on write, decrypts on read.
	need["kms:GenerateDataKey"], need["kms:Decrypt"] = true, true

	granted := map[string]bool{}
	for _, r := range p.Resources {
		if !(r.Type == "aws:iam/policy:Policy" && r.Name == "prod-use1-masters-masters") &&
			!(r.Type == "aws:iam/rolePolicy:RolePolicy" && r.Name == "prod-use1-masters-master-0") {
			continue
		}
		doc, _ := r.Inputs["policy"].(string)
		var pol struct {
			Statement []struct {
				Sid      string
				Action   []string
				Resource []string
			}
		}
		require.NoError(t, json.Unmarshal([]byte(doc), &pol), r.Name)
		for _, st := range pol.Statement {
			for _, a := range st.Action {
				switch {
				case strings.HasPrefix(a, "s3:"), strings.HasPrefix(a, "cloudwatch:"), strings.HasPrefix(a, "ssm:Put"):
					granted[a] = true
				case strings.HasPrefix(a, "kms:") && strings.HasPrefix(st.Sid, "Backup"):
					granted[a] = true
				}
			}
		}
	}
	want := map[string]bool{}
	for a := range need {
		if !strings.HasPrefix(a, "ssm:Get") {
			want[a] = true
		}
	}
	require.Equal(t, sortedKeys(want), sortedKeys(granted), "backup and record actions: what the scripts call vs what the masters may do")
	for a := range granted {
		require.NotContains(t, strings.ToLower(a), "delete", "the masters never delete")
	}
}

// The masters' IAM lets slot 0 write exactly the SSM parameters its
// rendered scripts write (the etcd cluster record, the node join token,
// its own member record and its own boot status) and publish metrics to exactly the namespaces
// they publish to (the backups' and the boot failures'), read from the
// scripts' calls and resolved through the slot's master.env.
func TestMastersIAMWritesExactlyTheParametersAndMetricsTheScriptsDo(t *testing.T) {
	p := planStack(t, "us-east-1")
	uds, err := p.UserData()
	require.NoError(t, err)
	var scripts, env string
	for _, ud := range uds {
		if ud.LaunchTemplate == "prod-use1-masters-master-0" {
			files := writeFiles(t, ud, t.TempDir())
			for _, path := range []string{bootstrap.BootScriptPath, bootstrap.MasterLibPath, bootstrap.BackupScriptPath, bootstrap.DefragScriptPath, bootstrap.RenewScriptPath, bootstrap.HealthScriptPath, bootstrap.JoinTokenScriptPath} {
				scripts += mustRead(t, files[path])
			}
			env = mustRead(t, files[bootstrap.MasterEnvPath])
		}
	}
	require.NotEmpty(t, env)
	values := bootEnvValues(t, env)
	resolve := func(v string) string {
		val, ok := values[v]
		require.True(t, ok, "master.env sets %s", v)
		return val
	}
	// Parameters: put-parameter on $PARAMETER_PREFIX/$X, or record_put "$X".
	written := map[string]bool{}
	for _, m := range regexp.MustCompile(`put-parameter --name "\$PARAMETER_PREFIX/\$([A-Z_]+)"|record_put "\$([A-Z_]+)"`).FindAllStringSubmatch(scripts, -1) {
		written["arn:aws:ssm:us-east-1:123456789012:parameter"+resolve("PARAMETER_PREFIX")+"/"+resolve(m[1]+m[2])] = true
	}
	namespaces := map[string]bool{}
	for _, m := range regexp.MustCompile(`put-metric-data --namespace "\$([A-Z_]+)"`).FindAllStringSubmatch(scripts, -1) {
		namespaces[resolve(m[1])] = true
	}
	require.Equal(t, []string{
		"arn:aws:ssm:us-east-1:123456789012:parameter/kinfra/prod-use1/" + bootstrap.ClusterRecord,
		"arn:aws:ssm:us-east-1:123456789012:parameter/kinfra/prod-use1/" + bootstrap.MemberRecord(0),
		"arn:aws:ssm:us-east-1:123456789012:parameter/kinfra/prod-use1/" + bootstrap.JoinTokenParameter,
		"arn:aws:ssm:us-east-1:123456789012:parameter/kinfra/prod-use1/" + bootstrap.MasterStatusRecord(0),
	}, sortedKeys(written), "what slot 0's scripts write")
	require.Equal(t, []string{bootstrap.BackupMetricNamespace, bootstrap.BootMetricNamespace}, sortedKeys(namespaces))

	grantedParams, grantedNamespaces := map[string]bool{}, map[string]bool{}
	for _, r := range p.Resources {
		if !(r.Type == "aws:iam/policy:Policy" && r.Name == "prod-use1-masters-masters") &&
			!(r.Type == "aws:iam/rolePolicy:RolePolicy" && r.Name == "prod-use1-masters-master-0") {
			continue
		}
		doc, _ := r.Inputs["policy"].(string)
		var pol struct {
			Statement []struct {
				Action    []string
				Resource  []string
				Condition map[string]map[string]any
			}
		}
		require.NoError(t, json.Unmarshal([]byte(doc), &pol), r.Name)
		for _, st := range pol.Statement {
			for _, a := range st.Action {
				switch a {
				case "ssm:PutParameter":
					for _, res := range st.Resource {
						grantedParams[res] = true
					}
				case "cloudwatch:PutMetricData":
					ns, _ := st.Condition["StringEquals"]["cloudwatch:namespace"].(string)
					require.NotEmpty(t, ns, "PutMetricData is scoped by namespace")
					grantedNamespaces[ns] = true
				}
			}
		}
	}
	require.Equal(t, sortedKeys(written), sortedKeys(grantedParams), "slot 0 may write exactly what its scripts write")
	require.Equal(t, sortedKeys(namespaces), sortedKeys(grantedNamespaces), "and publish exactly where they publish")
}
