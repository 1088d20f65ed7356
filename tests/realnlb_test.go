package tests

// A stand-in for the API's Network Load Balancer on the test network
// (docs/real-binaries.md): the roll test's clients, and the masters' own
// kubeadm and kubectl, reach the API through it as they reach the real
// one through the API's name.

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/testtools"
)

// realNLB does what components/masters/loadbalancer.go asks of the API's
// load balancer: a TCP listener on the API port of a host of its own (the
// API's name resolves to it), forwarding each new connection to a
// registered target that passes the target group's health check: HTTPS GET
// /readyz on the traffic port answered 200 (the certificate is not
// verified, as AWS does not), healthy after 2 passes in a row and unhealthy
// after 2 failures. With no healthy target it fails open to every
// registered one, as an NLB does. A deregistered target drains: no new
// connection goes to it, and its open ones are closed when the
// deregistration delay ends (ConnectionTermination). AWS checks every 10 s
// with a 6 s timeout and drains for 30 s; every one of those is a tenth
// here, so that a roll takes less time: where it routes is the same.
type realNLB struct {
	host    *testtools.Host
	ln      net.Listener
	checker *http.Client
	// interval, timeout and drain are the health check's interval and
	// timeout and the deregistration delay.
	interval, timeout, drain time.Duration

	mu      sync.Mutex
	targets map[string]*nlbTarget // by instance ID
	closed  bool
	// forwarded counts the connections sent to each instance.
	forwarded map[string]int
}

type nlbTarget struct {
	id, ip string
	// state is the target's health as DescribeTargetHealth says it:
	// initial, healthy, unhealthy or draining.
	state         string
	passes, fails int
	conns         map[net.Conn]bool
	gone          chan struct{}
}

// The target group's health check thresholds (components/masters).
const nlbHealthyThreshold, nlbUnhealthyThreshold = 2, 2

// startRealNLB adds the load balancer's host to c's network and points the
// API's name at it.
func startRealNLB(t *testing.T, c *realCluster) *realNLB {
	t.Helper()
	lb := &realNLB{host: c.net.AddHost("nlb"), targets: map[string]*nlbTarget{}, forwarded: map[string]int{},
		interval: time.Second, timeout: 600 * time.Millisecond, drain: 3 * time.Second}
	lb.checker = &http.Client{Timeout: lb.timeout, Transport: &http.Transport{
		DialContext: lb.host.DialContext, DisableKeepAlives: true,
		// An NLB's HTTPS health check does not validate the certificate.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as AWS checks
	}}
	var err error
	lb.ln, err = lb.host.Listen("tcp", ":"+strconv.Itoa(bootstrap.APIPort))
	require.NoError(t, err)
	go lb.accept()
	t.Cleanup(lb.close)
	c.net.Name(c.stack.apiName(), lb.host)
	c.lb = lb
	return lb
}

// Register adds an instance at ip to the target group (the Auto Scaling
// Group does it when it launches the instance); it is initial until its
// health checks pass.
func (lb *realNLB) Register(id, ip string) {
	tg := &nlbTarget{id: id, ip: ip, state: "initial", conns: map[net.Conn]bool{}, gone: make(chan struct{})}
	lb.mu.Lock()
	lb.targets[id] = tg
	lb.mu.Unlock()
	go lb.watch(tg)
}

// Deregister drains the instance's target and removes it once the
// deregistration delay is over, closing its connections; it returns then,
// as the Auto Scaling Group waits for it before it terminates the instance.
func (lb *realNLB) Deregister(id string) {
	lb.mu.Lock()
	tg := lb.targets[id]
	if tg != nil {
		tg.state = "draining"
	}
	lb.mu.Unlock()
	if tg == nil {
		return
	}
	time.Sleep(lb.drain)
	lb.mu.Lock()
	delete(lb.targets, id)
	conns := tg.conns
	tg.conns = map[net.Conn]bool{}
	close(tg.gone)
	lb.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}

// Forwarded is how many connections went to each instance.
func (lb *realNLB) Forwarded() map[string]int {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return maps.Clone(lb.forwarded)
}

