#!/usr/bin/env bash
# Build the test images in the local Docker Engine without any registry:
#   effect-testcontainers/toolbox:1    static busybox: sh, httpd, nc, wget, ip,
#                                      nslookup and the other applets
#   effect-testcontainers/debian:bookworm   Debian bookworm minbase with
#                                      postgresql-15 and redis-server, the base
#                                      layer of the three images below
#   effect-testcontainers/postgres:15  environment contract of the official
#                                      postgres image
#   effect-testcontainers/redis:7      redis-server on port 6379, no persistence
#   effect-testcontainers/node:24      the base plus the node binary on PATH
#
# An image that exists is skipped. The postgres, redis and node images carry a
# label with their entrypoint's sha256 or the node version, and are rebuilt
# when it no longer matches. Each image built in this run is then checked in
# real containers. A failed check removes the image and exits 1.
#
# Usage: scripts/images.sh [--verify]
#   --verify   only run the checks on all images, building nothing
#
# Set ETC_DEBIAN_MIRROR to use another Debian mirror for debootstrap. The
# default is the first URIs entry in /etc/apt/sources.list.d/debian.sources.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir=/var/cache/effect-testcontainers
debian_packages=postgresql-15,redis-server
rootfs_tar="$cache_dir/debian-bookworm-minbase-${debian_packages//,/-}.tar"

toolbox_image=effect-testcontainers/toolbox:1
base_image=effect-testcontainers/debian:bookworm
postgres_image=effect-testcontainers/postgres:15
redis_image=effect-testcontainers/redis:7
node_image=effect-testcontainers/node:24
input_label=org.effect-testcontainers.build-input

log() { printf '[images] %s\n' "$*"; }
fail() {
  printf '[images] error: %s\n' "$*" >&2
  exit 1
}

# Resources to remove on exit: containers, networks and temporary folders.
cleanup_containers=()
cleanup_networks=()
cleanup_dirs=()

# Unmount whatever debootstrap left mounted below $1 (it mounts proc and sys
# in the target), deepest first, so that rm never walks into a host file system.
unmount_below() {
  local target
  target="$(realpath "$1")"
  awk -v prefix="$target/" 'index($2, prefix) == 1 { print $2 }' /proc/mounts | sort -r | while read -r mount_point; do
    umount -l "$mount_point" || true
  done
}

cleanup() {
  local name dir
  for name in "${cleanup_containers[@]}"; do
    docker rm -f "$name" >/dev/null 2>&1 || true
  done
  for name in "${cleanup_networks[@]}"; do
    docker network rm "$name" >/dev/null 2>&1 || true
  done
  for dir in "${cleanup_dirs[@]}"; do
    if [[ -d "$dir" ]]; then
      unmount_below "$dir"
      rm -rf --one-file-system "$dir"
    fi
  done
}
trap cleanup EXIT

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

image_label() {
  docker image inspect --format "{{ index .Config.Labels \"$input_label\" }}" "$1" 2>/dev/null || true
}

