"""Reference values for kiln-monitor's statistics, computed with SciPy.

Run from the repository root with the project's venv (SciPy 1.17.1, NumPy 2.4.6):

    .venv/bin/python crates/kiln-monitor/tests/data/generate.py

Writes scipy_reference.json next to this script. Samples are rounded to 6 significant
digits before SciPy sees them, so the JSON holds exactly the values that were tested.
Large samples are not stored: they follow `formula_sample` (exact in binary floating
point), which the Rust test reproduces.
"""

import json
import pathlib

import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance

rng = np.random.default_rng(20261126)


def rounded(x):
    return [float(f"{v:.6g}") for v in x]


def formula_sample(n, mult, modulus, shift):
    i = np.arange(n, dtype=np.int64)
    return ((i * mult) % modulus).astype(np.float64) / modulus + shift


def ks_case(a, b, method):
    r = stats.ks_2samp(a, b, method=method)
    return {
        "statistic": float(r.statistic),
        "p_value": float(r.pvalue),
        "location": float(r.statistic_location),
        "sign": int(r.statistic_sign),
    }


samples = []
for n1, n2, shift, kind in [
    (50, 50, 0.0, "normal"),
    (40, 60, 0.3, "normal"),
    (100, 75, 0.5, "normal"),
    (7, 13, 1.0, "normal"),
    (200, 150, 0.0, "integers"),
    (150, 120, 0.2, "normal"),
    (150, 120, 0.6, "normal"),
    (1000, 800, 0.05, "normal"),
    (1000, 800, 0.2, "lognormal"),
    (30, 1, 0.0, "normal"),
    (60, 60, 3.0, "normal"),
    # Reference sizes where (n - 1)·q is whole for some decile, so a quantile off by an ulp
    # moves values across a cut (NumPy's "linear" index is exactly (n - 1)·q).
    (106, 90, 0.1, "normal"),
    (1001, 900, 0.1, "normal"),
    (1991, 1500, 0.1, "normal"),
    (106, 80, 0.0, "integers"),
    (1001, 700, 0.0, "integers"),
]:
    if kind == "normal":
        a, b = rng.normal(0, 1, n1), rng.normal(shift, 1, n2)
    elif kind == "lognormal":
        a, b = rng.lognormal(0, 1, n1), rng.lognormal(shift, 1, n2)
    else:
        a, b = rng.integers(0, 10, n1).astype(float), rng.integers(0, 12, n2).astype(float)
    a, b = np.array(rounded(a)), np.array(rounded(b))
    case = {"a": list(a), "b": list(b)}
    for method in ["auto", "exact", "asymp"]:
        case["ks_" + method] = ks_case(a, b, method)
    case["wasserstein"] = float(stats.wasserstein_distance(a, b))
    for bins in [10, 4]:
        # Quantile bins: cuts at the reference's quantiles, repeated cuts merged.
        cuts = np.unique(np.quantile(a, np.linspace(0, 1, bins + 1))[1:-1])
        ref = np.bincount(np.searchsorted(cuts, a, side="right"), minlength=len(cuts) + 1)
        cur = np.bincount(np.searchsorted(cuts, b, side="right"), minlength=len(cuts) + 1)
        case[f"quantile_{bins}"] = {
            "cuts": list(map(float, cuts)),
            "reference": list(map(int, ref)),
            "current": list(map(int, cur)),
        }
        edges = np.histogram_bin_edges(np.concatenate([a, b]), bins=bins)
        ref_e, _ = np.histogram(a, edges)
        cur_e, _ = np.histogram(b, edges)
        case[f"equal_{bins}"] = {
            "cuts": list(map(float, edges[1:-1])),
            "reference": list(map(int, ref_e)),
            "current": list(map(int, cur_e)),
        }
    samples.append(case)


def psi(ref, cur, eps=1e-4):
    r = ref / ref.sum()
    c = cur / cur.sum()
    r = np.where(r == 0, eps, r)
    c = np.where(c == 0, eps, c)
    return float(np.sum((c - r) * np.log(c / r)))


for case in samples:
    for key in ["quantile_10", "quantile_4", "equal_10", "equal_4"]:
        part = case[key]
        part["psi"] = psi(np.array(part["reference"], float), np.array(part["current"], float))
        part["js"] = float(distance.jensenshannon(part["reference"], part["current"]))
        part["js_base2"] = float(distance.jensenshannon(part["reference"], part["current"], base=2))

formula = []
for n1, m1, mod1, s1, n2, m2, mod2, s2 in [
    (20000, 7919, 10007, 0.0, 15000, 104729, 15013, 0.01),
    (12000, 7919, 10007, 0.0, 300, 31, 301, 0.02),
    (10000, 7919, 10007, 0.0, 9000, 31, 9001, 0.004),
    (50000, 7919, 50021, 0.0, 40000, 613, 40009, 0.002),
    (500, 7919, 10007, 0.0, 12000, 104729, 15013, 0.05),
    (20000, 7919, 10007, 0.0, 15000, 104729, 15013, 0.025),
    (50000, 7919, 50021, 0.0, 40000, 613, 40009, 0.012),
    (11000, 7919, 10007, 0.0, 11000, 104729, 15013, 0.004),
]:
    a = formula_sample(n1, m1, mod1, s1)
    b = formula_sample(n2, m2, mod2, s2)
    case = {"a": [n1, m1, mod1, s1], "b": [n2, m2, mod2, s2]}
    for method in ["auto", "asymp"]:
        case["ks_" + method] = ks_case(a, b, method)
    case["wasserstein"] = float(stats.wasserstein_distance(a, b))
    formula.append(case)

chi2 = []
for ref, cur in [
    ([120, 80], [100, 100]),
    ([30, 5], [25, 12]),
    ([50, 40, 30, 20, 10], [45, 45, 30, 15, 15]),
    ([500, 400, 100], [300, 500, 200]),
    ([10, 0, 7, 3], [12, 4, 0, 9]),
    ([1000, 2000, 3000, 4000, 5000, 6000], [1100, 1900, 3100, 3900, 5200, 5800]),
]:
    s, p, dof, _ = stats.chi2_contingency([ref, cur])
    chi2.append({"reference": ref, "current": cur, "statistic": float(s), "p_value": float(p), "dof": int(dof)})

out = {
    "versions": {"scipy": scipy.__version__, "numpy": np.__version__},
    "samples": samples,
    "formula": formula,
    "chi2": chi2,
}
path = pathlib.Path(__file__).with_name("scipy_reference.json")
path.write_text(json.dumps(out, indent=None, separators=(",", ":")) + "\n")
print(f"wrote {path} ({path.stat().st_size} bytes)")
