"""The drift report of `kiln-monitor` in SciPy/pandas, for `benches/compare_scipy_drift.sh`.

    python benches/scipy_drift.py generate DIR [--rows N]   # write the data both sides read
    python benches/scipy_drift.py run DIR                   # time the report in SciPy/pandas

The report is Kiln's default for a reference of more than 1000 rows (Evidently's choice):
numeric columns get the Wasserstein distance divided by the reference's standard deviation
(at least 0.001), drifted at >= 0.1; categorical columns the Jensen-Shannon distance between
category frequencies, drifted at >= 0.1.
"""

import json
import pathlib
import resource
import sys
import time

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

NUMERIC, CATEGORICAL = 15, 5


def generate(out, rows):
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    levels = [3, 5, 8, 12, 20]
    for side in ["ref", "cur"]:
        num = np.empty((NUMERIC, rows))
        for c in range(NUMERIC):
            # Every third column shifts by a quarter of a standard deviation in `cur`.
            shift = 0.25 if side == "cur" and c % 3 == 0 else 0.0
            num[c] = rng.normal(10.0 * c + shift * (c + 1), c + 1, rows)
        cat = np.empty((CATEGORICAL, rows), dtype=np.uint8)
        for c, k in enumerate(levels):
            p = np.arange(1, k + 1, dtype=float)
            if side == "cur" and c % 2 == 0:
                p = p[::-1]  # reversed frequencies
            cat[c] = rng.choice(k, size=rows, p=p / p.sum())
        num.astype("<f8").tofile(out / f"{side}_num.f64")
        cat.tofile(out / f"{side}_cat.u8")
    (out / "meta.json").write_text(json.dumps(
        {"rows": rows, "numeric": NUMERIC, "categorical": CATEGORICAL, "levels": levels}))


def load(d, side, meta):
    rows = meta["rows"]
    num = np.fromfile(d / f"{side}_num.f64", dtype="<f8").reshape(meta["numeric"], rows)
    cat = np.fromfile(d / f"{side}_cat.u8", dtype=np.uint8).reshape(meta["categorical"], rows)
    frame = {f"num{c}": num[c] for c in range(meta["numeric"])}
    for c in range(meta["categorical"]):
        levels = [f"level{l}" for l in range(meta["levels"][c])]
        frame[f"cat{c}"] = pd.Categorical.from_codes(cat[c], levels)
    return pd.DataFrame(frame)


def report(ref, cur):
    drifted = 0
    for name in ref.columns:
        r, c = ref[name], cur[name]
        if isinstance(r.dtype, pd.CategoricalDtype):
            rc, cc = r.value_counts(), c.value_counts()
            keys = sorted(set(rc.index[rc > 0]) | set(cc.index[cc > 0]))
            score = distance.jensenshannon(rc.reindex(keys, fill_value=0).to_numpy(),
                                           cc.reindex(keys, fill_value=0).to_numpy())
        else:
            r, c = r.to_numpy(), c.to_numpy()
            score = stats.wasserstein_distance(r, c) / max(np.std(r), 0.001)
        drifted += score >= 0.1
    return drifted


def run(d, repeat=3):
    meta = json.loads((d / "meta.json").read_text())
    ref, cur = load(d, "ref", meta), load(d, "cur", meta)
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        drifted = report(ref, cur)
        best = min(best, time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"scipy drift report {meta['rows']} rows x {meta['numeric'] + meta['categorical']} "
          f"columns: {best:.3f} s (best of {repeat}), {drifted} drifted, "
          f"peak RSS {peak:.0f} MiB (data loaded: {loaded:.0f} MiB)")


if __name__ == "__main__":
    cmd, d = sys.argv[1], pathlib.Path(sys.argv[2])
    if cmd == "generate":
        rows = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--rows" else 1_000_000
        generate(d, rows)
    else:
        run(d)
