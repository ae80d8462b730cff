#!/usr/bin/env bash
# Make sure a Docker Engine responds on /var/run/docker.sock.
#
# If the socket already responds to GET /_ping, this only reports it. Otherwise it
# installs Debian's docker.io when dockerd is missing, removes a stale
# /var/run/docker.pid and starts dockerd detached from this shell, so the
# engine keeps running after the script exits. Stop it with:
#   kill "$(cat /var/run/docker.pid)"
set -euo pipefail

socket=/var/run/docker.sock
pid_file=/var/run/docker.pid
containerd_pid_file=/var/run/docker/containerd/containerd.pid
log_file=/var/log/effect-testcontainers-dockerd.log
start_timeout_seconds=60

log() { printf '[engine] %s\n' "$*"; }

engine_responds() {
  [[ -S "$socket" ]] && curl --silent --fail --max-time 2 --unix-socket "$socket" http://localhost/_ping >/dev/null 2>&1
}

engine_version() {
  curl --silent --fail --max-time 2 --unix-socket "$socket" http://localhost/version \
    | grep -o '"Version":"[^"]*"' | head -n 1 | cut -d '"' -f 4
}

# Succeed when $pid_file names a running dockerd process.
dockerd_running() {
  process_alive "$pid_file" dockerd
}

# Succeed when the pid file $1 names a live process called $2. A zombie keeps
# its name until its parent reaps it, so the state is checked too.
process_alive() {
  local pid
  [[ -f "$1" ]] || return 1
  pid="$(cat "$1")"
  [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/comm" && "$(cat "/proc/$pid/comm")" == "$2" ]] || return 1
  [[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != Z ]]
}

apt_install() {
  log "installing Debian packages: $*"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v curl >/dev/null; then
  apt_install curl
fi

if engine_responds; then
  log "Docker Engine $(engine_version) already responds on $socket"
  exit 0
fi

if ! command -v dockerd >/dev/null; then
  apt_install docker.io
fi

start_dockerd() {
  if [[ -f "$pid_file" ]]; then
    log "removing stale $pid_file (pid $(cat "$pid_file") is not a running dockerd)"
    rm -f "$pid_file"
  fi
  # dockerd starts its own containerd, but first waits for the one its pid
  # file names. After a killed engine that pid is dead or a zombie, so
  # dockerd would time out waiting for it.
  if [[ -f "$containerd_pid_file" ]] && ! process_alive "$containerd_pid_file" containerd; then
    log "removing stale $containerd_pid_file (pid $(cat "$containerd_pid_file") is not a running containerd)"
    rm -f "$containerd_pid_file" "${containerd_pid_file%/*}/containerd.sock"
  fi

  log "starting dockerd, log in $log_file"
  # setsid gives dockerd its own session, so it survives this shell and a
  # hang-up of the terminal. setsid forks only when its caller leads a process
  # group, and then --wait keeps it alive as long as dockerd, so $! is a live
  # pid exactly while dockerd runs. Every inherited file descriptor above 2 is
  # closed, so that a caller reading our output until end of file (a CI runner)
  # is not kept waiting by dockerd holding its pipe open.
  (
    for fd_path in /proc/self/fd/*; do
      fd="${fd_path##*/}"
      if ((fd > 2)); then
        eval "exec ${fd}>&-" 2>/dev/null || true
      fi
    done
    exec setsid --wait nohup dockerd --host "unix://$socket" --storage-driver overlay2 \
      </dev/null >>"$log_file" 2>&1
  ) &
  started_pid=$!
}

started_pid=
started_at=$SECONDS
deadline=$((SECONDS + start_timeout_seconds))
if dockerd_running; then
  log "dockerd (pid $(cat "$pid_file")) is running but $socket does not respond, waiting for it to finish starting or stopping"
fi

# A dockerd that is still shutting down keeps its pid file until it exits, so
# this loop waits for it to go before starting a new one.
until engine_responds; do
  if [[ -n "$started_pid" ]]; then
    if ! kill -0 "$started_pid" 2>/dev/null; then
      log "error: dockerd exited during start-up. Last lines of $log_file:"
      tail -n 30 "$log_file" >&2 || true
      exit 1
    fi
  elif ! dockerd_running; then
    start_dockerd
  fi

  if ((SECONDS >= deadline)); then
    log "error: timed out after ${start_timeout_seconds} s waiting for /_ping on $socket. Last lines of $log_file:"
    tail -n 30 "$log_file" >&2 || true
    exit 1
  fi
  sleep 0.5
done

log "Docker Engine $(engine_version) responds on $socket after $((SECONDS - started_at)) s"
