package spec

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kinfra-dev/kinfra/internal/tags"
	"github.com/kinfra-dev/kinfra/internal/validate"
)

// Tag rules. User tags reach IAM roles, policies and instance profiles,
// whose tags are the strictest kinfra sets: keys of 1 to 128 and values of
// at most 256 Unicode letters, digits, spaces and _ . : / = + - @ (IAM API
// reference, Tag: [\p{L}\p{Z}\p{N}_.:/=+\-@]). EC2, Auto Scaling, S3, KMS,
// SSM, SQS, CloudWatch and ELB accept at least that.
const (
	MaxTagKey   = 128
	MaxTagValue = 256
)

var iamTagChars = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// ValidateTags checks user tags: not AWS's, not the ones kinfra sets, within
// the limits and the character set of every service kinfra tags (IAM's is
// the narrowest). Every problem of every tag is reported.
func ValidateTags(path string, userTags map[string]string) validate.Errors {
	var errs validate.Errors
	if len(userTags) > 40 {
		errs.Addf(path, "%d tags set; at most 40 are allowed (AWS allows 50 per resource and kinfra sets up to 10)", len(userTags))
	}
	for _, k := range validate.SortedKeys(userTags) {
		p := fmt.Sprintf("%s[%q]", path, k)
		switch n := utf8.RuneCountInString(k); {
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			errs.Addf(p, "tag keys starting with \"aws:\" are reserved by AWS")
		case k == "Name" || strings.HasPrefix(k, tags.Prefix) || strings.HasPrefix(k, "kubernetes.io/") || k == "managed-by":
			errs.Addf(p, "%q is set by kinfra on every resource; choose another key", k)
		case n == 0 || n > MaxTagKey:
			errs.Addf(p, "tag keys must be 1 to %d characters, got %d", MaxTagKey, n)
		case !iamTagChars.MatchString(k):
			errs.Addf(p, "the key has %s, which IAM refuses in tags; cluster tags reach the IAM roles, policies and instance profiles kinfra creates, whose tags allow only letters, digits, spaces and _ . : / = + - @", badTagChars(k))
		}
		v := userTags[k]
		if n := utf8.RuneCountInString(v); n > MaxTagValue {
			errs.Addf(p, "tag values must be at most %d characters, got %d", MaxTagValue, n)
		}
		if !iamTagChars.MatchString(v) {
			errs.Addf(p, "the value %q has %s, which IAM refuses in tags; cluster tags reach the IAM roles, policies and instance profiles kinfra creates, whose tags allow only letters, digits, spaces and _ . : / = + - @", v, badTagChars(v))
		}
	}
	return errs
}

// badTagChars lists the characters of s that IAM refuses in tags.
func badTagChars(s string) string {
	var bad []string
	for _, r := range s {
		if q := fmt.Sprintf("%q", string(r)); !iamTagChars.MatchString(string(r)) && !slices.Contains(bad, q) {
			bad = append(bad, q)
		}
	}
	return validate.JoinAll(bad)
}
