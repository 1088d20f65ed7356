package bootstrap

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/internal/yamldoc"
)

// Paths on the workers. The boot script reads the same defaults.
const (
	NodeEnvPath          = KinfraDir + "/node.env"
	NodeJoinTemplatePath = KinfraDir + "/kubeadm-join.yaml.tmpl"
	NodePatchesDir       = KinfraDir + "/patches"
	// KubeletPatchPath is a kubeadm patch of the kubelet's configuration
	// (target kubeletconfiguration, JSON merge patch), applied over the
	// cluster-wide kubelet-config that kubeadm join downloads.
	KubeletPatchPath  = NodePatchesDir + "/kubeletconfiguration+merge.yaml"
	NodeBootPath      = "/usr/local/sbin/kinfra-node-boot"
	NodeBootUnitPath  = "/etc/systemd/system/kinfra-node.service"
	TokenPlaceholder  = "@BOOTSTRAP_TOKEN@"
	NodeNameHolder    = "@NODE_NAME@"
	kubeletAPIVersion = "kubelet.config.k8s.io/v1beta1"
)

// Taint is a node taint.
type Taint struct {
	Key, Value, Effect string
}

// Node is everything one node pool's user data depends on. All values are
// plain: the component resolves them before rendering.
type Node struct {
	ClusterName string
	Region      string
	Pool        string
	// APIName is the API's stable DNS name (api.<domain>).
	APIName string
	// CACertHash pins the cluster CA for token discovery (sha256:…).
	CACertHash string
	// ParameterPrefix is the SSM path of the cluster's PKI (/kinfra/<name>);
	// nodes read only its join group.
	ParameterPrefix string
	Labels          map[string]string
	Taints          []Taint
	MaxPods         int
	KubeReserved    map[string]string
	SystemReserved  map[string]string
	EvictionHard    map[string]string
}

var caHash = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Render renders the pool's user data.
func (n Node) Render() (Rendered, error) {
	if err := n.check(); err != nil {
		return Rendered{}, err
	}
	env, err := n.env()
	if err != nil {
		return Rendered{}, err
	}
	join, err := n.JoinTemplate()
	if err != nil {
		return Rendered{}, err
	}
	kubelet, err := n.KubeletPatch()
	if err != nil {
		return Rendered{}, err
	}
	files := []File{
		{NodeEnvPath, "0644", "root:root", env},
		{NodeJoinTemplatePath, "0600", "root:root", join},
		{KubeletPatchPath, "0644", "root:root", kubelet},
		{NodeBootPath, "0755", "root:root", asset("kinfra-node-boot.sh")},
		{NodeBootUnitPath, "0644", "root:root", asset("kinfra-node.service")},
	}
	return cloudConfig(files, "kinfra-node.service")
}

func (n Node) check() error {
	var problems []string
	for name, v := range map[string]string{
		"ClusterName": n.ClusterName, "Region": n.Region, "Pool": n.Pool, "APIName": n.APIName,
		"ParameterPrefix": n.ParameterPrefix,
	} {
		if v == "" || !safeValue.MatchString(v) {
			problems = append(problems, fmt.Sprintf("%s %q", name, v))
		}
	}
	if !caHash.MatchString(n.CACertHash) {
		problems = append(problems, fmt.Sprintf("CACertHash %q", n.CACertHash))
	}
	if n.MaxPods < 1 {
		problems = append(problems, fmt.Sprintf("MaxPods %d", n.MaxPods))
	}
	for k, v := range n.Labels {
		// node-labels is one comma-separated flag value.
		if strings.ContainsAny(k+v, ",= \n") {
			problems = append(problems, fmt.Sprintf("label %q=%q", k, v))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("bootstrap: cannot render node pool: bad %s", strings.Join(problems, ", "))
	}
	return nil
}

func (n Node) env() (string, error) {
	vars := [][2]string{
		{"CLUSTER", n.ClusterName},
		{"POOL", n.Pool},
		{"REGION", n.Region},
		{"PARAMETER_PREFIX", n.ParameterPrefix},
		{"API_ENDPOINT", fmt.Sprintf("%s:%d", n.APIName, APIPort)},
		{"CRI_SOCKET", ContainerdSocket},
	}
	return envFile("# kinfra node pool settings, read by "+NodeBootPath+".", vars)
}

// JoinTemplate is the pool's kubeadm JoinConfiguration with the node name and
// bootstrap token as placeholders, which the boot script fills in at boot
// (the token comes from SSM, the name from instance metadata).
func (n Node) JoinTemplate() (string, error) {
	var taints []taint
	for _, t := range n.Taints {
		taints = append(taints, taint{Key: t.Key, Value: t.Value, Effect: t.Effect})
	}
	if taints == nil {
		// kubeadm reads a missing list as "no taints" for workers too, but
		// an explicit empty list says so to the reader.
		taints = []taint{}
	}
	args := []Arg{{"cloud-provider", "external"}}
	if labels := n.nodeLabels(); labels != "" {
		args = append(args, Arg{"node-labels", labels})
	}
	join := joinConfiguration{
		typeMeta: typeMeta{kubeadmAPIVersion, "JoinConfiguration"},
		NodeRegistration: nodeRegistration{
			Name:             NodeNameHolder,
			CRISocket:        ContainerdSocket,
			KubeletExtraArgs: args,
			Taints:           taints,
		},
		Discovery: discovery{
			BootstrapToken: &bootstrapTokenDiscovery{
				APIServerEndpoint: fmt.Sprintf("%s:%d", n.APIName, APIPort),
				Token:             TokenPlaceholder,
				CACertHashes:      []string{n.CACertHash},
			},
			TLSBootstrapToken: TokenPlaceholder,
		},
		Patches: &patches{Directory: NodePatchesDir},
	}
	return yamldoc.MarshalDocs(join)
}

func (n Node) nodeLabels() string {
	keys := make([]string, 0, len(n.Labels))
	for k := range n.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+n.Labels[k])
	}
	return strings.Join(parts, ",")
}

// KubeletPatch is the pool's KubeletConfiguration: what differs from the
// cluster-wide kubelet configuration kubeadm keeps.
func (n Node) KubeletPatch() (string, error) {
	doc := yamldoc.Map{
		{"apiVersion", kubeletAPIVersion},
		{"kind", "KubeletConfiguration"},
		{"maxPods", n.MaxPods},
	}
	for _, m := range []struct {
		key    string
		values map[string]string
	}{
		{"kubeReserved", n.KubeReserved},
		{"systemReserved", n.SystemReserved},
		{"evictionHard", n.EvictionHard},
	} {
		if len(m.values) > 0 {
			doc = append(doc, [2]any{m.key, yamldoc.Sorted(m.values)})
		}
	}
	// Pull images in parallel: a node of hundreds of pods starts many at
	// once, and serial pulls make one slow image delay every other pod.
	doc = append(doc, [2]any{"serializeImagePulls", false}, [2]any{"maxParallelImagePulls", 10})
	var node yaml.Node
	if err := node.Encode(doc); err != nil {
		return "", err
	}
	return yamldoc.Marshal(&node)
}
