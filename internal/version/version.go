// Package version holds build information stamped in by the linker
// (-ldflags "-X github.com/odh-training/odh-training/internal/version.Version=...").
package version

import "runtime"

// Set at build time by the Makefile.
var (
	Version   = "v0.1.0-dev"
	GitCommit = "unknown"
	BuildDate = "unknown"
)

// Info is the build information of this binary.
type Info struct {
	Version   string `json:"version"`
	GitCommit string `json:"gitCommit"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
}

// Get returns the build information.
func Get() Info {
	return Info{Version: Version, GitCommit: GitCommit, BuildDate: BuildDate, GoVersion: runtime.Version()}
}
