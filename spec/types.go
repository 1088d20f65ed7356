// Package spec is the typed model of a kinfra cluster: the value of the
// kinfra:cluster stack config key. It is plain Go with no Pulumi dependency, so
// it can be decoded, defaulted and validated before any resource exists.
//
// Every field documents its default and its constraints; docs/config.md is the
// reference generated from the same words. Defaults live in defaults.go,
// checks in validate.go.
package spec

// Cluster is one Kubernetes cluster in one region.
type Cluster struct {
	// Name identifies the cluster in resource names, tags and DNS. Required.
	// A DNS label of at most 26 characters (MaxClusterName: the AWS names
	// kinfra derives from it must fit their limits; the termination queue's
	// EventBridge rules, 64 characters, bind).
	Name string `json:"name"`
	// Region is the AWS region. Taken from the stack's aws:region; set it here
	// only to assert the same value.
	Region string `json:"region,omitempty"`
	// Tags are added to every AWS resource kinfra creates. At most 40 (AWS
	// allows 50 per resource, kinfra uses the rest); keys must not start with
	// "aws:" nor be one kinfra sets (Name, managed-by, kinfra.dev/*,
	// kubernetes.io/*); keys up to 128 and values up to 256 characters.
	Tags map[string]string `json:"tags,omitempty"`
	// Network is the VPC topology.
	Network Network `json:"network"`
	// Kubernetes holds the cluster-wide address plan.
	Kubernetes Kubernetes `json:"kubernetes"`
	// PrivateDomain is the cluster's private Route53 zone, visible only in
	// its VPC: it holds api.<domain> and the etcd-<i>.<domain> slot records.
	// Default <name>.k8s.internal.
	PrivateDomain string `json:"privateDomain,omitempty"`
	// Masters is the control plane: etcd members and API servers.
	Masters Masters `json:"masters"`
	// Backup is how etcd is backed up to S3.
	Backup Backup `json:"backup"`
	// Alarms is where the cluster's alarms notify.
	Alarms Alarms `json:"alarms"`
	// JoinTokens is how long node join tokens live.
	JoinTokens JoinTokens `json:"joinTokens"`
	// API is how clients reach the Kubernetes API.
	API API `json:"api"`
	// CNI is the pod network; the node security groups open what it needs.
	CNI CNI `json:"cni"`
	// NodePools are the worker groups.
	NodePools []NodePool `json:"nodePools,omitempty"`
	// KubeProxy is the Service proxy mode.
	KubeProxy KubeProxy `json:"kubeProxy"`
	// Images bakes the AMIs.
	Images Images `json:"images"`
	// Addons are the Kubernetes add-ons deployed once the API answers:
	// kube-proxy, the CNI and the cloud integration. See docs/addons.md.
	Addons Addons `json:"addons"`
}

// NAT gateway modes.
const (
	NATPerAZ  = "perAz"
	NATSingle = "single"
	NATNone   = "none"
)

