#!/usr/bin/env bash
# Kiln's `tabular` example (logistic regression) vs scikit-learn's StandardScaler +
# LogisticRegression on the very same stratified 80/20 split (seed 0) of each dataset.
#
#   benches/compare_sklearn_tabular.sh
#
# Needs Python 3 with venv; pandas and scikit-learn are installed into .venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv/bin/python -c 'import sklearn, pandas' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install -q pandas scikit-learn
fi
cargo build --release -q -p kiln-examples --bin tabular
tmp=$(mktemp -d)
for name in iris wine breast_cancer digits_8x8; do
  kiln=$(./target/release/tabular "$name" --save-split "$tmp/$name.json" | sed -n 2p)
  echo "kiln    $name: $kiln"
  .venv/bin/python benches/sklearn_tabular.py "$name" "$tmp/$name.json"
done
rm -rf "$tmp"
