package plan

import (
	"fmt"

	"github.com/kinfra-dev/kinfra/internal/bootstrap"
	"github.com/kinfra-dev/kinfra/internal/mockaws"
)

// UserData is one launch template's boot configuration, decoded.
type UserData struct {
	LaunchTemplate string
	CloudConfig    string
}

// UserData decodes every launch template's user data, in plan order, so
// reviewers read what an instance will run.
func (p *Plan) UserData() ([]UserData, error) {
	var out []UserData
	for _, lt := range mockaws.OfType(p.Resources, "aws:ec2/launchTemplate:LaunchTemplate") {
		encoded, _ := lt.Inputs["userData"].(string)
		cfg, err := bootstrap.DecodeUserData(encoded)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", lt.Name, err)
		}
		out = append(out, UserData{LaunchTemplate: lt.Name, CloudConfig: cfg})
	}
	return out, nil
}