// Network is the VPC topology of one cluster.
type Network struct {
	// VpcCidr is the IPv4 block of the VPC, /16 to /24. Default 10.0.0.0/16.
	// When adopting an existing VPC it must be that VPC's primary block.
	VpcCidr string `json:"vpcCidr,omitempty"`
	// AvailabilityZones names the zones to use, in order. Subnet blocks are
	// assigned by position, so only ever append. Default: the first azCount
	// zones the region reports. Pin them in production stacks.
	AvailabilityZones []string `json:"availabilityZones,omitempty"`
	// AzCount is the number of zones, 1 to 6. Default: the length of
	// availabilityZones, else 3.
	AzCount int `json:"azCount,omitempty"`
	// PrivateSubnetPrefixLength is the size of each zone's private (node)
	// subnet. Default: VPC prefix + 3 (a /19 in a /16), at most /28.
	PrivateSubnetPrefixLength int `json:"privateSubnetPrefixLength,omitempty"`
	// PublicSubnetPrefixLength is the size of each zone's public subnet (NAT
	// gateways, internet-facing load balancers). Default: VPC prefix + 6 (a /22
	// in a /16), at most /28.
	PublicSubnetPrefixLength int `json:"publicSubnetPrefixLength,omitempty"`
	// NatGateways is perAz (one per zone: a zone failure only affects that
	// zone), single (one in the first zone: cheaper, but every zone's egress
	// depends on it) or none (no IPv4 egress; nodes reach AWS through VPC
	// endpoints). Default perAz.
	NatGateways string `json:"natGateways,omitempty"`
	// IPv6 adds an Amazon-provided /56 to the VPC, a /64 to every subnet and an
	// egress-only internet gateway for the private subnets. Default false.
	IPv6 bool `json:"ipv6,omitempty"`
	// GatewayEndpoints are the gateway VPC endpoints (s3, dynamodb), attached
	// to every route table. Default [s3] when kinfra creates the VPC, [] when
	// adopting one.
	GatewayEndpoints []string `json:"gatewayEndpoints"`
	// InterfaceEndpoints are interface VPC endpoints by service short name
	// (e.g. ecr.api, ecr.dkr, sts, ssm), in the private subnets, with private
	// DNS and a security group admitting HTTPS from the VPC. Default [].
	InterfaceEndpoints []string `json:"interfaceEndpoints"`
	// FlowLogs records the VPC's traffic.
	FlowLogs FlowLogs `json:"flowLogs"`
	// Existing adopts a VPC and subnets made elsewhere: kinfra creates none of
	// them, only tags them for Kubernetes and adds endpoints and flow logs.
	Existing *ExistingNetwork `json:"existing,omitempty"`
	// Import takes resources made by hand or by CloudFormation under kinfra's
	// management without recreating them (pulumi import). Their settings must
	// match what kinfra would create, or the import fails at `pulumi up`.
	Import *NetworkImport `json:"import,omitempty"`
}

// FlowLogs configures VPC flow logs.
type FlowLogs struct {
	// Enabled turns flow logs on. Default true.
	Enabled *bool `json:"enabled,omitempty"`
	// Destination is cloudwatch (a log group kinfra creates) or s3 (an existing
	// bucket, e.g. a central logging account's). Default cloudwatch.
	Destination string `json:"destination,omitempty"`
	// TrafficType is ALL, ACCEPT or REJECT. Default ALL.
	TrafficType string `json:"trafficType,omitempty"`
	// RetentionDays of the CloudWatch log group: a value CloudWatch accepts
	// (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
	// 1827, 2192, 2557, 2922, 3288, 3653). Default 365.
	RetentionDays int `json:"retentionDays,omitempty"`
	// MaxAggregationIntervalSeconds is 60 or 600. Default 600.
	MaxAggregationIntervalSeconds int `json:"maxAggregationIntervalSeconds,omitempty"`
	// S3BucketArn receives the logs when destination is s3. Required then.
	S3BucketArn string `json:"s3BucketArn,omitempty"`
	// KmsKeyArn encrypts the CloudWatch log group. Optional.
	KmsKeyArn string `json:"kmsKeyArn,omitempty"`
}

// ExistingNetwork is a VPC kinfra adopts instead of creating.
type ExistingNetwork struct {
	// VpcId of the VPC, vpc-… Required.
	VpcId string `json:"vpcId"`
	// PrivateSubnets are the node subnets, exactly one per zone. Required.
	PrivateSubnets []ExistingSubnet `json:"privateSubnets"`
	// PublicSubnets are the load balancer subnets, at most one per zone.
	PublicSubnets []ExistingSubnet `json:"publicSubnets,omitempty"`
	// RouteTableIds receive the gateway endpoints. Required when
	// gatewayEndpoints is not empty.
	RouteTableIds []string `json:"routeTableIds,omitempty"`
}

// ExistingSubnet declares an adopted subnet. kinfra checks the declaration
// against AWS before creating anything, and sizes the cluster from it.
type ExistingSubnet struct {
	ID               string `json:"id"`
	AvailabilityZone string `json:"availabilityZone"`
	Cidr             string `json:"cidr"`
}

