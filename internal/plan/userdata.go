package plan

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// UserData is one launch template's boot configuration, decoded.
type UserData struct {
	LaunchTemplate string
	CloudConfig    string
}

// UserData decodes every launch template's user data (base64, gzipped or
// not), in plan order, so reviewers read what an instance will run.
func (p *Plan) UserData() ([]UserData, error) {
	var out []UserData
	for _, lt := range mockaws.OfType(p.Resources, "aws:ec2/launchTemplate:LaunchTemplate") {
		encoded, _ := lt.Inputs["userData"].(string)
		raw, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil {
			return nil, fmt.Errorf("%s: user data is not base64: %w", lt.Name, err)
		}
		if len(raw) > 2 && raw[0] == 0x1f && raw[1] == 0x8b {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", lt.Name, err)
			}
			if raw, err = io.ReadAll(zr); err != nil {
				return nil, fmt.Errorf("%s: %w", lt.Name, err)
			}
		}
		out = append(out, UserData{LaunchTemplate: lt.Name, CloudConfig: string(raw)})
	}
	return out, nil
}
