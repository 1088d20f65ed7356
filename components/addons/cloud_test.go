package addons_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/components/addons"
	"github.com/kinfra-dev/kinfra/components/workers"
	"github.com/kinfra-dev/kinfra/internal/iampolicy"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/testtools"
	"github.com/kinfra-dev/kinfra/spec"
)

// AWS and Kubernetes resource types of the cloud add-ons.
const (
	iamPolicyType      = "aws:iam/policy:Policy"
	attachmentType     = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	iamUserType        = "aws:iam/user:User"
	userPolicyType     = "aws:iam/userPolicy:UserPolicy"
	accessKeyType      = "aws:iam/accessKey:AccessKey"
	iamRoleType        = "aws:iam/role:Role"
	rolePolicyType     = "aws:iam/rolePolicy:RolePolicy"
	secretType         = "kubernetes:core/v1:Secret"
	storageClassType   = "kubernetes:storage.k8s.io/v1:StorageClass"
	deploymentType     = "kubernetes:apps/v1:Deployment"
	serviceAccountType = "kubernetes:core/v1:ServiceAccount"
	clusterRoleType    = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
	roleBindingType    = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
)

// The cloud add-ons' resource names under the "prod-addons" harness.
const (
	ccmRelease        = "prod-addons-cloud-controller-manager"
	ebsRelease        = "prod-addons-ebs-csi-driver"
	autoscalerRelease = "prod-addons-cluster-autoscaler"
	nthName           = "prod-addons-node-termination-handler"
	ebsName           = "prod-addons-ebs-csi"
	controllersPolicy = "prod-addons-controllers"
)

var kmsKey = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

func off() *bool { f := false; return &f }

// releaseValues are a release's chart values.
func releaseValues(t *testing.T, m *mockaws.Mocks, name string) map[string]any {
	t.Helper()
	return mockaws.Object(m.MustNamed(t, releaseType, name).Inputs["values"])
}

// document decodes a policy document input.
func document(t *testing.T, r mockaws.Resource) iampolicy.Document {
	t.Helper()
	var d iampolicy.Document
	require.NoError(t, json.Unmarshal([]byte(r.Inputs["policy"].(string)), &d), "%s: policy is not a JSON document", r.Name)
	require.Equal(t, iampolicy.Version, d.Version)
	return d
}

// actions are every action of d.
func actions(d iampolicy.Document) []string {
	var out []string
	for _, s := range d.Statement {
		out = append(out, s.Action...)
	}
	return out
}

// statementsFor are the statements of d that allow action.
func statementsFor(d iampolicy.Document, action string) []iampolicy.Statement {
	var out []iampolicy.Statement
	for _, s := range d.Statement {
		if slices.Contains(s.Action, action) {
			out = append(out, s)
		}
	}
	return out
}

// readOnly reports actions AWS scopes no narrower than "*".
func readOnly(action string) bool {
	verb := action[strings.Index(action, ":")+1:]
	return strings.HasPrefix(verb, "Describe") || strings.HasPrefix(verb, "Get") || strings.HasPrefix(verb, "List")
}

// requireLeastPrivilege holds a document to kinfra's rules: no wildcard
// actions, and every write limited to named resources or by a condition.
func requireLeastPrivilege(t *testing.T, d iampolicy.Document) {
	t.Helper()
	require.NotEmpty(t, d.Statement)
	for _, s := range d.Statement {
		require.Equal(t, "Allow", s.Effect, s.Sid)
		require.NotEmpty(t, s.Resource, s.Sid)
		for _, a := range s.Action {
			require.NotContains(t, a, "*", "%s: wildcard action %s", s.Sid, a)
			if readOnly(a) {
				continue
			}
			if slices.Contains(s.Resource, "*") {
				require.NotEmpty(t, s.Condition, "%s: %s on every resource without a condition", s.Sid, a)
			}
		}
	}
}

// tagConditions are the aws:ResourceTag (or RequestTag) conditions of s, by
// tag key.
func tagConditions(s iampolicy.Statement, prefix string) map[string]any {
	out := map[string]any{}
	for _, keys := range s.Condition {
		for k, v := range keys {
			if tag, ok := strings.CutPrefix(k, prefix); ok {
				out[tag] = v
			}
		}
	}
	return out
}