// NetworkImport names existing resources to import, by AWS ID. Zone-keyed maps
// use zone names from availabilityZones.
type NetworkImport struct {
	Vpc                       string            `json:"vpc,omitempty"`
	InternetGateway           string            `json:"internetGateway,omitempty"`
	EgressOnlyInternetGateway string            `json:"egressOnlyInternetGateway,omitempty"`
	PublicSubnets             map[string]string `json:"publicSubnets,omitempty"`
	PrivateSubnets            map[string]string `json:"privateSubnets,omitempty"`
	// PublicRouteTable is the shared public route table. When a route table is
	// imported, its default routes are imported too, and so is each subnet
	// association whose subnet is also imported. A subnet imported without its
	// route table gets a new association, which AWS refuses if the subnet is
	// already explicitly associated: import both.
	PublicRouteTable   string            `json:"publicRouteTable,omitempty"`
	PrivateRouteTables map[string]string `json:"privateRouteTables,omitempty"`
	NatGateways        map[string]string `json:"natGateways,omitempty"`
	// ElasticIps are the NAT gateways' allocation IDs (eipalloc-…).
	ElasticIps map[string]string `json:"elasticIps,omitempty"`
	// Endpoints are existing VPC endpoints, by the short service name of
	// gatewayEndpoints or interfaceEndpoints (s3, ecr.api…): AWS refuses a
	// second gateway endpoint of a service on a route table, and a second
	// private-DNS interface endpoint of a service in a VPC.
	Endpoints map[string]string `json:"endpoints,omitempty"`
}

// Kubernetes is the cluster's version and address plan.
type Kubernetes struct {
	// Version of Kubernetes the masters run (the control plane),
	// vMAJOR.MINOR.PATCH; kubeadm must support it. Default v1.37.2.
	Version string `json:"version,omitempty"`
	// NodeVersion is the Kubernetes version of the node pools' kubelets,
	// kube-proxy and the add-ons that follow Kubernetes (cluster-autoscaler):
	// never a newer minor than Version, at most three minors older. Default:
	// Version. Pin it to the old version while raising Version, and raise it
	// once the masters run the new one (docs/workers.md, "Version skew").
	NodeVersion string `json:"nodeVersion,omitempty"`
	// PodCidr is the cluster pod block. Default 10.128.0.0/12 (4096 nodes of
	// /24). Must not overlap the VPC or the service block.
	PodCidr string `json:"podCidr,omitempty"`
	// ServiceCidr is the Service ClusterIP block, /12 to /24. Default
	// 172.20.0.0/16 (65534 Services).
	ServiceCidr string `json:"serviceCidr,omitempty"`
	// NodeCidrMaskSize is the pod block each node gets. Default 24.
	NodeCidrMaskSize int `json:"nodeCidrMaskSize,omitempty"`
	// MaxServices is the number of Services the cluster must be able to hold;
	// the service block is checked against it. Default 0 (not checked).
	MaxServices int `json:"maxServices,omitempty"`
}

// Masters is the control plane: one master group (an Auto Scaling Group of
// exactly one instance) per etcd member, each with its own etcd volume and
// DNS record.
type Masters struct {
	// Count of masters (etcd members): 1, 3, 5 or 7. Slot i runs in zone
	// i mod zones; no zone may hold a majority. Default 3.
	Count int `json:"count,omitempty"`
	// InstanceType of every master: a real EC2 type (internal/instancetypes),
	// of the images' architecture when the masters boot the pipeline's
	// image. Default m7i.2xlarge (m7g.2xlarge on the pipeline's arm64 image).
	InstanceType string `json:"instanceType,omitempty"`
	// Image selects the masters' baked AMI.
	Image Image `json:"image"`
	// RootVolume is each master's encrypted root volume. Default 100 GiB gp3.
	RootVolume Volume `json:"rootVolume"`
	// EtcdVolume is each slot's encrypted etcd data volume, which outlives
	// its instances. Default 64 GiB gp3, 3000 IOPS, 125 MiB/s.
	EtcdVolume Volume `json:"etcdVolume"`
	// Roll is no longer accepted: every slot's launch template follows the
	// stack, and `kinfra roll` replaces the masters' instances one slot at a
	// time behind health gates (README, "Upgrading a cluster"). Kept only
	// to refuse old stacks with that advice.
	Roll *int `json:"roll,omitempty"`
}

