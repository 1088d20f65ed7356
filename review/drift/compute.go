package drift

import (
	"fmt"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/inventory"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

func (c *comparison) launchTemplate(pr *planned) {
	lt := pr.live.obj.(*inventory.LaunchTemplate)
	d := lt.Data
	c.attrIf(pr, "instanceType", d.InstanceType)
	c.set(pr, "vpcSecurityGroupIds", d.SecurityGroupIDs)
	c.attrIf(pr, "metadataOptions.httpTokens", d.HTTPTokens)
	hop := ""
	if d.HTTPHopLimit != 0 {
		hop = num(d.HTTPHopLimit)
	}
	c.attrIf(pr, "metadataOptions.httpPutResponseHopLimit", hop)
	c.blockDevices(pr, d.BlockDevices)
	// kinfra's updates make each new version the default
	// (updateDefaultVersion), so a newer version that is not the default
	// was made outside code. The version numbers themselves count updates
	// since creation, which the plan cannot know.
	c.use(tLT, "updateDefaultVersion")
	if truthy(pr.r.Inputs["updateDefaultVersion"]) && lt.LatestVersion != lt.DefaultVersion {
		c.add(Drift{Kind: Changed, Type: tLT, Name: pr.name, ID: pr.live.id, Path: "latestVersion",
			Plan: num(lt.DefaultVersion), Live: num(lt.LatestVersion),
			Message: fmt.Sprintf("version %d was made outside code: kinfra makes every new version the default, and the default is %d", lt.LatestVersion, lt.DefaultVersion)})
	}
	c.tagDrift(pr, lt.Tags)
}

// blockDevices compares EBS mappings by device name.
func (c *comparison) blockDevices(pr *planned, liveDevs []inventory.BlockDevice) {
	fields := []string{"volumeType", "volumeSize", "iops", "throughput", "encrypted"}
	c.use(tLT, "blockDeviceMappings[].deviceName")
	for _, f := range fields {
		c.use(tLT, "blockDeviceMappings[].ebs."+f)
	}
	byName := map[string]inventory.BlockDevice{}
	for _, b := range liveDevs {
		byName[b.DeviceName] = b
	}
	planned := map[string]bool{}
	for _, e := range list(pr.r.Inputs["blockDeviceMappings"]) {
		name := mockaws.Str(e["deviceName"])
		ebs, _ := e["ebs"].(map[string]any)
		if ebs == nil {
			continue // not an EBS mapping: the inventory reads only those
		}
		planned[name] = true
		base := fmt.Sprintf("blockDeviceMappings[%q].ebs.", name)
		b, ok := byName[name]
		if !ok {
			c.attr(pr, fmt.Sprintf("blockDeviceMappings[%q]", name), "EBS", "")
			continue
		}
		liveV := map[string]string{"volumeType": b.VolumeType, "volumeSize": num(b.SizeGiB), "iops": num(b.Iops),
			"throughput": num(b.Throughput), "encrypted": boolText(b.Encrypted)}
		for _, f := range fields {
			if v, ok := ebs[f]; ok {
				c.attr(pr, base+f, text(v), liveV[f])
			}
		}
	}
	for _, b := range liveDevs {
		if !planned[b.DeviceName] {
			c.attr(pr, fmt.Sprintf("blockDeviceMappings[%q]", b.DeviceName), "", "EBS")
		}
	}
}

func (c *comparison) autoScalingGroup(pr *planned) {
	g := pr.live.obj.(*inventory.AutoScalingGroup)
	c.attrIf(pr, "minSize", num(g.MinSize))
	c.attrIf(pr, "maxSize", num(g.MaxSize))
	c.attrIf(pr, "healthCheckType", g.HealthCheckType)
	c.attrIf(pr, "healthCheckGracePeriod", num(g.HealthCheckGracePeriod))
	c.set(pr, "vpcZoneIdentifiers", g.SubnetIDs)
	c.set(pr, "targetGroupArns", g.TargetGroupARNs)
	if _, ok := pr.r.Inputs["launchTemplate"]; ok {
		id := ""
		if g.LaunchTemplate != nil {
			id = g.LaunchTemplate.ID
		}
		c.ref1(pr, "launchTemplate.id", id)
	}
	if _, ok := pr.r.Inputs["mixedInstancesPolicy"]; ok {
		c.mixedInstances(pr, g.MixedInstances)
	}
	c.tagDrift(pr, g.Tags)
}

func (c *comparison) mixedInstances(pr *planned, m *inventory.MixedInstances) {
	const lt, dist = "mixedInstancesPolicy.launchTemplate.", "mixedInstancesPolicy.instancesDistribution."
	if m == nil {
		m = &inventory.MixedInstances{} // a group without the policy: every planned field differs
	}
	c.ref1(pr, lt+"launchTemplateSpecification.launchTemplateId", m.LaunchTemplate.ID)
	var types []string
	for _, o := range list(at1(pr.r.Inputs, lt+"overrides")) {
		types = append(types, mockaws.Str(o["instanceType"]))
	}
	c.use(tASG, lt+"overrides[].instanceType")
	// Ordered: with the prioritized strategy the order is the preference.
	c.attr(pr, lt+"overrides", strings.Join(types, ", "), strings.Join(m.InstanceTypes, ", "))
	c.attrIf(pr, dist+"onDemandBaseCapacity", num(m.OnDemandBaseCapacity))
	c.attrIf(pr, dist+"onDemandPercentageAboveBaseCapacity", num(m.OnDemandPercentageAboveBaseCapacity))
	c.attrIf(pr, dist+"spotAllocationStrategy", m.SpotAllocationStrategy)
}

func (c *comparison) loadBalancer(pr *planned) {
	lb := pr.live.obj.(*inventory.LoadBalancer)
	c.attrIf(pr, "name", lb.Name)
	c.attrOr(pr, "loadBalancerType", "application", lb.Type)
	scheme := "internet-facing"
	if truthy(pr.r.Inputs["internal"]) {
		scheme = "internal"
	}
	c.attr(pr, "internal", scheme, lb.Scheme)
	c.set(pr, "subnets", lb.SubnetIDs)
	c.set(pr, "securityGroups", lb.SecurityGroupIDs)
	c.tagDrift(pr, lb.Tags)
}

func (c *comparison) targetGroup(pr *planned) {
	tg := pr.live.obj.(*inventory.TargetGroup)
	c.attrIf(pr, "name", tg.Name)
	c.attrIf(pr, "protocol", tg.Protocol)
	c.attrIf(pr, "port", num(tg.Port))
	c.ref1(pr, "vpcId", tg.VpcID)
	c.attrOr(pr, "targetType", "instance", tg.TargetType)
	c.attrIf(pr, "healthCheck.protocol", tg.HealthCheckProtocol)
	c.attrIf(pr, "healthCheck.path", tg.HealthCheckPath)
	c.tagDrift(pr, tg.Tags)
}

// list reads a list of objects.
func list(v any) []map[string]any {
	l, _ := v.([]any)
	out := make([]map[string]any, 0, len(l))
	for _, e := range l {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// at1 is at without the found flag.
func at1(m map[string]any, path string) any {
	v, _ := at(m, path)
	return v
}
