//! NSGA-II (Deb et al., 2002), the genetic algorithm Optuna uses by default for studies with
//! several objectives.
//!
//! Trials are numbered into generations of `population_size`. Generation 0 is drawn at random.
//! The parents of generation `g` are the elite of the previous parents and generation `g − 1`'s
//! completed trials: whole non-dominated fronts while they fit, then the front that does not fit
//! by crowding distance. A child takes two parents by binary tournament (lower front, then
//! larger crowding distance), crosses them with probability `crossover_prob`, and mutates each
//! parameter with probability `1 / n_params`. Everything is recomputed from the study's
//! completed trials, so workers on several machines share no state but the storage and a
//! resumed study goes on where it stopped; a trial that starts while the previous generation
//! still runs sees the parents its completed trials give.

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::random::uniform;
use super::{History, RandomSampler, Sampler, rng_for};
use crate::distribution::Distribution;
use crate::frozen::{FrozenTrial, TrialState};
use crate::pareto::{crowding_distance, losses, nondominated_fronts};

/// How a child's parameters come from its two parents.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Crossover {
    /// Each parameter from the second parent with probability `swapping_prob`, else from the
    /// first (Optuna's default, with 0.5).
    Uniform {
        /// The chance of taking a parameter from the second parent.
        swapping_prob: f64,
    },
    /// Simulated binary crossover (Deb & Agrawal, 1995) on numeric parameters, in their
    /// working space (log for log distributions), bounded by their range: a child near the
    /// parents, nearer for a larger distribution index `eta`; categorical parameters are
    /// swapped uniformly.
    Sbx {
        /// The distribution index (20 in Deb's NSGA-II).
        eta: f64,
    },
}

/// How a parameter chosen for mutation changes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mutation {
    /// Drawn afresh, uniformly over its whole range (Optuna's).
    Resample,
    /// Polynomial mutation (Deb & Goyal, 1996): a perturbation around the value, smaller for a
    /// larger distribution index `eta`; categorical parameters are drawn afresh.
    Polynomial {
        /// The distribution index (20 in Deb's NSGA-II).
        eta: f64,
    },
}

/// NSGA-II for multi-objective studies (it handles one objective too); the default sampler of
/// a study with several directions. See the module documentation for the algorithm and
/// docs/tuning.md for its hypervolume against Optuna's NSGA-II.
#[derive(Debug, Clone)]
pub struct Nsga2Sampler {
    seed: u64,
    population_size: usize,
    crossover: Crossover,
    crossover_prob: f64,
    mutation: Mutation,
    mutation_prob: Option<f64>,
    random: RandomSampler,
}

