// Package program is the kinfra Pulumi program: read the stack's config,
// build the cluster, export what other stacks need. main.go runs it under the
// Pulumi engine; `kinfra plan` runs the very same function under mocks.
package program

import (
	"errors"
	"fmt"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/components/cluster"
	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/internal/validate"
	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/spec"
)

// Run is the program body: load the spec and the PKI, then deploy them.
func Run(ctx *pulumi.Context) error {
	s, specErr := LoadSpec(ctx)
	bundle, pkiErr := LoadPKI(ctx)
	if err := ConfigErrors(specErr, pkiErr); err != nil {
		return err
	}
	return Deploy(ctx, s, bundle)
}

// ConfigErrors joins the configuration problems of several keys, so that
// every one is reported at once; an error that is not a configuration
// problem is returned alone.
func ConfigErrors(errs ...error) error {
	var all validate.Errors
	for _, err := range errs {
		var ve validate.Errors
		switch {
		case err == nil:
		case errors.As(err, &ve):
			all.Append(ve)
		default:
			return err
		}
	}
	if len(all) > 0 {
		return all
	}
	return nil
}

// Deploy builds the cluster of an effective spec and exports what other
// stacks need. The offline plan calls LoadSpec and Deploy itself, so that it
// runs this very code while seeing the spec it loaded.
func Deploy(ctx *pulumi.Context, s spec.Cluster, bundle *pki.Bundle) error {
	c, err := cluster.New(ctx, s.Name, s, bundle)
	if err != nil {
		return err
	}
	for k, v := range c.Outputs() {
		ctx.Export(k, v)
	}
	return nil
}

// LoadSpec reads kinfra:cluster and aws:region and returns the effective
// spec, or every configuration problem at once.
func LoadSpec(ctx *pulumi.Context) (spec.Cluster, error) {
	raw, ok := ctx.GetConfig(stackfile.ClusterKey)
	if !ok {
		return spec.Cluster{}, validate.Errors{{Path: stackfile.ClusterKey, Message: "required; the stack file must set kinfra:cluster (see docs/config.md)"}}
	}
	region, _ := ctx.GetConfig(stackfile.RegionKey)
	return spec.Load([]byte(raw), region)
}

// PlainPKIMessage is why a plain-text kinfra:pki is refused, by the program
// and by the offline plan.
func PlainPKIMessage(stack string) string {
	return fmt.Sprintf("is plain text in the stack file, but it holds the cluster's CA private keys and must be a Pulumi secret (secure: in the stack file). "+
		"Before the cluster exists, create a new PKI with `kinfra pki init --stack %s --force`, which stores it as a secret; "+
		"for a running cluster, store the same value as a secret with `pulumi config set --secret %s --stack %s` and treat the keys as exposed if the file was ever shared (docs/pki.md)", stack, stackfile.PKIKey, stack)
}

// LoadPKI reads the secret kinfra:pki that `kinfra pki init` wrote, and
// refuses it if the stack holds it in plain text.
func LoadPKI(ctx *pulumi.Context) (*pki.Bundle, error) {
	raw, ok := ctx.GetConfig(stackfile.PKIKey)
	if !ok || raw == "" {
		return nil, validate.Errors{{Path: stackfile.PKIKey, Message: fmt.Sprintf("not set; create the cluster's PKI with `kinfra pki init --stack %s` (it stores it as this secret config value)", ctx.Stack())}}
	}
	if !ctx.IsConfigSecret(stackfile.PKIKey) {
		// The CAs' private keys, readable by anyone who reads the stack
		// file: refuse before using them.
		return nil, validate.Errors{{Path: stackfile.PKIKey, Message: PlainPKIMessage(ctx.Stack())}}
	}
	b, err := pki.Parse([]byte(raw), time.Now())
	if err != nil {
		return nil, err
	}
	// What only an operator renews (the CAs, the admin certificate), 90
	// days ahead: the finding pki/expiry's words. Expired, Parse refused it.
	now := time.Now()
	for _, e := range b.Expiries() {
		if !e.Due(now) {
			continue
		}
		if err := ctx.Log.Warn(e.Path+": "+e.Message(now), nil); err != nil {
			return nil, err
		}
	}
	if b.IsOffline() {
		return nil, validate.Errors{{Path: stackfile.PKIKey, Message: "holds the offline plan's throwaway PKI, which must never be deployed; run `kinfra pki init --stack " + ctx.Stack() + " --force` to replace it"}}
	}
	return b, nil
}
