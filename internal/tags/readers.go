package tags

// The readers take a resource's tags as one map, however the resource
// writes them (mockaws.Tags reads them from recorded inputs).

// Slot is the master slot a resource is tagged for: its master group,
// launch template, instance or etcd volume.
func Slot(t map[string]string) (string, bool) {
	s, ok := t[MasterSlot]
	return s, ok
}

// Pool is the node pool a resource is tagged for.
func Pool(t map[string]string) (string, bool) {
	p, ok := t[NodePool]
	return p, ok
}

// IsEtcdVolume reports whether a volume with these tags is a master slot's
// etcd volume. kinfra tags it with both its Role and its slot; either one
// is enough, so that a volume missing one tag is still held to the etcd
// volume's rules (a slot's IAM policy lets its master attach any volume
// tagged for the slot).
func IsEtcdVolume(t map[string]string) bool {
	_, slot := Slot(t)
	return slot || t[Role] == RoleEtcd
}
