// Package awsaccount looks up the account and partition a stack deploys to,
// which the ARNs in kinfra's IAM policies are built from.
package awsaccount

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Identity is the caller's account and partition (aws, aws-cn, aws-us-gov).
type Identity struct {
	AccountID string
	Partition string
}

// Lookup asks AWS (or the offline model) once, as a child of parent.
func Lookup(ctx *pulumi.Context, parent pulumi.Resource) (Identity, error) {
	account, err := aws.GetCallerIdentity(ctx, nil, pulumi.Parent(parent))
	if err != nil {
		return Identity{}, err
	}
	partition, err := aws.GetPartition(ctx, nil, pulumi.Parent(parent))
	if err != nil {
		return Identity{}, err
	}
	return Identity{AccountID: account.AccountId, Partition: partition.Partition}, nil
}
