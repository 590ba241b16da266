#!/usr/bin/env bash
# Kiln's CSV loader vs pandas.read_csv on the same synthetic ≥100 MB numeric file, in one
# sitting. Prints both throughputs (MB/s, 10^6 bytes) and the ratio.
#
#   benches/compare_pandas.sh
#
# Needs Python 3 with venv; pandas is installed into .venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import pandas' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install -q pandas
fi

cargo bench -p kiln-benches --bench csv_ingest -- --noplot
csv=${KILN_BENCH_CSV:-target/bench-data/numeric.csv}
size=$(stat -c %s "$csv")
pandas_out=$(.venv/bin/python benches/pandas_read_csv.py "$csv" 5)
echo "$pandas_out" | head -1

python3 - "$size" "$pandas_out" <<'PY'
import json, sys
size = int(sys.argv[1])
pandas_s = float(sys.argv[2].split("pandas_seconds=")[1])
for variant in ("infer", "schema"):
    path = f"target/criterion/csv_ingest/numeric_20cols_100MB_{variant}/new/estimates.json"
    kiln_s = json.load(open(path))["median"]["point_estimate"] / 1e9
    print(f"kiln CsvLoader ({variant:6}): {size / 1e6 / kiln_s:.1f} MB/s (median {kiln_s:.3f} s)"
          f"  ->  {pandas_s / kiln_s:.2f}x pandas")
PY
