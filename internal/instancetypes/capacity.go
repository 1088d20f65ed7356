package instancetypes

import "strings"

// The capacity table covers the current general purpose, compute and memory
// optimized families and the burstable types, sized by AWS's published
// per-size pattern. A type it does not know is not an error: the checks that
// need its figures are skipped (docs/workers.md says which).

// Type is one instance type's capacity.
type Type struct {
	Name      string
	VCPUs     int
	MemoryMiB int
	// ENIs is the most network interfaces, IPv4PerENI the most private IPv4
	// addresses each can hold.
	ENIs       int
	IPv4PerENI int
	// Arch is x86_64 or arm64.
	Arch string
}

// PodAddresses is how many pods can have VPC addresses (native routing,
// ENI IPAM): every ENI's secondary addresses, as Cilium's ENI mode uses them.
func (t Type) PodAddresses() int { return t.ENIs * (t.IPv4PerENI - 1) }

type size struct {
	vcpus, enis, ips int
}

// sizes is the per-size pattern of the Nitro families below: vCPUs and the
// network interface limits AWS publishes for each size.
var sizes = map[string]size{
	"medium":   {1, 2, 4},
	"large":    {2, 3, 10},
	"xlarge":   {4, 4, 15},
	"2xlarge":  {8, 4, 15},
	"4xlarge":  {16, 8, 30},
	"8xlarge":  {32, 8, 30},
	"12xlarge": {48, 8, 30},
	"16xlarge": {64, 15, 50},
	"24xlarge": {96, 15, 50},
	"32xlarge": {128, 15, 50},
	"48xlarge": {192, 15, 50},
}

var sizeOrder = []string{"medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "32xlarge", "48xlarge"}

type capacityFamily struct {
	gibPerVCPU int
	// smallest and largest size the family offers.
	smallest, largest string
}

var capacityFamilies = map[string]capacityFamily{
	// General purpose: 4 GiB per vCPU.
	"m5": {4, "large", "24xlarge"}, "m5a": {4, "large", "24xlarge"}, "m5n": {4, "large", "24xlarge"},
	"m6i": {4, "large", "32xlarge"}, "m6a": {4, "large", "48xlarge"}, "m6in": {4, "large", "32xlarge"},
	"m7i": {4, "large", "48xlarge"}, "m7a": {4, "medium", "48xlarge"},
	"m6g": {4, "medium", "16xlarge"}, "m7g": {4, "medium", "16xlarge"}, "m8g": {4, "medium", "48xlarge"},
	// Compute optimized: 2 GiB per vCPU.
	"c5": {2, "large", "24xlarge"}, "c5a": {2, "large", "24xlarge"},
	"c6i": {2, "large", "32xlarge"}, "c6a": {2, "large", "48xlarge"}, "c6in": {2, "large", "32xlarge"},
	"c7i": {2, "large", "48xlarge"}, "c7a": {2, "medium", "48xlarge"},
	"c6g": {2, "medium", "16xlarge"}, "c7g": {2, "medium", "16xlarge"}, "c8g": {2, "medium", "48xlarge"},
	// Memory optimized: 8 GiB per vCPU.
	"r5": {8, "large", "24xlarge"}, "r5a": {8, "large", "24xlarge"},
	"r6i": {8, "large", "32xlarge"}, "r6a": {8, "large", "48xlarge"},
	"r7i": {8, "large", "48xlarge"}, "r7a": {8, "medium", "48xlarge"},
	"r6g": {8, "medium", "16xlarge"}, "r7g": {8, "medium", "16xlarge"}, "r8g": {8, "medium", "48xlarge"},
}

// burstable types do not follow the pattern.
var burstable = map[string]Type{}

func init() {
	for _, fam := range []string{"t3", "t3a", "t4g"} {
		for _, t := range []Type{
			{Name: "small", VCPUs: 2, MemoryMiB: 2048, ENIs: 3, IPv4PerENI: 4},
			{Name: "medium", VCPUs: 2, MemoryMiB: 4096, ENIs: 3, IPv4PerENI: 6},
			{Name: "large", VCPUs: 2, MemoryMiB: 8192, ENIs: 3, IPv4PerENI: 12},
			{Name: "xlarge", VCPUs: 4, MemoryMiB: 16384, ENIs: 4, IPv4PerENI: 15},
			{Name: "2xlarge", VCPUs: 8, MemoryMiB: 32768, ENIs: 4, IPv4PerENI: 15},
		} {
			t.Name = fam + "." + t.Name
			t.Arch = Arch(t.Name)
			burstable[t.Name] = t
		}
	}
}

// Lookup returns the type's capacity, if the table knows it. The per-size
// pattern spans sizes some families skip (m7i has no 32xlarge), so a name
// must also be a real type.
func Lookup(name string) (Type, bool) {
	if Arch(name) == "" {
		return Type{}, false
	}
	if t, ok := burstable[name]; ok {
		return t, true
	}
	fam, sz, ok := strings.Cut(name, ".")
	if !ok {
		return Type{}, false
	}
	f, ok := capacityFamilies[fam]
	s, known := sizes[sz]
	if !ok || !known || indexOf(sz) < indexOf(f.smallest) || indexOf(sz) > indexOf(f.largest) {
		return Type{}, false
	}
	return Type{
		Name: name, VCPUs: s.vcpus, MemoryMiB: s.vcpus * f.gibPerVCPU * 1024,
		ENIs: s.enis, IPv4PerENI: s.ips, Arch: Arch(name),
	}, true
}

func indexOf(size string) int {
	for i, s := range sizeOrder {
		if s == size {
			return i
		}
	}
	return -1
}
