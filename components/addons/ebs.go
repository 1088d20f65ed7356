package addons

import (
	"fmt"
	"path"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	storagev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/storage/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kinfra-dev/kinfra/internal/after"
	"github.com/kinfra-dev/kinfra/internal/awsaccount"
	"github.com/kinfra-dev/kinfra/internal/iampolicy"
	"github.com/kinfra-dev/kinfra/internal/irsa"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/tags/tagset"
	"github.com/kinfra-dev/kinfra/spec"
)

// EBS CSI driver names.
const (
	EBSCSIRelease = "aws-ebs-csi-driver"
	// EBSProvisioner is the driver's CSI name.
	EBSProvisioner = "ebs.csi.aws.com"
	// EBSControllerServiceAccount is the controller's service account
	// (kube-system), whose tokens its role trusts.
	EBSControllerServiceAccount = "ebs-csi-controller-sa"
	// EBSTokenPath is where the controller reads its token for AWS, and
	// EBSTokenSeconds the token's lifetime (the kubelet renews it at 80%).
	EBSTokenPath    = "/var/run/secrets/amazonaws.com/token"
	EBSTokenSeconds = 3600
	// DefaultClassAnnotation marks the cluster's default StorageClass.
	DefaultClassAnnotation = "storageclass.kubernetes.io/is-default-class"
	// EBSControllerReplicas keep volumes attaching through a master's loss
	// (the controller's sidecars elect a leader).
	EBSControllerReplicas = 2
)

// EBSCSIDriver is the kinfra:addons:EBSCSIDriver component: the driver's
// chart, the IAM role its controller calls AWS as, and the cluster's
// encrypted StorageClass.
//
// The chart's controller cannot run host-networked (its values schema has no
// controller.hostNetwork and rejects unknown keys), so on the pod network it
// gets no instance credentials (IMDSv2, hop limit 1) and cannot use a
// master's role. It assumes a role of its own, whose policy allows only this
// cluster's volumes and snapshots, with its service-account token (IAM
// roles for service accounts: the masters publish the issuer, see
// components/masters/issuer.go). The credentials STS returns expire within
// the hour, the token within EBSTokenSeconds; nothing long-lived is stored.
type EBSCSIDriver struct {
	pulumi.ResourceState

	// Release is the chart's Helm release.
	Release *helmv3.Release
	// StorageClass is the cluster's encrypted class.
	StorageClass *storagev1.StorageClass
	// RoleArn is the controller's IAM role.
	RoleArn pulumi.StringOutput
}

