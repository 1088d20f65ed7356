package plan

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/review/findings"
	"github.com/kinfra-dev/kinfra/spec"
)

// diffOne diffs one resource of a type from old to new inputs.
func diffOne(typ string, old, new map[string]any) *PlanDiff {
	return Diff(&Plan{Resources: []mockaws.Resource{diffCustom(typ, "r", old)}},
		&Plan{Resources: []mockaws.Resource{diffCustom(typ, "r", new)}})
}

// Each case is a fact read in the provider's source for the version the
// table follows (docs/plan-diff.md, "The replacement table and its limits").
func TestReplacementTableAgreesWithTheProviderSource(t *testing.T) {
	type tc struct {
		name     string
		typ      string
		old, new map[string]any
		want     Action
	}
	cases := []tc{
		// vpc_.go resourceVPCCustomizeDiff: ForceNew unless dedicated → default;
		// an absent instanceTenancy is the schema's default, "default".
		{"vpc tenancy default → dedicated", dtVpc, map[string]any{"instanceTenancy": "default"}, map[string]any{"instanceTenancy": "dedicated"}, ActionReplace},
		{"vpc tenancy unset → dedicated", dtVpc, map[string]any{}, map[string]any{"instanceTenancy": "dedicated"}, ActionReplace},
		{"vpc tenancy dedicated → default", dtVpc, map[string]any{"instanceTenancy": "dedicated"}, map[string]any{"instanceTenancy": "default"}, ActionUpdate},
		{"vpc tenancy dedicated → unset", dtVpc, map[string]any{"instanceTenancy": "dedicated"}, map[string]any{}, ActionUpdate},
		// autoscaling/group.go: placement_group has no ForceNew and is in
		// UpdateAutoScalingGroupInput.
		{"group placement group", dtGroup, map[string]any{"placementGroup": "a"}, map[string]any{"placementGroup": "b"}, ActionUpdate},
		{"group initial lifecycle hooks", dtGroup, map[string]any{"initialLifecycleHooks": []any{}}, map[string]any{"initialLifecycleHooks": []any{map[string]any{"name": "h"}}}, ActionReplace},
		// autoscaling/lifecycle_hook.go: Update is PutLifecycleHook; only
		// name is ForceNew.
		{"lifecycle hook group", "aws:autoscaling/lifecycleHook:LifecycleHook", map[string]any{"autoscalingGroupName": "a"}, map[string]any{"autoscalingGroupName": "b"}, ActionUpdate},
		{"lifecycle hook name", "aws:autoscaling/lifecycleHook:LifecycleHook", map[string]any{"name": "a"}, map[string]any{"name": "b"}, ActionReplace},
		// ec2/ec2_eip.go: customer_owned_ipv4_pool has no ForceNew.
		{"eip customer-owned pool", "aws:ec2/eip:Eip", map[string]any{"customerOwnedIpv4Pool": "a"}, map[string]any{"customerOwnedIpv4Pool": "b"}, ActionUpdate},
		{"eip domain", "aws:ec2/eip:Eip", map[string]any{"domain": "standard"}, map[string]any{"domain": "vpc"}, ActionReplace},
		// imagebuilder/component.go: skip_destroy has no ForceNew (it only
		// decides what Delete does).
		{"component skip destroy", "aws:imagebuilder/component:Component", map[string]any{"skipDestroy": false}, map[string]any{"skipDestroy": true}, ActionUpdate},
		{"component data", "aws:imagebuilder/component:Component", map[string]any{"data": "a"}, map[string]any{"data": "b"}, ActionReplace},
		// imagebuilder/image.go: execution_role and
		// image_scanning_configuration have no ForceNew (Update is tags only).
		{"image scanning", "aws:imagebuilder/image:Image", map[string]any{"imageScanningConfiguration": map[string]any{"imageScanningEnabled": false}},
			map[string]any{"imageScanningConfiguration": map[string]any{"imageScanningEnabled": true}}, ActionUpdate},
		{"image execution role", "aws:imagebuilder/image:Image", map[string]any{"executionRole": "arn:a"}, map[string]any{"executionRole": "arn:b"}, ActionUpdate},
		{"image recipe", "aws:imagebuilder/image:Image", map[string]any{"imageRecipeArn": "arn:a"}, map[string]any{"imageRecipeArn": "arn:b"}, ActionReplace},
		// ec2/vpc_subnet.go (before v6.30's ForceNewIf): an IPv6 block
		// change is an update, whatever assignIpv6AddressOnCreation says.
		{"subnet ipv6 block, assigning", dtSubnet, map[string]any{"ipv6CidrBlock": "2600::/64", "assignIpv6AddressOnCreation": true},
			map[string]any{"ipv6CidrBlock": "2600:0:0:1::/64", "assignIpv6AddressOnCreation": true}, ActionUpdate},
		// Entries the table lacked: a bucket's configuration belongs to its
		// bucket; an alarm's name (alarm_name) is ForceNew.
		{"versioning bucket", "aws:s3/bucketVersioningV2:BucketVersioningV2", map[string]any{"bucket": "a"}, map[string]any{"bucket": "b"}, ActionReplace},
		{"versioning status", "aws:s3/bucketVersioningV2:BucketVersioningV2", map[string]any{"versioningConfiguration": map[string]any{"status": "Enabled"}},
			map[string]any{"versioningConfiguration": map[string]any{"status": "Suspended"}}, ActionUpdate},
		{"object lock enabled", "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2", map[string]any{"objectLockEnabled": "Enabled"}, map[string]any{}, ActionReplace},
		{"public access block setting", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", map[string]any{"blockPublicAcls": false}, map[string]any{"blockPublicAcls": true}, ActionUpdate},
		{"alarm name", "aws:cloudwatch/metricAlarm:MetricAlarm", map[string]any{"name": "a"}, map[string]any{"name": "b"}, ActionReplace},
		{"alarm threshold", "aws:cloudwatch/metricAlarm:MetricAlarm", map[string]any{"threshold": 1.0}, map[string]any{"threshold": 2.0}, ActionUpdate},
	}
	// vpc_security_group_ingress_rule.go ModifyPlan: a rule's source kind
	// (the first of its source attributes that is set) cannot change in
	// place; its value can. Every pair of kinds, both directions, both
	// rule types.
	sources := map[string][2]string{
		"cidrIpv4":                  {"10.0.0.0/16", "10.1.0.0/16"},
		"cidrIpv6":                  {"2600::/56", "2600:0:0:100::/56"},
		"prefixListId":              {"pl-1", "pl-2"},
		"referencedSecurityGroupId": {"sg-1", "sg-2"},
	}
	for _, typ := range []string{"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"} {
		for from, fv := range sources {
			for to, tv := range sources {
				base := map[string]any{"securityGroupId": "sg-0", "ipProtocol": "tcp", "fromPort": 443.0, "toPort": 443.0}
				old, new := copyInputs(base), copyInputs(base)
				old[from], new[to] = fv[0], tv[1]
				want := ActionReplace
				if from == to {
					want = ActionUpdate
				}
				cases = append(cases, tc{typ + " " + from + " → " + to, typ, old, new, want})
			}
		}
		base := map[string]any{"securityGroupId": "sg-0", "cidrIpv4": "10.0.0.0/16"}
		ported := copyInputs(base)
		ported["fromPort"] = 80.0
		cases = append(cases, tc{typ + " port", typ, base, ported, ActionUpdate})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := diffOne(c.typ, c.old, c.new)
			got := ActionUnchanged
			if len(d.Resources) == 1 {
				got = d.Resources[0].Action
			}
			require.Equal(t, c.want, got, "%+v", d.Resources)
			if got == ActionReplace {
				require.NotEmpty(t, d.Resources[0].ReplaceReasons)
			}
		})
	}
}

