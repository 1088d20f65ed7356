// Package cluster composes kinfra's components into one cluster from a single
// typed spec: the one-call entry point for a stack.
package cluster

import (
	"errors"
	"fmt"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/components/addons"
	"github.com/kinfra-dev/kinfra/components/images"
	"github.com/kinfra-dev/kinfra/components/masters"
	"github.com/kinfra-dev/kinfra/components/network"
	"github.com/kinfra-dev/kinfra/components/workers"
	"github.com/kinfra-dev/kinfra/internal/kubeconfig"
	"github.com/kinfra-dev/kinfra/internal/ports"
	"github.com/kinfra-dev/kinfra/internal/validate"
	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/spec"
)

// Cluster is the kinfra:cluster:Cluster component.
type Cluster struct {
	pulumi.ResourceState

	// Spec is the effective (defaulted, validated) cluster spec.
	Spec    spec.Cluster
	Network *network.Network
	// Images is nil when the stack builds no images.
	Images  *images.ImagePipeline
	Masters *masters.ControlPlane
	// Termination is nil when the cluster has no node pools.
	Termination *workers.TerminationQueue
	// NodePools in spec order.
	NodePools []*workers.NodePool
	// Addons is nil when the stack does not deploy them
	// (cluster.addons.enabled: false).
	Addons *addons.Addons
}

// New validates s (applying defaults) and the PKI bundle (kinfra:pki), then
// builds the cluster. An invalid spec or bundle fails with every problem
// listed before any resource is registered.
//
// It builds the network, the images (when the stack bakes them), the control
// plane, the node pools and the add-ons.
func New(ctx *pulumi.Context, name string, s spec.Cluster, bundle *pki.Bundle, opts ...pulumi.ResourceOption) (*Cluster, error) {
	var errs validate.Errors
	eff, err := spec.Resolve(s)
	if err != nil {
		if !errors.As(err, &errs) {
			return nil, err
		}
	}
	if bundle == nil {
		errs.Addf("kinfra:pki", "required; create the cluster's PKI with `kinfra pki init`")
	} else {
		errs.Append(bundle.Check(time.Now()))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	c := &Cluster{Spec: eff}
	if err := ctx.RegisterComponentResource("kinfra:cluster:Cluster", name, c, opts...); err != nil {
		return nil, err
	}
	c.Network, err = network.New(ctx, name+"-network", network.Args{
		ClusterName: eff.Name,
		Region:      eff.Region,
		Network:     eff.Network,
		Tags:        eff.Tags,
	}, pulumi.Parent(c))
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	built := map[string]images.Built{}
	if eff.Images.On() {
		c.Images, err = images.New(ctx, name+"-images", images.Args{
			Cluster:  eff,
			VpcID:    c.Network.VpcID,
			SubnetID: c.Network.PrivateSubnets[0].ID,
			Roles:    imageRoles(eff),
		}, pulumi.Parent(c))
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", name, err)
		}
		built = c.Images.Images
	}
	mArgs := masters.Args{Cluster: eff, Network: masters.FromNetwork(c.Network), PKI: bundle}
	if b, ok := built[images.RoleMaster]; ok {
		mArgs.Image = &masters.Image{ID: b.ID, RootDevice: b.RootDevice}
	}
	c.Masters, err = masters.New(ctx, name+"-masters", mArgs, pulumi.Parent(c))
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	if err := c.nodePools(ctx, name, built); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	if eff.Addons.On() {
		if err := c.addons(ctx, name, bundle); err != nil {
			return nil, fmt.Errorf("cluster %s: %w", name, err)
		}
	}
	if err := ctx.RegisterResourceOutputs(c, c.Outputs()); err != nil {
		return nil, err
	}
	return c, nil
}

