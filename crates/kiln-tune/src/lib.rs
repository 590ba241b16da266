//! Kiln's hyperparameter search: define-by-run trials, samplers (random, grid, quasi-random,
//! TPE, NSGA-II), pruners (median, percentile, ASHA, Hyperband), single- and multi-objective
//! studies (a Pareto front), parallel and resumable in memory, SQLite or PostgreSQL. This
//! crate never depends on Burn: it tunes any objective.
//!
//! ```
//! use kiln_tune::{Direction, Study, TpeSampler};
//!
//! let study = Study::builder("quadratic")
//!     .with_direction(Direction::Minimize)
//!     .with_sampler(TpeSampler::new(42))
//!     .load_or_create()?;
//! study.optimize(60, |trial| {
//!     let x = trial.suggest_float("x", -10.0, 10.0).uniform()?;
//!     let kind = trial.suggest_categorical("kind", &["a", "b"])?;
//!     let offset = if kind == "a" { 0.0 } else { 1.0 };
//!     Ok::<_, kiln_tune::TuneError>((x - 2.0).powi(2) + offset)
//! })?;
//! let best = study.best_trial()?;
//! assert!(best.value.unwrap() < 1.0);
//! # Ok::<(), kiln_tune::TuneError>(())
//! ```

mod context;
mod direction;
mod distribution;
mod error;
mod frozen;
mod objectives;
mod pareto;
mod pruner;
mod sampler;
mod space;
mod storage;
mod study;
mod trial;

pub use direction::Direction;
pub use distribution::{Distribution, ParamValue};
pub use error::{Result, TuneError};
pub use frozen::{FrozenTrial, Param, TrialState};
pub use objectives::Objectives;
pub use pareto::{dominates, hypervolume, nondominated_fronts};
pub use pruner::{
    HyperbandPruner, MedianPruner, NopPruner, PercentilePruner, Pruner, StudyView,
    SuccessiveHalvingPruner,
};
pub use sampler::{
    Crossover, GridSampler, History, Mutation, Nsga2Sampler, QmcSampler, RandomSampler, Sampler,
    TpeSampler, TpeStartup,
};
pub use space::SearchSpace;
#[cfg(feature = "postgres")]
pub use storage::PostgresStorage;
#[cfg(feature = "sqlite")]
pub use storage::SqliteStorage;
pub use storage::{InMemoryStorage, Storage, copy_study, open_storage};
pub use study::{ObjectiveError, Optimize, Study, StudyBuilder};
pub use trial::{FloatSuggestion, IntSuggestion, Trial, TrialReporter};
