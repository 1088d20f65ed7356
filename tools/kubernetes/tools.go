//go:build tools

// Package tools pins the upstream Kubernetes binaries (kubeadm,
// kube-apiserver, kube-proxy, kubectl) that tests build with scripts/tools.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
