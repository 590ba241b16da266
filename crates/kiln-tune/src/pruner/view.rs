//! The study as a pruner sees it: every trial, and an index of the completed trials' reported
//! values by step that a study keeps up to date as trials complete, so the percentile rules
//! answer without scanning the study.

use std::collections::HashMap;

use crate::frozen::{FrozenTrial, TrialState};

/// The completed trials' reported values by step, each step's values sorted (NaN left out),
/// and how many trials completed.
#[derive(Debug, Default, Clone)]
pub(crate) struct StepIndex {
    by_step: HashMap<u64, Vec<f64>>,
    completed: usize,
    /// The last step of the longest completed trial.
    longest: Option<u64>,
    /// The lowest number of a completed trial.
    first: Option<u64>,
    /// Steps with values added since the last [`settle`](Self::settle).
    unsorted: Vec<u64>,
}

impl StepIndex {
    /// The index of `trials`' completed ones at `step` alone (what a pruner asked without a
    /// study's index needs): every completed trial counts, and all but the one with id
    /// `except` (the trial asked about) give their value at `step`.
    pub(crate) fn at_step(trials: &[FrozenTrial], step: u64, except: u64) -> Self {
        let mut index = Self::default();
        let mut values = Vec::new();
        for t in trials.iter().filter(|t| t.state == TrialState::Complete) {
            index.count(t);
            if t.id != except
                && let Some(&v) = t.intermediate.get(&step)
                && !v.is_nan()
            {
                values.push(v);
            }
        }
        values.sort_by(f64::total_cmp);
        index.by_step.insert(step, values);
        index
    }

    /// Adds a completed trial (each once: a completed trial never changes); call
    /// [`settle`](Self::settle) before reading.
    pub(crate) fn add(&mut self, trial: &FrozenTrial) {
        self.count(trial);
        for (&step, &v) in &trial.intermediate {
            if v.is_nan() {
                continue;
            }
            let values = self.by_step.entry(step).or_default();
            if values.last().is_none_or(|last| last.total_cmp(&v).is_le()) {
                // Still sorted: nothing to do for this step unless it was already unsorted.
                values.push(v);
            } else {
                values.push(v);
                self.unsorted.push(step);
            }
        }
    }

    /// Counts a completed trial, its last step and its number.
    fn count(&mut self, trial: &FrozenTrial) {
        self.completed += 1;
        if let Some((step, _)) = trial.last_step() {
            self.longest = Some(self.longest.map_or(step, |l| l.max(step)));
        }
        self.first = Some(self.first.map_or(trial.number, |f| f.min(trial.number)));
    }

    /// Sorts the steps that values were added to out of order: a stable sort, which merges a
    /// sorted run and a few new values in linear time, and sorts a first bulk load in
    /// O(n log n).
    pub(crate) fn settle(&mut self) {
        self.unsorted.sort_unstable();
        self.unsorted.dedup();
        for step in self.unsorted.drain(..) {
            if let Some(values) = self.by_step.get_mut(&step) {
                values.sort_by(f64::total_cmp);
            }
        }
    }
}

/// What a [`Pruner`](crate::Pruner) may read of its study: every trial, and the completed
/// trials' values at a step, already sorted.
#[derive(Debug, Clone, Copy)]
pub struct StudyView<'a> {
    name: &'a str,
    trials: &'a [FrozenTrial],
    index: &'a StepIndex,
}

impl<'a> StudyView<'a> {
    pub(crate) fn new(trials: &'a [FrozenTrial], index: &'a StepIndex) -> Self {
        Self {
            name: "",
            trials,
            index,
        }
    }

    /// The same view, of the study called `name`.
    pub(crate) fn named(self, name: &'a str) -> Self {
        Self { name, ..self }
    }

    /// The study's name (empty outside a study).
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// Every trial of the study, the running one included.
    pub fn trials(&self) -> &'a [FrozenTrial] {
        self.trials
    }

    /// How many trials completed.
    pub fn completed(&self) -> usize {
        self.index.completed
    }

    /// The last step of the longest completed trial (`None` before one completes).
    pub fn longest_completed(&self) -> Option<u64> {
        self.index.longest
    }

    /// The lowest number of a completed trial (`None` before one completes).
    pub fn first_completed(&self) -> Option<u64> {
        self.index.first
    }

    /// The values the completed trials reported at `step`, ascending (NaN left out).
    pub fn completed_values_at(&self, step: u64) -> &'a [f64] {
        self.index.by_step.get(&step).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pruner::tests::trial;

    #[test]
    fn an_index_grown_trial_by_trial_equals_one_built_at_once() {
        let trials: Vec<FrozenTrial> = (0..40)
            .map(|i| {
                let state = match i % 4 {
                    0 => TrialState::Pruned,
                    1 => TrialState::Running,
                    _ => TrialState::Complete,
                };
                let v = ((i * 37) % 11) as f64 - 5.0;
                trial(
                    i,
                    state,
                    &[v, -v, if i % 5 == 0 { f64::NAN } else { v * 0.5 }],
                )
            })
            .collect();
        let mut grown = StepIndex::default();
        for t in trials.iter().filter(|t| t.state == TrialState::Complete) {
            grown.add(t);
            grown.settle();
        }
        assert_eq!(grown.completed, 20);
        for step in 1..=3 {
            let once = StepIndex::at_step(&trials, step, u64::MAX);
            assert_eq!(once.completed, 20);
            let a = StudyView::new(&trials, &once).completed_values_at(step);
            assert_eq!(a, StudyView::new(&trials, &grown).completed_values_at(step));
            assert!(a.windows(2).all(|w| w[0] <= w[1]), "sorted");
            assert!(a.iter().all(|v| !v.is_nan()));
        }
        let view = StudyView::new(&trials, &grown);
        assert_eq!(view.completed_values_at(3).len(), 16);
        assert!(view.completed_values_at(9).is_empty());
        // The trial asked about counts as completed but gives no value.
        let except = StepIndex::at_step(&trials, 1, 2);
        assert_eq!(except.completed, 20);
        assert_eq!(except.by_step[&1].len(), 19);
    }
}
