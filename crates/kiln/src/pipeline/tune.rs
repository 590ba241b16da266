//! The tune stage: a study over dotted config paths, each trial a training run scored on the
//! validation part.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use kiln_track::Tracker;
use kiln_tune::{
    Direction, Distribution, MedianPruner, NopPruner, Optimize, ParamValue, QmcSampler,
    RandomSampler, Study, SuccessiveHalvingPruner, TpeSampler, Trial, TrialState,
};

use crate::pipeline::config::{Parameter, PipelineConfig, PrunerKind, SamplerKind, TuneSection};
use crate::pipeline::error::{PipelineError, Result, invalid};
use crate::tracking::track_trials;
use crate::tuning::PruneOnEpoch;

/// What a search found.
#[derive(Debug, Clone, PartialEq)]
pub struct StudySummary {
    /// The study's name.
    pub name: String,
    /// Trials run (all states).
    pub trials: usize,
    /// Trials completed.
    pub completed: usize,
    /// Trials pruned.
    pub pruned: usize,
    /// The best trial's number.
    pub best_trial: u64,
    /// The best trial's score, lower is better: validation error + 0.01 × log loss for
    /// classes, validation MSE of the standardized target for values.
    pub best_value: f64,
    /// The best trial's value at each searched path.
    pub best_params: BTreeMap<String, serde_json::Value>,
    /// The epoch at which the best trial's validation loss was lowest (the retrain runs this
    /// many epochs).
    pub best_epoch: usize,
}

/// Epochs a trial runs before a pruner may stop it.
const WARMUP: u64 = 10;

/// A trial's score at one epoch, lower is better: the validation error rate with the log loss
/// as a tie-break (`error + 0.01 · loss`) for classes, the validation MSE (of the
/// standardized target) for values.
pub(crate) fn trial_score(m: &kiln_train::EpochMetrics) -> Option<f64> {
    let loss = m.valid_loss?;
    Some(match m.valid_accuracy {
        Some(accuracy) => (1.0 - accuracy) + 0.01 * loss,
        None => loss,
    })
}

/// A trial's outcome, as the objective reports it.
pub(crate) struct TrialRun {
    /// Validation loss at the best epoch.
    pub value: f64,
    /// That epoch.
    pub best_epoch: usize,
}

/// The kiln-tune distribution of a parameter. Categorical choices are kept as their JSON
/// text, so lists (`[128, 64]`) can be searched.
fn distribution(path: &str, p: &Parameter) -> Result<Distribution> {
    let d = match p {
        Parameter::Float { low, high, log } => Distribution::Float {
            low: *low,
            high: *high,
            log: *log,
            step: None,
        },
        Parameter::Int { low, high, log } => Distribution::Int {
            low: *low,
            high: *high,
            log: *log,
            step: 1,
        },
        Parameter::Categorical { choices } => {
            if choices.is_empty() {
                return Err(invalid(
                    &format!("tune.parameters.\"{path}\".choices"),
                    "needs at least one value",
                ));
            }
            Distribution::Categorical {
                choices: choices
                    .iter()
                    .map(|c| ParamValue::Str(c.to_string()))
                    .collect(),
            }
        }
    };
    d.validate(path)
        .map_err(|e| invalid(&format!("tune.parameters.\"{path}\""), e.to_string()))?;
    Ok(d)
}

/// A suggested value as the JSON the config takes.
fn to_json(p: &Parameter, value: &ParamValue) -> serde_json::Value {
    match (p, value) {
        (Parameter::Categorical { .. }, ParamValue::Str(text)) => {
            serde_json::from_str(text).unwrap_or(serde_json::Value::String(text.clone()))
        }
        (_, ParamValue::Int(i)) => serde_json::json!(i),
        (_, ParamValue::Float(x)) => serde_json::json!(x),
        (_, ParamValue::Bool(b)) => serde_json::json!(b),
        (_, ParamValue::Str(s)) => serde_json::json!(s),
    }
}

/// The pruning observer a trial's training run reports to.
pub(crate) type Pruning = PruneOnEpoch<fn(&kiln_train::EpochMetrics) -> Option<f64>>;

/// Trains a trial's config and returns its validation loss.
pub(crate) type Objective<'a> = dyn Fn(&PipelineConfig, Pruning) -> Result<TrialRun> + Sync + 'a;

