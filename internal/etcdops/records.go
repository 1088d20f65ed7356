package etcdops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/spec"
)

// Names are the SSM parameters of one cluster's etcd record.
type Names struct {
	Cluster string
	// Record is the cluster record, Request the restore request, CACert
	// the cluster CA certificate (SecureString).
	Record, Request, CACert string
	// Members are the member records, by slot.
	Members []string
}

// ParameterNames lays out the parameters of cluster c.
func ParameterNames(c spec.Cluster) Names {
	p := bootstrap.ParameterPrefix(c.Name) + "/"
	n := Names{
		Cluster: c.Name,
		Record:  p + bootstrap.ClusterRecord,
		Request: p + bootstrap.RestoreRequest,
		CACert:  p + bootstrap.JoinParameters + "/ca.crt",
	}
	for i := range c.Masters.Count {
		n.Members = append(n.Members, p+bootstrap.MemberRecord(i))
	}
	return n
}

// ClusterRecord is <prefix>/etcd/cluster, written by the masters once the
// cluster exists and after every restore.
type ClusterRecord struct {
	Cluster    string   `json:"cluster"`
	ClusterID  string   `json:"clusterId"`
	Generation int      `json:"generation"`
	Token      string   `json:"token"`
	Members    []string `json:"members"`
	CACertHash string   `json:"caCertHash"`
	WrittenBy  string   `json:"writtenBy"`
	Time       string   `json:"time"`
}

// MemberRecord is <prefix>/etcd/members/etcd-<i>, written by a member
// whenever it is healthy.
type MemberRecord struct {
	Member     string `json:"member"`
	MemberID   string `json:"memberId"`
	ClusterID  string `json:"clusterId"`
	Generation int    `json:"generation"`
	Time       string `json:"time"`
}

// RestoreRequest is <prefix>/etcd/restore, written by `kinfra etcd
// restore`: every member restores this snapshot once for Generation, with
// Token as the new cluster's initial-cluster-token, before etcd starts.
type RestoreRequest struct {
	Generation int    `json:"generation"`
	Token      string `json:"token"`
	Bucket     string `json:"bucket"`
	Key        string `json:"key"`
	VersionID  string `json:"versionId"`
	SHA256     string `json:"sha256"`
	Size       int64  `json:"size"`
	// RequestedAt is RFC 3339 UTC; RequestedBy the caller's ARN.
	RequestedAt string `json:"requestedAt"`
	RequestedBy string `json:"requestedBy"`
}

// RestoreToken is the initial-cluster-token of generation n's cluster.
func RestoreToken(cluster string, n int) string { return cluster + "-g" + strconv.Itoa(n) }

// SameSnapshot reports whether r asks for exactly the object
// bucket/key/versionID.
func (r RestoreRequest) SameSnapshot(bucket, key, versionID string) bool {
	return r.Bucket == bucket && r.Key == key && r.VersionID == versionID
}

// Record is the whole record of a cluster as read at one moment; nil
// fields are parameters that do not exist.
type Record struct {
	Cluster *ClusterRecord
	Request *RestoreRequest
	// Members has one entry per slot.
	Members []*MemberRecord
}

// MaxGeneration is the highest generation anything in the record names.
func (r Record) MaxGeneration() int {
	n := 0
	if r.Cluster != nil {
		n = max(n, r.Cluster.Generation)
	}
	if r.Request != nil {
		n = max(n, r.Request.Generation)
	}
	for _, m := range r.Members {
		if m != nil {
			n = max(n, m.Generation)
		}
	}
	return n
}

// NextGeneration is the generation of a new restore request.
func (r Record) NextGeneration() int { return r.MaxGeneration() + 1 }

// Done reports whether every member and the cluster record are at
// generation n, and the slots that are not.
func (r Record) Done(n int) (done bool, pending []int) {
	for i, m := range r.Members {
		if m == nil || m.Generation != n {
			pending = append(pending, i)
		}
	}
	return len(pending) == 0 && r.Cluster != nil && r.Cluster.Generation == n, pending
}

// ReadRecord reads the cluster record, the restore request and every
// member record.
func ReadRecord(ctx context.Context, api SSMAPI, n Names) (Record, error) {
	var r Record
	r.Cluster = new(ClusterRecord)
	if ok, err := getJSON(ctx, api, n.Record, r.Cluster); err != nil {
		return r, err
	} else if !ok {
		r.Cluster = nil
	}
	r.Request = new(RestoreRequest)
	if ok, err := getJSON(ctx, api, n.Request, r.Request); err != nil {
		return r, err
	} else if !ok {
		r.Request = nil
	}
	for _, name := range n.Members {
		m := new(MemberRecord)
		ok, err := getJSON(ctx, api, name, m)
		if err != nil {
			return r, err
		}
		if !ok {
			m = nil
		}
		r.Members = append(r.Members, m)
	}
	return r, nil
}

// getParameter reads a parameter's value; ok is false if it does not exist.
func getParameter(ctx context.Context, api SSMAPI, name string, decrypt bool) (value string, ok bool, err error) {
	out, err := api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(decrypt)})
	var notFound *ssmtypes.ParameterNotFound
	switch {
	case errors.As(err, &notFound):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("read SSM parameter %s: %w", name, err)
	case out.Parameter == nil || out.Parameter.Value == nil:
		return "", false, fmt.Errorf("read SSM parameter %s: no value in the answer", name)
	}
	return *out.Parameter.Value, true, nil
}

func getJSON(ctx context.Context, api SSMAPI, name string, v any) (bool, error) {
	s, ok, err := getParameter(ctx, api, name, false)
	if err != nil || !ok {
		return ok, err
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return false, fmt.Errorf("SSM parameter %s is not the JSON the masters write: %v", name, err)
	}
	return true, nil
}

// PutRequest writes the restore request (a String parameter, overwritten).
func PutRequest(ctx context.Context, api SSMAPI, n Names, r RestoreRequest) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = api.PutParameter(ctx, &ssm.PutParameterInput{
		Name:      aws.String(n.Request),
		Value:     aws.String(string(b)),
		Type:      ssmtypes.ParameterTypeString,
		Overwrite: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("write the restore request %s: %w", n.Request, err)
	}
	return nil
}

// CACertHash reads the cluster CA from SSM and returns its kubeadm
// discovery hash (sha256:<hex of the SubjectPublicKeyInfo>), the hash every
// snapshot carries in its ca-cert-hash metadata.
func CACertHash(ctx context.Context, api SSMAPI, n Names) (string, error) {
	pem, ok, err := getParameter(ctx, api, n.CACert, true)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("the cluster CA %s does not exist (is this the cluster's account and region?)", n.CACert)
	}
	b := pki.Bundle{ClusterCA: pki.KeyPair{Cert: pem}}
	h, err := b.CACertHash()
	if err != nil {
		return "", fmt.Errorf("the cluster CA %s is not a certificate: %v", n.CACert, err)
	}
	return h, nil
}
