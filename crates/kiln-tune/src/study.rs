//! Studies: a named sequence of trials, optimized by a sampler and a pruner over a storage.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::context::TrialContext;
use crate::direction::Direction;
use crate::distribution::ParamValue;
use crate::error::{Result, TuneError, invalid};
use crate::frozen::{FrozenTrial, TrialState};
use crate::objectives::Objectives;
use crate::pareto::{losses, nondominated_fronts};
use crate::pruner::{NopPruner, Pruner};
use crate::sampler::{Nsga2Sampler, Sampler, TpeSampler};
use crate::storage::{InMemoryStorage, Storage};
use crate::trial::Trial;

/// A study's state: its name and retry/heartbeat settings, and the narrower
/// [`TrialContext`] that its trials share.
pub(crate) struct StudyInner {
    context: Arc<TrialContext>,
    max_retries: u32,
    heartbeat: Option<Duration>,
}

impl std::ops::Deref for StudyInner {
    type Target = TrialContext;

    fn deref(&self) -> &TrialContext {
        &self.context
    }
}

/// A hyperparameter search: ask for trials and tell their results, or let
/// [`optimize`](Study::optimize) run an objective. Cheap to clone; clones share the study.
#[derive(Clone)]
pub struct Study {
    inner: Arc<StudyInner>,
}

impl std::fmt::Debug for Study {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Study")
            .field("name", &self.inner.context.name)
            .field("directions", &self.inner.directions)
            .finish()
    }
}

/// Settings of a new or resumed study; see [`Study::builder`].
pub struct StudyBuilder {
    name: String,
    directions: Vec<Direction>,
    storage: Option<Arc<dyn Storage>>,
    storage_url: Option<String>,
    sampler: Option<Box<dyn Sampler>>,
    pruner: Option<Box<dyn Pruner>>,
    max_retries: u32,
    heartbeat: Option<Duration>,
}

impl StudyBuilder {
    /// Minimize (default) or maximize.
    pub fn with_direction(mut self, direction: Direction) -> Self {
        self.directions = vec![direction];
        self
    }

    /// Several objectives, each minimized or maximized (e.g. `[Maximize, Minimize]` for
    /// accuracy against model size): the objective returns one value per direction (see
    /// [`Objectives`]), the study's result is its Pareto front ([`Study::best_trials`]), and
    /// the default sampler is NSGA-II ([`Nsga2Sampler`]). Pruning needs one objective.
    ///
    /// ```
    /// use kiln_tune::{Direction, Study};
    ///
    /// let study = Study::builder("accuracy-vs-size")
    ///     .with_directions([Direction::Maximize, Direction::Minimize])
    ///     .load_or_create()?;
    /// study.optimize(100, |trial| {
    ///     let width = trial.suggest_int("width", 8, 512).log()? as f64;
    ///     let accuracy = 1.0 - 1.0 / width.sqrt(); // stands for a trained model's accuracy
    ///     Ok::<_, kiln_tune::TuneError>((accuracy, width))
    /// })?;
    /// let front = study.best_trials()?;
    /// // More width always buys accuracy here, so every distinct width is on the front.
    /// assert!(front.len() > 10);
    /// assert!(front.iter().all(|t| t.values.len() == 2));
    /// # Ok::<(), kiln_tune::TuneError>(())
    /// ```
    pub fn with_directions(mut self, directions: impl IntoIterator<Item = Direction>) -> Self {
        self.directions = directions.into_iter().collect();
        self
    }

    /// Where trials are kept (default: in memory).
    pub fn with_storage(mut self, storage: Arc<dyn Storage>) -> Self {
        self.storage = Some(storage);
        self.storage_url = None;
        self
    }

    /// Where trials are kept, by URL: `postgres://user@host:port/db` (shared by workers on
    /// any machine), `sqlite:PATH` or a file path, `memory:`; see [`open_storage`]. Opened by
    /// [`load_or_create`](Self::load_or_create).
    ///
    /// [`open_storage`]: crate::open_storage
    pub fn with_storage_url(mut self, url: impl Into<String>) -> Self {
        self.storage_url = Some(url.into());
        self.storage = None;
        self
    }

