#!/bin/sh
# OpenShift runs containers with a random UID that /etc/passwd does not
# know; ssh refuses such users. Add the entry (passwd is group-writable).
set -e
if ! whoami >/dev/null 2>&1 && [ -w /etc/passwd ]; then
  echo "mpiuser:x:$(id -u):0:MPI user:${HOME:-/home/mpiuser}:/bin/sh" >> /etc/passwd
fi
mkdir -p "$HOME/.sshd"
[ -f "$HOME/.sshd/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N "" -f "$HOME/.sshd/ssh_host_ed25519_key"
exec "$@"
