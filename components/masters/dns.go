package masters

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// dns creates the cluster's private zone and the API's names in it (and in
// the public zone, when configured). The etcd slot records are per slot.
func (b *builder) dns() error {
	name := b.name + "-zone"
	zone, err := route53.NewZone(b.ctx, name, &route53.ZoneArgs{
		Name:    pulumi.String(b.c.PrivateDomain),
		Comment: pulumi.String("kinfra " + b.c.Name + ": API and etcd slot names"),
		Vpcs:    route53.ZoneVpcArray{&route53.ZoneVpcArgs{VpcId: b.net.VpcID, VpcRegion: pulumi.String(b.c.Region)}},
		Tags:    b.tags.For(name),
	}, b.parent)
	if err != nil {
		return err
	}
	b.zoneID = zone.ZoneId
	b.out.PrivateZoneID = zone.ZoneId
	alias := route53.RecordAliasArray{&route53.RecordAliasArgs{
		Name:                 b.out.LoadBalancerDNSName,
		ZoneId:               b.nlbZoneID,
		EvaluateTargetHealth: pulumi.Bool(false),
	}}
	if _, err := route53.NewRecord(b.ctx, b.name+"-api", &route53.RecordArgs{
		ZoneId:  zone.ZoneId,
		Name:    pulumi.String(b.out.APIName),
		Type:    pulumi.String("A"),
		Aliases: alias,
	}, b.parent); err != nil {
		return err
	}
	if b.c.API.PublicZoneId != "" {
		if _, err := route53.NewRecord(b.ctx, b.name+"-api-public", &route53.RecordArgs{
			ZoneId:  pulumi.String(b.c.API.PublicZoneId),
			Name:    pulumi.String(b.c.API.PublicName),
			Type:    pulumi.String("A"),
			Aliases: alias,
		}, b.parent); err != nil {
			return err
		}
	}
	return nil
}

// placeholderAddress is what a slot record holds until its first instance
// points it at itself: TEST-NET-1, which routes nowhere.
const placeholderAddress = "192.0.2.1"

// slotRecord creates etcd-<i>.<domain>. The booting instance UPSERTs its own
// address, so Pulumi ignores the record's value after creation.
func (b *builder) slotRecord(slot int, record string) (*route53.Record, error) {
	return route53.NewRecord(b.ctx, b.slotName(slot)+"-dns", &route53.RecordArgs{
		ZoneId:  b.zoneID,
		Name:    pulumi.String(record),
		Type:    pulumi.String("A"),
		Ttl:     pulumi.Int(30),
		Records: pulumi.StringArray{pulumi.String(placeholderAddress)},
	}, b.parent, pulumi.IgnoreChanges([]string{"records"}))
}
