#!/usr/bin/env python3
"""Times pandas.read_csv on a CSV file: median throughput over N runs and peak RSS growth.

usage: pandas_read_csv.py FILE [RUNS]   (prints one line: `pandas.read_csv: ... MB/s ...`)
Run by benches/compare_pandas.sh in the same sitting as Kiln's criterion bench.
"""
import os
import resource
import statistics
import sys
import time

import pandas as pd


def rss_peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    path = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    size = os.path.getsize(path)
    base = rss_peak_mib()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        df = pd.read_csv(path)
        times.append(time.perf_counter() - start)
        rows, cols = df.shape
        del df
    median = statistics.median(times)
    print(
        f"pandas.read_csv: {size / 1e6 / median:.1f} MB/s (median of {runs}: {median:.3f} s), "
        f"{rows} rows x {cols} cols, peak RSS growth {rss_peak_mib() - base:.1f} MiB, "
        f"pandas {pd.__version__}"
    )
    print(f"pandas_seconds={median:.6f}")


if __name__ == "__main__":
    main()
