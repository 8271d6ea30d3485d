#!/bin/sh
# Run the Python SDK's tests with Debian's python3 and pytest (stdlib-only
# SDK: nothing else is installed). Integration tests use bin/odh-server (or
# $ODH_SERVER_BIN) and are skipped, with the reason, when it is not built.
#   sdk/python/run-tests.sh                # everything
#   sdk/python/run-tests.sh -k Validation  # extra pytest arguments
set -eu
cd "$(dirname "$0")"
PY=${PYTHON:-/usr/bin/python3}

if ! "$PY" -c 'import pytest' 2>/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "==> installing python3-pytest" >&2
		apt-get install -y -q python3-pytest >/dev/null ||
			{ apt-get update -q >/dev/null && apt-get install -y -q python3-pytest >/dev/null; }
	else
		echo "pytest is missing: install it with 'sudo apt-get install -y python3-pytest'" >&2
		exit 1
	fi
fi

export PYTHONDONTWRITEBYTECODE=1
exec "$PY" -m pytest -q -p no:cacheprovider -rs tests "$@"
