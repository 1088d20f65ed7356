package spec_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/instancetypes"
	"github.com/kinfra-dev/kinfra/spec"
)

// ownImage is an image of the pool's or the masters' own, not the
// pipeline's: its architecture follows the instance type.
var ownImage = spec.Image{ID: "ami-0123456789abcdef0"}

func TestEachBadInstanceTypeHasItsExactMessage(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(c *spec.Cluster)
		want   []string
	}{
		{"masters: misspelt family", func(c *spec.Cluster) { c.Masters.InstanceType = "m7x.2xlarge" },
			[]string{`cluster.masters.instanceType: "m7x.2xlarge" is not an EC2 instance type; did you mean m7a.2xlarge, m7g.2xlarge or m7i.2xlarge?`}},
		{"masters: size the family lacks", func(c *spec.Cluster) { c.Masters.InstanceType = "t3.48xlarge" },
			[]string{`cluster.masters.instanceType: "t3.48xlarge" is not an EC2 instance type; t3 has nano, micro, small, medium, large, xlarge and 2xlarge`}},
		{"masters: a Mac", func(c *spec.Cluster) { c.Masters.InstanceType = "mac2.metal" },
			[]string{`cluster.masters.instanceType: "mac2.metal" is an EC2 Mac instance type (arm64_mac): it runs macOS on a dedicated host, and kinfra's nodes run Linux on x86_64 or arm64 types`}},
		{"masters: arm64 on the x86_64 pipeline", func(c *spec.Cluster) { c.Masters.InstanceType = "m7g.metal" },
			[]string{"cluster.masters.instanceType: m7g.metal is arm64, but the pipeline builds x86_64 images (cluster.images.architecture); use x86_64 types or give the masters their own image"}},
		{"masters: x86_64 on the arm64 pipeline", func(c *spec.Cluster) {
			c.Images.Architecture = spec.ArchARM
			c.Masters.InstanceType = "m7i.2xlarge"
		}, []string{"cluster.masters.instanceType: m7i.2xlarge is x86_64, but the pipeline builds arm64 images (cluster.images.architecture); use arm64 types or give the masters their own image"}},
		{"pool: misspelt family", func(c *spec.Cluster) { c.NodePools[0].InstanceTypes = []string{"m7x.large"} },
			[]string{`cluster.nodePools[0].instanceTypes[0]: "m7x.large" is not an EC2 instance type; did you mean m7a.large, m7g.large or m7i.large?`}},
		{"pool: sizes the families lack", func(c *spec.Cluster) {
			c.NodePools[0].InstanceTypes = []string{"m5.medium", "t3.48xlarge"}
		}, []string{
			`cluster.nodePools[0].instanceTypes[0]: "m5.medium" is not an EC2 instance type; m5 has large, xlarge, 2xlarge, 4xlarge, 8xlarge, 12xlarge, 16xlarge, 24xlarge and metal`,
			`cluster.nodePools[0].instanceTypes[1]: "t3.48xlarge" is not an EC2 instance type; t3 has nano, micro, small, medium, large, xlarge and 2xlarge`,
		}},
		{"pool: paravirtual only", func(c *spec.Cluster) { c.NodePools[0].InstanceTypes = []string{"m1.small"} },
			[]string{`cluster.nodePools[0].instanceTypes[0]: "m1.small" is a previous-generation type that boots only paravirtual (PV) AMIs, and kinfra's images are HVM; use a current type such as m7i.2xlarge`}},
		{"pool: architectures compared with the first real type", func(c *spec.Cluster) {
			c.NodePools[0].InstanceTypes = []string{"m7x.large", "m7g.large", "m7i.large"}
			c.NodePools[0].Image = ownImage
		}, []string{
			`cluster.nodePools[0].instanceTypes[0]: "m7x.large" is not an EC2 instance type; did you mean m7a.large, m7g.large or m7i.large?`,
			"cluster.nodePools[0].instanceTypes[2]: m7i.large is x86_64, but m7g.large is arm64; one pool launches one AMI, so its types must share an architecture",
		}},
		{"pool: arm64 on the x86_64 pipeline", func(c *spec.Cluster) { c.NodePools[0].InstanceTypes = []string{"c8g.metal-48xl"} },
			[]string{"cluster.nodePools[0].instanceTypes[0]: c8g.metal-48xl is arm64, but the pipeline builds x86_64 images (cluster.images.architecture); use x86_64 types or give the pool its own image"}},
		{"image builds: misspelt and missing sizes", func(c *spec.Cluster) {
			c.Images.BuildInstanceTypes = []string{"m7x.large", "m5.medium", "M7i.Large"}
		}, []string{
			`cluster.images.buildInstanceTypes[0]: "m7x.large" is not an EC2 instance type; did you mean m7a.large, m7g.large or m7i.large?`,
			`cluster.images.buildInstanceTypes[1]: "m5.medium" is not an EC2 instance type; m5 has large, xlarge, 2xlarge, 4xlarge, 8xlarge, 12xlarge, 16xlarge, 24xlarge and metal`,
			`cluster.images.buildInstanceTypes[2]: "M7i.Large" is not an EC2 instance type; did you mean m7i.large? (names are lowercase)`,
		}},
		{"image builds: another architecture", func(c *spec.Cluster) { c.Images.BuildInstanceTypes = []string{"t4g.large"} },
			[]string{"cluster.images.buildInstanceTypes[0]: t4g.large is arm64; builds of x86_64 images need x86_64 instances"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.break_(&c)
			require.Equal(t, tc.want, messages(t, c))
		})
	}
}

