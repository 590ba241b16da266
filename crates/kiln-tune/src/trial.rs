//! The objective's handle on one trial: define-by-run suggestions, reports and pruning.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::context::TrialContext;
use crate::distribution::{Distribution, ParamValue};
use crate::error::{Result, TuneError, invalid};
use crate::frozen::{FrozenTrial, Param};
use crate::sampler::History;

/// One evaluation of the objective. Ask it for parameter values; conditional spaces are plain
/// `if`s in the objective. A name asked twice returns the same value.
pub struct Trial {
    study: Arc<TrialContext>,
    /// Shared with [`TrialReporter`]s.
    shared: Arc<Shared>,
    record: FrozenTrial,
    /// The study's trials when this one first sampled (the sampler's view).
    history: Option<Vec<FrozenTrial>>,
    /// Values drawn jointly at the first suggestion.
    relative: Option<BTreeMap<String, (Distribution, f64)>>,
}

/// What a trial shares with its reporters: reported values and whether it was pruned.
#[derive(Debug, Default)]
struct Shared {
    intermediate: Mutex<BTreeMap<u64, f64>>,
    pruned: AtomicBool,
}

impl Shared {
    fn intermediate(&self) -> MutexGuard<'_, BTreeMap<u64, f64>> {
        self.intermediate
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for Trial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trial")
            .field("number", &self.record.number)
            .field("params", &self.record.values())
            .finish()
    }
}

impl Trial {
    pub(crate) fn new(study: Arc<TrialContext>, record: FrozenTrial) -> Self {
        let shared = Arc::new(Shared::default());
        *shared.intermediate() = record.intermediate.clone();
        Self {
            study,
            shared,
            record,
            history: None,
            relative: None,
        }
    }

    /// The trial's number within the study (0-based).
    pub fn number(&self) -> u64 {
        self.record.number
    }

    /// The storage id.
    pub(crate) fn id(&self) -> u64 {
        self.record.id
    }

    /// The parameters suggested so far.
    pub fn params(&self) -> BTreeMap<String, ParamValue> {
        self.record.values()
    }

    /// The record as storage keeps it (with the values reported so far).
    pub fn record(&self) -> FrozenTrial {
        let mut record = self.record.clone();
        record.intermediate = self.shared.intermediate().clone();
        record
    }

    /// A handle that reports for this trial from elsewhere (a training loop's epoch observer,
    /// another thread) and asks the pruner.
    pub fn reporter(&self) -> TrialReporter {
        TrialReporter {
            study: Arc::clone(&self.study),
            shared: Arc::clone(&self.shared),
            record: self.record.clone(),
        }
    }

    /// Whether a report (here or through a [`TrialReporter`]) was answered with "prune", or
    /// [`pruned`](Self::pruned) was called.
    pub fn was_pruned(&self) -> bool {
        self.shared.pruned.load(Ordering::Relaxed)
    }

    /// A real in `[low, high]`; finish with `.uniform()`, `.log()` or `.step(q)`.
    pub fn suggest_float(&mut self, name: &str, low: f64, high: f64) -> FloatSuggestion<'_> {
        FloatSuggestion {
            trial: self,
            name: name.to_owned(),
            low,
            high,
        }
    }

    /// An integer in `[low, high]`; finish with `.uniform()`, `.log()` or `.step(q)`.
    pub fn suggest_int(&mut self, name: &str, low: i64, high: i64) -> IntSuggestion<'_> {
        IntSuggestion {
            trial: self,
            name: name.to_owned(),
            low,
            high,
        }
    }

    /// One of `choices`.
    pub fn suggest_categorical<T>(&mut self, name: &str, choices: &[T]) -> Result<T>
    where
        T: Clone + Into<ParamValue>,
    {
        let values: Vec<ParamValue> = choices.iter().cloned().map(Into::into).collect();
        let internal =
            self.suggest_internal(name, &Distribution::Categorical { choices: values })?;
        Ok(choices[internal as usize].clone())
    }

    /// `true` or `false`.
    pub fn suggest_bool(&mut self, name: &str) -> Result<bool> {
        self.suggest_categorical(name, &[false, true])
    }

    /// A value from any distribution.
    pub fn suggest(&mut self, name: &str, distribution: &Distribution) -> Result<ParamValue> {
        let internal = self.suggest_internal(name, distribution)?;
        Ok(distribution.to_external(internal))
    }

    fn suggest_internal(&mut self, name: &str, distribution: &Distribution) -> Result<f64> {
        distribution.validate(name)?;
        if let Some(p) = self.record.params.get(name) {
            if &p.distribution != distribution {
                return Err(TuneError::ConflictingDistribution {
                    name: name.to_owned(),
                    first: p.distribution.to_string(),
                    second: distribution.to_string(),
                });
            }
            return Ok(p.internal);
        }
        let internal = if let Some(value) = self.record.fixed.get(name) {
            distribution.to_internal(value).ok_or_else(|| {
                invalid(
                    name,
                    format!("the enqueued value {value} is not in {distribution}"),
                )
            })?
        } else {
            self.sample(name, distribution)?
        };
        self.study
            .storage
            .set_param(self.record.id, name, distribution, internal)?;
        self.record.params.insert(
            name.to_owned(),
            Param {
                distribution: distribution.clone(),
                internal,
            },
        );
        Ok(internal)
    }

    fn sample(&mut self, name: &str, distribution: &Distribution) -> Result<f64> {
        if self.history.is_none() {
            self.history = Some(self.study.storage.trials(self.study.id)?);
        }
        let trials = self.history.as_deref().unwrap_or_default();
        let history = History {
            directions: &self.study.directions,
            trials,
        };
        if self.relative.is_none() {
            self.relative = Some(self.study.sampler.sample_relative(&history, &self.record));
        }
        if let Some((d, v)) = self.relative.as_ref().and_then(|r| r.get(name))
            && d == distribution
        {
            return Ok(*v);
        }
        Ok(self
            .study
            .sampler
            .sample_independent(&history, &self.record, name, distribution))
    }

    /// Reports an intermediate value (a validation metric after an epoch) at `step`.
    pub fn report(&mut self, step: u64, value: f64) -> Result<()> {
        report(&self.study, &self.shared, self.record.id, step, value)
    }

    /// Whether the pruner says to stop now, given the latest report.
    pub fn should_prune(&self) -> Result<bool> {
        should_prune(&self.study, &self.shared, &self.record)
    }

    /// The error an objective returns to mark this trial pruned; it may be wrapped in any
    /// error type (`anyhow`, the objective's own), as calling this marks the trial.
    pub fn pruned(&self) -> TuneError {
        pruned(&self.shared)
    }
}

