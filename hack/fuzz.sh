#!/usr/bin/env bash
# Runs every Go fuzz target for FUZZTIME (default 60s) each and prints how
# many inputs each executed and whether it found a crash. Failing inputs are
# saved by go test under the package's testdata/fuzz/<Target>/ — commit them:
# they then run in every `go test` as regression cases.
#
#   hack/fuzz.sh                  # all targets, 60s each
#   FUZZTIME=5m hack/fuzz.sh FuzzRESTBodies
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-60s}
targets=(
  "./internal/job FuzzParse"
  "./internal/job FuzzHighLevelSpec"
  "./internal/job FuzzUpstreamManifest"
  "./internal/job FuzzValidate"
  "./internal/server FuzzRESTBodies"
  "./internal/webhook FuzzAdmissionReview"
)
want=("$@")
status=0
summary=()
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " == *" $name "* ]]; then continue; fi
  echo "==> $name ($pkg, $FUZZTIME)"
  log=$(mktemp)
  $GO test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1 | tee "$log" | grep -v '^fuzz: elapsed' || true
  rc=${PIPESTATUS[0]}
  execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  result=ok
  if [ "$rc" -ne 0 ]; then result="FAILED (see testdata/fuzz/$name in $pkg)"; status=1; fi
  summary+=("$(printf '%-22s %-20s %12s  %s' "$name" "$pkg" "${execs:-?}" "$result")")
  rm -f "$log"
done
echo
printf '%-22s %-20s %12s  %s\n' target package executions result
printf '%s\n' "${summary[@]}"
exit $status
