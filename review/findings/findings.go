// Package findings is the safety rule set run over a planned stack. Each rule
// reads the recorded resources (what would really be registered), not the
// config, so it catches mistakes in kinfra's own code as well as in stacks.
package findings

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/spec"
)

// Severity of a finding: an error fails the plan.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Info    Severity = "info"
)

// Finding is one rule's verdict on one resource.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	// Resource is the URN the finding is about ("" for the whole stack).
	Resource string `json:"resource"`
	// Path is the config field a finding of the whole stack is about, e.g.
	// cluster.kubernetes.nodeVersion (kinfra plan diff's version skew).
	Path string `json:"path,omitempty"`
	// Message says what is wrong and how to fix it.
	Message string `json:"message"`
	// Acknowledged is the reason a stack's kinfra:acknowledgements gives
	// for accepting this finding; an acknowledged error does not fail the
	// plan.
	Acknowledged string `json:"acknowledged,omitempty"`
}

// Rule checks a planned stack: its resources, its resolved spec
// (CheckSpec), or (CheckConfig) the plain values of its stack file.
type Rule struct {
	ID       string
	Severity Severity
	// Doc says what the rule protects against.
	Doc   string
	Check func(rs []mockaws.Resource) []Finding
	// CheckSpec reads the stack's spec as the program resolved it (the
	// plan's), for what no resource shows.
	CheckSpec func(c spec.Cluster) []Finding
	// CheckConfig reads the stack's plain config ("namespace:key" to value,
	// objects as JSON), for what no resource or spec field shows.
	CheckConfig func(config map[string]string) []Finding
	// CheckPKI reads the stack's kinfra:pki, when the plan is given it
	// (kinfra plan --pki-file: offline, the value is encrypted).
	CheckPKI func(b *pki.Bundle, now time.Time) []Finding
	// JudgedBy names the report that judges the rule instead of Run
	// ("kinfra plan --failures"); the plain plan leaves its
	// acknowledgements to that report.
	JudgedBy string
}

// ZoneLoss is the rule of kinfra plan --failures on a zone whose loss loses
// etcd's quorum or the API's last master. A stack that is single-zone on
// purpose (a test cluster) acknowledges it.
const ZoneLoss = "failures/zone-loss"

// Rules is kinfra's rule set, in report order. docs/review.md has the same
// table with how to fix each finding.
var Rules = []Rule{
	{ID: "network/flow-logs", Severity: Warning, Doc: "every VPC kinfra creates records its traffic", Check: flowLogs},
	{ID: "network/single-nat", Severity: Warning, Doc: "a single NAT gateway makes every zone's egress depend on one zone", Check: singleNAT},
	{ID: "network/public-ip-on-launch", Severity: Warning, Doc: "no subnet hands out public IPv4 addresses to instances", Check: publicIPOnLaunch},
	{ID: "security-group/world-open", Severity: Error, Doc: "no security group admits the whole internet to a cluster port", Check: worldOpen},
	{ID: "security-group/etcd-masters-only", Severity: Error, Doc: "only the masters reach etcd: every rule admitting TCP 2379-2380 into the masters' group comes from that group itself", Check: etcdMastersOnly},
	{ID: "api/world-open", Severity: Error, Doc: "the API load balancer does not admit the whole internet to the Kubernetes API unless a stack acknowledges it", Check: apiWorldOpen},
	{ID: "instances/imdsv2", Severity: Error, Doc: "every instance kinfra launches requires IMDSv2 tokens, with a hop limit that keeps pods from the instance's credentials", Check: imdsv2},
	{ID: "storage/encrypted", Severity: Error, Doc: "every EBS volume kinfra creates or launches is encrypted", Check: storageEncrypted},
	{ID: "masters/etcd-volume-protected", Severity: Error, Doc: "etcd volumes are protected and retained, so no Pulumi operation deletes the cluster's state", Check: etcdVolumeProtected},
	{ID: "masters/one-refresh-at-a-time", Severity: Error, Doc: "no master group replaces its instance on a stack change (no instance refresh, launch template version left to kinfra roll), and no two share a launch template", Check: oneRefreshAtATime},
	{ID: BackupDisabled, Severity: Error, Doc: "etcd is backed up: a control plane without snapshots loses the cluster's state with a majority of its etcd volumes", Check: backupDisabled},
	{ID: "masters/single-member", Severity: Warning, Doc: "a control plane of one etcd member loses the cluster's state with its volume and stops the API with its instance", Check: singleMaster},
	{ID: "workers/rolled-by-kinfra-roll", Severity: Error, Doc: "no node pool group replaces its nodes on a stack change (no instance refresh, launch template version left to kinfra roll)", Check: poolsRolledByKinfraRoll},
	{ID: "workers/autoscaler-desired-capacity", Severity: Error, Doc: "Pulumi never resets the size cluster-autoscaler gave a group (a warning: a group no autoscaler scales ignores its configured size)", Check: autoscalerDesiredCapacity},
	{ID: "quota/auto-scaling-groups", Severity: Warning, Doc: "the stack creates no more Auto Scaling groups than an account's default quota for a region (500)", Check: autoScalingGroupQuota},
	{ID: "iam/wildcard", Severity: Error, Doc: "no IAM policy allows every action of a service, or an action on every resource when AWS can scope it", Check: iamWildcard},
	{ID: "iam/access-key", Severity: Error, Doc: "no long-lived AWS credential is created: no IAM access key, whose secret would sit in the state and wherever it is handed on", Check: accessKeys},
	{ID: ProxyScale, Severity: Warning, Doc: "kube-proxy's mode syncs the stack's Services (kubernetes.maxServices) within " + proxySyncBudget + ", as measured by the data-plane benchmark", CheckSpec: proxyScale},
	{ID: "addons/deprecated-proxy-mode", Severity: Warning, Doc: "kube-proxy does not run in a mode upstream has deprecated", Check: deprecatedProxyMode},
	{ID: "pki/expiry", Severity: Error, Doc: "no CA and no admin certificate of kinfra:pki expires within 90 days (an error once expired)", CheckPKI: pkiExpiry},
	{ID: ZoneLoss, Severity: Error, Doc: "the cluster survives the loss of any one availability zone: etcd keeps its quorum and the API a master", JudgedBy: "kinfra plan --failures"},
	{ID: "config/aws-access-key", Severity: Warning, Doc: "no plain-text config value holds an AWS access key ID (AKIA… or ASIA…): the stack file is committed", CheckConfig: plainAccessKeys},
}

