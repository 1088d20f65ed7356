package inventory

// ParseTemplate is parseTemplate, for the external tests.
var ParseTemplate = parseTemplate
