#!/usr/bin/env bash
# Kiln's drift report vs the same report in SciPy/pandas, 1,000,000 rows x 20 columns
# (15 numeric, 5 categorical), on the same generated data, run alternately three times.
#
#   benches/compare_scipy_drift.sh [ROWS]
#
# Needs Python 3 with venv; NumPy, SciPy and pandas are installed into .venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv/bin/python -c 'import scipy, pandas' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install -q numpy scipy pandas
fi
rows=${1:-1000000}
cargo build --release -q -p kiln-benches --bin drift_report
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
.venv/bin/python benches/scipy_drift.py generate "$tmp" --rows "$rows"
echo "machine: $(nproc) cores; Kiln uses them all (one column per thread), SciPy one"
for _ in 1 2 3; do
  ./target/release/drift_report "$tmp"
  .venv/bin/python benches/scipy_drift.py run "$tmp"
done
if command -v taskset >/dev/null; then
  echo "both on one core (taskset -c 0):"
  taskset -c 0 ./target/release/drift_report "$tmp"
  taskset -c 0 .venv/bin/python benches/scipy_drift.py run "$tmp"
fi
