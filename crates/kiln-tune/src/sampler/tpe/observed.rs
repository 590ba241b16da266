//! The history as the model sees it: observed trials, their key sets and values, and the
//! recency weights.

use super::History;
use super::cache::{FrontMemo, ParamCache};
use crate::distribution::Distribution;
use crate::frozen::{FrozenTrial, Param, TrialState};
use crate::pareto::{best_subset, losses};

/// The finished trials that inform the model (complete with a finite value, and pruned, as
/// the worst), with their parameters as the [`ParamCache`] read them: each trial points at its
/// key set and its internal values in name order, instead of being looked up by name for each
/// group.
pub(super) struct Observed<'a> {
    pub(super) trials: Vec<&'a FrozenTrial>,
    /// Per trial, the index of its key set.
    pub(super) keyset: Vec<u32>,
    /// Per trial, where its values start in `values`.
    pub(super) start: Vec<u32>,
    /// Internal values, each trial's in its key set's order.
    pub(super) values: &'a [f64],
    pub(super) keysets: Vec<KeySet<'a>>,
    /// The last multi-objective split (see [`FrontMemo`]).
    front: &'a std::cell::RefCell<FrontMemo>,
}

/// The observed trials that hold a group's parameters.
pub(super) struct Selection {
    /// Indices into [`Observed::trials`].
    pub(super) rows: Vec<usize>,
    /// Per key set, each name's position in it (`None`: the key set lacks one).
    pub(super) positions: Vec<Option<Vec<usize>>>,
}

/// Parameter names that occur together, in name order.
pub(super) struct KeySet<'a> {
    pub(super) names: Vec<&'a str>,
    /// Per name: the first trial's distribution, and whether every trial with these names has it.
    pub(super) dists: Vec<(&'a Distribution, bool)>,
}

impl<'a> Observed<'a> {
    pub(super) fn new(history: &History<'a>, cache: &'a mut ParamCache) -> Self {
        cache.tidy();
        let limit = 4 * history.trials.len() as u64 + 1024;
        let mut trials = Vec::with_capacity(history.trials.len());
        let mut read = Vec::with_capacity(history.trials.len());
        for t in history.trials {
            let finished = t.state == TrialState::Complete && t.value.is_some_and(f64::is_finite)
                || t.state == TrialState::Pruned;
            if finished {
                trials.push(t);
                read.push(cache.read(t, limit));
            }
        }
        let cache: &'a ParamCache = cache;
        // This call's key sets, in first-seen order, with the distribution variants its trials
        // use (the first one's first).
        let mut local: Vec<Option<u32>> = vec![None; cache.keysets.len()];
        let mut used: Vec<(usize, Vec<u32>)> = Vec::new();
        let mut keyset = Vec::with_capacity(trials.len());
        let mut start = Vec::with_capacity(trials.len());
        for &(k, variant, at) in &read {
            let l = *local[k as usize].get_or_insert_with(|| {
                used.push((k as usize, vec![variant]));
                used.len() as u32 - 1
            });
            let variants = &mut used[l as usize].1;
            if !variants.contains(&variant) {
                variants.push(variant);
            }
            keyset.push(l);
            start.push(at);
        }
        let keysets = used
            .into_iter()
            .map(|(k, variants)| {
                let known = &cache.keysets[k];
                let first = &known.variants[variants[0] as usize];
                KeySet {
                    names: known.names.iter().map(String::as_str).collect(),
                    dists: first
                        .iter()
                        .enumerate()
                        .map(|(p, d)| {
                            let same = variants[1..]
                                .iter()
                                .all(|&v| known.variants[v as usize][p] == *d);
                            (d, same)
                        })
                        .collect(),
                }
            })
            .collect();
        Observed {
            trials,
            keyset,
            start,
            values: &cache.values,
            keysets,
            front: &cache.front,
        }
    }

    /// The trials that hold every parameter of `names` with its distribution.
    pub(super) fn select(&self, names: &[(String, Distribution)]) -> Selection {
        // Per key set: each name's position, and whether the trials' distributions must be
        // checked one by one.
        let plans: Vec<Option<(Vec<usize>, bool)>> = self
            .keysets
            .iter()
            .map(|k| {
                let mut check = false;
                let positions = names
                    .iter()
                    .map(|(name, dist)| {
                        let pos = k.names.binary_search(&name.as_str()).ok()?;
                        let (first, same) = k.dists[pos];
                        check |= !same;
                        (!same || first == dist).then_some(pos)
                    })
                    .collect::<Option<Vec<usize>>>()?;
                Some((positions, check))
            })
            .collect();
        let mut rows = Vec::with_capacity(self.trials.len());
        for (r, (t, &k)) in self.trials.iter().zip(&self.keyset).enumerate() {
            let Some((positions, check)) = &plans[k as usize] else {
                continue;
            };
            if *check {
                let params: Vec<&Param> = t.params.values().collect();
                if !positions
                    .iter()
                    .zip(names)
                    .all(|(&pos, (_, d))| params[pos].distribution == *d)
                {
                    continue;
                }
            }
            rows.push(r);
        }
        Selection {
            rows,
            positions: plans.into_iter().map(|p| p.map(|(pos, _)| pos)).collect(),
        }
    }

