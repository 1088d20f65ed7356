package addons_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/components/addons"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/spec"
)

// deployAddons is a whole program of a stack that deploys the add-ons of a
// running kinfra cluster whose own stack sets cluster.addons.enabled: false.
// It reads the cluster stack's outputs through a StackReference, and the
// kubeconfig from its own secret config (any kubeconfig with cluster-admin
// rights: the admin one, or an SSO-issued one).
func deployAddons(ctx *pulumi.Context) error {
	ref, err := pulumi.NewStackReference(ctx, "acme/kinfra/us-east-1", nil)
	if err != nil {
		return err
	}
	var out struct {
		ClusterName, APIName, KubeProxyMode, Region string
		ServiceAccountIssuer                        string
		Zones, MasterRoleNames                      []string
		Kubernetes                                  spec.Kubernetes
		CNI                                         spec.CNI
	}
	// Values that shape the graph are read as plain values (the cluster
	// stack must be deployed first).
	for name, into := range map[string]any{
		"clusterName": &out.ClusterName, "apiName": &out.APIName, "region": &out.Region,
		"kubeProxyMode": &out.KubeProxyMode, "availabilityZones": &out.Zones,
		"kubernetes": &out.Kubernetes, "cni": &out.CNI, "masterRoleNames": &out.MasterRoleNames,
		"serviceAccountIssuer": &out.ServiceAccountIssuer,
	} {
		d, err := ref.GetOutputDetails(name)
		if err != nil {
			return err
		}
		raw, _ := json.Marshal(d.Value)
		if d.Value == nil || json.Unmarshal(raw, into) != nil {
			return fmt.Errorf("cluster stack output %s is missing or not a %T", name, into)
		}
	}
	// The cluster as the add-ons see it: the cluster stack's address plan
	// and CNI (its security groups were made for exactly that), this
	// stack's add-on settings.
	c, err := spec.Resolve(spec.Cluster{
		Name: out.ClusterName, Region: out.Region,
		Network:    spec.Network{AvailabilityZones: out.Zones},
		Kubernetes: out.Kubernetes, CNI: out.CNI,
		KubeProxy: spec.KubeProxy{Mode: out.KubeProxyMode},
		// One pool stands for the cluster's pools: it turns the
		// termination handler and the autoscaler on by default.
		NodePools: []spec.NodePool{{Name: "any", MaxSize: 1}},
		Addons: spec.Addons{
			EBSCSIDriver:  spec.EBSCSIDriver{StorageClass: spec.StorageClass{Name: "encrypted-gp3"}},
			NetworkPolicy: spec.NetworkPolicyBaseline{DefaultDeny: []string{"payments"}},
		},
	})
	if err != nil {
		return err
	}
	kubeconfig, ok := ctx.GetConfig("addons:kubeconfig")
	if !ok {
		return fmt.Errorf("addons:kubeconfig: required; set it with `pulumi config set --secret addons:kubeconfig < kubeconfig`")
	}
	var roleNames []pulumi.StringInput
	for _, r := range out.MasterRoleNames {
		roleNames = append(roleNames, pulumi.String(r))
	}
	_, err = addons.New(ctx, "prod-use1-addons", addons.Args{
		Cluster:    c,
		Kubeconfig: pulumi.ToSecret(pulumi.String(kubeconfig)).(pulumi.StringOutput),
		// The cluster stack's name stays while the cluster does, whatever
		// way the kubeconfig takes to it.
		ClusterIdentity:     out.ClusterName,
		APIHost:             out.APIName,
		ControllerRoleNames: roleNames,
		TerminationQueueURL: ref.GetStringOutput(pulumi.String("terminationQueueUrl")),
		TerminationQueueArn: ref.GetStringOutput(pulumi.String("terminationQueueArn")),
		// The EBS CSI controller's role trusts the cluster's issuer.
		ServiceAccountIssuer: out.ServiceAccountIssuer,
		OIDCProviderArn:      ref.GetStringOutput(pulumi.String("oidcProviderArn")),
	})
	return err
}

// A stack deploys the add-ons of an existing cluster from that cluster's
// stack outputs and a kubeconfig. Here the program runs under kinfra's
// recording mock, with the outputs a cluster stack exports; in a real stack
// it is passed to pulumi.Run.
func Example_addonsFromAnotherStack() {
	m := mockaws.New("us-east-1")
	m.Account.StackOutputs = map[string]map[string]any{"acme/kinfra/us-east-1": {
		"clusterName":          "prod-use1",
		"region":               "us-east-1",
		"apiName":              "api.prod-use1.k8s.internal",
		"availabilityZones":    []any{"us-east-1a", "us-east-1b", "us-east-1c"},
		"kubernetes":           map[string]any{"version": "v1.37.2", "nodeVersion": "v1.37.2", "podCidr": "10.64.0.0/11", "serviceCidr": "172.20.0.0/16", "nodeCidrMaskSize": 24.0},
		"cni":                  map[string]any{"provider": "cilium", "tunnel": "vxlan", "kubeProxyReplacement": true},
		"kubeProxyMode":        "none",
		"masterRoleNames":      []any{"prod-use1-masters-0", "prod-use1-masters-1", "prod-use1-masters-2"},
		"terminationQueueUrl":  "https://sqs.us-east-1.amazonaws.com/123456789012/prod-use1-node-termination",
		"terminationQueueArn":  "arn:aws:sqs:us-east-1:123456789012:prod-use1-node-termination",
		"serviceAccountIssuer": "https://prod-use1-oidc-123456789012-us-east-1.s3.us-east-1.amazonaws.com",
		"oidcProviderArn":      "arn:aws:iam::123456789012:oidc-provider/prod-use1-oidc-123456789012-us-east-1.s3.us-east-1.amazonaws.com",
	}}
	err := m.Run("addons", "us-east-1", map[string]string{"addons:kubeconfig": "apiVersion: v1\nkind: Config\n"}, deployAddons)
	fmt.Println("error:", err)
	var charts []string
	for _, r := range m.ByType("kubernetes:helm.sh/v3:Release") {
		charts = append(charts, r.Inputs["chart"].(string))
	}
	sort.Strings(charts) // registered concurrently
	fmt.Println("charts:", strings.Join(charts, ", "))
	fmt.Println("kube-proxy:", len(m.ByType("kubernetes:apps/v1:DaemonSet")))
	fmt.Println("controller policy attachments:", len(m.ByType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")))
	// Output:
	// error: <nil>
	// charts: aws-cloud-controller-manager, aws-ebs-csi-driver, cilium, cluster-autoscaler
	// kube-proxy: 0
	// controller policy attachments: 3
}
