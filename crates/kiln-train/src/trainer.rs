//! The training loop.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};
use indicatif::{ProgressBar, ProgressStyle};
use kiln_data::Matrix;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::checkpoint::{CheckpointPolicy, RunState, check_default_device, record};
use crate::config::TrainConfig;
use crate::data::features_tensor;
use crate::early_stopping::{EarlyStopping, Tracker, Verdict};
use crate::error::{Result, TrainError, invalid};
use crate::events::{Control, EpochMetrics, EpochObserver};
use crate::model::{Model, ModelConfig};
use crate::task::Supervised;

/// Loss and accuracy of a model on a dataset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Mean cross-entropy.
    pub loss: f64,
    /// Fraction of rows whose arg-max logit is the label.
    pub accuracy: f64,
}

/// A fitted model and the metrics of each epoch it ran.
#[derive(Debug)]
pub struct Fitted<M> {
    /// The trained model, on the trainer's device (without autodiff).
    pub model: M,
    /// One entry per epoch run (fewer than configured if the run stopped early).
    pub history: Vec<EpochMetrics>,
    /// The 1-based epoch whose weights `model` holds.
    pub best_epoch: usize,
}

/// Fits, evaluates and applies models on one device: classifiers on a
/// [`ClassificationSet`](crate::ClassificationSet) (cross-entropy), regressors on a
/// [`RegressionSet`](crate::RegressionSet) (mean squared error).
///
/// Runs are reproducible from the seed: [`Trainer::fit`] draws the initial weights from it, and each epoch reseeds shuffling and the device from `(seed, epoch)`. Stochastic layers
/// (dropout) draw from Burn's process-wide generator, so two runs training at the same time in
/// one process may disturb each other's dropout masks.
pub struct Trainer {
    config: TrainConfig,
    device: Device,
    observers: Vec<Box<dyn EpochObserver>>,
    early_stopping: Option<EarlyStopping>,
    checkpoints: Option<CheckpointPolicy>,
    progress: bool,
}

impl Trainer {
    /// Checks the configuration.
    pub fn new(config: TrainConfig, device: Device) -> Result<Self> {
        config.validate()?;
        if kiln_models::kernels_active(&device) {
            // Reuse freed activation buffers instead of page-faulting fresh ones every step.
            kiln_models::keep_freed_memory();
        }
        Ok(Self {
            config,
            device,
            observers: Vec::new(),
            early_stopping: None,
            checkpoints: None,
            progress: true,
        })
    }

    /// Adds an observer of epoch metrics (early stopping, pruning, tracking).
    pub fn with_observer(mut self, observer: impl EpochObserver + 'static) -> Self {
        self.observers.push(Box::new(observer));
        self
    }

    /// Stops a run early when a metric stops improving (see [`EarlyStopping`]).
    pub fn with_early_stopping(mut self, rule: EarlyStopping) -> Self {
        self.early_stopping = Some(rule);
        self
    }

    /// Shows (default) or hides the progress bar.
    pub fn with_progress(mut self, on: bool) -> Self {
        self.progress = on;
        self
    }

    /// The device models should be initialized on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Builds a model from `config` on the trainer's device, seeded from the run's seed, so
    /// the same seed gives the same initial weights. It seeds Burn's generator, builds the
    /// model, and reads every parameter at once (Burn otherwise initializes them lazily, on
    /// first use), all under a lock that the trainer's own reseeding also takes.
    pub fn build<C: ModelConfig>(&self, config: &C) -> Result<C::Model> {
        let _guard = rng_lock();
        self.device.seed(self.config.seed);
        let model = config.init(&self.device)?;
        model.visit(&mut Materialize);
        Ok(model)
    }

    /// The settings.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Writes a checkpoint every `every` epochs (at least 1; 0 is refused when training
    /// starts) and after the last into `dir`; see
    /// [`resume`](Self::resume).
    pub fn with_checkpoints(mut self, dir: impl Into<PathBuf>, every: usize) -> Self {
        self.checkpoints = Some(CheckpointPolicy {
            dir: dir.into(),
            every,
        });
        self
    }

