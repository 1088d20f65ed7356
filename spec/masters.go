package spec

import (
	"fmt"
	"slices"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Masters is the control plane: one master group (an Auto Scaling Group of
// exactly one instance) per etcd member, each with its own etcd volume and
// DNS record.
type Masters struct {
	// Count of masters (etcd members): 1, 3, 5 or 7. Slot i runs in zone
	// i mod zones; no zone may hold a majority. Default [DefaultMasterCount].
	Count int `json:"count,omitempty"`
	// InstanceType of every master: a real EC2 type (internal/instancetypes),
	// of the images' architecture when the masters boot the pipeline's
	// image. Default [DefaultMasterType] ([DefaultMasterTypeARM] on the
	// pipeline's arm64 image).
	InstanceType string `json:"instanceType,omitempty"`
	// Image selects the masters' baked AMI.
	Image Image `json:"image"`
	// RootVolume is each master's encrypted root volume. Default
	// [DefaultRootVolumeGiB] and the Volume defaults.
	RootVolume Volume `json:"rootVolume"`
	// EtcdVolume is each slot's encrypted etcd data volume, which outlives
	// its instances. Default [DefaultEtcdVolumeGiB] and the Volume defaults.
	EtcdVolume Volume `json:"etcdVolume"`
	// Roll is no longer accepted: every slot's launch template follows the
	// stack, and `kinfra roll` replaces the masters' instances one slot at a
	// time behind health gates (README, "Upgrading a cluster"). Kept only
	// to refuse old stacks with that advice.
	Roll *int `json:"roll,omitempty"`
}

// Masters defaults.
const (
	DefaultMasterCount   = 3
	DefaultMasterType    = "m7i.2xlarge"
	DefaultMasterTypeARM = "m7g.2xlarge" // on the pipeline's arm64 image
	DefaultEtcdVolumeGiB = 64
	masterRole           = "master" // names the masters' image
)

// WithDefaults returns m with its defaults applied; version is the
// effective Kubernetes version, which names the default AMI, and images
// (defaulted) say whether this stack builds the images and for which
// architecture.
func (m Masters) WithDefaults(version string, images Images) Masters {
	if m.Count == 0 {
		m.Count = DefaultMasterCount
	}
	m.Image = m.Image.resolve(masterRole, version, images.On())
	if m.InstanceType == "" {
		m.InstanceType = images.defaultType(m.Image, DefaultMasterType, DefaultMasterTypeARM)
	}
	m.RootVolume = m.RootVolume.WithDefaults(DefaultRootVolumeGiB)
	m.EtcdVolume = m.EtcdVolume.WithDefaults(DefaultEtcdVolumeGiB)
	if m.Roll != nil {
		r := *m.Roll
		m.Roll = &r
	}
	return m
}

func (c Cluster) validateMasters(zones networkFacts) validate.Errors {
	var errs validate.Errors
	count := c.Masters.Count
	if !slices.Contains([]int{1, 3, 5, 7}, count) {
		if count%2 == 0 {
			errs.Addf("cluster.masters.count", "%d is even; etcd needs an odd member count (1, 3, 5, 7) to keep quorum", count)
		} else {
			errs.Addf("cluster.masters.count", "%d is not allowed; use 1, 3, 5 or 7 (etcd members; more than 7 slows every write)", count)
		}
		return errs
	}
	if z, n := MajorityZone(count, zones.count); z >= 0 {
		name := fmt.Sprintf("zone %d", z)
		if len(zones.zones) > z {
			name = validate.Shorten(zones.zones[z])
		}
		advice := "Use at least 3 zones"
		if r, ok := lookupRegion(c.Region); ok && r.PerAccount < 3 {
			advice = fmt.Sprintf("An account has at most %d zones in %s, so no master count survives the loss of a zone there: use 1 master (a test cluster), or a region with 3 or more zones", r.PerAccount, r.Name)
		}
		errs.Addf("cluster.masters.count", "%d masters over %d %s puts %d in %s, a majority; losing that zone loses etcd quorum. %s", count, zones.count, plural(zones.count, "zone"), n, name, advice)
	}
	return errs
}

// checkControlPlane validates what the masters component builds: the
// Kubernetes versions (the masters', and the nodes' against them), the
// private domain, the masters' machines and volumes,
// the API endpoint and the CNI's needs. Member count and zone placement are
// checked by validateMasters.
func (c Cluster) checkControlPlane() validate.Errors {
	var errs validate.Errors
	errs.Append(c.Kubernetes.checkVersions())
	errs.Append(c.checkPrivateDomain())
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
