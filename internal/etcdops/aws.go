// Package etcdops runs day-2 operations on a cluster's etcd from an
// operator's machine: it lists the snapshots the masters upload to S3 and
// asks every master to restore one (`kinfra etcd backups`, `kinfra etcd
// restore`; docs/etcd-restore.md).
//
// It reads and writes the same durable record the masters keep in SSM
// (internal/bootstrap, etcdstate.go) and calls AWS through the narrow
// interfaces below, which the AWS SDK for Go v2 clients satisfy. The SDK
// stays out of the components' import graph: only this package and
// cmd/kinfra import it (tests/importgraph_test.go holds that).
package etcdops

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// S3API is what etcdops asks of S3: list the snapshots, read one's metadata.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

// SSMAPI reads the cluster's record and CA, and writes the restore request.
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, opts ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
}

// EC2API finds the masters and reboots them.
type EC2API interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, opts ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	RebootInstances(ctx context.Context, in *ec2.RebootInstancesInput, opts ...func(*ec2.Options)) (*ec2.RebootInstancesOutput, error)
}

// STSAPI tells who is calling: the account (which names the backup bucket)
// and the ARN recorded in a restore request.
type STSAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, opts ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// Clients are the AWS clients of one region.
type Clients struct {
	S3  S3API
	SSM SSMAPI
	EC2 EC2API
	STS STSAPI
}

// NewClients builds the SDK's clients for region from the default
// credential chain (environment, shared config and profile, SSO, instance
// role) and profile, if set (the stack's aws:profile). The SDK honours
// AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_<SERVICE>), which points every
// client at an emulator or a private endpoint.
func NewClients(ctx context.Context, region, profile string) (Clients, error) {
	cfg, err := LoadConfig(ctx, region, profile)
	if err != nil {
		return Clients{}, err
	}
	return ClientsFromConfig(cfg), nil
}

// LoadConfig is the SDK configuration of region from the default
// credential chain and profile, if set: what every day-2 command calls AWS
// with.
func LoadConfig(ctx context.Context, region, profile string) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{config.WithRegion(region)}
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	return cfg, nil
}

// ClientsFromConfig builds the clients from an SDK configuration.
func ClientsFromConfig(cfg aws.Config) Clients {
	return Clients{
		S3:  s3.NewFromConfig(cfg),
		SSM: ssm.NewFromConfig(cfg),
		EC2: ec2.NewFromConfig(cfg),
		STS: sts.NewFromConfig(cfg),
	}
}