    /// The sampler (default: multivariate TPE with seed 0; NSGA-II with seed 0 for several
    /// objectives).
    pub fn with_sampler(mut self, sampler: impl Sampler + 'static) -> Self {
        self.sampler = Some(Box::new(sampler));
        self
    }

    /// The pruner (default: none).
    pub fn with_pruner(mut self, pruner: impl Pruner + 'static) -> Self {
        self.pruner = Some(Box::new(pruner));
        self
    }

    /// Re-run a failed trial's parameters up to `n` times (default 0).
    pub fn with_retry_failed(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Beat every `interval` while a trial runs; a trial silent for 4 intervals is taken as
    /// dead (its worker was killed) by the next trial to start, marked failed, and retried if
    /// [`with_retry_failed`](Self::with_retry_failed) allows.
    pub fn with_heartbeat(mut self, interval: Duration) -> Self {
        self.heartbeat = Some(interval);
        self
    }

    /// Creates the study, or resumes the one of this name in the storage.
    pub fn load_or_create(self) -> Result<Study> {
        crate::storage::check_directions(&self.directions)?;
        let multi = self.directions.len() > 1;
        if let Some(pruner) = &self.pruner {
            if multi {
                return Err(invalid(
                    "pruner",
                    "pruning compares one reported value per step; a study with several \
                     objectives runs without a pruner",
                ));
            }
            pruner.validate()?;
        }
        if self.heartbeat.is_some_and(|h| h.is_zero()) {
            return Err(invalid(
                "heartbeat",
                "a zero interval would beat without pause; use e.g. 10 seconds",
            ));
        }
        let storage = match (self.storage, &self.storage_url) {
            (Some(s), _) => s,
            (None, Some(url)) => crate::storage::open_storage(url)?,
            (None, None) => Arc::new(InMemoryStorage::new()),
        };
        let id = storage.create_or_load_study(&self.name, &self.directions)?;
        let sampler = self.sampler.unwrap_or_else(|| {
            if multi {
                Box::new(Nsga2Sampler::new(0))
            } else {
                Box::new(TpeSampler::new(0))
            }
        });
        Ok(Study {
            inner: Arc::new(StudyInner {
                context: Arc::new(TrialContext::new(
                    id,
                    self.name,
                    self.directions,
                    storage,
                    sampler,
                    self.pruner.unwrap_or_else(|| Box::new(NopPruner)),
                )),
                max_retries: self.max_retries,
                heartbeat: self.heartbeat,
            }),
        })
    }
}

/// How [`Study::optimize_with`] runs.
#[derive(Debug, Clone)]
pub struct Optimize {
    /// Trials to run in this call (`None`: until the timeout or the sampler is exhausted).
    pub n_trials: Option<usize>,
    /// Stop starting trials after this long.
    pub timeout: Option<Duration>,
    /// Threads running trials at once.
    pub n_jobs: usize,
}

impl Optimize {
    /// `n` trials on one thread.
    pub fn trials(n: usize) -> Self {
        Self {
            n_trials: Some(n),
            timeout: None,
            n_jobs: 1,
        }
    }

    /// Runs trials on `n` threads (at least 1; [`Study::optimize_with`] refuses 0).
    pub fn with_n_jobs(mut self, n: usize) -> Self {
        self.n_jobs = n;
        self
    }

    /// Stops starting trials after `timeout`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// An objective's error: anything convertible to a boxed error; [`TuneError::Pruned`] marks
/// the trial pruned instead of failed.
pub type ObjectiveError = Box<dyn std::error::Error + Send + Sync>;

impl Study {
    /// Starts configuring a study called `name`.
    pub fn builder(name: &str) -> StudyBuilder {
        StudyBuilder {
            name: name.to_owned(),
            directions: vec![Direction::Minimize],
            storage: None,
            storage_url: None,
            sampler: None,
            pruner: None,
            max_retries: 0,
            heartbeat: None,
        }
    }

