package roll

import (
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/etcdops"
	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/spec"
)

// ClientName is the subject the roll's short-lived certificates carry, so
// that etcd's and the API server's audit logs name it.
const ClientName = "kinfra-roll"

// Connect builds a roll of cluster c's masters from the operator's AWS
// credentials (the default chain, and profile if set): the fleet through
// the AWS SDK, and the gates through etcd and the API with client
// certificates it issues in memory from the CAs in the cluster's SSM
// parameters, valid only as long as the roll can take. dial, when not nil,
// opens the gates' connections.
func Connect(ctx context.Context, c spec.Cluster, profile string, o Options, dial DialFunc) (*Roller, error) {
	cfg, err := etcdops.LoadConfig(ctx, c.Region, profile)
	if err != nil {
		return nil, err
	}
	gates, err := NewClusterGates(ctx, cfg, c, dial)
	if err != nil {
		return nil, err
	}
	fleet := NewAWSFleet(cfg, c.Name)
	return &Roller{Fleet: fleet, Gates: gates, PoolFleet: fleet, PoolGates: gates, Opts: o, Slots: c.Masters.Count}, nil
}

// NewClusterGates reads the CAs and the etcd record from SSM and builds the
// gates of cluster c.
func NewClusterGates(ctx context.Context, cfg aws.Config, c spec.Cluster, dial DialFunc) (*ClusterGates, error) {
	api := ssm.NewFromConfig(cfg)
	v, err := etcdops.ReadPKI(ctx, api, c.Name, "the roll", "ca.crt", "ca.key", "etcd-ca.crt", "etcd-ca.key")
	if err != nil {
		return nil, err
	}
	ca, etcdCA := pki.KeyPair{Cert: v[0], Key: v[1]}, pki.KeyPair{Cert: v[2], Key: v[3]}
	// kubeadm binds this group to cluster-admin; the roll reads /readyz,
	// the nodes and pods, cordons and uncordons nodes and evicts pods.
	apiClient := &etcdops.RenewingCert{CA: ca, Subject: pkix.Name{CommonName: ClientName, Organization: []string{pki.AdminGroup}}}
	etcdClient := &etcdops.RenewingCert{CA: etcdCA, Subject: pkix.Name{CommonName: ClientName}}
	for _, rc := range []*etcdops.RenewingCert{apiClient, etcdClient} {
		if _, err := rc.Get(nil); err != nil {
			return nil, fmt.Errorf("client certificate %s: %w", rc.Subject, err)
		}
	}
	g := &ClusterGates{
		EtcdEndpoints: EtcdEndpoints(c),
		EtcdTLS:       etcdClient.TLS(etcdCA.Cert, ""),
		APITLS:        apiClient.TLS(ca.Cert, "api."+c.PrivateDomain),
		APIPort:       bootstrap.APIPort,
		APIHost:       "api." + c.PrivateDomain,
		Dial:          dial,
		Status:        StatusReader(api, c.Name),
	}
	if !c.Backup.On() {
		return g, nil
	}
	cl := etcdops.ClientsFromConfig(cfg)
	id, err := cl.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, fmt.Errorf("who is calling (the backup bucket is named by account): %w", err)
	}
	names := etcdops.ParameterNames(c)
	rec, err := etcdops.ReadRecord(ctx, cl.SSM, names)
	if err != nil {
		return nil, err
	}
	if rec.Cluster == nil {
		return nil, fmt.Errorf("the etcd cluster record %s does not exist: the masters write it once the cluster exists; roll a cluster only once it runs", names.Record)
	}
	hash, err := etcdops.CACertHash(ctx, cl.SSM, names)
	if err != nil {
		return nil, err
	}
	g.Snapshotter = &Snapshotter{
		S3: s3.NewFromConfig(cfg), Bucket: c.BackupBucketName(aws.ToString(id.Account)), Prefix: c.Backup.Prefix,
		Cluster: c.Name, Generation: rec.Cluster.Generation, CACertHash: hash, KubernetesVersion: c.Kubernetes.Version,
	}
	return g, nil
}

// StatusReader reads a slot's boot status record, which the masters write
// at every step of every boot attempt (bootstrap.MasterStatus).
func StatusReader(api interface {
	GetParameter(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}, cluster string) func(ctx context.Context, slot int) (BootStatus, bool, error) {
	return func(ctx context.Context, slot int) (BootStatus, bool, error) {
		name := bootstrap.ParameterPrefix(cluster) + "/" + bootstrap.MasterStatusRecord(slot)
		out, err := api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
		var missing *ssmtypes.ParameterNotFound
		if errors.As(err, &missing) {
			return BootStatus{}, false, nil
		}
		if err != nil {
			return BootStatus{}, false, fmt.Errorf("reading %s: %w", name, err)
		}
		s, err := bootstrap.ParseMasterStatus(aws.ToString(out.Parameter.Value))
		if err != nil {
			return BootStatus{}, false, fmt.Errorf("%s: %w", name, err)
		}
		detail := fmt.Sprintf("attempt %d, step %s", s.Attempt, s.Step)
		if s.Message != "" {
			detail += ": " + s.Message
		}
		return BootStatus{InstanceID: s.InstanceID, State: string(s.State), Detail: detail}, true, nil
	}
}

// EtcdEndpoints are every slot's etcd client URL, on its stable name.
func EtcdEndpoints(c spec.Cluster) []string { return etcdops.EtcdEndpoints(c) }

// ClientTLS trusts only caPEM and presents cert; serverName, when set,
// is the name every server must prove (etcdops.ClientTLS).
func ClientTLS(caPEM string, cert tls.Certificate, serverName string) *tls.Config {
	return etcdops.ClientTLS(caPEM, cert, serverName)
}
