#!/usr/bin/env bash
# Prepare this machine for the integration tests: start the Docker Engine,
# build the test images, start the local registries. Each step skips what is
# already done, so a second run only checks.
#
# images.sh sources scripts/node.sh itself, because it copies the node binary
# on PATH into effect-testcontainers/node:24. To get that node on PATH in your
# own shell, run ". scripts/node.sh".
set -euo pipefail

scripts_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

for step in engine images registry compose; do
  started=$SECONDS
  bash "$scripts_dir/$step.sh"
  printf '[setup] %s.sh done in %d s\n' "$step" "$((SECONDS - started))"
done
