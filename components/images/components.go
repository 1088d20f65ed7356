package images

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/internal/yamldoc"
	"github.com/kinfra-dev/kinfra/spec"
)

// Component is one Image Builder component document.
type Component struct {
	// Name is the component's short name (kernel, containerd, kubernetes,
	// awscli, etcd); the AWS component is named after it.
	Name string
	// Description says what it installs, for which parent and architecture.
	Description string
	// Data is the YAML document (AWSTOE component schema 1.0).
	Data string
}

// Components returns the build components for role in order, rendered from
// the spec: kernel, containerd, kubernetes, awscli, and etcd for masters.
// Every value that reaches a shell command is checked against a strict
// pattern first and then single-quoted.
func Components(c spec.Cluster, role string) ([]Component, error) {
	r, err := newRenderer(c, role)
	if err != nil {
		return nil, err
	}
	docs := []document{r.kernel(), r.containerd(), r.kubernetes(), r.awscli()}
	if role == RoleMaster {
		docs = append(docs, r.etcd())
	}
	out := make([]Component, 0, len(docs))
	for _, d := range docs {
		data, err := d.render()
		if err != nil {
			return nil, fmt.Errorf("images: component %s: %w", d.short, err)
		}
		out = append(out, Component{Name: d.short, Description: d.description, Data: data})
	}
	return out, nil
}