    /// The study's name.
    pub fn name(&self) -> &str {
        &self.inner.context.name
    }

    /// Minimize or maximize (the first objective's, in a multi-objective study).
    pub fn direction(&self) -> Direction {
        self.inner.direction()
    }

    /// Minimize or maximize, per objective.
    pub fn directions(&self) -> &[Direction] {
        &self.inner.directions
    }

    /// Adds a trial with fixed parameters (a known good configuration) to run next.
    pub fn enqueue_trial(&self, params: BTreeMap<String, ParamValue>) -> Result<()> {
        self.inner
            .storage
            .enqueue_trial(self.inner.id, params, None)
    }

    /// Starts a trial (ask/tell interface).
    pub fn ask(&self) -> Result<Trial> {
        if let Some(interval) = self.inner.heartbeat {
            for number in self
                .inner
                .storage
                .fail_stale_trials(self.inner.id, interval * 4)?
            {
                self.retry(number)?;
            }
        }
        let record = self.inner.storage.start_trial(self.inner.id)?;
        Ok(Trial::new(Arc::clone(&self.inner.context), record))
    }

    /// Ends a trial with the objective's outcome: a value completes it (NaN fails it),
    /// [`TuneError::Pruned`] prunes it, and so does any error once the trial was pruned
    /// ([`Trial::was_pruned`]: the pruner said so, or the objective called
    /// [`Trial::pruned`]), so an `anyhow` or other error type carrying it works; any other
    /// error fails it. A study with several objectives takes
    /// [`tell_values`](Self::tell_values).
    pub fn tell(&self, trial: Trial, outcome: Result<f64, ObjectiveError>) -> Result<TrialState> {
        self.tell_values(trial, outcome)
    }

    /// [`tell`](Self::tell) with one value per objective (`(f64, f64)`, `[f64; N]`,
    /// `Vec<f64>`, or one `f64`): the values complete the trial, unless
    /// [`invalid_values`](Self::invalid_values) gives a reason to fail it.
    pub fn tell_values<V: Objectives>(
        &self,
        trial: Trial,
        outcome: Result<V, ObjectiveError>,
    ) -> Result<TrialState> {
        let last = || {
            trial
                .record()
                .last_step()
                .map(|(_, v)| v)
                .into_iter()
                .collect()
        };
        let (state, values, error): (_, Vec<f64>, _) = match outcome.map(Objectives::into_values) {
            Ok(v) => match self.invalid_values(&v) {
                Some(reason) => (TrialState::Failed, Vec::new(), Some(reason)),
                None => (TrialState::Complete, v, None),
            },
            Err(e) => match e.downcast_ref::<TuneError>() {
                _ if trial.was_pruned() => (TrialState::Pruned, last(), None),
                Some(TuneError::Pruned { .. }) => (TrialState::Pruned, last(), None),
                _ => (TrialState::Failed, Vec::new(), Some(e.to_string())),
            },
        };
        self.inner
            .storage
            .finish_trial(trial.id(), state, &values, error)?;
        if state == TrialState::Failed {
            self.retry(trial.number())?;
        }
        Ok(state)
    }

    /// Why these objective values would fail a trial of this study, or `None` when they
    /// complete it: another number of values than the study has objectives, a NaN, or, with
    /// several objectives, an infinite value (a Pareto front and its hypervolume need finite
    /// points; one objective may be infinite, as before).
    pub fn invalid_values(&self, values: &[f64]) -> Option<String> {
        let expected = self.inner.directions.len();
        if values.len() != expected {
            return Some(format!(
                "the objective returned {} value(s); the study has {expected} objective(s)",
                values.len()
            ));
        }
        if values.iter().any(|x| x.is_nan()) {
            return Some("the objective returned NaN".into());
        }
        if expected > 1 && values.iter().any(|x| x.is_infinite()) {
            return Some(format!(
                "the objective returned an infinite value ({values:?}); a study with several \
                 objectives needs finite ones"
            ));
        }
        None
    }

