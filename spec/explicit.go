package spec

import (
	"fmt"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Only an absent or null key takes a default. The Go types cannot tell an
// explicit 0, "", false, [] or {} from an absent key, and WithDefaults
// replaces the zero value, so `masters: {count: 0}` would silently plan 3
// masters. The decoder therefore refuses the explicit zero of every field
// whose default is not its zero value (each concept's WithDefaults, and the
// versions and images the components pin), with what to use instead.
//
// explicitZeros is keyed by the path below "cluster", list indexes as [].
// TestEveryDefaultedFieldRefusesItsExplicitZero derives the defaulted fields
// from WithDefaults and checks that each is here or in emptyIsMeaningful.
var explicitZeros = map[string]explicitZero{
	"region":        {allowed: "the stack's region name (it only asserts aws:region)", dflt: "the stack's aws:region"},
	"privateDomain": {allowed: "a DNS name such as prod-use1.k8s.internal", dflt: "the default <name>" + privateDomainSuffix},

	"network.vpcCidr":                   {allowed: "an IPv4 block from /16 to /24 (adopting a VPC: its primary block)", dflt: "the default " + DefaultVpcCidr},
	"network.availabilityZones":         {allowed: "zone names of the stack's region", dflt: "the first azCount zones the region reports"},
	"network.azCount":                   {allowed: "1 to 6", dflt: "the default: the number of availabilityZones, else 3"},
	"network.privateSubnetPrefixLength": {allowed: "a prefix longer than the VPC's, at most 28", dflt: "the default: the VPC's prefix + 3 (a /19 in a /16)"},
	"network.publicSubnetPrefixLength":  {allowed: "a prefix longer than the VPC's, at most 28", dflt: "the default: the VPC's prefix + 6 (a /22 in a /16)"},
	"network.natGateways":               {allowed: "perAz, single or none", dflt: "the default " + NATPerAZ},

	"network.flowLogs.destination":                   {allowed: "cloudwatch or s3", dflt: "the default " + FlowLogsToCloudWatch},
	"network.flowLogs.trafficType":                   {allowed: "ALL, ACCEPT or REJECT", dflt: "the default " + DefaultFlowLogTraffic},
	"network.flowLogs.retentionDays":                 {allowed: "a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, … 3653)", dflt: fmt.Sprintf("the default (%d with cloudwatch, none with s3)", DefaultFlowLogRetention)},
	"network.flowLogs.maxAggregationIntervalSeconds": {allowed: "60 or 600", dflt: fmt.Sprintf("the default %d", DefaultFlowLogInterval)},

	"kubernetes.version":          {allowed: "vMAJOR.MINOR.PATCH such as " + DefaultKubernetes, dflt: "the default " + DefaultKubernetes},
	"kubernetes.nodeVersion":      {allowed: "vMAJOR.MINOR.PATCH such as " + DefaultKubernetes, dflt: "the default: kubernetes.version"},
	"kubernetes.podCidr":          {allowed: "an IPv4 block from /8 to /24", dflt: "the default " + DefaultPodCidr},
	"kubernetes.serviceCidr":      {allowed: "an IPv4 block from /12 to /24", dflt: "the default " + DefaultServiceCidr},
	"kubernetes.nodeCidrMaskSize": {allowed: "a prefix 1 to 16 longer than podCidr's, at most 28", dflt: fmt.Sprintf("the default %d", DefaultNodeCidrMaskSize)},

	"masters.count":        {allowed: "1, 3, 5 or 7", dflt: fmt.Sprintf("the default %d", DefaultMasterCount)},
	"masters.instanceType": {allowed: "an EC2 instance type such as " + DefaultMasterType, dflt: "the default " + DefaultMasterType + " (" + DefaultMasterTypeARM + " on the pipeline's arm64 image)"},

	"backup.intervalMinutes":        {allowed: "5, 10, 15, 20, 30 or 60", dflt: fmt.Sprintf("the default %d", DefaultBackupInterval)},
	"backup.retention.frequentDays": {allowed: "1 to 3650 days", dflt: fmt.Sprintf("the default %d", DefaultBackupFrequentDays)},
	"backup.retention.hourlyDays":   {allowed: "1 to 3650 days", dflt: fmt.Sprintf("the default %d", DefaultBackupHourlyDays)},
	"backup.retention.dailyDays":    {allowed: "1 to 3650 days", dflt: fmt.Sprintf("the default %d", DefaultBackupDailyDays)},
	"backup.prefix":                 {allowed: "slash-separated segments such as prod-use1/etcd", dflt: "the default <name>" + backupPrefixSuffix},
	"joinTokens.ttlHours":           {allowed: "8 to 168 hours", dflt: fmt.Sprintf("the default %d", DefaultJoinTokenTTLHours)},
	"api.scheme":                    {allowed: "internal or internet-facing", dflt: "the default " + SchemeInternal},
	"api.accessCidrs":               {allowed: "the IPv4 blocks that may reach the API", dflt: "the default: the VPC block"},
	"cni.provider":                  {allowed: "cilium or calico", dflt: "the default " + CNICilium},
	"cni.tunnel":                    {allowed: "vxlan, geneve or none", dflt: "the default " + TunnelVXLAN},
	"cni.dataplane":                 {allowed: "iptables, nftables or bpf (calico only)", dflt: "the default (calico: iptables, or bpf when kubeProxy.mode is none)"},
	"cni.version":                   {allowed: "a chart version such as 1.18.4", dflt: "the version kinfra pins"},
	"kubeProxy.mode":                {allowed: "nftables, iptables, ipvs or none", dflt: "the default (nftables, or none when the CNI replaces kube-proxy)"},
	"kubeProxy.syncPeriodSeconds":   {allowed: "1 to 3600", dflt: fmt.Sprintf("the default %d (ipvs: %d)", DefaultSyncPeriod, DefaultIPVSSyncPeriod)},
	"kubeProxy.metricsBindAddress":  {allowed: "IP:port such as " + DefaultProxyMetricsAddress, dflt: "the default " + DefaultProxyMetricsAddress},
	"kubeProxy.image":               {allowed: "an image reference (registry/repository:tag)", dflt: "the default " + kubeProxyRepository + ":<kubernetes.nodeVersion>"},
	"images.parent":                 {allowed: "ubuntu-24.04 or al2023", dflt: "the default " + ParentUbuntu2404},
	"images.architecture":           {allowed: "x86_64 or arm64", dflt: "the default " + ArchX86},
	"images.buildInstanceTypes":     {allowed: "instance types of the images' architecture", dflt: "the default [" + DefaultBuildType + "] ([" + DefaultBuildTypeARM + "] on arm64)"},
	"images.versions.containerd":    {allowed: "a release version MAJOR.MINOR.PATCH", dflt: "the default " + DefaultContainerd},
	"images.versions.runc":          {allowed: "a release version MAJOR.MINOR.PATCH", dflt: "the default " + DefaultRunc},
	"images.versions.cniPlugins":    {allowed: "a release version MAJOR.MINOR.PATCH", dflt: "the default " + DefaultCNIPlugins},
	"images.versions.etcd":          {allowed: "a release version MAJOR.MINOR.PATCH", dflt: "the default " + DefaultEtcd},
	"addons.endpoint":               {allowed: "https://host[:port]", dflt: "the default: the API's name on port 6443"},
	"addons.clusterAutoscaler.expander": {
		allowed: validate.Join(expanders), dflt: "the default " + DefaultAutoscalerExpander,
	},
	"addons.clusterAutoscaler.scaleDownUtilizationThreshold": {
		allowed: "a number above 0 and at most 1, as a string", dflt: fmt.Sprintf("the default %q", DefaultScaleDownUtilization),
	},
	"addons.ebsCsiDriver.storageClass.name": {allowed: "a DNS label", dflt: "the default " + DefaultStorageClass},
	"addons.ebsCsiDriver.storageClass.type": {allowed: validate.Join(volumeTypes), dflt: "the default " + DefaultStorageClassType},

	"kubeProxy.conntrack.tcpEstablishedTimeoutSeconds": {allowed: "1 or more seconds", dflt: fmt.Sprintf("the default %d", DefaultTCPEstablished)},
	"kubeProxy.conntrack.tcpCloseWaitTimeoutSeconds":   {allowed: "1 or more seconds", dflt: fmt.Sprintf("the default %d", DefaultTCPCloseWait)},

	"nodePools[].zones":                  {allowed: "zones of cluster.network.availabilityZones", dflt: "the default: every zone"},
	"nodePools[].instanceTypes":          {allowed: "EC2 instance types such as [" + DefaultNodeType + "]", dflt: "the default [" + DefaultNodeType + "] ([" + DefaultNodeTypeARM + "] on the pipeline's arm64 image)"},
	"nodePools[].spotAllocationStrategy": {allowed: validate.Join(SpotAllocationStrategies), dflt: "the default " + DefaultSpotStrategy},
	"nodePools[].maxPods":                {allowed: "1 to 1000", dflt: fmt.Sprintf("the default %d", DefaultMaxPods)},
	"nodePools[].kubeReserved":           {allowed: "the reservations to override (cpu, memory, ephemeral-storage, pid; the others keep their defaults)", dflt: "the defaults"},
	"nodePools[].systemReserved":         {allowed: "the reservations to override (cpu, memory, ephemeral-storage, pid; the others keep their defaults)", dflt: "the defaults"},
	// An empty map would reach no kubelet (an empty patch is left out), so
	// the kubelet's built-in thresholds would apply: neither "none" nor
	// kinfra's defaults.
	"nodePools[].evictionHard":                          {allowed: "the thresholds to enforce (the map replaces the whole default set)", dflt: "the defaults (memory.available 500Mi, nodefs.available 10%, …)"},
	"nodePools[].instanceRefresh.maxHealthyPercentage":  {allowed: "100 to 200", dflt: fmt.Sprintf("the default %d", DefaultMaxHealthyPercentage)},
	"nodePools[].instanceRefresh.instanceWarmupSeconds": {allowed: "1 to 3600", dflt: fmt.Sprintf("the default %d", DefaultInstanceWarmup)},
	"nodePools[].drainTimeoutSeconds":                   {allowed: "30 to 7200", dflt: fmt.Sprintf("the default %d", DefaultDrainTimeout)},
}

// emptyIsMeaningful are the fields whose explicit empty value means
// something of its own, documented in docs/config.md, and is kept.
var emptyIsMeaningful = map[string]string{
	"network.gatewayEndpoints": "no gateway endpoints (unset: [s3] when kinfra creates the VPC)",
	"backup.alarmActions":      "the backup-age alarm notifies nobody (unset: cluster.alarms.actions)",
}

// explicitZero says what to use instead of a refused zero, and what
// removing the key gives.
type explicitZero struct {
	allowed, dflt string
	// when, if set, limits the rule to objects where the zero is not the
	// default anyway; obj is the enclosing object, root all of kinfra:cluster.
	when func(obj, root map[string]any) bool
}

func init() {
	for _, role := range []struct{ path, name string }{
		{"masters", "kinfra-master-k8s-<kubernetes.version>-*"},
		{"nodePools[]", "kinfra-node-k8s-<kubernetes.nodeVersion>-*"},
	} {
		explicitZeros[role.path+".image.pipeline"] = explicitZero{
			allowed: "an id or a lookup (owners, name, tags) to launch another image",
			dflt:    "the default: this stack's build",
			when:    pipelineByDefault,
		}
		explicitZeros[role.path+".image.owners"] = explicitZero{allowed: "self, amazon, aws-marketplace, aws-backup-vault or 12-digit account IDs", dflt: "the default [" + DefaultImageOwner + "]"}
		explicitZeros[role.path+".image.name"] = explicitZero{allowed: "a name pattern such as " + strings.NewReplacer("<kubernetes.version>", DefaultKubernetes, "<kubernetes.nodeVersion>", DefaultKubernetes).Replace(role.name), dflt: "the default " + role.name}
	}
	for path, size := range map[string][2]int{
		"masters.rootVolume":     {MinRootVolumeGiB, DefaultRootVolumeGiB},
		"masters.etcdVolume":     {MinEtcdVolumeGiB, DefaultEtcdVolumeGiB},
		"nodePools[].rootVolume": {MinRootVolumeGiB, DefaultRootVolumeGiB},
	} {
		explicitZeros[path+".sizeGiB"] = explicitZero{allowed: fmt.Sprintf("%d to %d", size[0], MaxVolumeGiB), dflt: fmt.Sprintf("the default %d", size[1])}
		explicitZeros[path+".type"] = explicitZero{allowed: "gp3, io1 or io2", dflt: "the default " + DefaultVolumeType}
		explicitZeros[path+".iops"] = explicitZero{allowed: "3000 to 16000 (gp3) or 100 to 64000 (io1, io2)", dflt: fmt.Sprintf("the default %d (gp3)", DefaultGp3Iops)}
		explicitZeros[path+".throughputMiBps"] = explicitZero{allowed: "125 to 1000 (gp3 only)", dflt: fmt.Sprintf("the default %d (gp3)", DefaultGp3Throughput)}
	}
	for _, addon := range []string{"cloudControllerManager", "ebsCsiDriver", "clusterAutoscaler", "nodeTerminationHandler"} {
		if addon != "nodeTerminationHandler" {
			explicitZeros["addons."+addon+".version"] = explicitZero{allowed: "a chart version such as 1.2.3", dflt: "the version kinfra pins"}
		}
		if addon != "ebsCsiDriver" {
			explicitZeros["addons."+addon+".image"] = explicitZero{allowed: "an image reference (registry/repository:tag)", dflt: "the image kinfra pins"}
		}
	}
}

// pipelineByDefault: `pipeline: false` is the default, and harmless, when
// the image names an id or a lookup, or when the stack builds no images.
func pipelineByDefault(obj, root map[string]any) bool {
	for _, k := range []string{"id", "owners", "name", "tags"} {
		if v, ok := obj[k]; ok && v != nil {
			return false
		}
	}
	if images, ok := root["images"].(map[string]any); ok && images["enabled"] == false {
		return false
	}
	return true
}
