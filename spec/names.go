package spec

import (
	"fmt"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/awsnames"
	"github.com/kinfra-dev/kinfra/internal/validate"
)

// APILoadBalancerName is the API load balancer's AWS name, and the API
// target group's when the target group's autoname would not fit AWS's 32
// characters.
func APILoadBalancerName(cluster string) string { return cluster + "-api" }

// IssuerBucketName is the bucket that publishes cluster's service-account
// issuer discovery documents (internal/irsa). S3 names are global, so the
// account and region make it unique, as BackupBucketName does; it is as
// long as that name.
func IssuerBucketName(cluster, account, region string) string {
	return fmt.Sprintf("%s-oidc-%s-%s", cluster, account, region)
}

// awsName is one AWS name kinfra makes from the cluster's (and a pool's)
// name. pattern holds {cluster}, {pool}, {account} (12 digits) and {region};
// for an autonamed resource it is the logical name, to which the provider
// adds awsnames.AutonameSuffix characters.
type awsName struct {
	typ       string
	pattern   string
	autonamed bool
}

// clusterNames are the longest name of each kind the cluster program
// makes from cluster.name alone, whether or not the feature that creates it
// is on (a cluster name valid today stays valid when backups or the
// termination queue are turned on). The stack tests plan stacks at the
// limits derived from this table and check every recorded resource against
// awsnames.Limits, so a component that makes a longer name fails them.
var clusterNames = []awsName{
	{awsnames.LoadBalancer, "{cluster}-api", false},
	{awsnames.TargetGroup, "{cluster}-api", false}, // when its autoname would not fit
	{awsnames.Role, "{cluster}-masters-master-0", true},
	{awsnames.Role, "{cluster}-termination-hooks", true},
	{awsnames.Role, "{cluster}-network-flow-logs", true},
	{awsnames.InstanceProfile, "{cluster}-masters-master-0", true},
	{awsnames.Policy, "{cluster}-addons-controllers", true},
	{awsnames.RolePolicy, "{cluster}-masters-master-0", true},
	{awsnames.Role, "{cluster}-addons-ebs-csi", true},
	{awsnames.RolePolicy, "{cluster}-addons-ebs-csi", true},
	{awsnames.LaunchTemplate, "{cluster}-masters-master-0", true},
	{awsnames.AutoScaling, "{cluster}-masters-master-0", true},
	{awsnames.SecurityGroup, "{cluster}-network-endpoints", true},
	{awsnames.EventRule, "{cluster}-termination-spot-interruption", true},
	{awsnames.Queue, "{cluster}-node-termination", false},
	{awsnames.MetricAlarm, "{cluster}-etcd-backup-age", false},
	{awsnames.MetricAlarm, "{cluster}-master-boot-failed", false},
	{awsnames.LogGroup, "/kinfra/{cluster}-network/flow-logs", false},
	{awsnames.KMSAlias, "alias/kinfra/{cluster}", false},
	{awsnames.SSMParameter, "/kinfra/{cluster}/control-plane/encryption-config.yaml", false},
	{awsnames.Bucket, "{cluster}-etcd-{account}-{region}", false}, // BackupBucketName
	{awsnames.Bucket, "{cluster}-oidc-{account}-{region}", false}, // IssuerBucketName
	{awsnames.IBComponent, "kinfra-{cluster}-containerd-xxxxxxxx", false},
	{awsnames.IBRecipe, "kinfra-{cluster}-master-xxxxxxxx", false},
	{awsnames.IBInfra, "kinfra-{cluster}-builder", false},
}

// poolNames are the longest names made from a node pool's name (and the
// cluster's).
var poolNames = []awsName{
	{awsnames.Role, "{cluster}-pool-{pool}-node", true},
	{awsnames.InstanceProfile, "{cluster}-pool-{pool}-node", true},
	{awsnames.RolePolicy, "{cluster}-pool-{pool}-node", true},
	{awsnames.LaunchTemplate, "{cluster}-pool-{pool}", true},
	{awsnames.AutoScaling, "{cluster}-pool-{pool}", true},
	{awsnames.LifecycleHook, "{cluster}-pool-{pool}-drain", true},
}