    /// The working values of the selected trials at `picked` (positions in
    /// `selection.rows`), one column per name.
    pub(super) fn gather(
        &self,
        selection: &Selection,
        picked: &[usize],
        names: &[(String, Distribution)],
    ) -> Vec<Vec<f64>> {
        // Where each picked trial's values start, and its key set's positions.
        let (mut bases, mut plans) = (Vec::with_capacity(picked.len()), Vec::new());
        for &i in picked {
            let r = selection.rows[i];
            if let Some(positions) = &selection.positions[self.keyset[r] as usize] {
                bases.push(self.start[r] as usize);
                plans.push(positions);
            }
        }
        let uniform = plans.windows(2).all(|w| std::ptr::eq(w[0], w[1]));
        names
            .iter()
            .enumerate()
            .map(|(c, (_, d))| {
                let mut column = Vec::with_capacity(bases.len() + 1);
                match plans.first() {
                    Some(first) if uniform => {
                        let at = first[c];
                        column.extend(bases.iter().map(|&b| self.values[b + at]));
                    }
                    _ => column.extend(
                        bases
                            .iter()
                            .zip(&plans)
                            .map(|(&b, positions)| self.values[b + positions[c]]),
                    ),
                }
                if d.is_log() {
                    column.iter_mut().for_each(|v| *v = d.to_working(*v));
                }
                column
            })
            .collect()
    }

    /// Splits `rows` (indices into `trials`) into the best `γ(n) = min(⌈gamma · n⌉, 25)`
    /// complete trials and the rest (pruned trials always above), both as positions in `rows`,
    /// in trial order.
    pub(super) fn split(
        &self,
        history: &History<'_>,
        rows: &[usize],
        gamma: f64,
    ) -> (Vec<usize>, Vec<usize>) {
        let mut in_below = vec![false; rows.len()];
        if history.is_multi_objective() {
            // Several objectives: the best are MOTPE's (fronts, then a hypervolume subset).
            let usable = |t: &FrozenTrial| {
                let values = t.objective_values();
                (t.state == TrialState::Complete
                    && values.len() == history.directions.len()
                    && values.iter().all(|v| v.is_finite()))
                .then_some(values)
            };
            let at: Vec<usize> = (0..rows.len())
                .filter(|&i| usable(self.trials[rows[i]]).is_some())
                .collect();
            let n_below = ((rows.len() as f64 * gamma).ceil().min(25.0) as usize).min(at.len());
            let ids: Vec<u64> = at.iter().map(|&i| self.trials[rows[i]].id).collect();
            let mut memo = self.front.borrow_mut();
            if memo.n_below != n_below || memo.ids != ids {
                // A finished trial's values never change, so its id stands for its point.
                let points: Vec<Vec<f64>> = at
                    .iter()
                    .filter_map(|&i| usable(self.trials[rows[i]]))
                    .map(|values| losses(&values, history.directions))
                    .collect();
                *memo = FrontMemo {
                    chosen: best_subset(&points, n_below),
                    ids,
                    n_below,
                };
            }
            for &j in &memo.chosen {
                in_below[at[j]] = true;
            }
            return (0..rows.len()).partition(|&i| in_below[i]);
        }
        let mut complete: Vec<(f64, usize)> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| self.trials[**r].state == TrialState::Complete)
            .map(|(i, r)| {
                let value = self.trials[*r].value.unwrap_or(f64::INFINITY);
                (history.direction().loss(value), i)
            })
            .collect();
        let n_below = ((rows.len() as f64 * gamma).ceil().min(25.0) as usize).min(complete.len());
        if n_below > 0 {
            // Trials are in number order, so the position breaks ties as the number would.
            let order =
                |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
            if n_below < complete.len() {
                complete.select_nth_unstable_by(n_below - 1, order);
            }
            for &(_, i) in &complete[..n_below] {
                in_below[i] = true;
            }
        }
        // Weights ramp by recency: keep trial order.
        (0..rows.len()).partition(|&i| in_below[i])
    }
}

/// Optuna's default weights: equal up to 25 observations, then a linear ramp for the older
/// ones and full weight for the newest 25.
pub(super) fn default_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let ramp = n - 25;
    let mut w: Vec<f64> = (0..ramp)
        .map(|i| {
            if ramp == 1 {
                1.0 / n as f64
            } else {
                1.0 / n as f64 + (1.0 - 1.0 / n as f64) * i as f64 / (ramp - 1) as f64
            }
        })
        .collect();
    w.extend(std::iter::repeat_n(1.0, 25));
    w
}
