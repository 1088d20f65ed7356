// Package regions knows the AWS regions kinfra deploys to: each region's
// partition (from the AWS SDK for Go v2, partitions_gen.go) and its
// Availability Zones (zones.go), so that a stack names a region and zones
// AWS has before anything is created.
package regions

//go:generate go run ./gen partitions_gen.go

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Partition is one of the SDK's partitions: aws, aws-cn, aws-us-gov, …
type Partition struct {
	ID            string
	DNSSuffix     string // amazonaws.com, amazonaws.com.cn, …
	RegionPattern string // the names that belong to the partition
	Regions       []SDKRegion
}

// SDKRegion is a region as the SDK lists it.
type SDKRegion struct {
	Name, Description string
}

// Region is a region kinfra deploys to.
type Region struct {
	Name        string
	Description string // e.g. US East (N. Virginia)
	Partition   string // aws, aws-cn or aws-us-gov
	DNSSuffix   string
	// Zones are the zones every account has, sorted: what an account
	// created today sees.
	Zones []string
	// SomeAccounts are zones that exist only in some (older) accounts.
	SomeAccounts []string
	// PerAccount is the most zones any one account sees.
	PerAccount int
	// OptIn regions are disabled until the account enables them.
	OptIn bool
}

// DNSSuffix is the domain of a partition's endpoints (amazonaws.com,
// amazonaws.com.cn, …), from the SDK's table; amazonaws.com for an
// unknown partition.
func DNSSuffix(partition string) string {
	for _, p := range sdkPartitions {
		if p.ID == partition {
			return p.DNSSuffix
		}
	}
	return "amazonaws.com"
}

// Lookup returns the region called name, or an error that says what name
// is and what to use instead.
func Lookup(name string) (Region, error) {
	p, sdk, ok := find(name)
	switch {
	case !ok:
		return Region{}, unknown(name, p)
	case !slices.Contains(supportedPartitions, p.ID):
		return Region{}, fmt.Errorf("%s (%s) is in the %s partition, which kinfra does not support: %s", name, sdk.Description, p.ID, refusedPartitions[p.ID])
	}
	z, ok := zoneTable[name]
	if !ok {
		return Region{}, fmt.Errorf("%s (%s) is an AWS region kinfra has no Availability Zone table for yet; add its zones to internal/regions/zones.go from AWS's AZ ID list (docs/decisions.md, \"Regions and zones\")", name, sdk.Description)
	}
	r := Region{Name: name, Description: sdk.Description, Partition: p.ID, DNSSuffix: p.DNSSuffix,
		Zones: zoneNames(name, z.current), SomeAccounts: zoneNames(name, z.someAccounts), PerAccount: z.perAccount, OptIn: z.optIn}
	if r.PerAccount == 0 {
		r.PerAccount = len(r.Zones) + len(r.SomeAccounts)
	}
	return r, nil
}

// PartitionOf is the partition of a region kinfra supports, "" for others.
func PartitionOf(name string) string {
	r, err := Lookup(name)
	if err != nil {
		return ""
	}
	return r.Partition
}

// Supported lists every region kinfra deploys to, by partition and name.
func Supported() []Region {
	var out []Region
	for _, p := range sdkPartitions {
		for _, sdk := range p.Regions {
			if r, err := Lookup(sdk.Name); err == nil {
				out = append(out, r)
			}
		}
	}
	return out
}

// AllZones are the zone names that exist in some account, sorted.
func (r Region) AllZones() []string {
	return slices.Sorted(slices.Values(append(slices.Clone(r.Zones), r.SomeAccounts...)))
}

// HasZone reports whether zone exists in the region, in some account.
func (r Region) HasZone(zone string) bool {
	return slices.Contains(r.Zones, zone) || slices.Contains(r.SomeAccounts, zone)
}

// DescribeZones lists the region's zones for a message: "us-west-1a and
// us-west-1b, and us-west-1c in some accounts".
func (r Region) DescribeZones() string {
	s := validate.JoinAll(r.Zones)
	if len(r.SomeAccounts) > 0 {
		s += ", and " + validate.JoinAll(r.SomeAccounts) + " in some accounts only"
	}
	return s
}

// find returns the SDK partition and region called name; without the
// region, the partition whose pattern the name matches, if any.
func find(name string) (Partition, SDKRegion, bool) {
	for _, p := range sdkPartitions {
		for _, r := range p.Regions {
			if r.Name == name {
				return p, r, true
			}
		}
	}
	for _, p := range sdkPartitions {
		if regexp.MustCompile(p.RegionPattern).MatchString(name) {
			return p, SDKRegion{}, false
		}
	}
	return Partition{}, SDKRegion{}, false
}

// unknown explains a name that is no region: the nearest names, or the
// regions of the partition the name looks like it belongs to.
func unknown(name string, p Partition) error {
	var candidates []string
	for _, r := range Supported() {
		if p.ID == "" || r.Partition == p.ID {
			candidates = append(candidates, r.Name)
		}
	}
	where := "an AWS region"
	if p.ID != "" {
		where = fmt.Sprintf("a region of the %s partition", p.ID)
	}
	msg := fmt.Sprintf("%q is not %s (AWS SDK for Go v2 %s)", name, where, SDKVersion)
	switch near := nearest(name, candidates); {
	case len(near) > 0:
		return fmt.Errorf("%s; did you mean %s?", msg, validate.Join(near))
	case p.ID != "" && slices.Contains(supportedPartitions, p.ID):
		return fmt.Errorf("%s; use one of %s", msg, validate.Join(candidates))
	default:
		return fmt.Errorf("%s; kinfra deploys to the regions of the %s partitions, e.g. us-east-1, cn-north-1 or us-gov-west-1", msg, validate.JoinAll(supportedPartitions))
	}
}

// nearest are the candidates at the smallest edit distance from name, if
// that is at most 2 (a typo), in order.
func nearest(name string, candidates []string) []string {
	best, out := 3, []string(nil)
	for _, c := range candidates {
		switch d := validate.Distance(name, c); {
		case d < best:
			best, out = d, []string{c}
		case d == best:
			out = append(out, c)
		}
	}
	return out
}

func zoneNames(region, letters string) []string {
	var out []string
	for _, l := range letters {
		out = append(out, region+string(l))
	}
	return out
}
