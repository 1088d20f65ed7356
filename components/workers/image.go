package workers

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/ami"
	"github.com/kinfra-dev/kinfra/internal/instancetypes"
)

// image resolves the pool's AMI: the stack's pipeline build, an explicit ID
// or the most recent image matching the lookup, of the architecture its
// instance types share (spec checks that they do).
func (b *builder) image() (ami.Image, error) {
	if b.p.Image.Pipeline {
		return ami.Image{ID: b.args.Image.ID, RootDevice: b.args.Image.RootDevice}, nil
	}
	return ami.Lookup(b.ctx, "cluster.nodePools["+b.p.Name+"].image", b.p.Image, instancetypes.Arch(b.p.InstanceTypes[0]), pulumi.Parent(b.out))
}