// Image selects an AMI: an explicit ID, or the most recent image matching a
// lookup.
type Image struct {
	// Pipeline uses the image this stack's images pipeline builds for the
	// role. Default true when images are enabled and none of id, owners,
	// name and tags is given.
	Pipeline bool `json:"pipeline,omitempty"`
	// ID is an AMI in the stack's region, ami-… Overrides the lookup.
	ID string `json:"id,omitempty"`
	// Owners of the images the lookup considers. Default [self].
	Owners []string `json:"owners,omitempty"`
	// Name is the lookup's name pattern (* wildcards). Default
	// kinfra-<role>-k8s-<version>-* (what the images pipeline names them).
	Name string `json:"name,omitempty"`
	// Tags the image must carry. Optional.
	Tags map[string]string `json:"tags,omitempty"`
}

// Volume is an EBS volume's size and performance.
type Volume struct {
	// SizeGiB of the volume.
	SizeGiB int `json:"sizeGiB,omitempty"`
	// Type is gp3, io1 or io2. Default gp3.
	Type string `json:"type,omitempty"`
	// Iops: gp3 3000-16000 (default 3000), io1/io2 100-64000 (required).
	Iops int `json:"iops,omitempty"`
	// ThroughputMiBps: gp3 only, 125-1000. Default 125.
	ThroughputMiBps int `json:"throughputMiBps,omitempty"`
}

// API load balancer schemes.
const (
	SchemeInternal       = "internal"
	SchemeInternetFacing = "internet-facing"
)

// API is the Kubernetes API endpoint: a Network Load Balancer in front of the
// masters, named api.<privateDomain> inside the VPC.
type API struct {
	// Scheme is internal (private subnets) or internet-facing (public
	// subnets). Default internal.
	Scheme string `json:"scheme,omitempty"`
	// AccessCidrs may reach the API through the load balancer, besides the
	// cluster's own nodes. Default: the VPC block.
	AccessCidrs []string `json:"accessCidrs,omitempty"`
	// PublicZoneId is a public Route53 zone to publish publicName in.
	// Optional; needs an internet-facing scheme.
	PublicZoneId string `json:"publicZoneId,omitempty"`
	// PublicName is the API's name in the public zone (e.g.
	// api.prod-use1.example.com). Required with publicZoneId.
	PublicName string `json:"publicName,omitempty"`
}

// CNI providers and tunnel modes.
const (
	CNICilium    = "cilium"
	CNICalico    = "calico"
	TunnelVXLAN  = "vxlan"
	TunnelGeneve = "geneve"
	TunnelNone   = "none"
)

// CNI is the pod network, as far as the node security groups need to know.
type CNI struct {
	// Provider is cilium or calico. Default cilium.
	Provider string `json:"provider,omitempty"`
	// Tunnel is the overlay between nodes: vxlan, geneve (cilium only) or
	// none (native routing: pod traffic crosses the VPC unencapsulated, so
	// nodes admit all traffic from each other). Default vxlan.
	Tunnel string `json:"tunnel,omitempty"`
	// WireGuard encrypts pod traffic between nodes. Default false.
	WireGuard bool `json:"wireGuard,omitempty"`
	// Hubble (cilium only) deploys Hubble and Hubble Relay and opens the
	// Hubble peer port between nodes. Default false.
	Hubble bool `json:"hubble,omitempty"`
	// KubeProxyReplacement (cilium only): Cilium's eBPF implements Services
	// and kube-proxy is not deployed (kubeProxy.mode none, its default then).
	// Default false.
	KubeProxyReplacement bool `json:"kubeProxyReplacement,omitempty"`
	// Dataplane (calico only) is iptables, nftables (kube-proxy must then
	// run in nftables mode) or bpf (Calico's eBPF replaces kube-proxy:
	// kubeProxy.mode none, its default then). Default iptables, or bpf when
	// kubeProxy.mode is none.
	Dataplane string `json:"dataplane,omitempty"`
	// Version of the CNI's Helm chart (cilium, or calico's tigera-operator).
	// Default: the version pinned in kinfra (docs/addons.md).
	Version string `json:"version,omitempty"`
}