func TestCloudAddonsAreOnByDefault(t *testing.T) {
	c := effective(t, cluster())
	m, out := run(t, args(c))
	require.NotNil(t, out.CloudControllerManager)
	require.NotNil(t, out.EBSCSIDriver)
	require.NotNil(t, out.NodeTerminationHandler)
	require.NotNil(t, out.ClusterAutoscaler)
	for _, x := range []struct {
		typ, name string
	}{
		{"kinfra:addons:CloudControllerManager", "prod-addons-cloud-controller-manager"},
		{"kinfra:addons:EBSCSIDriver", "prod-addons-ebs-csi-driver"},
		{"kinfra:addons:NodeTerminationHandler", "prod-addons-node-termination-handler"},
		{"kinfra:addons:ClusterAutoscaler", "prod-addons-cluster-autoscaler"},
	} {
		comp := m.MustNamed(t, x.typ, x.name)
		require.Equal(t, m.MustNamed(t, "kinfra:addons:Addons", "prod-addons").URN, comp.Parent, x.name)
	}
	for _, x := range []struct {
		resource, release string
		chart             addons.Chart
	}{
		{ccmRelease, "aws-cloud-controller-manager", addons.CCMChart},
		{ebsRelease, "aws-ebs-csi-driver", addons.EBSCSIChart},
		{autoscalerRelease, "cluster-autoscaler", addons.AutoscalerChart},
	} {
		r := m.MustNamed(t, releaseType, x.resource)
		require.Equal(t, x.release, r.Inputs["name"], x.resource)
		require.Equal(t, x.chart.Name, r.Inputs["chart"], x.resource)
		require.Equal(t, x.chart.Version, r.Inputs["version"], x.resource)
		require.Equal(t, x.chart.Repo, mockaws.Object(r.Inputs["repositoryOpts"])["repo"], x.resource)
		require.Equal(t, "kube-system", r.Inputs["namespace"], x.resource)
	}
	// A stack's pin wins over kinfra's.
	c = effective(t, cluster(func(c *spec.Cluster) {
		c.Addons.ClusterAutoscaler.Version = "9.60.0"
		c.Addons.EBSCSIDriver.Version = "2.67.0"
		c.Addons.CloudControllerManager.Version = "0.0.11"
	}))
	m, _ = run(t, args(c))
	require.Equal(t, "9.60.0", m.MustNamed(t, releaseType, autoscalerRelease).Inputs["version"])
	require.Equal(t, "2.67.0", m.MustNamed(t, releaseType, ebsRelease).Inputs["version"])
	require.Equal(t, "0.0.11", m.MustNamed(t, releaseType, ccmRelease).Inputs["version"])
}

func TestEachCloudAddonCanBeTurnedOff(t *testing.T) {
	t.Run("cloud-controller-manager", func(t *testing.T) {
		m, out := run(t, args(effective(t, cluster(func(c *spec.Cluster) { c.Addons.CloudControllerManager.Enabled = off() }))))
		require.Nil(t, out.CloudControllerManager)
		_, ok := m.Named(releaseType, ccmRelease)
		require.False(t, ok)
		require.NotNil(t, out.EBSCSIDriver)
		require.NotNil(t, out.ClusterAutoscaler)
	})
	t.Run("ebs-csi-driver", func(t *testing.T) {
		m, out := run(t, args(effective(t, cluster(func(c *spec.Cluster) { c.Addons.EBSCSIDriver.Enabled = off() }))))
		require.Nil(t, out.EBSCSIDriver)
		_, ok := m.Named(releaseType, ebsRelease)
		require.False(t, ok)
		for _, typ := range []string{iamUserType, userPolicyType, accessKeyType, secretType, storageClassType} {
			require.Empty(t, m.ByType(typ), typ)
		}
	})
	t.Run("node-termination-handler", func(t *testing.T) {
		a := args(effective(t, cluster(func(c *spec.Cluster) { c.Addons.NodeTerminationHandler.Enabled = off() })))
		a.TerminationQueueURL, a.TerminationQueueArn = nil, nil
		m, out := run(t, a)
		require.Nil(t, out.NodeTerminationHandler)
		require.Empty(t, m.ByType(deploymentType))
		require.Empty(t, m.ByType("kinfra:addons:NodeTerminationHandler"))
		// The autoscaler's rights remain, the handler's go.
		d := document(t, m.MustNamed(t, iamPolicyType, controllersPolicy))
		require.Empty(t, statementsFor(d, "sqs:ReceiveMessage"))
		require.Empty(t, statementsFor(d, "autoscaling:CompleteLifecycleAction"))
		require.NotEmpty(t, statementsFor(d, "autoscaling:SetDesiredCapacity"))
		require.Len(t, m.ByType(attachmentType), 3)
	})
	t.Run("cluster-autoscaler", func(t *testing.T) {
		m, out := run(t, args(effective(t, cluster(func(c *spec.Cluster) { c.Addons.ClusterAutoscaler.Enabled = off() }))))
		require.Nil(t, out.ClusterAutoscaler)
		_, ok := m.Named(releaseType, autoscalerRelease)
		require.False(t, ok)
		d := document(t, m.MustNamed(t, iamPolicyType, controllersPolicy))
		require.Empty(t, statementsFor(d, "autoscaling:SetDesiredCapacity"))
		require.Empty(t, statementsFor(d, "autoscaling:TerminateInstanceInAutoScalingGroup"))
		require.NotEmpty(t, statementsFor(d, "sqs:ReceiveMessage"))
	})
	t.Run("both controllers on the masters", func(t *testing.T) {
		c := effective(t, cluster(func(c *spec.Cluster) {
			c.Addons.NodeTerminationHandler.Enabled = off()
			c.Addons.ClusterAutoscaler.Enabled = off()
		}))
		a := args(c)
		a.ControllerRoleNames, a.TerminationQueueURL, a.TerminationQueueArn = nil, nil, nil
		m, out := run(t, a)
		require.Nil(t, out.NodeTerminationHandler)
		require.Nil(t, out.ClusterAutoscaler)
		require.Empty(t, m.ByType(iamPolicyType))
		require.Empty(t, m.ByType(attachmentType))
	})
	t.Run("a cluster without pools", func(t *testing.T) {
		m, out := run(t, args(effective(t, cluster(func(c *spec.Cluster) { c.NodePools = nil }))))
		require.Nil(t, out.NodeTerminationHandler)
		require.Nil(t, out.ClusterAutoscaler)
		require.Empty(t, m.ByType(iamPolicyType))
		require.NotNil(t, out.CloudControllerManager)
		require.NotNil(t, out.EBSCSIDriver)
	})
}