func copyInputs(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// AWS refuses to disassociate the IPv6 block of a subnet that assigns IPv6
// addresses on creation (InvalidCidrBlock.InUse); the provider updates in
// place, after turning the assignment off when the change turns it off.
func TestAnIPv6BlockChangeOnASubnetThatAssignsIPv6IsAnUpdateThatFails(t *testing.T) {
	const a, b = "2600:1f18:0:100::/64", "2600:1f18:0:200::/64"
	for _, c := range []struct {
		name     string
		old, new map[string]any
		fails    bool
	}{
		{"block changes, assigning before and after", map[string]any{"ipv6CidrBlock": a, "assignIpv6AddressOnCreation": true}, map[string]any{"ipv6CidrBlock": b, "assignIpv6AddressOnCreation": true}, true},
		{"block removed while assigning", map[string]any{"ipv6CidrBlock": a, "assignIpv6AddressOnCreation": true}, map[string]any{"assignIpv6AddressOnCreation": true}, true},
		{"assignment turned off in the same change", map[string]any{"ipv6CidrBlock": a, "assignIpv6AddressOnCreation": true}, map[string]any{"ipv6CidrBlock": b, "assignIpv6AddressOnCreation": false}, false},
		{"not assigning", map[string]any{"ipv6CidrBlock": a, "assignIpv6AddressOnCreation": false}, map[string]any{"ipv6CidrBlock": b, "assignIpv6AddressOnCreation": false}, false},
		{"no block before", map[string]any{}, map[string]any{"ipv6CidrBlock": b, "assignIpv6AddressOnCreation": true}, false},
		{"block unchanged", map[string]any{"ipv6CidrBlock": a, "assignIpv6AddressOnCreation": true}, map[string]any{"ipv6CidrBlock": a, "assignIpv6AddressOnCreation": true, "mapPublicIpOnLaunch": true}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := diffOne(dtSubnet, c.old, c.new)
			require.Equal(t, ActionUpdate, d.Resources[0].Action)
			if !c.fails {
				require.Empty(t, d.Resources[0].UpdateFails)
				require.NotContains(t, diffRules(d), "diff/update-fails")
				return
			}
			require.NotEmpty(t, d.Resources[0].UpdateFails)
			require.Equal(t, []string{"diff/update-fails"}, diffRules(d))
			require.Equal(t, findings.Error, d.Flags[0].Severity)
			require.Contains(t, d.Flags[0].Message, "InvalidCidrBlock.InUse")
			require.Equal(t, 1, d.ExitCode())
		})
	}
}