    /// Builds the model `config` describes (seeded, see [`build`](Self::build)) and trains it
    /// on `train`, validating on `valid` after each epoch when given.
    pub fn fit<C: ModelConfig, D: Supervised>(
        &mut self,
        config: &C,
        train: &D,
        valid: Option<&D>,
    ) -> Result<Fitted<C::Model>> {
        self.check_data(train, valid)?;
        let model = self.build(config)?;
        self.run(model, None, train, valid)
    }

    /// Trains a model that already has weights (fine-tuning, or a model built by hand), as
    /// [`fit`](Self::fit) does; its weights are used as they are.
    pub fn fit_from<M: Model, D: Supervised>(
        &mut self,
        model: M,
        train: &D,
        valid: Option<&D>,
    ) -> Result<Fitted<M>> {
        self.check_data(train, valid)?;
        self.run(model, None, train, valid)
    }

    /// Continues the run checkpointed in the [`with_checkpoints`](Self::with_checkpoints)
    /// directory from its last complete epoch, or starts it as [`fit`](Self::fit) would when
    /// there is no checkpoint yet. Given the same config, data and settings, a run killed at
    /// any moment and resumed ends with the same metrics as an uninterrupted one.
    pub fn resume<C: ModelConfig, D: Supervised>(
        &mut self,
        config: &C,
        train: &D,
        valid: Option<&D>,
    ) -> Result<Fitted<C::Model>> {
        let policy = self
            .checkpoints
            .clone()
            .ok_or_else(|| invalid("checkpoints", "resume needs `with_checkpoints(dir, every)`"))?;
        self.check_data(train, valid)?;
        let model = self.build(config)?;
        match policy.latest()? {
            None => self.run(model, None, train, valid),
            Some((dir, state)) => self.run(model, Some((dir, state)), train, valid),
        }
    }

    /// Errors that would otherwise surface only after the first epoch.
    fn check_data<D: Supervised>(&self, train: &D, valid: Option<&D>) -> Result<()> {
        if train.is_empty() {
            return Err(invalid("train", "needs at least one row"));
        }
        if self.checkpoints.as_ref().is_some_and(|c| c.every == 0) {
            return Err(invalid(
                "checkpoints.every",
                "0 epochs between checkpoints; use at least 1",
            ));
        }
        if valid.is_some_and(|v| v.is_empty()) {
            return Err(invalid("valid", "needs at least one row"));
        }
        if let Some(rule) = &self.early_stopping
            && rule.metric.needs_validation()
            && valid.is_none()
        {
            return Err(invalid(
                "early_stopping.metric",
                format!(
                    "{:?} watches validation metrics, but no validation data was given; pass \
                     validation data or watch `TrainLoss`",
                    rule.metric
                ),
            ));
        }
        Ok(())
    }

