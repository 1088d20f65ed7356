// Command k8s-check checks files that kinfra renders for Kubernetes with
// upstream's own decoders and validation, at the Kubernetes version pinned in
// tools/kubernetes/go.mod. `scripts/tools k8s-check` builds it into
// .tools/bin/k8s-check-<version>; tests run it through internal/testtools.
//
//	k8s-check kubelet-config FILE...
//	    Each FILE is a KubeletConfiguration (kubelet.config.k8s.io/v1beta1),
//	    possibly partial as in a kubeadm "kubeletconfiguration" patch, or
//	    several "---" separated ones. Each is decoded strictly with the
//	    kubelet's scheme, defaulted, converted and validated as the kubelet
//	    does at startup (see checkKubeletConfig).
//	k8s-check objects FILE...
//	    Each FILE holds one or more "---" separated YAML documents of built-in
//	    Kubernetes API objects (v1 Lists are expanded). Each is decoded
//	    strictly into its Go type; its apiVersion must be one a default
//	    kube-apiserver serves; it must be named; no object may appear twice
//	    in a file (see checkObjects).
//	k8s-check version
//	    Prints the Kubernetes version it was built against.
//
// It prints, to stdout and in order, "ok FILE" (kubelet-config) or
// "ok FILE (N objects)" (objects) for each good file and a "FILE: where:
// problem" line for each problem, and exits 1 if any file has a problem, 2
// on a usage error.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

const usage = `usage:
  k8s-check kubelet-config FILE...  decode strictly, default and validate (partial) KubeletConfigurations
  k8s-check objects FILE...         decode strictly and check multi-document YAML of built-in API objects
  k8s-check version                 print the Kubernetes version it was built against
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	sub, files := args[0], args[1:]
	var check func(path string, stdout io.Writer) []string
	switch sub {
	case "version":
		if len(files) != 0 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		fmt.Fprintln(stdout, kubernetesVersion())
		return 0
	case "kubelet-config":
		check = checkKubeletConfigFile
	case "objects":
		check = checkObjectsFile
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "k8s-check: unknown subcommand %q\n%s", sub, usage)
		return 2
	}
	if len(files) == 0 {
		fmt.Fprintf(stderr, "k8s-check %s: no files given\n%s", sub, usage)
		return 2
	}
	failed := false
	for _, path := range files {
		problems := check(path, stdout)
		for _, p := range problems {
			fmt.Fprintf(stdout, "%s: %s\n", path, p)
		}
		if len(problems) > 0 {
			failed = true
		}
	}
	if failed {
		return 1
	}
	return 0
}

// kubernetesVersion is the version of the k8s.io/kubernetes module this
// binary was built from, as recorded by the Go toolchain.
func kubernetesVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, dep := range info.Deps {
		if dep.Path == "k8s.io/kubernetes" {
			if dep.Replace != nil && dep.Replace.Version != "" {
				return dep.Replace.Version
			}
			return dep.Version
		}
	}
	return "unknown"
}
