// Package stackfile reads a kinfra stack file (Pulumi.<stack>.yaml) the way
// the Pulumi CLI hands it to the program, and names the config keys kinfra
// reads. It is the one place those keys are spelled.
package stackfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

// Project is the Pulumi project name the program runs as.
const Project = "kinfra"

// Config keys kinfra reads.
const (
	ClusterKey = "kinfra:cluster"
	PKIKey     = "kinfra:pki"
	RegionKey  = "aws:region"
	// AcknowledgementsKey accepts review findings; only the review reads it.
	AcknowledgementsKey = "kinfra:acknowledgements"
)

// File is a Pulumi.<stack>.yaml read the way the Pulumi CLI hands it to
// the program: every value a string, objects and lists as JSON.
type File struct {
	Name   string
	Path   string
	Config map[string]string
	// Secure are keys holding encrypted values, which an offline plan cannot
	// read.
	Secure []string
	// PKI is the stack's kinfra:pki in plain text, when the caller has it
	// (kinfra plan --pki-file, from `pulumi config get kinfra:pki`): the
	// plan reads it for its certificates' expiry only (finding pki/expiry)
	// and still renders with a throwaway PKI, so nothing secret reaches
	// its output.
	PKI []byte
}

// ErrUsage marks errors in how kinfra was called (exit code 2).
var ErrUsage = errors.New("usage")

// knownKeys are the kinfra config keys; any other kinfra:* key is a typo.
var knownKeys = map[string]bool{ClusterKey: true, PKIKey: true, AcknowledgementsKey: true}

// Load reads a stack file with the Pulumi SDK's own loader (the code
// the Pulumi CLI runs), so that the plan sees every value exactly as `pulumi
// up` hands it to the program: YAML 1.2 scalars ("yes" is a string, not
// true), objects as JSON, keys namespaced. Its stack name comes from the file
// name (Pulumi.<stack>.yaml), or the whole base name for other files.
func Load(path string) (File, error) {
	if _, err := os.Stat(path); err != nil {
		return File{}, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	base := filepath.Base(path)
	name := strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
	name = strings.TrimPrefix(name, "Pulumi.")
	project := &workspace.Project{Name: tokens.PackageName(Project), Runtime: workspace.NewProjectRuntimeInfo("go", nil)}
	sink := diag.DefaultSink(io.Discard, io.Discard, diag.FormatOptions{Color: colors.Never})
	ps, err := workspace.LoadProjectStack(sink, project, path)
	if err != nil {
		if nf := nonFinite(path); nf != nil {
			return File{}, nf
		}
		return File{}, fmt.Errorf("%s: not a Pulumi stack file: %v", path, err)
	}
	sf := File{Name: name, Path: path, Config: map[string]string{}}
	var unknown []string
	for key, v := range ps.Config {
		k := key.String()
		if key.Namespace() == Project && !knownKeys[k] {
			unknown = append(unknown, k)
		}
		if v.Secure() {
			sf.Secure = append(sf.Secure, k)
			continue
		}
		value, err := v.Value(config.NopDecrypter)
		if err != nil {
			return File{}, fmt.Errorf("%s: %s: %v", path, k, err)
		}
		sf.Config[k] = value
	}
	sort.Strings(sf.Secure)
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return File{}, fmt.Errorf("%s: unknown config keys %s; kinfra reads kinfra:cluster, kinfra:pki and kinfra:acknowledgements", path, strings.Join(unknown, ", "))
	}
	return sf, nil
}

// FindProject locates the Pulumi project containing dir (walking up to the
// Pulumi.yaml) and returns its directory and stack config directory.
func FindProject(dir string) (projectDir, stackDir string, err error) {
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", "", err
	}
	for {
		path := filepath.Join(dir, "Pulumi.yaml")
		if _, err := os.Stat(path); err == nil {
			p, err := workspace.LoadProject(path)
			if err != nil {
				return "", "", fmt.Errorf("%s: %v", path, err)
			}
			return dir, filepath.Join(dir, p.StackConfigDir), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", "", fmt.Errorf("%w: no Pulumi.yaml in this directory or above; run from the kinfra project or use --stack-file", ErrUsage)
		}
		dir = parent
	}
}

// Files lists the stack files of a stack config directory.
func Files(stackDir string) ([]string, error) {
	return filepath.Glob(filepath.Join(stackDir, "Pulumi.*.yaml"))
}