// NodePool is one worker group: an Auto Scaling Group over the private
// subnets of its zones, launched from a baked node AMI, joining the cluster
// with kubeadm. See docs/workers.md.
type NodePool struct {
	// Name is a DNS label, unique in the cluster, of at most
	// MaxNodePoolName(cluster name) characters: 45 less the cluster name's
	// length (the node IAM role <cluster>-pool-<name>-node and its 8
	// character autoname suffix must fit IAM's 64).
	// Required. Resource names, the ASG and the kinfra.dev/node-pool node
	// label derive from it.
	Name string `json:"name"`
	// Zones the pool runs in, from the cluster's zones. Default: every zone.
	Zones []string `json:"zones,omitempty"`
	// MinSize of the group. Default 0.
	MinSize int `json:"minSize,omitempty"`
	// MaxSize of the group, at least 1 and at least minSize. Required.
	MaxSize int `json:"maxSize"`
	// DesiredSize is the group's size when it is created. Default minSize.
	// With the autoscaler on, later changes are ignored (the autoscaler owns
	// the desired capacity); with it off, Pulumi sets it on every update.
	DesiredSize *int `json:"desiredSize,omitempty"`
	// InstanceTypes the group may launch, most preferred first: real EC2
	// types of one architecture. Default [m7i.2xlarge] ([m7g.2xlarge] on
	// the pipeline's arm64 image). With spot, list several of the same size
	// and architecture so that spot capacity can be found.
	InstanceTypes []string `json:"instanceTypes,omitempty"`
	// Image selects the pool's AMI. Default: this stack's images pipeline
	// build of the node image when images are enabled, else the most recent
	// kinfra-node-k8s-<nodeVersion>-* image owned by the account.
	Image Image `json:"image"`
	// RootVolume is each node's encrypted root volume (container images and
	// logs live there). Default 100 GiB gp3.
	RootVolume Volume `json:"rootVolume"`
	// OnDemandBase is how many nodes are always on-demand. Default 0.
	OnDemandBase int `json:"onDemandBase,omitempty"`
	// OnDemandPercentageAboveBase is the on-demand share, 0 to 100, of nodes
	// beyond onDemandBase; the rest are spot. Default 100 (no spot).
	OnDemandPercentageAboveBase *int `json:"onDemandPercentageAboveBase,omitempty"`
	// SpotAllocationStrategy is price-capacity-optimized, capacity-optimized,
	// capacity-optimized-prioritized or lowest-price. Default
	// price-capacity-optimized.
	SpotAllocationStrategy string `json:"spotAllocationStrategy,omitempty"`
	// CapacityRebalance replaces spot nodes at elevated risk of interruption
	// before they are interrupted. Default true when the pool uses spot.
	CapacityRebalance *bool `json:"capacityRebalance,omitempty"`
	// MaxPods is the kubelet's pod limit. Default 110. Must fit the node's
	// pod block (kubernetes.nodeCidrMaskSize) and, with native routing, the
	// instance type's ENI addresses.
	MaxPods int `json:"maxPods,omitempty"`
	// Labels are node labels set by the kubelet at registration. Keys in the
	// kubernetes.io and k8s.io namespaces are limited to those a kubelet may
	// set (node.kubernetes.io/*, kubelet.kubernetes.io/* and the well-known
	// topology and instance labels).
	Labels map[string]string `json:"labels,omitempty"`
	// Taints are registered with the node.
	Taints []Taint `json:"taints,omitempty"`
	// KubeReserved is reserved for Kubernetes daemons: cpu, memory,
	// ephemeral-storage, pid. Default memory 255Mi + 11Mi per pod (the
	// kubelet, container runtime and CNI agent grow with the pod count), cpu
	// by the EKS AMI's formula for the pool's smallest known instance type,
	// ephemeral-storage 1Gi.
	KubeReserved map[string]string `json:"kubeReserved,omitempty"`
	// SystemReserved is reserved for the OS. Default cpu 100m, memory 200Mi,
	// ephemeral-storage 1Gi.
	SystemReserved map[string]string `json:"systemReserved,omitempty"`
	// EvictionHard are the kubelet's hard eviction thresholds. Default
	// memory.available 500Mi, nodefs.available 10%, nodefs.inodesFree 5%,
	// imagefs.available 15%.
	EvictionHard map[string]string `json:"evictionHard,omitempty"`
	// InstanceRefresh bounds how `kinfra roll` replaces the pool's nodes
	// once their launch template changed.
	InstanceRefresh InstanceRefresh `json:"instanceRefresh"`
	// DrainTimeoutSeconds is how long a terminating node waits in the
	// lifecycle hook for the termination handler to drain it, 30 to 7200.
	// Default 900.
	DrainTimeoutSeconds int `json:"drainTimeoutSeconds,omitempty"`
	// Autoscaler lets cluster-autoscaler manage the pool: discovery and
	// node-template tags on the group, and Pulumi ignores desired capacity.
	// Default true.
	Autoscaler *bool `json:"autoscaler,omitempty"`
}