    fn run<M: Model, D: Supervised>(
        &mut self,
        model: M,
        start: Option<(PathBuf, RunState)>,
        train: &D,
        valid: Option<&D>,
    ) -> Result<Fitted<M>> {
        let autodiff = self.device.clone().autodiff();
        let mut optimizer = self.config.build_optimizer();
        let mut model = model;
        let mut best: Option<(usize, M)> = None;
        let mut tracker = Tracker::default();
        let mut history = Vec::with_capacity(self.config.epochs);
        let mut first_epoch = 1;
        let mut stopped = false;
        if let Some((dir, state)) = start {
            let file = dir.join("model.bpk");
            model = model.try_load_file(&file).map_err(|e| record(&file, e))?;
            let file = dir.join("optim.bpk");
            check_default_device(&self.device, &file)?;
            optimizer = optimizer.load(&file).map_err(|e| record(&file, e))?;
            if let Some(epoch) = state.best_epoch {
                let file = dir.join("best.bpk");
                let weights = model
                    .clone()
                    .try_load_file(&file)
                    .map_err(|e| record(&file, e))?;
                best = Some((epoch, weights));
            }
            tracker = Tracker::restore(state.best_score, state.since_best);
            first_epoch = state.epoch + 1;
            stopped = state.stopped;
            history = state.history;
        }
        let batches = train.len().div_ceil(self.config.batch_size);
        let mut scheduler = self.config.build_scheduler(batches)?;
        if let Some(scheduler) = &mut scheduler {
            // Schedules depend on the step count alone: replay the steps already taken.
            for _ in 0..(first_epoch - 1) * batches {
                scheduler.step();
            }
        }
        let mut model = model.fork(&autodiff).train();
        for epoch in first_epoch..=self.config.epochs {
            if stopped {
                break;
            }
            let started = Instant::now();
            // Randomness comes from (seed, epoch) alone, so a resumed run repeats it.
            let epoch_seed = self.config.seed ^ (epoch as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            {
                // Reseeding replaces Burn's process-wide generator: never in the middle of
                // another trainer's `build`.
                let _guard = rng_lock();
                autodiff.seed(epoch_seed);
            }
            let mut order: Vec<usize> = (0..train.len()).collect();
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(epoch_seed));
            let bar = self.progress_bar(epoch, train.len());
            let (mut loss_sum, mut correct) = (0.0f64, None::<usize>);
            let mut learning_rate = self.config.learning_rate;
            for (batch, rows) in order.chunks(self.config.batch_size).enumerate() {
                let step = train.batch_loss(&model, rows, &autodiff);
                if let Some(hits) = step.correct {
                    *correct.get_or_insert(0) += hits;
                }
                let loss = step.loss;
                let value: f32 = loss.clone().into_scalar();
                if !value.is_finite() {
                    bar.abandon();
                    return Err(TrainError::NonFiniteLoss {
                        epoch,
                        batch,
                        value,
                    });
                }
                loss_sum += f64::from(value) * rows.len() as f64;
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                let lr = match &mut scheduler {
                    Some(scheduler) => scheduler.step(),
                    None => self.config.learning_rate.into(),
                };
                learning_rate = lr.base();
                model = optimizer.step(lr, model, grads);
                bar.inc(rows.len() as u64);
                bar.set_message(format!("loss {value:.4}"));
            }
            bar.finish_and_clear();
            let scores = match valid {
                Some(valid) if !valid.is_empty() => Some(valid.scores(
                    &model.valid(),
                    self.eval_batch(),
                    &self.device.clone().inner(),
                )),
                Some(_) => return Err(invalid("valid", "needs at least one row")),
                None => None,
            };
            let metrics = EpochMetrics {
                epoch,
                train_loss: loss_sum / train.len() as f64,
                train_accuracy: correct.map(|c| c as f64 / train.len() as f64),
                valid_loss: scores.map(|s| s.loss),
                valid_accuracy: scores.and_then(|s| s.accuracy),
                valid_r2: scores.and_then(|s| s.r2),
                learning_rate,
                seconds: started.elapsed().as_secs_f64(),
            };
            stopped = self
                .observers
                .iter_mut()
                .map(|o| o.on_epoch_end(&metrics))
                .fold(false, |stop, c| stop | (c == Control::Stop));
            if let Some(rule) = &self.early_stopping {
                let score = rule.metric.score(&metrics).ok_or_else(|| {
                    invalid(
                        "early_stopping.metric",
                        "watches validation metrics, but no validation data was given",
                    )
                })?;
                match tracker.observe(rule, score) {
                    Verdict::Improved if rule.restore_best => best = Some((epoch, model.valid())),
                    Verdict::Stop => stopped = true,
                    Verdict::Improved | Verdict::Wait => {}
                }
            }
            history.push(metrics);
            if let Some(policy) = &self.checkpoints
                && (epoch % policy.every == 0 || epoch == self.config.epochs || stopped)
            {
                let (best_score, since_best) = tracker.state();
                let state = RunState {
                    epoch,
                    history: history.clone(),
                    best_score,
                    since_best,
                    best_epoch: best.as_ref().map(|(e, _)| *e),
                    stopped,
                };
                policy.save(&state, |dir| {
                    let file = dir.join("model.bpk");
                    model
                        .clone()
                        .save_file(&file)
                        .map_err(|e| record(&file, e))?;
                    let file = dir.join("optim.bpk");
                    optimizer.save(&file).map_err(|e| record(&file, e))?;
                    if let Some((_, weights)) = &best {
                        let file = dir.join("best.bpk");
                        weights
                            .clone()
                            .save_file(&file)
                            .map_err(|e| record(&file, e))?;
                    }
                    Ok(())
                })?;
            }
        }
        let last = history.len();
        Ok(match best {
            Some((best_epoch, model)) => Fitted {
                model,
                history,
                best_epoch,
            },
            None => Fitted {
                model: model.valid(),
                history,
                best_epoch: last,
            },
        })
    }