const (
	dtK8sProvider = "pulumi:providers:kubernetes"
	dtDeployment  = "kubernetes:apps/v1:Deployment"
)

// kubeconfig is a one-cluster kubeconfig whose cluster is at server.
func kubeconfig(server, user string) string {
	return `apiVersion: v1
kind: Config
current-context: admin@c
clusters:
- name: c
  cluster:
    server: ` + server + `
    certificate-authority-data: Q0E=
contexts:
- name: admin@c
  context:
    cluster: c
    user: ` + user + `
users:
- name: ` + user + `
  user:
    token: t
`
}

// k8sPlan is a provider with the given inputs and two objects it manages,
// and an object on the default provider.
func k8sPlan(provider map[string]any) *Plan {
	prov := diffCustom(dtK8sProvider, "k8s", provider)
	var rs []mockaws.Resource
	rs = append(rs, prov)
	for _, n := range []string{"cilium", "ccm"} {
		r := diffCustom(dtDeployment, n, map[string]any{"metadata": map[string]any{"name": n, "namespace": "kube-system"}})
		r.Options.Provider = prov.URN
		rs = append(rs, r)
	}
	rs = append(rs, diffCustom(dtDeployment, "elsewhere", map[string]any{"metadata": map[string]any{"name": "elsewhere"}}))
	return &Plan{Resources: rs}
}

// pulumi-kubernetes DiffConfig replaces the provider when its kubeconfig,
// context or cluster is unknown, or when the active cluster changes (unless
// clusterIdentifier stays set and the same); Pulumi replaces every resource
// of a replaced provider.
func TestReplacingTheKubernetesProviderReplacesEveryObjectItManages(t *testing.T) {
	a, b := kubeconfig("https://api.a:6443", "admin"), kubeconfig("https://api.b:6443", "admin")
	for _, c := range []struct {
		name     string
		old, new map[string]any
		replaced bool
	}{
		{"cluster server changes", map[string]any{"kubeconfig": a}, map[string]any{"kubeconfig": b}, true},
		{"kubeconfig unknown", map[string]any{"kubeconfig": a}, map[string]any{"kubeconfig": mockaws.Unknown}, true},
		{"kubeconfig takes a replaced resource's ID", map[string]any{"kubeconfig": a}, map[string]any{"kubeconfig": unknownPrefix + "urn:x]"}, true},
		{"context unknown", map[string]any{"kubeconfig": a, "context": "admin@c"}, map[string]any{"kubeconfig": a, "context": mockaws.Unknown}, true},
		{"only the user changes", map[string]any{"kubeconfig": a}, map[string]any{"kubeconfig": kubeconfig("https://api.a:6443", "root")}, false},
		{"another provider setting changes", map[string]any{"kubeconfig": a, "enableServerSideApply": true}, map[string]any{"kubeconfig": a, "enableServerSideApply": false}, false},
		{"cluster identifier kept", map[string]any{"kubeconfig": a, "clusterIdentifier": "c"}, map[string]any{"kubeconfig": b, "clusterIdentifier": "c"}, false},
		{"cluster identifier changes", map[string]any{"kubeconfig": a, "clusterIdentifier": "c"}, map[string]any{"kubeconfig": a, "clusterIdentifier": "d"}, true},
		{"both masked as secrets", map[string]any{"kubeconfig": mockaws.Secret}, map[string]any{"kubeconfig": mockaws.Secret}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := Diff(k8sPlan(c.old), k8sPlan(c.new))
			prov := diffURN(dtK8sProvider, "k8s")
			if !c.replaced {
				for _, rd := range d.Resources {
					require.NotEqual(t, ActionReplace, rd.Action, "%+v", rd)
				}
				require.NotContains(t, diffRules(d), "diff/kubernetes-provider-replaced")
				return
			}
			require.Equal(t, ActionReplace, diffOf(t, d, dtK8sProvider, "k8s").Action)
			for _, n := range []string{"cilium", "ccm"} {
				rd := diffOf(t, d, dtDeployment, n)
				require.Equal(t, ActionReplace, rd.Action)
				require.Contains(t, strings.Join(rd.ReplaceReasons, " "), "k8s")
			}
			for _, rd := range d.Resources {
				require.NotEqual(t, "elsewhere", rd.Name, "an object of another provider is not touched")
			}
			require.Contains(t, diffRules(d), "diff/kubernetes-provider-replaced")
			for _, f := range d.Flags {
				if f.Rule == "diff/kubernetes-provider-replaced" {
					require.Equal(t, prov, f.Resource)
					require.Equal(t, findings.Error, f.Severity)
					require.Contains(t, f.Message, "2 Kubernetes objects")
				}
			}
		})
	}
}

