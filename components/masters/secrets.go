package masters

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/pki"
)

// SSM parameter groups: the masters read both, nodes only the join group.
const (
	ControlPlaneParameters = bootstrap.ControlPlaneParameters
	JoinParameters         = bootstrap.JoinParameters
)

// JoinTokenSetting is the join token parameter's property the masters own:
// Pulumi sets it when it creates the parameter (kinfra:pki's token, the
// first) and ignores it afterwards, so that no `pulumi up` puts back a token
// the etcd leader has replaced.
const JoinTokenSetting = "value"

// Parameter is one SSM SecureString holding part of the PKI, at
// <ParameterPrefix>/<Group>/<Name>.
type Parameter struct {
	Group, Name, Value string
}

// Path is the parameter's name below the cluster's parameter prefix.
func (p Parameter) Path() string { return p.Group + "/" + p.Name }

// Parameters lays the bundle out as the boot scripts fetch it. Exported so
// that tests serving the boot script its parameters serve exactly these.
func Parameters(p *pki.Bundle) []Parameter {
	cp := ControlPlaneParameters
	return []Parameter{
		{cp, "ca.crt", p.ClusterCA.Cert},
		{cp, "ca.key", p.ClusterCA.Key},
		{cp, "etcd-ca.crt", p.EtcdCA.Cert},
		{cp, "etcd-ca.key", p.EtcdCA.Key},
		{cp, "front-proxy-ca.crt", p.FrontProxyCA.Cert},
		{cp, "front-proxy-ca.key", p.FrontProxyCA.Key},
		{cp, "sa.key", p.ServiceAccount.Key},
		{cp, "sa.pub", p.ServiceAccount.Public},
		{cp, "encryption-config.yaml", bootstrap.EncryptionConfig(p.EncryptionKey)},
		{JoinParameters, "ca.crt", p.ClusterCA.Cert},
		{JoinParameters, bootstrap.JoinTokenName, p.BootstrapToken},
	}
}

// secrets creates the cluster's KMS key and the PKI parameters it encrypts.
func (b *builder) secrets() error {
	name := b.name + "-kms"
	key, err := kms.NewKey(b.ctx, name, &kms.KeyArgs{
		Description: pulumi.String("kinfra " + b.c.Name + ": encrypts the cluster PKI in SSM"),
		// The default key policy: the account administers the key and IAM
		// policies grant its use, so the master and node roles can be
		// scoped in one place.
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(30),
		Tags:                 b.tags.For(name),
	}, b.parent)
	if err != nil {
		return err
	}
	if _, err := kms.NewAlias(b.ctx, name, &kms.AliasArgs{
		Name:        pulumi.String("alias/kinfra/" + b.c.Name),
		TargetKeyId: key.KeyId,
	}, b.parent); err != nil {
		return err
	}
	b.kmsKeyArn = key.Arn
	b.out.KMSKeyArn = key.Arn

	for _, p := range Parameters(b.pki) {
		res := b.name + "-" + p.Group + "-" + p.Name
		value, ok := pulumi.ToSecret(pulumi.String(p.Value)).(pulumi.StringOutput)
		if !ok {
			return fmt.Errorf("parameter %s: secret is not a string output", res)
		}
		var opts []pulumi.ResourceOption
		if p.Path() == bootstrap.JoinTokenParameter {
			// The masters replace the join token (kinfra:pki's is only the
			// first): Pulumi creates the parameter and never writes its
			// value again (docs/masters.md, "Join tokens").
			opts = append(opts, pulumi.IgnoreChanges([]string{JoinTokenSetting}))
		}
		param, err := ssm.NewParameter(b.ctx, res, &ssm.ParameterArgs{
			Name:        pulumi.String(b.out.ParameterPrefix + "/" + p.Path()),
			Description: pulumi.String("kinfra " + b.c.Name + " PKI, from kinfra:pki"),
			Type:        pulumi.String("SecureString"),
			Tier:        pulumi.String("Standard"),
			KeyId:       key.Arn,
			Value:       value,
			Tags:        b.tags.For(res, map[string]string{tags.ParameterGroup: p.Group}),
		}, append(opts, b.parent)...)
		if err != nil {
			return err
		}
		b.params = append(b.params, param)
	}
	return nil
}
