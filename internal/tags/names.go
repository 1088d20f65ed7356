package tags

import (
	"strconv"
	"strings"
)

// etcdMemberPrefix starts every etcd member's name.
const etcdMemberPrefix = "etcd-"

// EtcdMember is slot i's etcd member name, and the first label of its DNS
// record.
func EtcdMember(slot int) string { return etcdMemberPrefix + strconv.Itoa(slot) }

// EtcdRecord is slot i's DNS name in the cluster's private domain.
func EtcdRecord(slot int, domain string) string { return EtcdMember(slot) + "." + domain }

// IsEtcdRecord reports whether a DNS name is some slot's EtcdRecord: its
// first label is an EtcdMember name.
func IsEtcdRecord(name string) bool {
	label, _, dotted := strings.Cut(name, ".")
	digits, ok := strings.CutPrefix(label, etcdMemberPrefix)
	return dotted && ok && digits != "" && strings.Trim(digits, "0123456789") == ""
}
