//! What a trial needs of its study, and no more: the study's id and direction, its storage,
//! sampler and pruner, and the cache of trials that pruning reads. Studies own one and share
//! it with their trials.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::direction::Direction;
use crate::error::Result;
use crate::frozen::{FrozenTrial, TrialState};
use crate::pruner::{Pruner, StepIndex, StudyView};
use crate::sampler::Sampler;
use crate::storage::Storage;

/// The parts of a study its trials use.
pub(crate) struct TrialContext {
    /// The study's id in the storage.
    pub(crate) id: u64,
    /// The study's name.
    pub(crate) name: String,
    /// Minimize or maximize, per objective (at least one).
    pub(crate) directions: Vec<Direction>,
    /// Where trials are kept.
    pub(crate) storage: Arc<dyn Storage>,
    /// Proposes parameters.
    pub(crate) sampler: Box<dyn Sampler>,
    /// Stops unpromising trials.
    pub(crate) pruner: Box<dyn Pruner>,
    /// The study's trials as pruning last saw them.
    pub(crate) cache: Mutex<TrialCache>,
}

impl TrialContext {
    pub(crate) fn new(
        id: u64,
        name: String,
        directions: Vec<Direction>,
        storage: Arc<dyn Storage>,
        sampler: Box<dyn Sampler>,
        pruner: Box<dyn Pruner>,
    ) -> Self {
        Self {
            id,
            name,
            directions,
            storage,
            sampler,
            pruner,
            cache: Mutex::new(TrialCache::default()),
        }
    }

    /// The first (in a single-objective study, the only) objective's direction.
    pub(crate) fn direction(&self) -> Direction {
        self.directions[0]
    }

    /// Runs `f` on the study's trials, brought up to date by reading only what may have
    /// changed: trials created since the last read and those unfinished then. A finished trial
    /// never changes, so each is read once (and a completed one indexed once for the
    /// pruners); a call costs the new and the running trials, not the whole study (Optuna's
    /// cached storage does the same).
    pub(crate) fn with_trials<T>(&self, f: impl FnOnce(&StudyView<'_>) -> T) -> Result<T> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.refresh(self.storage.as_ref(), self.id)?;
        Ok(f(
            &StudyView::new(&cache.trials, &cache.steps).named(&self.name)
        ))
    }
}

/// Trials by id order, with the newest id read and the ids read unfinished, and the completed
/// trials' values indexed by step.
#[derive(Debug, Default)]
pub(crate) struct TrialCache {
    trials: Vec<FrozenTrial>,
    steps: StepIndex,
    index: HashMap<u64, usize>,
    newest: Option<u64>,
    open: Vec<u64>,
}

impl TrialCache {
    fn refresh(&mut self, storage: &dyn Storage, study: u64) -> Result<()> {
        let changed = storage.trials_changed(study, self.newest, &self.open)?;
        self.open.clear();
        for trial in changed {
            if !trial.state.is_finished() {
                self.open.push(trial.id);
            }
            self.newest = Some(self.newest.map_or(trial.id, |n| n.max(trial.id)));
            if trial.state == TrialState::Complete {
                self.steps.add(&trial);
            }
            match self.index.get(&trial.id) {
                Some(&i) => self.trials[i] = trial,
                None => {
                    self.index.insert(trial.id, self.trials.len());
                    self.trials.push(trial);
                }
            }
        }
        self.steps.settle();
        Ok(())
    }
}
