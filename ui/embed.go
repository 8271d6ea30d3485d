// Package ui embeds the built web dashboard (ui/dist, produced by `make ui`)
// so odh-server can serve it. Without a Node build only a placeholder exists
// and Assets reports that the dashboard is not built.
package ui

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Assets returns the dashboard files rooted at dist/ and whether a real build
// (an index.html) is present.
func Assets() (fs.FS, bool) {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, false
	}
	_, err = fs.Stat(sub, "index.html")
	return sub, err == nil
}
