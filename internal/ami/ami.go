// Package ami resolves an image selection (spec.Image) to an AMI and the
// device its root volume is mapped on, which differs between distributions
// (/dev/sda1 on Ubuntu, /dev/xvda on Amazon Linux) and which a launch
// template's root block device mapping must name.
package ami

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/spec"
)

// Image is a resolved AMI.
type Image struct {
	ID         pulumi.StringInput
	RootDevice string
}

// Lookup resolves sel, an explicit ID (looked up to learn its root device) or
// the most recent image matching the lookup, of architecture arch (the
// instance types', x86_64 or arm64): an image of another architecture would
// not boot, and a name pattern may match both. path names the selection in
// errors (cluster.masters.image). A pipeline selection is resolved by the
// images component, not here.
func Lookup(ctx *pulumi.Context, path string, sel spec.Image, arch string, opts ...pulumi.InvokeOption) (Image, error) {
	if sel.Pipeline {
		return Image{}, fmt.Errorf("%s: the pipeline's image is built in the stack, not looked up", path)
	}
	args := &ec2.LookupAmiArgs{MostRecent: pulumi.BoolRef(true)}
	if sel.ID != "" {
		args.Filters = []ec2.GetAmiFilter{{Name: "image-id", Values: []string{sel.ID}}}
	} else {
		args.Owners = sel.Owners
		args.Filters = []ec2.GetAmiFilter{{Name: "name", Values: []string{sel.Name}}, {Name: "state", Values: []string{"available"}}}
		if len(sel.Tags) > 0 {
			args.Tags = sel.Tags
		}
	}
	args.Filters = append(args.Filters, ec2.GetAmiFilter{Name: "architecture", Values: []string{arch}})
	found, err := ec2.LookupAmi(ctx, args, opts...)
	if err != nil {
		return Image{}, fmt.Errorf("%s: no %s AMI found for %s: %w", path, arch, describe(sel), err)
	}
	if found.RootDeviceName == "" {
		return Image{}, fmt.Errorf("%s: AMI %s reports no root device", path, found.Id)
	}
	return Image{ID: pulumi.String(found.Id), RootDevice: found.RootDeviceName}, nil
}

func describe(sel spec.Image) string {
	if sel.ID != "" {
		return sel.ID
	}
	return fmt.Sprintf("name %q owned by %v", sel.Name, sel.Owners)
}
