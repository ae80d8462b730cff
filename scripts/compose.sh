#!/usr/bin/env bash
# Make sure a Docker Compose CLI runs, for Compose.up and test/compose.test.ts.
#
# If `docker compose version` (the v2 plugin) or `docker-compose version`
# (v1) already works, this only prints which one. Otherwise it installs
# Debian's docker-compose package (v1.29 on bookworm) with apt-get and checks
# that it runs. A second run finds it and changes nothing.
#
# Usage: scripts/compose.sh        (as root, like scripts/engine.sh)
set -euo pipefail

log() { printf '[compose] %s\n' "$*"; }
fail() {
  printf '[compose] error: %s\n' "$*" >&2
  exit 1
}

# Print the version that "$@ version --short" reports, or fail.
short_version() {
  local output
  output="$("$@" version --short 2>/dev/null)" || return 1
  [[ "$output" =~ ^v?[0-9]+\.[0-9]+ ]] || return 1
  printf '%s\n' "${output#v}"
}

if command -v docker >/dev/null && version="$(short_version docker compose)"; then
  log "Docker Compose $version already runs as: docker compose"
  exit 0
fi

if command -v docker-compose >/dev/null && version="$(short_version docker-compose)"; then
  log "Docker Compose $version already runs as: $(command -v docker-compose)"
  exit 0
fi

if [[ "$(id -u)" != 0 ]]; then
  fail "no Docker Compose CLI found, and installing Debian's docker-compose needs root; run this script as root, or install the Docker Compose v2 plugin"
fi
command -v apt-get >/dev/null || fail "no Docker Compose CLI found and no apt-get to install one; install the Docker Compose v2 plugin or docker-compose by hand"

log "no Docker Compose CLI found; installing Debian's docker-compose"
DEBIAN_FRONTEND=noninteractive apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null

version="$(short_version docker-compose)" || fail "docker-compose was installed but 'docker-compose version --short' does not run"
log "installed Docker Compose $version as: $(command -v docker-compose)"
