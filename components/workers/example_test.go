package workers_test

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/components/workers"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/spec"
)

// addGPUPool is a whole program of a stack that adds a GPU pool to a running
// kinfra cluster: it reads the cluster stack's outputs through a
// StackReference and needs nothing else from it.
func addGPUPool(ctx *pulumi.Context) error {
	ref, err := pulumi.NewStackReference(ctx, "acme/kinfra/us-east-1", nil)
	if err != nil {
		return err
	}
	// Values that shape the graph or the rendered user data are read as
	// plain values (the cluster stack must be deployed before this one).
	out, err := clusterOutputs(ref)
	if err != nil {
		return err
	}
	k, n := out.Kubernetes, out.CNI
	text := func(name string) string { return out.Strings[name] }

	var subnets []pulumi.StringInput
	for _, id := range out.PrivateSubnetIDs {
		subnets = append(subnets, pulumi.String(id))
	}
	_, err = workers.New(ctx, "ml-gpu", workers.Args{
		Cluster: spec.Cluster{
			Name: text("clusterName"), Region: "us-east-1",
			Kubernetes: k, CNI: n,
			// This stack bakes no images: the pool names its AMI.
			Images: spec.Images{Enabled: pulumi.BoolRef(false)},
		},
		Pool: spec.NodePool{
			Name: "gpu", MinSize: 0, MaxSize: 20,
			InstanceTypes: []string{"g5.12xlarge", "g5.16xlarge"},
			Image:         spec.Image{Owners: []string{"self"}, Name: "kinfra-node-gpu-k8s-v1.37.2-*"},
			Labels:        map[string]string{"example.com/accelerator": "a10g"},
			Taints:        []spec.Taint{{Key: "nvidia.com/gpu", Value: "present", Effect: "NoSchedule"}},
			RootVolume:    spec.Volume{SizeGiB: 500},
		},
		Join: workers.Join{
			APIName:          text("apiName"),
			CACertHash:       text("caCertHash"),
			ParameterPrefix:  text("parameterPrefix"),
			JoinPolicyArn:    pulumi.String(text("joinPolicyArn")),
			SecurityGroupIDs: []pulumi.StringInput{pulumi.String(text("nodeSecurityGroupId"))},
		},
		Network: workers.Network{VpcID: pulumi.String(text("vpcId")), Zones: out.Zones, SubnetIDs: subnets},
		Termination: workers.Termination{
			QueueArn: pulumi.String(text("terminationQueueArn")),
			RoleArn:  pulumi.String(text("terminationRoleArn")),
		},
	})
	return err
}

// clusterStack is what a pool stack reads of the cluster stack.
type clusterStack struct {
	Strings          map[string]string
	Zones            []string
	PrivateSubnetIDs []string
	Kubernetes       spec.Kubernetes
	CNI              spec.CNI
}

// clusterOutputs reads the cluster stack's outputs as plain values, failing
// with the name of any output that is missing or of the wrong type.
func clusterOutputs(ref *pulumi.StackReference) (clusterStack, error) {
	out := clusterStack{Strings: map[string]string{}}
	get := func(name string, into any) error {
		d, err := ref.GetOutputDetails(name)
		if err != nil {
			return err
		}
		raw, err := json.Marshal(d.Value)
		if err != nil {
			return err
		}
		if d.Value == nil || json.Unmarshal(raw, into) != nil {
			return fmt.Errorf("cluster stack output %s is missing or not a %T", name, into)
		}
		return nil
	}
	for _, name := range []string{"clusterName", "apiName", "caCertHash", "parameterPrefix", "joinPolicyArn",
		"nodeSecurityGroupId", "vpcId", "terminationQueueArn", "terminationRoleArn"} {
		var s string
		if err := get(name, &s); err != nil {
			return out, err
		}
		out.Strings[name] = s
	}
	for name, into := range map[string]any{
		"availabilityZones": &out.Zones, "privateSubnetIds": &out.PrivateSubnetIDs,
		"kubernetes": &out.Kubernetes, "cni": &out.CNI,
	} {
		if err := get(name, into); err != nil {
			return out, err
		}
	}
	return out, nil
}

// A stack adds a node pool to an existing cluster from that cluster's stack
// outputs. Here the program runs under kinfra's recording mock, with the
// outputs a cluster stack exports; in a real stack it is passed to
// pulumi.Run.
func Example_addPoolFromAnotherStack() {
	m := mockaws.New("us-east-1")
	m.Account.StackOutputs = map[string]map[string]any{"acme/kinfra/us-east-1": {
		"clusterName":         "prod-use1",
		"apiName":             "api.prod-use1.k8s.internal",
		"caCertHash":          "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
		"parameterPrefix":     "/kinfra/prod-use1",
		"joinPolicyArn":       "arn:aws:iam::123456789012:policy/kinfra/prod-use1/prod-use1-masters-node-join",
		"nodeSecurityGroupId": "sg-0123456789abcdef0",
		"vpcId":               "vpc-0123456789abcdef0",
		"availabilityZones":   []any{"us-east-1a", "us-east-1b", "us-east-1c"},
		"privateSubnetIds":    []any{"subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2", "subnet-0aaaaaaaaaaaaaaa3"},
		"terminationQueueArn": "arn:aws:sqs:us-east-1:123456789012:prod-use1-node-termination",
		"terminationRoleArn":  "arn:aws:iam::123456789012:role/kinfra/prod-use1/prod-use1-termination-hooks",
		"kubernetes":          map[string]any{"version": "v1.37.2", "nodeVersion": "v1.37.2", "podCidr": "10.64.0.0/11", "nodeCidrMaskSize": 24.0},
		"cni":                 map[string]any{"provider": "cilium", "tunnel": "vxlan"},
	}}
	err := m.Run("gpu-pools", "us-east-1", nil, addGPUPool)
	fmt.Println("error:", err)
	for _, g := range m.ByType("aws:autoscaling/group:Group") {
		fmt.Println("group:", g.Name, "subnets:", len(g.Inputs["vpcZoneIdentifiers"].([]any)))
	}
	fmt.Println("lifecycle hooks:", len(m.ByType("aws:autoscaling/lifecycleHook:LifecycleHook")))
	// Output:
	// error: <nil>
	// group: ml-gpu subnets: 3
	// lifecycle hooks: 1
}