    /// A model's scores on `data`: [`Evaluation`] (mean cross-entropy and accuracy) for a
    /// [`ClassificationSet`](crate::ClassificationSet),
    /// [`RegressionMetrics`](crate::RegressionMetrics) (MSE, MAE, R², in the set's units) for
    /// a [`RegressionSet`](crate::RegressionSet).
    pub fn evaluate<M: Model, D: Supervised>(&self, model: &M, data: &D) -> Result<D::Evaluation> {
        if data.is_empty() {
            return Err(invalid("data", "needs at least one row"));
        }
        data.evaluation(model, &self.device, self.eval_batch())
    }

    /// The predicted class of every row (the arg-max output).
    pub fn predict<M: Model>(&self, model: &M, features: &Matrix) -> Result<Vec<u32>> {
        let scores = self.predict_scores(model, features)?;
        Ok((0..scores.rows())
            .map(|r| argmax(scores.row(r)) as u32)
            .collect())
    }

    /// The first output of every row: a regressor's predictions.
    pub fn predict_values<M: Model>(&self, model: &M, features: &Matrix) -> Result<Vec<f32>> {
        let outputs = self.predict_scores(model, features)?;
        Ok((0..outputs.rows()).map(|r| outputs.row(r)[0]).collect())
    }

    /// The raw outputs of every row (class logits, or regression values), one row each; see
    /// [`top_k_accuracy`](crate::top_k_accuracy).
    pub fn predict_scores<M: Model>(&self, model: &M, features: &Matrix) -> Result<Matrix> {
        outputs(model, features, &self.device, self.eval_batch())
    }

    /// Rows per batch when only evaluating.
    fn eval_batch(&self) -> usize {
        self.config.batch_size.max(256)
    }

    fn progress_bar(&self, epoch: usize, rows: usize) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(rows as u64);
        if let Ok(style) =
            ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg} (eta {eta})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(format!("{epoch}/{}", self.config.epochs));
        bar
    }
}

/// Reads every float parameter, which initializes lazy ones.
struct Materialize;

impl burn::module::ModuleVisitor for Materialize {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        drop(param.val());
    }
}

/// Serializes changes to Burn's process-wide random generator (seeding, and drawing initial
/// weights right after seeding).
fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static RNG: Mutex<()> = Mutex::new(());
    RNG.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A model's outputs for every row of `features`, on `device` without autodiff, `batch` rows
/// at a time.
pub(crate) fn outputs<M: Model>(
    model: &M,
    features: &Matrix,
    device: &Device,
    batch: usize,
) -> Result<Matrix> {
    let device = device.clone().inner();
    let model = model.clone().fork(&device);
    let rows: Vec<usize> = (0..features.rows()).collect();
    let mut values = Vec::new();
    let mut width = 0;
    for chunk in rows.chunks(batch.max(1)) {
        let out = model.forward_rows(features_tensor(features, chunk, &device));
        width = out.dims()[1];
        let data = out.into_data().convert::<f32>();
        values.extend(
            data.try_into_vec::<f32>()
                .map_err(|e| TrainError::Backend(format!("reading model outputs: {e:?}")))?,
        );
    }
    Ok(Matrix::new(features.rows(), width, values)?)
}

/// The index of the first maximum, as Burn's and PyTorch's `argmax`.
pub(crate) fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (c, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = c;
        }
    }
    best
}