var (
	releaseVersion    = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	kubernetesVersion = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+$`)
)

// arch is how each upstream names an architecture.
type arch struct {
	// release is the Go/Kubernetes name (amd64, arm64); awscli is the AWS
	// CLI bundle's (x86_64, aarch64).
	release, awscli string
}

var arches = map[string]arch{
	spec.ArchX86: {release: "amd64", awscli: "x86_64"},
	spec.ArchARM: {release: "arm64", awscli: "aarch64"},
}

// renderer holds the checked values the documents are built from.
type renderer struct {
	parent, archName, proxy string
	arch                    arch
	wireGuard               bool
	k8s                     string
	v                       spec.ImageVersions
}

func newRenderer(c spec.Cluster, role string) (renderer, error) {
	var problems []string
	if role != RoleMaster && role != RoleNode {
		problems = append(problems, fmt.Sprintf("role %q is not %s or %s", role, RoleMaster, RoleNode))
	}
	i := c.Images
	if RootDevice(i.Parent) == "" {
		problems = append(problems, fmt.Sprintf("cluster.images.parent: %q is not %s or %s", i.Parent, spec.ParentUbuntu2404, spec.ParentAL2023))
	}
	a, ok := arches[i.Architecture]
	if !ok {
		problems = append(problems, fmt.Sprintf("cluster.images.architecture: %q is not %s or %s", i.Architecture, spec.ArchX86, spec.ArchARM))
	}
	if _, ok := proxyModules[c.KubeProxy.Mode]; !ok {
		problems = append(problems, fmt.Sprintf("cluster.kubeProxy.mode: %q is not nftables, iptables, ipvs or none", c.KubeProxy.Mode))
	}
	path, k8s := roleVersion(c, role)
	if !kubernetesVersion.MatchString(k8s) {
		problems = append(problems, fmt.Sprintf("%s: %q is not vMAJOR.MINOR.PATCH", path, k8s))
	}
	for _, p := range []struct{ field, value string }{
		{"containerd", i.Versions.Containerd}, {"runc", i.Versions.Runc},
		{"cniPlugins", i.Versions.CNIPlugins}, {"etcd", i.Versions.Etcd},
	} {
		if !releaseVersion.MatchString(p.value) {
			problems = append(problems, fmt.Sprintf("cluster.images.versions.%s: %q is not MAJOR.MINOR.PATCH", p.field, p.value))
		}
	}
	if len(problems) > 0 {
		return renderer{}, fmt.Errorf("images: cannot render components:\n  %s", strings.Join(problems, "\n  "))
	}
	return renderer{
		parent: i.Parent, archName: i.Architecture, arch: a, proxy: c.KubeProxy.Mode,
		wireGuard: c.CNI.WireGuard, k8s: k8s, v: i.Versions,
	}, nil
}

// describe names what a document is for; it is part of the document, so a
// document (and the content hash in its AWS name) differs by parent and
// architecture even when its commands do not.
func (r renderer) describe(what string) string {
	return fmt.Sprintf("kinfra: %s (%s %s)", what, r.parent, r.archName)
}

// install is the distribution's package installation command for packages.
func (r renderer) install(packages ...string) []string {
	if r.parent == spec.ParentAL2023 {
		return []string{"dnf install -y " + shellWords(packages)}
	}
	// The boot of a fresh Ubuntu instance runs apt itself: wait for its lock.
	return []string{
		"export DEBIAN_FRONTEND=noninteractive",
		"apt-get -o DPkg::Lock::Timeout=600 update",
		"apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends " + shellWords(packages),
	}
}

// document is an AWSTOE component document.
type document struct {
	short, description string
	phases             []phase
}

type phase struct {
	name  string
	steps []step
}

// step is an ExecuteBash step; commands run as one bash script, strict mode
// first.
type step struct {
	name     string
	commands []string
}

func bash(name string, lines ...string) step {
	return step{name: name, commands: append([]string{"set -euo pipefail"}, lines...)}
}

var stepName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func (d document) render() (string, error) {
	var phases []any
	for _, p := range d.phases {
		seen := map[string]bool{}
		var steps []any
		for _, s := range p.steps {
			if !stepName.MatchString(s.name) || seen[s.name] {
				return "", fmt.Errorf("phase %s: step name %q is not unique or not alphanumeric", p.name, s.name)
			}
			seen[s.name] = true
			for _, c := range s.commands {
				// AWSTOE expands {{ … }} in documents: none of ours may.
				if strings.Contains(c, "{{") {
					return "", fmt.Errorf("step %s: a command contains {{, which AWSTOE would expand", s.name)
				}
			}
			steps = append(steps, yamldoc.Map{
				{"name", s.name},
				{"action", "ExecuteBash"},
				{"inputs", yamldoc.Map{{"commands", s.commands}}},
			})
		}
		phases = append(phases, yamldoc.Map{{"name", p.name}, {"steps", steps}})
	}
	return yamldoc.Marshal(yamldoc.Map{
		{"name", "kinfra-" + d.short},
		{"description", d.description},
		{"schemaVersion", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: "1.0"}},
		{"phases", phases},
	})
}

// shq single-quotes s for bash.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func shellWords(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = shq(w)
	}
	return strings.Join(q, " ")
}

// heredocEnd ends every file written with a here-document.
const heredocEnd = "KINFRA_EOF"

// writeFile writes content to path (mode mode) with a quoted here-document,
// so nothing in it is expanded.
func writeFile(path, mode, content string) string {
	if !strings.HasSuffix(content, "\n") {
		content += "\n"
	}
	if slices.Contains(strings.Split(content, "\n"), heredocEnd) {
		panic("images: file content contains the here-document delimiter") // constant content only
	}
	return fmt.Sprintf("install -d -m 0755 %s\ncat > %s <<'%s'\n%s%s\nchmod %s %s",
		shq(dirOf(path)), shq(path), heredocEnd, content, heredocEnd, mode, shq(path))
}

func dirOf(path string) string { return path[:strings.LastIndex(path, "/")] }

// downloadFuncs defines fetch (HTTPS only, with retries), verify (a file
// against the SHA-256 a sums file lists for it, in sha256sum format or as a
// lone hash) and a scratch directory removed on exit.
const downloadFuncs = `fetch() {
  curl --fail --silent --show-error --location --proto '=https' --proto-redir '=https' \
    --retry 5 --retry-connrefused --retry-delay 2 --output "$2" "$1"
}
verify() {
  local want got
  want=$(awk -v f="$1" '{ n = $2; sub(/^[*]/, "", n) } !done && ((NF == 1 && NR == 1) || (NF == 2 && n == f)) { print $1; done = 1 }' "$2")
  if [[ ! $want =~ ^[0-9a-f]{64}$ ]]; then
    echo "no SHA-256 for $1 in $2" >&2
    return 1
  fi
  got=$(sha256sum "$1")
  got=${got%% *}
  if [[ $got != "$want" ]]; then
    echo "$1: SHA-256 is $got, $2 says $want" >&2
    return 1
  fi
  echo "$1: SHA-256 $got verified"
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1`

// download fetches url as file and checks it against sumsURL, saved as sums.
func download(file, url, sums, sumsURL string) string {
	return fmt.Sprintf("fetch %s %s\nfetch %s %s\nverify %s %s",
		shq(url), shq(file), shq(sumsURL), shq(sums), shq(file), shq(sums))
}

// checkFuncs defines contains: run a command and fail unless its output
// holds the expected text.
const checkFuncs = `contains() {
  local want=$1 out
  shift
  out=$("$@" 2>&1 </dev/null)
  printf '%s\n' "$out"
  if [[ $out != *"$want"* ]]; then
    echo "$*: output lacks $want" >&2
    return 1
  fi
}`

// contains checks that cmd's output holds want.
func contains(want string, cmd ...string) string {
	return "contains " + shq(want) + " " + shellWords(cmd)
}

// commandsExist fails unless every command is on the PATH.
func commandsExist(cmds ...string) string {
	return fmt.Sprintf(`for c in %s; do
  command -v "$c" >/dev/null || { echo "$c is not installed" >&2; exit 1; }
done`, shellWords(cmds))
}
