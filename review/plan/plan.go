// Package plan runs the kinfra program offline: the same program as
// `pulumi up`, under the recording mock monitor with offline answers for AWS
// invokes, and reports every resource it would register and the findings of
// the safety rules. It needs no credentials, no engine and no Pulumi CLI.
package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/regions"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/internal/validate"
	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/program"
	"github.com/kinfra-dev/kinfra/review/findings"
	"github.com/kinfra-dev/kinfra/review/releases"
	"github.com/kinfra-dev/kinfra/spec"
)

// Plan is the outcome of one offline run.
type Plan struct {
	Stack     string             `json:"stack"`
	Config    *spec.Cluster      `json:"config"`
	Resources []mockaws.Resource `json:"resources"`
	Findings  []findings.Finding `json:"findings"`
	// Notes are what the offline run assumed instead of asking AWS, and
	// what it could not confirm (pins without a known public release).
	Notes []string `json:"notes"`
	// Acknowledgements are the stack's, for the reports that judge rules
	// of their own (Failures).
	Acknowledgements []findings.Acknowledgement `json:"acknowledgements,omitempty"`
}

// Run plans a stack. The returned plan is never nil; err is the program's
// error (an invalid config, above all), in which case the plan records what
// was registered before it failed: nothing, for config errors.
func Run(sf stackfile.File) (*Plan, error) {
	p := &Plan{Stack: sf.Name, Resources: []mockaws.Resource{}, Findings: []findings.Finding{}, Notes: []string{}}
	// Acknowledgements are the plan's, not the program's: checked first, so
	// that a bad one fails before anything is registered.
	var acks []findings.Acknowledgement
	if raw, ok := sf.Config[stackfile.AcknowledgementsKey]; ok {
		var err error
		if acks, err = findings.ParseAcknowledgements(raw); err != nil {
			return p, err
		}
		p.Acknowledgements = acks
	}
	region := sf.Config[stackfile.RegionKey]
	m := mockaws.New(region)
	for _, k := range sf.Secure {
		p.Notes = append(p.Notes, k+" is encrypted and was not read offline")
	}
	p.Notes = append(p.Notes, fmt.Sprintf("account 123456789012 is a placeholder for the caller's identity; the partition, %s, is %s's", m.Account.Partition, region))

	// program.Run, with the loaded spec kept and the offline account set up
	// from it before any AWS lookup is made.
	err := m.Run(stackfile.Project, sf.Name, sf.Config, func(ctx *pulumi.Context) error {
		eff, specErr := program.LoadSpec(ctx)
		// A kinfra:pki the plan can read is plain text in the stack file:
		// the program refuses it, so the plan does too, together with any
		// problem of the spec.
		var bundle *pki.Bundle
		var pkiErr error
		if _, ok := ctx.GetConfig(stackfile.PKIKey); ok {
			bundle, pkiErr = program.LoadPKI(ctx)
		}
		if err := program.ConfigErrors(specErr, pkiErr); err != nil {
			return err
		}
		p.Config = &eff
		p.Notes = append(p.Notes, offlineAccount(m, eff)...)
		p.Notes = append(p.Notes, releases.Notes(eff)...)
		if bundle == nil {
			b, err := pki.Offline(eff.Name)
			if err != nil {
				return err
			}
			bundle = b
			p.Notes = append(p.Notes, "kinfra:pki is not readable offline; the plan uses a throwaway PKI (certificates and keys differ from the stack's, nothing else does)")
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
		fs := findings.RunStack(p.Resources, sf.Config, p.Config)
		if len(sf.PKI) > 0 {
			var b pki.Bundle
			if jerr := json.Unmarshal(sf.PKI, &b); jerr != nil {
				return p, fmt.Errorf("the given kinfra:pki is not the JSON `kinfra pki init` writes")
			}
			fs = findings.Sorted(append(fs, findings.RunPKI(&b, time.Now())...))
		}
		p.Findings = findings.Acknowledge(fs, acks)
	}
	return p, err
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
	return append(notes, zoneNotes(eff)...)
}

// zoneNotes say what the plan assumed of the region's zones and which
// choices depend on the account.
func zoneNotes(eff spec.Cluster) []string {
	r, err := regions.Lookup(eff.Region)
	if err != nil {
		return nil // validation has refused the region
	}
	var notes []string
	if r.OptIn {
		notes = append(notes, fmt.Sprintf("%s (%s) is an opt-in region: enable it for the account (AWS console, Account, AWS Regions) before `pulumi up`", r.Name, r.Description))
	}
	zones := eff.Network.AvailabilityZones
	if eff.Network.Existing != nil {
		zones = nil
		for _, s := range eff.Network.Existing.PrivateSubnets {
			zones = append(zones, s.AvailabilityZone)
		}
	}
	if len(zones) == 0 {
		n := eff.Network.AzCount
		notes = append(notes, fmt.Sprintf("availability zones are not pinned; the offline plan takes %s, the first %d of the zones every account has in %s (%s); `pulumi preview` takes the first %d the account reports, by name",
			validate.JoinAll(r.Zones[:n]), n, r.Name, r.DescribeZones(), n))
	}
	for _, z := range zones {
		if slices.Contains(r.SomeAccounts, z) {
			notes = append(notes, fmt.Sprintf("%s exists only in some accounts (%s's zone letters are mapped per account, and retired zones stay only where they were); `pulumi preview` fails if this account has none", z, r.Name))
		}
	}
	return notes
}
