package tests

// etcd quorum from the rendered configurations (docs/real-binaries.md): one
// real etcd per master slot of each committed stack, each in its own network
// namespace, started exactly as the rendered etcd.service starts it with the
// rendered /etc/kinfra/etcd.yaml (only file paths moved under the slot's
// directory), with certificates issued by the rendered boot script's own
// functions. The members find each other by the slot DNS names the
// configuration names, resolved through the namespaces' hosts files.

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/testtools"
)

// realStackNames are the committed stacks, by name (stackNames), of which
// there must be some.
func realStackNames(t *testing.T) []string {
	t.Helper()
	names := stackNames(t)
	require.NotEmpty(t, names)
	return names
}

func TestRealEtcdQuorumFromRenderedConfigs(t *testing.T) {
	testtools.RequireNetns(t)
	testtools.Path(t, "etcd")
	testtools.Path(t, "etcdctl")
	for _, name := range realStackNames(t) {
		t.Run(name, func(t *testing.T) {
			// The stacks' networks are separate: they run side by side.
			t.Parallel()
			st := loadRealStack(t, name)
			require.GreaterOrEqual(t, len(st.slots), 3, "the quorum checks need three or more masters")
			testEtcdQuorum(t, newRealCluster(t, st))
		})
	}
}

func testEtcdQuorum(t *testing.T, c *realCluster) {
	n := len(c.masters)
	last := c.masters[n-1]

	// A majority of the slots forms the cluster; the last slot has not run.
	for _, m := range c.masters[:n-1] {
		m.startEtcd(t, nil)
	}
	for _, m := range c.masters[:n-1] {
		m.waitEtcdHealthy(t)
	}
	// The boot script's lost-volume guard, against the real member list:
	// a member that never ran may have its blank volume formatted...
	// etcd lists a member of the static initial-cluster by name, without
	// client URLs, until it first runs; the guard reads exactly that, from
	// the peers of the slot's master.env, which all answer.
	lastName := tags.EtcdMember(last.slot.index)
	for _, mb := range c.masters[0].memberList(t) {
		if mb.Name == lastName {
			require.Empty(t, mb.ClientURLs, "%s has not run", lastName)
		} else {
			require.NotEmpty(t, mb.ClientURLs, "%s has run", mb.Name)
		}
	}
	out, err := last.boot(t, time.Minute, `for peer in $ETCD_PEERS; do etcdctl_at "$peer" member list -w simple; done`)
	require.NoError(t, err)
	require.Equal(t, n-1, strings.Count(out, ", "+lastName+", "), "every peer answers:\n%s", out)
	out, err = last.boot(t, time.Minute, "guard_blank_volume 2>&1")
	require.NoError(t, err, "guard_blank_volume must let a slot that never ran format its volume")
	require.Contains(t, out, "a quorum lists etcd member "+lastName+" as never started")
	require.NotContains(t, out, "FATAL")

	last.startEtcd(t, nil)
	last.waitEtcdHealthy(t)
	// ...and once it has run, a blank volume for it stops the boot.
	_, err = last.boot(t, time.Minute, "guard_blank_volume")
	require.ErrorContains(t, err, "etcd member "+lastName+" has run before")

	// Every member took the rendered configuration, and lists the cluster
	// the rendered initial-cluster describes.
	var want []realEtcdMember
	for _, m := range c.masters {
		require.Empty(t, etcdEffectiveConfigProblems(t, m, m.slot.files[bootstrap.EtcdConfigPath].Content), m.host.Name)
		record := tags.EtcdRecord(m.slot.index, c.stack.domain())
		want = append(want, realEtcdMember{
			Name:       tags.EtcdMember(m.slot.index),
			PeerURLs:   []string{fmt.Sprintf("https://%s:%d", record, bootstrap.EtcdPeerPort)},
			ClientURLs: []string{fmt.Sprintf("https://%s:%d", record, bootstrap.EtcdClientPort)},
		})
	}
	members := c.masters[0].memberList(t)
	require.Len(t, members, n)
	for i := range members {
		got := members[i]
		got.ID = 0
		require.Equal(t, want[i], got)
	}
	for _, m := range c.masters[1:] {
		require.Equal(t, members, m.memberList(t), "%s sees the same members", m.host.Name)
	}
	ids := map[int]uint64{}
	for _, m := range c.masters {
		ids[m.slot.index] = mustStatus(t, m).Status.Header.MemberID
	}

	// client-cert-auth: a client without a certificate is refused (etcdctl
	// retries until its deadline; the member says why).
	_, err = c.masters[0].host.Run(30*time.Second, []string{"ETCDCTL_API=3"}, c.etcdctl,
		"--endpoints", c.endpoint(0), "--cacert", c.masters[0].path(bootstrap.EtcdPKIDir+"/ca.crt"),
		"--dial-timeout", "2s", "--command-timeout", "2s", "get", "/")
	require.Error(t, err, "etcd must refuse a client without a certificate")
	testtools.WaitFor(t, 10*time.Second, "etcd-0 logs the refusal", func() error {
		if !strings.Contains(testtools.Tail(c.masters[0].etcd.Log, 10000), "client didn't provide a certificate") {
			return fmt.Errorf("no refusal in %s", c.masters[0].etcd.Log)
		}
		return nil
	})

	// A write through one member is read, linearizably, through every member.
	key := "/kinfra-test/" + c.stack.name
	_, err = c.masters[0].etcdctl(c.endpoint(0), "put", key, "written-through-etcd-0")
	require.NoError(t, err)
	for _, m := range c.masters {
		require.Equal(t, "written-through-etcd-0", m.get(t, key, "l"), "read through %s", m.host.Name)
	}

	// Stop the leader: the others keep quorum, elect a leader and accept
	// writes.
	leader := c.leader(t, c.masters)
	t.Logf("stopping the leader, %s", tags.EtcdMember(leader.slot.index))
	leader.etcd.Stop()
	var survivors []*realMaster
	for _, m := range c.masters {
		if m != leader {
			survivors = append(survivors, m)
		}
	}
	t.Logf("new leader: %s", tags.EtcdMember(c.leader(t, survivors).slot.index))
	key2 := key + "/while-" + tags.EtcdMember(leader.slot.index) + "-was-down"
	testtools.WaitFor(t, 60*time.Second, "a write with one member down", func() error {
		_, err := survivors[0].etcdctl(c.endpoint(survivors[0].slot.index), "put", key2, "quorum-held")
		return err
	})
	for _, m := range survivors {
		require.Equal(t, "quorum-held", m.get(t, key2, "l"), "read through %s", m.host.Name)
	}

	// Replace it as a new instance takes the slot: a new address (the slot's
	// record follows it), certificates issued again by the boot script for
	// that address, the same configuration and the same data directory (the
	// slot volume), a new process. It rejoins as the same member: no member
	// add or remove.
	oldIP := leader.host.IP()
	newIP := leader.host.Readdress()
	t.Logf("replacing %s: %s -> %s", tags.EtcdMember(leader.slot.index), oldIP, newIP)
	leader.issueEtcdCerts(t)
	leader.startEtcd(t, nil)
	leader.waitEtcdHealthy(t)
	started := leader.etcdLog(t, "starting an etcd server")
	require.Equal(t, true, started["member-initialized"], "the replacement started from the member's data")
	require.Equal(t, ids[leader.slot.index], mustStatus(t, leader).Status.Header.MemberID, "same member ID")
	for _, m := range c.masters {
		require.Equal(t, members, m.memberList(t), "member list unchanged, seen from %s", m.host.Name)
	}
	// It caught up with what was written while it was down, and holds it
	// itself (a serializable read is answered from its own data).
	require.Equal(t, "quorum-held", leader.get(t, key2, "l"))
	require.Equal(t, "quorum-held", leader.get(t, key2, "s"))
	// And the cluster is whole again.
	out, err = c.masters[0].etcdctl(c.endpoint(0), "endpoint", "health", "--cluster")
	require.NoError(t, err)
	require.Equal(t, n, strings.Count(out, "is healthy"), out)
}

