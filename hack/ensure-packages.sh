#!/usr/bin/env bash
# Installs the Debian packages given as arguments when they are missing.
# Idempotent: installed packages are left alone and nothing is downloaded.
set -euo pipefail

missing=()
for pkg in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "==> installing missing system packages: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "error: need root to install ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# Wait for another apt/dpkg run (a second make target, unattended upgrades) instead of failing.
APT=(apt-get -o DPkg::Lock::Timeout=600)
if ! $SUDO "${APT[@]}" install -y --no-install-recommends "${missing[@]}" >/tmp/odh-apt.log 2>&1; then
  # A new machine has no package lists yet.
  $SUDO "${APT[@]}" update >>/tmp/odh-apt.log 2>&1
  if ! $SUDO "${APT[@]}" install -y --no-install-recommends "${missing[@]}" >>/tmp/odh-apt.log 2>&1; then
    echo "error: apt-get install ${missing[*]} failed; see /tmp/odh-apt.log" >&2
    tail -n 20 /tmp/odh-apt.log >&2
    exit 1
  fi
fi
