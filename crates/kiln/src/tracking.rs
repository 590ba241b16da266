//! Training and tuning meet tracking: one line logs a trainer's epochs or a study's trials.
//!
//! ```no_run
//! use kiln::prelude::*;
//! use kiln::track::{RunStatus, Tracker};
//! use kiln::tracking::{LogEpochs, track_trials};
//! use kiln::tune::Study;
//!
//! # fn data() -> (ClassificationSet, ClassificationSet) { unimplemented!() }
//! let (train, valid) = data();
//! let tracker = Tracker::local("kiln-runs");
//!
//! // A training run: every epoch's metrics, at step = epoch.
//! let run = tracker.start_run("mnist", "mlp");
//! let mut trainer = Trainer::new(TrainConfig::new(5, 128, 1e-3), Device::default())?
//!     .with_observer(LogEpochs::new(run.clone()));
//! trainer.fit(&MlpConfig::new(784, 10), &train, Some(&valid))?;
//! run.finish(RunStatus::Finished);
//!
//! // A study: one run per trial, with its params, intermediate values and objective.
//! let study = Study::builder("lr-search").load_or_create()?;
//! study.optimize(20, track_trials(&tracker, &study, |trial| {
//!     let lr = trial.suggest_float("lr", 1e-4, 1e-1).log()?;
//!     Ok::<f64, kiln::tune::TuneError>((lr.log10() + 2.5).powi(2))
//! }))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use kiln_track::{DIRECTION_TAG, OBJECTIVE, Run, RunStatus, STUDY_TAG, Tracker};
use kiln_train::{Control, EpochMetrics, EpochObserver};
use kiln_tune::{Direction, Objectives, Study, Trial};

/// Logs each epoch's metrics (`EpochMetrics::values`) to a run, at step = epoch. Tracking
/// failures never stop training (see [`Run`]).
#[derive(Debug, Clone)]
pub struct LogEpochs {
    run: Run,
}

impl LogEpochs {
    /// Logs into `run` (a clone of the caller's handle).
    pub fn new(run: Run) -> Self {
        Self { run }
    }
}

impl EpochObserver for LogEpochs {
    fn on_epoch_end(&mut self, metrics: &EpochMetrics) -> Control {
        self.run.log_metrics(metrics.epoch as u64, metrics.values());
        Control::Continue
    }
}

/// Wraps an objective so that each trial is logged as a run of the experiment named after the
/// study: tags `kiln.study`, `kiln.direction` and `kiln.trial`, the trial's params, its
/// intermediate values (metric `intermediate`), its value (metric `objective` at step = trial
/// number; with several objectives also `objective_0`, `objective_1`, … and `kiln.direction`
/// lists them, comma-separated) and its end: finished, finished with tag
/// `kiln.state = pruned`, or failed (also when the objective panics). Reports draw the study
/// from these runs (a Pareto front plot for several objectives).
pub fn track_trials<F, V, E>(
    tracker: &Tracker,
    study: &Study,
    objective: F,
) -> impl Fn(&mut Trial) -> Result<V, E> + Sync
where
    F: Fn(&mut Trial) -> Result<V, E> + Sync,
    V: Objectives + Clone,
{
    let tracker = tracker.clone();
    let name = study.name().to_owned();
    let multi = study.directions().len() > 1;
    let direction = Direction::join(study.directions());
    let study = study.clone();
    move |trial: &mut Trial| {
        let number = trial.number();
        let tags = [
            (STUDY_TAG.to_owned(), name.clone()),
            (DIRECTION_TAG.to_owned(), direction.to_owned()),
            ("kiln.trial".to_owned(), number.to_string()),
        ]
        .into();
        let run = tracker.start_run_with_tags(&name, &format!("trial {number}"), tags);
        let result = objective(trial);
        run.log_params(trial.params());
        for (step, value) in trial.record().intermediate {
            run.log_metric("intermediate", step, value);
        }
        match &result {
            Ok(value) => {
                let values = value.clone().into_values();
                if study.invalid_values(&values).is_some() {
                    // The study fails this trial (a wrong count of values, a NaN): so does
                    // its run, without metrics a report would draw.
                    run.finish(RunStatus::Failed);
                    return result;
                }
                if let Some(&first) = values.first() {
                    run.log_metric(OBJECTIVE, number, first);
                }
                if multi {
                    for (k, &v) in values.iter().enumerate() {
                        run.log_metric(&format!("{OBJECTIVE}_{k}"), number, v);
                    }
                }
                run.finish(RunStatus::Finished);
            }
            Err(_) if trial.was_pruned() => {
                run.set_tag("kiln.state", "pruned");
                run.finish(RunStatus::Finished);
            }
            Err(_) => run.finish(RunStatus::Failed),
        }
        result
    }
}
