package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"

	"github.com/kinfra-dev/kinfra/internal/stackfile"
	"github.com/kinfra-dev/kinfra/pki"
	"github.com/kinfra-dev/kinfra/spec"
)

// runPKIInit generates a cluster's PKI and hands it to `pulumi config set
// --secret` on stdin (never on a command line, where other users of the
// machine could read it), so the stack's own secrets provider encrypts it.
func runPKIInit(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kinfra pki init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "", "stack `name` whose stacks/Pulumi.<name>.yaml receives kinfra:pki")
	dir := fs.String("dir", ".", "`directory` inside the kinfra project")
	force := fs.Bool("force", false, "replace an existing kinfra:pki (every CA changes: only for a cluster not yet created)")
	pulumiBin := fs.String("pulumi", envOr("KINFRA_PULUMI", "pulumi"), "the Pulumi CLI `binary`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *stack == "" {
		fmt.Fprintln(stderr, "kinfra pki init: --stack is required")
		fs.Usage()
		return 2
	}
	projectDir, path, err := stackPath(*dir, *stack)
	if err != nil {
		fmt.Fprintln(stderr, "kinfra pki init:", err)
		return 2
	}
	sf, err := stackfile.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, "kinfra pki init:", err)
		return 1
	}
	_, plain := sf.Config[stackfile.PKIKey]
	if (plain || slices.Contains(sf.Secure, stackfile.PKIKey)) && !*force {
		fmt.Fprintf(stderr, "kinfra pki init: stack %s already has %s. A new PKI replaces every CA: a running cluster's nodes and clients would stop trusting its API. Pass --force only if the cluster does not exist yet.\n", *stack, stackfile.PKIKey)
		return 1
	}
	// The CA subjects carry the cluster name: read it as the program does.
	named, err := spec.Decode([]byte(sf.Config[stackfile.ClusterKey]))
	if err != nil || named.Name == "" {
		fmt.Fprintf(stderr, "kinfra pki init: %s has no valid kinfra:cluster with a name; fix the cluster spec first (kinfra plan --stack %s shows why)\n", path, *stack)
		return 1
	}
	bundle, err := pki.Generate(named.Name)
	if err != nil {
		fmt.Fprintln(stderr, "kinfra pki init:", err)
		return 1
	}
	value, err := bundle.JSON()
	if err != nil {
		fmt.Fprintln(stderr, "kinfra pki init:", err)
		return 1
	}
	cmd := exec.Command(*pulumiBin, "config", "set", "--secret", stackfile.PKIKey, "--stack", *stack, "--non-interactive")
	cmd.Dir = projectDir
	cmd.Stdin = bytes.NewReader(value)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(stderr, "kinfra pki init: `pulumi config set --secret %s --stack %s` failed: %v\n"+
			"It needs the Pulumi CLI, a backend you are logged in to (pulumi login), the stack created there (pulumi stack init %s)\n"+
			"and its secrets provider (e.g. PULUMI_CONFIG_PASSPHRASE for passphrase stacks).\n", stackfile.PKIKey, *stack, err, *stack)
		return 1
	}
	// The stack file now holds the value, encrypted: check before reporting.
	after, err := stackfile.Load(path)
	if err != nil || !slices.Contains(after.Secure, stackfile.PKIKey) {
		fmt.Fprintf(stderr, "kinfra pki init: pulumi exited 0 but %s does not hold an encrypted %s; check the stack's config location\n", path, stackfile.PKIKey)
		return 1
	}
	fmt.Fprintf(stdout, "kinfra pki init: stored a new PKI for cluster %s as the secret %s of stack %s (%s)\n", named.Name, stackfile.PKIKey, *stack, path)
	for _, ca := range []struct{ name, cert string }{
		{"cluster CA", bundle.ClusterCA.Cert}, {"etcd CA", bundle.EtcdCA.Cert}, {"front-proxy CA", bundle.FrontProxyCA.Cert},
	} {
		fmt.Fprintf(stdout, "  %-15s sha256 %s\n", ca.name, fingerprint(ca.cert))
	}
	hash, _ := bundle.CACertHash()
	fmt.Fprintf(stdout, "  discovery hash  %s\nCommit %s: the encrypted value is safe to commit, and the cluster cannot be rebuilt without it.\n", hash, path)
	return 0
}

func fingerprint(certPEM string) string {
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil {
		return "?"
	}
	return fmt.Sprintf("%x", sha256.Sum256(block.Bytes))
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