fn report(study: &TrialContext, shared: &Shared, id: u64, step: u64, value: f64) -> Result<()> {
    study.storage.report(id, step, value)?;
    shared.intermediate().insert(step, value);
    Ok(())
}

fn should_prune(study: &TrialContext, shared: &Shared, record: &FrozenTrial) -> Result<bool> {
    if study.directions.len() > 1 {
        return Err(invalid(
            "pruner",
            "pruning compares one reported value per step, and this study has several \
             objectives; run multi-objective studies without a pruner",
        ));
    }
    let mut current = record.clone();
    current.intermediate = shared.intermediate().clone();
    let prune =
        study.with_trials(|view| study.pruner.prune_view(study.direction(), view, &current))?;
    if prune {
        shared.pruned.store(true, Ordering::Relaxed);
    }
    Ok(prune)
}

fn pruned(shared: &Shared) -> TuneError {
    // Remembered, so the trial ends pruned whatever error type carries this one out of the
    // objective (`anyhow`, the user's own): the study does not rely on downcasting it.
    shared.pruned.store(true, Ordering::Relaxed);
    TuneError::Pruned {
        step: shared
            .intermediate()
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0),
    }
}

/// Reports for a trial from outside the objective's borrow, e.g. from a trainer's epoch
/// observer: `Send`, `'static`, cheap to clone.
#[derive(Clone)]
pub struct TrialReporter {
    study: Arc<TrialContext>,
    shared: Arc<Shared>,
    record: FrozenTrial,
}

impl std::fmt::Debug for TrialReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrialReporter")
            .field("number", &self.record.number)
            .finish()
    }
}

impl TrialReporter {
    /// Reports an intermediate value at `step`.
    pub fn report(&self, step: u64, value: f64) -> Result<()> {
        report(&self.study, &self.shared, self.record.id, step, value)
    }

    /// Whether the pruner says to stop now (remembered: see [`Trial::was_pruned`]).
    pub fn should_prune(&self) -> Result<bool> {
        should_prune(&self.study, &self.shared, &self.record)
    }

    /// The error an objective returns to mark the trial pruned.
    pub fn pruned(&self) -> TuneError {
        pruned(&self.shared)
    }
}

/// A float suggestion awaiting its scale.
#[must_use = "finish with .uniform(), .log() or .step(q)"]
pub struct FloatSuggestion<'a> {
    trial: &'a mut Trial,
    name: String,
    low: f64,
    high: f64,
}

impl FloatSuggestion<'_> {
    fn finish(self, log: bool, step: Option<f64>) -> Result<f64> {
        let d = Distribution::Float {
            low: self.low,
            high: self.high,
            log,
            step,
        };
        self.trial.suggest_internal(&self.name, &d)
    }

    /// Uniform on `[low, high]`.
    pub fn uniform(self) -> Result<f64> {
        self.finish(false, None)
    }

    /// Log-uniform (`low > 0`).
    pub fn log(self) -> Result<f64> {
        self.finish(true, None)
    }

    /// On the grid `low + k · step`.
    pub fn step(self, step: f64) -> Result<f64> {
        self.finish(false, Some(step))
    }
}

/// An integer suggestion awaiting its scale.
#[must_use = "finish with .uniform(), .log() or .step(q)"]
pub struct IntSuggestion<'a> {
    trial: &'a mut Trial,
    name: String,
    low: i64,
    high: i64,
}

impl IntSuggestion<'_> {
    fn finish(self, log: bool, step: i64) -> Result<i64> {
        let d = Distribution::Int {
            low: self.low,
            high: self.high,
            log,
            step,
        };
        Ok(self.trial.suggest_internal(&self.name, &d)?.round() as i64)
    }

    /// Every integer equally likely.
    pub fn uniform(self) -> Result<i64> {
        self.finish(false, 1)
    }

    /// Log-uniform (`low ≥ 1`): small values more often, as for layer widths.
    pub fn log(self) -> Result<i64> {
        self.finish(true, 1)
    }

    /// `low + k · step`.
    pub fn step(self, step: i64) -> Result<i64> {
        self.finish(false, step)
    }
}
