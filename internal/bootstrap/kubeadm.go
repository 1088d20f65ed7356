package bootstrap

// The subset of kubeadm's v1beta4 API kinfra renders. Field names follow
// k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/v1beta4; the tests run every
// rendered document through the real `kubeadm config validate`, which
// rejects unknown fields, so a mistake here cannot go unnoticed.

const kubeadmAPIVersion = "kubeadm.k8s.io/v1beta4"

type typeMeta struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
}

// Arg is one component flag (v1beta4 lists flags as name/value pairs, in
// order, so they diff well).
type Arg struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

type hostPathMount struct {
	Name      string `yaml:"name"`
	HostPath  string `yaml:"hostPath"`
	MountPath string `yaml:"mountPath"`
	ReadOnly  bool   `yaml:"readOnly,omitempty"`
	PathType  string `yaml:"pathType,omitempty"`
}

type controlPlaneComponent struct {
	ExtraArgs    []Arg           `yaml:"extraArgs,omitempty"`
	ExtraVolumes []hostPathMount `yaml:"extraVolumes,omitempty"`
}

type apiServer struct {
	controlPlaneComponent `yaml:",inline"`
	CertSANs              []string `yaml:"certSANs,omitempty"`
}

type externalEtcd struct {
	Endpoints []string `yaml:"endpoints"`
	CAFile    string   `yaml:"caFile"`
	CertFile  string   `yaml:"certFile"`
	KeyFile   string   `yaml:"keyFile"`
}

type etcdConfig struct {
	External externalEtcd `yaml:"external"`
}

type networking struct {
	ServiceSubnet string `yaml:"serviceSubnet"`
	PodSubnet     string `yaml:"podSubnet"`
	DNSDomain     string `yaml:"dnsDomain"`
}

type clusterConfiguration struct {
	typeMeta             `yaml:",inline"`
	ClusterName          string                `yaml:"clusterName"`
	KubernetesVersion    string                `yaml:"kubernetesVersion"`
	ControlPlaneEndpoint string                `yaml:"controlPlaneEndpoint"`
	CertificatesDir      string                `yaml:"certificatesDir"`
	EncryptionAlgorithm  string                `yaml:"encryptionAlgorithm"`
	Networking           networking            `yaml:"networking"`
	Etcd                 etcdConfig            `yaml:"etcd"`
	APIServer            apiServer             `yaml:"apiServer"`
	ControllerManager    controlPlaneComponent `yaml:"controllerManager"`
	Scheduler            controlPlaneComponent `yaml:"scheduler"`
}

type taint struct {
	Key    string `yaml:"key"`
	Value  string `yaml:"value,omitempty"`
	Effect string `yaml:"effect"`
}

type nodeRegistration struct {
	Name             string  `yaml:"name,omitempty"`
	CRISocket        string  `yaml:"criSocket"`
	KubeletExtraArgs []Arg   `yaml:"kubeletExtraArgs,omitempty"`
	Taints           []taint `yaml:"taints"`
}

type initConfiguration struct {
	typeMeta         `yaml:",inline"`
	NodeRegistration nodeRegistration `yaml:"nodeRegistration"`
	SkipPhases       []string         `yaml:"skipPhases,omitempty"`
}

type bootstrapTokenDiscovery struct {
	APIServerEndpoint string   `yaml:"apiServerEndpoint"`
	Token             string   `yaml:"token"`
	CACertHashes      []string `yaml:"caCertHashes"`
}

type discovery struct {
	BootstrapToken    *bootstrapTokenDiscovery `yaml:"bootstrapToken,omitempty"`
	TLSBootstrapToken string                   `yaml:"tlsBootstrapToken,omitempty"`
}

type patches struct {
	Directory string `yaml:"directory"`
}

type joinConfiguration struct {
	typeMeta         `yaml:",inline"`
	NodeRegistration nodeRegistration `yaml:"nodeRegistration"`
	Discovery        discovery        `yaml:"discovery"`
	SkipPhases       []string         `yaml:"skipPhases,omitempty"`
	Patches          *patches         `yaml:"patches,omitempty"`
}
