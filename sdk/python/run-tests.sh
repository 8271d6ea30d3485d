#!/bin/sh
# Run the Python SDK's tests with Debian's python3 and pytest (stdlib-only
# SDK: nothing else is installed). Integration tests use bin/odh-server (or
# $ODH_SERVER_BIN) and are skipped, with the reason, when it is not built.
# Debian's haproxy (a real reverse proxy that cuts idle streams, as an
# OpenShift route does) and openssl (certificates for the TLS tests) are
# installed when missing; without them those tests are skipped.
#   sdk/python/run-tests.sh                # everything
#   sdk/python/run-tests.sh -k Validation  # extra pytest arguments
set -eu
cd "$(dirname "$0")"
PY=${PYTHON:-/usr/bin/python3}
ENSURE=../../hack/ensure-packages.sh

if ! "$PY" -c 'import pytest' 2>/dev/null; then
	"$ENSURE" python3-pytest || {
		echo "pytest is missing: install it with 'sudo apt-get install -y python3-pytest'" >&2
		exit 1
	}
fi
"$ENSURE" haproxy openssl || echo "==> haproxy/openssl unavailable: the tests that need them are skipped" >&2

export PYTHONDONTWRITEBYTECODE=1
exec "$PY" -m pytest -q -p no:cacheprovider -rs tests "$@"