// Run applies every resource rule and returns the findings ordered by
// severity, rule and resource. A finding has its rule's severity unless its
// check set a lower one.
func Run(rs []mockaws.Resource) []Finding { return RunStack(rs, nil, nil) }

// RunStack applies every rule, to the resources, to the stack's resolved
// spec c and to its plain config (either nil when the caller has none).
func RunStack(rs []mockaws.Resource, config map[string]string, c *spec.Cluster) []Finding {
	out := []Finding{}
	for _, r := range Rules {
		var fs []Finding
		if r.Check != nil {
			fs = append(fs, r.Check(rs)...)
		}
		if r.CheckSpec != nil && c != nil {
			fs = append(fs, r.CheckSpec(*c)...)
		}
		if r.CheckConfig != nil && config != nil {
			fs = append(fs, r.CheckConfig(config)...)
		}
		out = append(out, r.stamp(fs)...)
	}
	sortFindings(out)
	return out
}

// stamp marks each of the rule's findings with its ID, and its severity
// where the finding sets none.
func (r Rule) stamp(fs []Finding) []Finding {
	for i := range fs {
		fs[i].Rule = r.ID
		if fs[i].Severity == "" {
			fs[i].Severity = r.Severity
		}
	}
	return fs
}

// RunPKI applies the rules that read the stack's kinfra:pki, at now.
func RunPKI(b *pki.Bundle, now time.Time) []Finding {
	out := []Finding{}
	for _, r := range Rules {
		if r.CheckPKI == nil {
			continue
		}
		out = append(out, r.stamp(r.CheckPKI(b, now))...)
	}
	sortFindings(out)
	return out
}

// pkiExpiry: the certificates only an operator renews (the CAs, the admin
// certificate), 90 days ahead; the masters renew their own leaves.
func pkiExpiry(b *pki.Bundle, now time.Time) []Finding {
	var out []Finding
	for _, e := range b.Expiries() {
		if !e.Due(now) {
			continue
		}
		f := Finding{Resource: e.Path, Message: e.Message(now)}
		if !e.Expired(now) {
			f.Severity = Warning
		}
		out = append(out, f)
	}
	return out
}

// Sorted orders findings as Run does: by severity, rule and resource.
func Sorted(out []Finding) []Finding {
	sortFindings(out)
	return out
}

