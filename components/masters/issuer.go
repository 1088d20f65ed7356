package masters

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/after"
	"github.com/kinfra-dev/kinfra/internal/irsa"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/spec"
)

// The service-account issuer AWS trusts (IAM roles for service accounts
// without EKS, as kops does it). The API servers sign tokens as
// https://<bucket>.s3.<region>.<suffix>; that bucket publishes the
// issuer's two discovery documents to anyone (AWS STS reads them
// unauthenticated) and nothing else; an IAM OpenID Connect provider for the
// issuer lets roles trust tokens of one service account each
// (components/addons: the EBS CSI controller's). docs/decisions.md says
// why, and what an account that blocks public bucket policies must do.

// IssuerRole is the issuer bucket's tags.Role, by which the plan's reports
// tell it from the etcd backup bucket.
const IssuerRole = "service-account-issuer"

// issuer is this cluster's service-account issuer.
func (b *builder) issuer() irsa.Issuer {
	return irsa.Issuer{Bucket: spec.IssuerBucketName(b.c.Name, b.account, b.c.Region), Region: b.c.Region, Partition: b.partition}
}

// serviceAccountIssuer publishes the discovery documents and registers the
// issuer with IAM.
func (b *builder) serviceAccountIssuer() error {
	is := b.issuer()
	b.out.ServiceAccountIssuer = is.URL()
	discovery, err := is.Discovery(b.pki.ServiceAccount.Public)
	if err != nil {
		return err
	}
	jwks, err := irsa.JWKS(b.pki.ServiceAccount.Public)
	if err != nil {
		return err
	}
	name := b.name + "-issuer"
	// Nothing in it but what kinfra writes, and that is regenerated: no
	// versioning, and a destroy may delete it.
	bucket, err := s3.NewBucketV2(b.ctx, name, &s3.BucketV2Args{
		Bucket: pulumi.String(is.Bucket),
		Tags:   b.tags.For(name, map[string]string{tags.Role: IssuerRole}),
	}, b.parent)
	if err != nil {
		return err
	}
	// S3 refuses concurrent changes to one bucket's configuration
	// (OperationAborted): each part waits for the one before.
	var parts []pulumi.CustomResource
	afterParts := func() pulumi.ResourceOption { return after.All(parts...) }
	add := func(r pulumi.CustomResource, err error) error {
		if err == nil {
			parts = append(parts, r)
		}
		return err
	}
	if err := add(s3.NewBucketOwnershipControls(b.ctx, name+"-ownership", &s3.BucketOwnershipControlsArgs{
		Bucket: bucket.Bucket,
		// No ACLs: only the bucket policy grants access.
		Rule: &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, b.parent, afterParts())); err != nil {
		return err
	}
	if err := add(s3.NewBucketPublicAccessBlock(b.ctx, name+"-public-access", &s3.BucketPublicAccessBlockArgs{
		Bucket:          bucket.Bucket,
		BlockPublicAcls: pulumi.Bool(true), IgnorePublicAcls: pulumi.Bool(true),
		// The policy below is public (two objects): S3 would refuse it,
		// and ignore it, with these on.
		BlockPublicPolicy: pulumi.Bool(false), RestrictPublicBuckets: pulumi.Bool(false),
	}, b.parent, afterParts())); err != nil {
		return err
	}
	if err := add(s3.NewBucketServerSideEncryptionConfigurationV2(b.ctx, name+"-encryption", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: bucket.Bucket,
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			// S3-managed keys: a KMS key would have to let anyone decrypt
			// for STS to read the documents.
			ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
				SseAlgorithm: pulumi.String("AES256"),
			},
		}},
	}, b.parent, afterParts())); err != nil {
		return err
	}
	policy, err := is.BucketPolicy().JSON()
	if err != nil {
		return err
	}
	if err := add(s3.NewBucketPolicy(b.ctx, name+"-policy", &s3.BucketPolicyArgs{
		Bucket: bucket.Bucket, Policy: pulumi.String(policy),
	}, b.parent, afterParts())); err != nil {
		return err
	}
	configured := append([]pulumi.CustomResource{}, parts...)
	for _, doc := range []struct{ suffix, key, content string }{
		{"-discovery", irsa.DiscoveryKey, discovery},
		{"-jwks", irsa.JWKSKey, jwks},
	} {
		if err := add(s3.NewBucketObjectv2(b.ctx, name+doc.suffix, &s3.BucketObjectv2Args{
			Bucket: bucket.Bucket, Key: pulumi.String(doc.key),
			Content: pulumi.String(doc.content), ContentType: pulumi.String("application/json"),
			Tags: b.tags.For(name + doc.suffix),
			// Written once the bucket encrypts them and its policy is in
			// place.
		}, b.parent, after.All(configured...))); err != nil {
			return err
		}
	}
	// Registered once STS can read the documents, so that no role trusts
	// an issuer it cannot verify yet. No thumbprint: IAM verifies S3's
	// certificate with its own trusted root CAs.
	provider, err := iam.NewOpenIdConnectProvider(b.ctx, name, &iam.OpenIdConnectProviderArgs{
		Url:           pulumi.String(is.URL()),
		ClientIdLists: pulumi.StringArray{pulumi.String(irsa.Audience)},
		Tags:          b.tags.For(name),
	}, b.parent, after.All(parts...))
	if err != nil {
		return err
	}
	b.out.OIDCProviderArn = provider.Arn
	return nil
}
