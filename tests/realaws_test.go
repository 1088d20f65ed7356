package tests

// The AWS side of the real-binary tests that need more than the PKI: an AWS
// API emulator (moto_server) on the test network, so that the masters'
// scripts, each in its own network namespace, call the real AWS CLI against
// it: the etcd record in SSM, snapshots in S3, the backup metric in
// CloudWatch. docs/real-binaries.md.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kinfra-dev/kinfra/internal/testtools"
)

// realAWS is moto_server running on its own host of a cluster's network.
type realAWS struct {
	c        *realCluster
	host     *testtools.Host
	endpoint string
	dir      string
	region   string
	keyArn   string
}

const realAWSPort = 5000

// useAWS starts moto_server on a host of the cluster's network, makes the
// masters' aws the real AWS CLI pointed at it, and stores the cluster's PKI
// in it as the program does (SecureString parameters under the cluster
// key), so that the boot script's place_pki and etcd_pki read them there.
func (c *realCluster) useAWS(t *testing.T) *realAWS {
	t.Helper()
	moto := testtools.Path(t, "moto_server")
	realCLI := testtools.Path(t, "aws")
	a := &realAWS{c: c, host: c.net.AddHost("aws"), dir: filepath.Join(c.dir, "aws"), region: c.stack.slots[0].env["REGION"]}
	require.NoError(t, os.MkdirAll(filepath.Join(a.dir, "home"), 0o700))
	for _, f := range []string{"config", "credentials"} {
		require.NoError(t, os.WriteFile(filepath.Join(a.dir, f), nil, 0o600))
	}
	a.endpoint = fmt.Sprintf("http://%s:%d", a.host.IP(), realAWSPort)
	a.host.Start(t, "moto_server", filepath.Join(c.dir, "moto_server.log"), nil, moto, "-H", "0.0.0.0", "-p", strconv.Itoa(realAWSPort))
	c.aws = a
	// The stand-in goes: every master's aws is the real CLI.
	require.NoError(t, os.Remove(filepath.Join(c.bin, "aws")))
	require.NoError(t, os.Symlink(realCLI, filepath.Join(c.bin, "aws")))
	// The image installs etcdutl beside etcdctl: restores and snapshot checks.
	require.NoError(t, os.Symlink(testtools.Path(t, "etcdutl"), filepath.Join(c.bin, "etcdutl")))
	testtools.WaitFor(t, time.Minute, "moto_server answers on the test network", func() error {
		_, err := a.run(t, "sts", "get-caller-identity")
		return err
	})
	a.keyArn = strings.TrimSpace(a.must(t, "kms", "create-key", "--description", "kinfra test cluster key", "--query", "KeyMetadata.Arn", "--output", "text"))
	for name, value := range c.stack.ssmParameters(t) {
		a.must(t, "ssm", "put-parameter", "--name", name, "--type", "SecureString", "--key-id", a.keyArn, "--value", value)
	}
	return a
}

// environ is what every command that calls AWS gets: the emulator, dummy
// credentials, no config files, no proxy.
func (a *realAWS) environ() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + a.endpoint,
		"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing",
		"AWS_DEFAULT_REGION=" + a.region,
		"AWS_CONFIG_FILE=" + filepath.Join(a.dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(a.dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"HOME=" + filepath.Join(a.dir, "home"),
		"NO_PROXY=*", "no_proxy=*",
	}
}

// run runs the real AWS CLI from the operator's machine.
func (a *realAWS) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	env := append(a.environ(), "PATH="+os.Getenv("PATH"))
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PYENV_") {
			env = append(env, kv)
		}
	}
	return a.c.client.Run(time.Minute, env, testtools.Path(t, "aws"), append([]string{"--region", a.region}, args...)...)
}

func (a *realAWS) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := a.run(t, args...)
	require.NoError(t, err, "aws %s:\n%s", strings.Join(args, " "), out)
	return out
}
