//! The pipeline: from a data file to a validated, tuned, tracked model bundle, as one
//! library type. `kiln train` is this type behind a command line.
//!
//! ingest → validate → split → transform → train → (tune) → evaluate → bundle → report
//!
//! - [`PipelineConfig`] holds every setting (TOML or JSON; only the data path and, for
//!   tables, the target are required). [`PipelineConfig::resolve`] writes every default out.
//! - [`Pipeline::run`] runs the stages and returns a [`PipelineResult`]: the quality report,
//!   the split sizes, typed [`TestMetrics`], the [`StudySummary`] when tuned, the tracked run
//!   and where the bundle went. [`Pipeline::load`], [`Pipeline::validate`] run stages alone.
//! - [`AnyBundle`] loads any bundle Kiln writes; [`evaluate`], [`predict`] and [`monitor`]
//!   apply one to new data through the same predict path the pipeline evaluated with.
//!
//! A bundle's manifest records the lineage: each data file's SHA-256 and rows, the resolved
//! config and the seed. The same config and seed on a CPU device give bit-identical metrics
//! and weights.
//!
//! ```no_run
//! use kiln::pipeline::{ModelKind, Pipeline, PipelineConfig};
//!
//! let config = PipelineConfig::new("datasets/tabular/penguins.csv")
//!     .with_target("label")
//!     .with_model(ModelKind::Mlp);
//! let result = Pipeline::new(config).run()?;
//! println!("test {}; bundle in {}", result.metrics, result.bundle.display());
//! # Ok::<(), kiln::pipeline::PipelineError>(())
//! ```

mod apply;
mod config;
mod data;
mod error;
mod fit;
mod metrics;
mod resolve;
mod tune;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use kiln_data::bundle::Lineage;
use kiln_data::{Check, QualityReport, QualitySuite, TableProfile, Task, split};
use kiln_train::{Control, EpochMetrics, EpochObserver};

pub use apply::{AnyBundle, Evaluation, evaluate, monitor, predict, write_predictions};
pub use config::{
    DataFormat, DataSection, EarlyStoppingSection, FeaturesSection, ImageColor, ModelKind,
    ModelSection, OutputSection, Parameter, PipelineConfig, Policy, PrunerKind, SamplerKind,
    SplitKind, TextModel, TrackSection, TrainSection, TuneSection, ValidateSection,
};
pub use data::{DataKind, Dataset, Examples, Parts, load_table};
pub use error::{PipelineError, Result, error_line};
pub use metrics::{ClassificationScores, RegressionScores, TestMetrics};
pub use tune::StudySummary;

use crate::pipeline::error::{data_error, invalid};
use crate::pipeline::fit::{FitInput, ModelChoice, Set, Transform};
use crate::tracking::LogEpochs;

/// The quality stage's findings.
#[derive(Debug, Clone, PartialEq)]
pub struct Quality {
    /// Checks that stop the run under `validate.policy = "fail"`: at least one row, a target
    /// in every row, finite numbers, and every declared check.
    pub checks: QualityReport,
    /// Checks reported but never fatal: missing feature values (imputed) and rare classes.
    pub warnings: QualityReport,
}

/// Rows in each part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitSizes {
    /// Rows trained on.
    pub train: usize,
    /// Rows validated on (early stopping, tuning).
    pub valid: usize,
    /// Rows tested on.
    pub test: usize,
}

/// What a pipeline run produced.
#[derive(Debug, Clone)]
pub struct PipelineResult {
    /// The resolved config it ran with (every default written out).
    pub config: PipelineConfig,
    /// The quality report.
    pub quality: Quality,
    /// Rows per part of the final training run.
    pub split: SplitSizes,
    /// Test metrics (for k-fold: the mean over folds).
    pub metrics: TestMetrics,
    /// Each fold's test metrics (k-fold only).
    pub folds: Vec<TestMetrics>,
    /// Test values of categories not seen in training, per column (encoded as all zeros).
    pub unknown_categories: BTreeMap<String, u64>,
    /// The final training run's epochs.
    pub history: Vec<EpochMetrics>,
    /// The search, when tuned.
    pub study: Option<StudySummary>,
    /// The tracked run's id.
    pub run_id: Option<String>,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// The HTML report, when asked for.
    pub report: Option<PathBuf>,
}

