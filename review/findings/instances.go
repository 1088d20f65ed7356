package findings

import (
	"fmt"
	"strings"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

const (
	ebsVolumeType   = "aws:ebs/volume:Volume"
	imageRecipeType = "aws:imagebuilder/imageRecipe:ImageRecipe"
)

// imdsv2 checks the instance metadata options of everything that launches
// instances: launch templates, instances and Image Builder's build
// instances. IMDSv1 answers any request, so an SSRF in any workload hands
// out the instance role's credentials; a hop limit above 1 lets every pod
// (one hop further, in its own network namespace) reach them too.
func imdsv2(rs []mockaws.Resource) []Finding {
	var out []Finding
	for _, typ := range []string{launchTemplate, instanceType} {
		for _, r := range mockaws.OfType(rs, typ) {
			if msg := metadataProblem(mockaws.Object(r.Inputs["metadataOptions"]), true); msg != "" {
				out = append(out, Finding{Resource: r.URN, Message: msg})
			}
		}
	}
	for _, r := range mockaws.OfType(rs, infrastructureConfigType) {
		if msg := metadataProblem(mockaws.Object(r.Inputs["instanceMetadataOptions"]), false); msg != "" {
			out = append(out, Finding{Resource: r.URN, Message: msg})
		}
	}
	return out
}

// metadataProblem says what is wrong with metadata options, or "". With
// needHopLimit, an unset hop limit is wrong too: instances then take the
// AMI's, which is 2 for AMIs registered for IMDSv2.
func metadataProblem(md map[string]any, needHopLimit bool) string {
	const fix = "set httpTokens: required and httpPutResponseHopLimit: 1"
	if md == nil {
		return "no metadata options: instances take the AMI's or the account's defaults, which may answer IMDSv1 requests; " + fix
	}
	if mockaws.Str(md["httpEndpoint"]) == "disabled" {
		return "" // no metadata service at all
	}
	var problems []string
	if tokens := mockaws.Str(md["httpTokens"]); tokens != "required" {
		if tokens == "" {
			tokens = "unset"
		}
		problems = append(problems, fmt.Sprintf("httpTokens is %s, so IMDSv1 answers without a token and any request forgery in a workload reads the instance role's credentials", tokens))
	}
	hop, set := md["httpPutResponseHopLimit"].(float64)
	switch {
	case set && hop > 1:
		problems = append(problems, fmt.Sprintf("httpPutResponseHopLimit is %d, so pods in their own network namespace reach the instance role's credentials", int(hop)))
	case !set && needHopLimit:
		problems = append(problems, "httpPutResponseHopLimit is unset, so instances take the AMI's (2 for AMIs registered for IMDSv2), which lets pods reach the instance role's credentials")
	}
	if len(problems) == 0 {
		return ""
	}
	return strings.Join(problems, "; ") + "; " + fix
}

// storageEncrypted checks every EBS volume kinfra creates or launches: the
// volumes themselves, launch templates' and instances' block devices and
// Image Builder recipes' (the images' snapshots).
func storageEncrypted(rs []mockaws.Resource) []Finding {
	var out []Finding
	add := func(r mockaws.Resource, format string, args ...any) {
		out = append(out, Finding{Resource: r.URN, Message: fmt.Sprintf(format, args...)})
	}
	for _, v := range mockaws.OfType(rs, ebsVolumeType) {
		if !isTrue(v.Inputs["encrypted"]) {
			add(v, "this volume is not encrypted, so its data and snapshots are readable wherever they are copied; set encrypted: true (a volume cannot be encrypted in place: snapshot it and restore an encrypted copy)")
		}
	}
	for _, typ := range []string{launchTemplate, imageRecipeType} {
		what := map[string]string{launchTemplate: "instances", imageRecipeType: "images"}[typ]
		for _, r := range mockaws.OfType(rs, typ) {
			ebs := 0
			for _, raw := range mockaws.List(r.Inputs["blockDeviceMappings"]) {
				m := mockaws.Object(raw)
				e := mockaws.Object(m["ebs"])
				if e == nil {
					continue
				}
				ebs++
				if !isTrue(e["encrypted"]) {
					add(r, "block device %s is not encrypted, so the %s' volumes are written in the clear; set ebs.encrypted: true", mockaws.Str(m["deviceName"]), what)
				}
			}
			if ebs == 0 {
				add(r, "no EBS block device mapping: the root volume of its %s is encrypted only if the AMI's snapshot or the account's default says so; map the root device with ebs.encrypted: true", what)
			}
		}
	}
	for _, i := range mockaws.OfType(rs, instanceType) {
		root := mockaws.Object(i.Inputs["rootBlockDevice"])
		if !isTrue(root["encrypted"]) {
			add(i, "the root volume is not encrypted (or takes the AMI's or account's default); set rootBlockDevice.encrypted: true")
		}
		for _, raw := range mockaws.List(i.Inputs["ebsBlockDevices"]) {
			if m := mockaws.Object(raw); !isTrue(m["encrypted"]) {
				add(i, "block device %s is not encrypted; set encrypted: true", mockaws.Str(m["deviceName"]))
			}
		}
	}
	return out
}

// isTrue reads a boolean input, which some AWS schemas (launch template
// block devices) take as the string "true".
func isTrue(v any) bool {
	return v == true || v == "true"
}
