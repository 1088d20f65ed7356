// Package mdtext escapes text for the GitHub-flavoured Markdown reports
// kinfra writes (plan diff, drift): prose, table cells and inline code.
package mdtext

import "strings"

var htmlReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// HTML escapes text inside HTML elements (<summary>, <code>).
func HTML(s string) string { return htmlReplacer.Replace(s) }

// Text keeps prose from breaking the Markdown around it.
func Text(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", "\n", " ").Replace(s)
}

// Cell keeps a value inside its table cell.
func Cell(s string) string { return strings.NewReplacer("|", `\|`, "`", "'", "\n", " ").Replace(s) }

// Value is a table cell's value as inline code, or a dash when empty.
func Value(s string) string {
	if s == "" {
		return "—"
	}
	return "`" + Cell(s) + "`"
}
