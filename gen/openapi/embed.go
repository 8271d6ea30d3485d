// Package openapi embeds the generated OpenAPI document of the Training
// Service (training.openapi.json, written by `make generate`).
package openapi

import _ "embed"

// JSON is the OpenAPI 3.1 document.
//
//go:embed training.openapi.json
var JSON []byte
