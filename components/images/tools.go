package images

import (
	"fmt"

	"github.com/kinfra-dev/kinfra/spec"
)

// Where the AWS CLI and etcd go.
const (
	AWSCLIBinDir  = "/usr/local/bin"
	AWSCLIInstall = "/usr/local/aws-cli"
	EtcdBinDir    = "/usr/local/bin"
	EtcdUser      = "etcd"
)

func (r renderer) awscliURL() string {
	return fmt.Sprintf("https://awscli.amazonaws.com/awscli-exe-linux-%s.zip", r.arch.awscli)
}

// awscli installs AWS CLI v2 and the tools the boot scripts use (openssl,
// curl, jq, unzip). AWS publishes no checksum for the CLI bundle, only a
// PGP signature; it is fetched over HTTPS from awscli.amazonaws.com.
func (r renderer) awscli() document {
	packages := []string{"openssl", "curl", "jq", "unzip"}
	if r.parent == spec.ParentAL2023 {
		// AL2023 ships curl-minimal, which conflicts with the curl package
		// and has what the boot scripts need.
		packages = []string{"openssl", "jq", "unzip"}
	}
	return document{
		short:       "awscli",
		description: r.describe("AWS CLI v2 and the boot scripts' tools (openssl, curl, jq, unzip)"),
		phases: []phase{
			{name: "build", steps: []step{
				bash("InstallPackages", r.install(packages...)...),
				bash("InstallAwsCli", downloadFuncs,
					"fetch "+shq(r.awscliURL())+" awscliv2.zip",
					"unzip -q awscliv2.zip",
					fmt.Sprintf("./aws/install --bin-dir %s --install-dir %s --update", shq(AWSCLIBinDir), shq(AWSCLIInstall))),
			}},
			{name: "validate", steps: []step{
				bash("AwsCliVersion", checkFuncs, contains("aws-cli/2.", AWSCLIBinDir+"/aws", "--version")),
				// What the master and node boot scripts call.
				bash("BootScriptTools", commandsExist("aws", "curl", "openssl", "jq", "unzip", "blkid", "mkfs.ext4", "base64")),
			}},
			{name: "test", steps: []step{
				bash("AwsCliRuns", checkFuncs, contains("aws-cli/2.", "aws", "--version")),
			}},
		},
	}
}

func (r renderer) etcdURL(file string) string {
	return fmt.Sprintf("https://github.com/etcd-io/etcd/releases/download/v%s/%s", r.v.Etcd, file)
}

// etcd installs etcd, etcdctl and etcdutl, checked against the release's
// SHA256SUMS, and an etcd system user. It enables no etcd unit: the master
// boot script starts etcd once the slot's volume is mounted, never before.
func (r renderer) etcd() document {
	dir := fmt.Sprintf("etcd-v%s-linux-%s", r.v.Etcd, r.arch.release)
	file := dir + ".tar.gz"
	return document{
		short:       "etcd",
		description: r.describe("etcd " + r.v.Etcd + " (started by the master boot script, never enabled)"),
		phases: []phase{
			{name: "build", steps: []step{
				bash("InstallEtcd", downloadFuncs,
					download(file, r.etcdURL(file), "SHA256SUMS", r.etcdURL("SHA256SUMS")),
					"tar --no-same-owner -xzf "+shq(file),
					fmt.Sprintf("install -m 0755 -t %s %s %s %s", shq(EtcdBinDir), shq(dir+"/etcd"), shq(dir+"/etcdctl"), shq(dir+"/etcdutl"))),
				bash("CreateEtcdUser",
					fmt.Sprintf(`if ! getent passwd %[1]s >/dev/null; then
  useradd --system --user-group --home-dir /var/lib/etcd --no-create-home --shell /usr/sbin/nologin %[1]s
fi`, shq(EtcdUser))),
			}},
			{name: "validate", steps: []step{
				bash("Versions", checkFuncs,
					contains("etcd Version: "+r.v.Etcd, EtcdBinDir+"/etcd", "--version"),
					contains("etcdctl version: "+r.v.Etcd, EtcdBinDir+"/etcdctl", "version"),
					contains("etcdutl version: "+r.v.Etcd, EtcdBinDir+"/etcdutl", "version")),
				bash("EtcdUser", "getent passwd "+shq(EtcdUser)),
				bash("EtcdNotEnabled",
					`if systemctl is-enabled --quiet etcd.service 2>/dev/null; then
  echo "etcd.service is enabled; the master boot script must start etcd, once the slot volume is mounted" >&2
  exit 1
fi`),
			}},
		},
	}
}
