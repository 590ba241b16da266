#!/usr/bin/env bash
# `kiln train` on every bundled CSV, with `--model linear` and with `--model mlp --tune N`,
# against scikit-learn's LogisticRegression/Ridge and HistGradientBoosting on the very same
# split (seed 0: stratified 80/20 for classes, plain 80/20 for diabetes; the split is written
# by `kiln train --split-out`). One table, one score per cell: test accuracy, or R² for
# diabetes.
#
#   benches/compare_sklearn_pipeline.sh [TRIALS]   # default 30
#
# Needs Python 3 with venv; pandas and scikit-learn are installed into .venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
trials=${1:-30}
if ! .venv/bin/python -c 'import sklearn, pandas' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install -q pandas scikit-learn
fi
cargo build --release -q -p kiln -p kiln-examples --features kiln/cli
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
score() { sed -n 's/^test \(accuracy\|r2\) \([0-9.-]*\).*/\2/p' "$1"; }
printf '| dataset | metric | Kiln linear | scikit-learn linear | Kiln MLP, tuned (%s trials) | scikit-learn HistGradientBoosting |\n' "$trials"
printf '|---|---|---|---|---|---|\n'
for name in iris wine breast_cancer digits_8x8 penguins credit_g winequality_red diabetes; do
  data="datasets/tabular/$name.csv"
  target=label
  task=classification
  metric=accuracy
  if [ "$name" = diabetes ]; then target=target; task=regression; metric=R²; fi
  ./target/release/kiln train --data "$data" --target "$target" --model linear \
    --output "$tmp/$name-linear" --split-out "$tmp/$name.json" --quiet >"$tmp/$name-linear.txt"
  ./target/release/kiln train --data "$data" --target "$target" --model mlp --tune "$trials" \
    --output "$tmp/$name-mlp" --quiet >"$tmp/$name-mlp.txt"
  .venv/bin/python benches/sklearn_pipeline.py "$data" "$target" "$tmp/$name.json" "$task" \
    >"$tmp/$name-sklearn.txt"
  printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$metric" \
    "$(score "$tmp/$name-linear.txt")" "$(sed -n 's/^linear //p' "$tmp/$name-sklearn.txt")" \
    "$(score "$tmp/$name-mlp.txt")" "$(sed -n 's/^hgb //p' "$tmp/$name-sklearn.txt")"
done
