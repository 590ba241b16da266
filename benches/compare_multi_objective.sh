#!/usr/bin/env bash
# Kiln's multi-objective samplers against Optuna's on ZDT1 and ZDT2 (issue 16): the median
# hypervolume of the Pareto front found within the same budget of trials, same seeds count and
# reference point, and each side's wall time, in one sitting.
#
#   benches/compare_multi_objective.sh [TRIALS] [SEEDS] [TPE_SEEDS] [VARS]   # default 500 10 3 30,3
#
# Needs Python 3 with venv; Optuna is installed into /tmp/optuna-venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
trials=${1:-500}
seeds=${2:-10}
tpe_seeds=${3:-3}
vars=${4:-30,3}
if ! /tmp/optuna-venv/bin/python -c 'import optuna' 2>/dev/null; then
  python3 -m venv /tmp/optuna-venv
  /tmp/optuna-venv/bin/pip install -q optuna
fi
cargo build --release -q -p kiln-benches --bin multi_objective
echo "== Kiln"
./target/release/multi_objective --trials "$trials" --seeds "$seeds" --tpe-seeds "$tpe_seeds" --vars "$vars"
echo "== Optuna $(/tmp/optuna-venv/bin/python -c 'import optuna; print(optuna.__version__)')"
/tmp/optuna-venv/bin/python benches/optuna_multi_objective.py \
  --trials "$trials" --seeds "$seeds" --tpe-seeds "$tpe_seeds" --vars "$vars"
