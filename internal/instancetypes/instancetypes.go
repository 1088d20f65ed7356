// Package instancetypes knows EC2 instance types: which names are real and
// which kinfra can launch, with their architecture (a table generated from
// the AWS SDK for Go v2, zz_generated_types.go), and, for the families node
// pools commonly use, their vCPUs, memory and network interfaces, so that
// capacity is checked before anything is launched (a pool whose maxPods
// cannot fit its instance type's addresses fails validation, not at 3 a.m.).
package instancetypes

//go:generate go run ./gen -o zz_generated_types.go

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Architectures, as EC2 names them. Only X86_64 and ARM64 run kinfra's
// Linux images.
const (
	X86_64    = "x86_64"
	ARM64     = "arm64"
	X86_64Mac = "x86_64_mac"
	ARM64Mac  = "arm64_mac"
)

// family is one EC2 instance family and the sizes AWS offers of it.
type family struct {
	name string
	arch string
	// pvOnly families boot only paravirtual AMIs.
	pvOnly bool
	// sizes, small to large.
	sizes []string
}

var byFamily = func() map[string]family {
	m := make(map[string]family, len(table))
	for _, f := range table {
		m[f.name] = f
	}
	return m
}()

// example is the type messages offer when nothing nearer is known.
const example = "m7i.2xlarge"

// Check returns "" when name is an EC2 instance type kinfra can launch.
// Otherwise it says what is wrong and what is near, worded to follow the
// quoted name in a message: `"t3.48xlarge" ` + Check("t3.48xlarge") reads
// "… is not an EC2 instance type; t3 has nano, micro, …".
func Check(name string) string {
	fam, size, dotted := strings.Cut(name, ".")
	f, known := byFamily[fam]
	switch {
	case known && slices.Contains(f.sizes, size):
		return f.refusal()
	case strings.ToLower(name) != name && Check(strings.ToLower(name)) == "":
		return fmt.Sprintf("is not an EC2 instance type; did you mean %s? (names are lowercase)", strings.ToLower(name))
	case known && !dotted:
		return fmt.Sprintf("is not an EC2 instance type but a family; add a size: %s", f.offers())
	case known:
		if s := nearestSize(f, size); s != "" {
			return fmt.Sprintf("is not an EC2 instance type; did you mean %s.%s? %s", f.name, s, f.offers())
		}
		return "is not an EC2 instance type; " + f.offers()
	case !dotted:
		return "is not an EC2 instance type (e.g. " + example + ")"
	}
	return "is not an EC2 instance type; " + nearFamilies(fam, size)
}

// Arch is the architecture of a name in the table (x86_64, arm64,
// x86_64_mac or arm64_mac), or "" for any other name.
func Arch(name string) string {
	fam, size, _ := strings.Cut(name, ".")
	if f, ok := byFamily[fam]; ok && slices.Contains(f.sizes, size) {
		return f.arch
	}
	return ""
}

// Families lists every family in the table, sorted.
func Families() []string {
	out := make([]string, len(table))
	for i, f := range table {
		out[i] = f.name
	}
	return out
}

// Sizes lists a family's sizes, small to large; nil for an unknown family.
func Sizes(fam string) []string { return slices.Clone(byFamily[fam].sizes) }

// refusal says why kinfra cannot launch a real type of the family, or "".
func (f family) refusal() string {
	switch {
	case f.arch == X86_64Mac || f.arch == ARM64Mac:
		return fmt.Sprintf("is an EC2 Mac instance type (%s): it runs macOS on a dedicated host, and kinfra's nodes run Linux on x86_64 or arm64 types", f.arch)
	case f.pvOnly:
		return "is a previous-generation type that boots only paravirtual (PV) AMIs, and kinfra's images are HVM; use a current type such as " + example
	}
	return ""
}

func (f family) offers() string {
	return fmt.Sprintf("%s has %s", f.name, validate.JoinAll(f.sizes))
}

// nearestSize is the family's size a misspelt size was meant to be: "" when
// size is one that some family offers (the family lacks it; it is not a
// typo) or no size is within two edits.
func nearestSize(f family, size string) string {
	for _, g := range table {
		if slices.Contains(g.sizes, size) {
			return ""
		}
	}
	best, bestDist := "", 3
	for _, s := range f.sizes {
		if d := validate.Distance(size, s); d < bestDist {
			best, bestDist = s, d
		}
	}
	return best
}

// nearFamilies names the launchable families nearest a misspelt one, as
// whole types when they offer the size asked for.
func nearFamilies(fam, size string) string {
	var near []string
	bestDist := 3
	for _, f := range table {
		if f.refusal() != "" {
			continue
		}
		switch d := validate.Distance(fam, f.name); {
		case d < bestDist:
			near, bestDist = []string{f.name}, d
		case d == bestDist:
			near = append(near, f.name)
		}
	}
	if len(near) == 0 {
		return "its family is not an EC2 family (e.g. " + example + ")"
	}
	var types []string
	for _, n := range near {
		if slices.Contains(byFamily[n].sizes, size) {
			types = append(types, n+"."+size)
		}
	}
	if len(types) > 0 {
		return "did you mean " + validate.Join(types) + "?"
	}
	if len(near) == 1 {
		return "the nearest family is " + near[0]
	}
	return "the nearest families are " + validate.JoinAll(near)
}