apt_install() {
  log "installing Debian packages: $*"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

package_installed() {
  [[ "$(dpkg-query -W -f '${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

debian_mirror() {
  if [[ -n "${ETC_DEBIAN_MIRROR:-}" ]]; then
    printf '%s\n' "$ETC_DEBIAN_MIRROR"
    return
  fi
  local mirror=
  if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
    mirror="$(awk '$1 == "URIs:" { print $2; exit }' /etc/apt/sources.list.d/debian.sources)"
  fi
  printf '%s\n' "${mirror:-http://deb.debian.org/debian}"
}

# ---------------------------------------------------------------------------
# toolbox

build_toolbox() {
  local busybox=/bin/busybox
  if ! package_installed busybox-static; then
    apt_install busybox-static
  fi

  local work rootfs applet
  work="$(mktemp -d /var/tmp/effect-testcontainers-toolbox.XXXXXX)"
  cleanup_dirs+=("$work")
  rootfs="$work/rootfs"
  mkdir -p "$rootfs"/{bin,etc,root,tmp,proc,sys,dev,usr}
  chmod 1777 "$rootfs/tmp"
  chmod 700 "$rootfs/root"
  install -m 755 "$busybox" "$rootfs/bin/busybox"
  # The applet list contains "busybox" itself: linking it would replace the
  # binary with a symlink to itself.
  for applet in $("$busybox" --list); do
    if [[ "$applet" != busybox ]]; then
      ln -s busybox "$rootfs/bin/$applet"
    fi
  done
  # /sbin, /usr/bin and /usr/sbin point to /bin, so "#!/usr/bin/env sh" works.
  ln -s bin "$rootfs/sbin"
  ln -s ../bin "$rootfs/usr/bin"
  ln -s ../bin "$rootfs/usr/sbin"
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$rootfs/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$rootfs/etc/group"

  tar --numeric-owner --owner=0 --group=0 -C "$rootfs" -c . \
    | docker import --change 'ENV PATH=/bin' --change 'CMD ["/bin/sh"]' - "$toolbox_image" >/dev/null
}

# ---------------------------------------------------------------------------
# Debian rootfs and base image

build_rootfs_tar() {
  if ! command -v debootstrap >/dev/null; then
    apt_install debootstrap
  fi

  local mirror work rootfs started=$SECONDS
  mirror="$(debian_mirror)"
  work="$(mktemp -d /var/tmp/effect-testcontainers-rootfs.XXXXXX)"
  cleanup_dirs+=("$work")
  rootfs="$work/rootfs"

  log "running debootstrap (minbase, $debian_packages) from $mirror, log in $work/debootstrap.log"
  if ! debootstrap --variant=minbase --include="$debian_packages" bookworm "$rootfs" "$mirror" \
    >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    # debootstrap keeps its own log in the target.
    tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2 2>/dev/null || true
    fail "debootstrap failed, see the lines above"
  fi
  unmount_below "$rootfs"

  # The postgresql-15 postinst creates a cluster "main". The entrypoint runs
  # initdb itself, so that cluster only costs space.
  rm -rf "$rootfs/etc/postgresql/15/main" "$rootfs/var/lib/postgresql/15/main"
  rm -f "$rootfs"/var/log/postgresql/*.log
  # LLVM (and z3, which only LLVM uses) is a third of the rootfs and serves
  # only the JIT compiler of PostgreSQL. Without llvmjit.so, pg_jit_available()
  # returns false and queries run without JIT and without an error.
  rm -rf "$rootfs"/usr/lib/postgresql/15/lib/llvmjit* "$rootfs"/usr/lib/postgresql/15/lib/bitcode
  rm -f "$rootfs"/usr/lib/*-linux-gnu/libLLVM-14.so* "$rootfs"/usr/lib/*-linux-gnu/libz3.so*
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old
  rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
  find "$rootfs/usr/share/doc" -type f ! -name copyright -delete
  # Docker supplies these files in each container.
  rm -f "$rootfs/etc/hostname" "$rootfs/etc/resolv.conf"

  mkdir -p "$cache_dir"
  tar --numeric-owner -C "$rootfs" -cf "$rootfs_tar.partial" \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' .
  mv "$rootfs_tar.partial" "$rootfs_tar"
  log "cached the rootfs as $rootfs_tar ($(du -h "$rootfs_tar" | cut -f 1)) after $((SECONDS - started)) s"
}

ensure_base_image() {
  if image_exists "$base_image"; then
    return
  fi
  if [[ -s "$rootfs_tar" ]]; then
    log "using the cached rootfs $rootfs_tar"
  else
    build_rootfs_tar
  fi
  local started=$SECONDS
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["bash"]' \
    "$rootfs_tar" "$base_image" >/dev/null
  log "imported $base_image in $((SECONDS - started)) s"
}

# Create image $1 from the base image: copy each "SOURCE:DESTINATION" argument
# before "--" into it, then commit with the Dockerfile instructions after "--".
# The label $input_label is set to $2.
commit_from_base() {
  local image=$1 input=$2
  shift 2
  local copies=()
  while [[ $# -gt 0 && "$1" != -- ]]; do
    copies+=("$1")
    shift
  done
  shift
  local changes=() create_options=()
  local instruction
  for instruction in "$@" "LABEL $input_label=$input"; do
    if [[ "$instruction" == "STOPSIGNAL "* ]]; then
      # dockerd 20.10 rejects STOPSIGNAL as a commit change ("not a valid
      # change command"), but commit keeps the stop signal of the container.
      create_options+=(--stop-signal "${instruction#STOPSIGNAL }")
    else
      changes+=(--change "$instruction")
    fi
  done

  local container="effect-testcontainers-build-$$-${image//[\/:]/-}"
  cleanup_containers+=("$container")
  docker create --name "$container" "${create_options[@]}" "$base_image" true >/dev/null
  local copy
  for copy in "${copies[@]}"; do
    docker cp "${copy%%:*}" "$container:${copy#*:}"
  done

  local old_id
  old_id="$(docker image inspect --format '{{ .Id }}' "$image" 2>/dev/null || true)"
  docker commit "${changes[@]}" "$container" "$image" >/dev/null
  docker rm "$container" >/dev/null
  if [[ -n "$old_id" ]]; then
    # Remove the replaced image unless a container or another tag still uses it.
    docker image rm "$old_id" >/dev/null 2>&1 || true
  fi
}

file_sha256() { sha256sum "$1" | cut -d ' ' -f 1; }

# Copy $1 to a fresh folder as mode 755, so the image does not depend on the
# mode that the checkout gave the file, and set staged_path to the copy. (A
# command substitution would lose the cleanup entry, so this sets a variable.)
stage_executable() {
  local work
  work="$(mktemp -d /var/tmp/effect-testcontainers-stage.XXXXXX)"
  cleanup_dirs+=("$work")
  install -m 755 "$1" "$work/${1##*/}"
  staged_path="$work/${1##*/}"
}

build_postgres() {
  local entrypoint empty_dir
  stage_executable "$repo_root/scripts/images/postgres-entrypoint.sh"
  entrypoint="$staged_path"
  empty_dir="$(dirname "$entrypoint")/docker-entrypoint-initdb.d"
  mkdir -m 755 "$empty_dir"
  commit_from_base "$postgres_image" "$1" \
    "$entrypoint:/usr/local/bin/docker-entrypoint.sh" \
    "$empty_dir:/docker-entrypoint-initdb.d" \
    -- \
    'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'ENV PGDATA=/var/lib/postgresql/data' \
    'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    'CMD ["postgres"]' \
    'EXPOSE 5432' \
    'STOPSIGNAL SIGINT'
}

build_redis() {
  local entrypoint
  stage_executable "$repo_root/scripts/images/redis-entrypoint.sh"
  entrypoint="$staged_path"
  commit_from_base "$redis_image" "$1" \
    "$entrypoint:/usr/local/bin/docker-entrypoint.sh" \
    -- \
    'WORKDIR /var/lib/redis' \
    'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    'CMD ["redis-server"]' \
    'EXPOSE 6379'
}

build_node() {
  local node_binary
  stage_executable "$(realpath "$(command -v node)")"
  node_binary="$staged_path"
  commit_from_base "$node_image" "$1" \
    "$node_binary:/usr/local/bin/node" \
    -- \
    'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    'CMD ["node"]'
}

# ---------------------------------------------------------------------------
# Checks. Each runs throw-away containers on its own user network and connects
# to them only through that network.

# Create a user network named after $1 and set network to its name.
create_verify_network() {
  network="effect-testcontainers-verify-$$-$1"
  cleanup_networks+=("$network")
  docker network create "$network" >/dev/null
}

# Run "docker run -d $2..." as a container named after $1 and set server to
# its name.
start_verify_server() {
  server="effect-testcontainers-verify-$$-$1"
  shift
  cleanup_containers+=("$server")
  docker run -d --name "$server" "$@" >/dev/null
}

# Retry the command $2... once a second for up to $1 seconds.
retry_for() {
  local seconds=$1 deadline
  shift
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 1
  done
}

verify_toolbox() {
  local network server page
  docker run --rm "$toolbox_image" sh -c 'for a in sh httpd nc wget sleep ip nslookup; do command -v "$a" >/dev/null || { echo "missing applet $a"; exit 1; }; done' \
    || return 1
  create_verify_network toolbox
  start_verify_server toolbox-web --network "$network" --network-alias web "$toolbox_image" httpd -f -p 8080 -h /etc
  page="$(retry_for 10 docker run --rm --network "$network" "$toolbox_image" wget -q -O /dev/null http://web:8080/passwd \
    && docker run --rm --network "$network" "$toolbox_image" wget -q -O - http://web:8080/passwd)" || return 1
  [[ "$page" == root:x:0:0:* ]] || return 1
  docker run --rm --network "$network" "$toolbox_image" nslookup web >/dev/null || return 1
  docker rm -f "$server" >/dev/null
  docker network rm "$network" >/dev/null
}

verify_postgres() {
  local network server result
  # Without a password the entrypoint must exit with an error instead of running initdb.
  if docker run --rm "$postgres_image" >/dev/null 2>&1; then
    log "error: $postgres_image started without POSTGRES_PASSWORD"
    return 1
  fi
  create_verify_network postgres
  start_verify_server postgres-db --network "$network" --network-alias db \
    -e POSTGRES_PASSWORD=verify-password -e POSTGRES_DB=verify "$postgres_image"
  # The temporary server listens on the unix socket only, so a TCP connection
  # succeeds only once the real server runs.
  result="$(retry_for 60 docker run --rm --network "$network" -e PGPASSWORD=verify-password "$postgres_image" \
    psql -h db -U postgres -d verify -c 'SELECT 1' \
    && docker run --rm --network "$network" -e PGPASSWORD=verify-password "$postgres_image" \
      psql -h db -U postgres -d verify -tA -c 'SELECT current_database()')" || {
    docker logs "$server" 2>&1 | tail -n 20 >&2
    return 1
  }
  [[ "$result" == verify ]] || return 1
  # A wrong password must be rejected over TCP.
  if docker run --rm --network "$network" -e PGPASSWORD=wrong "$postgres_image" \
    psql -h db -U postgres -d verify -c 'SELECT 1' >/dev/null 2>&1; then
    log "error: $postgres_image accepted a wrong password"
    return 1
  fi
  docker rm -f "$server" >/dev/null
  docker network rm "$network" >/dev/null
}

verify_redis() {
  local network server reply
  create_verify_network redis
  start_verify_server redis-cache --network "$network" --network-alias cache "$redis_image"
  reply="$(retry_for 20 docker run --rm --network "$network" "$redis_image" redis-cli -h cache ping \
    && docker run --rm --network "$network" "$redis_image" redis-cli -h cache ping)" || {
    docker logs "$server" 2>&1 | tail -n 20 >&2
    return 1
  }
  [[ "$reply" == PONG ]] || return 1
  docker rm -f "$server" >/dev/null
  docker network rm "$network" >/dev/null
}

verify_node() {
  local version
  version="$(docker run --rm "$node_image" node --version)" || return 1
  [[ "$version" == "$(node --version)" ]]
}

# Run the check function $2 for image $1. When it fails, remove the image
# unless $3 is "keep", then exit 1.
verify_image() {
  local image=$1 check=$2 on_failure=${3:-remove} started=$SECONDS
  if "$check"; then
    log "checked $image in $((SECONDS - started)) s"
  else
    if [[ "$on_failure" == remove ]]; then
      docker image rm "$image" >/dev/null 2>&1 || true
      fail "the check of $image failed. Removed the image, so the next run builds it again"
    fi
    fail "the check of $image failed"
  fi
}

# ---------------------------------------------------------------------------

main() {
  # The node image gets the node binary from PATH, which must be >= 22.19.
  . "$repo_root/scripts/node.sh"

  if [[ "${1:-}" == --verify ]]; then
    local image check
    for image in toolbox postgres redis node; do
      check="verify_$image"
      local name_var="${image}_image"
      image_exists "${!name_var}" || fail "${!name_var} not found; run scripts/images.sh first"
      verify_image "${!name_var}" "$check" keep
    done
    return
  elif [[ $# -gt 0 ]]; then
    fail "unknown argument '$1' (usage: scripts/images.sh [--verify])"
  fi

  local node_version started
  node_version="$(node --version)"

  if image_exists "$toolbox_image"; then
    log "$toolbox_image exists, skipping"
  else
    started=$SECONDS
    log "building $toolbox_image"
    build_toolbox
    log "built $toolbox_image in $((SECONDS - started)) s"
    verify_image "$toolbox_image" verify_toolbox
  fi

  local postgres_input redis_input node_input
  postgres_input="entrypoint-sha256=$(file_sha256 "$repo_root/scripts/images/postgres-entrypoint.sh")"
  redis_input="entrypoint-sha256=$(file_sha256 "$repo_root/scripts/images/redis-entrypoint.sh")"
  node_input="node=$node_version"

  local name input_var image built=()
  for name in postgres redis node; do
    local image_var="${name}_image"
    input_var="${name}_input"
    image="${!image_var}"
    if [[ "$(image_label "$image")" == "${!input_var}" ]]; then
      log "$image exists, skipping"
      continue
    fi
    if image_exists "$image"; then
      log "rebuilding $image because its entrypoint or node binary changed (label $input_label is not ${!input_var})"
    else
      log "building $image"
    fi
    ensure_base_image
    started=$SECONDS
    "build_$name" "${!input_var}"
    log "built $image in $((SECONDS - started)) s"
    built+=("$name")
  done

  for name in "${built[@]}"; do
    local image_var="${name}_image"
    verify_image "${!image_var}" "verify_$name"
  done
}

main "$@"