    /// Re-enqueues failed trial `number`'s parameters when retries remain.
    fn retry(&self, number: u64) -> Result<()> {
        if self.inner.max_retries == 0 {
            return Ok(());
        }
        let trials = self.trials()?;
        let Some(failed) = trials.iter().find(|t| t.number == number) else {
            return Ok(());
        };
        // Count the chain of retries back to the original.
        let mut depth = 0;
        let mut cursor = failed.retry_of;
        while let Some(n) = cursor {
            depth += 1;
            cursor = trials
                .iter()
                .find(|t| t.number == n)
                .and_then(|t| t.retry_of);
        }
        if depth < self.inner.max_retries {
            self.inner
                .storage
                .enqueue_trial(self.inner.id, failed.values(), Some(number))?;
        }
        Ok(())
    }

    /// Runs `objective` for `n_trials` trials on this thread.
    pub fn optimize<F, V, E>(&self, n_trials: usize, objective: F) -> Result<()>
    where
        F: Fn(&mut Trial) -> Result<V, E> + Sync,
        V: Objectives,
        E: Into<ObjectiveError>,
    {
        self.optimize_with(Optimize::trials(n_trials), objective)
    }

    /// Runs `objective` as `options` say: trials on `n_jobs` threads until `n_trials` have
    /// started in this call, the timeout passes, or the sampler is exhausted. An objective that
    /// errs or panics fails its trial and the study goes on.
    pub fn optimize_with<F, V, E>(&self, options: Optimize, objective: F) -> Result<()>
    where
        F: Fn(&mut Trial) -> Result<V, E> + Sync,
        V: Objectives,
        E: Into<ObjectiveError>,
    {
        if options.n_jobs == 0 {
            return Err(crate::error::invalid(
                "n_jobs",
                "0 threads would run no trial; use at least 1",
            ));
        }
        let started = Instant::now();
        let claimed = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let first_error: std::sync::Mutex<Option<TuneError>> = std::sync::Mutex::new(None);
        let worker = || {
            loop {
                if stop.load(Ordering::Relaxed)
                    || options.timeout.is_some_and(|t| started.elapsed() >= t)
                {
                    return;
                }
                if let Some(n) = options.n_trials
                    && claimed.fetch_add(1, Ordering::SeqCst) >= n
                {
                    return;
                }
                if let Err(e) = self.run_one(&objective) {
                    stop.store(true, Ordering::Relaxed);
                    let mut slot = first_error
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    slot.get_or_insert(e);
                    return;
                }
                // Only a sampler with a limit (a grid) costs a read of the history here.
                if let Some(max) = self.inner.sampler.max_trials() {
                    match self.trials() {
                        Ok(trials) if trials.len() >= max => return,
                        Ok(_) => {}
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            first_error
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .get_or_insert(e);
                            return;
                        }
                    }
                }
            }
        };
        if options.n_jobs <= 1 {
            worker();
        } else {
            std::thread::scope(|s| {
                for _ in 0..options.n_jobs {
                    s.spawn(worker);
                }
            });
        }
        match first_error
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// One trial: ask, run (catching panics), tell. Errors here are storage errors.
    fn run_one<F, V, E>(&self, objective: &F) -> Result<()>
    where
        F: Fn(&mut Trial) -> Result<V, E> + Sync,
        V: Objectives,
        E: Into<ObjectiveError>,
    {
        let mut trial = self.ask()?;
        let beat = self.inner.heartbeat.map(|interval| {
            let storage = Arc::clone(&self.inner.storage);
            let id = trial.id();
            let done = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&done);
            let handle = std::thread::spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    let _ = storage.heartbeat(id);
                    std::thread::park_timeout(interval);
                }
            });
            (done, handle)
        });
        let outcome = catch_unwind(AssertUnwindSafe(|| objective(&mut trial)));
        if let Some((done, handle)) = beat {
            done.store(true, Ordering::Relaxed);
            handle.thread().unpark();
            let _ = handle.join();
        }
        let outcome: Result<V, ObjectiveError> = match outcome {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(e.into()),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Err(format!("the objective panicked: {message}").into())
            }
        };
        self.tell_values(trial, outcome)?;
        Ok(())
    }

    /// Every trial, ordered by number.
    pub fn trials(&self) -> Result<Vec<FrozenTrial>> {
        self.inner.storage.trials(self.inner.id)
    }

    /// The best completed trial (a study with several objectives has no single best: see
    /// [`best_trials`](Self::best_trials)).
    pub fn best_trial(&self) -> Result<FrozenTrial> {
        if self.inner.directions.len() > 1 {
            return Err(invalid(
                "directions",
                "a study with several objectives has a Pareto front, not one best trial; \
                 use best_trials()",
            ));
        }
        let direction = self.inner.direction();
        self.trials()?
            .into_iter()
            .filter(|t| t.state == TrialState::Complete)
            .filter(|t| t.value.is_some_and(|v| !v.is_nan()))
            .min_by(|a, b| {
                direction
                    .loss(a.value.unwrap_or(f64::NAN))
                    .total_cmp(&direction.loss(b.value.unwrap_or(f64::NAN)))
                    .then(a.number.cmp(&b.number))
            })
            .ok_or(TuneError::NoCompletedTrial)
    }

    /// The Pareto front: the completed trials no other completed trial dominates (as good in
    /// every objective and better in one), in number order. With one objective, the best
    /// trials (several when tied).
    pub fn best_trials(&self) -> Result<Vec<FrozenTrial>> {
        let complete: Vec<FrozenTrial> = self
            .trials()?
            .into_iter()
            .filter(|t| t.state == TrialState::Complete)
            .filter(|t| {
                let v = t.objective_values();
                v.len() == self.inner.directions.len() && !v.iter().any(|x| x.is_nan())
            })
            .collect();
        let points: Vec<Vec<f64>> = complete
            .iter()
            .map(|t| losses(&t.objective_values(), &self.inner.directions))
            .collect();
        let front = nondominated_fronts(&points)
            .into_iter()
            .next()
            .unwrap_or_default();
        Ok(front.into_iter().map(|i| complete[i].clone()).collect())
    }

    /// The trials as CSV: number, state, value (one `value_k` column per objective in a
    /// multi-objective study), duration, error, then one column per parameter.
    pub fn trials_csv(&self) -> Result<String> {
        let trials = self.trials()?;
        let names: std::collections::BTreeSet<&String> =
            trials.iter().flat_map(|t| t.params.keys()).collect();
        let objectives = self.inner.directions.len();
        let value_columns = if objectives > 1 {
            (0..objectives)
                .map(|k| format!("value_{k}"))
                .collect::<Vec<_>>()
                .join(",")
        } else {
            "value".to_owned()
        };
        let mut out = format!("number,state,{value_columns},duration_s,error");
        for n in &names {
            out.push(',');
            out.push_str(&csv_field(&format!("param_{n}")));
        }
        out.push('\n');
        for t in &trials {
            out.push_str(&format!(
                "{},{},{},{},{}",
                t.number,
                t.state.name(),
                if objectives > 1 {
                    let v = &t.values;
                    (0..objectives)
                        .map(|k| v.get(k).map(|x| x.to_string()).unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join(",")
                } else {
                    t.value.map(|v| v.to_string()).unwrap_or_default()
                },
                t.duration.map(|d| format!("{d:.3}")).unwrap_or_default(),
                csv_field(t.error.as_deref().unwrap_or(""))
            ));
            for n in &names {
                out.push(',');
                if let Some(p) = t.params.get(*n) {
                    out.push_str(&csv_field(&p.value().to_string()));
                }
            }
            out.push('\n');
        }
        Ok(out)
    }

    /// The trials as a JSON array of records.
    pub fn trials_json(&self) -> Result<String> {
        serde_json::to_string_pretty(&self.trials()?)
            .map_err(|e| crate::error::storage("serializing trials", e))
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
