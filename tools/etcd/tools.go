//go:build tools

// Package tools pins the etcd server, etcdctl and etcdutl versions the tests run:
// the etcd v3.7 the images install (components/images: etcd 3.7.3).
package tools

import (
	_ "go.etcd.io/etcd/etcdctl/v3"
	_ "go.etcd.io/etcd/etcdutl/v3"
	_ "go.etcd.io/etcd/server/v3/etcdmain"
)