// longestRegion is the longest region name, for limits that hold in any
// region.
const longestRegion = "ap-southeast-2"

// fill renders a pattern; the length an AWS name made from it takes.
func (n awsName) fill(cluster, pool, region string) (string, int) {
	if region == "" {
		region = longestRegion
	}
	s := strings.NewReplacer("{cluster}", cluster, "{pool}", pool, "{account}", "123456789012", "{region}", region).Replace(n.pattern)
	if n.autonamed {
		return s + "-xxxxxxx", awsnames.Autoname(s)
	}
	return s, len(s)
}

// room is how many characters of the placeholder the name leaves when the
// other placeholders are as given.
func (n awsName) room(placeholder, cluster, pool, region string) int {
	fixed := n
	fixed.pattern = strings.ReplaceAll(n.pattern, placeholder, "")
	_, l := fixed.fill(cluster, pool, region)
	return (awsnames.Limits[n.typ].Max - l) / max(1, strings.Count(n.pattern, placeholder))
}

// binding is the name of names that leaves the fewest characters for the
// placeholder, and how many it leaves.
func binding(names []awsName, placeholder, cluster, pool, region string) (awsName, int) {
	best, most := names[0], names[0].room(placeholder, cluster, pool, region)
	for _, n := range names[1:] {
		if r := n.room(placeholder, cluster, pool, region); r < most {
			best, most = n, r
		}
	}
	return best, most
}

// MaxClusterName is the longest cluster.name in region ("" for any region):
// the tightest AWS name limit among the names kinfra makes from it.
func MaxClusterName(region string) int {
	_, n := binding(clusterNames, "{cluster}", "", "", region)
	return min(n, 63) // and a DNS label (the private domain's first)
}

// MaxNodePoolName is the longest node pool name a cluster named cluster
// allows.
func MaxNodePoolName(cluster string) int {
	_, n := binding(poolNames, "{pool}", cluster, "", "")
	return min(n, 63) // and a label value (kinfra.dev/node-pool)
}

// checkNameLengths: every AWS name made from the cluster's and the pools'
// names fits its type's limit.
func (c Cluster) checkNameLengths() validate.Errors {
	var errs validate.Errors
	if c.Name == "" || !dnsLabel.MatchString(c.Name) {
		return errs // reported as not a DNS label
	}
	if n, room := binding(clusterNames, "{cluster}", "", "", c.Region); len(c.Name) > room {
		errs.Addf("cluster.name", "%q is %d characters; at most %d are allowed%s, because %s",
			c.Name, len(c.Name), room, inRegion(c.Region), n.explain(c.Name, "", c.Region))
		return errs // every pool would echo it
	}
	for i, p := range c.NodePools {
		if p.Name == "" || !dnsLabel.MatchString(p.Name) {
			continue
		}
		if n, room := binding(poolNames, "{pool}", c.Name, "", c.Region); len(p.Name) > room {
			errs.Addf(fmt.Sprintf("cluster.nodePools[%d].name", i), "%q is %d characters; with cluster name %q (%d characters) at most %d are allowed, because %s",
				p.Name, len(p.Name), c.Name, len(c.Name), room, n.explain(c.Name, p.Name, c.Region))
		}
	}
	return errs
}

func inRegion(region string) string {
	if region == "" {
		return ""
	}
	return " in " + region
}

// explain says which AWS name would be too long, and by how much.
func (n awsName) explain(cluster, pool, region string) string {
	l := awsnames.Limits[n.typ]
	name, length := n.fill(cluster, pool, region)
	how := "its name"
	if n.autonamed {
		how = "its name (Pulumi's autoname: the logical name, '-' and 7 random characters)"
	}
	return fmt.Sprintf("the %s kinfra creates would be named %q: %s is %d characters, and AWS allows %s name of at most %d", l.What, validate.Shorten(name), how, length, article(l.What), l.Max)
}
