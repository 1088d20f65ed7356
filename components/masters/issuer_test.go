package masters_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/components/cluster"
	"github.com/kinfra-dev/kinfra/internal/iampolicy"
	"github.com/kinfra-dev/kinfra/internal/irsa"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
	"github.com/kinfra-dev/kinfra/internal/regions"
)

const (
	issuerBucket = "prod-oidc-123456789012-us-east-1"
	issuerURL    = "https://" + issuerBucket + ".s3.us-east-1.amazonaws.com"
	oidcType     = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
	objectType   = "aws:s3/bucketObjectv2:BucketObjectv2"
)

// The cluster's service-account issuer is published in a bucket of its
// own that exposes exactly the two discovery documents, computed from the
// cluster's service-account key, and IAM trusts it for STS; every master
// signs tokens as it.
func TestServiceAccountIssuerPublishesOnlyItsDiscoveryDocumentsAndIAMTrustsIt(t *testing.T) {
	m := plan(t, clusterSpec(3, 3))
	bucket := m.MustNamed(t, bucketType, "prod-masters-issuer")
	require.Equal(t, issuerBucket, bucket.Inputs["bucket"], "<cluster>-oidc-<account>-<region>")
	parts := map[string]mockaws.Resource{}
	for _, typ := range []string{
		"aws:s3/bucketOwnershipControls:BucketOwnershipControls", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
		"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "aws:s3/bucketPolicy:BucketPolicy", objectType,
	} {
		for _, r := range m.ByType(typ) {
			if r.Inputs["bucket"] == issuerBucket {
				require.Contains(t, r.Options.Dependencies, bucket.URN, r.Name)
				parts[r.Name] = r
			}
		}
	}
	require.Len(t, parts, 6, "ownership, public access block, encryption, policy and two documents")
	require.Equal(t, "BucketOwnerEnforced", mockaws.Field(parts["prod-masters-issuer-ownership"].Inputs, "rule", "objectOwnership"), "no ACLs")
	pab := parts["prod-masters-issuer-public-access"].Inputs
	require.Equal(t, true, pab["blockPublicAcls"])
	require.Equal(t, true, pab["ignorePublicAcls"])
	require.Equal(t, false, pab["blockPublicPolicy"], "the policy is public: S3 would refuse it")
	require.Equal(t, false, pab["restrictPublicBuckets"], "the policy is public: S3 would ignore it")
	rules := parts["prod-masters-issuer-encryption"].Inputs["rules"].([]any)
	require.Equal(t, "AES256", mockaws.Field(rules[0], "applyServerSideEncryptionByDefault", "sseAlgorithm"), "STS reads the documents: no KMS key it cannot use")

	// The policy allows reading the two documents and nothing else.
	var d iampolicy.Document
	require.NoError(t, json.Unmarshal([]byte(mockaws.Str(parts["prod-masters-issuer-policy"].Inputs["policy"])), &d))
	arn := "arn:aws:s3:::" + issuerBucket
	var allowed []string
	for _, s := range d.Statement {
		if s.Effect == "Allow" {
			require.Equal(t, []string{"s3:GetObject"}, s.Action)
			allowed = append(allowed, s.Resource...)
		}
	}
	require.Equal(t, []string{arn + "/.well-known/openid-configuration", arn + "/openid/v1/jwks"}, allowed)

	// The documents are the cluster key's, written once the bucket
	// encrypts them and its policy is in place.
	b := testPKI(t)
	is := irsa.Issuer{Bucket: issuerBucket, Region: "us-east-1", Partition: "aws"}
	discovery, err := is.Discovery(b.ServiceAccount.Public)
	require.NoError(t, err)
	jwks, err := irsa.JWKS(b.ServiceAccount.Public)
	require.NoError(t, err)
	for name, want := range map[string]struct{ key, content string }{
		"prod-masters-issuer-discovery": {".well-known/openid-configuration", discovery},
		"prod-masters-issuer-jwks":      {"openid/v1/jwks", jwks},
	} {
		o := parts[name].Inputs
		require.Equal(t, want.key, o["key"], name)
		require.Equal(t, want.content, o["content"], name)
		require.Equal(t, "application/json", o["contentType"], name)
		for _, dep := range []string{"prod-masters-issuer-policy", "prod-masters-issuer-encryption", "prod-masters-issuer-public-access"} {
			require.Contains(t, parts[name].Options.Dependencies, parts[dep].URN, "%s waits for %s", name, dep)
		}
	}
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(discovery), &doc))
	require.Equal(t, issuerURL, doc["issuer"])
	require.Equal(t, issuerURL+"/openid/v1/jwks", doc["jwks_uri"])

	// IAM trusts the issuer for STS once the documents are readable.
	oidc := m.MustNamed(t, oidcType, "prod-masters-issuer")
	require.Equal(t, issuerURL, oidc.Inputs["url"])
	require.Equal(t, []any{"sts.amazonaws.com"}, oidc.Inputs["clientIdLists"])
	require.NotContains(t, oidc.Inputs, "thumbprintLists", "IAM verifies S3 with its own trusted CAs")
	for _, name := range []string{"prod-masters-issuer-discovery", "prod-masters-issuer-jwks"} {
		require.Contains(t, oidc.Options.Dependencies, parts[name].URN)
	}
	// The EBS CSI controller's role trusts this provider.
	role := m.MustNamed(t, "aws:iam/role:Role", "prod-addons-ebs-csi")
	require.Contains(t, mockaws.Str(role.Inputs["assumeRolePolicy"]), `"Federated":["arn:aws:iam::123456789012:oidc-provider/`+issuerBucket+`.s3.us-east-1.amazonaws.com"]`)

	// Every master signs as it, and still accepts the cluster-local issuer.
	for i := range 3 {
		ud := userData(t, m.MustNamed(t, ltType, fmt.Sprintf("prod-masters-master-%d", i)))
		flags := regexp.MustCompile(`name: (service-account-[a-z-]+)\s+value: (\S+)\n`).FindAllStringSubmatch(ud, -1)
		var got [][2]string
		for _, f := range flags {
			got = append(got, [2]string{f[1], f[2]})
		}
		require.Equal(t, [][2]string{
			{"service-account-issuer", issuerURL},
			{"service-account-issuer", "https://kubernetes.default.svc.cluster.local"},
			{"service-account-jwks-uri", issuerURL + "/openid/v1/jwks"},
		}, got, "slot %d", i)
	}
}

