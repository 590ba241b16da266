"""Optuna's pruners on the learning curves `benches/src/bin/pruning.rs` writes: the figures
that `benches/compare_pruning.sh` sets beside Kiln's.

    cargo run --release -p kiln-benches --bin pruning -- --write-curves /tmp/curves.json
    /tmp/optuna-venv/bin/python benches/optuna_pruning.py /tmp/curves.json

Prints, per pruner (Optuna's defaults), the mean steps trained per seed and the median and
mean regret (best final value found - best final value among all curves).
"""

import json
import statistics
import sys

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)


def replay(pruner, curves):
    steps = 0

    def objective(trial):
        nonlocal steps
        curve = curves[trial.number]
        for t, y in enumerate(curve):
            steps += 1
            trial.report(y, t + 1)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return curve[-1]

    study = optuna.create_study(
        study_name="pruning",  # as Kiln's study: Hyperband assigns brackets by a hash of it
        direction="minimize",
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=pruner,
    )
    study.optimize(objective, n_trials=len(curves))
    best = min(t.value for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE)
    return steps, best - min(c[-1] for c in curves)


def main():
    sets = json.load(open(sys.argv[1]))
    print(f"{len(sets)} seeds × {len(sets[0])} configurations × {len(sets[0][0])} steps")
    print("pruner\tmean steps\tmedian regret\tmean regret")
    pruners = {
        "none": optuna.pruners.NopPruner,
        "median": optuna.pruners.MedianPruner,
        "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
        "hyperband": optuna.pruners.HyperbandPruner,
    }
    for name, make in pruners.items():
        runs = [replay(make(), curves) for curves in sets]
        steps = [s for s, _ in runs]
        regrets = [r for _, r in runs]
        print(
            f"{name}\t{statistics.mean(steps):.0f}\t{statistics.median(regrets):.4f}"
            f"\t{statistics.mean(regrets):.4f}"
        )


if __name__ == "__main__":
    main()