// get reads key through the machine's own member with the given
// consistency ("l" linearizable, "s" serializable).
func (m *realMaster) get(t *testing.T, key, consistency string) string {
	t.Helper()
	var value string
	// A member that has just rejoined may still be catching up: retry.
	testtools.WaitFor(t, 30*time.Second, "read "+key+" through "+m.host.Name, func() error {
		out, err := m.etcdctl(m.c.endpoint(m.slot.index), "get", key, "--print-value-only", "--consistency="+consistency)
		value = strings.TrimSpace(out)
		return err
	})
	return value
}

// leader is the member that every one of members names as leader, once
// they agree on one of them.
func (c *realCluster) leader(t *testing.T, members []*realMaster) *realMaster {
	t.Helper()
	var leader *realMaster
	testtools.WaitFor(t, 60*time.Second, "a leader agreed by "+fmt.Sprint(len(members))+" members", func() error {
		byID := map[uint64]*realMaster{}
		leaders := map[uint64]bool{}
		for _, m := range members {
			s, err := m.status()
			if err != nil {
				return err
			}
			byID[s.Status.Header.MemberID] = m
			leaders[s.Status.Leader] = true
		}
		if len(leaders) != 1 {
			return fmt.Errorf("members name %d leaders", len(leaders))
		}
		for id := range leaders {
			leader = byID[id]
		}
		if leader == nil {
			return fmt.Errorf("the leader is not among the members")
		}
		return nil
	})
	return leader
}

