package spec_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/validate"
	"github.com/kinfra-dev/kinfra/spec"
)

// defaultedFields walks the spec's types and returns the path (below
// "cluster", list indexes as []) of every field that WithDefaults gives a
// non-zero value when it is left at its zero value in base.
func defaultedFields(t *testing.T, base spec.Cluster) []string {
	var found []string
	var visit func(v reflect.Value, path string)
	visit = func(v reflect.Value, path string) {
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			fv := v.Field(i)
			if f.Anonymous && name == "" {
				visit(fv, path)
				continue
			}
			p := name
			if path != "" {
				p = path + "." + name
			}
			switch {
			case f.Type.Kind() == reflect.Struct:
				visit(fv, p)
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
				if fv.Len() > 0 {
					visit(fv.Index(0), p+"[]")
				}
			case f.Type.Kind() == reflect.Pointer:
				// *int, *bool: nil is the only unset; *struct: no defaults inside.
			default:
				saved := reflect.ValueOf(fv.Interface())
				fv.Set(reflect.Zero(f.Type))
				if got := lookup(base.WithDefaults(), p); !got.IsZero() && !((got.Kind() == reflect.Slice || got.Kind() == reflect.Map) && got.Len() == 0) {
					found = append(found, p)
				}
				fv.Set(saved)
			}
		}
	}
	visit(reflect.ValueOf(&base).Elem(), "")
	return found
}

// lookup reads a field of c by its schema path.
func lookup(c spec.Cluster, path string) reflect.Value {
	v := reflect.ValueOf(c)
	for _, part := range strings.Split(path, ".") {
		name, list := strings.CutSuffix(part, "[]")
		v = fieldByJSON(v, name)
		if list {
			v = v.Index(0)
		}
	}
	return v
}

func fieldByJSON(v reflect.Value, name string) reflect.Value {
	for i := range v.NumField() {
		f := v.Type().Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == name {
			return v.Field(i)
		}
		if f.Anonymous && tag == "" {
			if inner := fieldByJSON(v.Field(i), name); inner.IsValid() {
				return inner
			}
		}
	}
	return reflect.Value{}
}

// Every field whose default is not its zero value refuses an explicit zero,
// unless its empty value is documented to mean something.
func TestEveryDefaultedFieldRefusesItsExplicitZero(t *testing.T) {
	pool := func() spec.NodePool {
		return spec.NodePool{Name: "general", MaxSize: 3, Taints: []spec.Taint{{Key: "k", Effect: "NoSchedule"}}}
	}
	cilium := valid()
	cilium.NodePools = []spec.NodePool{pool()}
	calico := valid()
	calico.NodePools = []spec.NodePool{pool()}
	calico.CNI.Provider = spec.CNICalico
	var found []string
	for _, base := range []spec.Cluster{cilium, calico} {
		found = append(found, defaultedFields(t, base)...)
	}
	require.Contains(t, found, "masters.count")
	require.Contains(t, found, "nodePools[].instanceRefresh.instanceWarmupSeconds")
	for _, p := range found {
		_, refused := spec.ExplicitZeros()[p]
		_, kept := spec.EmptyIsMeaningful()[p]
		require.True(t, refused || kept, "%s has a non-zero default: refuse its explicit zero in explicitZeros, or document its empty value in emptyIsMeaningful", p)
	}
}

// zeroStack is a valid stack with value at path (list indexes as []).
func zeroStack(t *testing.T, path string, value any) []byte {
	t.Helper()
	root := map[string]any{
		"name":      "prod",
		"nodePools": []any{map[string]any{"name": "general", "maxSize": 3}},
	}
	obj := root
	parts := strings.Split(path, ".")
	for i, part := range parts {
		name, list := strings.CutSuffix(part, "[]")
		if i == len(parts)-1 {
			obj[name] = value
			break
		}
		if list {
			obj = obj[name].([]any)[0].(map[string]any)
			continue
		}
		next, ok := obj[name].(map[string]any)
		if !ok {
			next = map[string]any{}
			obj[name] = next
		}
		obj = next
	}
	data, err := json.Marshal(root)
	require.NoError(t, err)
	return data
}

