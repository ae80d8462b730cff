#!/bin/bash
# Entrypoint of effect-testcontainers/redis:7 (Redis 7 from Debian bookworm).
#
# A first argument that starts with "-" or ends in ".conf" is passed to
# redis-server. Unless redis-server gets a config file (or --version, --help,
# --test-memory, --check-system), the options below come before the caller's
# own, so the caller can override each of them:
#   --protected-mode no   accept connections from other containers without a
#                         password
#   --bind 0.0.0.0 -::*   all IPv4 addresses, and all IPv6 addresses when the
#                         container has IPv6 (redis.conf of Redis 7: "-" means
#                         redis does not fail to start if the address is not
#                         available)
#   --save '' --appendonly no   no persistence
# redis-server runs as user redis. Any other command (redis-cli, bash, ...)
# runs as given, as the container's user.
set -euo pipefail

if [[ "${1:-}" == -* || "${1:-}" == *.conf ]]; then
  set -- redis-server "$@"
fi
if [[ "${1:-}" != redis-server ]]; then
  exec "$@"
fi

shift
case "${1:-}" in
  # redis-server accepts a config file and these options only as its first
  # argument, so no defaults go in front of them.
  *.conf | -v | --version | -h | --help | --test-memory | --check-system) ;;
  *) set -- --protected-mode no --bind 0.0.0.0 '-::*' --save '' --appendonly no "$@" ;;
esac
set -- redis-server "$@"

if [[ "$(id -u)" == 0 ]]; then
  exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"
