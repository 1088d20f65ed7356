// Package cidr holds the address arithmetic kinfra needs: parsing network
// prefixes strictly, carving per-zone subnets deterministically, sizing and
// overlap checks. It uses net/netip only.
package cidr

import (
	"fmt"
	"math/big"
	"net/netip"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

// ParseNetwork parses an IPv4 or IPv6 prefix and insists that it is written as
// its network address (10.0.0.0/16, not 10.0.1.0/16): a prefix with host bits
// set is almost always a typo, and AWS and Kubernetes would silently mask it.
func ParseNetwork(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR block (want e.g. 10.0.0.0/16)", validate.Shorten(s))
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("%s has host bits set; did you mean %s?", s, m)
	}
	return p, nil
}

// Size is the number of addresses in p, capped at 2^62 so it fits an int.
func Size(p netip.Prefix) int {
	host := p.Addr().BitLen() - p.Bits()
	if host >= 62 {
		return 1 << 62
	}
	return 1 << host
}

// Overlap reports whether a and b share any address.
func Overlap(a, b netip.Prefix) bool { return a.Overlaps(b) }

// Contains reports whether inner lies wholly inside outer.
func Contains(outer, inner netip.Prefix) bool {
	return outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

// Subnet returns the netnum-th block of prefix length bits inside p, counting
// from the bottom of p. It is Terraform's cidrsubnet(p, bits-p.Bits(), netnum).
func Subnet(p netip.Prefix, bits, netnum int) (netip.Prefix, error) {
	width := p.Addr().BitLen()
	if bits < p.Bits() || bits > width {
		return netip.Prefix{}, fmt.Errorf("/%d cannot be carved from %s", bits, p)
	}
	if netnum < 0 || (bits-p.Bits() < 63 && netnum >= 1<<(bits-p.Bits())) {
		return netip.Prefix{}, fmt.Errorf("%s has no block %d of size /%d", p, netnum, bits)
	}
	base := new(big.Int).SetBytes(p.Addr().AsSlice())
	off := new(big.Int).Lsh(big.NewInt(int64(netnum)), uint(width-bits))
	base.Add(base, off)
	buf := make([]byte, width/8)
	base.FillBytes(buf)
	addr, _ := netip.AddrFromSlice(buf)
	return netip.PrefixFrom(addr, bits), nil
}

// SubnetFromTop returns the netnum-th block of prefix length bits inside p,
// counting down from the top of p.
func SubnetFromTop(p netip.Prefix, bits, netnum int) (netip.Prefix, error) {
	if bits < p.Bits() || bits-p.Bits() >= 31 {
		return netip.Prefix{}, fmt.Errorf("/%d cannot be counted from the top of %s", bits, p)
	}
	return Subnet(p, bits, 1<<(bits-p.Bits())-1-netnum)
}

// ZoneSubnets is the deterministic per-zone layout of one VPC.
type ZoneSubnets struct {
	Private []netip.Prefix
	Public  []netip.Prefix
}

// Carve lays out zones private and public subnets in vpc. Private subnets are
// taken from the bottom of the VPC upwards (zone i gets block i) and public
// subnets from the top downwards (zone i gets the i-th block from the top).
// Adding a zone therefore never moves an existing subnet, and the two tiers
// can only meet when they need more addresses than the VPC has, which Carve
// reports as an error.
func Carve(vpc netip.Prefix, zones, privateBits, publicBits int) (ZoneSubnets, error) {
	var out ZoneSubnets
	if privateBits < vpc.Bits() || publicBits < vpc.Bits() || privateBits > 32 || publicBits > 32 {
		return ZoneSubnets{}, fmt.Errorf("/%d and /%d subnets cannot be carved from %s", privateBits, publicBits, vpc)
	}
	if need := zones * (Size(netip.PrefixFrom(vpc.Addr(), privateBits)) + Size(netip.PrefixFrom(vpc.Addr(), publicBits))); need > Size(vpc) {
		return ZoneSubnets{}, fmt.Errorf("%d private /%d and %d public /%d subnets need %d addresses, more than the %d of %s",
			zones, privateBits, zones, publicBits, need, Size(vpc), vpc)
	}
	for i := range zones {
		priv, err := Subnet(vpc, privateBits, i)
		if err != nil {
			return ZoneSubnets{}, fmt.Errorf("private subnet of zone %d: %w", i, err)
		}
		pub, err := SubnetFromTop(vpc, publicBits, i)
		if err != nil {
			return ZoneSubnets{}, fmt.Errorf("public subnet of zone %d: %w", i, err)
		}
		out.Private = append(out.Private, priv)
		out.Public = append(out.Public, pub)
	}
	return out, nil
}

// IPv6Subnet returns the /64 numbered netnum inside an Amazon-provided /56.
func IPv6Subnet(block string, netnum int) (string, error) {
	p, err := netip.ParsePrefix(block)
	if err != nil || !p.Addr().Is6() {
		return "", fmt.Errorf("%q is not an IPv6 CIDR block", block)
	}
	s, err := Subnet(p.Masked(), 64, netnum)
	if err != nil {
		return "", err
	}
	return s.String(), nil
}
