#!/usr/bin/env bash
# `make run`: start odh-server with the local engine, run the bundled
# data-parallel training example to completion with every rank's output,
# print the summary and keep serving until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

LISTEN="${1:-127.0.0.1:8080}"
URL="http://${LISTEN}"
STATE_DIR="${ODH_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/odh-training/local}"
LOG="${STATE_DIR}/server.log"
mkdir -p "$STATE_DIR" && chmod 700 "$STATE_DIR" # odh-server refuses a state dir others can read

if curl -fsS -m 2 "$URL/healthz" >/dev/null 2>&1; then
  echo "error: something already serves $URL. Stop it, or run: make run LISTEN=127.0.0.1:8081" >&2
  exit 1
fi

echo "==> starting odh-server (local engine) on $URL; log: $LOG"
bin/odh-server --engine=local --listen="$LISTEN" --state-dir="$STATE_DIR" >"$LOG.out" 2>"$LOG" &
SERVER=$!
cleanup() {
  if kill -0 "$SERVER" 2>/dev/null; then
    echo
    echo "==> stopping odh-server"
    kill -TERM "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 100); do
  if curl -fsS -m 1 "$URL/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER" 2>/dev/null; then
    echo "error: odh-server exited during start-up:" >&2
    tail -n 20 "$LOG" >&2
    exit 1
  fi
  sleep 0.1
done
cat "$LOG.out"

export ODH_SERVER="$URL"
ODH=bin/odh
NAME=sgd-allreduce
if $ODH training get mpijob "$NAME" >/dev/null 2>&1; then
  echo "==> removing the previous run of the example"
  $ODH training delete mpijob "$NAME" --yes >/dev/null
fi

echo "==> submitting examples/sgd-allreduce/mpijob.yaml (2 workers, mpi4py + numpy SGD with gradient allreduce)"
status=0
$ODH training create mpijob -f examples/sgd-allreduce/mpijob.yaml --follow || status=$?
echo
$ODH training describe mpijob "$NAME" | sed -n '1,/^Events:/p'
echo
$ODH training list mpijob
echo
if [ "$status" -eq 0 ]; then
  echo "==> the example job Succeeded."
else
  echo "==> the example job did not succeed (exit $status); see above and: bin/odh training logs mpijob $NAME --all" >&2
fi
TOKEN="$(cat "$STATE_DIR/token")"
cat <<MSG

odh-server keeps running at $URL; press Ctrl-C to stop it.
  Dashboard:  $URL/?token=$TOKEN
  API docs:   $URL/api/docs
  Try:        bin/odh training list mpijob
              bin/odh training logs mpijob $NAME --all
              bin/odh training create mpijob hello --workers 2 -- sh -c 'echo hello from rank \$OMPI_COMM_WORLD_RANK'
MSG
wait "$SERVER"
