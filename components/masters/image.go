package masters

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/ami"
	"github.com/kinfra-dev/kinfra/internal/instancetypes"
)

// lookupImage resolves masters.image: the stack's pipeline build (given in
// Args.Image), an explicit ID, or the most recent image matching the lookup.
func (b *builder) lookupImage() error {
	sel := b.c.Masters.Image
	if sel.Pipeline {
		b.image = ami.Image{ID: b.built.ID, RootDevice: b.built.RootDevice}
		return nil
	}
	img, err := ami.Lookup(b.ctx, "cluster.masters.image", sel, instancetypes.Arch(b.c.Masters.InstanceType), pulumi.Parent(b.out))
	if err != nil {
		return err
	}
	b.image = img
	return nil
}

// Image is an AMI built in the same stack (the images component).
type Image struct {
	ID pulumi.StringInput
	// RootDevice is the AMI's root device name.
	RootDevice string
}

func (a Args) checkImage() []string {
	if a.Cluster.Masters.Image.Pipeline && (a.Image == nil || a.Image.ID == nil || a.Image.RootDevice == "") {
		return []string{"masters.Image: required (ID and RootDevice) when cluster.masters.image uses the stack's pipeline image"}
	}
	return nil
}
