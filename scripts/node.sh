#!/usr/bin/env bash
# Put a Node.js >= 22.19 first on PATH.
#
#   . scripts/node.sh      changes PATH in the calling shell
#   bash scripts/node.sh   only installs, then prints the PATH line to use
#
# When the node on PATH is older than 22.19, this installs the npm package
# node@24 into <repo>/.tools/node and prepends its .bin folder to PATH. npm
# itself stays the one on PATH: its "#!/usr/bin/env node" line makes it run
# under the node that comes first on PATH.
#
# The checks run in a subshell with "set -euo pipefail", so sourcing this file
# leaves the shell options of the calling shell unchanged.

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
fi

etc_node_min_major=22
etc_node_min_minor=19
etc_node_repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
etc_node_bin_dir="$etc_node_repo_root/.tools/node/node_modules/.bin"

# Print the chosen node's .bin folder, or nothing when the node on PATH is new
# enough. Messages go to stderr so that stdout carries only the folder.
etc_node_ensure() (
  set -euo pipefail

  log() { printf '[node] %s\n' "$*" >&2; }

  # Succeed when the node binary $1 reports a version >= 22.19.
  is_new_enough() {
    local version major minor
    version="$("$1" --version 2>/dev/null)" || return 1
    version="${version#v}"
    major="${version%%.*}"
    minor="${version#*.}"
    minor="${minor%%.*}"
    [[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]] || return 1
    ((major > etc_node_min_major || (major == etc_node_min_major && minor >= etc_node_min_minor)))
  }

  if [[ -x "$etc_node_bin_dir/node" ]] && is_new_enough "$etc_node_bin_dir/node"; then
    log "using $("$etc_node_bin_dir/node" --version) from $etc_node_bin_dir (already installed)"
    printf '%s\n' "$etc_node_bin_dir"
    return 0
  fi

  local path_node
  path_node="$(command -v node || true)"
  if [[ -n "$path_node" ]] && is_new_enough "$path_node"; then
    log "using $("$path_node" --version) from $path_node (already on PATH)"
    return 0
  fi

  if [[ -n "$path_node" ]]; then
    log "node on PATH is $("$path_node" --version), older than v$etc_node_min_major.$etc_node_min_minor"
  else
    log "no node on PATH"
  fi

  if ! command -v npm >/dev/null; then
    # Debian's own nodejs is too old to run the tests, but its npm can still
    # install the node@24 package.
    log "installing Debian packages nodejs and npm to get npm"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >&2
  fi

  # The node package downloads the binary for this platform as another npm
  # package from its install script, so --ignore-scripts must not be used.
  log "installing npm package node@24 into $etc_node_repo_root/.tools/node"
  npm install --prefix "$etc_node_repo_root/.tools/node" --no-save --no-audit --no-fund --loglevel=error node@24 >&2

  if ! is_new_enough "$etc_node_bin_dir/node"; then
    log "error: $etc_node_bin_dir/node is missing or older than v$etc_node_min_major.$etc_node_min_minor after npm install"
    return 1
  fi
  log "installed $("$etc_node_bin_dir/node" --version) at $etc_node_bin_dir/node"
  printf '%s\n' "$etc_node_bin_dir"
)

if etc_node_prepend="$(etc_node_ensure)"; then
  if [[ -n "$etc_node_prepend" ]]; then
    case ":$PATH:" in
      *":$etc_node_prepend:"*) ;;
      *) PATH="$etc_node_prepend:$PATH" ;;
    esac
    export PATH
    printf '[node] use this PATH: export PATH="%s:$PATH"\n' "$etc_node_prepend"
  else
    printf '[node] PATH needs no change\n'
  fi
  unset etc_node_prepend etc_node_min_major etc_node_min_minor etc_node_repo_root etc_node_bin_dir
  unset -f etc_node_ensure
else
  unset etc_node_prepend etc_node_min_major etc_node_min_minor etc_node_repo_root etc_node_bin_dir
  unset -f etc_node_ensure
  printf '[node] error: no node >= 22.19 is available, see the messages above\n' >&2
  # "return" works only when sourced, so fall back to "exit" when run.
  return 1 2>/dev/null || exit 1
fi
