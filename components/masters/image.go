package masters

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// image is the masters' AMI and the device its root volume is mapped on
// (which differs between distributions: /dev/sda1, /dev/xvda …).
type image struct {
	id, rootDevice string
}

// lookupImage resolves masters.image: the explicit ID (looked up to learn
// its root device) or the most recent image matching the lookup.
func (b *builder) lookupImage() error {
	sel := b.c.Masters.Image
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
	ami, err := ec2.LookupAmi(b.ctx, args, pulumi.Parent(b.out))
	if err != nil {
		return fmt.Errorf("cluster.masters.image: no AMI found for %s: %w", describeImage(sel.ID, sel.Name, sel.Owners), err)
	}
	if ami.RootDeviceName == "" {
		return fmt.Errorf("cluster.masters.image: AMI %s reports no root device", ami.Id)
	}
	b.image = image{id: ami.Id, rootDevice: ami.RootDeviceName}
	return nil
}

func describeImage(id, name string, owners []string) string {
	if id != "" {
		return id
	}
	return fmt.Sprintf("name %q owned by %v", name, owners)
}
