//! What a trial needs of its study, and no more: the study's id and direction, its storage,
//! sampler and pruner. Studies own one and share it with their trials.

use std::sync::Arc;

use crate::direction::Direction;
use crate::pruner::Pruner;
use crate::sampler::Sampler;
use crate::storage::Storage;

/// The parts of a study its trials use.
pub(crate) struct TrialContext {
    /// The study's id in the storage.
    pub(crate) id: u64,
    /// Minimize or maximize.
    pub(crate) direction: Direction,
    /// Where trials are kept.
    pub(crate) storage: Arc<dyn Storage>,
    /// Proposes parameters.
    pub(crate) sampler: Box<dyn Sampler>,
    /// Stops unpromising trials.
    pub(crate) pruner: Box<dyn Pruner>,
}