impl Nsga2Sampler {
    /// NSGA-II with `seed` and Deb's operators: populations of 50, simulated binary crossover
    /// (η = 20) of every numeric parameter of a child with probability 0.9 (Deb's code crosses
    /// each parameter with probability 0.5), polynomial mutation (η = 20) of each parameter with
    /// probability 1 / n_params. (Optuna's defaults, uniform crossover and mutation by redrawing, are
    /// [`with_crossover`](Self::with_crossover) and [`with_mutation`](Self::with_mutation)
    /// away; docs/tuning.md measures both.)
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            population_size: 50,
            crossover: Crossover::Sbx { eta: 20.0 },
            crossover_prob: 0.9,
            mutation: Mutation::Polynomial { eta: 20.0 },
            mutation_prob: None,
            random: RandomSampler::new(seed),
        }
    }

    /// Trials per generation (default 50; at least 2).
    pub fn with_population_size(mut self, n: usize) -> Self {
        self.population_size = n.max(2);
        self
    }

    /// How parents are combined (default: simulated binary crossover, η = 20).
    pub fn with_crossover(mut self, crossover: Crossover) -> Self {
        self.crossover = crossover;
        self
    }

    /// The chance that a child is a crossover of its parents rather than a copy of the first
    /// (default 0.9).
    pub fn with_crossover_prob(mut self, p: f64) -> Self {
        self.crossover_prob = p.clamp(0.0, 1.0);
        self
    }

    /// How a parameter mutates (default: polynomial, η = 20).
    pub fn with_mutation(mut self, mutation: Mutation) -> Self {
        self.mutation = mutation;
        self
    }

    /// The chance that each parameter mutates (default: 1 / the number of parameters).
    pub fn with_mutation_prob(mut self, p: f64) -> Self {
        self.mutation_prob = Some(p.clamp(0.0, 1.0));
        self
    }

    /// The parents of generation `generation`, with their front and crowding distance.
    fn parents<'a>(&self, history: &History<'a>, generation: u64) -> Vec<Member<'a>> {
        let pop = self.population_size as u64;
        let objectives = history.directions.len();
        let mut by_generation: Vec<Vec<Member<'a>>> = vec![Vec::new(); generation as usize];
        for t in history.trials {
            let g = t.number / pop;
            if g >= generation || t.state != TrialState::Complete {
                continue;
            }
            let values = t.objective_values();
            if values.len() != objectives || values.iter().any(|v| !v.is_finite()) {
                continue;
            }
            by_generation[g as usize].push(Member {
                trial: t,
                loss: losses(&values, history.directions),
                front: 0,
                crowding: 0.0,
            });
        }
        let mut parents: Vec<Member<'a>> = Vec::new();
        for members in by_generation {
            parents.extend(members);
            parents = self.elite(parents);
        }
        parents
    }

    /// The best `population_size` of `candidates`, each marked with its front and crowding
    /// distance among the chosen.
    fn elite<'a>(&self, mut candidates: Vec<Member<'a>>) -> Vec<Member<'a>> {
        let points: Vec<Vec<f64>> = candidates.iter().map(|m| m.loss.clone()).collect();
        let mut chosen = Vec::with_capacity(self.population_size);
        for (rank, front) in nondominated_fronts(&points).into_iter().enumerate() {
            if chosen.len() >= self.population_size {
                break;
            }
            let losses: Vec<&[f64]> = front.iter().map(|&i| points[i].as_slice()).collect();
            let crowding = crowding_distance(&losses);
            let mut members: Vec<(usize, f64)> = front.into_iter().zip(crowding).collect();
            // The front that does not fit keeps its least crowded members; ties by number.
            members.sort_by(|a, b| {
                b.1.total_cmp(&a.1).then(
                    candidates[a.0]
                        .trial
                        .number
                        .cmp(&candidates[b.0].trial.number),
                )
            });
            members.truncate(self.population_size - chosen.len());
            for (i, c) in members {
                let m = &mut candidates[i];
                m.front = rank;
                m.crowding = c;
                chosen.push(i);
            }
        }
        chosen.sort_unstable();
        chosen.into_iter().map(|i| candidates[i].clone()).collect()
    }

    /// A parent by binary tournament: the lower front wins, then the larger crowding distance.
    fn tournament<'p, 'a>(parents: &'p [Member<'a>], rng: &mut ChaCha8Rng) -> &'p Member<'a> {
        let a = &parents[rng.random_range(0..parents.len())];
        let b = &parents[rng.random_range(0..parents.len())];
        match a.front.cmp(&b.front) {
            std::cmp::Ordering::Less => a,
            std::cmp::Ordering::Greater => b,
            std::cmp::Ordering::Equal if a.crowding >= b.crowding => a,
            std::cmp::Ordering::Equal => b,
        }
    }
}

/// A candidate parent.
#[derive(Debug, Clone)]
struct Member<'a> {
    trial: &'a FrozenTrial,
    loss: Vec<f64>,
    front: usize,
    crowding: f64,
}

/// The parameters every completed trial has, with one distribution each (the space the
/// genetic operators work on; others are sampled independently).
fn common_space(history: &History<'_>) -> BTreeMap<String, Distribution> {
    let mut space: Option<BTreeMap<String, Distribution>> = None;
    for t in history
        .trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
    {
        match &mut space {
            None => {
                space = Some(
                    t.params
                        .iter()
                        .map(|(k, p)| (k.clone(), p.distribution.clone()))
                        .collect(),
                );
            }
            Some(s) => s.retain(|k, d| t.params.get(k).is_some_and(|p| &p.distribution == d)),
        }
    }
    space.unwrap_or_default()
}