// Health is the instance's target health, as DescribeTargetHealth says it.
func (lb *realNLB) Health(id string) string {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if tg := lb.targets[id]; tg != nil {
		return tg.state
	}
	return "not registered"
}

// waitHealthy waits until the target at ip is healthy: clients reach the
// master through the load balancer from then on.
func (lb *realNLB) waitHealthy(t testing.TB, ip string) {
	t.Helper()
	testtools.WaitFor(t, time.Minute, "the load balancer's target "+ip+" healthy", func() error {
		lb.mu.Lock()
		defer lb.mu.Unlock()
		for _, tg := range lb.targets {
			if tg.ip == ip {
				if tg.state != "healthy" {
					return fmt.Errorf("target %s (%s) is %s", tg.id, ip, tg.state)
				}
				return nil
			}
		}
		return fmt.Errorf("no target has address %s", ip)
	})
}

// watch runs the target's health checks until it is deregistered.
func (lb *realNLB) watch(tg *nlbTarget) {
	tick := time.NewTicker(lb.interval)
	defer tick.Stop()
	for {
		select {
		case <-tg.gone:
			return
		case <-tick.C:
		}
		ok := lb.check(tg.ip)
		lb.mu.Lock()
		switch {
		case tg.state == "draining":
		case ok:
			tg.passes, tg.fails = tg.passes+1, 0
			if tg.passes >= nlbHealthyThreshold {
				tg.state = "healthy"
			}
		default:
			tg.passes, tg.fails = 0, tg.fails+1
			if tg.fails >= nlbUnhealthyThreshold {
				tg.state = "unhealthy"
			}
		}
		lb.mu.Unlock()
	}
}

func (lb *realNLB) check(ip string) bool {
	u := "https://" + net.JoinHostPort(ip, strconv.Itoa(bootstrap.APIPort)) + "/readyz"
	resp, err := lb.checker.Get(u)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

// pick chooses the target of a new connection: any healthy one (an NLB
// hashes the flow; here it is random), else any registered one that is
// not draining (fail open).
func (lb *realNLB) pick() *nlbTarget {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	var healthy, open []*nlbTarget
	for _, tg := range lb.targets {
		switch tg.state {
		case "healthy":
			healthy = append(healthy, tg)
			open = append(open, tg)
		case "draining":
		default:
			open = append(open, tg)
		}
	}
	if len(healthy) == 0 {
		healthy = open
	}
	if len(healthy) == 0 {
		return nil
	}
	return healthy[rand.IntN(len(healthy))]
}

func (lb *realNLB) accept() {
	for {
		c, err := lb.ln.Accept()
		if err != nil {
			return
		}
		go lb.forward(c)
	}
}

// forward relays a client's connection to a target, both ways, until
// either side closes it.
func (lb *realNLB) forward(c net.Conn) {
	tg := lb.pick()
	if tg == nil {
		c.Close()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	b, err := lb.host.DialContext(ctx, "tcp", net.JoinHostPort(tg.ip, strconv.Itoa(bootstrap.APIPort)))
	cancel()
	if err != nil {
		c.Close()
		return
	}
	lb.mu.Lock()
	if lb.targets[tg.id] != tg || lb.closed {
		lb.mu.Unlock()
		c.Close()
		b.Close()
		return
	}
	tg.conns[c], tg.conns[b] = true, true
	lb.forwarded[tg.id]++
	lb.mu.Unlock()
	var once sync.Once
	done := func() {
		once.Do(func() {
			c.Close()
			b.Close()
			lb.mu.Lock()
			delete(tg.conns, c)
			delete(tg.conns, b)
			lb.mu.Unlock()
		})
	}
	go func() {
		_, _ = io.Copy(b, c)
		done()
	}()
	_, _ = io.Copy(c, b)
	done()
}

func (lb *realNLB) close() {
	lb.ln.Close()
	lb.mu.Lock()
	lb.closed = true
	var conns []net.Conn
	for id, tg := range lb.targets {
		for c := range tg.conns {
			conns = append(conns, c)
		}
		close(tg.gone)
		delete(lb.targets, id)
	}
	lb.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}
