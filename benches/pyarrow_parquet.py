#!/usr/bin/env python3
"""Parquet files for the read benchmark, and pyarrow's and pandas' read times on them.

usage:
  pyarrow_parquet.py generate FILE CODEC ROWS   writes a seeded mixed-type table (snappy|zstd)
  pyarrow_parquet.py read FILE RUNS TOOL        TOOL = pyarrow | pandas; prints one line and
                                                `seconds=...`

The table has 20 columns: 8 float64 (2 with 5% nulls), 6 int64 (one with nulls), 3 strings of
low cardinality (one with nulls), 2 booleans and 1 timestamp, in 1 Mi-row row groups (pyarrow's
default), as Spark, DuckDB or Polars would hand it over. Run by benches/compare_pyarrow.sh in the
same sitting as Kiln's `parquet_read` binary; peak memory is the growth of the process's peak
RSS over the reads, the same measure Kiln's binary prints.
"""
import os
import statistics
import sys
import time


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def generate(path, codec, rows):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(42)
    cols = {}
    for i in range(8):
        values = rng.normal(i, 1 + i, rows)
        mask = rng.random(rows) < 0.05 if i < 2 else None
        cols[f"f{i}"] = pa.array(values, mask=mask)
    for i in range(6):
        values = rng.integers(-(10 ** (i + 2)), 10 ** (i + 2), rows)
        mask = rng.random(rows) < 0.05 if i == 0 else None
        cols[f"i{i}"] = pa.array(values, mask=mask)
    for i, levels in enumerate([["red", "green", "blue"], [f"city_{k}" for k in range(40)],
                                [f"sku-{k:05d}" for k in range(500)]]):
        codes = rng.integers(0, len(levels), rows)
        values = np.array(levels, dtype=object)[codes]
        mask = rng.random(rows) < 0.05 if i == 1 else None
        cols[f"s{i}"] = pa.array(values, type=pa.string(), mask=mask)
    for i in range(2):
        cols[f"b{i}"] = pa.array(rng.random(rows) < 0.3 + 0.4 * i)
    start = np.datetime64("2020-01-01T00:00:00")
    cols["t0"] = pa.array(start + rng.integers(0, 5 * 365 * 86400, rows).astype("timedelta64[s]"))
    table = pa.table(cols)
    pq.write_table(table, path, compression=codec)
    print(f"wrote {path}: {rows} rows, {os.path.getsize(path) / 1e6:.1f} MB, {codec}")


def read(path, runs, tool):
    import pyarrow
    import pyarrow.parquet as pq

    if tool == "pandas":
        import pandas as pd

        def load():
            return pd.read_parquet(path)
        version = f"pandas {pd.__version__} (pyarrow engine {pyarrow.__version__})"
        name = "pandas.read_parquet"
    else:
        def load():
            return pq.read_table(path)
        version = f"pyarrow {pyarrow.__version__}"
        name = "pyarrow.parquet.read_table"
    size = os.path.getsize(path)
    base = peak_rss_mib()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        table = load()
        times.append(time.perf_counter() - start)
        shape = (len(table), len(table.columns))
        del table
    median = statistics.median(times)
    print(
        f"{name}: {size / 1e6 / median:.1f} MB/s (median of {runs}: {median:.3f} s), "
        f"{shape[0]} rows x {shape[1]} cols, peak RSS growth {peak_rss_mib() - base:.1f} MiB, "
        f"{version}"
    )
    print(f"seconds={median:.6f}")


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        read(sys.argv[2], int(sys.argv[3]), sys.argv[4])