// A master or pool that names no type gets one of the architecture of the
// image it boots: arm64 on the pipeline's arm64 image, else x86_64.
func TestDefaultTypesFollowTheImagesArchitecture(t *testing.T) {
	c := valid()
	c.Images.Architecture = spec.ArchARM
	c.NodePools = append(c.NodePools, spec.NodePool{Name: "own", MaxSize: 3, Image: ownImage})
	eff, err := spec.Resolve(c)
	require.NoError(t, err)
	require.Equal(t, spec.DefaultMasterTypeARM, eff.Masters.InstanceType)
	require.Equal(t, []string{spec.DefaultNodeTypeARM}, eff.NodePools[0].InstanceTypes)
	require.Equal(t, []string{spec.DefaultNodeType}, eff.NodePools[1].InstanceTypes, "its own image: x86_64 by default")
	require.Equal(t, []string{"m7g.large"}, eff.Images.BuildInstanceTypes)

	c.Masters.Image = ownImage
	eff, err = spec.Resolve(c)
	require.NoError(t, err)
	require.Equal(t, spec.DefaultMasterType, eff.Masters.InstanceType)
}

// Metal types are instance types like any other, for masters and pools.
func TestMetalTypesAreValidForMastersAndPools(t *testing.T) {
	c := valid()
	c.Masters.InstanceType = "m7i.metal-24xl"
	c.NodePools[0].InstanceTypes = []string{"m7i.metal-48xl", "c7i.metal-24xl"}
	c.NodePools[0].OnDemandPercentageAboveBase = ptr(0)
	require.Empty(t, messages(t, c))
}

// Masters and pools with images of their own boot any architecture: the
// lookup finds an image of theirs (internal/ami).
func TestOwnImagesTakeEitherArchitecture(t *testing.T) {
	c := valid()
	c.Masters.InstanceType = "m7g.2xlarge"
	c.Masters.Image = ownImage
	c.NodePools[0].InstanceTypes = []string{"c8g.2xlarge"}
	c.NodePools[0].Image = ownImage
	require.Empty(t, messages(t, c))
}

// site is one place a cluster names instance types; set puts a type there
// in a cluster whose images are of the type's architecture.
type site struct {
	path string
	set  func(c *spec.Cluster, name string)
}

var sites = []site{
	{"cluster.masters.instanceType", func(c *spec.Cluster, name string) { c.Masters.InstanceType = name }},
	{"cluster.nodePools[0].instanceTypes[0]", func(c *spec.Cluster, name string) { c.NodePools[0].InstanceTypes = []string{name} }},
	{"cluster.images.buildInstanceTypes[0]", func(c *spec.Cluster, name string) { c.Images.BuildInstanceTypes = []string{name} }},
}

