package spec

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/cidr"
	"github.com/kinfra-dev/kinfra/internal/validate"
)

var amiID = regexp.MustCompile(`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`)

var hostedZoneID = regexp.MustCompile(`^Z[A-Z0-9]{1,31}$`)

var imageOwner = regexp.MustCompile(`^(self|amazon|aws-marketplace|aws-backup-vault|[0-9]{12})$`)

var dnsName = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]([-a-z0-9]*[a-z0-9])?$`)

// checkControlPlane validates what the masters component builds: the
// Kubernetes versions (the masters', and the nodes' against them), the
// private domain, the masters' machines and volumes,
// the API endpoint and the CNI's needs. Member count and zone placement are
// checked by validateMasters.
func (c Cluster) checkControlPlane() validate.Errors {
	var errs validate.Errors
	errs.Append(c.Kubernetes.checkVersions())
	if c.PrivateDomain != "" && (len(c.PrivateDomain) > 200 || !dnsName.MatchString(c.PrivateDomain)) {
		errs.Addf("cluster.privateDomain", "%q is not a DNS name; use lowercase labels joined by dots, at most 200 characters (e.g. prod-use1.k8s.internal)", c.PrivateDomain)
	}
	m := c.Masters
	if arch, ok := checkInstanceType(&errs, "cluster.masters.instanceType", m.InstanceType); ok && m.Image.Pipeline {
		c.Images.checkPipelineArch(&errs, "cluster.masters.instanceType", m.InstanceType, arch, "give the masters their own image")
	}
	errs.Append(m.Image.check("cluster.masters.image", c.Images.On()))
	errs.Append(m.RootVolume.check("cluster.masters.rootVolume", MinRootVolumeGiB))
	errs.Append(m.EtcdVolume.check("cluster.masters.etcdVolume", MinEtcdVolumeGiB))
	if m.Roll != nil {
		errs.Addf("cluster.masters.roll", "%d: the key is gone; remove it. Every master slot's launch template now follows the stack, `pulumi up` replaces no master, and `kinfra roll --stack <stack>` replaces them one slot at a time once each is healthy (README, 'Upgrading a cluster')", *m.Roll)
	}
	if c.Network.Existing == nil && c.Network.NatGateways == NATNone {
		errs.Addf("cluster.network.natGateways", "none leaves the masters no route to the Route53 API, which has no VPC endpoint: each master points its etcd-<slot> record at itself at boot. Use single or perAz (bulk traffic still takes the VPC endpoints)")
	}
	errs.Append(c.API.check("cluster.api", c.Network.Existing))
	errs.Append(c.CNI.check("cluster.cni"))
	return errs
}

func (i Image) check(path string, pipeline bool) validate.Errors {
	var errs validate.Errors
	if i.Pipeline {
		if !pipeline {
			errs.Addf(path+".pipeline", "true, but this stack builds no images (cluster.images.enabled is false); give an id or a lookup")
		}
		if i.ID != "" || len(i.Owners) > 0 || i.Name != "" || len(i.Tags) > 0 {
			errs.Addf(path, "pipeline and an id or lookup are both set; give one")
		}
		return errs
	}
	if i.ID != "" {
		if !amiID.MatchString(i.ID) {
			errs.Addf(path+".id", "%q is not an AMI ID (ami- and 8 or 17 hex digits)", i.ID)
		}
		if len(i.Owners) > 0 || i.Name != "" || len(i.Tags) > 0 {
			errs.Addf(path, "id and a lookup (owners, name, tags) are both set; give one: the ID wins silently otherwise")
		}
		return errs
	}
	for j, o := range i.Owners {
		if !imageOwner.MatchString(o) {
			errs.Addf(fmt.Sprintf("%s.owners[%d]", path, j), "%q is not an image owner; use self, amazon, aws-marketplace or a 12-digit account ID", o)
		}
	}
	if strings.TrimSpace(i.Name) == "" {
		errs.Addf(path+".name", "required for a lookup; a name pattern such as kinfra-master-k8s-v1.37.2-*")
	}
	return errs
}

// Volume sizes kinfra accepts. etcd's backend is capped at 8 GiB (its
// quota), and its write-ahead log and snapshots need room beside it.
const (
	MinRootVolumeGiB = 20
	MinEtcdVolumeGiB = 20
	// MaxVolumeGiB is EBS's largest gp3, io1 and io2 volume.
	MaxVolumeGiB = 16384
)

func (v Volume) check(path string, minGiB int) validate.Errors {
	var errs validate.Errors
	if v.SizeGiB < minGiB || v.SizeGiB > MaxVolumeGiB {
		errs.Addf(path+".sizeGiB", "%d is not allowed; use %d to %d GiB", v.SizeGiB, minGiB, MaxVolumeGiB)
	}
	switch v.Type {
	case "gp3":
		if v.Iops < 3000 || v.Iops > 16000 {
			errs.Addf(path+".iops", "%d is not allowed for gp3; use 3000 to 16000", v.Iops)
		} else if v.SizeGiB >= minGiB && v.Iops > 500*v.SizeGiB {
			errs.Addf(path+".iops", "%d is more than gp3 allows for %d GiB (500 IOPS per GiB); use at most %d or a larger volume", v.Iops, v.SizeGiB, 500*v.SizeGiB)
		}
		if v.ThroughputMiBps < 125 || v.ThroughputMiBps > 1000 {
			errs.Addf(path+".throughputMiBps", "%d is not allowed for gp3; use 125 to 1000", v.ThroughputMiBps)
		} else if v.ThroughputMiBps*4 > v.Iops {
			errs.Addf(path+".throughputMiBps", "%d needs at least %d IOPS on gp3 (0.25 MiB/s per IOPS); raise iops", v.ThroughputMiBps, v.ThroughputMiBps*4)
		}
	case "io1", "io2":
		perGiB := map[string]int{"io1": 50, "io2": 1000}[v.Type]
		if v.Iops < 100 || v.Iops > 64000 {
			errs.Addf(path+".iops", "%d is not allowed for %s; use 100 to 64000 (required: provisioned IOPS is what %s is for)", v.Iops, v.Type, v.Type)
		} else if v.SizeGiB >= minGiB && v.Iops > perGiB*v.SizeGiB {
			errs.Addf(path+".iops", "%d is more than %s allows for %d GiB (%d IOPS per GiB); use at most %d or a larger volume", v.Iops, v.Type, v.SizeGiB, perGiB, perGiB*v.SizeGiB)
		}
		if v.ThroughputMiBps != 0 {
			errs.Addf(path+".throughputMiBps", "%d is set, but only gp3 takes a throughput; remove it", v.ThroughputMiBps)
		}
	default:
		errs.Addf(path+".type", "%q is not allowed; use gp3, io1 or io2 (etcd needs consistent latency: no gp2, st1 or sc1)", v.Type)
	}
	return errs
}

func (a API) check(path string, existing *ExistingNetwork) validate.Errors {
	var errs validate.Errors
	switch a.Scheme {
	case SchemeInternal:
	case SchemeInternetFacing:
		if existing != nil && len(existing.PublicSubnets) == 0 {
			errs.Addf(path+".scheme", "internet-facing needs public subnets, but cluster.network.existing declares none; declare publicSubnets or use internal")
		}
	default:
		errs.Addf(path+".scheme", "%q is not allowed; use internal or internet-facing", a.Scheme)
	}
	seen := map[string]bool{}
	for i, c := range a.AccessCidrs {
		p := fmt.Sprintf("%s.accessCidrs[%d]", path, i)
		pfx, err := cidr.ParseNetwork(c)
		switch {
		case err != nil:
			errs.Addf(p, "%v", err)
		case seen[pfx.String()]:
			errs.Addf(p, "%s is listed twice", c)
		case !pfx.Addr().Is4():
			errs.Addf(p, "%s is an IPv6 block, but the API load balancer listens on IPv4 only; list IPv4 blocks", c)
		case a.Scheme == SchemeInternal && pfx.Bits() == 0:
			errs.Addf(p, "%s admits every address, but the load balancer is internal; list the VPC, peered or on-premises blocks that need the API", c)
		}
		if err == nil {
			seen[pfx.String()] = true
		}
	}
	if a.PublicZoneId != "" || a.PublicName != "" {
		if a.Scheme != SchemeInternetFacing {
			errs.Addf(path+".publicZoneId", "a public record needs an internet-facing API; set scheme: internet-facing or remove publicZoneId and publicName")
		}
		if !hostedZoneID.MatchString(a.PublicZoneId) {
			errs.Addf(path+".publicZoneId", "%q is not a Route53 hosted zone ID (Z and up to 31 uppercase letters and digits); required with publicName", a.PublicZoneId)
		}
		if !dnsName.MatchString(a.PublicName) {
			errs.Addf(path+".publicName", "%q is not a DNS name; required with publicZoneId (e.g. api.prod-use1.example.com)", a.PublicName)
		}
	}
	return errs
}

func (c CNI) check(path string) validate.Errors {
	var errs validate.Errors
	switch c.Provider {
	case CNICilium:
	case CNICalico:
		switch c.Tunnel {
		case TunnelGeneve:
			errs.Addf(path+".tunnel", "geneve is not available with calico; use vxlan")
		case TunnelNone:
			errs.Addf(path+".tunnel", "none is not available with calico: its unencapsulated pod addresses are not the VPC's, so the VPC drops them between subnets; use vxlan (kinfra encapsulates only between subnets)")
		}
		if c.Hubble {
			errs.Addf(path+".hubble", "true, but Hubble is Cilium's; remove it or use provider: cilium")
		}
	default:
		errs.Addf(path+".provider", "%q is not allowed; use cilium or calico", c.Provider)
	}
	if !slices.Contains([]string{TunnelVXLAN, TunnelGeneve, TunnelNone}, c.Tunnel) {
		errs.Addf(path+".tunnel", "%q is not allowed; use vxlan, geneve or none", c.Tunnel)
	}
	errs.Append(c.checkOptions(path))
	return errs
}

// SlotZone is the index of the zone master slot i runs in.
func SlotZone(slot, zones int) int { return slot % zones }

// MajorityZone is the index of a zone that would hold a majority of count
// etcd members spread over zones by SlotZone, and how many it holds; -1 when
// no zone does (or when count < 3, where a majority in one zone is unavoidable).
func MajorityZone(count, zones int) (zone, members int) {
	if count < 3 || zones < 1 {
		return -1, 0
	}
	perZone := make([]int, zones)
	for i := range count {
		perZone[SlotZone(i, zones)]++
	}
	for z, n := range perZone {
		if n > count/2 {
			return z, n
		}
	}
	return -1, 0
}
