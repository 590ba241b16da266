#!/usr/bin/env bash
# Kiln's `tabular` example vs scikit-learn's StandardScaler + LogisticRegression (classification,
# stratified 80/20 split) or LinearRegression (diabetes, plain 80/20 split), on the very same
# split (seed 0) of each dataset.
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
for name in iris wine breast_cancer digits_8x8 diabetes; do
  kiln=$(./target/release/tabular "$name" --save-split "$tmp/$name.json" --bundle "$tmp/$name" | sed -n 2p)
  echo "kiln    $name: $kiln"
  .venv/bin/python benches/sklearn_tabular.py "$name" "$tmp/$name.json"
done
rm -rf "$tmp"