// EBSValues are the Helm values of the aws-ebs-csi-driver chart for cluster
// c, whose controller assumes the role roleArn.
func EBSValues(c spec.Cluster, roleArn string) map[string]any {
	const tokenVolume = "aws-iam-token"
	return map[string]any{
		"controller": map[string]any{
			// On the pod network the controller cannot ask the instance
			// metadata for its region.
			"region":       c.Region,
			"replicaCount": EBSControllerReplicas,
			// Masters only: the controller holds AWS credentials, which
			// have no business on nodes that run workloads.
			"nodeSelector": mastersNodeSelector(),
			"tolerations":  tolerationValues(mastersTolerations),
			// The driver tags what it creates kubernetes.io/cluster/<name>:
			// owned, which its IAM policy requires on every volume and
			// snapshot it creates or changes. (extraVolumeTags cannot
			// carry it: the driver reserves the kubernetes.io prefix there.)
			"k8sTagClusterId": c.Name,
			// The service account the role trusts, named here so that the
			// two cannot drift apart.
			"serviceAccount": map[string]any{"name": EBSControllerServiceAccount},
			// No pod identity webhook outside EKS: the AWS SDK's web
			// identity credentials are configured by hand, with a token
			// for STS projected into the driver's container (the chart's
			// controller.volumes and volumeMounts are the ebs-plugin
			// container's).
			"env": []any{
				map[string]any{"name": "AWS_ROLE_ARN", "value": roleArn},
				map[string]any{"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": EBSTokenPath},
				map[string]any{"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
			},
			"volumes": []any{map[string]any{"name": tokenVolume, "projected": map[string]any{"sources": []any{
				map[string]any{"serviceAccountToken": map[string]any{
					"audience": irsa.Audience, "expirationSeconds": EBSTokenSeconds, "path": path.Base(EBSTokenPath),
				}},
			}}}},
			"volumeMounts": []any{map[string]any{"name": tokenVolume, "mountPath": path.Dir(EBSTokenPath), "readOnly": true}},
		},
		// The node plugin asks the instance metadata for its instance and
		// zone; host-networked, the one hop IMDSv2 allows is enough. It
		// runs on every node, masters and tainted pools included.
		"node": map[string]any{"hostNetwork": true, "tolerateAllTaints": true},
		// kinfra creates the cluster's class itself (always encrypted).
		"storageClasses":      []any{},
		"defaultStorageClass": map[string]any{"enabled": false},
	}
}

// EBSPolicy is the EBS CSI controller's policy in cluster c's account id.
//
// Writes are limited to this cluster's resources by the tag
// kubernetes.io/cluster/<name>=owned, which the driver puts on what it
// creates, and the masters' and workers' launch templates put on instances.
// The masters' etcd volumes and every root volume do not carry it, so the
// driver can never detach or delete them. Describe* accept only "*" as
// their resource.
func EBSPolicy(c spec.Cluster, id awsaccount.Identity) iampolicy.Document {
	arn := func(resource string) string {
		return fmt.Sprintf("arn:%s:ec2:%s:%s:%s", id.Partition, c.Region, id.AccountID, resource)
	}
	volumes, snapshots, instances := arn("volume/*"), arn("snapshot/*"), arn("instance/*")
	key := tags.ClusterKey(c.Name)
	owned := map[string]map[string]any{"StringEquals": {"aws:ResourceTag/" + key: "owned"}}
	requestOwned := map[string]map[string]any{"StringEquals": {"aws:RequestTag/" + key: "owned"}}
	statements := []iampolicy.Statement{
		iampolicy.Allow("Describe", []string{
			"ec2:DescribeAvailabilityZones", "ec2:DescribeInstances", "ec2:DescribeSnapshots",
			"ec2:DescribeTags", "ec2:DescribeVolumes", "ec2:DescribeVolumesModifications",
		}, []string{"*"}),
		// New volumes must be tagged as the cluster's in the same call.
		{Sid: "CreateOwnedVolumes", Effect: "Allow", Action: []string{"ec2:CreateVolume"},
			Resource: []string{volumes}, Condition: requestOwned},
		// Restores only from the cluster's snapshots.
		{Sid: "RestoreOwnedSnapshots", Effect: "Allow", Action: []string{"ec2:CreateVolume"},
			Resource: []string{snapshots}, Condition: owned},
		// Tags only as part of creating a volume or snapshot.
		{Sid: "TagOnCreate", Effect: "Allow", Action: []string{"ec2:CreateTags"},
			Resource:  []string{volumes, snapshots},
			Condition: map[string]map[string]any{"StringEquals": {"ec2:CreateAction": []string{"CreateVolume", "CreateSnapshot"}}}},
		// Both sides of an attachment carry the cluster tag: the volume and
		// the instance.
		{Sid: "AttachOwnedVolumesToClusterInstances", Effect: "Allow", Action: []string{"ec2:AttachVolume", "ec2:DetachVolume"},
			Resource: []string{volumes, instances}, Condition: owned},
		{Sid: "ChangeOwnedVolumes", Effect: "Allow", Action: []string{"ec2:DeleteVolume", "ec2:ModifyVolume"},
			Resource: []string{volumes}, Condition: owned},
		{Sid: "SnapshotOwnedVolumes", Effect: "Allow", Action: []string{"ec2:CreateSnapshot"},
			Resource: []string{volumes}, Condition: owned},
		{Sid: "CreateOwnedSnapshots", Effect: "Allow", Action: []string{"ec2:CreateSnapshot"},
			Resource: []string{snapshots}, Condition: requestOwned},
		{Sid: "DeleteOwnedSnapshots", Effect: "Allow", Action: []string{"ec2:DeleteSnapshot"},
			Resource: []string{snapshots}, Condition: owned},
	}
	if k := c.Addons.EBSCSIDriver.StorageClass.KmsKeyId; k != "" {
		statements = append(statements,
			// EBS uses the key on the driver's behalf: grants only for AWS
			// resources, and only this key. Actions are spelled out (no
			// wildcards): what EBS calls for encrypted volumes.
			iampolicy.Statement{Sid: "GrantKeyToEBS", Effect: "Allow", Action: []string{"kms:CreateGrant"},
				Resource:  []string{k},
				Condition: map[string]map[string]any{"Bool": {"kms:GrantIsForAWSResource": "true"}}},
			iampolicy.Allow("UseVolumeKey", []string{
				"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey",
				"kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo",
			}, []string{k}),
		)
	}
	return iampolicy.New(statements...)
}

// EBSStorageClassParameters are the parameters of the cluster's class.
func EBSStorageClassParameters(sc spec.StorageClass) map[string]string {
	p := map[string]string{"type": sc.Type, "encrypted": "true"}
	if sc.KmsKeyId != "" {
		p["kmsKeyId"] = sc.KmsKeyId
	}
	return p
}

// ebsCSIDriver installs the EBS CSI driver, its role and the cluster's
// StorageClass.
func (b *builder) ebsCSIDriver() (*EBSCSIDriver, error) {
	out := &EBSCSIDriver{}
	if err := b.component("EBSCSIDriver", "ebs-csi-driver", out); err != nil {
		return nil, err
	}
	a := b.c.Addons.EBSCSIDriver
	parent := pulumi.Parent(out)
	id, err := awsaccount.Lookup(b.ctx, out)
	if err != nil {
		return nil, err
	}
	doc, err := EBSPolicy(b.c, id).JSON()
	if err != nil {
		return nil, err
	}
	name := b.name + "-ebs-csi"
	ts := tagset.Set{ClusterName: b.c.Name, Region: b.c.Region, Component: "addons", Extra: b.c.Tags}
	trust := b.args.OIDCProviderArn.ToStringOutput().ApplyT(func(provider string) (string, error) {
		return irsa.TrustPolicy(b.args.ServiceAccountIssuer, provider, "kube-system", EBSControllerServiceAccount).JSON()
	}).(pulumi.StringOutput)
	role, err := iam.NewRole(b.ctx, name, &iam.RoleArgs{
		Description:      pulumi.String("kinfra " + b.c.Name + ": the EBS CSI controller (service account kube-system/" + EBSControllerServiceAccount + ")"),
		Path:             pulumi.String("/kinfra/" + b.c.Name + "/"),
		AssumeRolePolicy: trust,
		// STS's credentials last an hour at most.
		MaxSessionDuration: pulumi.Int(3600),
		Tags:               ts.For(name),
	}, parent)
	if err != nil {
		return nil, err
	}
	out.RoleArn = role.Arn
	policy, err := iam.NewRolePolicy(b.ctx, name, &iam.RolePolicyArgs{Role: role.Name, Policy: pulumi.String(doc)}, parent)
	if err != nil {
		return nil, err
	}
	values := role.Arn.ApplyT(func(arn string) map[string]any { return EBSValues(b.c, arn) }).(pulumi.MapOutput)
	// The controller is on the pod network: it needs the CNI, and
	// initialised nodes to run on; and its rights before it starts.
	rel, err := b.release(out, "ebs-csi-driver", EBSCSIRelease, "kube-system", EBSCSIChart, a.Version,
		values, after.All(append(b.podNetworkReady(), policy)...))
	if err != nil {
		return nil, err
	}
	out.Release = rel
	sc := a.StorageClass
	out.StorageClass, err = storagev1.NewStorageClass(b.ctx, b.name+"-storage-class", &storagev1.StorageClassArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:        pulumi.String(sc.Name),
			Labels:      pulumi.StringMap{"app.kubernetes.io/managed-by": pulumi.String("kinfra")},
			Annotations: pulumi.StringMap{DefaultClassAnnotation: pulumi.String(fmt.Sprint(*sc.Default))},
		},
		Provisioner: pulumi.String(EBSProvisioner),
		Parameters:  pulumi.ToStringMap(EBSStorageClassParameters(sc)),
		// A volume is created in the zone of the first pod that uses it.
		VolumeBindingMode:    pulumi.String("WaitForFirstConsumer"),
		AllowVolumeExpansion: pulumi.Bool(true),
		ReclaimPolicy:        pulumi.String("Delete"),
		// Parameters are immutable and the name is fixed: a change replaces
		// the class (existing volumes keep theirs).
	}, b.k8s(out, after.All(rel), pulumi.DeleteBeforeReplace(true))...)
	if err != nil {
		return nil, err
	}
	if err := b.ctx.RegisterResourceOutputs(out, pulumi.Map{
		"version":      pulumi.String(EBSCSIChart.version(a.Version)),
		"storageClass": pulumi.String(sc.Name),
		"roleArn":      role.Arn,
	}); err != nil {
		return nil, err
	}
	return out, nil
}