func TestCloudControllerManagerRunsOnTheMastersWithoutRoutes(t *testing.T) {
	c := effective(t, cluster())
	m, _ := run(t, args(c))
	v := releaseValues(t, m, ccmRelease)
	require.Equal(t, []any{"--v=2", "--cloud-provider=aws", "--configure-cloud-routes=false", "--cluster-name=prod"}, v["args"])
	require.Equal(t, true, v["hostNetworking"])
	require.Equal(t, "Default", v["dnsPolicy"])
	requireMastersPlacement(t, v)
	require.Contains(t, mockaws.List(v["tolerations"]), map[string]any{"key": addons.NotReadyTaint, "operator": "Exists", "effect": "NoSchedule"},
		"it needs no CNI, so it runs before masters are ready")
	image := mockaws.Object(v["image"])
	require.Equal(t, addons.CCMImage, image["repository"].(string)+":"+image["tag"].(string))
	require.Equal(t, "registry.k8s.io/provider-aws/cloud-controller-manager", image["repository"])

	// A stack's image, from a registry with a port.
	c = effective(t, cluster(func(c *spec.Cluster) {
		c.Addons.CloudControllerManager.Image = "registry.example.com:5000/mirror/cloud-controller-manager:v1.37.0"
	}))
	m, _ = run(t, args(c))
	image = mockaws.Object(releaseValues(t, m, ccmRelease)["image"])
	require.Equal(t, "registry.example.com:5000/mirror/cloud-controller-manager", image["repository"])
	require.Equal(t, "v1.37.0", image["tag"])
}

// requireMastersPlacement checks a chart's nodeSelector and tolerations put
// its pods on the masters, initialised or not.
func requireMastersPlacement(t *testing.T, v map[string]any) {
	t.Helper()
	require.Equal(t, map[string]any{"node-role.kubernetes.io/control-plane": ""}, v["nodeSelector"])
	tol := mockaws.List(v["tolerations"])
	for _, want := range []map[string]any{
		{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"},
		{"key": "node.cloudprovider.kubernetes.io/uninitialized", "operator": "Exists", "effect": "NoSchedule"},
		{"key": "CriticalAddonsOnly", "operator": "Exists"},
	} {
		require.Contains(t, tol, want)
	}
}

// poolGroupTags are the tags the workers put on the Auto Scaling Group of
// cluster c's first pool.
func poolGroupTags(t *testing.T, c spec.Cluster) map[string]string {
	t.Helper()
	m := mockaws.New("us-east-1")
	err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		_, err := workers.New(ctx, "prod-pool", workers.Args{
			Cluster: c, Pool: c.NodePools[0],
			Join: workers.Join{
				APIName: "api.prod.k8s.internal", CACertHash: "sha256:" + strings.Repeat("0f", 32),
				ParameterPrefix:  "/kinfra/prod",
				JoinPolicyArn:    pulumi.String("arn:aws:iam::123456789012:policy/kinfra/prod/join"),
				SecurityGroupIDs: []pulumi.StringInput{pulumi.String("sg-0123456789abcdef0")},
			},
			Network: workers.Network{
				VpcID:     pulumi.String("vpc-0123456789abcdef0"),
				Zones:     c.Network.AvailabilityZones,
				SubnetIDs: []pulumi.StringInput{pulumi.String("subnet-a"), pulumi.String("subnet-b"), pulumi.String("subnet-c")},
			},
			Image: &workers.Image{ID: pulumi.String("ami-0123456789abcdef0"), RootDevice: "/dev/sda1"},
			Termination: workers.Termination{
				QueueArn: pulumi.String("arn:aws:sqs:us-east-1:123456789012:prod-node-termination"),
				RoleArn:  pulumi.String("arn:aws:iam::123456789012:role/hooks"),
			},
		})
		return err
	})
	require.NoError(t, err)
	groups := m.ByType("aws:autoscaling/group:Group")
	require.Len(t, groups, 1)
	out := map[string]string{}
	for _, tag := range mockaws.List(groups[0].Inputs["tags"]) {
		out[mockaws.Object(tag)["key"].(string)] = mockaws.Object(tag)["value"].(string)
	}
	return out
}

