package masters

import (
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/tags"
)

// toolParameters creates the SSM parameters the masters install their
// tools from (internal/bootstrap/tools.go): one per content, named by its
// SHA-256, so that a changed script is a new parameter beside the old one.
// Each is retained when it leaves the stack: a master that AWS replaces
// from an older launch template version, before `kinfra roll` moved its
// slot, installs the tools that version names. Overwrite lets a parameter
// retained earlier be adopted when the same content returns (same name,
// same value).
func (b *builder) toolParameters() error {
	tools, err := bootstrap.MasterTools(b.c.Backup.On())
	if err != nil {
		return err
	}
	for _, t := range tools {
		sum := strings.TrimPrefix(t.Parameter, bootstrap.ToolsGroup+"/")
		res := b.name + "-tool-" + sum[:16]
		param, err := ssm.NewParameter(b.ctx, res, &ssm.ParameterArgs{
			Name:        pulumi.String(b.out.ParameterPrefix + "/" + t.Parameter),
			Description: pulumi.String("kinfra " + b.c.Name + ": master tool " + t.Path + " (gzip, base64; named by its SHA-256)"),
			Type:        pulumi.String("String"),
			Tier:        pulumi.String("Standard"),
			// Not a secret (Value would make it one): reviewers see it.
			InsecureValue: pulumi.String(t.Value),
			Overwrite:     pulumi.Bool(true),
			Tags:          b.tags.For(res, map[string]string{tags.ParameterGroup: bootstrap.ToolsGroup}),
		}, b.parent, pulumi.RetainOnDelete(true))
		if err != nil {
			return err
		}
		b.tools = append(b.tools, param)
	}
	return nil
}
