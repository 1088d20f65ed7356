package testtools

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A Network is a private IPv4 network of network namespaces that a test
// builds for itself: one namespace per Host, each with its own address on
// eth0, a veth pair to a bridge in a hub namespace, and name resolution
// through /etc/netns/<namespace>/hosts (which `ip netns exec` bind-mounts over
// /etc/hosts). Nothing is added to the test machine's own network namespace:
// servers started in a Host listen only inside it, and only the Hosts of the
// same Network reach them. Everything is removed when the test ends.
//
// It needs root and iproute2's `ip netns`. Without them NewNetwork skips the
// test, or fails it under KINFRA_REQUIRE_TOOLS=1 (as scripts/test runs).
type Network struct {
	t      testing.TB
	prefix string
	hub    string

	mu     sync.Mutex
	hosts  []*Host
	names  map[string]*Host // host name (in the hosts files) -> Host
	nextIP int
}

// A Host is one network namespace of a Network: a machine, as far as the
// network is concerned.
type Host struct {
	// Name is the host's label in the test (e.g. "etcd-0"); Namespace the
	// network namespace's name.
	Name, Namespace string
	net             *Network
	veth            string
	ip              string
}

const (
	netnsSubnet = "192.168.240." // a /24, private to each Network's hub
	netnsGW     = netnsSubnet + "1"
	netnsDir    = "/etc/netns"
	// Namespaces are named kinfra-t<pid>-<n>-…, so that those of a test
	// process that died without cleaning up can be recognised and removed.
	netnsPrefix = "kinfra-t"
)

var (
	netnsCount   int
	netnsCountMu sync.Mutex
	staleNetns   = regexp.MustCompile(`^` + netnsPrefix + `(\d+)-`)
)

// skipOrFail skips the test, or fails it when KINFRA_REQUIRE_TOOLS=1.
func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("KINFRA_REQUIRE_TOOLS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// RequireNetns skips the test, or fails it under KINFRA_REQUIRE_TOOLS=1,
// unless it can make network namespaces: it runs as root, and iproute2's
// `ip netns` works. Tests call it before their expensive set-up.
func RequireNetns(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "network namespaces need root (ip netns); run the real-binary tests as root, as CI does")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skipOrFail(t, "ip (iproute2) is not installed: `scripts/tools apt` installs it")
	}
	if out, err := ipCmd("netns", "list"); err != nil {
		skipOrFail(t, fmt.Sprintf("ip netns is not available here: %v: %s", err, out))
	}
}

// NewNetwork creates the hub namespace and its bridge; AddHost adds
// machines. It is removed, with every Host, in the test's cleanup (after the
// processes started in it, which are cleaned up first).
func NewNetwork(t testing.TB) *Network {
	t.Helper()
	RequireNetns(t)
	removeStaleNamespaces(t)
	netnsCountMu.Lock()
	netnsCount++
	n := &Network{
		t:      t,
		prefix: fmt.Sprintf("%s%d-%d", netnsPrefix, os.Getpid(), netnsCount),
		names:  map[string]*Host{},
		nextIP: 11,
	}
	netnsCountMu.Unlock()
	n.hub = n.prefix + "-hub"
	if out, err := ipCmd("netns", "add", n.hub); err != nil {
		skipOrFail(t, fmt.Sprintf("ip netns is not available here: ip netns add %s: %v: %s", n.hub, err, out))
	}
	t.Cleanup(n.remove)
	n.must("-n", n.hub, "link", "set", "lo", "up")
	n.must("-n", n.hub, "link", "add", "br0", "type", "bridge")
	n.must("-n", n.hub, "addr", "add", netnsGW+"/24", "dev", "br0")
	n.must("-n", n.hub, "link", "set", "br0", "up")
	return n
}

// AddHost adds a namespace with the next free address of the network, and
// a default route through the hub (so that a program that picks "the
// address of the default route's interface", as kubeadm does, finds it).
func (n *Network) AddHost(name string) *Host {
	n.t.Helper()
	n.mu.Lock()
	h := &Host{Name: name, Namespace: n.prefix + "-" + name, net: n, veth: fmt.Sprintf("v%d", len(n.hosts))}
	n.hosts = append(n.hosts, h)
	n.mu.Unlock()
	n.must("netns", "add", h.Namespace)
	n.must("-n", n.hub, "link", "add", h.veth, "type", "veth", "peer", "name", "eth0", "netns", h.Namespace)
	n.must("-n", n.hub, "link", "set", h.veth, "master", "br0")
	n.must("-n", n.hub, "link", "set", h.veth, "up")
	n.must("-n", h.Namespace, "link", "set", "lo", "up")
	n.must("-n", h.Namespace, "link", "set", "eth0", "up")
	h.setIP(n.allocIP())
	// The hosts file must exist before any process starts in the namespace:
	// `ip netns exec` bind-mounts it at exec time.
	n.writeHosts()
	return h
}