func TestClusterAutoscalerFindsAndMayResizeOnlyTheGroupsTheWorkersTag(t *testing.T) {
	c := effective(t, cluster())
	m, _ := run(t, args(c))
	v := releaseValues(t, m, autoscalerRelease)
	require.Equal(t, "aws", v["cloudProvider"])
	require.Equal(t, "us-east-1", v["awsRegion"])
	discovery := mockaws.Object(v["autoDiscovery"])
	require.Equal(t, "prod", discovery["clusterName"])
	require.Equal(t, []any{workers.AutoscalerEnabledTag, workers.AutoscalerClusterTag("prod")}, discovery["tags"])
	groupTags := poolGroupTags(t, c)
	for _, tag := range mockaws.List(discovery["tags"]) {
		require.Contains(t, groupTags, tag, "auto-discovery looks for a tag the pool's group does not carry")
	}

	// Its image simulates the scheduler of the nodes' own minor.
	image := mockaws.Object(v["image"])
	require.Equal(t, "registry.k8s.io/autoscaling/cluster-autoscaler", image["repository"])
	minorOf := func(v string) string { p := strings.Split(strings.TrimPrefix(v, "v"), "."); return p[0] + "." + p[1] }
	require.Equal(t, minorOf(c.Kubernetes.NodeVersion), minorOf(image["tag"].(string)))

	require.Equal(t, true, v["hostNetwork"])
	require.Equal(t, "Default", v["dnsPolicy"])
	requireMastersPlacement(t, v)
	require.Equal(t, 2.0, v["replicaCount"])
	require.Equal(t, "system-cluster-critical", v["priorityClassName"])
	require.Equal(t, map[string]any{
		"expander": "least-waste", "scale-down-utilization-threshold": "0.5",
		"balance-similar-node-groups": true, "skip-nodes-with-system-pods": false, "skip-nodes-with-local-storage": false,
		"max-node-provision-time": "15m", "logtostderr": true, "v": 2.0,
	}, v["extraArgs"])

	// It writes only to groups carrying its cluster's discovery tag, with
	// the value the workers give it.
	d := document(t, m.MustNamed(t, iamPolicyType, controllersPolicy))
	for _, action := range []string{"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"} {
		ss := statementsFor(d, action)
		require.Len(t, ss, 1, action)
		require.Equal(t, []string{"arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/*"}, ss[0].Resource)
		cond := tagConditions(ss[0], "aws:ResourceTag/")
		require.Equal(t, map[string]any{tags.AutoscalerCluster("prod"): "owned"}, cond)
		for k, want := range cond {
			require.Equal(t, want, groupTags[k], "the workers tag %s differently", k)
		}
	}

	// It waits for networked, initialised nodes and for its rights.
	rel := m.MustNamed(t, releaseType, autoscalerRelease)
	require.Contains(t, rel.Options.Dependencies, m.MustNamed(t, releaseType, "prod-addons-cilium").URN)
	require.Contains(t, rel.Options.Dependencies, m.MustNamed(t, releaseType, ccmRelease).URN)
	for _, att := range m.ByType(attachmentType) {
		require.Contains(t, rel.Options.Dependencies, att.URN)
	}

	// A stack's image; and a one-master cluster runs one replica (two
	// host-networked pods cannot share a master).
	c = effective(t, cluster(func(c *spec.Cluster) {
		c.Addons.ClusterAutoscaler.Image = "registry.example.com/cluster-autoscaler:v1.37.1"
		c.Addons.ClusterAutoscaler.Expander = "priority"
		c.Masters.Count = 1
	}))
	m, _ = run(t, args(c))
	v = releaseValues(t, m, autoscalerRelease)
	require.Equal(t, map[string]any{"repository": "registry.example.com/cluster-autoscaler", "tag": "v1.37.1"}, v["image"])
	require.Equal(t, 1.0, v["replicaCount"])
	require.Equal(t, "priority", mockaws.Object(v["extraArgs"])["expander"])
}

// nthContainer is the handler's container and its pod spec.
func nthContainer(t *testing.T, m *mockaws.Mocks) (pod, container map[string]any) {
	t.Helper()
	d := m.MustNamed(t, deploymentType, nthName)
	pod = mockaws.Object(mockaws.Object(mockaws.Object(d.Inputs["spec"])["template"])["spec"])
	containers := mockaws.List(pod["containers"])
	require.Len(t, containers, 1)
	return pod, mockaws.Object(containers[0])
}

// envOf maps a container's plain environment variables.
func envOf(container map[string]any) (values map[string]string, fields map[string]string) {
	values, fields = map[string]string{}, map[string]string{}
	for _, e := range mockaws.List(container["env"]) {
		e := mockaws.Object(e)
		if v, ok := e["value"]; ok {
			values[e["name"].(string)] = v.(string)
		} else {
			fields[e["name"].(string)] = mockaws.Object(mockaws.Object(e["valueFrom"])["fieldRef"])["fieldPath"].(string)
		}
	}
	return values, fields
}

