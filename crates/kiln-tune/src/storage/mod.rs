//! Where studies and trials live: in memory, or in a SQLite file that many processes share.
//! The [`Storage`] trait is small so a server-backed storage (PostgreSQL) fits later.

mod memory;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::collections::BTreeMap;
use std::time::Duration;

pub use memory::InMemoryStorage;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStorage;

use crate::direction::Direction;
use crate::distribution::{Distribution, ParamValue};
use crate::error::Result;
use crate::frozen::{FrozenTrial, TrialState};

/// Persistence of studies and their trials. Every method is one short transaction; trial
/// numbers are unique and dense within a study even with many writers.
pub trait Storage: Send + Sync {
    /// The id of the study called `name`, created with `direction` if it does not exist. An
    /// existing study keeps its direction; a different one is an error.
    fn create_or_load_study(&self, name: &str, direction: Direction) -> Result<u64>;

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

    /// Ends a running trial.
    fn finish_trial(
        &self,
        trial: u64,
        state: TrialState,
        value: Option<f64>,
        error: Option<String>,
    ) -> Result<()>;

    /// Every trial of the study, ordered by number.
    fn trials(&self, study: u64) -> Result<Vec<FrozenTrial>>;

    /// Marks a running trial as alive.
    fn heartbeat(&self, trial: u64) -> Result<()>;

    /// Fails running trials whose last heartbeat is older than `grace` (their worker died),
    /// returning their numbers.
    fn fail_stale_trials(&self, study: u64, grace: Duration) -> Result<Vec<u64>>;
}
