//! What one `Trial::report` + `should_prune` costs as a study grows: a study with N finished
//! trials of 100 reported steps each, then one running trial that reports and asks the median
//! pruner at every step. Printed per storage (memory, a SQLite file) and study size: the first
//! question (where a worker reads the study once and indexes its completed trials), the mean of
//! the 99 after it, and beside them the mean of all 100 when the storage is read whole at each
//! question (the path before the trial cache; a wrapper that keeps
//! `Storage::trials_changed`'s default, which reads every trial).
//!
//! ```text
//! cargo run --release -p kiln-benches --bin prune_cost
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use kiln::tune::{
    Direction, Distribution, FrozenTrial, HyperbandPruner, InMemoryStorage, MedianPruner,
    ParamValue, Pruner, RandomSampler, SqliteStorage, Storage, Study, SuccessiveHalvingPruner,
    TrialState,
};

const STEPS: u64 = 100;

/// A storage read whole at every question: `trials_changed` left at its default.
struct ReadWhole(Arc<dyn Storage>);

impl Storage for ReadWhole {
    fn create_or_load_study(
        &self,
        name: &str,
        directions: &[Direction],
    ) -> kiln::tune::Result<u64> {
        self.0.create_or_load_study(name, directions)
    }
    fn start_trial(&self, study: u64) -> kiln::tune::Result<FrozenTrial> {
        self.0.start_trial(study)
    }
    fn enqueue_trial(
        &self,
        study: u64,
        params: BTreeMap<String, ParamValue>,
        retry_of: Option<u64>,
    ) -> kiln::tune::Result<()> {
        self.0.enqueue_trial(study, params, retry_of)
    }
    fn set_param(
        &self,
        trial: u64,
        name: &str,
        distribution: &Distribution,
        internal: f64,
    ) -> kiln::tune::Result<()> {
        self.0.set_param(trial, name, distribution, internal)
    }
    fn report(&self, trial: u64, step: u64, value: f64) -> kiln::tune::Result<()> {
        self.0.report(trial, step, value)
    }
    fn finish_trial(
        &self,
        trial: u64,
        state: TrialState,
        values: &[f64],
        error: Option<String>,
    ) -> kiln::tune::Result<()> {
        self.0.finish_trial(trial, state, values, error)
    }
    fn trials(&self, study: u64) -> kiln::tune::Result<Vec<FrozenTrial>> {
        self.0.trials(study)
    }
    fn heartbeat(&self, trial: u64) -> kiln::tune::Result<()> {
        self.0.heartbeat(trial)
    }
    fn fail_stale_trials(&self, study: u64, grace: Duration) -> kiln::tune::Result<Vec<u64>> {
        self.0.fail_stale_trials(study, grace)
    }
}

/// Microseconds for the first report + should_prune of a running trial in a study of
/// `finished` trials, and per later one.
fn cost(storage: Arc<dyn Storage>, finished: usize) -> Result<(f64, f64)> {
    cost_with(storage, finished, MedianPruner::new())
}

/// [`cost`] with another pruner.
fn cost_with(
    storage: Arc<dyn Storage>,
    finished: usize,
    pruner: impl Pruner + 'static,
) -> Result<(f64, f64)> {
    let study = Study::builder("cost")
        .with_storage(storage)
        .with_sampler(RandomSampler::new(0))
        // Never prunes here (the running trial reports the best values), so every step asks.
        .with_pruner(pruner)
        .load_or_create()?;
    for i in 0..finished {
        let mut trial = study.ask()?;
        let x = trial.suggest_float("x", 0.0, 1.0).uniform()?;
        for step in 1..=STEPS {
            trial.report(step, 1.0 + x + 1.0 / step as f64 + i as f64 * 1e-6)?;
        }
        study.tell(trial, Ok(1.0 + x))?;
    }
    let mut trial = study.ask()?;
    let start = Instant::now();
    trial.report(1, 0.0)?;
    assert!(!trial.should_prune()?);
    let first = start.elapsed().as_secs_f64() * 1e6;
    let start = Instant::now();
    for step in 2..=STEPS {
        trial.report(step, 0.0)?;
        assert!(!trial.should_prune()?);
    }
    let later = start.elapsed().as_secs_f64() * 1e6 / (STEPS - 1) as f64;
    Ok((first, later))
}

/// The mean over all questions, first included.
fn mean((first, later): (f64, f64)) -> f64 {
    (first + later * (STEPS - 1) as f64) / STEPS as f64
}

fn main() -> Result<()> {
    println!("µs per report + should_prune, median pruner, {STEPS} steps per finished trial");
    println!("storage  finished trials   first   later (cached)   read whole (mean)");
    let dir = std::env::temp_dir().join(format!("kiln-prune-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for finished in [10, 100, 1000] {
        let memory = || -> Arc<dyn Storage> { Arc::new(InMemoryStorage::new()) };
        let (first, later) = cost(memory(), finished)?;
        let whole = mean(cost(Arc::new(ReadWhole(memory())), finished)?);
        println!("memory   {finished:>15} {first:>7.1} {later:>16.2} {whole:>20.1}");
    }
    for finished in [10, 100, 1000] {
        let sqlite = |name: &str| -> Result<Arc<dyn Storage>> {
            Ok(Arc::new(SqliteStorage::open(
                dir.join(format!("{name}-{finished}.db")),
            )?))
        };
        let (first, later) = cost(sqlite("cached")?, finished)?;
        let whole = mean(cost(Arc::new(ReadWhole(sqlite("whole")?)), finished)?);
        println!("sqlite   {finished:>15} {first:>7.1} {later:>16.2} {whole:>20.1}");
    }
    // Successive halving reads the trials only at its rungs (steps 1, 4, 16 and 64 here), so
    // its mean over the 99 later questions carries three scans of the study.
    println!("memory, successive halving (min resource 1, η 4): first, later (cached)");
    for finished in [10, 100, 1000] {
        let memory: Arc<dyn Storage> = Arc::new(InMemoryStorage::new());
        let (first, later) = cost_with(memory, finished, SuccessiveHalvingPruner::new(1, 4))?;
        println!("memory   {finished:>15} {first:>7.1} {later:>16.2}");
    }
    // With their defaults (automatic resources) both read the longest completed trial and the
    // first completed one from the study's index, not from a scan.
    println!("memory, successive halving and Hyperband defaults: first, later (cached)");
    for finished in [10, 100, 1000] {
        let memory: Arc<dyn Storage> = Arc::new(InMemoryStorage::new());
        let (first, later) = cost_with(memory, finished, SuccessiveHalvingPruner::default())?;
        let memory: Arc<dyn Storage> = Arc::new(InMemoryStorage::new());
        let (hb_first, hb_later) = cost_with(memory, finished, HyperbandPruner::default())?;
        println!(
            "memory   {finished:>15} {first:>7.1} {later:>16.2}   hyperband {hb_first:>7.1} {hb_later:>8.2}"
        );
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
