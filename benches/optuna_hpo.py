"""Optuna's default TPE on hpo_quality's functions: the reference figures in docs/tuning.md.

    python3 -m venv /tmp/optuna-venv && /tmp/optuna-venv/bin/pip install optuna
    /tmp/optuna-venv/bin/python benches/optuna_hpo.py [SEEDS]   # default 30

Prints the quartiles of the simple regret (best value - optimum) over SEEDS seeds at 50 and
100 trials, as `cargo run --release -p kiln-benches --bin hpo_quality` does for Kiln.
"""

import math
import sys

import numpy as np
import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)


def branin(t):
    x1 = t.suggest_float("x1", -5, 10)
    x2 = t.suggest_float("x2", 0, 15)
    a, b, c, r, s, tt = 1, 5.1 / (4 * math.pi**2), 5 / math.pi, 6, 10, 1 / (8 * math.pi)
    return a * (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - tt) * math.cos(x1) + s


A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
              [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                     [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])
ALPHA = np.array([1, 1.2, 3, 3.2])


def hartmann6(t):
    x = np.array([t.suggest_float(f"x{i}", 0, 1) for i in range(6)])
    return float(-np.sum(ALPHA * np.exp(-np.sum(A * (x - P) ** 2, axis=1))))


seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
print(f"Optuna {optuna.__version__} default TPESampler, {seeds} seeds: quartiles of the regret")
for name, f, optimum in [("branin", branin, 0.397887), ("hartmann6", hartmann6, -3.32237)]:
    r50, r100 = [], []
    for seed in range(seeds):
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
        study.optimize(f, n_trials=100)
        values = [t.value for t in study.trials]
        r50.append(min(values[:50]) - optimum)
        r100.append(min(values) - optimum)
    q50, q100 = np.percentile(r50, [25, 50, 75]), np.percentile(r100, [25, 50, 75])
    print(f"{name:<10} 50 trials {q50[1]:.4f} [{q50[0]:.4f}, {q50[2]:.4f}]   "
          f"100 trials {q100[1]:.4f} [{q100[0]:.4f}, {q100[2]:.4f}]")