func TestTerminationHandlerDrainsFromTheQueueOnTheMasters(t *testing.T) {
	c := effective(t, cluster())
	a := args(c)
	m, _ := run(t, a)
	d := m.MustNamed(t, deploymentType, nthName)
	spec := mockaws.Object(d.Inputs["spec"])
	require.Equal(t, 1.0, spec["replicas"], "queue processors do not coordinate")
	require.Equal(t, "Recreate", mockaws.Object(spec["strategy"])["type"])
	pod, ctr := nthContainer(t, m)
	require.Equal(t, true, pod["hostNetwork"])
	require.Equal(t, "Default", pod["dnsPolicy"])
	require.Equal(t, "system-cluster-critical", pod["priorityClassName"])
	require.Equal(t, addons.NTHName, pod["serviceAccountName"])
	require.Equal(t, "", mockaws.Object(pod["nodeSelector"])["node-role.kubernetes.io/control-plane"])
	requireMastersPlacement(t, map[string]any{"nodeSelector": map[string]any{"node-role.kubernetes.io/control-plane": ""}, "tolerations": pod["tolerations"]})
	require.Equal(t, addons.NTHImage, ctr["image"])

	env, fields := envOf(ctr)
	require.Equal(t, "https://sqs.us-east-1.amazonaws.com/123456789012/prod-node-termination", env["QUEUE_URL"])
	require.Equal(t, workers.TerminationHandlerTag, env["MANAGED_TAG"])
	require.Contains(t, poolGroupTags(t, c), env["MANAGED_TAG"], "the handler would drain no node of the pool")
	for k, v := range map[string]string{
		"ENABLE_SQS_TERMINATION_DRAINING": "true", "AWS_REGION": "us-east-1", "CHECK_TAG_BEFORE_DRAINING": "true",
		"DELETE_SQS_MSG_IF_NODE_NOT_FOUND": "true", "ENABLE_SPOT_INTERRUPTION_DRAINING": "true",
		"ENABLE_REBALANCE_DRAINING": "false", "ENABLE_SCHEDULED_EVENT_DRAINING": "true",
		"POD_TERMINATION_GRACE_PERIOD": "-1", "TAINT_NODE": "true", "JSON_LOGGING": "true",
		"ENABLE_PROMETHEUS_SERVER": "false", "USE_PROVIDER_ID": "true",
		"ENABLE_PROBES_SERVER": "true", "PROBES_SERVER_PORT": "8080", "PROBES_SERVER_ENDPOINT": "/healthz",
	} {
		require.Equal(t, v, env[k], k)
	}
	require.NotContains(t, env, "NODE_TERMINATION_GRACE_PERIOD")
	require.Equal(t, map[string]string{"NODE_NAME": "spec.nodeName", "POD_NAME": "metadata.name", "NAMESPACE": "metadata.namespace"}, fields)
	probe := mockaws.Object(mockaws.Object(ctr["livenessProbe"])["httpGet"])
	require.Equal(t, "/healthz", probe["path"])
	require.Equal(t, 8080.0, probe["port"])
	sc := mockaws.Object(ctr["securityContext"])
	require.Equal(t, true, sc["runAsNonRoot"])
	require.Equal(t, true, sc["readOnlyRootFilesystem"])
	require.Equal(t, false, sc["allowPrivilegeEscalation"])

	// The chart's RBAC, bound to its service account.
	rules := mockaws.List(m.MustNamed(t, clusterRoleType, nthName).Inputs["rules"])
	require.Contains(t, rules, map[string]any{"apiGroups": []any{""}, "resources": []any{"pods/eviction"}, "verbs": []any{"create"}})
	require.Contains(t, rules, map[string]any{"apiGroups": []any{""}, "resources": []any{"nodes"}, "verbs": []any{"get", "list", "patch", "update"}})
	binding := m.MustNamed(t, roleBindingType, nthName)
	require.Equal(t, addons.NTHName, mockaws.Object(binding.Inputs["roleRef"])["name"])
	require.Equal(t, []any{map[string]any{"kind": "ServiceAccount", "name": addons.NTHName, "namespace": "kube-system"}}, binding.Inputs["subjects"])

	// It reads only the cluster's queue, and completes only the hooks of
	// this cluster's groups the workers mark for it.
	doc := document(t, m.MustNamed(t, iamPolicyType, controllersPolicy))
	for _, action := range []string{"sqs:ReceiveMessage", "sqs:DeleteMessage"} {
		ss := statementsFor(doc, action)
		require.Len(t, ss, 1)
		require.Equal(t, []string{"arn:aws:sqs:us-east-1:123456789012:prod-node-termination"}, ss[0].Resource)
	}
	hooks := statementsFor(doc, "autoscaling:CompleteLifecycleAction")
	require.Len(t, hooks, 1)
	groupTags := poolGroupTags(t, c)
	cond := tagConditions(hooks[0], "aws:ResourceTag/")
	require.Equal(t, map[string]any{workers.TerminationHandlerTag: "true", tags.Cluster: "prod"}, cond)
	for k, want := range cond {
		require.Equal(t, want, groupTags[k], "the workers tag %s differently", k)
	}
	for _, att := range m.ByType(attachmentType) {
		require.Contains(t, d.Options.Dependencies, att.URN, "the handler starts with its rights in place")
	}
}