// clusterWith is valid() with name at s and images of name's architecture
// (x86_64 for a name that is not a type); the other sites' default types
// follow the images.
func clusterWith(s site, name string) spec.Cluster {
	c := valid()
	if instancetypes.Arch(name) == instancetypes.ARM64 {
		c.Images.Architecture = spec.ArchARM
	}
	s.set(&c, name)
	return c
}

// accepted requires that c resolves with name accepted: the only messages
// allowed are the capacity advice a small pool type draws (its memory left
// for pods), which is not about the name.
func accepted(t *testing.T, c spec.Cluster, name, at string) {
	t.Helper()
	advice := "cluster.nodePools[0].instanceTypes: " + name + " has "
	for _, m := range messages(t, c) {
		require.True(t, strings.HasPrefix(m, advice), "%s at %s: %s", name, at, m)
	}
}

// Every family kinfra can launch is accepted at every site, in its smallest
// and largest sizes.
func TestEveryLaunchableFamilyIsAcceptedEverywhere(t *testing.T) {
	checked := 0
	for _, fam := range instancetypes.Families() {
		sizes := instancetypes.Sizes(fam)
		for _, name := range []string{fam + "." + sizes[0], fam + "." + sizes[len(sizes)-1]} {
			if instancetypes.Check(name) != "" {
				continue // Mac and paravirtual-only: refused, as TestRefusedTypesAreRefusedEverywhere shows
			}
			for _, s := range sites {
				accepted(t, clusterWith(s, name), name, s.path)
				checked++
			}
		}
	}
	require.Greater(t, checked, 1000)
}

func TestRefusedTypesAreRefusedEverywhere(t *testing.T) {
	for _, name := range []string{"mac1.metal", "mac2-m2pro.metal", "mac-m4.metal", "t1.micro", "c1.xlarge", "m2.4xlarge"} {
		for _, s := range sites {
			require.Equal(t, []string{fmt.Sprintf("%s: %q %s", s.path, name, instancetypes.Check(name))}, messages(t, clusterWith(s, name)), "%s at %s", name, s.path)
		}
	}
}

// boundaryLadder is the sizes around the families below, small to large.
var boundaryLadder = []string{"nano", "micro", "small", "medium", "large", "xlarge", "2xlarge", "3xlarge", "4xlarge",
	"6xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "32xlarge", "48xlarge", "96xlarge"}

// Every size of a few families, and every size on the ladder one beyond
// their ends or in their gaps, at every site: the first accepted, the others
// refused with the family's sizes.
func TestSizesAtAndBeyondAFamilysEnds(t *testing.T) {
	for _, fam := range []string{"t3", "t4g", "m5", "m7i", "m7g", "c8g", "r7iz"} {
		sizes := instancetypes.Sizes(fam)
		require.NotEmpty(t, sizes, fam)
		var idx []int
		for _, sz := range sizes {
			if i := slices.Index(boundaryLadder, sz); i >= 0 {
				idx = append(idx, i)
			}
		}
		lo, hi := slices.Min(idx), slices.Max(idx)
		for _, s := range sites {
			for _, sz := range sizes {
				accepted(t, clusterWith(s, fam+"."+sz), fam+"."+sz, s.path)
			}
			for i := max(lo-1, 0); i <= min(hi+1, len(boundaryLadder)-1); i++ {
				if slices.Contains(sizes, boundaryLadder[i]) {
					continue
				}
				name := fam + "." + boundaryLadder[i]
				want := fmt.Sprintf("%s: %q is not an EC2 instance type; %s has ", s.path, name, fam)
				got := messages(t, clusterWith(s, name))
				require.Len(t, got, 1, name)
				require.Regexp(t, "^"+regexp.QuoteMeta(want), got[0])
			}
		}
	}
}

// A family one edit from a real one is refused at every site, offering the
// real type.
func TestMisspeltFamiliesAreRefusedEverywhere(t *testing.T) {
	for _, name := range []string{"m7x.2xlarge", "m6.large", "c7gx.xlarge", "r8q.4xlarge", "t4.micro", "g5x.xlarge", "mm5.large"} {
		for _, s := range sites {
			got := messages(t, clusterWith(s, name))
			require.Len(t, got, 1, "%s at %s: %v", name, s.path, got)
			require.Contains(t, got[0], fmt.Sprintf("%s: %q is not an EC2 instance type; did you mean ", s.path, name))
		}
	}
}
