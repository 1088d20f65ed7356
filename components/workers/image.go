package workers

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/ami"
)

// image resolves the pool's AMI: the stack's pipeline build, an explicit ID
// or the most recent image matching the lookup.
func (b *builder) image() (ami.Image, error) {
	if b.p.Image.Pipeline {
		return ami.Image{ID: b.args.Image.ID, RootDevice: b.args.Image.RootDevice}, nil
	}
	return ami.Lookup(b.ctx, "cluster.nodePools["+b.p.Name+"].image", b.p.Image, pulumi.Parent(b.out))
}
