package tags_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/tags"
)

func TestEveryEtcdRecordIsRecognisedAsOne(t *testing.T) {
	for _, slot := range []int{0, 1, 2, 9, 10, 99, 1 << 20} {
		for _, domain := range []string{"c.k8s.internal", "x", "prod.example.com."} {
			name := tags.EtcdRecord(slot, domain)
			require.Equal(t, fmt.Sprintf("etcd-%d.%s", slot, domain), name)
			require.True(t, tags.IsEtcdRecord(name), name)
		}
		require.Equal(t, fmt.Sprintf("etcd-%d", slot), tags.EtcdMember(slot))
	}
}

// The rule the diff has matched records by until now: the reader agrees
// with it on every name, and rejects what is not a slot's record.
var recordPattern = regexp.MustCompile(`^etcd-[0-9]+\.`)

func TestIsEtcdRecordAgreesWithTheRecordPattern(t *testing.T) {
	var names []string
	for _, label := range []string{"etcd-0", "etcd-12", "etcd-007", "etcd-", "etcd", "etcd-a", "etcd-1a", "etcd-+1", "etcd--1",
		"etcd-١", "xetcd-1", "ETCD-1", "api", "", "etcd-1 "} {
		for _, rest := range []string{"", ".", ".c.k8s.internal", "..", ".x.", "x.y"} {
			names = append(names, label+rest)
		}
	}
	rejected := 0
	for _, n := range names {
		require.Equal(t, recordPattern.MatchString(n), tags.IsEtcdRecord(n), "%q", n)
		if !tags.IsEtcdRecord(n) {
			rejected++
		}
	}
	require.Greater(t, rejected, len(names)/2, "the cases include names that are no record")
}

func TestAnEtcdVolumeIsTaggedWithItsRoleOrItsSlot(t *testing.T) {
	for _, tc := range []struct {
		tags map[string]string
		want bool
	}{
		{map[string]string{tags.Role: tags.RoleEtcd, tags.MasterSlot: "0"}, true}, // as the masters tag it
		{map[string]string{tags.Role: tags.RoleEtcd}, true},
		{map[string]string{tags.MasterSlot: "2"}, true},
		{map[string]string{tags.MasterSlot: ""}, true},
		{map[string]string{tags.Role: "operators"}, false},
		{map[string]string{tags.Role: "Etcd"}, false},
		{map[string]string{tags.NodePool: "general", "Name": "etcd-0"}, false},
		{map[string]string{}, false},
		{nil, false},
	} {
		require.Equal(t, tc.want, tags.IsEtcdVolume(tc.tags), "%v", tc.tags)
	}
}

func TestSlotAndPoolTellAPresentEmptyTagFromNone(t *testing.T) {
	s, ok := tags.Slot(map[string]string{tags.MasterSlot: "3"})
	require.True(t, ok)
	require.Equal(t, "3", s)
	_, ok = tags.Slot(map[string]string{tags.MasterSlot: ""})
	require.True(t, ok)
	_, ok = tags.Slot(map[string]string{tags.NodePool: "3"})
	require.False(t, ok)

	p, ok := tags.Pool(map[string]string{tags.NodePool: "general"})
	require.True(t, ok)
	require.Equal(t, "general", p)
	_, ok = tags.Pool(map[string]string{tags.MasterSlot: "general"})
	require.False(t, ok)
}

func TestEveryKinfraKeyIsUnderItsPrefix(t *testing.T) {
	keys := []string{tags.Cluster, tags.Region, tags.Component, tags.MasterSlot, tags.NodePool, tags.Role,
		tags.ParameterGroup, tags.Tier, tags.KubernetesVersion, tags.Containerd, tags.Runc, tags.CNIPlugins, tags.Etcd}
	seen := map[string]bool{}
	for _, k := range keys {
		require.Regexp(t, `^kinfra\.dev/[a-z-]+$`, k)
		require.False(t, seen[k], "%s is two keys", k)
		seen[k] = true
	}
}
