//go:build tools

// Package tools pins the previous minor's kubeadm and kube-apiserver
// (v1.36) that the upgrade tests build with scripts/tools: a control plane
// made at v1.36, then brought to tools/kubernetes's v1.37.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubeadm"
)
