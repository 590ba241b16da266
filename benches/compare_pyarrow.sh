#!/usr/bin/env bash
# Kiln's Parquet reader vs pyarrow.parquet.read_table and pandas.read_parquet on the same
# ≥100 MB mixed-type files (snappy and zstd), in one sitting, alternating tools. Prints each
# tool's throughput (MB/s of file, 10^6 bytes), peak RSS growth and Kiln's ratio to pyarrow.
#
#   benches/compare_pyarrow.sh [ROWS] [RUNS]     (defaults: 1500000 rows, 5 runs)
#
# The files are generated (seeded, by benches/pyarrow_parquet.py) outside the timed part.
# Needs Python 3 with venv; pyarrow and pandas are installed into .venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1500000}
runs=${2:-5}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import pyarrow, pandas' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install -q pyarrow pandas
fi
cargo build --release -q -p kiln-benches --bin parquet_read
kiln=target/release/parquet_read
mkdir -p target/bench-data

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for codec in snappy zstd; do
  file=target/bench-data/mixed-$rows-$codec.parquet
  [ -f "$file" ] || .venv/bin/python benches/pyarrow_parquet.py generate "$file" "$codec" "$rows"
  echo "== $codec: $(stat -c %s "$file" | awk '{printf "%.1f MB", $1 / 1e6}')"
  k=$($kiln "$file" --runs "$runs")
  p=$(.venv/bin/python benches/pyarrow_parquet.py read "$file" "$runs" pyarrow)
  d=$(.venv/bin/python benches/pyarrow_parquet.py read "$file" "$runs" pandas)
  # A second Kiln sitting after the Python ones, so neither side always runs on a cold cache.
  k2=$($kiln "$file" --runs "$runs")
  echo "$k" | head -1
  echo "$k2" | head -1
  echo "$p" | head -1
  echo "$d" | head -1
  python3 - "$k" "$k2" "$p" "$d" <<'PY'
import sys
sec = lambda s: float(s.split("seconds=")[1])
kiln = min(sec(sys.argv[1]), sec(sys.argv[2]))
pyarrow, pandas = sec(sys.argv[3]), sec(sys.argv[4])
print(f"kiln (better sitting) vs pyarrow: {pyarrow / kiln:.2f}x   vs pandas: {pandas / kiln:.2f}x")
PY
done
