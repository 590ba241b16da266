//! Sampler overhead per trial: the time TPE takes to propose one trial of a 6-D float space
//! (instant objective) given 100, 500 and 1000 completed trials. Optuna 5.0's TPE on a 2-core
//! machine takes ~13.5 ms per trial at 1000 trials (the issue's figure; `benches/optuna_overhead.py`
//! measures it on the same history here); the goal is ≤ 0.27 ms.
//!
//! `multivariate` reuses one sampler, as a study does: its parameter cache already holds the
//! finished trials (in a study, each proposal adds one). `multivariate_cold` starts a new
//! sampler every time, so every trial's parameters are read from its map.
//!
//! ```text
//! cargo bench -p kiln-benches --bench tune_overhead
//! ```

use std::collections::BTreeMap;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use kiln::tune::{
    Direction, Distribution, FrozenTrial, History, Param, Sampler, TpeSampler, TrialState,
};

/// `n` completed trials of a 6-D float space on [0, 1]^6 with a sphere objective.
fn history(n: usize) -> Vec<FrozenTrial> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let d = Distribution::Float {
        low: 0.0,
        high: 1.0,
        log: false,
        step: None,
    };
    (0..n)
        .map(|i| {
            let mut t = FrozenTrial::new(i as u64, i as u64);
            t.state = TrialState::Complete;
            let mut value = 0.0;
            for k in 0..6 {
                let x = next();
                value += (x - 0.3).powi(2);
                t.params.insert(
                    format!("x{k}"),
                    Param {
                        distribution: d.clone(),
                        internal: x,
                    },
                );
            }
            t.value = Some(value);
            t
        })
        .collect()
}

fn overhead(c: &mut Criterion) {
    let d = Distribution::Float {
        low: 0.0,
        high: 1.0,
        log: false,
        step: None,
    };
    let mut group = c.benchmark_group("tpe_trial");
    for n in [100, 500, 1000] {
        let trials = history(n);
        let h = History {
            directions: &[Direction::Minimize],
            trials: &trials,
        };
        let new = FrozenTrial::new(n as u64, n as u64);
        let multivariate = TpeSampler::new(0);
        group.bench_with_input(BenchmarkId::new("multivariate", n), &n, |b, _| {
            b.iter(|| {
                let joint: BTreeMap<String, (Distribution, f64)> =
                    multivariate.sample_relative(&h, &new);
                assert_eq!(joint.len(), 6);
                joint
            })
        });
        // A fresh sampler each time: its parameter cache starts empty, as for the first
        // proposal after a process (re)starts on a stored study.
        group.bench_with_input(BenchmarkId::new("multivariate_cold", n), &n, |b, _| {
            b.iter(|| {
                let joint = TpeSampler::new(0).sample_relative(&h, &new);
                assert_eq!(joint.len(), 6);
                joint
            })
        });
        let independent = TpeSampler::new(0).with_multivariate(false);
        group.bench_with_input(BenchmarkId::new("independent", n), &n, |b, _| {
            b.iter(|| {
                (0..6)
                    .map(|k| independent.sample_independent(&h, &new, &format!("x{k}"), &d))
                    .sum::<f64>()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