// The issuer's URL is the bucket's S3 endpoint in the stack's partition.
func TestServiceAccountIssuerIsInTheStacksPartition(t *testing.T) {
	for _, tc := range []struct{ partition, region, url string }{
		{"aws", "eu-west-1", "https://prod-oidc-123456789012-eu-west-1.s3.eu-west-1.amazonaws.com"},
		{"aws-us-gov", "us-gov-west-1", "https://prod-oidc-123456789012-us-gov-west-1.s3.us-gov-west-1.amazonaws.com"},
		{"aws-cn", "cn-north-1", "https://prod-oidc-123456789012-cn-north-1.s3.cn-north-1.amazonaws.com.cn"},
	} {
		t.Run(tc.partition, func(t *testing.T) {
			mk := mockaws.New(tc.region)
			mk.Account.Partition = tc.partition
			c := clusterSpec(3, 3)
			c.Region = tc.region
			r, err := regions.Lookup(tc.region)
			require.NoError(t, err)
			c.Network.AvailabilityZones = r.AllZones()[:3]
			require.NoError(t, mk.Run("kinfra", tc.region, nil, func(ctx *pulumi.Context) error {
				_, err := cluster.New(ctx, c.Name, c, testPKI(t))
				return err
			}))
			oidc := mk.MustNamed(t, oidcType, "prod-masters-issuer")
			require.Equal(t, tc.url, oidc.Inputs["url"])
			policy := mk.MustNamed(t, "aws:s3/bucketPolicy:BucketPolicy", "prod-masters-issuer-policy")
			require.Contains(t, mockaws.Str(policy.Inputs["policy"]), "arn:"+tc.partition+":s3:::prod-oidc-")
		})
	}
}
