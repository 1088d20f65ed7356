package main

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// document is one YAML document of a file.
type document struct {
	index int    // 1-based, counting the documents of the file
	line  int    // the file's line where it starts
	data  []byte // its text, without the separators
}

func (d document) String() string {
	return fmt.Sprintf("document %d at line %d", d.index, d.line)
}

// splitDocuments splits a file at "---" lines with the rules of
// k8s.io/apimachinery/pkg/util/yaml.YAMLReader (what kubectl uses): a
// separator line is "---" followed by nothing but spaces or a comment, and a
// document is whatever lines come between two of them, if any. Unlike
// YAMLReader it also says where each document starts.
func splitDocuments(data []byte) ([]document, error) {
	var docs []document
	var cur []string
	start := 1
	flush := func() {
		if len(cur) > 0 {
			docs = append(docs, document{
				index: len(docs) + 1,
				line:  start,
				data:  []byte(strings.Join(cur, "\n") + "\n"),
			})
		}
		cur = nil
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1] // the newline ending the last line
	}
	for i, line := range lines {
		if rest, ok := strings.CutPrefix(line, "---"); ok {
			rest = strings.TrimSpace(rest)
			if rest != "" && !strings.HasPrefix(rest, "#") {
				return nil, fmt.Errorf("line %d: invalid YAML document separator: %s", i+1, strings.TrimSpace(line))
			}
			flush()
			start = i + 2
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return docs, nil
}

// isEmpty reports whether a document holds nothing but comments and
// whitespace (or an explicit null): kubectl skips those.
func (d document) isEmpty() bool {
	if len(bytes.TrimSpace(d.data)) == 0 {
		return true
	}
	var v any
	if err := yaml.Unmarshal(d.data, &v); err != nil {
		return false
	}
	return v == nil
}

// notMapping returns a problem if the document is valid YAML but not a
// mapping (the decoders' own message for that is obscure).
func (d document) notMapping() string {
	var v any
	if err := yaml.Unmarshal(d.data, &v); err != nil {
		return ""
	}
	if _, ok := v.(map[string]any); !ok {
		return "not a YAML mapping (an object with apiVersion, kind, ...)"
	}
	return ""
}

var (
	yamlLine = regexp.MustCompile(`\bline (\d+)\b`)
	newlines = regexp.MustCompile(`[ \t]*\n\s*`)
	// "yaml: unmarshal errors:\n  line 5: key ..." reads better as
	// "yaml: line 5: key ...".
	unmarshalErrors = regexp.MustCompile(`unmarshal errors:\s*`)
)

// message formats an error of decoding d on one line, with the YAML
// parser's line numbers (which count from the document's start) made the
// file's.
func (d document) message(err error) string {
	msg := err.Error()
	if strings.Contains(msg, "yaml:") && d.line > 1 {
		msg = yamlLine.ReplaceAllStringFunc(msg, func(m string) string {
			n, convErr := strconv.Atoi(strings.TrimPrefix(m, "line "))
			if convErr != nil {
				return m
			}
			return "line " + strconv.Itoa(n+d.line-1)
		})
	}
	msg = unmarshalErrors.ReplaceAllString(msg, "")
	return strings.TrimSpace(newlines.ReplaceAllString(msg, " "))
}

// typeMeta reads apiVersion and kind leniently, for messages about
// documents that do not decode (the decoder does not say what it found).
func typeMeta(raw []byte) metav1.TypeMeta {
	var tm metav1.TypeMeta
	_ = yaml.Unmarshal(raw, &tm)
	return tm
}
