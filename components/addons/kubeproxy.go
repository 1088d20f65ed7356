package addons

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/after"
	"github.com/kinfra-dev/kinfra/internal/kubeconfig"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/yamldoc"
	"github.com/kinfra-dev/kinfra/spec"
)

// kube-proxy's fixed names and paths.
const (
	KubeProxyName      = "kube-proxy"
	kubeProxyConfigDir = "/var/lib/kube-proxy"
	// ProxyHealthzPort serves /healthz (load balancers' health checks of
	// externalTrafficPolicy: Local Services) and /livez.
	ProxyHealthzPort = 10256
	// ConfigHashAnnotation on the pod template carries the hash of the
	// ConfigMap, so that a configuration change (a mode switch) rolls the
	// DaemonSet; kube-proxy reads its file only at start.
	ConfigHashAnnotation = tags.Prefix + "config-hash"
)

// KubeProxy is the kinfra:addons:KubeProxy component.
type KubeProxy struct {
	pulumi.ResourceState

	// Config is the rendered KubeProxyConfiguration.
	Config string
	// DaemonSet runs kube-proxy on every node.
	DaemonSet *appsv1.DaemonSet
}

// KubeProxyConfiguration renders kube-proxy's configuration file for a
// cluster (kubeproxy.config.k8s.io/v1alpha1).
func KubeProxyConfiguration(c spec.Cluster) (string, error) {
	k := c.KubeProxy
	if k.Mode == spec.ProxyNone {
		return "", fmt.Errorf("kube-proxy: mode none: the CNI replaces kube-proxy, which is not deployed")
	}
	seconds := func(n int) string { return fmt.Sprintf("%ds", n) }
	sync := yamldoc.Map{
		{"syncPeriod", seconds(k.SyncPeriodSeconds)},
		{"minSyncPeriod", seconds(*k.MinSyncPeriodSeconds)},
	}
	switch k.Mode {
	case spec.ProxyIPTables:
		// NodePorts on 127.0.0.1 need route_localnet, which exposes
		// localhost-bound services to the node's network.
		sync = append(sync, [2]any{"localhostNodePorts", false})
	case spec.ProxyIPVS:
		sync = append(sync, [2]any{"scheduler", "rr"})
	}
	return yamldoc.Marshal(yamldoc.Map{
		{"apiVersion", "kubeproxy.config.k8s.io/v1alpha1"},
		{"kind", "KubeProxyConfiguration"},
		{"mode", k.Mode},
		{"clientConnection", yamldoc.Map{{"kubeconfig", kubeProxyConfigDir + "/kubeconfig.conf"}}},
		// Traffic from the pod block is local; everything else is
		// masqueraded when it leaves for a Service backend elsewhere.
		{"clusterCIDR", c.Kubernetes.PodCidr},
		{"detectLocalMode", "ClusterCIDR"},
		// NodePorts answer on the node's primary address only, not on
		// every address a CNI adds.
		{"nodePortAddresses", []string{"primary"}},
		{"metricsBindAddress", k.MetricsBindAddress},
		{"healthzBindAddress", fmt.Sprintf("0.0.0.0:%d", ProxyHealthzPort)},
		{"conntrack", yamldoc.Map{
			{"maxPerCore", *k.Conntrack.MaxPerCore},
			{"min", *k.Conntrack.Min},
			{"tcpEstablishedTimeout", seconds(k.Conntrack.TCPEstablishedTimeoutSeconds)},
			{"tcpCloseWaitTimeout", seconds(k.Conntrack.TCPCloseWaitTimeoutSeconds)},
		}},
		{k.Mode, sync},
	})
}

