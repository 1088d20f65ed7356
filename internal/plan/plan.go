// Package plan runs the kinfra program offline: the same program as
// `pulumi up`, under the recording mock monitor with offline answers for AWS
// invokes, and reports every resource it would register and the findings of
// the safety rules. It needs no credentials, no engine and no Pulumi CLI.
package plan

import (
	"errors"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/findings"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/program"
	"github.com/kinfra-dev/kinfra/internal/validate"
	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/spec"
)

// Project is the Pulumi project name the program runs as.
const Project = "kinfra"

// Plan is the outcome of one offline run.
type Plan struct {
	Stack     string             `json:"stack"`
	Config    *spec.Cluster      `json:"config"`
	Resources []mockaws.Resource `json:"resources"`
	Findings  []findings.Finding `json:"findings"`
	// Notes are what the offline run assumed instead of asking AWS.
	Notes []string `json:"notes"`
}

// Run plans a stack. The returned plan is never nil; err is the program's
// error (an invalid config, above all), in which case the plan records what
// was registered before it failed: nothing, for config errors.
func Run(sf StackFile) (*Plan, error) {
	p := &Plan{Stack: sf.Name, Resources: []mockaws.Resource{}, Findings: []findings.Finding{}, Notes: []string{}}
	// Acknowledgements are the plan's, not the program's: checked first, so
	// that a bad one fails before anything is registered.
	var acks []findings.Acknowledgement
	if raw, ok := sf.Config[findings.AcknowledgementsKey]; ok {
		var err error
		if acks, err = findings.ParseAcknowledgements(raw); err != nil {
			return p, err
		}
	}
	region := sf.Config[program.RegionKey]
	m := mockaws.New(region)
	for _, k := range sf.Secure {
		p.Notes = append(p.Notes, k+" is encrypted and was not read offline")
	}
	p.Notes = append(p.Notes, "account 123456789012 and partition aws are placeholders for the caller's identity")

	// program.Run, with the loaded spec kept and the offline account set up
	// from it before any AWS lookup is made.
	err := m.Run(Project, sf.Name, sf.Config, func(ctx *pulumi.Context) error {
		eff, err := program.LoadSpec(ctx)
		if err != nil {
			return err
		}
		p.Config = &eff
		p.Notes = append(p.Notes, offlineAccount(m, eff)...)
		bundle, note, err := offlinePKI(ctx, eff.Name)
		if err != nil {
			return err
		}
		if note != "" {
			p.Notes = append(p.Notes, note)
		}
		return program.Deploy(ctx, eff, bundle)
	})
	// The SDK wraps program errors; configuration errors read best bare.
	var cfgErrs validate.Errors
	if errors.As(err, &cfgErrs) {
		err = cfgErrs
	}
	p.Resources = m.Resources()
	if err == nil {
		p.Findings = findings.Acknowledge(findings.Run(p.Resources), acks)
	}
	return p, err
}

// offlinePKI is the stack's PKI when the plan can read it (a plain
// kinfra:pki, as in tests), else a throwaway one: kinfra:pki is a Pulumi
// secret, which only the stack's secrets provider can decrypt.
func offlinePKI(ctx *pulumi.Context, cluster string) (*pki.Bundle, string, error) {
	if _, ok := ctx.GetConfig(program.PKIKey); ok {
		b, err := program.LoadPKI(ctx)
		return b, "", err
	}
	b, err := pki.Offline(cluster)
	if err != nil {
		return nil, "", err
	}
	return b, "kinfra:pki is not readable offline; the plan uses a throwaway PKI (certificates and keys differ from the stack's, nothing else does)", nil
}

// offlineAccount makes the offline account answer for what the spec assumes
// exists, and returns the notes that say so.
func offlineAccount(m *mockaws.Mocks, eff spec.Cluster) []string {
	var notes []string
	if ex := eff.Network.Existing; ex != nil {
		// Offline, the adopted network is taken to be as declared.
		m.Account.Vpcs = map[string]mockaws.Vpc{ex.VpcId: {Cidr: eff.Network.VpcCidr, DNSSupport: true, DNSHostnames: true}}
		m.Account.Subnets = map[string]mockaws.Subnet{}
		for _, s := range append(append([]spec.ExistingSubnet{}, ex.PrivateSubnets...), ex.PublicSubnets...) {
			m.Account.Subnets[s.ID] = mockaws.Subnet{VpcID: ex.VpcId, AvailabilityZone: s.AvailabilityZone, Cidr: s.Cidr}
		}
		notes = append(notes, "the adopted VPC and subnets are assumed to match their declaration; `pulumi preview` checks them against AWS before creating anything")
	}
	if len(eff.Network.AvailabilityZones) == 0 {
		notes = append(notes, "availability zones are not pinned; the offline plan assumes "+eff.Region+"a, b, c…, AWS may report others")
	}
	return notes
}
