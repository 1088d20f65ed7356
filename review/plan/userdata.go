package plan

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// UserData is one launch template's boot configuration, decoded.
type UserData struct {
	LaunchTemplate string
	CloudConfig    string
	// Tools are the files a master's boot installs from SSM parameters, as
	// its tools manifest names them, decoded from the plan's parameters.
	Tools []bootstrap.File
}

// Files are the files an instance has once booted: those the user data
// writes, then its tools.
func (u UserData) Files() ([]bootstrap.File, error) {
	var doc struct {
		WriteFiles []bootstrap.File `yaml:"write_files"`
	}
	if err := yaml.Unmarshal([]byte(u.CloudConfig), &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", u.LaunchTemplate, err)
	}
	return append(doc.WriteFiles, u.Tools...), nil
}

// Text is the user data as reviewers read it: the cloud-config, then each
// tool with the parameter it comes from.
func (u UserData) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# ---- launch template %s ----\n%s\n", u.LaunchTemplate, u.CloudConfig)
	for _, t := range u.Tools {
		fmt.Fprintf(&b, "# ---- launch template %s: tool %s (mode %s) ----\n%s\n", u.LaunchTemplate, t.Path, t.Permissions, t.Content)
	}
	return b.String()
}

// UserData decodes every launch template's user data, in plan order, so
// reviewers read what an instance will run, with the tools a master's
// manifest names resolved against the plan's tool parameters: a manifest
// naming a parameter the plan does not create, or one whose content does
// not match its hash, is an error.
func (p *Plan) UserData() ([]UserData, error) {
	tools := map[string]string{} // parameter name -> value
	for _, r := range mockaws.OfType(p.Resources, "aws:ssm/parameter:Parameter") {
		name, _ := r.Inputs["name"].(string)
		if value, ok := r.Inputs["insecureValue"].(string); ok && strings.Contains(name, "/"+bootstrap.ToolsGroup+"/") {
			tools[name] = value
		}
	}
	var out []UserData
	for _, lt := range mockaws.OfType(p.Resources, "aws:ec2/launchTemplate:LaunchTemplate") {
		encoded, _ := lt.Inputs["userData"].(string)
		cfg, err := bootstrap.DecodeUserData(encoded)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", lt.Name, err)
		}
		u := UserData{LaunchTemplate: lt.Name, CloudConfig: cfg}
		if u.Tools, err = resolveTools(u, tools); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// resolveTools reads u's tools manifest, if it has one, and decodes each
// tool from the parameter whose name ends in the manifest's entry.
func resolveTools(u UserData, params map[string]string) ([]bootstrap.File, error) {
	files, err := u.Files()
	if err != nil {
		return nil, err
	}
	var manifest *bootstrap.File
	for i := range files {
		if files[i].Path == bootstrap.ToolsManifestPath {
			manifest = &files[i]
		}
	}
	if manifest == nil {
		return nil, nil
	}
	entries, err := bootstrap.ParseToolsManifest(manifest.Content)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u.LaunchTemplate, err)
	}
	var out []bootstrap.File
	for _, e := range entries {
		var value string
		found := false
		for name, v := range params {
			if strings.HasSuffix(name, "/"+e.Parameter) {
				value, found = v, true
			}
		}
		if !found {
			return nil, fmt.Errorf("%s: its tools manifest names %s for %s, a parameter the plan does not create", u.LaunchTemplate, e.Parameter, e.Path)
		}
		content, err := bootstrap.ToolContent(e.Parameter, value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", u.LaunchTemplate, err)
		}
		out = append(out, bootstrap.File{Path: e.Path, Permissions: e.Permissions, Owner: "root:root", Content: content})
	}
	return out, nil
}
