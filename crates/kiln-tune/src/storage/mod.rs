//! Where studies and trials live: in memory, in a SQLite file that many processes share, or
//! in a PostgreSQL database that workers on many machines share. [`open_storage`] picks one by
//! URL; [`copy_study`] moves a study between them.

mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::collections::BTreeMap;
use std::time::Duration;

pub use memory::InMemoryStorage;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStorage;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStorage;

use crate::direction::Direction;
use crate::distribution::{Distribution, ParamValue};
use crate::error::{Result, TuneError, invalid};
use crate::frozen::{FrozenTrial, TrialState};

/// Persistence of studies and their trials. Every method is one short transaction; trial
/// numbers are unique and dense within a study even with many writers.
pub trait Storage: Send + Sync {
    /// The id of the study called `name`, created with `directions` (one per objective) if it
    /// does not exist. An existing study keeps its directions; different ones are an error.
    fn create_or_load_study(&self, name: &str, directions: &[Direction]) -> Result<u64>;

    /// Starts a trial: the oldest waiting (enqueued) trial becomes running, or a new running
    /// trial is created.
    fn start_trial(&self, study: u64) -> Result<FrozenTrial>;

    /// Adds a waiting trial whose parameters are fixed to `params` (`retry_of`: the number of
    /// the failed trial it retries).
    fn enqueue_trial(
        &self,
        study: u64,
        params: BTreeMap<String, ParamValue>,
        retry_of: Option<u64>,
    ) -> Result<()>;

    /// Records a sampled parameter.
    fn set_param(
        &self,
        trial: u64,
        name: &str,
        distribution: &Distribution,
        internal: f64,
    ) -> Result<()>;

    /// Records an intermediate value (and refreshes the heartbeat).
    fn report(&self, trial: u64, step: u64, value: f64) -> Result<()>;

    /// Ends a running trial with its objective `values` (one per objective when complete;
    /// the last reported value when pruned; none when failed). The first is the trial's
    /// [`value`](FrozenTrial::value); more than one are kept as its
    /// [`values`](FrozenTrial::values).
    fn finish_trial(
        &self,
        trial: u64,
        state: TrialState,
        values: &[f64],
        error: Option<String>,
    ) -> Result<()>;

    /// Every trial of the study, ordered by number.
    fn trials(&self, study: u64) -> Result<Vec<FrozenTrial>>;

    /// What may have changed since a caller last read the study: the trials with an id above
    /// `after` (created since; all trials when `None`) and the trials in `open` (the ones the
    /// caller saw unfinished), ordered by id. A trial, once finished, never changes, so a
    /// caller that keeps finished trials needs only these. The default filters
    /// [`trials`](Self::trials); the built-in storages read only the trials asked for.
    fn trials_changed(
        &self,
        study: u64,
        after: Option<u64>,
        open: &[u64],
    ) -> Result<Vec<FrozenTrial>> {
        let mut trials: Vec<FrozenTrial> = self
            .trials(study)?
            .into_iter()
            .filter(|t| after.is_none_or(|a| t.id > a) || open.contains(&t.id))
            .collect();
        trials.sort_by_key(|t| t.id);
        Ok(trials)
    }

    /// Marks a running trial as alive.
    fn heartbeat(&self, trial: u64) -> Result<()>;

    /// Fails running trials whose last heartbeat is older than `grace` (their worker died),
    /// returning their numbers.
    fn fail_stale_trials(&self, study: u64, grace: Duration) -> Result<Vec<u64>>;
}

/// Seconds since the Unix epoch, as the file and server storages record times.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Refuses a study without objectives (a direction string no study could be opened with).
pub(crate) fn check_directions(directions: &[Direction]) -> Result<()> {
    if directions.is_empty() {
        return Err(invalid(
            "directions",
            "a study needs at least one objective direction",
        ));
    }
    Ok(())
}