func TestControllersPolicyIsScopedAndOnEveryControllerRole(t *testing.T) {
	c := effective(t, cluster(func(c *spec.Cluster) { c.Tags = map[string]string{"team": "platform"} }))
	m, _ := run(t, args(c))
	require.Len(t, m.ByType(iamPolicyType), 1)
	p := m.MustNamed(t, iamPolicyType, controllersPolicy)
	require.Equal(t, "/kinfra/prod/", p.Inputs["path"])
	require.NotEmpty(t, p.Inputs["description"])
	ts := mockaws.Object(p.Inputs["tags"])
	require.Equal(t, "addons", ts[tags.Component])
	require.Equal(t, "prod", ts[tags.Cluster])
	require.Equal(t, "platform", ts["team"])
	d := document(t, p)
	requireLeastPrivilege(t, d)
	for _, action := range []string{
		"autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeLaunchConfigurations",
		"autoscaling:DescribeScalingActivities", "autoscaling:DescribeTags", "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
		"ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements", "ec2:DescribeInstances",
	} {
		require.Contains(t, actions(d), action)
	}

	atts := m.ByType(attachmentType)
	require.Len(t, atts, 3)
	var roles []any
	for i, att := range atts {
		require.Equal(t, controllersPolicy+"-"+string(rune('0'+i)), att.Name)
		require.Equal(t, "arn:aws:iam::123456789012:policy/"+p.ID, att.Inputs["policyArn"])
		roles = append(roles, att.Inputs["role"])
	}
	require.ElementsMatch(t, []any{"prod-masters-0", "prod-masters-1", "prod-masters-2"}, roles)
}

