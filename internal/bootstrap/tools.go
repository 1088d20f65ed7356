package bootstrap

// A master's tools: the scripts its day-2 timers run (health report,
// defragmentation, certificate renewal, join token rotation, etcd backup). They do not travel in
// the user data, which EC2 limits to 16 KiB and which the boot itself
// fills: each is an SSM parameter named by the SHA-256 of its content
// (gzipped, then base64: a Standard parameter holds 4 KB), and the user
// data carries only the manifest (ToolsManifestPath). The boot's first
// step installs them, each checked against its hash. A parameter's content
// never changes once a launch template names it, and Pulumi retains it when
// no template does any more, so a master launched from an older launch
// template version (an instance AWS replaces before `kinfra roll` reached
// its slot) still finds the tools its user data names.

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
)

const (
	// ToolsGroup is the tools' parameter group below the parameter prefix.
	ToolsGroup = "masters/tools"
	// ToolsManifestPath lists the tools, one "<parameter> <mode> <path>" a
	// line (the parameter below the parameter prefix).
	ToolsManifestPath = KinfraDir + "/tools.list"
	// ToolParameterLimit is a Standard parameter's largest value.
	ToolParameterLimit = 4096
)

// Tool is one file a master installs from its parameter.
type Tool struct {
	File
	// Parameter is its name below the parameter prefix:
	// ToolsGroup/<SHA-256 of the content, in hex>.
	Parameter string
	// Value is what the parameter holds: the content gzipped, then base64.
	Value string
}

// NewTool makes the tool for f, refusing one too large for its parameter.
func NewTool(f File) (Tool, error) {
	gz, err := Gzip(f.Content)
	if err != nil {
		return Tool{}, err
	}
	t := Tool{File: f, Parameter: toolParameter(f.Content), Value: base64.StdEncoding.EncodeToString(gz)}
	if len(t.Value) > ToolParameterLimit {
		return Tool{}, fmt.Errorf("bootstrap: tool %s is %d bytes as a parameter value; a Standard parameter holds %d", f.Path, len(t.Value), ToolParameterLimit)
	}
	return t, nil
}

func toolParameter(content string) string {
	sum := sha256.Sum256([]byte(content))
	return ToolsGroup + "/" + hex.EncodeToString(sum[:])
}

// ToolContent decodes a tool parameter's value, checking the content
// against the hash that names the parameter: what a master's boot does.
func ToolContent(parameter, value string) (string, error) {
	gz, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		return "", fmt.Errorf("bootstrap: tool %s is not base64: %w", parameter, err)
	}
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return "", fmt.Errorf("bootstrap: tool %s is not gzipped: %w", parameter, err)
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("bootstrap: tool %s: %w", parameter, err)
	}
	if want := toolParameter(string(raw)); want != parameter {
		return "", fmt.Errorf("bootstrap: tool %s holds content whose hash names %s", parameter, want)
	}
	return string(raw), nil
}

// MasterTools are the tools every master installs (the backup script only
// when the stack has backups). They are the same for every slot.
func MasterTools(backup bool) ([]Tool, error) {
	files := []File{
		{HealthScriptPath, "0755", "root:root", MasterScript("kinfra-master-health.sh")},
		{DefragScriptPath, "0755", "root:root", MasterScript("kinfra-etcd-defrag.sh")},
		{RenewScriptPath, "0755", "root:root", MasterScript("kinfra-cert-renew.sh")},
		{JoinTokenScriptPath, "0755", "root:root", MasterScript("kinfra-join-token.sh")},
	}
	if backup {
		files = append(files, File{BackupScriptPath, "0755", "root:root", MasterScript("kinfra-etcd-backup.sh")})
	}
	tools := make([]Tool, 0, len(files))
	for _, f := range files {
		t, err := NewTool(f)
		if err != nil {
			return nil, err
		}
		tools = append(tools, t)
	}
	return tools, nil
}

// ToolsManifest is the manifest of tools, sorted by path.
func ToolsManifest(tools []Tool) string {
	lines := make([]string, 0, len(tools))
	sorted := append([]Tool(nil), tools...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	for _, t := range sorted {
		lines = append(lines, fmt.Sprintf("%s %s %s", t.Parameter, t.Permissions, t.Path))
	}
	return strings.Join(lines, "\n") + "\n"
}

// ManifestEntry is one line of a tools manifest.
type ManifestEntry struct {
	Parameter, Permissions, Path string
}

// ParseToolsManifest reads a manifest as the boot does.
func ParseToolsManifest(manifest string) ([]ManifestEntry, error) {
	var out []ManifestEntry
	for i, line := range strings.Split(strings.TrimRight(manifest, "\n"), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || !strings.HasPrefix(f[0], ToolsGroup+"/") {
			return nil, fmt.Errorf("bootstrap: tools manifest line %d %q is not \"<%s/sha256> <mode> <path>\"", i+1, line, ToolsGroup)
		}
		out = append(out, ManifestEntry{Parameter: f[0], Permissions: f[1], Path: f[2]})
	}
	return out, nil
}