// Name makes name resolve to h's address in every host of the network (and
// keeps following h when it is readdressed).
func (n *Network) Name(name string, h *Host) {
	n.mu.Lock()
	n.names[name] = h
	n.mu.Unlock()
	n.writeHosts()
}

// IP is the host's current address.
func (h *Host) IP() string {
	h.net.mu.Lock()
	defer h.net.mu.Unlock()
	return h.ip
}

// Readdress moves the host to a new address (as a replacement instance gets
// a new private IP) and updates every hosts file, as a DNS record update
// would. Processes running in the host keep running; their sockets bound to
// the old address stop working.
func (h *Host) Readdress() string {
	h.net.t.Helper()
	h.net.must("-n", h.Namespace, "addr", "flush", "dev", "eth0")
	ip := h.net.allocIP()
	h.setIP(ip)
	h.net.writeHosts()
	return ip
}

func (h *Host) setIP(ip string) {
	h.net.must("-n", h.Namespace, "addr", "add", ip+"/24", "dev", "eth0")
	h.net.must("-n", h.Namespace, "route", "replace", "default", "via", netnsGW, "dev", "eth0")
	h.net.mu.Lock()
	h.ip = ip
	h.net.mu.Unlock()
}

func (n *Network) allocIP() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.nextIP > 250 {
		n.t.Fatal("testtools: network out of addresses")
	}
	ip := netnsSubnet + strconv.Itoa(n.nextIP)
	n.nextIP++
	return ip
}

// writeHosts rewrites every host's hosts file in place: the bind mounts of
// running processes point at the file's inode, so it must not be replaced.
func (n *Network) writeHosts() {
	n.t.Helper()
	n.mu.Lock()
	var names []string
	for name := range n.names {
		names = append(names, name)
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteString("# written by kinfra's test network " + n.prefix + "\n127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n")
	for _, name := range names {
		fmt.Fprintf(&b, "%s %s\n", n.names[name].ip, name)
	}
	hosts := append([]*Host(nil), n.hosts...)
	n.mu.Unlock()
	for _, h := range hosts {
		dir := filepath.Join(netnsDir, h.Namespace)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			n.t.Fatalf("testtools: %v", err)
		}
		f, err := os.OpenFile(filepath.Join(dir, "hosts"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err == nil {
			_, err = f.Write(b.Bytes())
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			n.t.Fatalf("testtools: hosts file of %s: %v", h.Namespace, err)
		}
	}
}

func (n *Network) must(args ...string) {
	n.t.Helper()
	if out, err := ipCmd(args...); err != nil {
		n.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func ipCmd(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "ip", args...).CombinedOutput()
}

// remove deletes every namespace of the network (their veths go with
// them, the bridge with the hub) and their hosts files.
func (n *Network) remove() {
	n.mu.Lock()
	hosts := append([]*Host(nil), n.hosts...)
	n.mu.Unlock()
	var errs []error
	for _, h := range hosts {
		errs = append(errs, deleteNamespace(h.Namespace))
	}
	errs = append(errs, deleteNamespace(n.hub))
	// The directory is shared by every user of ip netns: removed only if
	// nothing else is in it.
	_ = os.Remove(netnsDir)
	if err := errors.Join(errs...); err != nil {
		n.t.Errorf("testtools: removing network %s: %v", n.prefix, err)
	}
}

func deleteNamespace(ns string) error {
	var err error
	if out, e := ipCmd("netns", "delete", ns); e != nil && !strings.Contains(string(out), "No such file") {
		err = fmt.Errorf("ip netns delete %s: %v: %s", ns, e, out)
	}
	if e := os.RemoveAll(filepath.Join(netnsDir, ns)); e != nil {
		err = errors.Join(err, e)
	}
	return err
}

// removeStaleNamespaces deletes the namespaces of earlier test processes
// that died without cleaning up (their processes died with them:
// everything Start runs gets SIGKILL when the test process dies).
func removeStaleNamespaces(t testing.TB) {
	out, err := ipCmd("netns", "list")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		m := staleNetns.FindStringSubmatch(fields[0])
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue
		}
		t.Logf("testtools: removing namespace %s of dead test process %d", fields[0], pid)
		_ = deleteNamespace(fields[0])
	}
}