// Outputs are the cluster's outputs, what other stacks and operators need:
// the component registers them, and the program exports them, from this
// one list.
func (c *Cluster) Outputs() pulumi.Map {
	m := c.Masters
	out := pulumi.Map{}
	out["clusterName"] = pulumi.String(c.Spec.Name)
	out["region"] = pulumi.String(c.Spec.Region)
	out["vpcId"] = c.Network.VpcID
	out["vpcCidr"] = pulumi.String(c.Network.VpcCidr)
	out["availabilityZones"] = pulumi.ToStringArray(c.Network.AvailabilityZones)
	out["privateSubnetIds"] = c.Network.PrivateSubnetIDs
	out["publicSubnetIds"] = c.Network.PublicSubnetIDs
	out["subnetIdsByZone"] = c.Network.SubnetIDsByZone
	out["privateRouteTableIds"] = c.Network.PrivateRouteTableIDs
	out["publicRouteTableId"] = c.Network.PublicRouteTableID
	out["apiEndpoint"] = pulumi.String(m.APIEndpoint)
	out["privateZoneId"] = m.PrivateZoneID
	out["nodeSecurityGroupId"] = m.NodeSecurityGroupID
	out["masterSecurityGroupId"] = m.MasterSecurityGroupID
	out["operatorSecurityGroupId"] = m.OperatorSecurityGroupID
	out["joinPolicyArn"] = m.JoinPolicyArn
	out["parameterPrefix"] = pulumi.String(m.ParameterPrefix)
	out["caCertHash"] = pulumi.String(m.CACertHash)
	groups := pulumi.StringArray{}
	for _, s := range m.Slots {
		groups = append(groups, s.AutoScaling)
	}
	out["masterAutoScalingGroups"] = groups
	// Where etcd's snapshots are, for `kinfra etcd restore` and operators.
	if m.BackupBucket != "" {
		out["backupBucket"] = pulumi.String(m.BackupBucket)
		out["backupPrefix"] = pulumi.String(c.Spec.Backup.Prefix)
	}
	// The add-ons' AWS controllers run on the masters with their roles; a
	// stack that deploys the add-ons itself attaches their policies here.
	roles := pulumi.StringArray{}
	for _, s := range m.Slots {
		roles = append(roles, s.RoleName)
	}
	out["masterRoleNames"] = roles
	// The service-account issuer AWS trusts: a stack that deploys the
	// add-ons gives it to them, and workloads' own roles may trust it.
	out["serviceAccountIssuer"] = pulumi.String(m.ServiceAccountIssuer)
	out["oidcProviderArn"] = m.OIDCProviderArn
	// What a stack that adds node pools to this cluster needs (see the
	// workers example).
	out["apiName"] = pulumi.String(m.APIName)
	out["kubernetes"] = pulumi.Map{
		"version":          pulumi.String(c.Spec.Kubernetes.Version),
		"nodeVersion":      pulumi.String(c.Spec.Kubernetes.NodeVersion),
		"podCidr":          pulumi.String(c.Spec.Kubernetes.PodCidr),
		"serviceCidr":      pulumi.String(c.Spec.Kubernetes.ServiceCidr),
		"nodeCidrMaskSize": pulumi.Int(c.Spec.Kubernetes.NodeCidrMaskSize),
	}
	n := c.Spec.CNI
	// All of it: the security groups were made for exactly this CNI, so a
	// stack that deploys the add-ons must configure the same.
	out["cni"] = pulumi.Map{
		"provider":             pulumi.String(n.Provider),
		"tunnel":               pulumi.String(n.Tunnel),
		"wireGuard":            pulumi.Bool(n.WireGuard),
		"hubble":               pulumi.Bool(n.Hubble),
		"kubeProxyReplacement": pulumi.Bool(n.KubeProxyReplacement),
		"dataplane":            pulumi.String(n.Dataplane),
	}
	out["kubeProxyMode"] = pulumi.String(c.Spec.KubeProxy.Mode)
	if q := c.Termination; q != nil {
		out["terminationQueueArn"] = q.QueueArn
		out["terminationQueueUrl"] = q.QueueURL
		out["terminationRoleArn"] = q.RoleArn
	}
	pools := pulumi.StringMap{}
	for _, p := range c.NodePools {
		pools[p.Spec.Name] = p.AutoScalingGroup
	}
	out["nodePoolAutoScalingGroups"] = pools
	if a := c.Addons; a != nil {
		out["addons"] = pulumi.Map{
			"cni":       pulumi.String(a.Spec.CNI.Provider),
			"proxyMode": pulumi.String(a.Spec.KubeProxy.Mode),
		}
	}
	if c.Images != nil {
		amis := pulumi.StringMap{}
		for role, b := range c.Images.Images {
			amis[role] = b.ID
		}
		out["images"] = amis
	}
	return out
}