// Taint is a node taint.
type Taint struct {
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
	// Effect is NoSchedule, PreferNoSchedule or NoExecute.
	Effect string `json:"effect"`
}

// InstanceRefresh bounds how `kinfra roll` replaces a pool's nodes, batch
// by batch (internal/roll).
type InstanceRefresh struct {
	// MinHealthyPercentage of the pool kept in service during a roll: at
	// most the rest is drained at once. 0 to 100. Default 90.
	MinHealthyPercentage *int `json:"minHealthyPercentage,omitempty"`
	// MaxHealthyPercentage, 100 to 200: above 100 the roll launches
	// replacements before the nodes they replace are drained. Default 110.
	MaxHealthyPercentage int `json:"maxHealthyPercentage,omitempty"`
	// InstanceWarmupSeconds the roll waits after a batch's new nodes are
	// Ready; also the group's default instance warmup. Default 300.
	InstanceWarmupSeconds int `json:"instanceWarmupSeconds,omitempty"`
	// SkipMatching leaves nodes that already run the declared launch
	// template version and a listed type. Default true, the only value the
	// roll allows.
	SkipMatching *bool `json:"skipMatching,omitempty"`
}

// kube-proxy modes.
const (
	ProxyNFTables = "nftables"
	ProxyIPTables = "iptables"
	ProxyIPVS     = "ipvs"
	ProxyNone     = "none"
)

// KubeProxy is how Services are implemented on the nodes. The images load
// the kernel modules the mode needs; the add-ons deploy kube-proxy.
type KubeProxy struct {
	// Mode is nftables, iptables, ipvs (deprecated upstream since v1.35) or
	// none (the CNI replaces kube-proxy: cni.kubeProxyReplacement or calico's
	// bpf dataplane). Default nftables, or none when the CNI replaces it.
	Mode string `json:"mode,omitempty"`
	// SyncPeriodSeconds is how often kube-proxy resyncs every rule, 1 to
	// 3600. Default 30; ipvs 120 (a full IPVS sync walks every virtual
	// server, seconds with tens of thousands of Services).
	SyncPeriodSeconds int `json:"syncPeriodSeconds,omitempty"`
	// MinSyncPeriodSeconds batches changes: at most one sync per period,
	// 0 to syncPeriodSeconds. Default 1; ipvs 5.
	MinSyncPeriodSeconds *int `json:"minSyncPeriodSeconds,omitempty"`
	// Conntrack is the connection tracking table kube-proxy sizes.
	Conntrack Conntrack `json:"conntrack"`
	// MetricsBindAddress is where kube-proxy serves /metrics, host:port.
	// Default 0.0.0.0:10249 (scraped from inside the cluster; the security
	// groups do not open it to the VPC).
	MetricsBindAddress string `json:"metricsBindAddress,omitempty"`
	// Image is kube-proxy's image. Default
	// registry.k8s.io/kube-proxy:<kubernetes.nodeVersion>.
	Image string `json:"image,omitempty"`
}