impl Sampler for Nsga2Sampler {
    fn sample_relative(
        &self,
        history: &History<'_>,
        trial: &FrozenTrial,
    ) -> BTreeMap<String, (Distribution, f64)> {
        let generation = trial.number / self.population_size as u64;
        if generation == 0 {
            return BTreeMap::new();
        }
        let parents = self.parents(history, generation);
        let space = common_space(history);
        if parents.is_empty() || space.is_empty() {
            return BTreeMap::new();
        }
        let mut rng = rng_for(self.seed, trial.number, "nsga2");
        let first = Self::tournament(&parents, &mut rng);
        let second = Self::tournament(&parents, &mut rng);
        let cross = rng.random::<f64>() < self.crossover_prob;
        let mutation_prob = self
            .mutation_prob
            .unwrap_or(1.0 / space.len().max(1) as f64);
        let mut child = BTreeMap::new();
        for (name, distribution) in space {
            let (Some(a), Some(b)) = (
                first.trial.params.get(&name),
                second.trial.params.get(&name),
            ) else {
                continue;
            };
            let (a, b) = (a.internal, b.internal);
            let categorical = matches!(distribution, Distribution::Categorical { .. });
            let mut value = if !cross {
                a
            } else {
                match self.crossover {
                    Crossover::Sbx { eta } if !categorical => {
                        let (lo, hi) = distribution.working_range();
                        let w = sbx(
                            distribution.to_working(a),
                            distribution.to_working(b),
                            (lo, hi),
                            eta,
                            &mut rng,
                        );
                        distribution.working_to_internal(w)
                    }
                    Crossover::Sbx { .. } => {
                        if rng.random::<f64>() < 0.5 {
                            b
                        } else {
                            a
                        }
                    }
                    Crossover::Uniform { swapping_prob } => {
                        if rng.random::<f64>() < swapping_prob {
                            b
                        } else {
                            a
                        }
                    }
                }
            };
            if rng.random::<f64>() < mutation_prob {
                value = match self.mutation {
                    Mutation::Polynomial { eta } if !categorical => {
                        let (lo, hi) = distribution.working_range();
                        let w = polynomial(distribution.to_working(value), (lo, hi), eta, &mut rng);
                        distribution.working_to_internal(w)
                    }
                    _ => uniform(&distribution, &mut rng),
                };
            }
            let value = distribution.snap(value);
            child.insert(name, (distribution, value));
        }
        child
    }

    fn sample_independent(
        &self,
        history: &History<'_>,
        trial: &FrozenTrial,
        name: &str,
        distribution: &Distribution,
    ) -> f64 {
        self.random
            .sample_independent(history, trial, name, distribution)
    }
}

/// One child of simulated binary crossover of `x1` and `x2` within `[lo, hi]` (Deb's bounded
/// form), either of the pair with equal chance.
fn sbx(x1: f64, x2: f64, (lo, hi): (f64, f64), eta: f64, rng: &mut ChaCha8Rng) -> f64 {
    let u = rng.random::<f64>();
    let pick_first = rng.random::<f64>() < 0.5;
    let (y1, y2) = if x1 <= x2 { (x1, x2) } else { (x2, x1) };
    let gap = y2 - y1;
    if gap < 1e-14 || hi <= lo {
        return if pick_first { x1 } else { x2 };
    }
    let spread = |beta: f64| {
        let alpha = 2.0 - beta.powf(-(eta + 1.0));
        if u <= 1.0 / alpha {
            (u * alpha).powf(1.0 / (eta + 1.0))
        } else {
            (1.0 / (2.0 - u * alpha)).powf(1.0 / (eta + 1.0))
        }
    };
    let c1 = 0.5 * ((y1 + y2) - spread(1.0 + 2.0 * (y1 - lo) / gap) * gap);
    let c2 = 0.5 * ((y1 + y2) + spread(1.0 + 2.0 * (hi - y2) / gap) * gap);
    let c = if pick_first { c1 } else { c2 };
    c.clamp(lo, hi)
}

/// Polynomial mutation of `y` within `[lo, hi]` (Deb's bounded form).
fn polynomial(y: f64, (lo, hi): (f64, f64), eta: f64, rng: &mut ChaCha8Rng) -> f64 {
    let span = hi - lo;
    if span <= 0.0 {
        return y;
    }
    let u = rng.random::<f64>();
    let power = 1.0 / (eta + 1.0);
    let delta = if u < 0.5 {
        let xy = 1.0 - (y - lo) / span;
        let val = 2.0 * u + (1.0 - 2.0 * u) * xy.powf(eta + 1.0);
        val.powf(power) - 1.0
    } else {
        let xy = 1.0 - (hi - y) / span;
        let val = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * xy.powf(eta + 1.0);
        1.0 - val.powf(power)
    };
    (y + delta * span).clamp(lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_stay_in_bounds_and_near_the_parents() {
        let mut rng = rng_for(1, 0, "t");
        for _ in 0..1000 {
            let c = sbx(0.2, 0.4, (0.0, 1.0), 20.0, &mut rng);
            assert!((0.0..=1.0).contains(&c));
            // η = 20 keeps children close: within the parents' gap of them, nearly always.
            assert!((0.0..=0.6).contains(&c), "{c}");
            let m = polynomial(0.99, (0.0, 1.0), 20.0, &mut rng);
            assert!((0.0..=1.0).contains(&m));
        }
        // Equal parents give that value back.
        assert_eq!(sbx(0.3, 0.3, (0.0, 1.0), 20.0, &mut rng), 0.3);
    }
}