// registeredTypes runs the program for every committed stack and for
// stacks that turn on what none of them does (IPv6 and every endpoint, an
// adopted network, Object Lock), and collects the custom resource types.
func registeredTypes(t *testing.T) map[string]bool {
	t.Helper()
	var sfs []stackfile.File
	files, err := stackfile.Files("../../stacks")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		sf, err := stackfile.Load(f)
		require.NoError(t, err)
		sfs = append(sfs, sf)
	}
	sfs = append(sfs, largeStack(t))
	variant := func(region string, c spec.Cluster) stackfile.File {
		js, err := json.Marshal(c)
		require.NoError(t, err)
		return stackfile.File{Name: region, Config: map[string]string{"aws:region": region, "kinfra:cluster": string(js)}}
	}
	sfs = append(sfs, variant("eu-west-1", spec.Cluster{
		Name: "adopt",
		Network: spec.Network{VpcCidr: "10.9.0.0/16", GatewayEndpoints: []string{}, Existing: &spec.ExistingNetwork{
			VpcId: "vpc-0a1b2c3d4e5f67890",
			PrivateSubnets: []spec.ExistingSubnet{
				{ID: "subnet-00000000000000001", AvailabilityZone: "eu-west-1a", Cidr: "10.9.0.0/20"},
				{ID: "subnet-00000000000000002", AvailabilityZone: "eu-west-1b", Cidr: "10.9.16.0/20"},
				{ID: "subnet-00000000000000003", AvailabilityZone: "eu-west-1c", Cidr: "10.9.32.0/20"},
			},
			PublicSubnets: []spec.ExistingSubnet{{ID: "subnet-00000000000000004", AvailabilityZone: "eu-west-1a", Cidr: "10.9.48.0/20"}},
		}},
		Kubernetes: spec.Kubernetes{PodCidr: "100.64.0.0/10", ServiceCidr: "172.20.0.0/16"},
		Masters:    spec.Masters{Count: 3},
		NodePools:  []spec.NodePool{{Name: "general", MinSize: 1, MaxSize: 10}},
		Backup:     spec.Backup{ObjectLockDays: 1},
	}))
	types := map[string]bool{}
	for _, sf := range sfs {
		p, err := Run(sf)
		require.NoError(t, err, sf.Name)
		require.Empty(t, findings.Errors(p.Findings), sf.Name)
		for _, r := range p.Resources {
			if r.Custom {
				types[r.Type] = true
			}
		}
	}
	return types
}

// constructors are the resource constructors the components call
// (aws ec2.NewVpc → "Vpc"), read from their source: the registered types
// must cover every one, so a new resource shows up in registeredTypes only
// if a stack above registers it.
func constructors(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir("../../components", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		sdk := map[string]bool{}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(p, "github.com/pulumi/pulumi-aws/sdk/") && !strings.HasPrefix(p, "github.com/pulumi/pulumi-kubernetes/sdk/") {
				continue
			}
			name := filepath.Base(p)
			if imp.Name != nil {
				name = imp.Name.Name
			}
			sdk[name] = true
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if pkg, ok := sel.X.(*ast.Ident); ok && sdk[pkg.Name] && strings.HasPrefix(sel.Sel.Name, "New") {
					out[strings.TrimPrefix(sel.Sel.Name, "New")] = true
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	return out
}

// Every resource type the program registers has an entry in the table, so
// a new type fails here until its replacement facts are written down.
func TestEveryRegisteredResourceTypeHasAReplacementEntry(t *testing.T) {
	types := registeredTypes(t)
	names := map[string]bool{}
	for typ := range types {
		names[typ[strings.LastIndex(typ, ":")+1:]] = true
	}
	for c := range constructors(t) {
		switch c {
		case "Provider": // pulumi:providers:kubernetes
			require.True(t, types[dtK8sProvider])
		case "CustomResource": // registered under its kind
		default:
			require.True(t, names[c], "New%s is called in components/ but no stack here registers it: turn its feature on in registeredTypes", c)
		}
	}
	var missing []string
	for typ := range types {
		if _, ok := Replacements[typ]; !ok {
			missing = append(missing, typ)
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "types without an entry in Replacements (review/plan/replacements.go)")
}
