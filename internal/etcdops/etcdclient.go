package etcdops

// How an operator's command reaches the cluster's etcd members: on their
// stable names, with a client certificate it issues in memory from the etcd
// CA in SSM (`kinfra roll`'s gates and snapshot, `kinfra etcd
// recover-space`).

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/spec"
)

// DialFunc opens a connection; nil means the system's dialer. Tests dial
// into the network namespaces their servers run in; an operator could dial
// through a bastion.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Etcd is how a command reaches the cluster's etcd members.
type Etcd struct {
	// Endpoints are every member's client URL (https://etcd-<i>.<domain>:2379).
	Endpoints []string
	TLS       *tls.Config
	Dial      DialFunc
	// Timeout bounds the dial and each single check. Default 5 seconds.
	Timeout time.Duration
}

// CallTimeout is e.Timeout, or its default.
func (e Etcd) CallTimeout() time.Duration {
	if e.Timeout > 0 {
		return e.Timeout
	}
	return 5 * time.Second
}

// Config is a client configuration for endpoints (default: every member).
func (e Etcd) Config(endpoints ...string) clientv3.Config {
	if len(endpoints) == 0 {
		endpoints = e.Endpoints
	}
	cfg := clientv3.Config{
		Endpoints:   endpoints,
		TLS:         e.TLS,
		DialTimeout: e.CallTimeout(),
		Logger:      zap.NewNop(),
	}
	if e.Dial != nil {
		dial := e.Dial
		cfg.DialOptions = append(cfg.DialOptions, grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return dial(ctx, "tcp", addr)
		}))
	}
	return cfg
}

// Client is a client of endpoints (default: every member); close it.
func (e Etcd) Client(endpoints ...string) (*clientv3.Client, error) {
	return clientv3.New(e.Config(endpoints...))
}

// EtcdEndpoints are every slot's etcd client URL, on its stable name.
func EtcdEndpoints(c spec.Cluster) []string {
	var eps []string
	for i := range c.Masters.Count {
		eps = append(eps, fmt.Sprintf("https://%s:%d", tags.EtcdRecord(i, c.PrivateDomain), bootstrap.EtcdClientPort))
	}
	return eps
}

// ReadPKI reads the named parameters of the cluster's control-plane PKI
// from SSM, decrypted (ca.crt, etcd-ca.key, ...); who says which command
// needs them, for the error.
func ReadPKI(ctx context.Context, api SSMAPI, cluster, who string, names ...string) ([]string, error) {
	prefix := bootstrap.ParameterPrefix(cluster) + "/" + bootstrap.ControlPlaneParameters + "/"
	values := make([]string, len(names))
	var errs []error
	for i, name := range names {
		out, err := api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(prefix + name), WithDecryption: aws.Bool(true)})
		if err != nil {
			errs = append(errs, fmt.Errorf("reading %s%s (%s needs ssm:GetParameter and kms:Decrypt on the cluster's PKI): %w", prefix, name, who, err))
			continue
		}
		values[i] = aws.ToString(out.Parameter.Value)
	}
	return values, errors.Join(errs...)
}

// ConnectEtcd reaches cluster c's etcd members with a client certificate
// for clientName issued in memory from the etcd CA in SSM (RenewingCert).
func ConnectEtcd(ctx context.Context, api SSMAPI, c spec.Cluster, clientName string, dial DialFunc) (Etcd, error) {
	v, err := ReadPKI(ctx, api, c.Name, clientName, "etcd-ca.crt", "etcd-ca.key")
	if err != nil {
		return Etcd{}, err
	}
	ca := pki.KeyPair{Cert: v[0], Key: v[1]}
	rc := &RenewingCert{CA: ca, Subject: pkix.Name{CommonName: clientName}}
	if _, err := rc.Get(nil); err != nil {
		return Etcd{}, fmt.Errorf("client certificate %s: %w", rc.Subject, err)
	}
	return Etcd{Endpoints: EtcdEndpoints(c), TLS: rc.TLS(ca.Cert, ""), Dial: dial}, nil
}

// RenewingCert issues a command's client certificate from CA in memory,
// valid for an hour, and a new one (a new key too) once less than a quarter
// of that is left: a roll of many pools runs for hours, and no certificate
// outlives the command by more than an hour. Nothing is written to disk.
type RenewingCert struct {
	CA       pki.KeyPair
	Subject  pkix.Name
	mu       sync.Mutex
	cert     *tls.Certificate
	notAfter time.Time
}

// ClientCertLifetime is how long each certificate RenewingCert issues lives.
const ClientCertLifetime = time.Hour

// Get is the current certificate (tls.Config.GetClientCertificate).
func (rc *RenewingCert) Get(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	now := time.Now()
	if rc.cert != nil && now.Add(ClientCertLifetime/4).Before(rc.notAfter) {
		return rc.cert, nil
	}
	cert, err := pki.ShortLivedClient(rc.CA, rc.Subject, ClientCertLifetime, now)
	if err != nil {
		return nil, err
	}
	rc.cert, rc.notAfter = &cert, now.Add(ClientCertLifetime)
	return rc.cert, nil
}

// TLS trusts only caPEM and presents the current certificate at every
// handshake; serverName, when set, is the name every server must prove.
func (rc *RenewingCert) TLS(caPEM, serverName string) *tls.Config {
	cfg := ClientTLS(caPEM, tls.Certificate{}, serverName)
	cfg.Certificates = nil
	cfg.GetClientCertificate = rc.Get
	return cfg
}

// ClientTLS trusts only caPEM and presents cert; serverName, when set,
// is the name every server must prove (the API's stable name: the roll
// dials API servers by address).
func ClientTLS(caPEM string, cert tls.Certificate, serverName string) *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(strings.TrimSpace(caPEM)))
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: serverName, MinVersion: tls.VersionTLS12}
}
