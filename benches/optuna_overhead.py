"""Optuna's TPE sampler overhead, to compare with `cargo bench -p kiln-benches --bench tune_overhead`.

    python3 -m venv /tmp/optuna-venv && /tmp/optuna-venv/bin/pip install optuna
    /tmp/optuna-venv/bin/python benches/optuna_overhead.py

Builds studies holding 100, 500 and 1000 completed trials of the same 6-D float space on
[0, 1]^6 (sphere objective) that the Rust bench uses, then times the default (multivariate)
TPE's proposal for the next trial: `infer_relative_search_space` plus `sample_relative`, the
work a trial's first `suggest_*` call triggers. Prints the median of 20 proposals.
"""

import statistics
import time

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)


def xorshift():
    state = 0x2545F4914F6CDD1D
    mask = (1 << 64) - 1
    while True:
        state ^= (state << 13) & mask
        state ^= state >> 7
        state ^= (state << 17) & mask
        yield (state >> 11) / float(1 << 53)


def study_with(n):
    draws = xorshift()
    dist = optuna.distributions.FloatDistribution(0.0, 1.0)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    trials = []
    for _ in range(n):
        params = {f"x{k}": next(draws) for k in range(6)}
        value = sum((x - 0.3) ** 2 for x in params.values())
        trials.append(
            optuna.trial.create_trial(
                params=params, distributions={k: dist for k in params}, value=value
            )
        )
    study.add_trials(trials)
    return study


def main():
    for n in (100, 500, 1000):
        study = study_with(n)
        sampler = study.sampler
        times = []
        for _ in range(20):
            trial = study.ask()
            frozen = study._storage.get_trial(trial._trial_id)
            start = time.perf_counter()
            space = sampler.infer_relative_search_space(study, frozen)
            sampler.sample_relative(study, frozen, space)
            times.append(time.perf_counter() - start)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        print(f"optuna {optuna.__version__} tpe multivariate, {n} trials: "
              f"{statistics.median(times) * 1e3:.2f} ms per proposal")


if __name__ == "__main__":
    main()
