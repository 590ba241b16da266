"""Optuna's multi-objective samplers on ZDT1 and ZDT2: the peer of
benches/src/bin/multi_objective.rs (same problems, variables, budget, seeds and reference
point; hypervolume computed here with the same exact 2-D sweep).

    python benches/optuna_multi_objective.py --trials 500 --seeds 10 --tpe-seeds 3 --vars 30,3
"""

import argparse
import math
import statistics
import time

import optuna

REFERENCE = (1.1, 11.0)


def zdt(problem, x):
    f1 = x[0]
    g = 1.0 + 9.0 * sum(x[1:]) / (len(x) - 1)
    h = 1.0 - math.sqrt(f1 / g) if problem == "zdt1" else 1.0 - (f1 / g) ** 2
    return f1, g * h


def hypervolume(points, reference):
    inside = sorted(p for p in points if p[0] < reference[0] and p[1] < reference[1])
    area, ceiling = 0.0, reference[1]
    for x, y in inside:
        if y < ceiling:
            area += (reference[0] - x) * (ceiling - y)
            ceiling = y
    return area


def run(problem, sampler, trials, n_vars):
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    names = [f"x{i:02}" for i in range(n_vars)]

    def objective(trial):
        return zdt(problem, [trial.suggest_float(n, 0.0, 1.0) for n in names])

    study.optimize(objective, n_trials=trials)
    return hypervolume([t.values for t in study.best_trials], REFERENCE)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--vars", default="30,3", help="variable counts, comma-separated")
    # Optuna's multi-objective TPE takes ~40 s per 500-trial study here: fewer seeds (0: skip).
    parser.add_argument("--tpe-seeds", type=int, default=3)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    samplers = [
        ("nsga2 (optuna default)", lambda s: optuna.samplers.NSGAIISampler(seed=s), args.seeds),
        (
            "tpe (multi-objective, optuna default)",
            lambda s: optuna.samplers.TPESampler(seed=s),
            args.tpe_seeds,
        ),
    ]
    samplers = [s for s in samplers if s[2] > 0]
    print(f"{args.trials} trials, reference point {REFERENCE}")
    for n_vars in [int(v) for v in args.vars.split(",")]:
        for problem in ["zdt1", "zdt2"]:
            print(f"{problem}, {n_vars} variables:")
            for name, make, seeds in samplers:
                started = time.perf_counter()
                volumes = [run(problem, make(s), args.trials, n_vars) for s in range(seeds)]
                print(
                    f"  {name:<46} {seeds:>2} seeds: "
                    f"median hypervolume {statistics.median(volumes):.4f} "
                    f"(min {min(volumes):.4f}, max {max(volumes):.4f}) "
                    f"{time.perf_counter() - started:.1f} s"
                )


if __name__ == "__main__":
    main()