func zeroOf(t *testing.T, path string) any {
	v := lookup(valid().WithDefaults(), strings.ReplaceAll(path, "nodePools[]", "nodePools[]"))
	switch v.Kind() {
	case reflect.Int:
		return 0
	case reflect.String:
		return ""
	case reflect.Bool:
		return false
	case reflect.Slice:
		return []any{}
	case reflect.Map:
		return map[string]any{}
	}
	t.Fatalf("%s: no zero for %s", path, v.Kind())
	return nil
}

// One case per refused zero, generated from the table so that none is
// missed; the messages are spelled out.
func TestExplicitZerosAreRefusedWithWhatToUseAndTheDefault(t *testing.T) {
	require.Len(t, spec.ExplicitZeros(), len(explicitZeroMessages), "a rule without a case, or a case without a rule")
	for path := range spec.ExplicitZeros() {
		t.Run(path, func(t *testing.T) {
			_, err := spec.Load(zeroStack(t, path, zeroOf(t, path)), "us-east-1")
			require.Error(t, err)
			require.Equal(t, []string{explicitZeroMessages[path]}, err.(validate.Errors).Messages())
		})
	}
}

var explicitZeroMessages = map[string]string{
	"addons.cloudControllerManager.image":                    "cluster.addons.cloudControllerManager.image: \"\" is not allowed; use an image reference (registry/repository:tag), or remove the key for the image kinfra pins",
	"addons.cloudControllerManager.version":                  "cluster.addons.cloudControllerManager.version: \"\" is not allowed; use a chart version such as 1.2.3, or remove the key for the version kinfra pins",
	"addons.clusterAutoscaler.expander":                      "cluster.addons.clusterAutoscaler.expander: \"\" is not allowed; use least-waste, most-pods, price, priority, random or least-nodes, or remove the key for the default least-waste",
	"addons.clusterAutoscaler.image":                         "cluster.addons.clusterAutoscaler.image: \"\" is not allowed; use an image reference (registry/repository:tag), or remove the key for the image kinfra pins",
	"addons.clusterAutoscaler.scaleDownUtilizationThreshold": "cluster.addons.clusterAutoscaler.scaleDownUtilizationThreshold: \"\" is not allowed; use a number above 0 and at most 1, as a string, or remove the key for the default \"0.5\"",
	"addons.clusterAutoscaler.version":                       "cluster.addons.clusterAutoscaler.version: \"\" is not allowed; use a chart version such as 1.2.3, or remove the key for the version kinfra pins",
	"addons.ebsCsiDriver.storageClass.name":                  "cluster.addons.ebsCsiDriver.storageClass.name: \"\" is not allowed; use a DNS label, or remove the key for the default gp3",
	"addons.ebsCsiDriver.storageClass.type":                  "cluster.addons.ebsCsiDriver.storageClass.type: \"\" is not allowed; use gp3, gp2, io1, io2, st1 or sc1, or remove the key for the default gp3",
	"addons.ebsCsiDriver.version":                            "cluster.addons.ebsCsiDriver.version: \"\" is not allowed; use a chart version such as 1.2.3, or remove the key for the version kinfra pins",
	"addons.endpoint":                                        "cluster.addons.endpoint: \"\" is not allowed; use https://host[:port], or remove the key for the default: the API's name on port 6443",
	"addons.nodeTerminationHandler.image":                    "cluster.addons.nodeTerminationHandler.image: \"\" is not allowed; use an image reference (registry/repository:tag), or remove the key for the image kinfra pins",
	"api.accessCidrs":                                        "cluster.api.accessCidrs: [] is not allowed; use the IPv4 blocks that may reach the API, or remove the key for the default: the VPC block",
	"api.scheme":                                             "cluster.api.scheme: \"\" is not allowed; use internal or internet-facing, or remove the key for the default internal",
	"backup.intervalMinutes":                                 "cluster.backup.intervalMinutes: 0 is not allowed; use 5, 10, 15, 20, 30 or 60, or remove the key for the default 15",
	"joinTokens.ttlHours":                                    "cluster.joinTokens.ttlHours: 0 is not allowed; use 8 to 168 hours, or remove the key for the default 24",
	"backup.prefix":                                          "cluster.backup.prefix: \"\" is not allowed; use slash-separated segments such as prod-use1/etcd, or remove the key for the default <name>/etcd",
	"backup.retention.dailyDays":                             "cluster.backup.retention.dailyDays: 0 is not allowed; use 1 to 3650 days, or remove the key for the default 365",
	"backup.retention.frequentDays":                          "cluster.backup.retention.frequentDays: 0 is not allowed; use 1 to 3650 days, or remove the key for the default 1",
	"backup.retention.hourlyDays":                            "cluster.backup.retention.hourlyDays: 0 is not allowed; use 1 to 3650 days, or remove the key for the default 7",
	"cni.dataplane":                                          "cluster.cni.dataplane: \"\" is not allowed; use iptables, nftables or bpf (calico only), or remove the key for the default (calico: iptables, or bpf when kubeProxy.mode is none)",
	"cni.provider":                                           "cluster.cni.provider: \"\" is not allowed; use cilium or calico, or remove the key for the default cilium",
	"cni.tunnel":                                             "cluster.cni.tunnel: \"\" is not allowed; use vxlan, geneve or none, or remove the key for the default vxlan",
	"cni.version":                                            "cluster.cni.version: \"\" is not allowed; use a chart version such as 1.18.4, or remove the key for the version kinfra pins",
	"images.architecture":                                    "cluster.images.architecture: \"\" is not allowed; use x86_64 or arm64, or remove the key for the default x86_64",
	"images.buildInstanceTypes":                              "cluster.images.buildInstanceTypes: [] is not allowed; use instance types of the images' architecture, or remove the key for the default [m7i.large] ([m7g.large] on arm64)",
	"images.parent":                                          "cluster.images.parent: \"\" is not allowed; use ubuntu-24.04 or al2023, or remove the key for the default ubuntu-24.04",
	"images.versions.cniPlugins":                             "cluster.images.versions.cniPlugins: \"\" is not allowed; use a release version MAJOR.MINOR.PATCH, or remove the key for the default 1.9.1",
	"images.versions.containerd":                             "cluster.images.versions.containerd: \"\" is not allowed; use a release version MAJOR.MINOR.PATCH, or remove the key for the default 2.4.2",
	"images.versions.etcd":                                   "cluster.images.versions.etcd: \"\" is not allowed; use a release version MAJOR.MINOR.PATCH, or remove the key for the default 3.7.3",
	"images.versions.runc":                                   "cluster.images.versions.runc: \"\" is not allowed; use a release version MAJOR.MINOR.PATCH, or remove the key for the default 1.5.2",
	"kubeProxy.conntrack.tcpCloseWaitTimeoutSeconds":         "cluster.kubeProxy.conntrack.tcpCloseWaitTimeoutSeconds: 0 is not allowed; use 1 or more seconds, or remove the key for the default 3600",
	"kubeProxy.conntrack.tcpEstablishedTimeoutSeconds":       "cluster.kubeProxy.conntrack.tcpEstablishedTimeoutSeconds: 0 is not allowed; use 1 or more seconds, or remove the key for the default 86400",
	"kubeProxy.image":                                        "cluster.kubeProxy.image: \"\" is not allowed; use an image reference (registry/repository:tag), or remove the key for the default registry.k8s.io/kube-proxy:<kubernetes.nodeVersion>",
	"kubeProxy.metricsBindAddress":                           "cluster.kubeProxy.metricsBindAddress: \"\" is not allowed; use IP:port such as 0.0.0.0:10249, or remove the key for the default 0.0.0.0:10249",
	"kubeProxy.mode":                                         "cluster.kubeProxy.mode: \"\" is not allowed; use nftables, iptables, ipvs or none, or remove the key for the default (nftables, or none when the CNI replaces kube-proxy)",
	"kubeProxy.syncPeriodSeconds":                            "cluster.kubeProxy.syncPeriodSeconds: 0 is not allowed; use 1 to 3600, or remove the key for the default 30 (ipvs: 120)",
	"kubernetes.nodeCidrMaskSize":                            "cluster.kubernetes.nodeCidrMaskSize: 0 is not allowed; use a prefix 1 to 16 longer than podCidr's, at most 28, or remove the key for the default 24",
	"kubernetes.nodeVersion":                                 "cluster.kubernetes.nodeVersion: \"\" is not allowed; use vMAJOR.MINOR.PATCH such as v1.37.2, or remove the key for the default: kubernetes.version",
	"kubernetes.podCidr":                                     "cluster.kubernetes.podCidr: \"\" is not allowed; use an IPv4 block from /8 to /24, or remove the key for the default 10.128.0.0/12",
	"kubernetes.serviceCidr":                                 "cluster.kubernetes.serviceCidr: \"\" is not allowed; use an IPv4 block from /12 to /24, or remove the key for the default 172.20.0.0/16",
	"kubernetes.version":                                     "cluster.kubernetes.version: \"\" is not allowed; use vMAJOR.MINOR.PATCH such as v1.37.2, or remove the key for the default v1.37.2",
	"masters.count":                                          "cluster.masters.count: 0 is not allowed; use 1, 3, 5 or 7, or remove the key for the default 3",
	"masters.etcdVolume.iops":                                "cluster.masters.etcdVolume.iops: 0 is not allowed; use 3000 to 16000 (gp3) or 100 to 64000 (io1, io2), or remove the key for the default 3000 (gp3)",
	"masters.etcdVolume.sizeGiB":                             "cluster.masters.etcdVolume.sizeGiB: 0 is not allowed; use 20 to 16384, or remove the key for the default 64",
	"masters.etcdVolume.throughputMiBps":                     "cluster.masters.etcdVolume.throughputMiBps: 0 is not allowed; use 125 to 1000 (gp3 only), or remove the key for the default 125 (gp3)",
	"masters.etcdVolume.type":                                "cluster.masters.etcdVolume.type: \"\" is not allowed; use gp3, io1 or io2, or remove the key for the default gp3",
	"masters.image.name":                                     "cluster.masters.image.name: \"\" is not allowed; use a name pattern such as kinfra-master-k8s-v1.37.2-*, or remove the key for the default kinfra-master-k8s-<kubernetes.version>-*",
	"masters.image.owners":                                   "cluster.masters.image.owners: [] is not allowed; use self, amazon, aws-marketplace, aws-backup-vault or 12-digit account IDs, or remove the key for the default [self]",
	"masters.image.pipeline":                                 "cluster.masters.image.pipeline: false is not allowed; use an id or a lookup (owners, name, tags) to launch another image, or remove the key for the default: this stack's build",
	"masters.instanceType":                                   "cluster.masters.instanceType: \"\" is not allowed; use an EC2 instance type such as m7i.2xlarge, or remove the key for the default m7i.2xlarge (m7g.2xlarge on the pipeline's arm64 image)",
	"masters.rootVolume.iops":                                "cluster.masters.rootVolume.iops: 0 is not allowed; use 3000 to 16000 (gp3) or 100 to 64000 (io1, io2), or remove the key for the default 3000 (gp3)",
	"masters.rootVolume.sizeGiB":                             "cluster.masters.rootVolume.sizeGiB: 0 is not allowed; use 20 to 16384, or remove the key for the default 100",
	"masters.rootVolume.throughputMiBps":                     "cluster.masters.rootVolume.throughputMiBps: 0 is not allowed; use 125 to 1000 (gp3 only), or remove the key for the default 125 (gp3)",
	"masters.rootVolume.type":                                "cluster.masters.rootVolume.type: \"\" is not allowed; use gp3, io1 or io2, or remove the key for the default gp3",
	"network.availabilityZones":                              "cluster.network.availabilityZones: [] is not allowed; use zone names of the stack's region, or remove the key for the first azCount zones the region reports",
	"network.azCount":                                        "cluster.network.azCount: 0 is not allowed; use 1 to 6, or remove the key for the default: the number of availabilityZones, else 3",
	"network.flowLogs.destination":                           "cluster.network.flowLogs.destination: \"\" is not allowed; use cloudwatch or s3, or remove the key for the default cloudwatch",
	"network.flowLogs.maxAggregationIntervalSeconds":         "cluster.network.flowLogs.maxAggregationIntervalSeconds: 0 is not allowed; use 60 or 600, or remove the key for the default 600",
	"network.flowLogs.retentionDays":                         "cluster.network.flowLogs.retentionDays: 0 is not allowed; use a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, … 3653), or remove the key for the default (365 with cloudwatch, none with s3)",
	"network.flowLogs.trafficType":                           "cluster.network.flowLogs.trafficType: \"\" is not allowed; use ALL, ACCEPT or REJECT, or remove the key for the default ALL",
	"network.natGateways":                                    "cluster.network.natGateways: \"\" is not allowed; use perAz, single or none, or remove the key for the default perAz",
	"network.privateSubnetPrefixLength":                      "cluster.network.privateSubnetPrefixLength: 0 is not allowed; use a prefix longer than the VPC's, at most 28, or remove the key for the default: the VPC's prefix + 3 (a /19 in a /16)",
	"network.publicSubnetPrefixLength":                       "cluster.network.publicSubnetPrefixLength: 0 is not allowed; use a prefix longer than the VPC's, at most 28, or remove the key for the default: the VPC's prefix + 6 (a /22 in a /16)",
	"network.vpcCidr":                                        "cluster.network.vpcCidr: \"\" is not allowed; use an IPv4 block from /16 to /24 (adopting a VPC: its primary block), or remove the key for the default 10.0.0.0/16",
	"nodePools[].drainTimeoutSeconds":                        "cluster.nodePools[0].drainTimeoutSeconds: 0 is not allowed; use 30 to 7200, or remove the key for the default 900",
	"nodePools[].evictionHard":                               "cluster.nodePools[0].evictionHard: {} is not allowed; use the thresholds to enforce (the map replaces the whole default set), or remove the key for the defaults (memory.available 500Mi, nodefs.available 10%, …)",
	"nodePools[].image.name":                                 "cluster.nodePools[0].image.name: \"\" is not allowed; use a name pattern such as kinfra-node-k8s-v1.37.2-*, or remove the key for the default kinfra-node-k8s-<kubernetes.nodeVersion>-*",
	"nodePools[].image.owners":                               "cluster.nodePools[0].image.owners: [] is not allowed; use self, amazon, aws-marketplace, aws-backup-vault or 12-digit account IDs, or remove the key for the default [self]",
	"nodePools[].image.pipeline":                             "cluster.nodePools[0].image.pipeline: false is not allowed; use an id or a lookup (owners, name, tags) to launch another image, or remove the key for the default: this stack's build",
	"nodePools[].instanceRefresh.instanceWarmupSeconds":      "cluster.nodePools[0].instanceRefresh.instanceWarmupSeconds: 0 is not allowed; use 1 to 3600, or remove the key for the default 300",
	"nodePools[].instanceRefresh.maxHealthyPercentage":       "cluster.nodePools[0].instanceRefresh.maxHealthyPercentage: 0 is not allowed; use 100 to 200, or remove the key for the default 110",
	"nodePools[].instanceTypes":                              "cluster.nodePools[0].instanceTypes: [] is not allowed; use EC2 instance types such as [m7i.2xlarge], or remove the key for the default [m7i.2xlarge] ([m7g.2xlarge] on the pipeline's arm64 image)",
	"nodePools[].kubeReserved":                               "cluster.nodePools[0].kubeReserved: {} is not allowed; use the reservations to override (cpu, memory, ephemeral-storage, pid; the others keep their defaults), or remove the key for the defaults",
	"nodePools[].maxPods":                                    "cluster.nodePools[0].maxPods: 0 is not allowed; use 1 to 1000, or remove the key for the default 110",
	"nodePools[].rootVolume.iops":                            "cluster.nodePools[0].rootVolume.iops: 0 is not allowed; use 3000 to 16000 (gp3) or 100 to 64000 (io1, io2), or remove the key for the default 3000 (gp3)",
	"nodePools[].rootVolume.sizeGiB":                         "cluster.nodePools[0].rootVolume.sizeGiB: 0 is not allowed; use 20 to 16384, or remove the key for the default 100",
	"nodePools[].rootVolume.throughputMiBps":                 "cluster.nodePools[0].rootVolume.throughputMiBps: 0 is not allowed; use 125 to 1000 (gp3 only), or remove the key for the default 125 (gp3)",
	"nodePools[].rootVolume.type":                            "cluster.nodePools[0].rootVolume.type: \"\" is not allowed; use gp3, io1 or io2, or remove the key for the default gp3",
	"nodePools[].spotAllocationStrategy":                     "cluster.nodePools[0].spotAllocationStrategy: \"\" is not allowed; use price-capacity-optimized, capacity-optimized, capacity-optimized-prioritized or lowest-price, or remove the key for the default price-capacity-optimized",
	"nodePools[].systemReserved":                             "cluster.nodePools[0].systemReserved: {} is not allowed; use the reservations to override (cpu, memory, ephemeral-storage, pid; the others keep their defaults), or remove the key for the defaults",
	"nodePools[].zones":                                      "cluster.nodePools[0].zones: [] is not allowed; use zones of cluster.network.availabilityZones, or remove the key for the default: every zone",
	"privateDomain":                                          "cluster.privateDomain: \"\" is not allowed; use a DNS name such as prod-use1.k8s.internal, or remove the key for the default <name>.k8s.internal",
	"region":                                                 "cluster.region: \"\" is not allowed; use the stack's region name (it only asserts aws:region), or remove the key for the stack's aws:region",
}

func TestNullAndDocumentedEmptyValuesKeepTheirMeaning(t *testing.T) {
	c, err := spec.Load([]byte(`{"name":"prod","masters":{"count":null},"network":{"gatewayEndpoints":[]},"backup":{"alarmActions":[]},"alarms":{"actions":["arn:aws:sns:us-east-1:123456789012:oncall"]}}`), "us-east-1")
	require.NoError(t, err)
	require.Equal(t, 3, c.Masters.Count, "null takes the default")
	require.Empty(t, c.Network.GatewayEndpoints, "[] means no gateway endpoints")
	require.NotNil(t, c.Backup.AlarmActions)
	require.Empty(t, c.BackupAlarmActions(), "[] notifies nobody")

	// pipeline: false is the default beside an id, and when the stack builds no images.
	_, err = spec.Load([]byte(`{"name":"prod","masters":{"image":{"pipeline":false,"id":"ami-0123456789abcdef0"}}}`), "us-east-1")
	require.NoError(t, err)
	_, err = spec.Load([]byte(`{"name":"prod","images":{"enabled":false},"masters":{"image":{"pipeline":false}}}`), "us-east-1")
	require.NoError(t, err)
}
