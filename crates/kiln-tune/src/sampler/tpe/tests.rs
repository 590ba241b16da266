//! The TPE sampler's tests.

use super::gauss::{erfc, normal_cdf};
use super::observed::default_weights;
use super::parzen::{normal_kernels, sorted_order};
use super::*;
use crate::frozen::Param;

#[test]
fn erfc_and_weights() {
    assert!((erfc(0.0) - 1.0).abs() < 1e-7);
    assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-6);
    assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
    assert_eq!(default_weights(3), vec![1.0; 3]);
    let w = default_weights(30);
    assert_eq!(w.len(), 30);
    assert!(w[0] < w[4] && w[4] <= 1.0 && w[29] == 1.0);
}

#[test]
fn groups_follow_conditional_branches() {
    let mk = |names: &[&str]| {
        let mut t = FrozenTrial::new(0, 0);
        t.state = TrialState::Complete;
        t.value = Some(1.0);
        for n in names {
            t.params.insert(
                (*n).into(),
                Param {
                    distribution: Distribution::Float {
                        low: 0.0,
                        high: 1.0,
                        log: false,
                        step: None,
                    },
                    internal: 0.5,
                },
            );
        }
        t
    };
    let a = mk(&["model", "lr", "depth"]);
    let mut b = mk(&["model", "lr", "c"]);
    b.number = 1;
    let trials = [a, b];
    let history = History {
        directions: &[crate::direction::Direction::Minimize],
        trials: &trials,
    };
    let mut cache = ParamCache::default();
    let observed = Observed::new(&history, &mut cache);
    let groups = relative_groups(&observed, true);
    let names: Vec<Vec<&str>> = groups
        .iter()
        .map(|g| g.iter().map(|(n, _)| n.as_str()).collect())
        .collect();
    assert!(names.contains(&vec!["lr", "model"]));
    assert!(names.contains(&vec!["depth"]));
    assert!(names.contains(&vec!["c"]));
    let flat = relative_groups(&observed, false);
    assert_eq!(flat.len(), 1);
    assert_eq!(flat[0].len(), 2);
}

#[test]
fn bucket_order_matches_a_sort() {
    let mut state = 7u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    // Crowded into a sliver of the range: the comparison-sort path.
    let crowded: Vec<f64> = (0..500).map(|_| 0.5 + 1e-6 * next()).collect();
    let mut expected: Vec<(f64, u32)> = crowded.iter().copied().zip(0..).collect();
    expected.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(sorted_order(&crowded, 0.0, 1.0), expected);
    for n in [0, 1, 5, 63, 64, 200, 1000] {
        // Rounded values give ties; a few sit on the bounds.
        let mut xs: Vec<f64> = (0..n)
            .map(|_| (next() * 50.0).round() / 10.0 - 2.0)
            .collect();
        if n > 2 {
            xs[0] = -2.0;
            xs[1] = 3.0;
        }
        let mut expected: Vec<(f64, u32)> = xs.iter().copied().zip(0..).collect();
        expected.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert_eq!(sorted_order(&xs, -2.0, 3.0), expected, "n = {n}");
    }
}

#[test]
fn bandwidths_are_the_farther_neighbour_clipped() {
    // Sorted 0.1, 0.2, 0.5 on [0, 1]: the endpoints use their inner neighbour (0.3; 0.1,
    // clipped up to range / (n + 2) = 0.2), the middle its farther one (0.3).
    let (mu, sigma) = normal_kernels(vec![0.5, 0.1, 0.2], 0.0, 1.0, false);
    assert_eq!(mu, vec![0.5, 0.1, 0.2, 0.5]);
    let expected = [0.3, 0.2, 0.3, 1.0];
    for (s, e) in sigma.iter().zip(expected) {
        assert!((s - e).abs() < 1e-12, "{sigma:?}");
    }
    // One observation: the farther bound; clipped below at range / (n + 2).
    let (_, sigma) = normal_kernels(vec![0.9], 0.0, 1.0, false);
    assert!((sigma[0] - 0.9).abs() < 1e-12);
    let (_, sigma) = normal_kernels(vec![0.5, 0.5, 0.5], 0.0, 1.0, false);
    assert!((sigma[1] - 0.2).abs() < 1e-12, "{sigma:?}");
}