/// A pipeline over one config.
#[derive(Debug, Clone)]
pub struct Pipeline {
    config: PipelineConfig,
    progress: bool,
}

impl Pipeline {
    /// A pipeline for `config` (checked when it runs).
    pub fn new(config: PipelineConfig) -> Self {
        Self {
            config,
            progress: false,
        }
    }

    /// Reports each stage, each epoch and a progress bar on stderr (off by default).
    pub fn with_progress(mut self, on: bool) -> Self {
        self.progress = on;
        self
    }

    /// The config as given.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    fn stage(&self, text: impl std::fmt::Display) {
        if self.progress {
            eprintln!("== {text}");
        }
    }

    /// Stage 1: reads the data.
    pub fn load(&self) -> Result<Dataset> {
        data::load(&self.config.data)
    }

    /// Stage 2: the quality checks of a resolved config on the training (and test) data.
    pub fn validate(config: &PipelineConfig, data: &Dataset) -> Result<Quality> {
        let Examples::Table(table) = &data.train else {
            // Images: their readers have checked shapes and labels already.
            let report = QualityReport {
                rows: data.train.rows(),
                results: Vec::new(),
            };
            return Ok(Quality {
                checks: report.clone(),
                warnings: report,
            });
        };
        let mut checks = QualitySuite::new();
        let mut warnings = QualitySuite::new();
        if config.validate.defaults {
            checks = checks.with_check(Check::RowCount {
                min: Some(2),
                max: None,
            });
            for column in table.columns() {
                let name = column.name().to_owned();
                if config.data.ignore.contains(&name) {
                    continue;
                }
                let is_target = table.target().is_some_and(|t| t.name() == name);
                if is_target {
                    checks = checks.with_check(Check::NotNull {
                        column: name.clone(),
                    });
                } else {
                    warnings = warnings.with_check(Check::NotNull {
                        column: name.clone(),
                    });
                }
                if column.column_type().is_numeric() {
                    checks = checks.with_check(Check::Range {
                        column: name.clone(),
                        min: None,
                        max: None,
                    });
                }
                if is_target && config.data.task == Task::Classification {
                    warnings = warnings.with_check(Check::ClassBalance {
                        column: name,
                        min_fraction: 0.01,
                    });
                }
            }
        }
        if let Some(path) = &config.validate.checks_file {
            for check in QualitySuite::from_file(path)
                .map_err(data_error(path))?
                .checks
            {
                checks = checks.with_check(check);
            }
        }
        for check in &config.validate.checks {
            checks = checks.with_check(check.clone());
        }
        let path = data.path();
        Ok(Quality {
            checks: checks.run(table).map_err(data_error(path))?,
            warnings: warnings.run(table).map_err(data_error(path))?,
        })
    }

    /// Runs every stage.
    pub fn run(&self) -> Result<PipelineResult> {
        let started = Instant::now();
        self.stage(format!("load {}", self.config.data.path.display()));
        let data = self.load()?;
        for skipped in &data.skipped {
            // The reason names the file and what to do.
            self.stage(format!("skipped: {}", skipped.reason));
        }
        let task = data.task(self.config.data.task)?;
        let config = self.config.resolve(&data, task)?;
        self.stage(format!(
            "{} rows, {} data, {} task, {} model",
            data.train.rows(),
            resolve::format_name(config.data.format),
            match task {
                Task::Regression => "regression",
                _ => "classification",
            },
            resolve::name(config.model.kind)
        ));
        self.stage("validate");
        let quality = Self::validate(&config, &data)?;
        if self.progress {
            eprint!("{}", quality.checks);
            if !quality.warnings.passed() {
                eprintln!("warnings (not fatal):");
                for failure in quality.warnings.failures() {
                    eprintln!("  {} ({} rows)", failure.description, failure.failing);
                }
            }
        }
        if !quality.checks.passed() {
            let failed = quality.checks.failures().count();
            if config.validate.policy == Policy::Fail {
                return Err(PipelineError::Quality {
                    path: data.path().to_owned(),
                    failed,
                    report: Box::new(quality.checks),
                });
            }
            self.stage(format!(
                "{failed} check(s) failed; going on (validate.policy = \"warn\")"
            ));
        }
        let device = crate::backend::device(config.train.device.as_deref().unwrap_or("flex"))?;
        let tracker = config.track.as_ref().map(|t| {
            if t.uri.starts_with("http://") || t.uri.starts_with("https://") {
                kiln_track::Tracker::mlflow(&t.uri)
            } else {
                kiln_track::Tracker::local(&t.uri)
            }
        });
        let experiment = config
            .track
            .as_ref()
            .and_then(|t| t.experiment.clone())
            .unwrap_or_else(|| resolve::stem(&config.data.path));
        let ctx = Context {
            data: &data,
            device: &device,
            task,
            progress: self.progress,
        };

        // The parts of the final run, and the folds' metrics for k-fold.
        let valid_fraction = config.train.valid_fraction.unwrap_or(0.0);
        let mut folds = Vec::new();
        let parts = if config.data.split == SplitKind::Kfold {
            let k = config.data.folds.unwrap_or(5);
            let codes = data.class_codes(task)?;
            let n = data.train.rows();
            let splits = match &codes {
                Some(codes) => split::stratified_k_fold(codes, k, config.seed),
                None => split::k_fold(n, k, config.seed),
            }
            .map_err(|e| invalid("data.folds", e.to_string()))?;
            for (i, fold) in splits.iter().enumerate() {
                self.stage(format!("fold {}/{k}", i + 1));
                let (train, valid) = data::carve(
                    &fold.train,
                    codes.as_deref(),
                    codes.is_some(),
                    valid_fraction,
                    config.seed,
                )?;
                let parts = Parts {
                    train,
                    valid,
                    test: fold.test.clone(),
                    test_is_separate: false,
                };
                let (outcome, _) = ctx.final_run(&config, &parts, Vec::new())?;
                let metrics = outcome
                    .metrics
                    .ok_or_else(|| invalid("data.folds", "empty fold"))?;
                self.stage(format!("fold {}: {metrics}", i + 1));
                folds.push(metrics);
            }
            let (train, valid) = data::carve(
                &(0..n).collect::<Vec<_>>(),
                codes.as_deref(),
                codes.is_some(),
                valid_fraction,
                config.seed,
            )?;
            Parts {
                train,
                valid,
                test: Vec::new(),
                test_is_separate: false,
            }
        } else {
            data.split(
                config.data.split,
                config.data.test_fraction.unwrap_or(0.2),
                valid_fraction,
                task,
                config.seed,
            )?
        };

        if let Some(path) = &config.output.split {
            let mut train: Vec<usize> = parts.train.iter().chain(&parts.valid).copied().collect();
            train.sort_unstable();
            let json = serde_json::json!({
                "train": train,
                "valid": parts.valid,
                "test": parts.test,
            });
            std::fs::write(path, json.to_string()).map_err(|source| PipelineError::Io {
                path: path.clone(),
                source,
            })?;
        }

        // Tuning: trials train on `train`, score on `valid`; the best is retrained on both.
        let (final_config, final_parts, study) = match &config.tune {
            None => (config.clone(), parts, None),
            Some(tune) => {
                self.stage(format!(
                    "tune: {} trials over {}",
                    tune.trials.unwrap_or(20),
                    tune.parameters
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                let objective =
                    |trial_config: &PipelineConfig,
                     pruning: crate::tuning::PruneOnEpoch<fn(&EpochMetrics) -> Option<f64>>|
                     -> Result<tune::TrialRun> {
                        let trial_config = trial_config.resolve(&data, task)?;
                        ctx.trial_run(&trial_config, &parts, pruning)
                    };
                let (best, summary) = tune::search(
                    &config,
                    tune,
                    &format!("{experiment}-tune"),
                    tracker.as_ref(),
                    &objective,
                )?;
                self.stage(format!(
                    "best trial {} of {} ({} pruned): score {:.4} at epoch {}, {}",
                    summary.best_trial,
                    summary.trials,
                    summary.pruned,
                    summary.best_value,
                    summary.best_epoch,
                    serde_json::to_string(&summary.best_params).unwrap_or_default()
                ));
                let mut retrain = best;
                retrain.tune = None;
                retrain.train.epochs = Some(summary.best_epoch.max(1));
                retrain.train.early_stopping = None;
                retrain.train.valid_fraction = Some(0.0);
                let mut all: Vec<usize> = parts.train.iter().chain(&parts.valid).copied().collect();
                all.sort_unstable();
                let retrain_parts = Parts {
                    train: all,
                    valid: Vec::new(),
                    test: parts.test.clone(),
                    test_is_separate: parts.test_is_separate,
                };
                (retrain, retrain_parts, Some(summary))
            }
        };

        // The final run, tracked.
        self.stage(format!(
            "train: {} train / {} valid / {} test rows",
            final_parts.train.len(),
            final_parts.valid.len(),
            if final_parts.test_is_separate {
                data.test.as_ref().map_or(0, Examples::rows)
            } else {
                final_parts.test.len()
            }
        ));
        let run = tracker
            .as_ref()
            .map(|t| t.start_run(&experiment, resolve::name(config.model.kind)));
        let mut observers: Vec<Box<dyn EpochObserver>> = Vec::new();
        if let Some(run) = &run {
            run.log_params(flatten(&final_config));
            observers.push(Box::new(LogEpochs::new(run.clone())));
        }
        let (outcome, bundle) = ctx.final_run(&final_config, &final_parts, observers)?;
        let metrics = match (TestMetrics::mean(&folds), outcome.metrics) {
            (Some(mean), _) => mean,
            (None, Some(m)) => m,
            (None, None) => return Err(invalid("data", "no test rows to evaluate on")),
        };
        self.stage(format!("test: {metrics}"));
        for (column, count) in &outcome.unknown {
            self.stage(format!(
                "{count} test value(s) of `{column}` are categories unseen in training \
                 (encoded as all zeros)"
            ));
        }

        // The bundle, with its lineage.
        let lineage = Lineage {
            data: data.files.clone(),
            config: serde_json::to_value(&config).map_err(|e| invalid("config", e.to_string()))?,
            seed: config.seed,
        };
        // The training rows' profile, of the model's inputs and the target (what `kiln
        // monitor` compares new data with).
        let profile = match &data.train {
            Examples::Table(table) => {
                let mut rows = final_parts.train.clone();
                rows.extend(&final_parts.valid);
                rows.sort_unstable();
                let used: Vec<kiln_data::Column> = table
                    .take(&rows)
                    .columns()
                    .iter()
                    .filter(|c| !config.data.ignore.iter().any(|i| i == c.name()))
                    .cloned()
                    .collect();
                let mut used = kiln_data::Table::new(used).map_err(data_error(data.path()))?;
                if let Some(target) = table.target() {
                    used = used
                        .with_target(target.name())
                        .map_err(data_error(data.path()))?;
                }
                Some(TableProfile::from_table(&used))
            }
            Examples::Images(_) => None,
        };
        let bundle = bundle.finish(&metrics, profile, lineage);
        let dir = config
            .output
            .bundle
            .clone()
            .unwrap_or_else(|| PathBuf::from("bundles"));
        bundle.save(&dir)?;
        let resolved = config.to_toml()?;
        let config_path = dir.join("pipeline.toml");
        std::fs::write(&config_path, &resolved).map_err(|source| PipelineError::Io {
            path: config_path.clone(),
            source,
        })?;
        self.stage(format!("bundle: {}", dir.display()));

        let mut run_id = None;
        let mut report = None;
        if let (Some(run), Some(tracker)) = (&run, &tracker) {
            let last = outcome.history.len() as u64;
            run.log_metrics(last, metrics.values());
            run.set_tag("kiln.bundle", dir.display());
            run.set_tag("kiln.data_sha256", &data.files[0].sha256);
            run.log_artifact("pipeline.toml", resolved.as_bytes());
            if let TestMetrics::Classification(c) = &metrics {
                let n = c.confusion.n_classes();
                let counts: Vec<Vec<u64>> = (0..n)
                    .map(|t| (0..n).map(|p| c.confusion.count(t, p)).collect())
                    .collect();
                run.log_confusion_matrix(bundle.target().class_names(), &counts);
            }
            run.finish(kiln_track::RunStatus::Finished);
            run_id = run.id();
            if let Some(path) = &config.output.report {
                kiln_track::Report::from_store(tracker.store().as_ref(), Some(&experiment))?
                    .write(path)?;
                self.stage(format!("report: {}", path.display()));
                report = Some(path.clone());
            }
        }
        self.stage(format!("done in {:.1} s", started.elapsed().as_secs_f64()));
        Ok(PipelineResult {
            config,
            quality,
            split: SplitSizes {
                train: final_parts.train.len(),
                valid: final_parts.valid.len(),
                test: outcome.test_rows,
            },
            metrics,
            folds,
            unknown_categories: outcome.unknown,
            history: outcome.history,
            study,
            run_id,
            bundle: dir,
            report,
        })
    }
}

/// What the stages share.
struct Context<'a> {
    data: &'a Dataset,
    device: &'a burn::tensor::Device,
    task: Task,
    progress: bool,
}

