package instancetypes

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLookupFollowsPublishedFigures(t *testing.T) {
	for _, tc := range []Type{
		{Name: "m5.large", VCPUs: 2, MemoryMiB: 8192, ENIs: 3, IPv4PerENI: 10, Arch: "x86_64"},
		{Name: "m7i.2xlarge", VCPUs: 8, MemoryMiB: 32768, ENIs: 4, IPv4PerENI: 15, Arch: "x86_64"},
		{Name: "c6i.4xlarge", VCPUs: 16, MemoryMiB: 32768, ENIs: 8, IPv4PerENI: 30, Arch: "x86_64"},
		{Name: "r7g.16xlarge", VCPUs: 64, MemoryMiB: 524288, ENIs: 15, IPv4PerENI: 50, Arch: "arm64"},
		{Name: "t3.medium", VCPUs: 2, MemoryMiB: 4096, ENIs: 3, IPv4PerENI: 6, Arch: "x86_64"},
		{Name: "t4g.small", VCPUs: 2, MemoryMiB: 2048, ENIs: 3, IPv4PerENI: 4, Arch: "arm64"},
	} {
		got, ok := Lookup(tc.Name)
		require.True(t, ok, tc.Name)
		require.Equal(t, tc, got)
	}
	// m5.large: 3 ENIs of 10 addresses, one each for the interface itself.
	m5, _ := Lookup("m5.large")
	require.Equal(t, 27, m5.PodAddresses())
}

func TestLookupRefusesSizesAFamilyDoesNotOffer(t *testing.T) {
	for _, name := range []string{"m5.48xlarge", "m6g.24xlarge", "m7i.medium", "x2idn.large", "m7i", "m7i.huge",
		// Inside the family's range of the per-size pattern, but not offered.
		"m7i.32xlarge", "c7i.32xlarge", "r7i.32xlarge", "m8g.32xlarge"} {
		_, ok := Lookup(name)
		require.False(t, ok, name)
	}
}

// Every type the capacity table sizes is a real type of the architecture the
// name table gives it: the two tables cannot disagree.
func TestCapacityTableKnowsOnlyRealTypes(t *testing.T) {
	var names []string
	for fam := range capacityFamilies {
		for _, s := range sizeOrder {
			names = append(names, fam+"."+s)
		}
	}
	for name := range burstable {
		names = append(names, name)
	}
	found := 0
	for _, name := range names {
		it, ok := Lookup(name)
		if !ok {
			continue
		}
		found++
		require.Empty(t, Check(name), name)
		require.Equal(t, Arch(name), it.Arch, name)
	}
	require.Greater(t, found, 250)
}

// The architecture of families whose processors are known, pinned so that a
// wrong rule in the generator (gen/main.go) fails here.
func TestArchitectureOfKnownFamilies(t *testing.T) {
	known := map[string][]string{
		ARM64: {"a1", "t4g", "m6g", "m6gd", "c6g", "c6gd", "c6gn", "r6g", "r6gd", "x2gd", "im4gn", "is4gen",
			"i4g", "g5g", "m7g", "m7gd", "c7g", "c7gd", "c7gn", "r7g", "r7gd", "hpc7g", "m8g", "m8gd", "c8g",
			"c8gd", "c8gn", "r8g", "r8gd", "x8g", "i8g", "i8ge", "p6e-gb200"},
		X86_64: {"t2", "t3", "t3a", "m4", "m5", "m5a", "m5zn", "m6i", "m6a", "m7i", "m7i-flex", "m7a", "c5", "c5n",
			"c6i", "c7i", "c7a", "r5", "r6i", "r7i", "r7iz", "x1e", "x2idn", "x2iedn", "z1d", "i3", "i3en", "i4i",
			"d3", "h1", "g4dn", "g4ad", "g5", "g6", "gr6", "p3", "p4d", "p5", "p6-b200", "inf1", "inf2", "trn1",
			"trn2", "dl1", "vt1", "f1", "hpc6a", "hpc7a", "u-6tb1", "u7i-12tb", "cc2", "c1", "m1", "t1"},
		X86_64Mac: {"mac1"},
		ARM64Mac:  {"mac2", "mac2-m2", "mac2-m2pro", "mac2-m1ultra", "mac-m4", "mac-m4pro"},
	}
	for arch, fams := range known {
		for _, fam := range fams {
			sizes := Sizes(fam)
			require.NotEmpty(t, sizes, "%s is not in the table", fam)
			for _, s := range sizes {
				require.Equal(t, arch, Arch(fam+"."+s), fam+"."+s)
			}
		}
	}
}

// Every type in the table is either launchable, as x86_64 or arm64, or
// refused with its reason.
func TestEveryTypeInTheTableIsAcceptedOrRefusedWithItsReason(t *testing.T) {
	accepted := 0
	for _, fam := range Families() {
		for _, s := range Sizes(fam) {
			name := fam + "." + s
			switch problem, arch := Check(name), Arch(name); {
			case arch == X86_64Mac || arch == ARM64Mac:
				require.Equal(t, "is an EC2 Mac instance type ("+arch+"): it runs macOS on a dedicated host, and kinfra's nodes run Linux on x86_64 or arm64 types", problem, name)
			case slices.Contains([]string{"c1", "m1", "m2", "t1"}, fam):
				require.Equal(t, "is a previous-generation type that boots only paravirtual (PV) AMIs, and kinfra's images are HVM; use a current type such as m7i.2xlarge", problem, name)
			default:
				require.Empty(t, problem, name)
				require.Contains(t, []string{X86_64, ARM64}, arch, name)
				accepted++
			}
		}
	}
	require.Greater(t, accepted, 1300)
}