func sortFindings(out []Finding) {
	rank := map[Severity]int{Error: 0, Warning: 1, Info: 2}
	sort.SliceStable(out, func(i, j int) bool {
		if rank[out[i].Severity] != rank[out[j].Severity] {
			return rank[out[i].Severity] < rank[out[j].Severity]
		}
		if out[i].Rule != out[j].Rule {
			return out[i].Rule < out[j].Rule
		}
		return out[i].Resource < out[j].Resource
	})
}

// Errors returns the error findings that fail the plan: those no stack
// acknowledgement accepts.
func Errors(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Severity == Error && f.Acknowledged == "" {
			out = append(out, f)
		}
	}
	return out
}

func flowLogs(rs []mockaws.Resource) []Finding {
	logged := map[string]bool{}
	for _, fl := range mockaws.OfType(rs, "aws:ec2/flowLog:FlowLog") {
		logged[mockaws.Str(fl.Inputs["vpcId"])] = true
	}
	var out []Finding
	for _, vpc := range mockaws.OfType(rs, "aws:ec2/vpc:Vpc") {
		if !logged[vpc.ID] {
			out = append(out, Finding{Resource: vpc.URN, Message: "this VPC has no flow log, so its traffic cannot be audited or debugged; set cluster.network.flowLogs.enabled: true"})
		}
	}
	return out
}

func singleNAT(rs []mockaws.Resource) []Finding {
	users := map[string]int{}
	for _, r := range mockaws.OfType(rs, "aws:ec2/route:Route") {
		if nat := mockaws.Str(r.Inputs["natGatewayId"]); nat != "" {
			users[nat]++
		}
	}
	var out []Finding
	for _, nat := range mockaws.OfType(rs, "aws:ec2/natGateway:NatGateway") {
		if n := users[nat.ID]; n > 1 {
			out = append(out, Finding{Resource: nat.URN, Message: fmt.Sprintf("%d zones send their IPv4 egress through this one NAT gateway; if its zone fails, they all lose egress. Use cluster.network.natGateways: perAz for production", n)})
		}
	}
	return out
}

func publicIPOnLaunch(rs []mockaws.Resource) []Finding {
	var out []Finding
	for _, s := range mockaws.OfType(rs, "aws:ec2/subnet:Subnet") {
		if on, _ := s.Inputs["mapPublicIpOnLaunch"].(bool); on {
			out = append(out, Finding{Resource: s.URN, Message: "instances launched here get public IPv4 addresses; set mapPublicIpOnLaunch false and reach them through load balancers"})
		}
	}
	return out
}

func singleMaster(rs []mockaws.Resource) []Finding {
	var etcd []mockaws.Resource
	for _, v := range mockaws.OfType(rs, ebsVolumeType) {
		if tags.IsEtcdVolume(mockaws.Tags(v.Inputs)) {
			etcd = append(etcd, v)
		}
	}
	if len(etcd) != 1 {
		return nil
	}
	return []Finding{{Resource: etcd[0].URN, Message: "the control plane has one etcd member: losing its zone or volume stops or loses the cluster. Use cluster.masters.count: 3 (or 5) for anything but a test cluster"}}
}

// deprecatedProxyModes are kube-proxy modes upstream has deprecated, and why.
var deprecatedProxyModes = map[string]string{
	"ipvs": "ipvs is deprecated upstream since Kubernetes v1.35 and will be removed; use cluster.kubeProxy.mode: nftables (same scale without IPVS's iptables side tables), or let the CNI replace kube-proxy",
}

// deprecatedProxyMode reads the mode from every KubeProxyConfiguration the
// stack deploys.
func deprecatedProxyMode(rs []mockaws.Resource) []Finding {
	var out []Finding
	for _, cm := range mockaws.OfType(rs, "kubernetes:core/v1:ConfigMap") {
		data, _ := cm.Inputs["data"].(map[string]any)
		config := mockaws.Str(data["config.conf"])
		if !strings.Contains(config, "kind: KubeProxyConfiguration") {
			continue
		}
		for _, line := range strings.Split(config, "\n") {
			mode, ok := strings.CutPrefix(line, "mode: ")
			if why, deprecated := deprecatedProxyModes[strings.TrimSpace(mode)]; ok && deprecated {
				out = append(out, Finding{Resource: cm.URN, Message: why})
			}
		}
	}
	return out
}

func port(v any) int {
	f, _ := v.(float64)
	return int(f)
}
