//go:build tools

// Package tools records the command and the API packages this module needs,
// so `go mod tidy` keeps their dependencies.
package tools

import (
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
	_ "volcano.sh/apis/pkg/apis/scheduling/v1beta1"
)