// etcdEffectiveConfigProblems compares the configuration etcd logs at start
// ("starting an etcd server", and its TLS lines) with the rendered one.
// etcd reads its configuration file leniently (an unknown or misspelled key
// is ignored, not refused), so this is what shows that every rendered
// setting took effect. Every rendered key must be covered here.
func etcdEffectiveConfigProblems(t *testing.T, m *realMaster, rendered string) []string {
	t.Helper()
	var cfg map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(rendered), &cfg))
	mapped, _ := realMapPaths(t, rendered, m.root)
	var mcfg map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(mapped), &mcfg))
	start := m.etcdLog(t, "starting an etcd server")
	var problems []string
	expect := func(key string, want, got any) {
		if fmt.Sprint(want) != fmt.Sprint(got) {
			problems = append(problems, fmt.Sprintf("%s: rendered %v, etcd runs with %v", key, want, got))
		}
	}
	tlsInfo := func(key, msg string) {
		sec, _ := mcfg[key].(map[string]any)
		want := fmt.Sprintf("cert = %v, key = %v, client-cert=, client-key=, trusted-ca = %v, client-cert-auth = %v, crl-file = ",
			sec["cert-file"], sec["key-file"], sec["trusted-ca-file"], sec["client-cert-auth"])
		if sec["auto-tls"] != false {
			problems = append(problems, key+".auto-tls: must be false (self-signed certificates)")
		}
		expect(key, want, m.etcdLog(t, msg)["tls-info"])
	}
	ms := func(v any) string { return (time.Duration(v.(int)) * time.Millisecond).String() }
	for key, v := range cfg {
		switch key {
		case "name", "initial-cluster-state", "initial-cluster-token", "auto-compaction-mode", "snapshot-count":
			expect(key, v, start[key])
		case "data-dir":
			expect(key, mcfg[key], start[key])
		case "listen-peer-urls", "listen-client-urls", "listen-metrics-urls", "initial-advertise-peer-urls", "advertise-client-urls":
			expect(key, strings.Split(v.(string), ","), start[key])
		case "initial-cluster":
			// etcd prints its members by name: compare as sets.
			want, got := strings.Split(v.(string), ","), strings.Split(fmt.Sprint(start[key]), ",")
			sort.Strings(want)
			sort.Strings(got)
			expect(key, want, got)
		case "quota-backend-bytes":
			expect(key, float64(v.(int)), start[key])
		case "auto-compaction-retention":
			d, err := time.ParseDuration(v.(string))
			require.NoError(t, err)
			expect(key, d.String(), start[key])
		case "heartbeat-interval", "election-timeout":
			expect(key, ms(v), start[key])
		case "client-transport-security":
			tlsInfo(key, "starting with client TLS")
		case "peer-transport-security":
			tlsInfo(key, "starting with peer TLS")
		case "tls-min-version":
			// Not logged; etcd refuses an unknown version at start
			// (TestRealEtcdRefusesBrokenConfigs), and TLS1.2 is also its
			// default.
			expect(key, "TLS1.2", v)
		case "logger":
			// The log just parsed is zap's JSON.
			expect(key, "zap", v)
		case "log-outputs":
			// It went to standard error, which the test captures.
			expect(key, "[stderr]", v)
		default:
			problems = append(problems, fmt.Sprintf("%s: rendered, but not compared with etcd's effective configuration (add it to this test)", key))
		}
	}
	sort.Strings(problems)
	return problems
}

