package images

import "fmt"

// Where the container runtime is installed: upstream's layout for release
// tarballs (https://github.com/containerd/containerd/blob/main/docs/getting-started.md).
const (
	ContainerdUnitPath   = "/usr/local/lib/systemd/system/containerd.service"
	ContainerdConfigPath = "/etc/containerd/config.toml"
	RuncPath             = "/usr/local/sbin/runc"
	CNIBinDir            = "/opt/cni/bin"
)

// containerdUnit is upstream's containerd.service for binaries in
// /usr/local/bin.
const containerdUnit = `# kinfra: containerd.service as shipped with containerd's release tarballs.
[Unit]
Description=containerd container runtime
Documentation=https://containerd.io
After=network.target local-fs.target dbus.service

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/containerd

Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5

# Non-zero Limit*s cost accounting overhead in the kernel; cgroups account
# per container instead.
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target`

// containerdConfig is containerd 2.x's configuration (version 3): the CRI
// plugin runs runc (ours, in /usr/local/sbin) with the systemd cgroup
// driver, which is what kubeadm configures the kubelet with; both must
// agree or pods fail to start. Everything else keeps containerd's defaults
// (CNI in /opt/cni/bin and /etc/cni/net.d, the pinned pause image).
const containerdConfig = `# kinfra: containerd 2.x for the kubelet; runc with the systemd cgroup driver.
version = 3

[plugins.'io.containerd.cri.v1.runtime'.containerd]
  default_runtime_name = 'runc'

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
  runtime_type = 'io.containerd.runc.v2'

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  BinaryName = '/usr/local/sbin/runc'
  SystemdCgroup = true`

// Download URLs, from each project's GitHub releases.
func (r renderer) containerdURL() string {
	return fmt.Sprintf("https://github.com/containerd/containerd/releases/download/v%s/%s", r.v.Containerd, r.containerdFile())
}

func (r renderer) containerdFile() string {
	return fmt.Sprintf("containerd-%s-linux-%s.tar.gz", r.v.Containerd, r.arch.release)
}

func (r renderer) runcURL(file string) string {
	return fmt.Sprintf("https://github.com/opencontainers/runc/releases/download/v%s/%s", r.v.Runc, file)
}

func (r renderer) cniFile() string {
	return fmt.Sprintf("cni-plugins-linux-%s-v%s.tgz", r.arch.release, r.v.CNIPlugins)
}

func (r renderer) cniURL() string {
	return fmt.Sprintf("https://github.com/containernetworking/plugins/releases/download/v%s/%s", r.v.CNIPlugins, r.cniFile())
}

// containerd installs containerd, runc and the CNI plugins from their
// release artifacts, each checked against the checksum file its release
// publishes, and enables containerd.
func (r renderer) containerd() document {
	runc := "runc." + r.arch.release
	return document{
		short:       "containerd",
		description: r.describe(fmt.Sprintf("containerd %s, runc %s, CNI plugins %s", r.v.Containerd, r.v.Runc, r.v.CNIPlugins)),
		phases: []phase{
			{name: "build", steps: []step{
				bash("InstallContainerd", downloadFuncs,
					download(r.containerdFile(), r.containerdURL(), r.containerdFile()+".sha256sum", r.containerdURL()+".sha256sum"),
					"tar --no-same-owner -C /usr/local -xzf "+shq(r.containerdFile()),
					writeFile(ContainerdUnitPath, "0644", containerdUnit)),
				bash("InstallRunc", downloadFuncs,
					download(runc, r.runcURL(runc), "runc.sha256sum", r.runcURL("runc.sha256sum")),
					"install -D -m 0755 "+shq(runc)+" "+shq(RuncPath)),
				bash("InstallCNIPlugins", downloadFuncs,
					download(r.cniFile(), r.cniURL(), r.cniFile()+".sha256", r.cniURL()+".sha256"),
					"install -d -m 0755 "+shq(CNIBinDir),
					"tar --no-same-owner -C "+shq(CNIBinDir)+" -xzf "+shq(r.cniFile())),
				bash("ConfigureContainerd",
					writeFile(ContainerdConfigPath, "0644", containerdConfig),
					"systemctl daemon-reload",
					"systemctl enable --now containerd.service"),
			}},
			{name: "validate", steps: []step{
				bash("Versions", checkFuncs,
					contains(" v"+r.v.Containerd, "/usr/local/bin/containerd", "--version"),
					contains("runc version "+r.v.Runc, RuncPath, "--version"),
					// A CNI plugin run without CNI_COMMAND prints its name and
					// version and exits 0.
					contains("v"+r.v.CNIPlugins, CNIBinDir+"/bridge"),
					commandsExist(CNIBinDir+"/host-local", CNIBinDir+"/loopback", CNIBinDir+"/portmap", CNIBinDir+"/bandwidth")),
				bash("Configuration", checkFuncs,
					// containerd parses its configuration: a typo fails here.
					contains("SystemdCgroup = true", "/usr/local/bin/containerd", "config", "dump"),
					"systemctl is-enabled containerd.service"),
			}},
			{name: "test", steps: []step{
				bash("ContainerdRunning", checkFuncs,
					"systemctl is-active containerd.service",
					contains("v"+r.v.Containerd, "/usr/local/bin/ctr", "version")),
			}},
		},
	}
}
