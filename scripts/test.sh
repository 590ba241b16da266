#!/usr/bin/env bash
# The test set-up in one command, on a fresh machine: installs what the tests need, then runs
# the workspace's tests with the one feature set CI uses.
#
#   scripts/test.sh [extra cargo test arguments]
#
# - lavapipe (Mesa's CPU Vulkan driver): the trainer tests also run on the `wgpu` backend;
# - Chromium (headless): the report test renders HTML;
# - MLflow (PyPI, in .venv-mlflow): the MLflow test starts a real `mlflow server`;
# - PostgreSQL (Debian's package): a server on a free port of 127.0.0.1 for the study storage
#   tests (KILN_TEST_POSTGRES_URL; give one to use your own server instead), stopped at exit.
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

echo "== PostgreSQL (Debian's package) on 127.0.0.1 for the PostgreSQL study storage tests"
if [ -z "${KILN_TEST_POSTGRES_URL:-}" ]; then
  if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    apt_install postgresql
  fi
  pgbin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
  pgdir=$(mktemp -d /tmp/kiln-pg.XXXXXX)
  pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_pg=()
  # initdb refuses to run as root: the server runs as the package's `postgres` user then.
  if [ "$(id -u)" = 0 ]; then chown postgres "$pgdir"; as_pg=(runuser -u postgres --); fi
  "${as_pg[@]}" "$pgbin/initdb" -D "$pgdir/data" -A trust -U kiln >/dev/null
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
    -o "-p $pgport -k $pgdir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
  trap '"${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$pgdir"' EXIT
  export KILN_TEST_POSTGRES_URL="postgres://kiln@127.0.0.1:$pgport/postgres"
fi
echo "KILN_TEST_POSTGRES_URL=$KILN_TEST_POSTGRES_URL"

# wgpu's Vulkan loader wants a runtime dir; lavapipe is the only adapter on these machines.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
# Tests never reach the internet: bundled datasets come from datasets/, and downloads are
# tested against a server on 127.0.0.1 (the download tests set their own sources).
export KILN_OFFLINE=1
# The device tests run on every compiled-in backend; lavapipe was installed above, so wgpu must
# work: a missing adapter fails the run instead of skipping the device.
export KILN_REQUIRE_DEVICES="${KILN_REQUIRE_DEVICES:-flex,wgpu}"

echo "== cargo test --workspace --features kiln/wgpu,kiln/cli"
cargo test --workspace --features kiln/wgpu,kiln/cli "$@"
