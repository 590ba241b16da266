#!/usr/bin/env bash
# Kiln's pruners against Optuna's on the same simulated learning curves (issue 16's pruning
# benchmark): mean steps trained per seed and regret, per pruner, with each library's defaults.
#
#   benches/compare_pruning.sh [SEEDS]   # default 20
#
# Needs Python 3 with venv; Optuna is installed into /tmp/optuna-venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-20}
if ! /tmp/optuna-venv/bin/python -c 'import optuna' 2>/dev/null; then
  python3 -m venv /tmp/optuna-venv
  /tmp/optuna-venv/bin/pip install -q optuna
fi
cargo build --release -q -p kiln-benches --bin pruning
curves=$(mktemp)
trap 'rm -f "$curves"' EXIT
./target/release/pruning --seeds "$seeds" --write-curves "$curves"
echo "== Kiln"
./target/release/pruning --seeds "$seeds"
echo "== Optuna $(/tmp/optuna-venv/bin/python -c 'import optuna; print(optuna.__version__)')"
/tmp/optuna-venv/bin/python benches/optuna_pruning.py "$curves"