/// The error for a study that exists with other directions than asked.
pub(crate) fn other_directions(name: &str, found: impl std::fmt::Display) -> TuneError {
    invalid(
        "direction",
        format!("study `{name}` exists with direction {found}; open it with the same directions"),
    )
}

/// A trial state recorded by [`TrialState::name`].
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn state_of(name: &str) -> Result<TrialState> {
    Ok(match name {
        "waiting" => TrialState::Waiting,
        "running" => TrialState::Running,
        "complete" => TrialState::Complete,
        "pruned" => TrialState::Pruned,
        "failed" => TrialState::Failed,
        other => {
            return Err(TuneError::TrialState(format!(
                "unknown trial state `{other}`"
            )));
        }
    })
}

/// The record of a trial a file or server storage has just started, from its row.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn started_trial(
    id: i64,
    number: i64,
    fixed: &str,
    retry_of: Option<i64>,
) -> Result<FrozenTrial> {
    let mut trial = FrozenTrial::new(id as u64, number as u64);
    trial.fixed = serde_json::from_str(fixed)
        .map_err(|e| crate::error::storage(format!("fixed params of trial {number}"), e))?;
    trial.retry_of = retry_of.map(|r| r as u64);
    Ok(trial)
}

/// The storage a URL names: `postgres://…` or `postgresql://…` (feature `postgres`),
/// `sqlite:PATH` or a plain file path (feature `sqlite`), or `memory:`.
///
/// # Errors
/// The URL names a storage this build lacks, or opening it fails.
pub fn open_storage(url: &str) -> Result<std::sync::Arc<dyn Storage>> {
    use std::sync::Arc;
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        return Ok(Arc::new(PostgresStorage::open(url)?));
        #[cfg(not(feature = "postgres"))]
        return Err(invalid(
            "storage",
            "a PostgreSQL URL needs kiln-tune's `postgres` feature",
        ));
    }
    if url == "memory:" {
        return Ok(Arc::new(InMemoryStorage::new()));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    #[cfg(feature = "sqlite")]
    return Ok(Arc::new(SqliteStorage::open(path)?));
    #[cfg(not(feature = "sqlite"))]
    return Err(invalid(
        "storage",
        format!("`{path}`: a SQLite file needs kiln-tune's `sqlite` feature"),
    ));
}

/// Copies the study `name` from `from` into `to`, each trial with its state, values, error,
/// parameters and intermediate values, in number order (waiting trials last, still waiting),
/// and returns how many trials were copied. A study that exists in `to` already is an error, so a
/// copy is never merged into another study by accident.
///
/// # Errors
/// A study is missing in `from` or present in `to`, or either storage fails.
pub fn copy_study(
    from: &dyn Storage,
    to: &dyn Storage,
    name: &str,
    directions: &[Direction],
) -> Result<usize> {
    check_directions(directions)?;
    let source = from.create_or_load_study(name, directions)?;
    let trials = from.trials(source)?;
    let target = to.create_or_load_study(name, directions)?;
    if !to.trials(target)?.is_empty() {
        return Err(invalid(
            "study",
            format!("`{name}` already has trials in the target storage; copy into a new study"),
        ));
    }
    let (waiting, started): (Vec<_>, Vec<_>) =
        trials.iter().partition(|t| t.state == TrialState::Waiting);
    for t in started {
        to.enqueue_trial(target, t.fixed.clone(), t.retry_of)?;
        let new = to.start_trial(target)?;
        for (name, p) in &t.params {
            to.set_param(new.id, name, &p.distribution, p.internal)?;
        }
        for (&step, &value) in &t.intermediate {
            to.report(new.id, step, value)?;
        }
        if t.state != TrialState::Running {
            to.finish_trial(new.id, t.state, &t.objective_values(), t.error.clone())?;
        }
    }
    for t in waiting {
        to.enqueue_trial(target, t.fixed.clone(), t.retry_of)?;
    }
    Ok(trials.len())
}
