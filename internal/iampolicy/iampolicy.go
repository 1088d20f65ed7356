// Package iampolicy builds IAM policy documents from typed values, so that a
// policy is reviewed as Go data and marshalled by encoding/json, never pieced
// together from strings.
package iampolicy

import "encoding/json"

// Version is the only current IAM policy language version.
const Version = "2012-10-17"

// Document is an IAM policy or trust policy.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one IAM policy statement.
type Statement struct {
	Sid       string     `json:"Sid,omitempty"`
	Effect    string     `json:"Effect"`
	Principal *Principal `json:"Principal,omitempty"`
	Action    []string   `json:"Action"`
	Resource  []string   `json:"Resource,omitempty"`
	// Condition maps an operator (StringEquals, ArnLike …) to keys and values.
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

// Principal names who a trust policy admits.
type Principal struct {
	Service []string `json:"Service,omitempty"`
	AWS     []string `json:"AWS,omitempty"`
	// Federated names an identity provider (web identity federation).
	Federated []string `json:"Federated,omitempty"`
}

// New returns a document holding statements.
func New(statements ...Statement) Document {
	return Document{Version: Version, Statement: statements}
}

// Allow is an Allow statement of actions on resources.
func Allow(sid string, actions, resources []string) Statement {
	return Statement{Sid: sid, Effect: "Allow", Action: actions, Resource: resources}
}

// AssumeRole is the trust statement that lets an AWS service assume a role.
func AssumeRole(service string) Statement {
	return Statement{Effect: "Allow", Principal: &Principal{Service: []string{service}}, Action: []string{"sts:AssumeRole"}}
}

// JSON marshals the document.
func (d Document) JSON() (string, error) {
	b, err := json.Marshal(d)
	return string(b), err
}