// Conntrack sizes the kernel's connection tracking table and its timeouts.
type Conntrack struct {
	// MaxPerCore sets nf_conntrack_max to this many entries per CPU (at least
	// min). Default 0: leave the images' nf_conntrack_max (1048576), which
	// kube-proxy would otherwise lower on small machines.
	MaxPerCore *int `json:"maxPerCore,omitempty"`
	// Min is the floor of nf_conntrack_max when maxPerCore is set. Default 0.
	Min *int `json:"min,omitempty"`
	// TCPEstablishedTimeoutSeconds for idle established TCP connections.
	// Default 86400 (the kernel's is 5 days).
	TCPEstablishedTimeoutSeconds int `json:"tcpEstablishedTimeoutSeconds,omitempty"`
	// TCPCloseWaitTimeoutSeconds for connections in CLOSE_WAIT. Default 3600.
	TCPCloseWaitTimeoutSeconds int `json:"tcpCloseWaitTimeoutSeconds,omitempty"`
}

// Image parents the images pipeline can build on.
const (
	ParentUbuntu2404 = "ubuntu-24.04"
	ParentAL2023     = "al2023"
)

// Images is the EC2 Image Builder pipeline that bakes the master and node
// AMIs. See docs/images.md.
type Images struct {
	// Enabled builds the AMIs in this stack: a pipeline, and a build of each
	// role's image during `pulumi up`, which masters and node pools without
	// an image of their own then use. Default true. Turn it off in stacks
	// that use images built elsewhere (a shared pipeline's copies).
	Enabled *bool `json:"enabled,omitempty"`
	// Parent is the base OS: ubuntu-24.04 or al2023. Default ubuntu-24.04.
	Parent string `json:"parent,omitempty"`
	// Architecture of the images: x86_64 or arm64. Default x86_64. Masters
	// and node pools using the built image must use instance types of this
	// architecture, and default to one.
	Architecture string `json:"architecture,omitempty"`
	// BuildInstanceTypes run the builds. Default [m7i.large] (x86_64) or
	// [m7g.large] (arm64).
	BuildInstanceTypes []string `json:"buildInstanceTypes,omitempty"`
	// Versions of what the images install. Defaults are pinned in code.
	Versions ImageVersions `json:"versions"`
	// Schedule rebuilds the images (e.g. for OS security updates): an Image
	// Builder cron expression such as "cron(0 4 ? * sun *)". Default: no
	// schedule; images are built when their recipe changes.
	Schedule string `json:"schedule,omitempty"`
	// DistributeTo are other regions that receive a copy of every image, for
	// stacks that share this pipeline. Default none.
	DistributeTo []string `json:"distributeTo,omitempty"`
	// ShareWith are AWS account IDs allowed to launch the images. Default
	// none.
	ShareWith []string `json:"shareWith,omitempty"`
}

// ImageVersions pins what the images install. Kubernetes comes from
// kubernetes.version.
type ImageVersions struct {
	Containerd string `json:"containerd,omitempty"`
	Runc       string `json:"runc,omitempty"`
	CNIPlugins string `json:"cniPlugins,omitempty"`
	Etcd       string `json:"etcd,omitempty"`
}