// The controller calls AWS as a role of its own that only its service
// account's tokens for STS, from the cluster's issuer, can assume: no IAM
// user, no access key, no Secret.
func TestEBSDriverAssumesItsOwnScopedRoleWithItsTokenAndHasAnEncryptedClass(t *testing.T) {
	c := effective(t, cluster())
	a := args(c)
	m, out := run(t, a)
	require.NotNil(t, out.EBSCSIDriver)
	for _, typ := range []string{iamUserType, userPolicyType, accessKeyType, secretType} {
		require.Empty(t, m.ByType(typ), "no long-lived credential: %s", typ)
	}

	role := m.MustNamed(t, iamRoleType, ebsName)
	require.Equal(t, "/kinfra/prod/", role.Inputs["path"])
	require.Equal(t, "addons", mockaws.Object(role.Inputs["tags"])[tags.Component])
	require.Equal(t, 3600.0, role.Inputs["maxSessionDuration"])
	var trust iampolicy.Document
	require.NoError(t, json.Unmarshal([]byte(role.Inputs["assumeRolePolicy"].(string)), &trust))
	require.Len(t, trust.Statement, 1)
	st := trust.Statement[0]
	require.Equal(t, "Allow", st.Effect)
	require.Equal(t, []string{"sts:AssumeRoleWithWebIdentity"}, st.Action)
	require.Equal(t, &iampolicy.Principal{Federated: []string{"arn:aws:iam::123456789012:oidc-provider/prod-oidc-123456789012-us-east-1.s3.us-east-1.amazonaws.com"}}, st.Principal)
	issuer := "prod-oidc-123456789012-us-east-1.s3.us-east-1.amazonaws.com"
	require.Equal(t, map[string]map[string]any{"StringEquals": {
		issuer + ":sub": "system:serviceaccount:kube-system:ebs-csi-controller-sa",
		issuer + ":aud": "sts.amazonaws.com",
	}}, st.Condition, "only the controller's service account, only tokens for STS")

	rp := m.MustNamed(t, rolePolicyType, ebsName)
	require.Contains(t, rp.Options.Dependencies, role.URN)
	require.Equal(t, role.ID, rp.Inputs["role"])
	d := document(t, rp)
	requireLeastPrivilege(t, d)
	owned := map[string]any{"kubernetes.io/cluster/prod": "owned"}
	create := statementsFor(d, "ec2:CreateVolume")
	require.NotEmpty(t, create)
	for _, s := range create {
		if slices.Contains(s.Resource, "arn:aws:ec2:us-east-1:123456789012:volume/*") {
			require.Equal(t, owned, tagConditions(s, "aws:RequestTag/"), "new volumes must be tagged as the cluster's")
		} else {
			require.Equal(t, owned, tagConditions(s, "aws:ResourceTag/"), "restores from the cluster's snapshots only")
		}
	}
	for _, action := range []string{"ec2:AttachVolume", "ec2:DetachVolume", "ec2:DeleteVolume", "ec2:ModifyVolume", "ec2:DeleteSnapshot"} {
		ss := statementsFor(d, action)
		require.Len(t, ss, 1, action)
		require.Equal(t, owned, tagConditions(ss[0], "aws:ResourceTag/"), action)
	}
	attach := statementsFor(d, "ec2:AttachVolume")[0]
	require.Contains(t, attach.Resource, "arn:aws:ec2:us-east-1:123456789012:instance/*")
	tagging := statementsFor(d, "ec2:CreateTags")
	require.Len(t, tagging, 1)
	require.Equal(t, map[string]map[string]any{"StringEquals": {"ec2:CreateAction": []any{"CreateVolume", "CreateSnapshot"}}}, tagging[0].Condition)
	for _, a := range actions(d) {
		require.False(t, strings.HasPrefix(a, "kms:"), "KMS rights without a customer key: %s", a)
	}

	// The chart waits for the role's rights, the CNI and the
	// cloud-controller-manager.
	rel := m.MustNamed(t, releaseType, ebsRelease)
	for _, dep := range []string{rp.URN, m.MustNamed(t, releaseType, "prod-addons-cilium").URN, m.MustNamed(t, releaseType, ccmRelease).URN} {
		require.Contains(t, rel.Options.Dependencies, dep)
	}
	v := releaseValues(t, m, ebsRelease)
	require.NotContains(t, v, "awsAccessSecret")
	ctl := mockaws.Object(v["controller"])
	require.Equal(t, "us-east-1", ctl["region"])
	require.Equal(t, 2.0, ctl["replicaCount"])
	require.Equal(t, "prod", ctl["k8sTagClusterId"], "the driver tags its volumes kubernetes.io/cluster/prod=owned, which the policy requires")
	require.NotContains(t, ctl, "hostNetwork", "the chart's schema forbids it")
	requireMastersPlacement(t, ctl)
	// The AWS SDK's web identity credentials: the role, and a token for
	// STS that expires, projected into the driver's container.
	require.Equal(t, map[string]any{"name": "ebs-csi-controller-sa"}, ctl["serviceAccount"])
	require.Equal(t, []any{
		map[string]any{"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::123456789012:role/" + role.ID},
		map[string]any{"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/var/run/secrets/amazonaws.com/token"},
		map[string]any{"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
	}, ctl["env"])
	require.Equal(t, []any{map[string]any{"name": "aws-iam-token", "projected": map[string]any{"sources": []any{
		map[string]any{"serviceAccountToken": map[string]any{"audience": "sts.amazonaws.com", "expirationSeconds": 3600.0, "path": "token"}},
	}}}}, ctl["volumes"])
	require.Equal(t, []any{map[string]any{"name": "aws-iam-token", "mountPath": "/var/run/secrets/amazonaws.com", "readOnly": true}}, ctl["volumeMounts"])
	require.Equal(t, map[string]any{"hostNetwork": true, "tolerateAllTaints": true}, v["node"])
	require.Equal(t, []any{}, v["storageClasses"])
	require.Equal(t, map[string]any{"enabled": false}, v["defaultStorageClass"])

	sc := m.MustNamed(t, storageClassType, "prod-addons-storage-class")
	require.Equal(t, "gp3", mockaws.Object(sc.Inputs["metadata"])["name"])
	require.Equal(t, map[string]any{"storageclass.kubernetes.io/is-default-class": "true"}, mockaws.Object(sc.Inputs["metadata"])["annotations"])
	require.Equal(t, "ebs.csi.aws.com", sc.Inputs["provisioner"])
	require.Equal(t, map[string]any{"type": "gp3", "encrypted": "true"}, sc.Inputs["parameters"])
	require.Equal(t, "WaitForFirstConsumer", sc.Inputs["volumeBindingMode"])
	require.Equal(t, true, sc.Inputs["allowVolumeExpansion"])
	require.Equal(t, "Delete", sc.Inputs["reclaimPolicy"])
	require.True(t, sc.Options.DeleteBeforeReplace, "its parameters are immutable and its name fixed")
}

func TestEBSCustomerKeyIsUsableOnlyThroughEBS(t *testing.T) {
	c := effective(t, cluster(func(c *spec.Cluster) {
		c.Addons.EBSCSIDriver.StorageClass = spec.StorageClass{Name: "encrypted", Type: "io2", KmsKeyId: kmsKey, Default: off()}
	}))
	m, _ := run(t, args(c))
	sc := m.MustNamed(t, storageClassType, "prod-addons-storage-class")
	require.Equal(t, "encrypted", mockaws.Object(sc.Inputs["metadata"])["name"])
	require.Equal(t, map[string]any{"storageclass.kubernetes.io/is-default-class": "false"}, mockaws.Object(sc.Inputs["metadata"])["annotations"])
	require.Equal(t, map[string]any{"type": "io2", "encrypted": "true", "kmsKeyId": kmsKey}, sc.Inputs["parameters"])

	d := document(t, m.MustNamed(t, rolePolicyType, ebsName))
	requireLeastPrivilege(t, d)
	var kms []string
	for _, s := range d.Statement {
		for _, a := range s.Action {
			if strings.HasPrefix(a, "kms:") {
				kms = append(kms, a)
				require.Equal(t, []string{kmsKey}, s.Resource, a)
			}
		}
	}
	require.ElementsMatch(t, []string{
		"kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey",
		"kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo",
	}, kms)
	grant := statementsFor(d, "kms:CreateGrant")[0]
	require.Equal(t, map[string]map[string]any{"Bool": {"kms:GrantIsForAWSResource": "true"}}, grant.Condition)
}

// The objects kinfra renders itself (not through a chart) are decoded
// strictly by Kubernetes' own code.
func TestRenderedCloudObjectsAreValidKubernetesObjects(t *testing.T) {
	m, _ := run(t, args(effective(t, cluster())))
	var docs []string
	for _, x := range []struct{ typ, name string }{
		{serviceAccountType, nthName}, {clusterRoleType, nthName}, {roleBindingType, nthName},
		{deploymentType, nthName}, {storageClassType, "prod-addons-storage-class"},
	} {
		b, err := json.Marshal(m.MustNamed(t, x.typ, x.name).Inputs)
		require.NoError(t, err)
		docs = append(docs, string(b))
	}
	path := filepath.Join(t.TempDir(), "cloud-objects.yaml")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(docs, "\n---\n")), 0o600))
	out, err := testtools.K8sCheck(t, "objects", path)
	require.NoError(t, err, out)
	require.Equal(t, "ok "+path+" (5 objects)", strings.TrimSpace(out))
}

