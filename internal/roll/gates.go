package roll

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/etcdops"
)

// DialFunc opens a connection; nil means the system's dialer (etcdops.DialFunc).
type DialFunc = etcdops.DialFunc

// BootStatus is what a master reports about its boot on one instance.
type BootStatus struct {
	InstanceID string
	// State is "booting", "ready" or "failed".
	State string
	// Detail says what failed (the step and its last lines).
	Detail string
}

// ClusterGates checks a cluster's health through etcd's and the API's own
// endpoints, with short-lived client certificates (CredentialsFromCAs).
type ClusterGates struct {
	// EtcdEndpoints are every member's client URL (https://etcd-<i>.<domain>:2379).
	EtcdEndpoints []string
	EtcdTLS       *tls.Config
	// APITLS verifies the API servers as the API's stable name (ServerName)
	// and presents the client certificate; APIPort is their port.
	APITLS  *tls.Config
	APIPort int
	// APIHost is where the pools' gates reach the API: its name
	// (api.<privateDomain>, the load balancer inside the VPC).
	APIHost string
	Dial    DialFunc
	// Status reads a slot's boot status; nil, or found false, means the
	// masters publish none (the boot gate then passes once the others do).
	Status func(ctx context.Context, slot int) (s BootStatus, found bool, err error)
	// Snapshotter takes the preflight snapshot; nil when backups are off.
	Snapshotter *Snapshotter
	// CheckTimeout bounds each single check. Default 5 seconds.
	CheckTimeout time.Duration
}

func (g *ClusterGates) timeout() time.Duration { return g.etcd().CallTimeout() }

// etcd is how the gates reach the members.
func (g *ClusterGates) etcd() etcdops.Etcd {
	return etcdops.Etcd{Endpoints: g.EtcdEndpoints, TLS: g.EtcdTLS, Dial: g.Dial, Timeout: g.CheckTimeout}
}

func (g *ClusterGates) etcdClient(endpoints []string) (*clientv3.Client, error) {
	return g.etcd().Client(endpoints...)
}

// Etcd checks every member on its own endpoint: it answers, it has a leader,
// it serves a linearizable read (which needs a quorum), and the cluster
// raises no alarm (NOSPACE, CORRUPT). It also checks that the cluster has
// exactly the members the stack declares, each started.
func (g *ClusterGates) Etcd(ctx context.Context) error {
	var problems []string
	for i, ep := range g.EtcdEndpoints {
		if err := g.member(ctx, ep, i == 0); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", ep, err))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func (g *ClusterGates) member(ctx context.Context, ep string, cluster bool) error {
	cli, err := g.etcdClient([]string{ep})
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, g.timeout())
	defer cancel()
	st, err := cli.Status(ctx, ep)
	if err != nil {
		return fmt.Errorf("no status: %w", err)
	}
	if st.Leader == 0 {
		return errors.New("has no leader")
	}
	if len(st.Errors) > 0 {
		return fmt.Errorf("reports %s", strings.Join(st.Errors, ", "))
	}
	// What `etcdctl endpoint health` asks: a linearizable read through this
	// member, which only a quorum answers.
	if _, err := cli.Get(ctx, "health"); err != nil {
		return fmt.Errorf("linearizable read failed: %w", err)
	}
	if !cluster {
		return nil
	}
	alarms, err := cli.AlarmList(ctx)
	if err != nil {
		return fmt.Errorf("alarm list: %w", err)
	}
	for _, a := range alarms.Alarms {
		return fmt.Errorf("the cluster raises alarm %s on member %x", a.Alarm, a.MemberID)
	}
	members, err := cli.MemberList(ctx, clientv3.WithSerializable())
	if err != nil {
		return fmt.Errorf("member list: %w", err)
	}
	if len(members.Members) != len(g.EtcdEndpoints) {
		return fmt.Errorf("the cluster has %d members, the stack declares %d", len(members.Members), len(g.EtcdEndpoints))
	}
	for _, m := range members.Members {
		if m.Name == "" || len(m.ClientURLs) == 0 {
			return fmt.Errorf("member %x has not started (no name or client URL)", m.ID)
		}
	}
	return nil
}

func (g *ClusterGates) httpClient() *http.Client {
	tr := &http.Transport{TLSClientConfig: g.APITLS, DisableKeepAlives: true}
	if g.Dial != nil {
		tr.DialContext = g.Dial
	}
	return &http.Client{Transport: tr, Timeout: g.timeout()}
}

func (g *ClusterGates) get(ctx context.Context, ip, path string) (int, []byte, error) {
	return g.do(ctx, ip, http.MethodGet, path, "", nil)
}

// do sends one request to the API server at host (an address, or the
// API's name), with body of contentType when not nil.
func (g *ClusterGates) do(ctx context.Context, host, method, path, contentType string, body []byte) (int, []byte, error) {
	u := url.URL{Scheme: "https", Host: net.JoinHostPort(host, strconv.Itoa(g.APIPort)), Path: path}
	if p, q, ok := strings.Cut(path, "?"); ok {
		u.Path, u.RawQuery = p, q
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := g.httpClient().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	// A large cluster's node list runs to tens of megabytes.
	out, err := io.ReadAll(io.LimitReader(resp.Body, 512<<20))
	return resp.StatusCode, out, err
}

// APIReady asks the API server at ip for /readyz, as its load balancer
// does.
func (g *ClusterGates) APIReady(ctx context.Context, ip string) error {
	code, body, err := g.get(ctx, ip, "/readyz")
	if err != nil {
		return err
	}
	if code != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		return fmt.Errorf("/readyz: %d %s", code, firstLine(string(body)))
	}
	return nil
}

// NodeReady finds the control-plane node whose internal address is ip and
// checks its Ready condition, asking the API server at ip.
func (g *ClusterGates) NodeReady(ctx context.Context, ip string) error {
	nodes, err := g.nodes(ctx, ip, "node-role.kubernetes.io/control-plane")
	if err != nil {
		return err
	}
	n, ok := nodes[ip]
	if !ok {
		return fmt.Errorf("no control-plane node with internal address %s is registered", ip)
	}
	return n.ready()
}

// Booted reads the slot's boot status.
func (g *ClusterGates) Booted(ctx context.Context, slot int, instanceID string) error {
	if g.Status == nil {
		return nil
	}
	s, found, err := g.Status(ctx, slot)
	if err != nil {
		return err
	}
	switch {
	case !found:
		return nil
	case s.InstanceID != instanceID:
		return fmt.Errorf("the status is still the previous instance's (%s)", s.InstanceID)
	case s.State == string(bootstrap.MasterFailed):
		return fmt.Errorf("%w on %s: %s (journalctl -u kinfra-master on the instance says more)", ErrBootFailed, instanceID, s.Detail)
	case s.State != string(bootstrap.MasterReady):
		return fmt.Errorf("its boot is %s", s.State)
	}
	return nil
}

// Snapshot takes the preflight snapshot.
func (g *ClusterGates) Snapshot(ctx context.Context) (string, error) {
	if g.Snapshotter == nil {
		return "", errors.New("no snapshotter: backups are off")
	}
	return g.Snapshotter.Take(ctx, g)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