// ladder is every size EC2 names, small to large, for generating sizes
// beyond a family's ends and in its gaps.
var ladder = []string{"nano", "micro", "small", "medium", "large", "xlarge", "2xlarge", "3xlarge", "4xlarge",
	"6xlarge", "8xlarge", "9xlarge", "10xlarge", "12xlarge", "16xlarge", "18xlarge", "24xlarge", "32xlarge",
	"36xlarge", "48xlarge", "56xlarge", "64xlarge", "96xlarge", "112xlarge", "224xlarge", "480xlarge"}

// For every family: each size on the ladder just below its smallest, just
// above its largest and in between that it does not offer is refused, and
// the message lists the sizes it does offer.
func TestSizesAFamilyDoesNotOfferAreRefusedWithItsSizes(t *testing.T) {
	checked := 0
	for _, fam := range Families() {
		sizes := Sizes(fam)
		var onLadder []int
		for _, s := range sizes {
			if i := slices.Index(ladder, s); i >= 0 {
				onLadder = append(onLadder, i)
			} else {
				require.True(t, strings.HasPrefix(s, "metal"), "%s.%s: add the size to the ladder", fam, s)
			}
		}
		if len(onLadder) == 0 {
			continue // metal only
		}
		lo, hi := slices.Min(onLadder), slices.Max(onLadder)
		for i := max(lo-1, 0); i <= min(hi+1, len(ladder)-1); i++ {
			name := fam + "." + ladder[i]
			if slices.Contains(sizes, ladder[i]) {
				continue
			}
			require.Equal(t, "is not an EC2 instance type; "+fam+" has "+listed(sizes), Check(name), name)
			checked++
		}
	}
	require.Greater(t, checked, 300)
}

// listed lists sizes as a message does: "a, b and c".
func listed(sizes []string) string {
	if len(sizes) == 1 {
		return sizes[0]
	}
	return strings.Join(sizes[:len(sizes)-1], ", ") + " and " + sizes[len(sizes)-1]
}

// A family name one edit from a real one is refused, and the message
// offers the real type.
func TestMisspeltFamiliesAreRefusedWithTheRealType(t *testing.T) {
	checked := 0
	for _, fam := range Families() {
		size := Sizes(fam)[0]
		if Check(fam+"."+size) != "" {
			continue
		}
		for _, typo := range []string{fam + "x", fam[1:], "q" + fam[1:], fam[:len(fam)-1] + "q"} {
			if len(Sizes(typo)) > 0 || typo == "" {
				continue
			}
			got := Check(typo + "." + size)
			require.True(t, strings.HasPrefix(got, "is not an EC2 instance type; did you mean "), "%s.%s: %s", typo, size, got)
			require.Contains(t, got, fam+"."+size, typo)
			checked++
		}
	}
	require.Greater(t, checked, 600)
}

func TestEachBadNameHasItsExactMessage(t *testing.T) {
	for name, want := range map[string]string{
		"m7x.large":    "is not an EC2 instance type; did you mean m7a.large, m7g.large or m7i.large?",
		"t3.48xlarge":  "is not an EC2 instance type; t3 has nano, micro, small, medium, large, xlarge and 2xlarge",
		"m5.medium":    "is not an EC2 instance type; m5 has large, xlarge, 2xlarge, 4xlarge, 8xlarge, 12xlarge, 16xlarge, 24xlarge and metal",
		"m7i.2xlarg":   "is not an EC2 instance type; did you mean m7i.2xlarge? m7i has large, xlarge, 2xlarge, 4xlarge, 8xlarge, 12xlarge, 16xlarge, 24xlarge, 48xlarge, metal-24xl and metal-48xl",
		"m7i":          "is not an EC2 instance type but a family; add a size: m7i has large, xlarge, 2xlarge, 4xlarge, 8xlarge, 12xlarge, 16xlarge, 24xlarge, 48xlarge, metal-24xl and metal-48xl",
		"M7i.Large":    "is not an EC2 instance type; did you mean m7i.large? (names are lowercase)",
		"large":        "is not an EC2 instance type (e.g. m7i.2xlarge)",
		"m7i 2xlarge":  "is not an EC2 instance type (e.g. m7i.2xlarge)",
		"":             "is not an EC2 instance type (e.g. m7i.2xlarge)",
		"xyzzy.large":  "is not an EC2 instance type; its family is not an EC2 family (e.g. m7i.2xlarge)",
		"m7q.metal-48": "is not an EC2 instance type; the nearest families are m7a, m7g and m7i",
		"mac2.metal":   "is an EC2 Mac instance type (arm64_mac): it runs macOS on a dedicated host, and kinfra's nodes run Linux on x86_64 or arm64 types",
		"m1.small":     "is a previous-generation type that boots only paravirtual (PV) AMIs, and kinfra's images are HVM; use a current type such as m7i.2xlarge",
	} {
		require.Equal(t, want, Check(name), name)
	}
	for _, name := range []string{"m7i.metal-24xl", "m7g.metal", "c8g.metal-48xl", "t3.nano", "p5.48xlarge", "u7i-12tb.224xlarge"} {
		require.Empty(t, Check(name), name)
	}
}