#[test]
fn columns_skip_trials_with_another_distribution_and_split_keeps_order() {
    let unit = Distribution::Float {
        low: 0.0,
        high: 1.0,
        log: false,
        step: None,
    };
    let wide = Distribution::Float {
        low: 0.0,
        high: 2.0,
        log: false,
        step: None,
    };
    let trials: Vec<FrozenTrial> = (0..30u64)
        .map(|i| {
            let mut t = FrozenTrial::new(i, i);
            t.state = if i == 3 {
                TrialState::Pruned
            } else {
                TrialState::Complete
            };
            t.value = Some(100.0 - i as f64);
            let d = if i % 10 == 9 { &wide } else { &unit };
            t.params.insert(
                "x".into(),
                Param {
                    distribution: d.clone(),
                    internal: i as f64 / 40.0,
                },
            );
            t
        })
        .collect();
    let history = History {
        directions: &[crate::direction::Direction::Minimize],
        trials: &trials,
    };
    let mut cache = ParamCache::default();
    let observed = Observed::new(&history, &mut cache);
    let names = [("x".to_owned(), unit.clone())];
    let selection = observed.select(&names);
    let rows = &selection.rows;
    let all: Vec<usize> = (0..rows.len()).collect();
    let columns = observed.gather(&selection, &all, &names);
    assert_eq!(rows.len(), 27);
    assert!(!rows.contains(&9) && !rows.contains(&19) && !rows.contains(&29));
    assert_eq!(columns[0][3], 3.0 / 40.0);
    let (below, above) = observed.split(&history, rows, 0.1);
    // γ(27) = 3 best: the highest numbers (lowest values) among the kept trials.
    let numbers = |picked: &[usize]| -> Vec<u64> {
        picked
            .iter()
            .map(|&i| observed.trials[rows[i]].number)
            .collect()
    };
    assert_eq!(numbers(&below), vec![26, 27, 28]);
    assert_eq!(above.len(), 24);
    assert!(numbers(&above).windows(2).all(|w| w[0] < w[1]));
    assert!(numbers(&above).contains(&3));
    // Every trial has one distribution in no group: "x" is not usable jointly.
    assert!(relative_groups(&observed, true).is_empty());
}

