#!/usr/bin/env bash
# The test set-up in one command, on a fresh machine: installs what the tests need, then runs
# the workspace's tests with the one feature set CI uses.
#
#   scripts/test.sh [extra cargo test arguments]
#
# - lavapipe (Mesa's CPU Vulkan driver): the trainer tests also run on the `wgpu` backend;
# - Chromium (headless): the report test renders HTML;
# - MLflow (PyPI, in .venv-mlflow): the MLflow test starts a real `mlflow server`.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq "$@" >/dev/null 2>&1 \
    || { $sudo apt-get update -qq && $sudo apt-get install -y -qq "$@"; }
}

echo "== system packages: lavapipe (Vulkan on the CPU) for the wgpu tests"
if ! compgen -G "/usr/share/vulkan/icd.d/lvp_icd*.json" >/dev/null; then
  apt_install mesa-vulkan-drivers
fi
echo "== system packages: Chromium for the report tests (headless)"
if ! command -v chromium >/dev/null 2>&1; then
  apt_install chromium
fi

echo "== MLflow (PyPI) in .venv-mlflow for the MLflow interop test"
if ! .venv-mlflow/bin/python -c 'import mlflow' 2>/dev/null; then
  if ! python3 -m venv .venv-mlflow; then
    apt_install python3-venv
    python3 -m venv .venv-mlflow
  fi
  .venv-mlflow/bin/pip install -q mlflow
fi
.venv-mlflow/bin/python -m mlflow --version

# wgpu's Vulkan loader wants a runtime dir; lavapipe is the only adapter on these machines.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

echo "== cargo test --workspace --features kiln/wgpu,kiln/cli"
cargo test --workspace --features kiln/wgpu,kiln/cli "$@"
