#!/usr/bin/env bash
# govulncheck over the whole module (make vulncheck). The vulnerability
# database comes from vuln.go.dev when this machine reaches it; otherwise
# from the golang.org/x/vulndb module (pinned in tools/vulndb/go.mod, served
# by the Go module proxy), indexed locally into .cache/vulndb/<version>.
# hack/vulnreport decides the exit status (docs/admin/security.md).
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
bin="$PWD/bin/tools"
mkdir -p "$bin" .cache
(cd tools && GOBIN="$bin" "$GO" install golang.org/x/vuln/cmd/govulncheck)

if [ "${VULNCHECK_DB:-}" != "offline" ] && curl -fsS -m 5 -o /dev/null https://vuln.go.dev/index/db.json 2>/dev/null; then
  db=https://vuln.go.dev
  echo "==> govulncheck with the online database (vuln.go.dev)"
else
  version="$(cd tools/vulndb && "$GO" list -m -f '{{.Version}}' golang.org/x/vulndb)"
  db_dir="$PWD/.cache/vulndb/$version"
  if [ ! -f "$db_dir/index/db.json" ]; then
    (cd tools/vulndb && "$GO" mod download golang.org/x/vulndb && GOBIN="$bin" "$GO" install golang.org/x/vulndb/cmd/indexdb)
    src="$(cd tools/vulndb && "$GO" list -m -f '{{.Dir}}' golang.org/x/vulndb)"
    rm -rf "$db_dir.tmp" && "$bin/indexdb" -vulns "$src/data/osv" -out "$db_dir.tmp" && mv "$db_dir.tmp" "$db_dir"
  fi
  db="file://$db_dir"
  echo "==> vuln.go.dev unreachable: govulncheck with the database of golang.org/x/vulndb $version (Go module proxy)"
fi
"$bin/govulncheck" -db "$db" -format json ./... > .cache/govulncheck.json
"$GO" run ./hack/vulnreport < .cache/govulncheck.json