/// Runs the study: `objective` trains the trial's config and returns its validation loss.
pub(crate) fn search(
    base: &PipelineConfig,
    tune: &TuneSection,
    study_name: &str,
    tracker: Option<&Tracker>,
    objective: &Objective<'_>,
) -> Result<(PipelineConfig, StudySummary)> {
    let space: Vec<(String, Parameter, Distribution)> = tune
        .parameters
        .iter()
        .map(|(path, p)| Ok((path.clone(), p.clone(), distribution(path, p)?)))
        .collect::<Result<_>>()?;
    let mut builder = Study::builder(study_name).with_direction(Direction::Minimize);
    builder = match tune.sampler {
        SamplerKind::Tpe => builder.with_sampler(TpeSampler::new(base.seed)),
        SamplerKind::Random => builder.with_sampler(RandomSampler::new(base.seed)),
        SamplerKind::Qmc => builder.with_sampler(QmcSampler::new(base.seed)),
    };
    builder = match tune.pruner {
        // No pruning in the first epochs: a slow start (a small learning rate) is not a bad
        // trial, and early stopping ends the runs that stall.
        PrunerKind::Median => builder.with_pruner(MedianPruner::new().with_n_warmup_steps(WARMUP)),
        PrunerKind::Asha => builder.with_pruner(SuccessiveHalvingPruner::new(WARMUP, 3)),
        PrunerKind::None => builder.with_pruner(NopPruner),
    };
    if let Some(url) = &tune.storage {
        builder = builder.with_storage(kiln_tune::open_storage(url)?);
    }
    let study = builder.load_or_create()?;
    // The first error that is the config's, not the trial's, stops the search.
    let epochs: Mutex<BTreeMap<u64, usize>> = Mutex::new(BTreeMap::new());
    let score: fn(&kiln_train::EpochMetrics) -> Option<f64> = trial_score;
    let trial_objective =
        |trial: &mut Trial| -> std::result::Result<f64, kiln_tune::ObjectiveError> {
            let mut config = base.clone();
            for (path, p, d) in &space {
                let value = trial.suggest(path, d)?;
                config = config.with_value(path, to_json(p, &value))?;
            }
            config.tune = None;
            let run = objective(&config, PruneOnEpoch::new(trial.reporter(), score))?;
            if trial.was_pruned() {
                return Err(trial.pruned().into());
            }
            epochs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(trial.number(), run.best_epoch);
            Ok(run.value)
        };
    let mut options =
        Optimize::trials(tune.trials.unwrap_or(20)).with_n_jobs(tune.threads.unwrap_or(1));
    if let Some(seconds) = tune.time_budget_s {
        options = options.with_timeout(Duration::from_secs(seconds));
    }
    match tracker {
        Some(tracker) => {
            study.optimize_with(options, track_trials(tracker, &study, trial_objective))?
        }
        None => study.optimize_with(options, trial_objective)?,
    }
    let trials = study.trials()?;
    let best = study.best_trial().map_err(|e| {
        let failure = trials
            .iter()
            .find_map(|t| t.error.clone())
            .unwrap_or_else(|| "no trial completed".into());
        PipelineError::Invalid {
            key: "tune".into(),
            reason: format!("{e}; the first failure: {failure}"),
        }
    })?;
    let mut config = base.clone();
    let mut best_params = BTreeMap::new();
    for (path, p, d) in &space {
        let value = best
            .params
            .get(path)
            .map(|param| d.to_external(param.internal))
            .ok_or_else(|| invalid("tune", format!("the best trial has no `{path}`")))?;
        let json = to_json(p, &value);
        config = config.with_value(path, json.clone())?;
        best_params.insert(path.clone(), json);
    }
    let best_epoch = epochs
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&best.number)
        .copied()
        .unwrap_or_else(|| config.train.epochs.unwrap_or(1));
    let summary = StudySummary {
        name: study_name.to_owned(),
        trials: trials.len(),
        completed: trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .count(),
        pruned: trials
            .iter()
            .filter(|t| t.state == TrialState::Pruned)
            .count(),
        best_trial: best.number,
        best_value: best.value.unwrap_or(f64::NAN),
        best_params,
        best_epoch,
    };
    Ok((config, summary))
}