/// A uniform stream for tests.
fn uniform(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn windowed_density_equals_the_sum_over_every_component() {
    let mut next = uniform(11);
    let float = Distribution::Float {
        low: 0.0,
        high: 1.0,
        log: false,
        step: None,
    };
    let log = Distribution::Float {
        low: 1e-4,
        high: 1.0,
        log: true,
        step: None,
    };
    let choice = Distribution::Categorical {
        choices: vec![1.into(), 2.into(), 3.into()],
    };
    let dists = [&float, &log, &float, &choice, &float];
    for n in [70, 400, 1500] {
        // Clustered observations, as late in a study, plus a few stragglers.
        let columns: Vec<Vec<f64>> = dists
            .iter()
            .map(|d| {
                let (lo, hi) = d.working_range();
                (0..n)
                    .map(|i| match d {
                        Distribution::Categorical { .. } => (next() * 3.0).floor(),
                        _ if i % 10 == 0 => lo + (hi - lo) * next(),
                        _ => lo + (hi - lo) * (0.3 + 0.1 * next()),
                    })
                    .collect()
            })
            .collect();
        let parzen = Parzen::new(&dists, columns, 1.0);
        assert!(!parzen.blocks.is_empty());
        let mut scratch = Scratch::default();
        for _ in 0..200 {
            let x: Vec<f64> = dists
                .iter()
                .map(|d| {
                    let (lo, hi) = d.working_range();
                    match d {
                        Distribution::Categorical { .. } => (next() * 3.0).floor(),
                        _ => lo + (hi - lo) * next(),
                    }
                })
                .collect();
            let terms: Vec<f64> = (0..=n).map(|c| parzen.term(c, &x)).collect();
            let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let all = max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln();
            let fast = parzen.log_pdf(&x, &mut scratch);
            assert!(
                (fast - all).abs() <= 1e-12 * all.abs().max(1.0),
                "{fast} vs {all}"
            );
        }
    }
}

#[test]
fn a_large_mixture_is_a_density() {
    // 1-D, 500 observations near the lower bound: the truncated kernels must still
    // integrate to one over [0, 1].
    let mut next = uniform(5);
    let float = Distribution::Float {
        low: 0.0,
        high: 1.0,
        log: false,
        step: None,
    };
    let column: Vec<f64> = (0..500).map(|_| 0.05 * next() * next()).collect();
    let parzen = Parzen::new(&[&float], vec![column], 1.0);
    let mut scratch = Scratch::default();
    let steps = 200_000;
    let integral: f64 = (0..steps)
        .map(|i| {
            let x = (i as f64 + 0.5) / steps as f64;
            parzen.log_pdf(&[x], &mut scratch).exp() / steps as f64
        })
        .sum();
    assert!((integral - 1.0).abs() < 1e-3, "∫ = {integral}");
}

/// `n` complete trials of a 3-D space (one log float, one int, one categorical).
fn study_history(n: u64, id_offset: u64, seed: u64) -> Vec<FrozenTrial> {
    let mut next = uniform(seed);
    let dists = [
        (
            "lr",
            Distribution::Float {
                low: 1e-5,
                high: 1e-1,
                log: true,
                step: None,
            },
        ),
        (
            "units",
            Distribution::Int {
                low: 8,
                high: 512,
                log: false,
                step: 1,
            },
        ),
        (
            "act",
            Distribution::Categorical {
                choices: vec!["relu".into(), "tanh".into()],
            },
        ),
    ];
    (0..n)
        .map(|i| {
            let mut t = FrozenTrial::new(id_offset + i, i);
            t.state = TrialState::Complete;
            let mut value = 0.0;
            for (name, d) in &dists {
                let internal = match d {
                    Distribution::Float { .. } => (-5.0 + 4.0 * next()) * 10f64.ln(),
                    Distribution::Int { .. } => (8.0 + 504.0 * next()).round(),
                    Distribution::Categorical { .. } => (next() * 2.0).floor(),
                };
                let internal = if matches!(d, Distribution::Float { .. }) {
                    internal.exp()
                } else {
                    internal
                };
                value += next();
                t.params.insert(
                    (*name).into(),
                    Param {
                        distribution: d.clone(),
                        internal,
                    },
                );
            }
            t.value = Some(value);
            t
        })
        .collect()
}

#[test]
fn the_parameter_cache_never_serves_another_history() {
    let proposal = |sampler: &TpeSampler, trials: &[FrozenTrial]| {
        let history = History {
            directions: &[crate::direction::Direction::Minimize],
            trials,
        };
        let next = FrozenTrial::new(10_000, trials.len() as u64);
        sampler.sample_relative(&history, &next)
    };
    let a = study_history(120, 0, 1);
    // Same numbers, other ids and values (another study).
    let b = study_history(120, 1_000, 2);
    // Same ids, one trial's value changed.
    let mut c = a.clone();
    c[7].value = Some(-5.0);
    // A trial that was running is now complete with parameters.
    let mut d = a.clone();
    d[119].state = TrialState::Running;
    // Numbers far beyond the history's length are read, not kept.
    let mut e = a.clone();
    e.iter_mut().for_each(|t| t.number += 1_000_000_000);
    let shared = TpeSampler::new(3);
    for trials in [&a, &b, &c, &d, &e, &a, &c, &e] {
        let cached = proposal(&shared, trials);
        let fresh = proposal(&TpeSampler::new(3), trials);
        assert_eq!(cached, fresh);
        assert_eq!(cached.len(), 3);
    }
    // Growing histories, as in a study: every call agrees with a fresh sampler.
    let grown = TpeSampler::new(4);
    for n in [20, 21, 60, 61, 120] {
        assert_eq!(
            proposal(&grown, &a[..n]),
            proposal(&TpeSampler::new(4), &a[..n])
        );
    }
}