// kubeProxy deploys kube-proxy: its service account bound to the built-in
// system:node-proxier role, its configuration and its DaemonSet.
func (b *builder) kubeProxy() (*KubeProxy, error) {
	config, err := KubeProxyConfiguration(b.c)
	if err != nil {
		return nil, err
	}
	kc, err := kubeconfig.InCluster(b.apiServer())
	if err != nil {
		return nil, err
	}
	out := &KubeProxy{Config: config}
	if err := b.component("KubeProxy", "kube-proxy", out); err != nil {
		return nil, err
	}
	name := b.name + "-kube-proxy"
	meta := &metav1.ObjectMetaArgs{
		Name: pulumi.String(KubeProxyName), Namespace: pulumi.String("kube-system"),
		Labels: pulumi.StringMap{"k8s-app": pulumi.String(KubeProxyName), "app.kubernetes.io/managed-by": pulumi.String("kinfra")},
	}
	sa, err := corev1.NewServiceAccount(b.ctx, name, &corev1.ServiceAccountArgs{Metadata: meta}, b.k8s(out)...)
	if err != nil {
		return nil, err
	}
	binding, err := rbacv1.NewClusterRoleBinding(b.ctx, name, &rbacv1.ClusterRoleBindingArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("kinfra:node-proxier"), Labels: meta.Labels},
		RoleRef: &rbacv1.RoleRefArgs{
			ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("ClusterRole"), Name: pulumi.String("system:node-proxier"),
		},
		Subjects: rbacv1.SubjectArray{&rbacv1.SubjectArgs{
			Kind: pulumi.String("ServiceAccount"), Name: pulumi.String(KubeProxyName), Namespace: pulumi.String("kube-system"),
		}},
	}, b.k8s(out)...)
	if err != nil {
		return nil, err
	}
	data := map[string]string{"config.conf": config, "kubeconfig.conf": kc}
	cm, err := corev1.NewConfigMap(b.ctx, name, &corev1.ConfigMapArgs{
		Metadata: meta, Data: pulumi.ToStringMap(data),
	}, b.k8s(out)...)
	if err != nil {
		return nil, err
	}
	labels := pulumi.StringMap{"k8s-app": pulumi.String(KubeProxyName)}
	hostPath := func(vol, path, typ string) *corev1.VolumeArgs {
		return &corev1.VolumeArgs{Name: pulumi.String(vol), HostPath: &corev1.HostPathVolumeSourceArgs{Path: pulumi.String(path), Type: pulumi.String(typ)}}
	}
	out.DaemonSet, err = appsv1.NewDaemonSet(b.ctx, name, &appsv1.DaemonSetArgs{
		Metadata: meta,
		Spec: &appsv1.DaemonSetSpecArgs{
			Selector: &metav1.LabelSelectorArgs{MatchLabels: labels},
			// Thousands of nodes: a rollout one node at a time would take
			// hours. A restarting kube-proxy keeps its rules in place.
			UpdateStrategy: &appsv1.DaemonSetUpdateStrategyArgs{
				Type:          pulumi.String("RollingUpdate"),
				RollingUpdate: &appsv1.RollingUpdateDaemonSetArgs{MaxUnavailable: pulumi.String("10%")},
			},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{
					Labels:      labels,
					Annotations: pulumi.StringMap{ConfigHashAnnotation: pulumi.String(hash(config, kc))},
				},
				Spec: &corev1.PodSpecArgs{
					ServiceAccountName: pulumi.String(KubeProxyName),
					PriorityClassName:  pulumi.String("system-node-critical"),
					HostNetwork:        pulumi.Bool(true),
					NodeSelector:       pulumi.StringMap{"kubernetes.io/os": pulumi.String("linux")},
					// Every node, whatever its taints: Services must work
					// everywhere, masters included.
					Tolerations: corev1.TolerationArray{&corev1.TolerationArgs{Operator: pulumi.String("Exists")}},
					Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						Name:  pulumi.String(KubeProxyName),
						Image: pulumi.String(b.c.KubeProxy.Image),
						Command: pulumi.ToStringArray([]string{
							"/usr/local/bin/kube-proxy",
							"--config=" + kubeProxyConfigDir + "/config.conf",
							"--hostname-override=$(NODE_NAME)",
						}),
						Env: corev1.EnvVarArray{&corev1.EnvVarArgs{
							Name:      pulumi.String("NODE_NAME"),
							ValueFrom: &corev1.EnvVarSourceArgs{FieldRef: &corev1.ObjectFieldSelectorArgs{FieldPath: pulumi.String("spec.nodeName")}},
						}},
						SecurityContext: &corev1.SecurityContextArgs{Privileged: pulumi.Bool(true)},
						// Memory grows with Services and endpoints; no limit,
						// since an OOM-killed kube-proxy stops Service
						// changes on its node.
						Resources: &corev1.ResourceRequirementsArgs{Requests: pulumi.StringMap{
							"cpu": pulumi.String("100m"), "memory": pulumi.String("256Mi"),
						}},
						LivenessProbe: &corev1.ProbeArgs{
							HttpGet: &corev1.HTTPGetActionArgs{
								Host: pulumi.String("127.0.0.1"), Path: pulumi.String("/livez"), Port: pulumi.Int(ProxyHealthzPort),
							},
							InitialDelaySeconds: pulumi.Int(15), PeriodSeconds: pulumi.Int(10), FailureThreshold: pulumi.Int(6),
						},
						VolumeMounts: corev1.VolumeMountArray{
							&corev1.VolumeMountArgs{Name: pulumi.String(KubeProxyName), MountPath: pulumi.String(kubeProxyConfigDir), ReadOnly: pulumi.Bool(true)},
							&corev1.VolumeMountArgs{Name: pulumi.String("xtables-lock"), MountPath: pulumi.String("/run/xtables.lock")},
							&corev1.VolumeMountArgs{Name: pulumi.String("lib-modules"), MountPath: pulumi.String("/lib/modules"), ReadOnly: pulumi.Bool(true)},
						},
					}},
					Volumes: corev1.VolumeArray{
						&corev1.VolumeArgs{Name: pulumi.String(KubeProxyName), ConfigMap: &corev1.ConfigMapVolumeSourceArgs{Name: pulumi.String(KubeProxyName)}},
						// Shared with every other iptables user on the node.
						hostPath("xtables-lock", "/run/xtables.lock", "FileOrCreate"),
						hostPath("lib-modules", "/lib/modules", "Directory"),
					},
				},
			},
		},
	}, b.k8s(out, after.All(sa, binding, cm))...)
	if err != nil {
		return nil, err
	}
	if err := b.ctx.RegisterResourceOutputs(out, pulumi.Map{"mode": pulumi.String(b.c.KubeProxy.Mode)}); err != nil {
		return nil, err
	}
	return out, nil
}

// hash is a short content hash of parts, for pod template annotations.
func hash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