// A rendered etcd configuration that is broken fails these checks: the
// same harness as above, with one rendered setting corrupted in a copy.
func TestRealEtcdRefusesBrokenConfigs(t *testing.T) {
	testtools.RequireNetns(t)
	testtools.Path(t, "etcd")
	testtools.Path(t, "etcdctl")
	st := loadRealStack(t, "us-east-1")
	c := newRealCluster(t, st)
	m := c.masters[0]

	t.Run("misspelled key: etcd ignores it, the effective-configuration check does not", func(t *testing.T) {
		broken := strings.Replace(m.slot.files[bootstrap.EtcdConfigPath].Content, "heartbeat-interval:", "heartbeat-intervall:", 1)
		m.startEtcd(t, func(string) string { return broken })
		testtools.WaitFor(t, 30*time.Second, "etcd started", func() error {
			if !strings.Contains(testtools.Tail(m.etcd.Log, 1000), "starting an etcd server") {
				return fmt.Errorf("not yet")
			}
			return nil
		})
		problems := etcdEffectiveConfigProblems(t, m, broken)
		t.Logf("problems found: %s", strings.Join(problems, "; "))
		require.Contains(t, strings.Join(problems, "\n"), "heartbeat-intervall: rendered, but not compared")
		// Had the intended key been compared, the value etcd runs with
		// differs: its default.
		require.Contains(t, strings.Join(etcdEffectiveConfigProblems(t, m, m.slot.files[bootstrap.EtcdConfigPath].Content), "\n"),
			"heartbeat-interval: rendered 250ms, etcd runs with 100ms")
		m.etcd.Stop()
	})
	for _, tc := range []struct{ name, from, to, refusal string }{
		{"member name not in initial-cluster", "name: etcd-0\n", "name: etcd-9\n", "couldn't find local name"},
		{"unknown TLS version", "tls-min-version: TLS1.2", "tls-min-version: TLS1.1", `unexpected TLS version \"TLS1.1\" (must be one of: TLS1.2, TLS1.3)`},
		{"listen address that is not a URL", "listen-client-urls: https://0.0.0.0:2379", "listen-client-urls: 0.0.0.0:2379", "unexpected error setting up listen-client-urls"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rendered := m.slot.files[bootstrap.EtcdConfigPath].Content
			require.Contains(t, rendered, tc.from)
			// A blank data directory: etcd reads initial-cluster only then.
			require.NoError(t, os.RemoveAll(m.path(bootstrap.EtcdDataDir)))
			m.startEtcd(t, func(s string) string { return strings.Replace(s, tc.from, tc.to, 1) })
			exited, err := m.etcd.WaitExit(60 * time.Second)
			require.True(t, exited, "etcd must refuse to start")
			require.Error(t, err)
			log := testtools.Tail(m.etcd.Log, 50)
			require.Contains(t, log, tc.refusal)
			t.Logf("etcd refused: %s", realEtcdRefusal(log))
		})
	}
}

// realEtcdRefusal is the reason in the last line of an etcd log that
// refused to start: the error of a zap entry, or the line itself.
func realEtcdRefusal(log string) string {
	lines := strings.Split(strings.TrimSpace(log), "\n")
	last := lines[len(lines)-1]
	var entry map[string]any
	if json.Unmarshal([]byte(last), &entry) == nil && entry["error"] != nil {
		return fmt.Sprintf("%s: %v", entry["msg"], entry["error"])
	}
	return last
}