// imageRoles are the images the stack's machines use; when none uses the
// pipeline (every selection names its own AMI), both are built, for the
// stacks that share them through distributeTo.
func imageRoles(c spec.Cluster) []string {
	var roles []string
	if c.Masters.Image.Pipeline {
		roles = append(roles, images.RoleMaster)
	}
	for _, p := range c.NodePools {
		if p.Image.Pipeline {
			roles = append(roles, images.RoleNode)
			break
		}
	}
	if len(roles) == 0 {
		return []string{images.RoleMaster, images.RoleNode}
	}
	return roles
}

// nodePools creates the termination queue and every pool, once the control
// plane is up (its groups wait for the API to answer), so that nodes find
// the API when they boot.
func (c *Cluster) nodePools(ctx *pulumi.Context, name string, built map[string]images.Built) error {
	eff := c.Spec
	if len(eff.NodePools) == 0 {
		return nil
	}
	var err error
	c.Termination, err = workers.NewTerminationQueue(ctx, name+"-termination", workers.TerminationQueueArgs{
		ClusterName: eff.Name, Region: eff.Region, Tags: eff.Tags,
	}, pulumi.Parent(c))
	if err != nil {
		return err
	}
	join := workers.Join{
		APIName:          c.Masters.APIName,
		CACertHash:       c.Masters.CACertHash,
		ParameterPrefix:  c.Masters.ParameterPrefix,
		JoinPolicyArn:    c.Masters.JoinPolicyArn,
		SecurityGroupIDs: []pulumi.StringInput{c.Masters.NodeSecurityGroupID},
	}
	for _, p := range eff.NodePools {
		args := workers.Args{
			Cluster: eff, Pool: p, Join: join,
			Network:     workers.FromNetwork(c.Network),
			Termination: c.Termination.Termination(),
			After:       c.Masters.Ready,
		}
		if b, ok := built[images.RoleNode]; ok && p.Image.Pipeline {
			args.Image = &workers.Image{ID: b.ID, RootDevice: b.RootDevice}
		}
		pool, err := workers.New(ctx, name+"-pool-"+p.Name, args, pulumi.Parent(c))
		if err != nil {
			return err
		}
		c.NodePools = append(c.NodePools, pool)
	}
	return nil
}

// addons deploys the add-ons through a provider made from the admin
// credentials. Its kubeconfig is derived from the master groups' names, which
// are known only once every group has its master healthy behind the API load
// balancer: so the provider is configured only after the API answers, and a
// preview of a new cluster does not try to reach an API that does not exist.
func (c *Cluster) addons(ctx *pulumi.Context, name string, bundle *pki.Bundle) error {
	eff := c.Spec
	m := c.Masters
	names := []string{m.APIName}
	if eff.API.PublicName != "" {
		names = append(names, eff.API.PublicName)
	}
	endpoint := eff.Addons.Endpoint
	switch {
	case endpoint != "":
	case eff.API.PublicName != "":
		endpoint = fmt.Sprintf("https://%s:%d", eff.API.PublicName, ports.API)
	default:
		endpoint = m.APIEndpoint
	}
	kc, err := kubeconfig.Admin{
		Cluster: eff.Name, Server: endpoint, TLSServerName: kubeconfig.ServerName(endpoint, names...),
		CACert: bundle.ClusterCA.Cert, ClientCert: bundle.Admin.Cert, ClientKey: bundle.Admin.Key,
	}.Render()
	if err != nil {
		return err
	}
	identity, err := kubeconfig.ClusterIdentity(eff.Name, bundle.ClusterCA.Cert)
	if err != nil {
		return err
	}
	groups := []any{}
	roles := []pulumi.StringInput{}
	for _, s := range m.Slots {
		groups = append(groups, s.AutoScaling)
		roles = append(roles, s.RoleName)
	}
	args := addons.Args{
		Cluster:              eff,
		Kubeconfig:           pulumi.All(groups...).ApplyT(func([]any) string { return kc }).(pulumi.StringOutput),
		ClusterIdentity:      identity,
		APIHost:              m.APIName,
		ControllerRoleNames:  roles,
		ServiceAccountIssuer: m.ServiceAccountIssuer,
		OIDCProviderArn:      m.OIDCProviderArn,
		After:                m.Ready,
	}
	if q := c.Termination; q != nil {
		args.TerminationQueueURL, args.TerminationQueueArn = q.QueueURL, q.QueueArn
	}
	c.Addons, err = addons.New(ctx, name+"-addons", args, pulumi.Parent(c))
	return err
}