/// A final run's results besides its bundle.
struct Outcome {
    history: Vec<EpochMetrics>,
    metrics: Option<TestMetrics>,
    unknown: BTreeMap<String, u64>,
    test_rows: usize,
}

impl Context<'_> {
    /// The transform, target and sets of a run over `parts`.
    fn prepare(
        &self,
        config: &PipelineConfig,
        parts: &Parts,
    ) -> Result<(Transform, kiln_data::TargetEncoder, Set, Option<Set>)> {
        let mut fit_rows: Vec<usize> = parts.train.iter().chain(&parts.valid).copied().collect();
        fit_rows.sort_unstable();
        let encoder = self.data.target_encoder(self.task, &fit_rows)?;
        let transform = Transform::fit(config, self.data, &self.data.train.take(&fit_rows))?;
        let path = self.data.path();
        let set = |rows: &[usize]| -> Result<Set> {
            let examples = self.data.train.take(rows);
            let (features, _) = transform.features(&examples, path)?;
            let target = examples
                .target()
                .ok_or_else(|| invalid("data.target", "no target column"))?;
            Set::new(features, encoder.encode(&target).map_err(data_error(path))?)
        };
        let train = set(&parts.train)?;
        let valid = if parts.valid.is_empty() {
            None
        } else {
            Some(set(&parts.valid)?)
        };
        Ok((transform, encoder, train, valid))
    }

    /// One line per epoch on stderr.
    fn observers(&self, rows: usize) -> Vec<Box<dyn EpochObserver>> {
        let printer = move |m: &EpochMetrics| {
            let scores: String = m
                .values()
                .into_iter()
                .filter(|(name, _)| !matches!(*name, "learning_rate" | "epoch_seconds"))
                .map(|(name, value)| format!("  {} {value:.4}", name.replace('_', " ")))
                .collect();
            eprintln!(
                "epoch {:>3}{scores}  {:.1} s ({:.0} samples/s)",
                m.epoch,
                m.seconds,
                rows as f64 / m.seconds.max(1e-9)
            );
            Control::Continue
        };
        vec![Box::new(move |m: &EpochMetrics| printer(m))]
    }

    /// Fits the transform and the target on `parts`, builds the model `config` describes and
    /// trains it (printing epochs with `progress`); with `bundle`, the output holds the bundle.
    fn train(
        &self,
        config: &PipelineConfig,
        parts: &Parts,
        mut observers: Vec<Box<dyn EpochObserver>>,
        progress: bool,
        bundle: bool,
    ) -> Result<fit::FitOutput> {
        let (transform, encoder, train, valid) = self.prepare(config, parts)?;
        let choice = ModelChoice::new(config, &transform, train.n_features(), encoder.n_outputs())?;
        if progress {
            observers.extend(self.observers(train.len()));
        }
        fit::fit(
            &choice,
            FitInput {
                config,
                device: self.device,
                transform: &transform,
                encoder: &encoder,
                train: &train,
                valid: valid.as_ref(),
                progress,
                observers,
            },
            bundle,
        )
    }

    /// One tuning trial: train on `parts.train`, score on `parts.valid`.
    fn trial_run(
        &self,
        config: &PipelineConfig,
        parts: &Parts,
        pruning: tune::Pruning,
    ) -> Result<tune::TrialRun> {
        let out = self.train(config, parts, vec![Box::new(pruning)], false, false)?;
        let best = out
            .history
            .get(out.best_epoch.saturating_sub(1))
            .and_then(tune::trial_score)
            .ok_or_else(|| invalid("train.valid_fraction", "the trial had no validation part"))?;
        Ok(tune::TrialRun {
            value: best,
            best_epoch: out.best_epoch,
        })
    }

    /// A run that bundles its model and scores it on the test part through the bundle.
    fn final_run(
        &self,
        config: &PipelineConfig,
        parts: &Parts,
        observers: Vec<Box<dyn EpochObserver>>,
    ) -> Result<(Outcome, fit::AnyBundle)> {
        let out = self.train(config, parts, observers, self.progress, true)?;
        let bundle = out
            .bundle
            .ok_or_else(|| invalid("output.bundle", "no bundle was made"))?;
        let test = match (&self.data.test, parts.test_is_separate) {
            (Some(test), true) => Some(test.clone()),
            _ if parts.test.is_empty() => None,
            _ => Some(self.data.train.take(&parts.test)),
        };
        let path = self.data.path();
        let (metrics, unknown, test_rows) = match &test {
            Some(test) => {
                let (outputs, unknown) = bundle.outputs(test, self.device, path)?;
                let truth = test
                    .target()
                    .ok_or_else(|| invalid("data.target", "the test data has no target column"))?;
                let metrics = TestMetrics::score(bundle.target(), &truth, &outputs)?;
                (Some(metrics), unknown, test.rows())
            }
            None => (None, BTreeMap::new(), 0),
        };
        Ok((
            Outcome {
                history: out.history,
                metrics,
                unknown,
                test_rows,
            },
            bundle,
        ))
    }
}

/// A config as dotted `key = value` params for tracking.
fn flatten(config: &PipelineConfig) -> Vec<(String, String)> {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            serde_json::Value::Null => {}
            serde_json::Value::String(s) => out.push((prefix.to_owned(), s.clone())),
            other => out.push((prefix.to_owned(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    if let Ok(value) = serde_json::to_value(config) {
        walk("", &value, &mut out);
    }
    out
}

/// A data path's name without directories and extensions (`penguins` for
/// `datasets/tabular/penguins.csv.gz`): the default experiment and bundle name.
pub fn stem(path: &Path) -> String {
    resolve::stem(path)
}
