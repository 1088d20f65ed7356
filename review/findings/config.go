package findings

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"

	"github.com/kinfra-dev/kinfra/internal/validate"
)

// accessKeyID is an AWS access key ID: a long-term (AKIA) or temporary
// (ASIA) key's prefix and 16 more upper-case letters and digits.
var accessKeyID = regexp.MustCompile(`\b(AKIA|ASIA)[A-Z0-9]{16}\b`)

// masked shows an access key ID's first and last four characters only.
func masked(id string) string { return id[:4] + "…" + id[len(id)-4:] }

// plainAccessKeys finds values of the stack's plain (not secure) config that
// hold an AWS access key ID, in any config key and at any depth of an
// object's JSON; the finding's resource is the value's path.
func plainAccessKeys(config map[string]string) []Finding {
	var out []Finding
	report := func(path, s string) {
		for _, id := range accessKeyID.FindAllString(s, -1) {
			out = append(out, Finding{Resource: path, Message: fmt.Sprintf(
				"holds what looks like an AWS access key ID (%s) in plain text: everyone who can read the stack file can use it. "+
					"Remove it and deactivate the key; give AWS controllers IAM roles, and keep any credential a stack needs a Pulumi secret (`pulumi config set --secret`)",
				masked(id))})
		}
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case string:
			report(path, v)
		case map[string]any:
			for _, k := range validate.SortedKeys(v) {
				// The path shows the key masked, like the message.
				p := fmt.Sprintf("%s[%s]", path, strconv.Quote(accessKeyID.ReplaceAllStringFunc(k, masked)))
				report(p, k)
				walk(p, v[k])
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		}
	}
	for _, key := range validate.SortedKeys(config) {
		var v any
		if err := json.Unmarshal([]byte(config[key]), &v); err == nil {
			walk(key, v)
		} else {
			report(key, config[key])
		}
	}
	return out
}