func TestTerminationHandlerWithoutItsQueueRegistersNothing(t *testing.T) {
	a := args(effective(t, cluster()))
	a.TerminationQueueArn = nil
	m := mockaws.New("us-east-1")
	var newErr error
	err := m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
		_, newErr = addons.New(ctx, "prod-addons", a)
		return nil
	})
	require.NoError(t, err)
	require.EqualError(t, newErr, "addons prod-addons: invalid arguments:\n"+
		"  addons.TerminationQueueURL/TerminationQueueArn: required with the termination handler on; give the cluster's termination queue (stack outputs terminationQueueUrl and terminationQueueArn)")
	require.Empty(t, m.Resources())
}

// While the masters are upgraded, the add-ons that follow Kubernetes stay
// with the nodes: kube-proxy and cluster-autoscaler run nodeVersion's minor,
// never newer than the API servers still on the old version.
func TestAddonsThatFollowKubernetesRunTheNodeVersion(t *testing.T) {
	c := effective(t, cluster(func(c *spec.Cluster) { c.Kubernetes.Version, c.Kubernetes.NodeVersion = "v1.37.2", "v1.36.3" }))
	m, _ := run(t, args(c))
	require.Equal(t, map[string]any{"repository": "registry.k8s.io/autoscaling/cluster-autoscaler", "tag": "v1.36.1"},
		releaseValues(t, m, autoscalerRelease)["image"])
	ds := m.MustNamed(t, daemonSetType, "prod-addons-kube-proxy")
	pod := mockaws.Object(mockaws.Object(mockaws.Object(ds.Inputs["spec"])["template"])["spec"])
	require.Equal(t, "registry.k8s.io/kube-proxy:v1.36.3", mockaws.Object(mockaws.List(pod["containers"])[0])["image"])
	// The cloud-controller-manager follows neither version.
	require.Equal(t, map[string]any{"repository": "registry.k8s.io/provider-aws/cloud-controller-manager", "tag": "v1.35.2"},
		releaseValues(t, m, ccmRelease)["image"])
}

// The EBS CSI driver cannot be deployed without the issuer its role
// trusts: every missing or malformed part is named, and nothing is
// registered; with the driver off, neither is needed.
func TestEBSDriverWithoutTheClustersIssuerRegistersNothing(t *testing.T) {
	for _, tc := range []struct {
		name, issuer string
		provider     pulumi.StringInput
		want         []string
	}{
		{"none", "", nil, []string{`addons.ServiceAccountIssuer: "" is not an https URL`, "addons.OIDCProviderArn: required"}},
		{"http", "http://prod-oidc.s3.us-east-1.amazonaws.com", pulumi.String("arn:aws:iam::123456789012:oidc-provider/x"), []string{`addons.ServiceAccountIssuer: "http://prod-oidc.s3.us-east-1.amazonaws.com" is not an https URL`}},
		{"space", "https://prod oidc", pulumi.String("arn:aws:iam::123456789012:oidc-provider/x"), []string{`addons.ServiceAccountIssuer: "https://prod oidc" is not an https URL`}},
		{"no provider", "https://prod-oidc.s3.us-east-1.amazonaws.com", nil, []string{"addons.OIDCProviderArn: required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := args(effective(t, cluster()))
			a.ServiceAccountIssuer, a.OIDCProviderArn = tc.issuer, tc.provider
			m := mockaws.New("us-east-1")
			var newErr error
			require.NoError(t, m.Run("kinfra", "test", nil, func(ctx *pulumi.Context) error {
				_, newErr = addons.New(ctx, "prod-addons", a)
				return nil
			}))
			require.Error(t, newErr)
			for _, w := range tc.want {
				require.Contains(t, newErr.Error(), w)
			}
			require.Equal(t, len(tc.want), strings.Count(newErr.Error(), "\n  "), newErr.Error())
			require.Empty(t, m.Resources())
		})
	}
	a := args(effective(t, cluster(func(c *spec.Cluster) { c.Addons.EBSCSIDriver.Enabled = off() })))
	a.ServiceAccountIssuer, a.OIDCProviderArn = "", nil
	m, _ := run(t, a)
	require.Empty(t, m.ByType(iamRoleType))
}
